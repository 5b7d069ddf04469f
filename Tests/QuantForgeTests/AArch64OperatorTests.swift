import Foundation
import QuantForge
import QuantForgeTooling
import Testing

/// Every operator's kernels built for AArch64 (NEON dot product) ahead of time, linked with a C
/// driver and run under qemu-aarch64, bit-exact against the reference: quantize, dequantize,
/// dynamic quantization, QLinearAdd, lookups, depthwise and implicit-GEMM convolution, the dynamic
/// linear (f32 A, run-time parameters), an epilogue chain with a residual, the f32 linear, and the
/// transformer operators (LayerNorm, softmax, int8 and fused f32 attention).
struct AArch64OperatorTests {
    /// The library's emulator with the tests' call shapes (a test fails when a run does).
    final class Harness {
        let emulator: AArch64Emulator
        init() throws {
            try #require(AArch64Emulator.unavailableReason == nil, "\(AArch64Emulator.unavailableReason ?? "")")
            emulator = try AArch64Emulator()
        }

        /// Runs an elementwise kernel; returns (y, extra, extra2).
        func elementwise(_ kernel: OperatorKernel, x: [UInt8], x2: [UInt8]? = nil, begin: Int = 0, end: Int = 0,
                         yBytes: Int, extraBytes: Int = 0, extra2Bytes: Int = 0, extraInteger: Int? = nil) throws -> ([UInt8], [UInt8], [UInt8]) {
            let out = try emulator.runElementwise(try emulator.build(kernel), x: x, x2: x2, begin: begin, end: end, yBytes: yBytes,
                                                  extraBytes: extraBytes, extra2Bytes: extra2Bytes, extraInteger: extraInteger)
            return (out.y, out.extra, out.extra2)
        }

        /// Runs a matmul-shaped kernel; returns C.
        func matmul(_ kernel: OperatorKernel, a: [UInt8], lda: Int, packed: [UInt8], m: Int, panels: Int, cBytes: Int, ldc: Int,
                    residual: [UInt8]? = nil, ldr: Int = 0, aScales: [Float]? = nil, aZeroPoints: [Int32]? = nil) throws -> [UInt8] {
            try emulator.runMatMul(try emulator.build(kernel), a: a, lda: lda, packedB: packed, m: m, panels: panels, cBytes: cBytes, ldc: ldc,
                                   residual: residual, ldr: ldr, aScales: aScales, aZeroPoints: aZeroPoints)
        }
    }

    @Test func elementwiseOperatorsUnderQemu() throws {
        let harness = try Harness()
        var random = TestRandom(seed: 1201)
        // QuantizeLinear per axis (s8) and DequantizeLinear (u16).
        let quantization = try AxisQuantization(shape: [3, 37], axis: 1, scales: (0..<37).map { _ in random.float(0.01...1) },
                                                zeroPoints: (0..<37).map { _ in Int32(random.int(-128...127)) }, type: .s8)
        let x = (0..<111).map { _ in random.float(-100...100) }
        let (q, _, _) = try harness.elementwise(.quantize(QuantizeLinear(quantization)), x: x.withUnsafeBytes { Array($0) }, yBytes: 111)
        #expect(q == ReferenceOperators.quantize(QuantizeLinear(quantization), x))
        let wide = try AxisQuantization(shape: [29], scales: [0.25], zeroPoints: [30000], type: .u16)
        let raw = random.bytes(58)
        let (d, _, _) = try harness.elementwise(.dequantize(DequantizeLinear(wide)), x: raw, yBytes: 29 * 4)
        #expect(d == ReferenceOperators.dequantize(DequantizeLinear(wide), raw).withUnsafeBytes { Array($0) })
        // DynamicQuantizeLinear per row.
        let dynamic = try DynamicQuantizeLinear(rows: 5, columns: 21, perRow: true)
        let values = (0..<105).map { _ in random.float(-3...7) }
        let (y, scales, points) = try harness.elementwise(.dynamicQuantize(dynamic, parametersOnly: false), x: values.withUnsafeBytes { Array($0) },
                                                          end: 5, yBytes: 105, extraBytes: 20, extra2Bytes: 20)
        let expected = ReferenceOperators.dynamicQuantize(dynamic, values)
        #expect(y == expected.y)
        #expect(scales == expected.scales.withUnsafeBytes { Array($0) } && points == expected.zeroPoints.withUnsafeBytes { Array($0) })
        // QLinearAdd with broadcasting, and a GELU lookup.
        let add = try QLinearBinary(.add, type: .u8, aShape: [3, 19], bShape: [19], aQuant: .perTensor(scale: 0.1, zeroPoint: 120),
                                    bQuant: .perTensor(scale: 0.05, zeroPoint: 3), yQuant: .perTensor(scale: 0.2, zeroPoint: 100))
        let a = random.bytes(57), b = random.bytes(19)
        #expect(try harness.elementwise(.binary(add), x: a, x2: b, yBytes: 57).0 == ReferenceOperators.binary(add, a: a, b: b))
        let gelu = try QuantizedLookup(.gelu, count: 300, inputType: .s8, inputQuant: .perTensor(scale: 0.05, zeroPoint: 0),
                                       outputType: .u8, outputQuant: .perTensor(scale: 0.03, zeroPoint: 10))
        let bytes = random.bytes(300)
        #expect(try harness.elementwise(.lookup(gelu), x: bytes, end: 300, yBytes: 300).0 == ReferenceOperators.lookup(gelu, bytes))
        // Fake quantization (y and mask) and bias + GELU on f32 rows.
        let fake = FakeQuantize(try AxisQuantization(shape: [45], scales: [0.1], zeroPoints: [3], type: .s8))
        let floats = (0..<45).map { _ in random.float(-20...20) }
        let (fy, fmask, _) = try harness.elementwise(.fakeQuantize(fake), x: floats.withUnsafeBytes { Array($0) }, yBytes: 45 * 4, extraBytes: 45)
        let fakeExpected = ReferenceOperators.fakeQuantize(fake, floats)
        #expect(fy == fakeExpected.y.withUnsafeBytes { Array($0) } && fmask == fakeExpected.mask)
        let biasGELU = try BiasActivation(columns: 21, bias: (0..<21).map { _ in random.float(-1...1) }, activation: .gelu)
        let rows = (0..<63).map { _ in random.float(-5...5) }
        let (gy, _, _) = try harness.elementwise(.biasActivation(biasGELU), x: rows.withUnsafeBytes { Array($0) }, end: 3, yBytes: 63 * 4)
        #expect(gy == rows.enumerated().map { biasGELU.apply($1, column: $0 % 21) }.withUnsafeBytes { Array($0) })
        // The f32 linear (panels cut short: 37 outputs), from its bias, one fma per k.
        let linear = try F32Linear(inputs: 29, outputs: 37, hasBias: true)
        let w = (0..<(29 * 37)).map { _ in random.float(-1...1) }, bias = (0..<37).map { _ in random.float(-1...1) }
        let inputs = (0..<(6 * 29)).map { _ in random.float(-2...2) }
        let packed = w.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { try! F32LinearLayout(linear, isa: AArch64Emulator.isa).pack(weights: w, bias: $0) }
        }
        let (ly, _, _) = try harness.elementwise(.f32Linear(linear), x: inputs.withUnsafeBytes { Array($0) },
                                                 x2: packed.withUnsafeBytes { Array($0) }, end: 6, yBytes: 6 * 37 * 4)
        #expect(ly == ReferenceOperators.f32Linear(linear, x: inputs, weights: w, bias: bias, rows: 6).withUnsafeBytes { Array($0) })
    }

    /// MatMulNBits-style linears on NEON sdot: 4 and 8 bits (8 bits stored as s8), both zero-point
    /// forms and compute modes, K with a partial block, N with a partial panel, leftover rows.
    @Test func nbitsLinearUnderQemu() throws {
        let harness = try Harness()
        var random = TestRandom(seed: 1203)
        for (index, bits) in [4, 8, 4, 8].enumerated() {
            let op = try NBitsLinear(inputs: 75, outputs: 21, bits: bits, blockSize: index < 2 ? 16 : 32,
                                     zeroPoints: index % 3 == 0 ? .perBlock : .midpoint, compute: index < 2 ? .int8 : .f32,
                                     hasBias: index != 1, activation: index == 2 ? .gelu : .none)
            let rows = 6
            let layout = try NBitsLayout(op, isa: AArch64Emulator.isa)
            let b = random.bytes(op.quantizedWeightBytes), scales = (0..<op.scaleCount).map { _ in random.float(0.001...0.02) }
            let zp = op.zeroPoints == .perBlock ? random.bytes(op.zeroPointBytes) : nil
            let bias = op.hasBias ? (0..<21).map { _ in random.float(-1...1) } : nil
            let a = (0..<(rows * 75)).map { _ in random.float(-4...4) }
            // The generated packer, as JIT and AOT run it.
            let (packed, _, _) = try harness.elementwise(.nbitsPack(op), x: b, x2: layout.side(scales: scales, bias: bias, zeroPoints: zp),
                                                         begin: 0, end: layout.panels, yBytes: layout.byteCount)
            var input = a.withUnsafeBytes { Array($0) }
            if op.compute == .int8 {
                let (quantized, _, _) = try harness.elementwise(.nbitsQuantizeA(op), x: input, end: rows, yBytes: rows * layout.quantizedRowStride)
                for m in 0..<rows {
                    let row = ReferenceOperators.quantizeRowPerBlock(a[(m * 75)..<((m + 1) * 75)], blockSize: op.blockSize)
                    let base = m * layout.quantizedRowStride
                    #expect(Array(quantized[base..<(base + row.values.count)]) == row.values.map { UInt8(bitPattern: $0) }, "row \(m)")
                }
                input = quantized
            }
            let (y, _, _) = try harness.elementwise(.nbitsLinear(op), x: input, x2: packed, begin: 0, end: layout.panels,
                                                    yBytes: rows * 21 * 4, extraInteger: rows)
            let expected = ReferenceOperators.nbitsLinear(op, a: a, rows: rows, b: b, scales: scales, zeroPoints: zp, bias: bias)
            #expect(y == expected.withUnsafeBytes { Array($0) }, "\(bits)-bit \(op.zeroPoints) \(op.compute)")
        }
    }

    /// LayerNorm with the residual fused on NEON (its 16-lane partial sums in four registers), f32
    /// and quantized output.
    @Test func layerNormUnderQemu() throws {
        let harness = try Harness()
        var random = TestRandom(seed: 1204)
        func bytes(_ values: [Float]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
        for columns in [5, 384, 389] {
            let op = try LayerNormalization(columns: columns, epsilon: 1e-12, hasResidual: true)
            let rows = 3
            let x = (0..<(rows * columns)).map { _ in random.float(-3...3) }, r = (0..<(rows * columns)).map { _ in random.float(-1...1) }
            let gamma = (0..<columns).map { _ in random.float(0.5...1.5) }, beta = (0..<columns).map { _ in random.float(-1...1) }
            let out = try harness.emulator.runElementwise(try harness.emulator.build(.layerNorm(op)), x: bytes(x), x2: bytes(r), end: rows,
                                                          yBytes: 4 * rows * columns, extraInput: bytes(gamma), extra2Input: bytes(beta))
            #expect(out.y == bytes(ReferenceOperators.layerNorm(op, x: x, residual: r, gamma: gamma, beta: beta, rows: rows)), "\(columns)")
            // The quantized output (s8) of the same rows.
            let quantized = try LayerNormalization(columns: columns, epsilon: 1e-12, hasResidual: true,
                                                   output: .quantized(type: .s8, scale: 0.02, zeroPoint: -3))
            let q = try harness.emulator.runElementwise(try harness.emulator.build(.layerNorm(quantized)), x: bytes(x), x2: bytes(r), end: rows,
                                                        yBytes: rows * columns, extraInput: bytes(gamma), extra2Input: bytes(beta))
            #expect(q.y == ReferenceOperators.layerNormQuantized(quantized, x: x, residual: r, gamma: gamma, beta: beta, rows: rows),
                    "\(columns) quantized")
        }
    }

    /// Int8 attention on NEON `sdot` (s8 × s8: P's u8 codes flipped with the +128·Σ qV
    /// compensation): the scores kernel, the reference softmax, the context kernel, each step
    /// compared with the reference.
    @Test func quantizedAttentionUnderQemu() throws {
        let harness = try Harness()
        var random = TestRandom(seed: 1206)
        for (heads, d, length, valid) in [(2, 32, 7, 5), (1, 12, 18, 18)] {
            let op = try QuantizedAttention(heads: heads, headSize: d, scale: 1 / Float(d).squareRoot())
            let qkv = (0..<(length * op.inputColumns)).map { _ in random.float(-2...2) }
            let scratch = AttentionScratch(op, instruction: try AttentionScratch.instruction(for: AArch64Emulator.isa), length: length)
            let header = scratch.header.withUnsafeBytes { Array($0) }
            let first = try harness.emulator.runElementwise(try harness.emulator.build(.attentionScores(op)), x: qkv.withUnsafeBytes { Array($0) },
                                                            end: heads, yBytes: scratch.bytes, extra2Bytes: 4 * scratch.scoreCount,
                                                            extraInput: header)
            let scores = first.extra2.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let p = try Engine(isa: .portable, threads: 1).compile(op.softmax)
                .run(scores, columns: scratch[.keyColumns], valid: valid)
            let second = try harness.emulator.runElementwise(try harness.emulator.build(.attentionContext(op)), x: p.withUnsafeBytes { Array($0) },
                                                             x2: first.y, end: heads, yBytes: 4 * length * op.outputColumns,
                                                             extraInput: header)
            let expected = ReferenceOperators.quantizedAttention(op, qkv: qkv, length: length, valid: valid)
            #expect(second.y == expected.withUnsafeBytes { Array($0) }, "\(heads) heads × \(d), \(length) tokens, \(valid) valid")
        }
    }

    /// Fused f32 attention on NEON (16-key vectors as four registers, blocks of 8 queries with a
    /// repeated last query, masked keys), bit-exact against the reference.
    @Test func f32AttentionUnderQemu() throws {
        let harness = try Harness()
        var random = TestRandom(seed: 1207)
        for (heads, d, length, valid) in [(2, 32, 7, 5), (1, 12, 18, 18), (3, 20, 33, 30)] {
            let op = try F32Attention(heads: heads, headSize: d, scale: 1 / Float(d).squareRoot())
            let qkv = (0..<(length * op.inputColumns)).map { _ in random.float(-2...2) }
            let scratch = [UInt8](repeating: 0, count: 4 * heads * op.scratchFloatsPerHead(length: length))
            let out = try harness.emulator.runElementwise(try harness.emulator.build(.f32Attention(op)), x: qkv.withUnsafeBytes { Array($0) },
                                                          x2: scratch, end: heads, yBytes: 4 * length * op.outputColumns,
                                                          extraInteger: length, extra2Integer: valid)
            let expected = ReferenceOperators.f32Attention(op, qkv: qkv, length: length, valid: valid)
            #expect(out.y == expected.withUnsafeBytes { Array($0) }, "\(heads) heads × \(d), \(length) tokens, \(valid) valid")
        }
    }

    /// Softmax with the key-padding mask on NEON (row length and valid columns per call).
    @Test func softmaxUnderQemu() throws {
        let harness = try Harness()
        var random = TestRandom(seed: 1205)
        let op = try Softmax(scale: 0.125)
        let program = try harness.emulator.build(.softmax(op))
        for (columns, valid) in [(5, 5), (40, 33), (70, 0), (130, 129)] {
            let rows = 3
            let x = (0..<(rows * columns)).map { _ in random.float(-20...20) }
            let out = try harness.emulator.runElementwise(program, x: x.withUnsafeBytes { Array($0) }, end: rows, yBytes: 4 * rows * columns,
                                                          extraInteger: columns, extra2Integer: valid)
            let expected = ReferenceOperators.softmax(op, x: x, rows: rows, columns: columns, valid: valid)
            #expect(out.y == expected.withUnsafeBytes { Array($0) }, "\(columns) columns, \(valid) valid")
        }
    }

    @Test func convolutionsUnderQemu() throws {
        let harness = try Harness()
        var random = TestRandom(seed: 1202)
        // Depthwise 3×3, stride 2, requantized with bias.
        let channels = 19
        let depthwise = try Conv2D(inChannels: channels, height: 9, width: 8, outChannels: channels, kernel: (3, 3), strides: [2, 2],
                                   pads: [1, 1, 1, 1], groups: channels, xQuant: .perTensor(scale: 0.05, zeroPoint: 7),
                                   wQuant: .perChannel(scales: (0..<channels).map { _ in random.float(0.01...0.02) }, zeroPoints: [0]),
                                   output: .requantized(.init(type: .u8, output: .perTensor(scale: 0.1, zeroPoint: 50),
                                                              bias: (0..<channels).map { _ in Int32(random.int(-99...99)) })))
        let x = random.bytes(depthwise.inputElements), w = random.bytes(depthwise.weightElements)
        let packed = try DepthwiseWeights(depthwise, w: w, isa: AArch64Emulator.isa).values.withUnsafeBytes { Array($0) }
        let (y, _, _) = try harness.elementwise(.depthwise(depthwise), x: x, x2: packed, end: depthwise.gemmRows, yBytes: depthwise.outputElements)
        #expect(y == ReferenceOperators.conv(depthwise, x: x, w: w))

        // 3×3 convolution as an implicit GEMM (gathered windows, sdot microkernel).
        let conv = try Conv2D(inChannels: 5, height: 7, width: 6, outChannels: 11, kernel: (3, 3), pads: [1, 0, 1, 2],
                              dilations: [1, 2], xQuant: .perTensor(scale: 0.02, zeroPoint: 128),
                              wQuant: .perTensor(scale: 0.01, zeroPoint: 0),
                              output: .requantized(.init(type: .u8, output: .perTensor(scale: 0.3, zeroPoint: 128))))
        let gemm = try conv.groupMatMul(0)
        let schedule = try DefaultSchedule.forConvolution(conv, isa: AArch64Emulator.isa)
        let convX = random.bytes(conv.inputElements), convW = random.bytes(conv.weightElements)
        let plan = try MatMulPlan(op: gemm, schedule: schedule, convolution: ConvolutionGeometry(conv))
        let weights = try conv.gemmWeights(convW, group: 0).withUnsafeBytes {
            try WeightPacker.pack(gemm, b: $0, ldb: gemm.n, instruction: plan.instruction, layout: plan.layout, signature: "qemu")
        }
        let c = try harness.matmul(.matmul(gemm, schedule, convolution: ConvolutionGeometry(conv)), a: convX, lda: conv.inChannels,
                                   packed: weights.contents, m: gemm.m!, panels: plan.layout.panels, cBytes: conv.outputElements,
                                   ldc: conv.outChannels)
        #expect(c == ReferenceOperators.conv(conv, x: convX, w: convW), "\(schedule)")
    }

    @Test func dynamicLinearAndResidualChainUnderQemu() throws {
        let harness = try Harness()
        var random = TestRandom(seed: 1203)
        let (m, k, n) = (6, 45, 23)
        // f32 A quantized per row in the kernel, then GELU, dequantized.
        let linear = try MatMul(m: nil, k: k, n: n, aType: .f32, bType: .s8,
                                bQuant: .perChannel(scales: (0..<n).map { _ in random.float(0.001...0.01) }, zeroPoints: [0]),
                                output: .chain(EpilogueChain([.bias([0.1]), .activation(.gelu)], output: .dequantize)),
                                aQuantMode: .perRowAtRunTime)
        let a = (0..<(m * k)).map { _ in random.float(-2...2) }, b = random.bytes(k * n)
        let parameters = ReferenceOperators.dynamicQuantize(try DynamicQuantizeLinear(rows: m, columns: k, perRow: true), a)
        let schedule = try DefaultSchedule.forMatMul(linear, isa: AArch64Emulator.isa)
        let plan = try MatMulPlan(op: linear, schedule: schedule)
        let weights = try b.withUnsafeBytes {
            try WeightPacker.pack(linear, b: $0, ldb: n, instruction: plan.instruction, layout: plan.layout, signature: "qemu")
        }
        let c = try harness.matmul(.matmul(linear, schedule, convolution: nil), a: a.withUnsafeBytes { Array($0) }, lda: k,
                                   packed: weights.contents, m: m, panels: plan.layout.panels, cBytes: m * n * 4, ldc: n,
                                   aScales: parameters.scales, aZeroPoints: parameters.zeroPoints)
        #expect(c == ReferenceOperators.dynamicLinear(linear, a: a, b: b, m: m))

        // u8 × s8 with a residual add and sigmoid, requantized.
        let residualOp = try MatMul(m: nil, k: k, n: n, aType: .u8, bType: .s8, aQuant: .perTensor(scale: 0.02, zeroPoint: 100),
                                    bQuant: .perTensor(scale: 0.004, zeroPoint: 0),
                                    output: .chain(EpilogueChain([.residualAdd(type: .s8, quant: .perTensor(scale: 0.02, zeroPoint: -5)),
                                                                  .activation(.sigmoid)],
                                                                 output: .requantize(type: .u8, quant: .perTensor(scale: 1.0 / 255, zeroPoint: 0)))))
        let qa = random.bytes(m * k), residual = random.bytes(m * n)
        let residualSchedule = try DefaultSchedule.forMatMul(residualOp, isa: AArch64Emulator.isa)
        let residualPlan = try MatMulPlan(op: residualOp, schedule: residualSchedule)
        let residualWeights = try b.withUnsafeBytes {
            try WeightPacker.pack(residualOp, b: $0, ldb: n, instruction: residualPlan.instruction, layout: residualPlan.layout, signature: "qemu")
        }
        let out = try harness.matmul(.matmul(residualOp, residualSchedule, convolution: nil), a: qa, lda: k, packed: residualWeights.contents,
                                     m: m, panels: residualPlan.layout.panels, cBytes: m * n, ldc: n, residual: residual, ldr: n)
        #expect(out == ReferenceMatMul.run(residualOp, a: qa, b: b, m: m, residual: residual))
    }
}
