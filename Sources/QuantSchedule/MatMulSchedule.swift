import QuantOps

/// How a matmul is computed on one ISA: the microkernel's register tile and its K loop.
/// (Cache tiles, loop order, prefetch and threads join it as the scheduler grows.)
public struct MatMulSchedule: Sendable, Hashable, Codable, CustomStringConvertible {
    public var isa: ISA
    /// Rows of A per microkernel call (MR).
    public var rowsPerTile: Int
    /// Accumulator vectors per row (NR = vectorsPerRow · lanes).
    public var vectorsPerRow: Int
    /// K groups per iteration of the microkernel's K loop.
    public var kUnroll: Int

    public init(isa: ISA, rowsPerTile: Int, vectorsPerRow: Int, kUnroll: Int) {
        self.isa = isa
        self.rowsPerTile = rowsPerTile
        self.vectorsPerRow = vectorsPerRow
        self.kUnroll = kUnroll
    }

    public var description: String { "\(isa) mr\(rowsPerTile) nv\(vectorsPerRow) ku\(kUnroll)" }

    /// The instruction this schedule's microkernel is built around.
    public func instruction() throws(QuantError) -> DotInstruction { try InstructionTable.instruction(for: isa) }

    /// Columns per panel (NR).
    public func panelWidth() throws(QuantError) -> Int { try instruction().lanes * vectorsPerRow }

    /// The packed-weight layout this schedule reads.
    public func layout(k: Int, n: Int) throws(QuantError) -> PackedLayout {
        let instruction = try instruction()
        return PackedLayout(k: k, n: n, kGroup: instruction.kGroup, panelWidth: instruction.lanes * vectorsPerRow)
    }

    /// Vector registers the microkernel keeps live: accumulators, B vectors, the A broadcast,
    /// and one row-sum accumulator per row when B has a non-zero (effective) zero point.
    public func registerPressure(rowSums: Bool) -> Int {
        rowsPerTile * vectorsPerRow + vectorsPerRow + 1 + (rowSums ? rowsPerTile : 0)
    }

    /// Throws `QuantError.invalidSchedule` naming the first violated constraint.
    public func validate(rowSums: Bool = false) throws(QuantError) {
        let instruction = try instruction()
        if !(1...16).contains(rowsPerTile) { throw .invalidSchedule(constraint: "rowsPerTile (MR) = \(rowsPerTile) must be in 1...16") }
        if !(1...8).contains(vectorsPerRow) { throw .invalidSchedule(constraint: "vectorsPerRow = \(vectorsPerRow) must be in 1...8") }
        if !(1...16).contains(kUnroll) { throw .invalidSchedule(constraint: "kUnroll = \(kUnroll) must be in 1...16") }
        let pressure = registerPressure(rowSums: rowSums)
        // Allow a little spilling for the portable path (its register count is a guess), none elsewhere.
        let budget = instruction.vectorRegisters + (isa == .portable ? 8 : 0)
        if pressure > budget {
            throw .invalidSchedule(constraint: "register tile needs \(pressure) vector registers (MR·NV + NV + 1\(rowSums ? " + MR row sums" : "")), \(isa) has \(instruction.vectorRegisters)")
        }
    }
}
