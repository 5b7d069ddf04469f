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
            let a = random.bytes(m0 * kGroup), b = random.bytes(n0 * kGroup)
            let acc = (0..<instruction.lanes).map { _ in Int32.random(in: -100_000...100_000, using: &random) }
            let aSigned = Bool.random(using: &random), bSigned = Bool.random(using: &random)
            let result = instruction.reference(acc: acc, a: a, b: b, aSigned: aSigned, bSigned: bSigned)
            for lane in 0..<instruction.lanes {
                var sum = acc[lane]
                let row = lane / n0, column = lane % n0
                for t in 0..<kGroup {
                    let aByte = a[row * kGroup + t]
                    let x: Int32 = switch instruction.aDomain {
                    case .unsigned8: Int32(aByte)
                    case .signed8: Int32(Int8(bitPattern: aByte))
                    case .native: aSigned ? Int32(Int8(bitPattern: aByte)) : Int32(aByte)
                    }
                    let byte = b[column * kGroup + t]
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
            #expect((instruction.intrinsic == nil) == (instruction.isa == .portable))
        }
        // The packed layout is derived from the table: one panel = lanes·vectors columns.
        let layout = try MatMulSchedule(isa: .avx512vnni, rowsPerTile: 4, vectorsPerRow: 2, kUnroll: 2).layout(k: 10, n: 33)
        #expect(layout.kGroup == 4 && layout.panelWidth == 32 && layout.panels == 2 && layout.kGroups == 3)
        #expect(layout.offset(k: 5, n: 33 - 32 + 32) == 1 * layout.panelBytes + (1 * 32 + 1) * 4 + 1)
        #expect(layout.totalBytes == layout.compensationOffset + 64 * 4)
    }
}
