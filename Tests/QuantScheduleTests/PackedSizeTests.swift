import QuantOps
import QuantSchedule
import Testing

/// Packed weights cost no more than the int8 bytes rounded up to the tile (K to the K step, N to
/// the panel) plus 4 bytes of compensation per (padded) column, and 64-byte alignment.
struct PackedSizeTests {
    @Test func packedWeightsStayWithinTheirBudget() throws {
        // Every ISA with an instruction: packing needs no CPU that runs it.
        for isa in ISA.allCases where (try? InstructionTable.instruction(for: isa)) != nil {
            for (k, n) in [(1, 1), (13, 37), (768, 768), (4096, 1000), (3, 129)] {
                let op = try MatMul(m: nil, k: k, n: n)
                let schedule = try DefaultSchedule.forMatMul(op, isa: isa)
                let layout = try schedule.layout(k: k, n: n)
                let roundedK = (k + layout.kStep - 1) / layout.kStep * layout.kStep
                let budget = roundedK * layout.paddedN + 4 * layout.paddedN + 63
                #expect(layout.totalBytes <= budget, "\(isa) \(k)x\(n): \(layout.totalBytes) > \(budget)")
                #expect(layout.paddedN - n < layout.panelWidth)
            }
        }
    }
}
