import CQuantForgeAPI
import Foundation
import QuantForge
import QuantForgeTooling
import QuantForgeC
import QForgeCommands
import QuantWorkflow

/// libFuzzer targets for every parser of outside input, chosen by `QFORGE_FUZZ_TARGET`:
/// `spec` (the kernel spec JSON of `qforge aot --spec`), `database` (tuning-database import),
/// `safetensors` (the model loader), `cdesc` (the C API's `qf_matmul_desc` and `qf_conv_desc`), `cli` (qforge's
/// command line: the input split at NUL bytes into arguments, parsed and validated, not run),
/// `replay` (a `qforge fuzz --replay` file, decoded and validated). Each must return a
/// typed error for bad input, never crash. Built by `tools/libfuzzer.sh` with `-sanitize=fuzzer,address`
/// (libFuzzer supplies `main`); a normal build gets a `main` that replays files through the target.
enum FuzzTarget: String {
    case spec, database, safetensors, cdesc, cli, replay

    static let current = FuzzTarget(rawValue: ProcessInfo.processInfo.environment["QFORGE_FUZZ_TARGET"] ?? "") ?? .spec
    static let tuningDatabase: TuningDatabase? = try? TuningDatabase(path: NSTemporaryDirectory() + "/qforge-fuzz-\(getpid()).sqlite")

    static func run(_ bytes: UnsafeRawBufferPointer) {
        switch current {
        case .spec:
            _ = try? KernelSpec.parse(Data(bytes))
        case .database:
            _ = try? tuningDatabase?.importMerging(Data(bytes))
        case .safetensors:
            _ = try? SafetensorsFile(bytes: Array(bytes))
        case .cli:
            let arguments = bytes.split(separator: 0, omittingEmptySubsequences: false).prefix(32).map { String(decoding: $0, as: UTF8.self) }
            _ = try? QForge.parseAsRoot(Array(arguments))
        case .replay:
            _ = try? FuzzCase.replay(from: Data(bytes))
        case .cdesc:
            // The description's scalar fields from the input; its arrays point into the input's tail.
            var desc = qf_matmul_desc()
            let fields = MemoryLayout<qf_matmul_desc>.size
            guard bytes.count >= fields else { return }
            withUnsafeMutableBytes(of: &desc) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<fields])) }
            let tail = UnsafeRawBufferPointer(rebasing: bytes[fields...])
            var floats = [Float](repeating: 0.5, count: 64), ints = [Int32](repeating: 1, count: 64)
            for i in 0..<min(64, tail.count / 4) {
                floats[i] = tail.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
                ints[i] = tail.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)
            }
            // Arrays hold 64 entries: channel counts above that are cut so nothing reads past them.
            desc.b_channels = desc.b_channels > 64 || desc.b_channels < 0 ? 1 : desc.b_channels
            desc.n = desc.b_channels > 1 ? desc.b_channels : min(max(desc.n, 0), 64)
            // Up to four epilogue steps, their scalar fields from the input, their values the floats.
            var steps = [qf_epilogue_step](repeating: qf_epilogue_step(), count: 4)
            withUnsafeMutableBytes(of: &steps[0]) { step in
                let stepTail = tail.count > 256 ? UnsafeRawBufferPointer(rebasing: tail[256...]) : UnsafeRawBufferPointer(start: nil, count: 0)
                step.copyMemory(from: UnsafeRawBufferPointer(rebasing: stepTail.prefix(step.count)))
            }
            desc.step_count = desc.step_count > 4 ? 4 : desc.step_count
            var conv = qf_conv_desc()
            withUnsafeMutableBytes(of: &conv) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<min(bytes.count, $0.count)])) }
            conv.w_channels = conv.w_channels > 64 || conv.w_channels < 0 ? 1 : conv.w_channels
            conv.out_channels = conv.w_channels > 1 ? conv.w_channels : min(max(conv.out_channels, 0), 64)
            conv.step_count = min(conv.step_count, 4)
            floats.withUnsafeBufferPointer { scales in
                ints.withUnsafeBufferPointer { points in
                    for i in steps.indices {
                        steps[i].values = scales.baseAddress
                        steps[i].count = min(max(steps[i].count, -1), 64)
                    }
                    steps.withUnsafeBufferPointer { stepList in
                        desc.b_scales = scales.baseAddress
                        desc.b_zero_points = desc.b_zero_points == nil ? nil : points.baseAddress
                        desc.bias = desc.bias == nil ? nil : UnsafeRawPointer(points.baseAddress)
                        desc.steps = desc.steps == nil ? nil : stepList.baseAddress
                        _ = try? MatMulDescription.matMul(desc)
                        conv.w_scales = scales.baseAddress
                        conv.w_zero_points = conv.w_zero_points == nil ? nil : points.baseAddress
                        conv.bias = conv.bias == nil ? nil : UnsafeRawPointer(points.baseAddress)
                        conv.steps = conv.steps == nil ? nil : stepList.baseAddress
                        // Validation only (no compilation): a description that passes is a valid Conv2D.
                        _ = try? ConvolutionDescription.conv(conv)
                    }
                }
            }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

#if LIBFUZZER
/// SwiftPM links an executable's entry point as `FuzzTargets_main`; under libFuzzer it hands the
/// command line to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("FuzzTargets_main")
func fuzzTargetsMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { fuzzOneInput($0, $1) }
}
#else
/// Without libFuzzer: run each file named on the command line through the target (corpus replay).
@main
struct Replay {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            data.withUnsafeBytes { FuzzTarget.run($0) }
        }
        print("replayed \(CommandLine.arguments.count - 1) input(s) through \(FuzzTarget.current.rawValue)")
    }
}
#endif
