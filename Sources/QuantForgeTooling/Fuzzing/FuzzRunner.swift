import Foundation
import QuantCodegen
import QuantForge

/// Compiles a case's kernel once and runs it on inputs drawn from consecutive seeds, comparing
/// every output byte with the reference interpreter (f32 outputs: equal bits, or both NaN).
public final class FuzzRunner: @unchecked Sendable {
    private var engines: [ISA: Engine] = [:]
    private var emulator: AArch64Emulator?
    private let lock = NSLock()

    public init() {}

    func engine(_ isa: ISA) throws(QuantError) -> Engine {
        lock.lock()
        defer { lock.unlock() }
        if let engine = engines[isa] { return engine }
        let engine = try Engine(isa: isa, kernelCacheBytes: 8 << 20)
        engines[isa] = engine
        return engine
    }

    /// The AArch64 emulator of cases drawn for `AArch64Emulator.isa` (created on first use).
    func aarch64Emulator() throws(QuantError) -> AArch64Emulator {
        lock.lock()
        defer { lock.unlock() }
        if let emulator { return emulator }
        let created = try AArch64Emulator()
        emulator = created
        return created
    }

    /// The microkernel a case runs on (for the coverage count).
    public func implementation(_ c: FuzzCase) -> String {
        switch c.op {
        case .matmul, .convolution:
            if case let .convolution(conv) = c.op, conv.isDepthwise, c.schedule == nil { return "depthwise" }
            return (try? InstructionTable.instruction(for: c.schedule?.isa ?? c.isa))?.kind.rawValue ?? "?"
        default:
            return "elementwise"
        }
    }

    /// Checks `c` on `inputs` input seeds from `c.inputSeed`; returns the outcome and, for a
    /// mismatch, the seed that produced it.
    public func check(_ c: FuzzCase, inputs: Int = 1) -> (FuzzOutcome, seed: UInt64) {
        do {
            let run = c.isa == AArch64Emulator.isa ? try prepareEmulated(c, emulator: try aarch64Emulator())
                : try prepare(c, engine: try engine(c.isa))
            for i in 0..<UInt64(inputs) {
                let outcome = run(c.inputSeed &+ i)
                if outcome != .match { return (outcome, c.inputSeed &+ i) }
            }
            return (.match, c.inputSeed)
        } catch {
            return (.error("\(error)"), c.inputSeed)
        }
    }

    static func compare(_ got: [UInt8], _ expected: [UInt8], floats: Bool) -> FuzzOutcome {
        if got.count != expected.count { return .mismatch(firstByte: min(got.count, expected.count), of: expected.count) }
        if !floats {
            if let index = zip(got, expected).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                return .mismatch(firstByte: index, of: expected.count)
            }
            return .match
        }
        return got.withUnsafeBytes { g in
            expected.withUnsafeBytes { e in
                for i in 0..<(got.count / 4) {
                    let x = g.load(fromByteOffset: 4 * i, as: UInt32.self), y = e.load(fromByteOffset: 4 * i, as: UInt32.self)
                    if x != y && !(Float(bitPattern: x).isNaN && Float(bitPattern: y).isNaN) { return .mismatch(firstByte: 4 * i, of: got.count) }
                }
                return .match
            }
        }
    }

    /// Compiles the case's kernel and returns a function that checks one input seed.
    private func prepare(_ c: FuzzCase, engine: Engine) throws(QuantError) -> (UInt64) -> FuzzOutcome {
        switch c.op {
        case let .matmul(op, m):
            if op.aType == .f32 {
                let kernel = try engine.compileDynamicLinear(op, schedule: c.schedule)
                return { seed in
                    var inputs = FuzzInputs(seed: seed)
                    let a = inputs.floats(m * op.k), b = inputs.bytes(op.k * op.n, type: op.bType)
                    let residual: [UInt8]? = if case let .chain(chain) = op.output, chain.residual != nil { inputs.bytes(m * op.n) } else { nil }
                    guard let weights = try? kernel.packWeights(b),
                          let got = try? kernel.run(a: a, weights: weights, m: op.m == nil ? m : nil, residual: residual)
                    else { return .error("run refused the case") }
                    return Self.compare(got, ReferenceOperators.dynamicLinear(op, a: a, b: b, m: m, residual: residual),
                                        floats: op.output.elementType == .f32)
                }
            }
            let kernel = try engine.compile(op, schedule: c.schedule)
            return { seed in
                var inputs = FuzzInputs(seed: seed)
                let a = inputs.bytes(m * op.k, type: op.aType), b = inputs.bytes(op.k * op.n, type: op.bType)
                let residual: [UInt8]? = if case let .chain(chain) = op.output, chain.residual != nil { inputs.bytes(m * op.n) } else { nil }
                let rows = op.aQuantMode == .perRowAtRunTime ? m : 1
                let runTime = op.aQuantMode.isRunTime
                    ? RunTimeAQuant(scales: (0..<rows).map { _ in Float(inputs.next() % 1000 + 1) / 10_000 },
                                    zeroPoints: (0..<rows).map { _ in Int32(inputs.next() % 256) }) : nil
                let expected = ReferenceMatMul.run(op, a: a, b: b, m: m, runTime: runTime, residual: residual)
                guard let weights = try? kernel.packWeights(b) else { return .error("packing refused the case") }
                var c = [UInt8](repeating: 0xA5, count: expected.count)
                let ran: Bool = a.withUnsafeBytes { aBytes in
                    c.withUnsafeMutableBytes { cBytes in
                        (residual ?? []).withUnsafeBytes { rBytes in
                            (runTime?.scales ?? []).withUnsafeBufferPointer { scales in
                                (runTime?.zeroPoints ?? []).withUnsafeBufferPointer { points in
                                    (try? kernel.run(a: aBytes, weights: weights, c: cBytes, m: op.m == nil ? m : nil,
                                                     residual: residual == nil ? nil : rBytes,
                                                     aScales: runTime == nil ? nil : scales, aZeroPoints: runTime == nil ? nil : points)) != nil
                                }
                            }
                        }
                    }
                }
                return ran ? Self.compare(c, expected, floats: op.output.elementType == .f32) : .error("run refused the case")
            }
        case let .convolution(conv):
            let kernel = try engine.compile(conv, schedule: c.schedule)
            return { seed in
                var inputs = FuzzInputs(seed: seed)
                let x = inputs.bytes(conv.inputElements, type: conv.xType), w = inputs.bytes(conv.weightElements, type: conv.wType)
                let residual: [UInt8]? = if case let .chain(chain) = conv.output, chain.residual != nil { inputs.bytes(conv.outputElements) } else { nil }
                guard let weights = try? kernel.packWeights(w), let got = try? kernel.run(x: x, weights: weights, residual: residual) else {
                    return .error("run refused the case")
                }
                return Self.compare(got, ReferenceOperators.conv(conv, x: x, w: w, residual: residual), floats: conv.output.elementType == .f32)
            }
        case let .quantize(op):
            let kernel = try engine.compile(op)
            return { seed in
                var inputs = FuzzInputs(seed: seed)
                let x = inputs.floats(op.quantization.count, magnitude: 300)
                guard let got = try? kernel.run(x) else { return .error("run refused the case") }
                return Self.compare(got, ReferenceOperators.quantize(op, x), floats: false)
            }
        case let .dequantize(op):
            let kernel = try engine.compile(op)
            return { seed in
                var inputs = FuzzInputs(seed: seed)
                let x = inputs.bytes(op.quantization.count * op.quantization.type.byteSize)
                guard let got = try? kernel.run(x) else { return .error("run refused the case") }
                return Self.compare(got.withUnsafeBytes { Array($0) }, ReferenceOperators.dequantize(op, x).withUnsafeBytes { Array($0) }, floats: true)
            }
        case let .fakeQuantize(op):
            let kernel = try engine.compile(op)
            return { seed in
                var inputs = FuzzInputs(seed: seed)
                let x = inputs.floats(op.quantization.count, magnitude: 300)
                guard let got = try? kernel.run(x) else { return .error("run refused the case") }
                let expected = ReferenceOperators.fakeQuantize(op, x)
                let y = Self.compare(got.y.withUnsafeBytes { Array($0) }, expected.y.withUnsafeBytes { Array($0) }, floats: true)
                return y == .match ? Self.compare(got.mask, expected.mask, floats: false) : y
            }
        case let .dynamicQuantize(op):
            let kernel = try engine.compile(op)
            return { seed in
                var inputs = FuzzInputs(seed: seed)
                let x = inputs.floats(op.rows * op.columns)
                guard let got = try? kernel.run(x) else { return .error("run refused the case") }
                let expected = ReferenceOperators.dynamicQuantize(op, x)
                let gotBytes = got.y + got.scales.withUnsafeBytes { Array($0) } + got.zeroPoints.withUnsafeBytes { Array($0) }
                let expectedBytes = expected.y + expected.scales.withUnsafeBytes { Array($0) } + expected.zeroPoints.withUnsafeBytes { Array($0) }
                return Self.compare(gotBytes, expectedBytes, floats: false)
            }
        case let .binary(op):
            let kernel = try engine.compile(op)
            return { seed in
                var inputs = FuzzInputs(seed: seed)
                let a = inputs.bytes(op.aShape.reduce(1, *), type: op.type), b = inputs.bytes(op.bShape.reduce(1, *), type: op.type)
                guard let got = try? kernel.run(a: a, b: b) else { return .error("run refused the case") }
                return Self.compare(got, ReferenceOperators.binary(op, a: a, b: b), floats: false)
            }
        case let .lookup(op):
            let kernel = try engine.compile(op)
            return { seed in
                var inputs = FuzzInputs(seed: seed)
                let x = inputs.bytes(op.count)
                guard let got = try? kernel.run(x) else { return .error("run refused the case") }
                return Self.compare(got, ReferenceOperators.lookup(op, x), floats: false)
            }
        case let .nbitsLinear(op):
            let kernel = try engine.compile(op)
            return { seed in
                var inputs = FuzzInputs(seed: seed)
                let w = NBitsFuzzWeights(op, &inputs)
                let a = inputs.floats(w.rows * op.inputs)
                guard let packed = try? kernel.packWeights(b: w.b, scales: w.scales, zeroPoints: w.zeroPoints, bias: w.bias),
                      let got = try? kernel.run(a, weights: packed) else { return .error("run refused the case") }
                let expected = ReferenceOperators.nbitsLinear(op, a: a, rows: w.rows, b: w.b, scales: w.scales, zeroPoints: w.zeroPoints, bias: w.bias)
                return Self.compare(got.withUnsafeBytes { Array($0) }, expected.withUnsafeBytes { Array($0) }, floats: true)
            }
        case let .layerNorm(op):
            let kernel = try engine.compile(op)
            return { seed in
                var inputs = FuzzInputs(seed: seed)
                let l = LayerNormFuzzInputs(op, &inputs)
                switch op.output {
                case .f32:
                    guard let got = try? kernel.run(l.x, residual: l.residual, gamma: l.gamma, beta: l.beta) else { return .error("run refused the case") }
                    let expected = ReferenceOperators.layerNorm(op, x: l.x, residual: l.residual, gamma: l.gamma, beta: l.beta, rows: l.rows)
                    return Self.compare(got.withUnsafeBytes { Array($0) }, expected.withUnsafeBytes { Array($0) }, floats: true)
                case .quantized:
                    guard let got = try? kernel.runQuantized(l.x, residual: l.residual, gamma: l.gamma, beta: l.beta) else {
                        return .error("run refused the case")
                    }
                    return Self.compare(got, ReferenceOperators.layerNormQuantized(op, x: l.x, residual: l.residual, gamma: l.gamma,
                                                                                   beta: l.beta, rows: l.rows), floats: false)
                }
            }
        case let .softmax(op):
            let kernel = try engine.compile(op)
            return { seed in
                var inputs = FuzzInputs(seed: seed)
                let s = SoftmaxFuzzInputs(&inputs)
                guard let got = try? kernel.run(s.x, columns: s.columns, valid: s.valid) else { return .error("run refused the case") }
                let expected = ReferenceOperators.softmax(op, x: s.x, rows: s.rows, columns: s.columns, valid: s.valid)
                return Self.compare(got.withUnsafeBytes { Array($0) }, expected.withUnsafeBytes { Array($0) }, floats: true)
            }
        case let .attention(op):
            let kernel = try engine.compile(op)
            return { seed in
                var inputs = FuzzInputs(seed: seed)
                let a = AttentionFuzzInputs(op, &inputs)
                guard let got = try? kernel.run(a.qkv, length: a.length, valid: a.valid) else { return .error("run refused the case") }
                let expected = ReferenceOperators.quantizedAttention(op, qkv: a.qkv, length: a.length, valid: a.valid)
                return Self.compare(got.withUnsafeBytes { Array($0) }, expected.withUnsafeBytes { Array($0) }, floats: true)
            }
        case let .f32Attention(op):
            let kernel = try engine.compile(op)
            return { seed in
                var inputs = FuzzInputs(seed: seed)
                let a = AttentionFuzzInputs(inputColumns: op.inputColumns, &inputs)
                guard let got = try? kernel.run(a.qkv, length: a.length, valid: a.valid) else { return .error("run refused the case") }
                let expected = ReferenceOperators.f32Attention(op, qkv: a.qkv, length: a.length, valid: a.valid)
                return Self.compare(got.withUnsafeBytes { Array($0) }, expected.withUnsafeBytes { Array($0) }, floats: true)
            }
        case let .biasActivation(op):
            let kernel = try engine.compile(op)
            return { seed in
                var inputs = FuzzInputs(seed: seed)
                let rows = Int(inputs.next() % 4) + 1
                let x = inputs.floats(rows * op.columns)
                guard let got = try? kernel.run(x) else { return .error("run refused the case") }
                let expected = x.enumerated().map { op.apply($1, column: $0 % op.columns) }
                return Self.compare(got.withUnsafeBytes { Array($0) }, expected.withUnsafeBytes { Array($0) }, floats: true)
            }
        }
    }
}

/// A MatMulNBits fuzz case's weights and row count, drawn from its seed (random bytes, or all 0 / all
/// 0xFF; scales of mixed magnitudes and signs).
struct NBitsFuzzWeights {
    let rows: Int
    let b: [UInt8]
    let scales: [Float]
    let zeroPoints: [UInt8]?
    let bias: [Float]?

    init(_ op: NBitsLinear, _ inputs: inout FuzzInputs) {
        rows = Int(inputs.next() % UInt64(NBitsLinear.fuzzRows)) + 1
        b = inputs.bytes(op.quantizedWeightBytes)
        scales = inputs.floats(op.scaleCount, magnitude: 0.05)
        zeroPoints = op.zeroPoints == .perBlock ? inputs.bytes(op.zeroPointBytes) : nil
        bias = op.hasBias ? inputs.floats(op.outputs) : nil
    }
}

/// A LayerNorm fuzz case's inputs from its seed: 1...4 rows, γ around 1, β around 0.
struct LayerNormFuzzInputs {
    let rows: Int
    let x: [Float]
    let residual: [Float]?
    let gamma: [Float]
    let beta: [Float]

    init(_ op: LayerNormalization, _ inputs: inout FuzzInputs) {
        rows = Int(inputs.next() % 4) + 1
        x = inputs.floats(rows * op.columns)
        residual = op.hasResidual ? inputs.floats(rows * op.columns) : nil
        gamma = inputs.floats(op.columns, magnitude: 2)
        beta = inputs.floats(op.columns, magnitude: 1)
    }
}

/// A softmax fuzz case's inputs from its seed: 1...4 rows of 1...300 values, 0...length valid.
struct SoftmaxFuzzInputs {
    let rows: Int, columns: Int, valid: Int
    let x: [Float]

    init(_ inputs: inout FuzzInputs) {
        rows = Int(inputs.next() % 4) + 1
        columns = Int(inputs.next() % 300) + 1
        valid = Int(inputs.next() % UInt64(columns + 1))
        x = inputs.floats(rows * columns, magnitude: 30)
    }
}

/// An attention fuzz case's inputs from its seed: 1...64 tokens, 1...length valid keys.
struct AttentionFuzzInputs {
    let length: Int, valid: Int
    let qkv: [Float]

    init(_ op: QuantizedAttention, _ inputs: inout FuzzInputs) { self.init(inputColumns: op.inputColumns, &inputs) }

    init(inputColumns: Int, _ inputs: inout FuzzInputs) {
        length = Int(inputs.next() % 64) + 1
        valid = Int(inputs.next() % UInt64(length)) + 1
        qkv = inputs.floats(length * inputColumns, magnitude: 3)
    }
}
