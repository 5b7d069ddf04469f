import Foundation
import QuantCodegen
import QuantForge

/// `qforge fuzz`: random cases from `FuzzGenerator` on every ISA given, each kernel compiled once
/// and run on several input seeds, compared byte for byte with the reference interpreter. Every
/// failure is minimized (`FuzzMinimizer`) before it is reported.
public final class DifferentialFuzzer: @unchecked Sendable {
    public struct Summary: Sendable {
        /// Kernel runs compared with the reference (one per input seed).
        public var cases = 0
        /// Kernels compiled.
        public var kernels = 0
        /// Of those, AArch64 kernels run under qemu.
        public var aarch64Kernels = 0
        /// Distinct (operator, ISA, microkernel) combinations.
        public var combinations: Set<String> = []
        /// Minimized failing cases (mismatches and refused cases) with what was found.
        public var failures: [(FuzzCase, FuzzOutcome)] = []
        public var seconds = 0.0

        public var mismatches: Int { failures.filter { if case .mismatch = $0.1 { true } else { false } }.count }
        public var errors: Int { failures.count - mismatches }

        public var line: String {
            String(format: "%d cases (%d kernels, %d for AArch64 under qemu) in %.0f s across %d (operator, ISA, microkernel) combinations: %d mismatches, %d errors",
                   cases, kernels, aarch64Kernels, seconds, combinations.count, mismatches, errors)
        }
    }

    public let seed: UInt64
    public let isas: [ISA]
    public let jobs: Int
    public let inputsPerKernel: Int
    /// Every `aarch64Every`-th kernel of a job is an AArch64 one run under qemu (0: none).
    public let aarch64Every: Int
    /// Input seeds per AArch64 kernel (each is a qemu process).
    public var aarch64Inputs: Int { min(inputsPerKernel, 4) }
    let runner = FuzzRunner()

    public init(seed: UInt64, isas: [ISA], jobs: Int = 1, inputsPerKernel: Int = 16, aarch64Every: Int = 0) {
        self.seed = seed
        self.isas = isas
        self.jobs = max(1, jobs)
        self.inputsPerKernel = max(1, inputsPerKernel)
        self.aarch64Every = max(0, aarch64Every)
    }

    /// Runs until `seconds` pass or `kernels` kernels were checked (whichever comes first);
    /// `progress` is called (serialized) after every kernel with the summary so far.
    public func run(seconds: Double? = nil, kernels limit: Int? = nil, progress: (@Sendable (Summary) -> Void)? = nil) -> Summary {
        /// The shared state of the jobs, behind one lock.
        final class State: @unchecked Sendable {
            let lock = NSLock()
            var summary = Summary()
            let started = DispatchTime.now().uptimeNanoseconds
            var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        }
        let state = State()
        DispatchQueue.concurrentPerform(iterations: jobs) { job in
            var generator = FuzzGenerator(seed: seed &+ UInt64(job) &* 0x9E37_79B9, isas: isas)
            var drawn = 0
            while true {
                state.lock.lock()
                let done = (seconds.map { state.elapsed >= $0 } ?? false) || (limit.map { state.summary.kernels >= $0 } ?? false)
                if !done { state.summary.kernels += 1 }
                state.lock.unlock()
                if done { break }
                drawn += 1
                let emulated = aarch64Every > 0 && drawn % aarch64Every == 0
                let fuzzCase = emulated ? generator.next(isa: AArch64Emulator.isa, accept: FuzzRunner.supportsEmulation) : generator.next()
                let inputs = emulated ? aarch64Inputs : inputsPerKernel
                let (outcome, failingSeed) = runner.check(fuzzCase, inputs: inputs)
                var failure: (FuzzCase, FuzzOutcome)? = nil
                if outcome != .match {
                    var failing = fuzzCase
                    failing.inputSeed = failingSeed
                    let minimized = FuzzMinimizer.minimize(failing) { self.runner.check($0).0 != .match }
                    failure = (minimized, runner.check(minimized).0)
                }
                state.lock.lock()
                if emulated { state.summary.aarch64Kernels += 1 }
                state.summary.cases += outcome == .match ? inputs : Int(failingSeed &- fuzzCase.inputSeed) + 1
                state.summary.combinations.insert("\(fuzzCase.op.name) | \(fuzzCase.isa) | \(runner.implementation(fuzzCase))")
                if let failure { state.summary.failures.append(failure) }
                state.summary.seconds = state.elapsed
                progress?(state.summary)
                state.lock.unlock()
            }
        }
        state.summary.seconds = state.elapsed
        return state.summary
    }

    /// Checks one case (a replayed spec file) on `inputs` seeds.
    public func replay(_ fuzzCase: FuzzCase, inputs: Int = 1) -> FuzzOutcome { runner.check(fuzzCase, inputs: inputs).0 }
}

/// Shrinks a failing case while it keeps failing: smaller dimensions (halved, then one less),
/// then the default schedule, then a simpler output mode — greedily, until nothing smaller fails.
public enum FuzzMinimizer {
    public static func minimize(_ start: FuzzCase, maxSteps: Int = 200, stillFails: (FuzzCase) -> Bool) -> FuzzCase {
        var current = start
        for _ in 0..<maxSteps {
            guard let smaller = candidates(current).first(where: stillFails) else { break }
            current = smaller
        }
        return current
    }

    /// Smaller variants of a case (each a valid operator), most reduction first.
    public static func candidates(_ c: FuzzCase) -> [FuzzCase] {
        var result: [FuzzCase] = []
        func with(_ op: FuzzCase.Operator?, schedule: MatMulSchedule?? = .none) {
            guard let op else { return }
            var variant = c
            variant.op = op
            if case let .some(newSchedule) = schedule { variant.schedule = newSchedule }
            result.append(variant)
        }
        func shrink(_ value: Int) -> [Int] { value > 1 ? Array(Set([value / 2, value - 1])).filter { $0 >= 1 }.sorted() : [] }
        switch c.op {
        case let .matmul(op, m):
            for smaller in shrink(m) {
                with(.matmul((try? op.with(m: op.m == nil ? nil : smaller)) ?? op, m: smaller), schedule: schedule(c.schedule, rows: smaller))
            }
            for k in shrink(op.k) { with(resized(op, k: k, n: op.n).map { .matmul($0, m: m) }) }
            for n in shrink(op.n) { with(resized(op, k: op.k, n: n).map { .matmul($0, m: m) }) }
            if c.schedule != nil { with(c.op, schedule: .some(nil)) }
            if op.output != .int32 && !op.aQuantMode.isRunTime {
                with((try? MatMul(m: op.m, k: op.k, n: op.n, aType: op.aType, bType: op.bType, aQuant: op.aQuant, bQuant: op.bQuant)).map { .matmul($0, m: m) })
            }
        case let .convolution(conv):
            for height in shrink(conv.height) { with(resized(conv, height: height).map { .convolution($0) }) }
            for width in shrink(conv.width) { with(resized(conv, width: width).map { .convolution($0) }) }
            if conv.batch > 1 { with(resized(conv, batch: 1).map { .convolution($0) }) }
            if c.schedule != nil { with(c.op, schedule: .some(nil)) }
        case let .nbitsLinear(op):
            func resized(inputs: Int, outputs: Int) -> NBitsLinear? {
                try? NBitsLinear(inputs: inputs, outputs: outputs, bits: op.bits, blockSize: op.blockSize, zeroPoints: op.zeroPoints,
                                 compute: op.compute, hasBias: op.hasBias, activation: op.activation)
            }
            for k in shrink(op.inputs) { with(resized(inputs: k, outputs: op.outputs).map { .nbitsLinear($0) }) }
            for n in shrink(op.outputs) { with(resized(inputs: op.inputs, outputs: n).map { .nbitsLinear($0) }) }
        default:
            break
        }
        return result
    }

    static func schedule(_ schedule: MatMulSchedule?, rows: Int) -> MatMulSchedule?? {
        guard var schedule else { return .none }
        schedule.rowsPerTile = min(schedule.rowsPerTile, rows)
        schedule.rowBlock = max(schedule.rowsPerTile, schedule.rowBlock / schedule.rowsPerTile * schedule.rowsPerTile)
        return .some(schedule)
    }

    static func resized(_ op: MatMul, k: Int, n: Int) -> MatMul? {
        let bQuant: QuantParams = op.bQuant.granularity == .perTensor ? op.bQuant
            : .perChannel(scales: Array(op.bQuant.scales.prefix(n)), zeroPoints: Array(op.bQuant.zeroPoints.prefix(n)))
        return try? MatMul(m: op.m, k: k, n: n, aType: op.aType, bType: op.bType, aQuant: op.aQuant, bQuant: bQuant,
                           output: op.output.slice(columns: 0..<n, of: op.n), aQuantMode: op.aQuantMode)
    }

    static func resized(_ conv: Conv2D, height: Int? = nil, width: Int? = nil, batch: Int? = nil) -> Conv2D? {
        try? Conv2D(batch: batch ?? conv.batch, inChannels: conv.inChannels, height: height ?? conv.height, width: width ?? conv.width,
                    outChannels: conv.outChannels, kernel: (conv.kernelHeight, conv.kernelWidth), strides: conv.strides, pads: conv.pads,
                    dilations: conv.dilations, groups: conv.groups, layout: conv.layout, xType: conv.xType, wType: conv.wType,
                    xQuant: conv.xQuant, wQuant: conv.wQuant, output: conv.output)
    }
}
