import QuantOps
import QuantSchedule
import Testing

/// Each instruction's documented semantics (`DotInstruction.reference`) agrees with the scalar
/// definition of a dot product in its operand domains, and the table is self-consistent.
struct InstructionTableTests {
    @Test(arguments: InstructionTable.all.map(\.kind))
    func referenceSemantics(_ kind: DotInstruction.Kind) {
        let instruction = InstructionTable.all.first { $0.kind == kind }!
        var random = SeededGenerator(seed: UInt64(kind.rawValue.utf8.count))
        for _ in 0..<200 {
            let m0 = instruction.rowsPerInstruction, n0 = instruction.columnsPerVector, kGroup = instruction.kGroup
            let kStep = instruction.kStep
            let a = random.bytes(m0 * kStep), b = random.bytes(n0 * kStep)
            let acc = (0..<instruction.lanes).map { _ in Int32.random(in: -100_000...100_000, using: &random) }
            let aSigned = Bool.random(using: &random), bSigned = Bool.random(using: &random)
            let result = instruction.reference(acc: acc, a: a, b: b, aSigned: aSigned, bSigned: bSigned)
            for lane in 0..<instruction.lanes {
                var sum = acc[lane]
                let row = lane / n0, column = lane % n0
                for t in 0..<kStep {
                    let aByte = a[row * kStep + t]
                    let x: Int32 = switch instruction.aDomain {
                    case .unsigned8: Int32(aByte)
                    case .signed8: Int32(Int8(bitPattern: aByte))
                    case .native: aSigned ? Int32(Int8(bitPattern: aByte)) : Int32(aByte)
                    }
                    // B in packed order: K group by K group, each group's N0 columns one after another.
                    let byte = b[t / kGroup * n0 * kGroup + column * kGroup + t % kGroup]
                    let y: Int32 = switch instruction.bDomain {
                    case .unsigned8: Int32(byte)
                    case .signed8: Int32(Int8(bitPattern: byte))
                    case .native: bSigned ? Int32(Int8(bitPattern: byte)) : Int32(byte)
                    }
                    sum &+= x * y
                }
                #expect(result[lane] == sum)
            }
        }
    }

    @Test func tableIsConsistent() throws {
        for instruction in InstructionTable.all {
            #expect(try InstructionTable.instruction(for: instruction.isa).kind == instruction.kind)
            #expect(instruction.lanes > 0 && instruction.kGroup > 0)
            #expect(instruction.rowsPerInstruction * instruction.columnsPerVector == instruction.lanes)
            #expect((instruction.intrinsic == nil) == (instruction.isa == .portable || instruction.usesTiles))
            #expect(instruction.outputLanes % instruction.columnsPerVector == 0)
        }
        // AMX: a 16×16 tile of C per instruction over 64 bytes of K; B's K padded to whole steps.
        let amx = try InstructionTable.instruction(for: .amx)
        #expect(amx.usesTiles && amx.kStep == 64 && amx.columnsPerVector == 16 && amx.vectorsPerOutput == 1)
        #expect(try InstructionTable.vectorInstruction(for: .amx).kind == .avx512Vpdpbusd)
        // Kernels that broadcast a row of A: sdot on i8mm CPUs, else the vector instruction.
        for isa in ISA.allCases {
            let expected = isa == .i8mm ? InstructionTable.neonSdot : try InstructionTable.vectorInstruction(for: isa)
            #expect(try InstructionTable.broadcastInstruction(for: isa).kind == expected.kind, "\(isa)")
        }
        let tiled = try MatMulSchedule(isa: .amx, rowsPerTile: 32, vectorsPerRow: 2, kUnroll: 1).layout(k: 70, n: 33)
        #expect(tiled.kGroups == 32 && tiled.panelWidth == 32 && tiled.panelBytes == 128 * 32)
        #expect(AMXPalette.bytes.count == 64 && AMXPalette.bytes[0] == 1 && AMXPalette.bytes[16] == 64 && AMXPalette.bytes[48 + 7] == 16)
        // Tile blocks: 2×2 fills the 8 tile registers; row sums need 1×2 or 2×1.
        try MatMulSchedule(isa: .amx, rowsPerTile: 32, vectorsPerRow: 2, kUnroll: 1).validate()
        #expect(throws: QuantError.self) { try MatMulSchedule(isa: .amx, rowsPerTile: 32, vectorsPerRow: 2, kUnroll: 1).validate(rowSums: true) }
        try MatMulSchedule(isa: .amx, rowsPerTile: 16, vectorsPerRow: 2, kUnroll: 1).validate(rowSums: true)
        #expect(throws: QuantError.self) { try MatMulSchedule(isa: .amx, rowsPerTile: 24, vectorsPerRow: 1, kUnroll: 1).validate() }
        #expect(throws: QuantError.self) { try MatMulSchedule(isa: .amx, rowsPerTile: 64, vectorsPerRow: 1, kUnroll: 1).validate() }
        // The packed layout is derived from the table: one panel = lanes·vectors columns.
        let layout = try MatMulSchedule(isa: .avx512vnni, rowsPerTile: 4, vectorsPerRow: 2, kUnroll: 2).layout(k: 10, n: 33)
        #expect(layout.kGroup == 4 && layout.panelWidth == 32 && layout.panels == 2 && layout.kGroups == 3)
        #expect(layout.offset(k: 5, n: 33 - 32 + 32) == 1 * layout.panelBytes + (1 * 32 + 1) * 4 + 1)
        #expect(layout.totalBytes == layout.compensationOffset + 64 * 4)
    }
}
