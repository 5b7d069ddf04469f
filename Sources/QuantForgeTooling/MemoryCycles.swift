import Foundation
import QuantForge

/// Compile-and-evict cycles for the resource-bound check (`qforge bench --memory` and the tests):
/// each cycle compiles a kernel with its own constants (so its machine code is new), packs
/// weights, runs it, and leaves it to the engine's kernel cache, whose small budget evicts it —
/// which must free its JIT memory.
public enum MemoryCycles {
    public struct Reading: Sendable {
        /// Resident set size after the cycles (bytes, /proc/self/statm).
        public let residentBytes: Int
        /// Bytes of object code live in the JIT.
        public let liveCodeBytes: Int
    }

    /// Resident set size now, in bytes.
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Runs `cycles` cycles (kernel constants from `offset` on) and reads the memory after them.
    public static func run(engine: Engine, cycles: Int, offset: Int = 0) throws(QuantError) -> Reading {
        var generator = SeededGenerator(seed: UInt64(offset))
        for i in offset..<(offset + cycles) {
            // A different weight scale each cycle: a different multiplier constant in the IR.
            let op = try MatMul(m: 2, k: 16, n: 16, bQuant: .perTensor(scale: 1 + Float(i) * 1e-4),
                                output: .dequantized(.init()))
            let kernel = try engine.compile(op)
            _ = try kernel.run(a: generator.bytes(32), weights: try kernel.packWeights(generator.bytes(256)), m: 2)
        }
        return Reading(residentBytes: residentBytes(), liveCodeBytes: try KernelCompiler.shared().statistics.liveBytes)
    }
}
