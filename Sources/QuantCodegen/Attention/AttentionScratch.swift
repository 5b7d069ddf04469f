import QuantOps
import QuantSchedule

/// Where `QuantizedAttention`'s kernels keep one call's quantized Q, K, V (per head, one region of
/// `headBytes`), computed once per call from the sequence length and handed to both kernels as a
/// table of int64 fields (`header`), so the layout lives only here. Per head:
/// - `quantizedQ`: L rows of d s8 codes; `scalesQ`: L f32;
/// - `packedK`: Kᵀ in the instruction's B layout — d/kG groups × `keyColumns` columns × kG bytes
///   (columns past L zero); `scalesK`, `sumsK` (Σ_k qK[j,k], for A operands that flip sign):
///   `keyColumns` f32 / i32;
/// - `quantizedV`: `keyDepth` rows of d s8 codes (rows past L zero), interleaved into
/// - `packedV`: V in the B layout — `keyDepth`/kG groups of tokens × `valueColumns` columns × kG
///   bytes (tokens past L and columns past d zero); `scalesV`: `keyColumns` f32 (past L zero);
///   `sumsV`: `valueColumns` i32;
/// - `codesP`: one row of P's u8 codes (`keyColumns` bytes, past L zero).
/// The scores (then P) are a separate f32 buffer of heads × L rows × `keyColumns`.
public struct AttentionScratch: Sendable {
    public enum Field: Int, CaseIterable {
        case length, keyColumns, keyDepth, quantizedQ, scalesQ, packedK, scalesK, sumsK, quantizedV, packedV, scalesV, sumsV, codesP, headBytes
    }
    /// The fields, in `Field` order (the kernels read them from `header`).
    public let header: [Int64]
    public let heads: Int

    /// The instruction whose B layout the packed operands use: the table's broadcast instruction
    /// (`sdot` on i8mm CPUs, AVX-512 VNNI on AMX CPUs).
    public static func instruction(for isa: ISA) throws(QuantError) -> DotInstruction {
        try InstructionTable.broadcastInstruction(for: isa)
    }

    public init(_ op: QuantizedAttention, instruction: DotInstruction, length: Int) {
        func roundUp(_ x: Int, _ m: Int) -> Int { (x + m - 1) / m * m }
        let d = op.headSize, columns = instruction.columnsPerVector, group = instruction.kGroup
        let keyColumns = roundUp(length, columns), keyDepth = roundUp(length, group), valueColumns = roundUp(d, columns)
        var offset = 0
        func region(_ bytes: Int) -> Int {
            defer { offset += roundUp(bytes, 64) }
            return offset
        }
        var fields = [Int64](repeating: 0, count: Field.allCases.count)
        fields[Field.length.rawValue] = Int64(length)
        fields[Field.keyColumns.rawValue] = Int64(keyColumns)
        fields[Field.keyDepth.rawValue] = Int64(keyDepth)
        fields[Field.quantizedQ.rawValue] = Int64(region(length * d))
        fields[Field.scalesQ.rawValue] = Int64(region(4 * length))
        fields[Field.packedK.rawValue] = Int64(region(d * keyColumns))
        fields[Field.scalesK.rawValue] = Int64(region(4 * keyColumns))
        fields[Field.sumsK.rawValue] = Int64(region(4 * keyColumns))
        fields[Field.quantizedV.rawValue] = Int64(region(keyDepth * d))
        fields[Field.packedV.rawValue] = Int64(region(keyDepth * valueColumns))
        fields[Field.scalesV.rawValue] = Int64(region(4 * keyColumns))
        fields[Field.sumsV.rawValue] = Int64(region(4 * valueColumns))
        fields[Field.codesP.rawValue] = Int64(region(keyColumns))
        fields[Field.headBytes.rawValue] = Int64(offset)
        header = fields
        heads = op.heads
    }

    public subscript(_ field: Field) -> Int { Int(header[field.rawValue]) }
    /// Bytes of the whole scratch (every head's region).
    public var bytes: Int { heads * self[.headBytes] }
    /// f32 values of the scores buffer: heads × L rows × `keyColumns`.
    public var scoreCount: Int { heads * self[.length] * self[.keyColumns] }
}
