import QuantOps

/// The order of the row and panel loops inside a cache block.
public enum LoopOrder: String, Sendable, Hashable, Codable, CaseIterable {
    /// One B panel stays in L1 while every row tile of the block passes over it.
    case panelsOuter
    /// One A row tile stays in L1 while it meets every panel of the block.
    case rowsOuter
}

/// How a matmul is computed on one ISA: the microkernel's register tile and K unroll, the cache
/// blocks (MC rows × NC panels) and the loop order inside a block.
public struct MatMulSchedule: Sendable, Hashable, Codable, CustomStringConvertible {
    public var isa: ISA
    /// Rows of A per microkernel call (MR).
    public var rowsPerTile: Int
    /// Accumulator vectors per row (NR = vectorsPerRow · lanes).
    public var vectorsPerRow: Int
    /// K groups per iteration of the microkernel's K loop.
    public var kUnroll: Int
    /// Rows per cache block (MC), a multiple of MR.
    public var rowBlock: Int
    /// Panels of B per cache block (NC / NR).
    public var panelBlock: Int
    public var loopOrder: LoopOrder

    public init(isa: ISA, rowsPerTile: Int, vectorsPerRow: Int, kUnroll: Int, rowBlock: Int? = nil,
                panelBlock: Int = 1 << 20, loopOrder: LoopOrder = .panelsOuter) {
        self.isa = isa
        self.rowsPerTile = rowsPerTile
        self.vectorsPerRow = vectorsPerRow
        self.kUnroll = kUnroll
        self.rowBlock = rowBlock ?? rowsPerTile * (1 << 16)
        self.panelBlock = panelBlock
        self.loopOrder = loopOrder
    }

    public var description: String {
        "\(isa) mr\(rowsPerTile) nv\(vectorsPerRow) ku\(kUnroll) mc\(rowBlock) nc\(panelBlock) \(loopOrder.rawValue)"
    }

    /// The largest number a parsed schedule word may hold.
    public static let parsedValueLimit = 1 << 30

    /// Parses the `description` form, e.g. `avx512vnni mr6 nv4 ku4 mc252 nc8 panelsOuter` (the
    /// blocks and the order may be left out). Throws `invalidSchedule` naming the bad word.
    public init(parsing text: String) throws(QuantError) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        guard let first = words.first else { throw .invalidSchedule(constraint: "empty schedule") }
        let isa = try ISA.parse(first)
        var values: [String: Int] = [:]
        var order = LoopOrder.panelsOuter
        for word in words.dropFirst() {
            if let parsed = LoopOrder(rawValue: word) { order = parsed; continue }
            guard let key = ["mr", "nv", "ku", "mc", "nc"].first(where: { word.hasPrefix($0) }),
                  let value = Int(word.dropFirst(2)) else {
                throw .invalidSchedule(constraint: "cannot read '\(word)' (expected mrN nvN kuN mcN ncN panelsOuter|rowsOuter)")
            }
            // Outside input: bounded before any arithmetic (validate() checks the real limits).
            guard (1...Self.parsedValueLimit).contains(value) else {
                throw .invalidSchedule(constraint: "'\(word)': \(key) must be in 1...\(Self.parsedValueLimit)")
            }
            values[key] = value
        }
        guard let mr = values["mr"], let nv = values["nv"] else {
            throw .invalidSchedule(constraint: "a schedule needs at least mrN and nvN")
        }
        self.init(isa: isa, rowsPerTile: mr, vectorsPerRow: nv, kUnroll: values["ku"] ?? 4, rowBlock: values["mc"],
                  panelBlock: values["nc"] ?? 1 << 20, loopOrder: order)
    }

    /// The largest buffer of rows a row block may produce on the kernel's stack (gathered
    /// convolution windows, or A quantized from f32).
    public static let producedABytesLimit = 128 << 10

    /// The largest row block (a multiple of `rowsPerTile`, at least one tile) whose produced rows
    /// of `k` bytes fit the limit.
    public static func producedRowBlock(_ rowBlock: Int, k: Int, rowsPerTile: Int) -> Int {
        max(rowsPerTile, min(rowBlock, producedABytesLimit / max(k, 1) / rowsPerTile * rowsPerTile))
    }

    /// The instruction this schedule's microkernel is built around.
    public func instruction() throws(QuantError) -> DotInstruction { try InstructionTable.instruction(for: isa) }

    /// Columns per panel (NR).
    public func panelWidth() throws(QuantError) -> Int { try instruction().columnsPerVector * vectorsPerRow }

    /// The packed-weight layout this schedule reads.
    public func layout(k: Int, n: Int) throws(QuantError) -> PackedLayout {
        let instruction = try instruction()
        return PackedLayout(k: k, n: n, kGroup: instruction.kGroup, panelWidth: instruction.columnsPerVector * vectorsPerRow,
                            kStep: instruction.kStep)
    }

    /// Vector registers the microkernel keeps live: accumulators (one set per group of M0 rows), B
    /// vectors, the A operand, and one row-sum accumulator per row group when B has a non-zero
    /// (effective) zero point.
    public func registerPressure(rowSums: Bool, rowsPerInstruction: Int = 1) -> Int {
        let groups = (rowsPerTile + rowsPerInstruction - 1) / rowsPerInstruction
        return groups * vectorsPerRow + vectorsPerRow + 1 + (rowSums ? groups : 0)
    }

    /// Tile registers an AMX microkernel keeps live: ⌈MR/16⌉·NV accumulator tiles, one A tile per
    /// row tile, NV B tiles, and with row sums one sum tile per row tile plus the tile of ones.
    public func tilePressure(rowSums: Bool, tileRows: Int) -> Int {
        let rowTiles = (rowsPerTile + tileRows - 1) / tileRows
        return rowTiles * vectorsPerRow + rowTiles + vectorsPerRow + (rowSums ? rowTiles + 1 : 0)
    }

    /// The largest tile height (MR) a schedule may ask for.
    public static func maxRowsPerTile(_ instruction: DotInstruction) -> Int {
        instruction.usesTiles ? 4 * instruction.rowsPerInstruction : 16
    }

    /// Throws `QuantError.invalidSchedule` naming the first violated constraint.
    public func validate(rowSums: Bool = false) throws(QuantError) {
        let instruction = try instruction()
        let maxRows = Self.maxRowsPerTile(instruction)
        if !(1...maxRows).contains(rowsPerTile) { throw .invalidSchedule(constraint: "rowsPerTile (MR) = \(rowsPerTile) must be in 1...\(maxRows)") }
        if instruction.usesTiles && rowsPerTile > instruction.rowsPerInstruction && rowsPerTile % instruction.rowsPerInstruction != 0 {
            throw .invalidSchedule(constraint: "rowsPerTile (MR) = \(rowsPerTile) must be at most \(instruction.rowsPerInstruction) or a multiple of it for \(instruction.mnemonic)")
        }
        if !(1...8).contains(vectorsPerRow) { throw .invalidSchedule(constraint: "vectorsPerRow = \(vectorsPerRow) must be in 1...8") }
        if !(1...16).contains(kUnroll) { throw .invalidSchedule(constraint: "kUnroll = \(kUnroll) must be in 1...16") }
        if rowBlock < rowsPerTile || rowBlock % rowsPerTile != 0 {
            throw .invalidSchedule(constraint: "rowBlock (MC) = \(rowBlock) must be a positive multiple of rowsPerTile (MR) = \(rowsPerTile)")
        }
        if panelBlock < 1 { throw .invalidSchedule(constraint: "panelBlock (NC in panels) = \(panelBlock) must be ≥ 1") }
        if vectorsPerRow % instruction.vectorsPerOutput != 0 {
            throw .invalidSchedule(constraint: "vectorsPerRow = \(vectorsPerRow) must be a multiple of \(instruction.vectorsPerOutput) for \(instruction.mnemonic)")
        }
        if instruction.usesTiles {
            let tiles = tilePressure(rowSums: rowSums, tileRows: instruction.rowsPerInstruction)
            if tiles > instruction.vectorRegisters {
                throw .invalidSchedule(constraint: "tile block needs \(tiles) tile registers (⌈MR/16⌉·NV + ⌈MR/16⌉ + NV\(rowSums ? " + row-sum tiles + ones" : "")), \(isa) has \(instruction.vectorRegisters)")
            }
            return
        }
        let pressure = registerPressure(rowSums: rowSums, rowsPerInstruction: instruction.rowsPerInstruction)
        // Allow a little spilling for the portable path (its register count is a guess), none elsewhere.
        let budget = instruction.vectorRegisters + (isa == .portable ? 8 : 0)
        if pressure > budget {
            throw .invalidSchedule(constraint: "register tile needs \(pressure) vector registers (⌈MR/M0⌉·NV + NV + 1\(rowSums ? " + row sums" : "")), \(isa) has \(instruction.vectorRegisters)")
        }
    }
}
