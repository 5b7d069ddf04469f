import QuantOps
import QuantSchedule

/// Where an `NBitsLinear`'s packed weights are, for one instruction set, and the per-row buffer its
/// int8 mode quantizes A into. Read by the packer (`pack`), the kernels (`NBitsLinearEmitter`,
/// `NBitsQuantizeAEmitter`) and their callers — one description of the format.
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
        lanes = instruction.lanes == 16 && instruction.kind == .portableWidening ? 8 : instruction.lanes
        vectors = 2
        // Accumulators: rows × vectors int32 and as many f32, plus two unpacked weight vectors per
        // vector and the A broadcasts: 4 rows fit 32 registers, 2 rows fit 16. (Measured on Zen 5,
        // 128×4096×4096 4-bit: 4 rows 68% of the VNNI peak, 5 rows 67%, 6 rows 63% — spills.)
        tileRows = instruction.vectorRegisters >= 32 ? 4 : 2
        storesSignedBytes = op.bits == 8 && instruction.bDomain == .signed8 && instruction.aDomain == .signed8
    }

    /// The dot-product entry an `NBitsLinear` kernel for `isa` is built on: the ISA's own, except
    /// i8mm, whose kernels use the dot-product extension's `sdot` (every i8mm CPU has it; a
    /// broadcast form suits one row of A per step).
    public static func instruction(for isa: ISA) throws(QuantError) -> DotInstruction {
        switch isa {
        case .amx: throw .unsupportedISA(requested: isa.rawValue, reason: "NBitsLinear has no AMX kernel; use avx512vnni")
        case .i8mm: return InstructionTable.neonSdot
        default: return try InstructionTable.instruction(for: isa)
        }
    }

    /// Packs MatMulNBits' inputs (see `NBitsLinear`; the caller checked their sizes) into this layout.
    public func pack(b: UnsafeBufferPointer<UInt8>, scales: UnsafeBufferPointer<Float>, zeroPoints: UnsafeBufferPointer<UInt8>?,
                     bias: UnsafeBufferPointer<Float>?, into packed: UnsafeMutableRawBufferPointer) {
        precondition(packed.count >= byteCount)
        packed.initializeMemory(as: UInt8.self, repeating: 0)
        let blocks = op.blocksPerColumn, size = op.blockSize, offset = storesSignedBytes ? 128 : 0
        let bytes = packed.bindMemory(to: UInt8.self)
        let laneBytes = 4 * lanes
        for n in 0..<op.outputs {
            let panel = n / panelWidth, column = n % panelWidth, vector = column / lanes, lane = column % lanes
            let panelBase = panel * panelStride
            for block in 0..<blocks {
                let blockBase = panelBase + block * blockStride
                for i in 0..<min(size, op.inputs - block * size) {
                    let q = op.quantizedWeight(b, n: n, k: block * size + i)
                    let step = i / kPerStep, within = i % kPerStep
                    let byte = blockBase + (step * vectors + vector) * laneBytes + lane * 4 + within % 4
                    if op.bits == 8 {
                        bytes[byte] = UInt8(truncatingIfNeeded: q - offset)
                    } else {
                        bytes[byte] |= UInt8(q) << (within < 4 ? 0 : 4)
                    }
                }
                packed.storeBytes(of: scales[n * blocks + block], toByteOffset: blockBase + weightBytesPerBlock + 4 * column, as: Float.self)
                if let zeroPoints {
                    let zp = op.zeroPoint(zeroPoints, n: n, block: block)
                    let base = panelBase + blocks * blockStride + (block * vectors + vector) * zeroPointBytesPerVector
                    if op.bits == 8 {
                        bytes[base + lane] = UInt8(truncatingIfNeeded: zp - offset)
                    } else {
                        bytes[base + lane % (lanes / 2)] |= UInt8(zp) << (lane < lanes / 2 ? 0 : 4)
                    }
                }
            }
            if let bias { packed.storeBytes(of: bias[n], toByteOffset: biasOffset + 4 * n, as: Float.self) }
        }
    }
}
