import Foundation
import QuantCodegen
import QuantForge

/// The fuzzer's AArch64 sample: a case drawn for `AArch64Emulator.isa` is compiled ahead of time
/// for AArch64, linked with the operator driver and run under qemu, then compared with the
/// reference like a host case (int8 attention: its two kernels, the reference softmax between). Every operator runs this way except NCHW and grouped (non-depthwise)
/// convolutions and depthwise residual chains, which take several kernels or an input the driver
/// does not pass; `supportsEmulation` says which.
extension FuzzRunner {
    /// True when the case runs as one AArch64 kernel the operator driver can call: a convolution
    /// must be NHWC and either one GEMM (one group) or the depthwise microkernel without a residual.
    public static func supportsEmulation(_ c: FuzzCase) -> Bool {
        guard case let .convolution(conv) = c.op else { return true }
        if conv.layout != .nhwc { return false }
        if conv.groups == 1 { return true }
        guard conv.isDepthwise, c.schedule == nil else { return false }
        if case let .chain(chain) = conv.output, chain.residual != nil { return false }
        return true
    }

    /// Compiles the case's AArch64 kernel(s) once and returns a function that checks one input seed.
    func prepareEmulated(_ c: FuzzCase, emulator: AArch64Emulator) throws(QuantError) -> (UInt64) -> FuzzOutcome {
        guard Self.supportsEmulation(c) else {
            throw .unsupportedISA(requested: "\(c.isa)", reason: "\(c.op.name) with this layout or these groups is not emulated")
        }
        let isa = AArch64Emulator.isa
        /// Runs a check, turning a refused run into an error outcome.
        func checked(_ body: () throws -> FuzzOutcome) -> FuzzOutcome {
            do { return try body() } catch { return .error("\(error)") }
        }
        func bytes(_ floats: [Float]) -> [UInt8] { floats.withUnsafeBytes { Array($0) } }
        /// Builds `kernel`'s program once; the check runs `body` on each seed's inputs.
        func eachSeed(_ kernel: OperatorKernel, _ body: @escaping (inout FuzzInputs, AArch64Emulator.Program) throws -> FuzzOutcome)
            throws(QuantError) -> (UInt64) -> FuzzOutcome {
            let program = try emulator.build(kernel)
            return { seed in
                checked {
                    var inputs = FuzzInputs(seed: seed)
                    return try body(&inputs, program)
                }
            }
        }
        switch c.op {
        case let .matmul(op, m):
            let schedule = if let chosen = c.schedule { chosen } else { try DefaultSchedule.forMatMul(op, isa: isa) }
            let plan = try MatMulPlan(op: op, schedule: schedule)
            let program = try emulator.build(.matmul(op, schedule, convolution: nil))
            let parameters = op.aType == .f32
                ? try emulator.build(.dynamicQuantize(try DynamicQuantizeLinear(rows: 1, columns: op.k, perRow: op.aQuantMode == .perRowAtRunTime),
                                                      parametersOnly: true)) : nil
            let rows = op.aQuantMode == .perRowAtRunTime ? m : 1
            return { seed in
                checked {
                    var inputs = FuzzInputs(seed: seed)
                    let floatA = op.aType == .f32 ? inputs.floats(m * op.k) : []
                    let a = op.aType == .f32 ? bytes(floatA) : inputs.bytes(m * op.k, type: op.aType)
                    let b = inputs.bytes(op.k * op.n, type: op.bType)
                    let residual: [UInt8]? = if case let .chain(chain) = op.output, chain.residual != nil { inputs.bytes(m * op.n) } else { nil }
                    var runTime: RunTimeAQuant? = nil
                    if let parameters {  // the dynamic linear: A's parameters from their own AArch64 kernel
                        let (_, scales, points) = try emulator.runElementwise(parameters, x: a, end: m, yBytes: 0,
                                                                              extraBytes: 4 * rows, extra2Bytes: 4 * rows)
                        runTime = RunTimeAQuant(scales: scales.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) },
                                                zeroPoints: points.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) })
                    } else if op.aQuantMode.isRunTime {
                        runTime = RunTimeAQuant(scales: (0..<rows).map { _ in Float(inputs.next() % 1000 + 1) / 10_000 },
                                                zeroPoints: (0..<rows).map { _ in Int32(inputs.next() % 256) })
                    }
                    let weights = try b.withUnsafeBytes { b in
                        try WeightPacker.pack(op, b: b, ldb: op.n, instruction: plan.instruction, layout: plan.layout, signature: "aarch64")
                    }
                    let expected = op.aType == .f32 ? ReferenceOperators.dynamicLinear(op, a: floatA, b: b, m: m, residual: residual)
                        : ReferenceMatMul.run(op, a: a, b: b, m: m, runTime: runTime, residual: residual)
                    let got = try emulator.runMatMul(program, a: a, lda: op.k, packedB: weights.contents, m: m, panels: plan.layout.panels,
                                                     cBytes: expected.count, ldc: op.n, residual: residual, ldr: op.n,
                                                     aScales: runTime?.scales, aZeroPoints: runTime?.zeroPoints)
                    return Self.compare(got, expected, floats: op.output.elementType == .f32)
                }
            }
        case let .convolution(conv) where conv.isDepthwise && c.schedule == nil:
            return try eachSeed(.depthwise(conv)) { inputs, program in
                let x = inputs.bytes(conv.inputElements, type: conv.xType), w = inputs.bytes(conv.weightElements, type: conv.wType)
                let packed = try DepthwiseWeights(conv, w: w, isa: AArch64Emulator.isa).values.withUnsafeBytes { Array($0) }
                let expected = ReferenceOperators.conv(conv, x: x, w: w)
                let got = try emulator.runElementwise(program, x: x, x2: packed, end: conv.gemmRows, yBytes: expected.count).y
                return Self.compare(got, expected, floats: conv.output.elementType == .f32)
            }
        case let .convolution(conv):
            let gemm = try conv.groupMatMul(0)
            let schedule = if let chosen = c.schedule { chosen } else { try DefaultSchedule.forConvolution(conv, isa: isa) }
            let geometry = conv.isPointwise ? nil : ConvolutionGeometry(conv)
            let plan = try MatMulPlan(op: gemm, schedule: schedule, convolution: geometry)
            return try eachSeed(.matmul(gemm, schedule, convolution: geometry)) { inputs, program in
                let x = inputs.bytes(conv.inputElements, type: conv.xType), w = inputs.bytes(conv.weightElements, type: conv.wType)
                let residual: [UInt8]? = if case let .chain(chain) = conv.output, chain.residual != nil { inputs.bytes(conv.outputElements) } else { nil }
                let weights = try conv.gemmWeights(w, group: 0).withUnsafeBytes { b in
                    try WeightPacker.pack(gemm, b: b, ldb: gemm.n, instruction: plan.instruction, layout: plan.layout, signature: "aarch64")
                }
                let expected = ReferenceOperators.conv(conv, x: x, w: w, residual: residual)
                let got = try emulator.runMatMul(program, a: x, lda: conv.inChannels, packedB: weights.contents, m: conv.gemmRows,
                                                 panels: plan.layout.panels, cBytes: expected.count, ldc: conv.outChannels,
                                                 residual: residual, ldr: conv.outChannels)
                return Self.compare(got, expected, floats: conv.output.elementType == .f32)
            }
        case let .quantize(op):
            return try eachSeed(.quantize(op)) { inputs, program in
                let x = inputs.floats(op.quantization.count, magnitude: 300)
                let expected = ReferenceOperators.quantize(op, x)
                return Self.compare(try emulator.runElementwise(program, x: bytes(x), yBytes: expected.count).y, expected, floats: false)
            }
        case let .dequantize(op):
            return try eachSeed(.dequantize(op)) { inputs, program in
                let x = inputs.bytes(op.quantization.count * op.quantization.type.byteSize)
                let expected = bytes(ReferenceOperators.dequantize(op, x))
                return Self.compare(try emulator.runElementwise(program, x: x, yBytes: expected.count).y, expected, floats: true)
            }
        case let .fakeQuantize(op):
            return try eachSeed(.fakeQuantize(op)) { inputs, program in
                let x = inputs.floats(op.quantization.count, magnitude: 300)
                let expected = ReferenceOperators.fakeQuantize(op, x)
                let got = try emulator.runElementwise(program, x: bytes(x), yBytes: 4 * x.count, extraBytes: x.count)
                let y = Self.compare(got.y, bytes(expected.y), floats: true)
                return y == .match ? Self.compare(got.extra, expected.mask, floats: false) : y
            }
        case let .dynamicQuantize(op):
            let program = try emulator.build(.dynamicQuantize(op, parametersOnly: false))
            let count = op.perRow ? op.rows : 1
            return { seed in
                checked {
                    var inputs = FuzzInputs(seed: seed)
                    let x = inputs.floats(op.rows * op.columns)
                    let expected = ReferenceOperators.dynamicQuantize(op, x)
                    let got = try emulator.runElementwise(program, x: bytes(x), end: op.rows, yBytes: x.count, extraBytes: 4 * count,
                                                          extra2Bytes: 4 * count)
                    return Self.compare(got.y + got.extra + got.extra2,
                                        expected.y + bytes(expected.scales) + expected.zeroPoints.withUnsafeBytes { Array($0) }, floats: false)
                }
            }
        case let .binary(op):
            return try eachSeed(.binary(op)) { inputs, program in
                let a = inputs.bytes(op.aShape.reduce(1, *), type: op.type), b = inputs.bytes(op.bShape.reduce(1, *), type: op.type)
                let expected = ReferenceOperators.binary(op, a: a, b: b)
                return Self.compare(try emulator.runElementwise(program, x: a, x2: b, yBytes: expected.count).y, expected, floats: false)
            }
        case let .lookup(op):
            return try eachSeed(.lookup(op)) { inputs, program in
                let x = inputs.bytes(op.count)
                let expected = ReferenceOperators.lookup(op, x)
                return Self.compare(try emulator.runElementwise(program, x: x, end: op.count, yBytes: expected.count).y, expected, floats: false)
            }
        case let .nbitsLinear(op):
            let layout = try NBitsLayout(op, isa: isa)
            let pack = try emulator.build(.nbitsPack(op)), linear = try emulator.build(.nbitsLinear(op))
            let quantize = op.compute == .int8 ? try emulator.build(.nbitsQuantizeA(op)) : nil
            return { seed in
                checked {
                    var inputs = FuzzInputs(seed: seed)
                    let w = NBitsFuzzWeights(op, &inputs)
                    let a = inputs.floats(w.rows * op.inputs)
                    let packed = try emulator.runElementwise(pack, x: w.b, x2: layout.side(scales: w.scales, bias: w.bias, zeroPoints: w.zeroPoints),
                                                             end: layout.panels, yBytes: layout.byteCount).y
                    var input = bytes(a)
                    if let quantize {
                        input = try emulator.runElementwise(quantize, x: input, end: w.rows, yBytes: w.rows * layout.quantizedRowStride).y
                    }
                    let got = try emulator.runElementwise(linear, x: input, x2: packed, end: layout.panels, yBytes: 4 * w.rows * op.outputs,
                                                          extraInteger: w.rows).y
                    let expected = ReferenceOperators.nbitsLinear(op, a: a, rows: w.rows, b: w.b, scales: w.scales, zeroPoints: w.zeroPoints,
                                                                  bias: w.bias)
                    return Self.compare(got, bytes(expected), floats: true)
                }
            }
        case let .layerNorm(op):
            return try eachSeed(.layerNorm(op)) { inputs, program in
                let l = LayerNormFuzzInputs(op, &inputs)
                let expected: [UInt8] = switch op.output {
                case .f32: bytes(ReferenceOperators.layerNorm(op, x: l.x, residual: l.residual, gamma: l.gamma, beta: l.beta, rows: l.rows))
                case .quantized: ReferenceOperators.layerNormQuantized(op, x: l.x, residual: l.residual, gamma: l.gamma, beta: l.beta, rows: l.rows)
                }
                let got = try emulator.runElementwise(program, x: bytes(l.x), x2: l.residual.map(bytes), end: l.rows, yBytes: expected.count,
                                                      extraInput: bytes(l.gamma), extra2Input: bytes(l.beta)).y
                return Self.compare(got, expected, floats: op.output == .f32)
            }
        case let .softmax(op):
            return try eachSeed(.softmax(op)) { inputs, program in
                let s = SoftmaxFuzzInputs(&inputs)
                let expected = bytes(ReferenceOperators.softmax(op, x: s.x, rows: s.rows, columns: s.columns, valid: s.valid))
                let got = try emulator.runElementwise(program, x: bytes(s.x), end: s.rows, yBytes: expected.count, extraInteger: s.columns,
                                                      extra2Integer: s.valid).y
                return Self.compare(got, expected, floats: true)
            }
        case let .attention(op):
            let scores = try emulator.build(.attentionScores(op)), context = try emulator.build(.attentionContext(op))
            return { seed in
                checked {
                    var inputs = FuzzInputs(seed: seed)
                    let a = AttentionFuzzInputs(op, &inputs)
                    let scratch = AttentionScratch(op, instruction: try AttentionScratch.instruction(for: isa), length: a.length)
                    let header = scratch.header.withUnsafeBytes { Array($0) }
                    let first = try emulator.runElementwise(scores, x: bytes(a.qkv), end: op.heads, yBytes: scratch.bytes,
                                                            extra2Bytes: 4 * scratch.scoreCount, extraInput: header)
                    // The softmax between the kernels: the reference's (its own kernel is fuzzed by itself).
                    let p = ReferenceOperators.softmax(op.softmax, x: first.extra2.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) },
                                                       rows: op.heads * a.length, columns: scratch[.keyColumns], valid: a.valid)
                    let got = try emulator.runElementwise(context, x: bytes(p), x2: first.y, end: op.heads, yBytes: 4 * a.length * op.outputColumns,
                                                          extraInput: header).y
                    let expected = bytes(ReferenceOperators.quantizedAttention(op, qkv: a.qkv, length: a.length, valid: a.valid))
                    return Self.compare(got, expected, floats: true)
                }
            }
        case let .f32Attention(op):
            return try eachSeed(.f32Attention(op)) { inputs, program in
                let a = AttentionFuzzInputs(inputColumns: op.inputColumns, &inputs)
                let expected = bytes(ReferenceOperators.f32Attention(op, qkv: a.qkv, length: a.length, valid: a.valid))
                let scratch = [UInt8](repeating: 0, count: 4 * op.heads * op.scratchFloatsPerHead(length: a.length))
                let got = try emulator.runElementwise(program, x: bytes(a.qkv), x2: scratch, end: op.heads, yBytes: expected.count,
                                                      extraInteger: a.length, extra2Integer: a.valid).y
                return Self.compare(got, expected, floats: true)
            }
        case let .biasActivation(op):
            return try eachSeed(.biasActivation(op)) { inputs, program in
                let rows = Int(inputs.next() % 4) + 1
                let x = inputs.floats(rows * op.columns)
                let expected = bytes(x.enumerated().map { op.apply($1, column: $0 % op.columns) })
                return Self.compare(try emulator.runElementwise(program, x: bytes(x), end: rows, yBytes: expected.count).y, expected, floats: true)
            }
        }
    }
}
