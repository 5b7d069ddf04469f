import QuantOps

/// How a matmul's operands are shifted into an instruction's operand domains, and the zero points
/// that result. With a' = A shifted and b' = B shifted:
/// `Σ_k (a - a_zp)(b - b_zp) = Σ_k (a' - a_zp')(b' - b_zp')`
/// `                        = Σ a'b' - a_zp'·colsum(b') - b_zp'·rowsum(a') + K·a_zp'·b_zp'`.
/// The packer folds the column terms (and any int32 bias) into the compensation vector; the kernel
/// adds `-b_zp'[n]·rowsum(a')` only when some `b_zp'` is non-zero. (Here, in the scheduler's
/// module, because whether the kernel sums rows decides the register budget of a schedule.)
public struct OperandAdjustment: Sendable, Hashable {
    /// The kernel flips the top bit of every A byte: s8 → u8 (+128) for an unsigned-A instruction,
    /// u8 → s8 (−128) for a signed-A one.
    public let flipsASignBit: Bool
    /// What the packer adds to every B byte: −128 (u8 → s8), +128 (s8 → u8) or 0.
    public let bOffset: Int32
    /// a_zp in the instruction's domain.
    public let aZeroPoint: Int32
    /// b_zp per column in the instruction's domain (N entries).
    public let bZeroPoints: [Int32]
    /// How A and B bytes are widened when the domain is native (portable kernels).
    public let aSigned: Bool
    public let bSigned: Bool
    /// The int32 bias the packer folds into the compensation vector: a requantized output's (the
    /// other output modes add their bias in f32, in the epilogue). Nil when there is none.
    public let foldedBias: [Int32]?

    public init(op: MatMul, instruction: DotInstruction) {
        let aOffset: Int32 = switch (instruction.aDomain, op.quantizedAType) {
        case (.unsigned8, .s8): 128
        case (.signed8, .u8): -128
        default: 0
        }
        flipsASignBit = aOffset != 0
        aZeroPoint = op.aQuant.zeroPoints[0] + aOffset
        let bOffset: Int32 = switch (instruction.bDomain, op.bType) {
        case (.signed8, .u8): -128
        case (.unsigned8, .s8): 128
        default: 0
        }
        self.bOffset = bOffset
        bZeroPoints = (0..<op.n).map { op.bQuant.zeroPoint($0) + bOffset }
        aSigned = instruction.aDomain == .native ? op.quantizedAType == .s8 : instruction.aDomain == .signed8
        bSigned = instruction.bDomain == .native ? op.bType == .s8 : instruction.bDomain == .signed8
        foldedBias = if case let .requantized(r) = op.output { r.bias } else { nil }
    }

    /// True when the kernel must sum A's rows.
    public var needsRowSums: Bool { bZeroPoints.contains { $0 != 0 } }
    /// True when every column has the same b_zp'.
    public var uniformBZeroPoint: Bool { bZeroPoints.allSatisfy { $0 == bZeroPoints[0] } }
}
