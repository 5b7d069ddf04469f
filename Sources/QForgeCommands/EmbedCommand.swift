import ArgumentParser
import Foundation
import QuantForge
import QuantWorkflow

/// `qforge embed`: all-MiniLM-L6-v2 embeddings of the user's own sentences (arguments, a file or
/// standard input, one per line) as JSON lines or a `.npy` matrix, in f32, int8 or with 4-bit weights.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed sentences with all-MiniLM-L6-v2 (f32, int8 or 4-bit weights): JSON lines or .npy.",
        discussion: "Sentences come from the arguments, else from --file (one per line; - for standard input), else from standard input.")

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case f32, dynamic, dynamicPerToken = "dynamic-per-token", `static`, nbits4, nbits4Asym = "nbits4-asym"
    }
    enum Format: String, ExpressibleByArgument, CaseIterable { case jsonl, npy }

    @Argument(help: "Sentences to embed.") var sentences: [String] = []
    @Option(help: "A file of sentences, one per line (- for standard input).") var file: String?
    @Option(help: "f32 | dynamic | dynamic-per-token | static | nbits4 | nbits4-asym (4-bit weights per block of 32, int8 compute).")
    var mode: Mode = .dynamicPerToken
    @Option(help: "Static calibration method: \(CalibrationMethod.allCases.map(\.rawValue).joined(separator: " | ")).")
    var method: CalibrationMethod = .minMax
    @Option(help: "Model folder (model.safetensors, vocab.txt); default: where tools/fetch_minilm.sh puts it.")
    var model: String = ModelLocation.miniLM.path
    @Option(help: "jsonl (one object per sentence) | npy (a float32 N×384 matrix; needs --out).") var format: Format = .jsonl
    @Option(help: "Write to this file instead of standard output (an existing file only if it is an earlier output).") var out: String?
    @Flag(help: "Replace --out even if it is not an earlier output.") var force = false
    @Option(help: "Sentences per batch.") var batch: Int = 32
    @Flag(help: "Print ms per sentence at batch 1 and at --batch to standard error (best of --repeats).") var timing = false
    @Option(help: "Timing repetitions (best kept).") var repeats: Int = 3
    @Option(help: "f32: add each sentence's cosine similarity to its f32 embedding.") var compare: String?

    /// The most bytes of sentences read from a file or standard input.
    static let inputLimit = 64 << 20

    var outputFile: OutputFile? {
        out.map { OutputFile($0, force: force) { data in NPYFormat.isNPY(data) || Self.isEmbeddingLines(data) } }
    }

    static func isEmbeddingLines(_ data: Data) -> Bool {
        guard let line = data.split(separator: UInt8(ascii: "\n")).first,
              let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { return false }
        return object["embedding"] != nil && object["index"] != nil
    }

    func validate() throws {
        try OptionChecks.count(batch, "batch", 1...4096)
        try OptionChecks.count(repeats, "repeats", 1...1000)
        if let compare, compare != "f32" { throw ValidationError("--compare takes f32 (the embedding every mode is compared with)") }
        if !sentences.isEmpty && file != nil { throw ValidationError("give sentences as arguments or with --file, not both") }
        if format == .npy && out == nil { throw ValidationError("--format npy writes binary: give --out FILE") }
        for (index, sentence) in sentences.enumerated() where sentence.allSatisfy(\.isWhitespace) {
            throw ValidationError("sentence \(index + 1) is empty")
        }
        _ = try outputFile?.check(inputs: file.map { [$0] } ?? [])
    }

    func run() throws {
        let directory = URL(fileURLWithPath: model)
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path) else {
            throw ValidationError("no model.safetensors in \(directory.path): run tools/fetch_minilm.sh")
        }
        let texts = try readSentences()
        let engine = try Engine(threads: 1)
        let loaded = try MiniLM(directory: directory)
        warnAboutTruncation(texts, tokenizer: loaded.tokenizer)
        let runner = try makeRunner(mode, model: loaded, engine: engine)
        let embeddings = embed(texts, with: runner)
        var cosines: [Double]? = nil
        if compare != nil {
            let reference = mode == .f32 ? embeddings : embed(texts, with: try makeRunner(.f32, model: loaded, engine: engine))
            cosines = zip(embeddings, reference).map { cosineSimilarity($0, $1) }
        }
        if timing { reportTiming(texts, runner: runner) }
        let data: Data
        switch format {
        case .npy:
            data = NPYFormat.float32Matrix(embeddings, columns: MiniLM.hidden)
        case .jsonl:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var lines = Data()
            for (index, embedding) in embeddings.enumerated() {
                let line = EmbeddingLine(index: index, text: texts[index], embedding: embedding, cosineToF32: cosines?[index])
                lines.append(try encoder.encode(line))
                lines.append(UInt8(ascii: "\n"))
            }
            data = lines
        }
        if let outputFile {
            try outputFile.write(data, inputs: file.map { [$0] } ?? [])
        } else {
            FileHandle.standardOutput.write(data)
        }
    }

    struct EmbeddingLine: Encodable {
        let index: Int
        let text: String
        let embedding: [Float]
        let cosineToF32: Double?
        enum CodingKeys: String, CodingKey { case index, text, embedding, cosineToF32 = "cosine_to_f32" }
    }

    /// The arguments, else the lines of --file or of standard input (checked: UTF-8, none empty).
    func readSentences() throws -> [String] {
        if !sentences.isEmpty { return sentences }
        let data: Data
        let source: String
        if let file, file != "-" {
            data = try FileTrust.readRegularFile(file, limit: Self.inputLimit, followLinks: true).data
            source = file
        } else {
            data = try Self.readStandardInput(limit: Self.inputLimit)
            source = "standard input"
        }
        switch SentenceInput.sentences(data) {
        case let .success(lines): return lines
        case let .failure(problem): throw ValidationError("\(source): \(problem)")
        }
    }

    static func readStandardInput(limit: Int) throws -> Data {
        var data = Data()
        while let chunk = try FileHandle.standardInput.read(upToCount: 1 << 20), !chunk.isEmpty {
            data.append(chunk)
            if data.count > limit { throw ValidationError("standard input holds more than \(limit >> 20) MiB of sentences") }
        }
        return data
    }

    /// The model reads at most `tokenizer.maxLength` tokens of a sentence: say which were cut.
    func warnAboutTruncation(_ texts: [String], tokenizer: WordPieceTokenizer) {
        var untruncated = tokenizer
        untruncated.maxLength = Int(Int32.max)
        for (index, text) in texts.enumerated() {
            let count = untruncated.encode(text).count
            if count > tokenizer.maxLength {
                FileHandle.standardError.write(Data("warning: sentence \(index + 1) has \(count) tokens; the model reads the first \(tokenizer.maxLength)\n".utf8))
            }
        }
    }

    func makeRunner(_ mode: Mode, model: MiniLM, engine: Engine) throws -> MiniLMRunner {
        switch mode {
        case .f32: return try MiniLMRunner(model: model, mode: .f32, engine: engine)
        case .dynamic: return try MiniLMRunner(model: model, mode: .dynamic(perRow: false), engine: engine)
        case .dynamicPerToken: return try MiniLMRunner(model: model, mode: .dynamic(perRow: true), engine: engine)
        case .nbits4: return try MiniLMRunner(model: model, mode: .nbits4(asymmetric: false), engine: engine)
        case .nbits4Asym: return try MiniLMRunner(model: model, mode: .nbits4(asymmetric: true), engine: engine)
        case .static:
            let calibration = try MiniLMCalibration(model: model, methods: [method], engine: engine)
            return try MiniLMRunner(model: model, mode: .static(parameters: calibration.parameters(method), method: method.rawValue),
                                    engine: engine)
        }
    }

    func embed(_ texts: [String], with runner: MiniLMRunner, batch: Int? = nil) -> [[Float]] {
        let size = batch ?? self.batch
        return stride(from: 0, to: texts.count, by: size).flatMap { runner.embed(Array(texts[$0..<min(texts.count, $0 + size)])) }
    }

    /// Milliseconds per sentence at batch 1 and at --batch, best of --repeats, to standard error.
    func reportTiming(_ texts: [String], runner: MiniLMRunner) {
        func best(batch: Int) -> Double {
            (0..<repeats).map { _ in
                let start = DispatchTime.now().uptimeNanoseconds
                _ = embed(texts, with: runner, batch: batch)
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(texts.count)
            }.min()!
        }
        let line = String(format: "%@: %.3f ms/sentence at batch 1, %.3f at batch %d (%d sentences, best of %d)\n",
                          mode.rawValue, best(batch: 1), best(batch: batch), batch, texts.count, repeats)
        FileHandle.standardError.write(Data(line.utf8))
    }
}
