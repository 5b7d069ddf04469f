import QuantOps
import QuantSchedule

/// Where an `NBitsLinear`'s packed weights are, for one instruction set, and the per-row buffer its
/// int8 mode quantizes A into. Read by the generated packer (`NBitsPackEmitter`), the kernels
/// (`NBitsLinearEmitter`, `NBitsQuantizeAEmitter`) and their callers — one description of the format.
///
/// Columns are grouped in panels of `panelWidth` = `vectors` × `lanes` (one i32 lane per column).
/// A panel is its K blocks in order, each *block* = the block's weights then its `panelWidth` f32
/// scales (the scales interleaved with the weights they scale, so a GEMV streams one sequence),
/// then — with per-block zero points — the panel's zero points. The bias (when the op has one)
/// follows the last panel. Inside a block the weights are in the dot-product instructions' operand
/// order, 4 consecutive k of a column per i32 lane:
/// - 8 bits: for each group of 4 k, for each vector, `lanes` × 4 bytes;
/// - 4 bits: for each group of 8 k, for each vector, `lanes` × 4 bytes whose low nibbles hold the
///   first 4 k and high nibbles the next 4, so unpacking is one mask and one shift + mask.
/// Zero points per block and vector: 4 bits: `lanes / 2` bytes, byte i = column i (low nibble) and
/// column i + lanes/2 (high); 8 bits: `lanes` bytes. Columns past N and k past K are zeros.
/// For instructions that read both operands signed (NEON `sdot`), 8-bit weights and zero points
/// are stored minus 128 (as s8): `q - zp` is unchanged.
public struct NBitsLayout: Sendable, Hashable {
    public let op: NBitsLinear
    /// i32 lanes (columns) per vector.
    public let lanes: Int
    /// Vectors per panel.
    public let vectors: Int
    /// Rows of one register tile of the kernels.
    public let tileRows: Int
    /// 8-bit weights stored as `q - 128` (s8).
    public let storesSignedBytes: Bool

    public var panelWidth: Int { lanes * vectors }
    public var panels: Int { (op.outputs + panelWidth - 1) / panelWidth }
    /// Panels whose every column is an output.
    public var fullPanels: Int { op.outputs / panelWidth }
    public var weightBytesPerBlock: Int { op.blockSize * panelWidth * op.bits / 8 }
    /// One block of a panel: weights, then `panelWidth` scales.
    public var blockStride: Int { weightBytesPerBlock + 4 * panelWidth }
    public var zeroPointBytesPerVector: Int { op.bits == 4 ? lanes / 2 : lanes }
    /// The panel's zero points (rounded up to 64 bytes), after its blocks.
    public var zeroPointRegionBytes: Int {
        op.zeroPoints == .perBlock ? Self.roundUp(op.blocksPerColumn * vectors * zeroPointBytesPerVector, 64) : 0
    }
    public var panelStride: Int { op.blocksPerColumn * blockStride + zeroPointRegionBytes }
    public var biasOffset: Int { panels * panelStride }
    public var byteCount: Int { biasOffset + (op.hasBias ? 4 * panels * panelWidth : 0) }
    /// k per i32 lane of a packed weight vector (a *step* of the kernels' K loop).
    public var kPerStep: Int { op.bits == 4 ? 8 : 4 }

    // The int8 mode's quantized A, one row after another: the row's blocks of int8 (padded), then
    // one f32 scale per block, then one i32 Σq per block.
    public var quantizedRowScalesOffset: Int { op.blocksPerColumn * op.blockSize }
    public var quantizedRowSumsOffset: Int { quantizedRowScalesOffset + 4 * op.blocksPerColumn }
    public var quantizedRowStride: Int { Self.roundUp(quantizedRowSumsOffset + 4 * op.blocksPerColumn, 64) }

    static func roundUp(_ value: Int, _ multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }

    public init(_ op: NBitsLinear, isa: ISA) throws(QuantError) {
        let instruction = try Self.instruction(for: isa)
        self.op = op
        // The instruction's i32 lanes, at most 8 where 16 registers must hold the tile (the
        // portable path's 16 lanes would be four SSE2 registers per vector).
        lanes = instruction.vectorRegisters >= 32 ? instruction.lanes : min(instruction.lanes, 8)
        vectors = 2
        // Accumulators: rows × vectors int32 and as many f32, plus two unpacked weight vectors per
        // vector and the A broadcasts: 4 rows fit 32 registers, 2 rows fit 16. (Measured on Zen 5,
        // 128×4096×4096 4-bit: 4 rows 68% of the VNNI peak, 5 rows 67%, 6 rows 63% — spills.)
        tileRows = instruction.vectorRegisters >= 32 ? 4 : 2
        storesSignedBytes = op.bits == 8 && instruction.bDomain == .signed8 && instruction.aDomain == .signed8
    }

    /// The dot-product entry an `NBitsLinear` kernel for `isa` is built on: the table's broadcast
    /// instruction (AMX CPUs: AVX-512 VNNI, the weights' per-block float epilogue has no tile form;
    /// i8mm CPUs: `sdot`, one row of A per step).
    public static func instruction(for isa: ISA) throws(QuantError) -> DotInstruction {
        try InstructionTable.broadcastInstruction(for: isa)
    }

    // The packing kernel's side input (`NBitsPackEmitter`): the scales [N·blocks] as f32, the bias
    // [N] (when the op has one), the zero-point bytes (with per-block zero points).
    public var sideScalesOffset: Int { 0 }
    public var sideBiasOffset: Int { 4 * op.scaleCount }
    public var sideZeroPointsOffset: Int { sideBiasOffset + (op.hasBias ? 4 * op.outputs : 0) }
    public var sideBytes: Int { sideZeroPointsOffset + op.zeroPointBytes }

    /// The packing kernel's side input from MatMulNBits' scales, bias and zero points (the caller
    /// checked their sizes).
    public func side(scales: [Float], bias: [Float]?, zeroPoints: [UInt8]?) -> [UInt8] {
        var side = [UInt8](repeating: 0, count: max(sideBytes, 1))
        side.withUnsafeMutableBytes { out in
            for (i, s) in scales.enumerated() { out.storeBytes(of: s, toByteOffset: sideScalesOffset + 4 * i, as: Float.self) }
            for (i, v) in (bias ?? []).enumerated() { out.storeBytes(of: v, toByteOffset: sideBiasOffset + 4 * i, as: Float.self) }
            for (i, z) in (zeroPoints ?? []).enumerated() { out[sideZeroPointsOffset + i] = z }
        }
        return side
    }
}
