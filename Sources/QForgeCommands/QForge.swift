import ArgumentParser
import QuantForge

/// `qforge`'s root command: its subcommands are the files beside this one.
public struct QForge: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "qforge",
        abstract: "QuantForge: int8 kernels generated for this CPU with LLVM.",
        version: QuantForgeVersion.description,
        subcommands: [InfoCommand.self, BenchCommand.self, PeakCommand.self, AutotuneCommand.self, DBCommand.self, AOTCommand.self, AMXCheckerCommand.self,
                      MiniLMCommand.self, EmbedCommand.self, AccuracyCommand.self, FuzzCommand.self],
        defaultSubcommand: InfoCommand.self
    )
}
