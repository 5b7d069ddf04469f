import CQuantForgeAPI
import Foundation
import QuantForge
import QuantForgeTooling
import Testing
@testable import QuantForgeC

/// The C API: called in-process through its C declarations (bad input, threads), and from outside —
/// the C example built with the system compiler through quantforge.pc, and the Python ctypes
/// example on NumPy arrays — against libquantforge.so.
struct CAPITests {
    /// The build folder holding the test binary (and libquantforge.so, built with it).
    static let buildDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    static let library = buildDirectory.appendingPathComponent("libquantforge.so")
    static let swiftRuntime: String = {
        let swift = URL(fileURLWithPath: "/opt/swift/usr/bin/swift").resolvingSymlinksInPath()
        return swift.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("lib/swift/linux").path
    }()

    func requantizingDesc(k: Int64, n: Int64, scales: UnsafePointer<Float>) -> qf_matmul_desc {
        var desc = qf_matmul_desc()
        qf_matmul_desc_init(&desc, 0, k, n)
        desc.a_scale = 0.02
        desc.a_zero_point = 128
        desc.b_channels = n
        desc.b_scales = scales
        desc.output = QF_OUTPUT_REQUANTIZED
        desc.output_type = QF_TYPE_U8
        desc.y_scale = 0.05
        desc.y_zero_point = 128
        return desc
    }

    @Test func inProcessHappyPathAndErrors() throws {
        var context: OpaquePointer?
        #expect(qf_context_create(nil, 1, &context) == QF_STATUS_OK)
        defer { qf_context_destroy(context) }
        let isa = String(cString: qf_context_isa(context))
        #expect(ISA(rawValue: isa) != nil)
        let (m, k, n) = (9, 50, 33)
        let scales = (0..<n).map { 0.001 + Float($0 % 5) * 0.0002 }
        var random = TestRandom(seed: 21)
        let a = random.bytes(m * k), b = random.bytes(k * n)
        try scales.withUnsafeBufferPointer { scales in
            var desc = requantizingDesc(k: Int64(k), n: Int64(n), scales: scales.baseAddress!)
            var kernel: OpaquePointer?
            #expect(qf_kernel_compile(context, &desc, &kernel) == QF_STATUS_OK, "\(String(cString: qf_last_error()))")
            defer { qf_kernel_destroy(kernel) }
            var weights: OpaquePointer?
            #expect(qf_kernel_pack(kernel, b, Int64(n), &weights) == QF_STATUS_OK)
            defer { qf_weights_destroy(weights) }
            var c = [UInt8](repeating: 0, count: m * n)
            #expect(qf_kernel_run(kernel, a, Int64(k), a.count, weights, &c, Int64(n), c.count, Int64(m)) == QF_STATUS_OK)
            let op = try MatMulDescription.matMul(desc)
            #expect(c == ReferenceMatMul.run(op, a: a, b: b, m: m))
            // Bad input.
            #expect(qf_kernel_run(kernel, a, Int64(k), a.count - 1, weights, &c, Int64(n), c.count, Int64(m)) == QF_STATUS_BUFFER_TOO_SMALL)
            #expect(String(cString: qf_last_error()).contains("A buffer"))
            #expect(qf_kernel_run(kernel, nil, Int64(k), 0, weights, &c, Int64(n), c.count, Int64(m)) == QF_STATUS_INVALID_ARGUMENT)
            #expect(qf_kernel_run(nil, a, Int64(k), a.count, weights, &c, Int64(n), c.count, Int64(m)) == QF_STATUS_INVALID_ARGUMENT)
            #expect(qf_kernel_run(kernel, a, Int64(k), a.count, nil, &c, Int64(n), c.count, Int64(m)) == QF_STATUS_INVALID_ARGUMENT)
            #expect(qf_kernel_run(kernel, a, Int64(k), -1, weights, &c, Int64(n), c.count, Int64(m)) == QF_STATUS_INVALID_ARGUMENT)
            var other: OpaquePointer?
            #expect(qf_kernel_compile(context, nil, &other) == QF_STATUS_INVALID_ARGUMENT && other == nil)
            #expect(qf_kernel_compile(nil, &desc, &other) == QF_STATUS_INVALID_ARGUMENT)
            #expect(qf_kernel_compile(context, &desc, nil) == QF_STATUS_INVALID_ARGUMENT)
            for corrupt in [{ (d: inout qf_matmul_desc) in d.a_type = qf_type(rawValue: 9) },
                            { (d: inout qf_matmul_desc) in d.output = qf_output_mode(rawValue: 7) },
                            { (d: inout qf_matmul_desc) in d.activation = qf_activation(rawValue: 5) },
                            { (d: inout qf_matmul_desc) in d.b_channels = 2 },
                            { (d: inout qf_matmul_desc) in d.n = -1 },
                            { (d: inout qf_matmul_desc) in d.k = 0 },
                            { (d: inout qf_matmul_desc) in d.y_zero_point = 300 },
                            { (d: inout qf_matmul_desc) in d.a_scale = .nan }] {
                var bad = desc
                corrupt(&bad)
                #expect(qf_kernel_compile(context, &bad, &other) == QF_STATUS_INVALID_ARGUMENT && other == nil)
                #expect(!String(cString: qf_last_error()).isEmpty)
            }
            #expect(qf_kernel_pack(kernel, nil, Int64(n), &other) == QF_STATUS_INVALID_ARGUMENT)
            #expect(qf_kernel_pack(kernel, b, Int64(n - 1), &other) == QF_STATUS_INVALID_ARGUMENT)
        }
        var unsupported: OpaquePointer?
        for isa in ISA.allCases where !HostCPU.current.supports(isa) {
            #expect(qf_context_create(isa.rawValue, 1, &unsupported) == QF_STATUS_UNSUPPORTED_ISA && unsupported == nil, "\(isa)")
        }
        #expect(qf_context_create("sse9", 1, &unsupported) == QF_STATUS_UNSUPPORTED_ISA)
        #expect(qf_context_create(nil, -3, &unsupported) == QF_STATUS_INVALID_ARGUMENT)
        qf_context_destroy(nil)
        qf_kernel_destroy(nil)
        qf_weights_destroy(nil)
        #expect(qf_context_isa(nil) == nil && qf_weights_bytes(nil) == 0)
    }

    /// Handles misused, strides whose extents overflow, descriptions that mean nothing: each a
    /// status code and a message, never a trap, a double free or a read of freed memory.
    @Test func hostileInputIsAStatusNeverACrash() throws {
        var context: OpaquePointer?
        #expect(qf_context_create(nil, 1, &context) == QF_STATUS_OK)
        defer { qf_context_destroy(context) }
        var huge: OpaquePointer?
        #expect(qf_context_create(nil, Int32.max, &huge) == QF_STATUS_INVALID_ARGUMENT && huge == nil)
        #expect(String(cString: qf_last_error()).contains("threads"))
        let (k, n) = (24, 16)
        let scales = [Float](repeating: 0.01, count: n)
        let a = [UInt8](repeating: 3, count: 4 * k), b = [UInt8](repeating: 5, count: k * n)
        var c = [UInt8](repeating: 0, count: 4 * n)
        try scales.withUnsafeBufferPointer { scales in
            var desc = requantizingDesc(k: Int64(k), n: Int64(n), scales: scales.baseAddress!)
            var kernel: OpaquePointer?, weights: OpaquePointer?, other: OpaquePointer?
            try #require(qf_kernel_compile(context, &desc, &kernel) == QF_STATUS_OK)
            try #require(qf_kernel_pack(kernel, b, Int64(n), &weights) == QF_STATUS_OK)
            // Strides whose extent overflows.
            #expect(qf_kernel_run(kernel, a, .max, a.count, weights, &c, Int64(n), c.count, 4) == QF_STATUS_INVALID_ARGUMENT)
            #expect(qf_kernel_run(kernel, a, Int64(k), a.count, weights, &c, .max, c.count, 4) == QF_STATUS_INVALID_ARGUMENT)
            #expect(qf_kernel_run(kernel, a, Int64(k), a.count, weights, &c, Int64(n), c.count, .max) == QF_STATUS_INVALID_ARGUMENT)
            #expect(qf_kernel_pack(kernel, b, .max, &other) == QF_STATUS_INVALID_ARGUMENT && other == nil)
            // A handle of another kind.
            #expect(qf_kernel_pack(context, b, Int64(n), &other) == QF_STATUS_INVALID_ARGUMENT)
            #expect(String(cString: qf_last_error()).contains("qf_context handle was passed where a qf_kernel is expected"))
            #expect(qf_kernel_run(kernel, a, Int64(k), a.count, kernel, &c, Int64(n), c.count, 4) == QF_STATUS_INVALID_ARGUMENT)
            #expect(qf_kernel_compile(kernel, &desc, &other) == QF_STATUS_INVALID_ARGUMENT)
            #expect(qf_context_isa(kernel) == nil && qf_weights_bytes(kernel) == 0)
            qf_context_destroy(kernel)  // refused: not a context
            #expect(String(cString: qf_last_error()).contains("qf_kernel handle was passed"))
            #expect(qf_kernel_run(kernel, a, Int64(k), a.count, weights, &c, Int64(n), c.count, 4) == QF_STATUS_OK)
            // Destroyed twice, used after destruction.
            qf_weights_destroy(weights)
            qf_weights_destroy(weights)
            #expect(String(cString: qf_last_error()).contains("not a live handle"))
            #expect(qf_kernel_run(kernel, a, Int64(k), a.count, weights, &c, Int64(n), c.count, 4) == QF_STATUS_INVALID_ARGUMENT)
            qf_kernel_destroy(kernel)
            qf_kernel_destroy(kernel)
            #expect(qf_kernel_pack(kernel, b, Int64(n), &other) == QF_STATUS_INVALID_ARGUMENT)
            // Descriptions that mean nothing: per-channel without scales, an int32 output with an
            // epilogue it would ignore, a subnormal scale.
            for (field, corrupt) in [("b_scales", { (d: inout qf_matmul_desc) in d.b_scales = nil }),
                                     ("bias", { (d: inout qf_matmul_desc) in d.output = QF_OUTPUT_INT32; d.bias = UnsafeRawPointer(scales.baseAddress!) }),
                                     ("activation", { (d: inout qf_matmul_desc) in d.output = QF_OUTPUT_INT32; d.activation = QF_ACTIVATION_RELU }),
                                     ("y_scale", { (d: inout qf_matmul_desc) in d.y_scale = Float.leastNormalMagnitude / 4 }),
                                     ("a_scale", { (d: inout qf_matmul_desc) in d.a_scale = Float.leastNonzeroMagnitude })] {
                var bad = desc
                corrupt(&bad)
                #expect(qf_kernel_compile(context, &bad, &other) == QF_STATUS_INVALID_ARGUMENT && other == nil, "\(field)")
                #expect(!String(cString: qf_last_error()).isEmpty)
            }
        }
    }

    /// Every operator's entry points refuse null pointers, foreign handles and another operator's
    /// kernel with a status and a message.
    @Test func everyOperatorsEntryPointsRefuseHostileInput() throws {
        var context: OpaquePointer?
        try #require(qf_context_create(nil, 1, &context) == QF_STATUS_OK)
        defer { qf_context_destroy(context) }
        var quantizer: OpaquePointer?, other: OpaquePointer?
        try #require(qf_dynamic_quantize_compile(context, 2, 8, 0, &quantizer) == QF_STATUS_OK)
        defer { qf_kernel_destroy(quantizer) }
        var x = [Float](repeating: 1, count: 16), y = [UInt8](repeating: 0, count: 16)
        var scale: Float = 0, point: Int32 = 0
        var conv = qf_conv_desc()
        qf_conv_desc_init(&conv, 1, 4, 5, 5, 4, 3, 3)
        var quantize = qf_quantize_desc()
        quantize.rank = 1
        quantize.shape.0 = 16
        quantize.parameter_count = 1
        var binary = qf_binary_desc(), lookup = qf_lookup_desc()
        let invalid = QF_STATUS_INVALID_ARGUMENT
        // Null descriptors and outputs.
        #expect(qf_conv_compile(context, nil, &other) == invalid && other == nil)
        #expect(qf_conv_compile(context, &conv, nil) == invalid)
        #expect(qf_quantize_compile(context, &quantize, &other) == invalid)  // scales null with a count of 1
        #expect(String(cString: qf_last_error()).contains("scales"))
        #expect(qf_binary_compile(context, &binary, &other) == invalid)       // all scales 0
        #expect(qf_lookup_compile(context, &lookup, &other) == invalid)       // count 0
        binary.a_rank = 99
        #expect(qf_binary_compile(context, &binary, &other) == invalid && String(cString: qf_last_error()).contains("rank"))
        #expect(qf_dynamic_quantize_compile(context, 1, 1, 7, &other) == invalid)
        // A context where a kernel belongs, and another operator's kernel.
        #expect(qf_conv_pack(context, x, 64, &other) == invalid)
        #expect(qf_conv_run(quantizer, x, 64, nil, nil, 0, &y, 16) == invalid)
        #expect(String(cString: qf_last_error()).contains("qf_conv_run was given a DynamicQuantizeLinear kernel"))
        #expect(qf_quantize_run(quantizer, x, 64, &y, 16) == invalid)
        #expect(qf_dequantize_run(quantizer, y, 16, &x, 64) == invalid)
        #expect(qf_binary_run(quantizer, y, 16, y, 16, &y, 16) == invalid)
        #expect(qf_lookup_run(quantizer, y, 16, &y, 16) == invalid)
        #expect(qf_nbits_run(quantizer, x, 64, nil, &x, 64) == invalid)
        #expect(String(cString: qf_last_error()).contains("qf_nbits_run was given a DynamicQuantizeLinear kernel"))
        #expect(qf_nbits_pack(quantizer, y, 16, x, 64, 0, nil, 0, nil, 0, &other) == invalid && other == nil)
        var nbits = qf_nbits_desc()
        nbits.k = 64; nbits.n = 8; nbits.bits = 3; nbits.block_size = 32
        #expect(qf_nbits_compile(context, &nbits, &other) == invalid && String(cString: qf_last_error()).contains("bits"))
        nbits.bits = 4; nbits.compute = qf_nbits_compute(rawValue: 7)
        #expect(qf_nbits_compile(context, &nbits, &other) == invalid && String(cString: qf_last_error()).contains("compute"))
        #expect(qf_nbits_compile(context, nil, &other) == invalid)
        var norm = qf_layernorm_desc()
        norm.columns = 0
        #expect(qf_layernorm_compile(context, &norm, &other) == invalid && other == nil)
        #expect(qf_softmax_compile(context, 0, &other) == invalid && other == nil)
        norm.columns = 16; norm.epsilon = 1e-5; norm.quantized_output = 2
        #expect(qf_layernorm_compile(context, &norm, &other) == invalid && String(cString: qf_last_error()).contains("quantized_output"))
        norm.quantized_output = 1; norm.output_type = QF_TYPE_S32; norm.y_scale = 0.1
        #expect(qf_layernorm_compile(context, &norm, &other) == invalid && other == nil)
        norm.output_type = QF_TYPE_U8; norm.y_scale = 0
        #expect(qf_layernorm_compile(context, &norm, &other) == invalid && other == nil)
        // A quantized LayerNorm writes one byte per value: 16 bytes for a row of 16.
        norm.y_scale = 0.05; norm.y_zero_point = 128
        var quantizedNorm: OpaquePointer?
        try #require(qf_layernorm_compile(context, &norm, &quantizedNorm) == QF_STATUS_OK)
        defer { qf_kernel_destroy(quantizedNorm) }
        let ones = [Float](repeating: 1, count: 16), zeros = [Float](repeating: 0, count: 16)
        let ramp = (0..<16).map { Float($0) }
        var bytes = [UInt8](repeating: 0, count: 16)
        #expect(qf_layernorm_run(quantizedNorm, ramp, 64, nil, 0, ones, 64, zeros, 64, &bytes, 15) == QF_STATUS_BUFFER_TOO_SMALL)
        #expect(qf_layernorm_run(quantizedNorm, ramp, 64, nil, 0, ones, 64, zeros, 64, &bytes, 16) == QF_STATUS_OK)
        let op = try LayerNormalization(columns: 16, output: .quantized(type: .u8, scale: 0.05, zeroPoint: 128))
        #expect(bytes == ReferenceOperators.layerNormQuantized(op, x: ramp, residual: nil, gamma: ones, beta: zeros, rows: 1))
        var elements0: Int64 = 0, type0 = QF_TYPE_U8
        // Int8 attention: bad descriptions, the wrong kernel, short buffers, and the reference's bits.
        var attentionDesc = qf_attention_desc(heads: 2, head_size: 6, scale: 0.5)
        #expect(qf_attention_compile(context, &attentionDesc, &other) == invalid && other == nil)
        attentionDesc.head_size = 8
        var attention: OpaquePointer?
        try #require(qf_attention_compile(context, &attentionDesc, &attention) == QF_STATUS_OK)
        defer { qf_kernel_destroy(attention) }
        let qkv: [Float] = (0..<(3 * 48)).map { (i: Int) -> Float in Float((i * 37) % 23) / 11 - 1 }
        var attended = [Float](repeating: 0, count: 3 * 16)
        #expect(qf_attention_run(attention, qkv, 4 * qkv.count, 3, 4, &attended, 4 * attended.count) == invalid)   // valid > length
        #expect(qf_attention_run(attention, qkv, 4 * qkv.count, 3, 2, &attended, 4 * 47) == QF_STATUS_BUFFER_TOO_SMALL)
        #expect(qf_attention_run(attention, qkv, 4 * 100, 3, 2, &attended, 4 * attended.count) == QF_STATUS_BUFFER_TOO_SMALL)
        #expect(qf_attention_run(quantizer, qkv, 4 * qkv.count, 3, 2, &attended, 4 * attended.count) == invalid)
        #expect(qf_attention_run(attention, qkv, 4 * qkv.count, 3, 2, &attended, 4 * attended.count) == QF_STATUS_OK)
        let attentionOp = try QuantizedAttention(heads: 2, headSize: 8, scale: 0.5)
        #expect(attended.map(\.bitPattern) == ReferenceOperators.quantizedAttention(attentionOp, qkv: qkv, length: 3, valid: 2).map(\.bitPattern))
        #expect(qf_kernel_output(attention, 3, &elements0, &type0) == QF_STATUS_OK && elements0 == 48 && type0 == QF_TYPE_F32)
        // Fused f32 attention: the same description and run call, its own reference's bits.
        attentionDesc.head_size = 6
        #expect(qf_f32_attention_compile(context, &attentionDesc, &other) == invalid && other == nil)
        attentionDesc.head_size = 8
        var f32Attention: OpaquePointer?
        try #require(qf_f32_attention_compile(context, &attentionDesc, &f32Attention) == QF_STATUS_OK)
        defer { qf_kernel_destroy(f32Attention) }
        #expect(qf_attention_run(f32Attention, qkv, 4 * qkv.count, 3, 0, &attended, 4 * attended.count) == invalid)  // no valid key
        #expect(qf_attention_run(f32Attention, qkv, 4 * qkv.count, 3, 2, &attended, 4 * 47) == QF_STATUS_BUFFER_TOO_SMALL)
        #expect(qf_attention_run(f32Attention, qkv, 4 * qkv.count, 3, 2, &attended, 4 * attended.count) == QF_STATUS_OK)
        let f32Op = try F32Attention(heads: 2, headSize: 8, scale: 0.5)
        #expect(attended.map(\.bitPattern) == ReferenceOperators.f32Attention(f32Op, qkv: qkv, length: 3, valid: 2).map(\.bitPattern))
        #expect(qf_kernel_output(f32Attention, 3, &elements0, &type0) == QF_STATUS_OK && elements0 == 48 && type0 == QF_TYPE_F32)
        #expect(String(cString: qf_kernel_describe(f32Attention)).hasPrefix("f32 attention"))
        #expect(qf_layernorm_run(quantizer, x, 64, nil, 0, x, 64, x, 64, &x, 64) == invalid)
        #expect(String(cString: qf_last_error()).contains("qf_layernorm_run was given a DynamicQuantizeLinear kernel"))
        #expect(qf_softmax_run(quantizer, x, 64, 16, 16, &x, 64) == invalid)
        var softmax: OpaquePointer?
        try #require(qf_softmax_compile(context, 1, &softmax) == QF_STATUS_OK)
        defer { qf_kernel_destroy(softmax) }
        #expect(qf_softmax_run(softmax, x, 64, 16, 17, &x, 64) == invalid)             // valid > columns
        #expect(qf_softmax_run(softmax, x, 64, 5, 5, &x, 64) == invalid)               // not whole rows
        #expect(qf_softmax_run(softmax, x, 64, 16, 16, &x, 60) == QF_STATUS_BUFFER_TOO_SMALL)
        #expect(qf_softmax_run(softmax, x, 64, 16, 4, &x, 64) == QF_STATUS_OK && x[4] == 0 && abs(x[0] - 0.25) < 1e-6)
        #expect(qf_kernel_pack(quantizer, y, 8, &other) == invalid)
        #expect(qf_kernel_run(quantizer, x, 8, 64, nil, &y, 8, 16, 2) == invalid)
        // Nulls and short buffers to the right kernel.
        #expect(qf_dynamic_quantize_run(quantizer, nil, 64, &y, 16, &scale, &point, 1) == invalid)
        #expect(qf_dynamic_quantize_run(quantizer, x, 64, &y, 16, nil, &point, 1) == invalid)
        #expect(qf_dynamic_quantize_run(quantizer, x, 64, &y, 15, &scale, &point, 1) == QF_STATUS_BUFFER_TOO_SMALL)
        #expect(qf_dynamic_quantize_run(quantizer, x, -4, &y, 16, &scale, &point, 1) == invalid)
        #expect(qf_dynamic_quantize_run(quantizer, x, 64, &y, 16, &scale, &point, -1) == invalid)
        #expect(qf_dynamic_quantize_run(quantizer, x, 64, &y, 16, &scale, &point, 1) == QF_STATUS_OK)
        var height: Int64 = 0, width: Int64 = 0, elements: Int64 = 0
        var type = QF_TYPE_F32
        #expect(qf_conv_output_size(quantizer, &height, &width) == invalid)
        #expect(qf_kernel_output(quantizer, 0, &elements, &type) == QF_STATUS_OK && elements == 16 && type == QF_TYPE_U8)
        #expect(qf_kernel_output(context, 0, &elements, &type) == invalid)
        #expect(qf_kernel_describe(context) == nil)
        #expect(String(cString: qf_kernel_describe(quantizer)).hasPrefix("DynamicQuantizeLinear"))
        // Tuning: no fixed M, a null database, a negative budget.
        var desc = qf_matmul_desc()
        qf_matmul_desc_init(&desc, 0, 16, 16)
        #expect(qf_autotune(context, &desc, "/nonexistent/tuning.sqlite", 1, nil, nil) == invalid)
        desc.m = 4
        #expect(qf_autotune(context, &desc, nil, 1, nil, nil) == invalid)
        #expect(qf_autotune(context, &desc, "/tmp/x.sqlite", -1, nil, nil) == invalid)
        #expect(qf_context_create_with_database(nil, 1, nil, &other) == invalid)
        #expect(String(cString: qf_version()) == QuantForgeVersion.package)
    }

    @Test func severalThreadsCompileAndRunAtOnce() async throws {
        var context: OpaquePointer?
        #expect(qf_context_create(nil, 1, &context) == QF_STATUS_OK)
        defer { qf_context_destroy(context) }
        let shared = UInt(bitPattern: context)
        let results = await withTaskGroup(of: Bool.self) { group in
            for task in 0..<8 {
                group.addTask {
                    let context = OpaquePointer(bitPattern: shared)
                    var random = TestRandom(seed: UInt64(task))
                    let (m, k, n) = (3 + task, 20 + task * 7, 16 + task * 5)
                    var desc = qf_matmul_desc()
                    qf_matmul_desc_init(&desc, Int64(m), Int64(k), Int64(n))
                    var kernel: OpaquePointer?, weights: OpaquePointer?
                    guard qf_kernel_compile(context, &desc, &kernel) == QF_STATUS_OK else { return false }
                    defer { qf_kernel_destroy(kernel) }
                    let a = random.bytes(m * k), b = random.bytes(k * n)
                    guard qf_kernel_pack(kernel, b, Int64(n), &weights) == QF_STATUS_OK else { return false }
                    defer { qf_weights_destroy(weights) }
                    var c = [UInt8](repeating: 0, count: m * n * 4)
                    guard qf_kernel_run(kernel, a, Int64(k), a.count, weights, &c, Int64(n), c.count, 0) == QF_STATUS_OK else { return false }
                    let op = try! MatMul(m: m, k: k, n: n)
                    return c == ReferenceMatMul.run(op, a: a, b: b, m: m)
                }
            }
            var all: [Bool] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.count == 8 && results.allSatisfy { $0 })
    }

    /// A prefix laid out as an installation would be (lib/, include/, lib/pkgconfig/quantforge.pc).
    static func installation() throws -> URL {
        try #require(FileManager.default.fileExists(atPath: library.path),
                     "\(library.path) is missing: it is built with the tests (`swift build --build-tests` builds the quantforge product)")
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-capi-\(UUID().uuidString)")
        let fm = FileManager.default
        try fm.createDirectory(at: prefix.appendingPathComponent("lib/pkgconfig"), withIntermediateDirectories: true)
        try fm.createDirectory(at: prefix.appendingPathComponent("include"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(at: prefix.appendingPathComponent("lib/libquantforge.so"), withDestinationURL: library)
        try fm.copyItem(at: CrossRunner.packageRoot.appendingPathComponent("Sources/CQuantForgeAPI/include/quantforge.h"),
                        to: prefix.appendingPathComponent("include/quantforge.h"))
        let template = try String(contentsOf: CrossRunner.packageRoot.appendingPathComponent("templates/quantforge.pc.template"), encoding: .utf8)
        let pc = try Template.render(template, ["prefix": .text(prefix.path), "version": .text(QuantForgeVersion.package),
                                                "swift_runtime": .text(swiftRuntime)])
        try pc.write(to: prefix.appendingPathComponent("lib/pkgconfig/quantforge.pc"), atomically: true, encoding: .utf8)
        return prefix
    }

    /// Under a sanitizer, libquantforge.so is instrumented and a plain C program or Python cannot load
    /// it without the sanitizer's runtime preloaded: these two run in normal builds only.
    @Test(.enabled(if: sanitizer == nil, "libquantforge.so is sanitizer-instrumented"))
    func theCExampleBuildsThroughPkgConfigAndPasses() throws {
        let prefix = try Self.installation()
        defer { try? FileManager.default.removeItem(at: prefix) }
        let flags = try CToolchain.run("/usr/bin/pkg-config", ["--cflags", "--libs", "quantforge"],
                                       environment: ["PKG_CONFIG_PATH": prefix.appendingPathComponent("lib/pkgconfig").path])
        try #require(flags.status == 0, "pkg-config: \(flags.stderr)")
        let program = prefix.appendingPathComponent("c_api_example")
        let source = CrossRunner.packageRoot.appendingPathComponent("tools/examples/c_api_example.c")
        let build = try CToolchain.run("/usr/bin/cc", ["-O2", "-ffp-contract=off", source.path, "-o", program.path, "-lm"]
                                        + flags.stdout.split(whereSeparator: \.isWhitespace).map(String.init))
        try #require(build.status == 0, "cc: \(build.stderr)")
        let outcome = try CToolchain.run(program.path, [])
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        #expect(outcome.stdout.contains("all checks passed"))
    }

    /// The `quantforge` Python package (tools/python) on this build's libquantforge.so: the
    /// example calling every operator. (CI also pip-installs the package and runs its pytest suite.)
    @Test(.enabled(if: sanitizer == nil, "libquantforge.so is sanitizer-instrumented"))
    func thePythonExamplePasses() throws {
        let script = CrossRunner.packageRoot.appendingPathComponent("tools/examples/quantforge_example.py")
        let outcome = try CToolchain.run("/usr/bin/env", ["python3", script.path],
                                         environment: ["QFORGE_LIBRARY": Self.library.path,
                                                       "PYTHONPATH": CrossRunner.packageRoot.appendingPathComponent("tools/python").path])
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        #expect(outcome.stdout.contains("all checks passed"))
    }
}
