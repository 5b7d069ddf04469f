import QuantOps
import QuantSchedule

/// How a matmul's operands are shifted into an instruction's operand domains, and the zero points
/// that result. With a' = A shifted and b' = B shifted:
/// `Σ_k (a - a_zp)(b - b_zp) = Σ_k (a' - a_zp')(b' - b_zp')`
/// `                        = Σ a'b' - a_zp'·colsum(b') - b_zp'·rowsum(a') + K·a_zp'·b_zp'`.
/// The packer folds the column terms (and any int32 bias) into the compensation vector; the kernel
/// adds `-b_zp'[n]·rowsum(a')` only when some `b_zp'` is non-zero.
public struct OperandAdjustment: Sendable, Hashable {
    /// The kernel flips the top bit of every A byte (s8 → u8 by +128).
    public let flipsASignBit: Bool
    /// The packer subtracts 128 from every B byte (u8 → s8).
    public let shiftsB: Bool
    /// a_zp in the instruction's domain.
    public let aZeroPoint: Int32
    /// b_zp per column in the instruction's domain (N entries).
    public let bZeroPoints: [Int32]
    /// How A and B bytes are widened when the domain is native (portable kernels).
    public let aSigned: Bool
    public let bSigned: Bool

    public init(op: MatMul, instruction: DotInstruction) {
        flipsASignBit = instruction.aDomain == .unsigned8 && op.aType == .s8
        shiftsB = instruction.bDomain == .signed8 && op.bType == .u8
        aZeroPoint = op.aQuant.zeroPoints[0] + (flipsASignBit ? 128 : 0)
        let bShift: Int32 = shiftsB ? 128 : 0
        bZeroPoints = (0..<op.n).map { op.bQuant.zeroPoint($0) - bShift }
        aSigned = instruction.aDomain == .native ? op.aType == .s8 : instruction.aDomain == .signed8
        bSigned = instruction.bDomain == .native ? op.bType == .s8 : instruction.bDomain == .signed8
    }

    /// True when the kernel must sum A's rows.
    public var needsRowSums: Bool { bZeroPoints.contains { $0 != 0 } }
    /// True when every column has the same b_zp'.
    public var uniformBZeroPoint: Bool { bZeroPoints.allSatisfy { $0 == bZeroPoints[0] } }
}
