import Foundation
import QuantCodegen
import QuantForge

/// One differential-fuzzing case: an operator, the ISA (and schedule) its kernel is built for, and
/// the seed its inputs are drawn from. Codable: a failing case is written out as a JSON spec file
/// and replayed with `qforge fuzz --replay FILE` (decoding re-validates every operator).
public struct FuzzCase: Codable, Sendable {
    public enum Operator: Codable, Sendable {
        /// A matmul run with `m` rows (f32 A: the dynamic linear).
        case matmul(MatMul, m: Int)
        case convolution(Conv2D)
        case quantize(QuantizeLinear)
        case dequantize(DequantizeLinear)
        case fakeQuantize(FakeQuantize)
        case dynamicQuantize(DynamicQuantizeLinear)
        case binary(QLinearBinary)
        case lookup(QuantizedLookup)
        case biasActivation(BiasActivation)
        /// MatMulNBits; the seed draws M (1...40).
        case nbitsLinear(NBitsLinear)
        /// LayerNorm; the seed draws the rows (1...4), γ, β and the residual.
        case layerNorm(LayerNormalization)
        /// Softmax; the seed draws the rows (1...4), the row length (1...300) and the valid columns.
        case softmax(Softmax)
        /// Int8 attention; the seed draws the sequence length (1...64) and the valid keys.
        case attention(QuantizedAttention)
        /// Fused f32 attention; the seed draws the sequence length (1...64) and the valid keys.
        case f32Attention(F32Attention)

        public var name: String {
            switch self {
            case let .matmul(op, _):
                if op.aType == .f32 { return "dynamic linear" }
                switch op.output {
                case .int32: return "matmul int32"
                case .requantized: return "matmul requantized"
                case .dequantized: return "matmul dequantized"
                case .chain: return "matmul chain"
                }
            case let .convolution(conv): return conv.isDepthwise ? "depthwise conv" : "conv"
            case .quantize: return "quantize"
            case .dequantize: return "dequantize"
            case .fakeQuantize: return "fake quantize"
            case .dynamicQuantize: return "dynamic quantize"
            case .binary: return "qlinear binary"
            case .lookup: return "lookup"
            case .biasActivation: return "bias activation"
            case .nbitsLinear: return "nbits linear"
            case .layerNorm: return "layer norm"
            case .softmax: return "softmax"
            case .attention: return "int8 attention"
            case .f32Attention: return "f32 attention"
            }
        }
    }

    public var op: Operator
    public var isa: ISA
    /// The GEMM schedule of matmuls and convolutions (nil: the default; depthwise: its own kernel).
    public var schedule: MatMulSchedule?
    public var inputSeed: UInt64

    public init(op: Operator, isa: ISA, schedule: MatMulSchedule?, inputSeed: UInt64) {
        self.op = op
        self.isa = isa
        self.schedule = schedule
        self.inputSeed = inputSeed
    }
}

extension FuzzCase {
    /// A case read from a replay file (outside input): decoded, which re-validates the operator,
    /// then checked by `validate`.
    public static func replay(from data: Data) throws(QuantError) -> FuzzCase {
        let decoded: FuzzCase
        do { decoded = try JSONDecoder().decode(FuzzCase.self, from: data) } catch let error as QuantError {
            throw error
        } catch {
            throw .invalidSpec(path: "$", reason: "not a fuzz case: \(error)")
        }
        try decoded.validate()
        return decoded
    }

    /// The most bytes a case's tensors may take together (a replay file is outside input).
    public static let byteLimit = 1 << 30

    /// Throws for a case no fuzzing run would draw: a schedule for another ISA than the case's (it
    /// would report one and run the other), an invalid schedule, or tensors over `byteLimit`.
    /// (Decoding already re-validated the operator itself.)
    public func validate() throws(QuantError) {
        if let schedule {
            guard schedule.isa == isa else {
                throw .invalidSpec(path: "schedule", reason: "schedule is for \(schedule.isa) but the case is for \(isa)")
            }
            try schedule.validate()
        }
        let bytes: Int?
        switch op {
        case let .matmul(matmul, m):
            guard (1...MatMul.maxDimension).contains(m) else {
                throw .invalidShape(field: "m", reason: "\(m) is outside 1...\(MatMul.maxDimension)")
            }
            let a = CheckedArithmetic.product([m, matmul.k, 4]), b = CheckedArithmetic.product([matmul.k, matmul.n])
            let c = CheckedArithmetic.product([m, matmul.n, 4])
            bytes = a.flatMap { a in b.flatMap { b in c.flatMap { CheckedArithmetic.sum([a, b, $0]) } } }
        case let .convolution(conv):
            bytes = CheckedArithmetic.sum([conv.inputElements, conv.weightElements, conv.outputElements * 4])
        case let .quantize(q): bytes = CheckedArithmetic.product([q.quantization.count, 8])
        case let .dequantize(d): bytes = CheckedArithmetic.product([d.quantization.count, 8])
        case let .fakeQuantize(f): bytes = CheckedArithmetic.product([f.quantization.count, 8])
        case let .dynamicQuantize(d): bytes = CheckedArithmetic.product([d.rows, d.columns, 8])
        case let .binary(b): bytes = CheckedArithmetic.product([b.count, 3])
        case let .lookup(l): bytes = CheckedArithmetic.product([l.count, 2])
        case let .biasActivation(b): bytes = CheckedArithmetic.product([b.columns, 4 * 8])
        case let .nbitsLinear(op):
            bytes = CheckedArithmetic.sum([op.modelBytes, CheckedArithmetic.product([NBitsLinear.fuzzRows, op.inputs + op.outputs, 4]) ?? Int.max])
        case let .layerNorm(op): bytes = CheckedArithmetic.product([op.columns, 4 * 4 * 4])
        case .softmax: bytes = 4 * 300 * 4 * 2
        case let .attention(op): bytes = CheckedArithmetic.product([64, op.inputColumns + op.outputColumns + 64 * op.heads, 4])
        case let .f32Attention(op):
            bytes = CheckedArithmetic.product([64, op.inputColumns + op.outputColumns + op.heads * (op.headSize + F32Attention.queriesPerBlock), 4])
        }
        guard let bytes, bytes <= Self.byteLimit else {
            throw .invalidShape(field: "case", reason: "its tensors would take more than \(Self.byteLimit) bytes")
        }
    }
}

extension NBitsLinear {
    /// The most rows a fuzz case runs.
    static let fuzzRows = 40
}

/// What checking a case found.
public enum FuzzOutcome: Sendable, Equatable {
    case match
    /// The kernel's output differs from the reference interpreter's (first differing byte).
    case mismatch(firstByte: Int, of: Int)
    /// Compiling or running refused the case with a typed error.
    case error(String)
}

/// Random inputs for a case, from its seed: mostly uniform bytes or floats, sometimes extremes
/// (all-minimum, all-maximum, zero-point-only) to hit saturation and large sums.
struct FuzzInputs {
    var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    mutating func bytes(_ count: Int, type: ElementType = .u8) -> [UInt8] {
        switch generator.next() % 8 {
        case 0: return Array(repeating: type == .s8 ? 0x80 : 0, count: count)     // minimum
        case 1: return Array(repeating: type == .s8 ? 0x7F : 0xFF, count: count)  // maximum
        default: return generator.bytes(count)
        }
    }

    mutating func floats(_ count: Int, magnitude: Float = 8) -> [Float] {
        let mode = generator.next() % 8
        return (0..<count).map { _ in
            let unit = Float(generator.next() >> 40) / Float(1 << 24) * 2 - 1
            switch mode {
            case 0: return 0
            case 1: return unit * magnitude * 1000          // large values: saturation
            case 2: return (unit * 20).rounded() + 0.5      // rounding ties
            default: return unit * magnitude
            }
        }
    }

    mutating func next() -> UInt64 { generator.next() }
}
