import Foundation
import QuantForge
import Testing

/// NEON dot-product kernels, cross-compiled for AArch64 and run under qemu-aarch64, bit-exact
/// against the reference; and a target CPU without dotprod is refused before code is emitted.
struct AArch64KernelTests {
    static let dotprod = CodegenTarget(triple: "aarch64-unknown-linux-gnu", cpu: "generic", features: "+neon,+dotprod")
    static let i8mm = CodegenTarget(triple: "aarch64-unknown-linux-gnu", cpu: "generic", features: "+neon,+dotprod,+i8mm")

    @Test(arguments: [ISA.neondot, .i8mm])
    func kernelsAreBitExactUnderQemu(_ isa: ISA) throws {
        let target = isa == .i8mm ? Self.i8mm : Self.dotprod
        let runner = try CrossRunner()
        defer { runner.cleanUp() }
        var random = TestRandom(seed: 64)
        var cases = 0
        for mode in OutputKind.allCases {
            for (aType, bType) in [(ElementType.u8, ElementType.s8), (.s8, .s8), (.u8, .u8), (.s8, .u8)] {
                let (m, k, n) = [(7, 13, 37), (1, 64, 16), (9, 259, 70)][cases % 3]
                let op = try randomMatMul(&random, m: nil, k: k, n: n, mode: mode, perChannel: cases % 2 == 0,
                                          aType: aType, bType: bType, zeroBZeroPoint: cases % 3 == 1)
                let schedule = try DefaultSchedule.forMatMul(op, isa: isa)
                let library = try AOTCompiler.compileMatMul(op, schedule: schedule, target: target, symbol: "qf_kernel")
                let program = try runner.link(library, name: "case\(cases)")
                let a = random.bytes(m * k), b = random.bytes(k * n)
                let weights = try b.withUnsafeBytes { try library.kernels[0].packWeights($0) }
                let output = try runner.execute(program, kernel: library.kernels[0], a: a, weights: weights, m: m).get()
                #expect(output == ReferenceMatMul.run(op, a: a, b: b, m: m), "\(mode) A \(aType) B \(bType) \(m)x\(k)x\(n) \(schedule)")
                cases += 1
            }
        }
        #expect(cases == 12)
    }

    /// Every schedule of a small space (odd MR included: `smmla` then pads a zero row) under qemu.
    @Test(arguments: [ISA.neondot, .i8mm])
    func aSmallScheduleSpaceIsExactUnderQemu(_ isa: ISA) throws {
        let runner = try CrossRunner()
        defer { runner.cleanUp() }
        var random = TestRandom(seed: 77)
        let (m, k, n) = (7, 21, 19)
        let op = try randomMatMul(&random, m: nil, k: k, n: n, mode: .requantized, perChannel: true, aType: .u8, bType: .s8)
        let a = random.bytes(m * k), b = random.bytes(k * n)
        let expected = ReferenceMatMul.run(op, a: a, b: b, m: m)
        let space = ScheduleSpace(rowsPerTile: [1, 2, 3], vectorsPerRow: [2, 4], kUnrolls: [1, 2], rowBlockTiles: [1],
                                  panelBlocks: [1], loopOrders: [.panelsOuter, .rowsOuter])
        let schedules = try space.schedules(for: op, isa: isa)
        #expect(schedules.count == 3 * 2 * 2 * 2)
        for (index, schedule) in schedules.enumerated() {
            let library = try AOTCompiler.compileMatMul(op, schedule: schedule, target: isa == .i8mm ? Self.i8mm : Self.dotprod,
                                                       symbol: "qf_kernel")
            let program = try runner.link(library, name: "sweep\(index)")
            let weights = try b.withUnsafeBytes { try library.kernels[0].packWeights($0) }
            #expect(try runner.execute(program, kernel: library.kernels[0], a: a, weights: weights, m: m).get() == expected, "\(schedule)")
        }
    }

    /// i8mm code traps on a CPU that has dotprod but not i8mm (Cortex-A76), and is refused for it.
    @Test func i8mmCodeTrapsWithoutI8mm() throws {
        let runner = try CrossRunner()
        defer { runner.cleanUp() }
        let op = try MatMul(m: 4, k: 32, n: 16)
        let schedule = try DefaultSchedule.forMatMul(op, isa: .i8mm)
        #expect(throws: QuantError.self) {
            _ = try AOTCompiler.compileMatMul(op, schedule: schedule, target: Self.dotprod, symbol: "qf_kernel")
        }
        let library = try AOTCompiler.compileMatMul(op, schedule: schedule, target: Self.i8mm, symbol: "qf_kernel")
        let program = try runner.link(library, name: "i8mm")
        let weights = try [UInt8](repeating: 2, count: 32 * 16).withUnsafeBytes { try library.kernels[0].packWeights($0) }
        let a = [UInt8](repeating: 3, count: 4 * 32)
        switch try runner.execute(program, kernel: library.kernels[0], a: a, weights: weights, m: 4, cpu: "cortex-a76") {
        case .success: Issue.record("i8mm code ran on cortex-a76")
        case let .failure(failure): #expect(failure.status == -SIGILL, "expected SIGILL, got \(failure.status)")
        }
    }

    @Test func aCPUWithoutDotprodIsRefusedBeforeCodegen() throws {
        let op = try MatMul(m: 4, k: 32, n: 16)
        let schedule = try DefaultSchedule.forMatMul(op, isa: .neondot)
        let cortexA53 = CodegenTarget(triple: "aarch64-unknown-linux-gnu", cpu: "cortex-a53", features: "+neon")
        #expect(throws: QuantError.unsupportedISA(requested: "neondot", reason: "target \(cortexA53) lacks +dotprod")) {
            _ = try AOTCompiler.compileMatMul(op, schedule: schedule, target: cortexA53, symbol: "qf_kernel")
        }
        // An x86 instruction set is never emitted for AArch64.
        #expect(throws: QuantError.self) {
            _ = try AOTCompiler.compileMatMul(op, schedule: try DefaultSchedule.forMatMul(op, isa: .avx2), target: Self.dotprod,
                                              symbol: "qf_kernel")
        }
    }

    /// Why the check matters: the dotprod kernel dies with SIGILL on a CPU without dotprod.
    @Test func dotprodCodeTrapsOnCortexA53() throws {
        let runner = try CrossRunner()
        defer { runner.cleanUp() }
        let op = try MatMul(m: 4, k: 32, n: 16)
        let library = try AOTCompiler.compileMatMul(op, schedule: try DefaultSchedule.forMatMul(op, isa: .neondot),
                                                   target: Self.dotprod, symbol: "qf_kernel")
        let program = try runner.link(library, name: "sigill")
        let weights = try [UInt8](repeating: 1, count: 32 * 16).withUnsafeBytes { try library.kernels[0].packWeights($0) }
        let a = [UInt8](repeating: 1, count: 4 * 32)
        #expect(try runner.execute(program, kernel: library.kernels[0], a: a, weights: weights, m: 4).get()
            == ReferenceMatMul.run(op, a: a, b: [UInt8](repeating: 1, count: 32 * 16), m: 4))
        switch try runner.execute(program, kernel: library.kernels[0], a: a, weights: weights, m: 4, cpu: "cortex-a53") {
        case .success: Issue.record("dotprod code ran on cortex-a53")
        case let .failure(failure): #expect(failure.status == -SIGILL, "expected SIGILL, got status \(failure.status): \(failure.stderr)")
        }
    }

    @Test func portableKernelRunsOnAArch64Too() throws {
        let runner = try CrossRunner()
        defer { runner.cleanUp() }
        var random = TestRandom(seed: 5)
        let op = try randomMatMul(&random, m: nil, k: 45, n: 29, mode: .requantized, perChannel: true, aType: .s8, bType: .u8)
        let target = CodegenTarget(triple: "aarch64-unknown-linux-gnu", cpu: "generic", features: "+neon")
        let library = try AOTCompiler.compileMatMul(op, schedule: try DefaultSchedule.forMatMul(op, isa: .portable), target: target,
                                                   symbol: "qf_kernel")
        let program = try runner.link(library, name: "portable")
        let a = random.bytes(11 * 45), b = random.bytes(45 * 29)
        let weights = try b.withUnsafeBytes { try library.kernels[0].packWeights($0) }
        #expect(try runner.execute(program, kernel: library.kernels[0], a: a, weights: weights, m: 11, cpu: "cortex-a53").get()
            == ReferenceMatMul.run(op, a: a, b: b, m: 11))
    }
}
