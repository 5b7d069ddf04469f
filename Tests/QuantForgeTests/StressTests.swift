import CQuantForgeAPI
import Foundation
import QuantForge
import QuantForgeTooling
import Testing
@testable import QuantForgeC

/// 16 threads at once compile, cache, evict and run identical and different kernels through the
/// Swift API (one shared engine with a kernel cache small enough to evict) and the C API, every
/// result checked against the reference; and compile/evict cycles keep the process's memory flat.
struct StressTests {
    /// Operators of a few shapes: identical across threads (shared machine code) and different.
    static func operators() throws -> [(MatMul, a: [UInt8], b: [UInt8], expected: [UInt8])] {
        var random = TestRandom(seed: 1600)
        return try (0..<6).map { index in
            let (m, k, n) = [(3, 17, 9), (8, 64, 40), (5, 130, 33), (1, 300, 17), (12, 48, 64), (7, 21, 100)][index]
            let op = try randomMatMul(&random, m: m, k: k, n: n, mode: OutputKind.allCases[index % 3], perChannel: index % 2 == 0,
                                      aType: .u8, bType: .s8)
            let a = random.bytes(m * k), b = random.bytes(k * n)
            return (op, a, b, ReferenceMatMul.run(op, a: a, b: b, m: m))
        }
    }

    @Test func sixteenThreadsThroughTheSwiftAndCAPIs() throws {
        let cases = try Self.operators()
        // Room for about two kernels: constant eviction while other threads still run theirs.
        let engine = try Engine(isa: isasUnderTest.last!, kernelCacheBytes: 12 << 10)
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 16) { thread in
            var context: OpaquePointer?
            if thread % 2 == 1 { _ = qf_context_create(nil, 1, &context) }
            defer { qf_context_destroy(context) }
            for iteration in 0..<12 {
                let (op, a, b, expected) = cases[(thread + iteration) % cases.count]
                do {
                    let c: [UInt8]
                    if thread % 2 == 0 {
                        let kernel = try engine.compile(op)
                        c = try kernel.run(a: a, weights: try kernel.packWeights(b), m: op.m!)
                    } else {
                        c = try Self.runThroughCAPI(op, a: a, b: b, context: context)
                    }
                    if c != expected { failures.add("thread \(thread) iteration \(iteration): wrong result for \(op.m!)x\(op.k)x\(op.n)") }
                } catch {
                    failures.add("thread \(thread) iteration \(iteration): \(error)")
                }
            }
        }
        #expect(failures.messages.isEmpty, "\(failures.messages.prefix(5))")
        #expect(engine.kernelCache.statistics.evictions > 0)
    }

    /// The same op through the C API (its description rebuilt from the Swift op).
    static func runThroughCAPI(_ op: MatMul, a: [UInt8], b: [UInt8], context: OpaquePointer?) throws -> [UInt8] {
        var desc = qf_matmul_desc()
        qf_matmul_desc_init(&desc, Int64(op.m!), Int64(op.k), Int64(op.n))
        desc.a_type = op.aType == .u8 ? QF_TYPE_U8 : QF_TYPE_S8
        desc.b_type = op.bType == .u8 ? QF_TYPE_U8 : QF_TYPE_S8
        desc.a_scale = op.aQuant.scales[0]
        desc.a_zero_point = op.aQuant.zeroPoints[0]
        let bScales = op.bQuant.scales, bZeros = op.bQuant.zeroPoints
        var requantBias: [Int32] = [], dequantBias: [Float] = []
        switch op.output {
        case .int32: desc.output = QF_OUTPUT_INT32
        case let .requantized(r):
            desc.output = QF_OUTPUT_REQUANTIZED
            desc.output_type = r.type == .u8 ? QF_TYPE_U8 : QF_TYPE_S8
            desc.y_scale = r.output.scales[0]
            desc.y_zero_point = r.output.zeroPoints[0]
            requantBias = r.bias ?? []
            if case .relu = r.activation { desc.activation = QF_ACTIVATION_RELU }
            if case let .clamp(lo, hi) = r.activation { desc.activation = QF_ACTIVATION_CLAMP; desc.clamp_min = lo; desc.clamp_max = hi }
        case let .dequantized(d):
            desc.output = QF_OUTPUT_DEQUANTIZED
            dequantBias = d.bias ?? []
            if case .relu = d.activation { desc.activation = QF_ACTIVATION_RELU }
            if case let .clamp(lo, hi) = d.activation { desc.activation = QF_ACTIVATION_CLAMP; desc.clamp_min = lo; desc.clamp_max = hi }
        case .chain: throw QuantError.invalidSpec(path: "op", reason: "the C API has no chains")
        }
        var c = [UInt8](repeating: 0, count: try op.cSpec(m: op.m!).requiredBytes)
        let status: qf_status = bScales.withUnsafeBufferPointer { scales in
            bZeros.withUnsafeBufferPointer { zeros in
                requantBias.withUnsafeBufferPointer { rBias in
                    dequantBias.withUnsafeBufferPointer { fBias in
                        desc.b_channels = Int64(scales.count)
                        desc.b_scales = scales.baseAddress
                        desc.b_zero_points = zeros.baseAddress
                        if !rBias.isEmpty { desc.bias = UnsafeRawPointer(rBias.baseAddress) }
                        if !fBias.isEmpty { desc.bias = UnsafeRawPointer(fBias.baseAddress) }
                        var kernel: OpaquePointer?, weights: OpaquePointer?
                        defer { qf_kernel_destroy(kernel); qf_weights_destroy(weights) }
                        var status = qf_kernel_compile(context, &desc, &kernel)
                        if status == QF_STATUS_OK { status = qf_kernel_pack(kernel, b, Int64(op.n), &weights) }
                        if status == QF_STATUS_OK {
                            status = qf_kernel_run(kernel, a, Int64(op.k), a.count, weights, &c, Int64(op.n), c.count, Int64(op.m!))
                        }
                        return status
                    }
                }
            }
        }
        if status != QF_STATUS_OK { throw QuantError.invalidSpec(path: "C API", reason: String(cString: qf_last_error())) }
        return c
    }

    /// Evicted kernels really free their machine code: after many compile/evict cycles the JIT holds
    /// about what the cache holds, not what was ever compiled. (The process's RSS over 10,000 cycles
    /// is what `qforge bench --memory 10000` reports; inside this suite other tests run in parallel
    /// and move RSS, so it is not asserted here.)
    @Test func compileAndEvictCyclesFreeTheirMachineCode() throws {
        let engine = try Engine(isa: .portable, kernelCacheBytes: 8 << 10)
        _ = try MemoryCycles.run(engine: engine, cycles: 20)
        let freedBefore = try KernelCompiler.shared().statistics.freed
        _ = try MemoryCycles.run(engine: engine, cycles: 160, offset: 20)
        #expect(try KernelCompiler.shared().statistics.freed - freedBefore >= 150)
        #expect(engine.kernelCache.statistics.bytes <= 8 << 10 || engine.kernelCache.statistics.entries == 1)
        #expect(engine.kernelCache.statistics.evictions >= 150)
    }
}

/// Failure messages collected from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var messages: [String] = []
    func add(_ message: String) {
        lock.lock()
        messages.append(message)
        lock.unlock()
    }
}
