import Foundation
import QuantCodegen
import QuantOps
import QuantSchedule

/// Searches the schedule space of a matmul on this machine — across instruction sets — within a
/// budget, and records what it learned in a `TuningDatabase`.
///
/// Every candidate is compiled, run on the tuning inputs and compared byte for byte with the
/// reference interpreter before it is timed; one that fails to compile or computes a wrong result
/// is recorded as invalid and never chosen. Times are the minimum over repeated batches, and the
/// finalists are re-timed in interleaved rounds so that a noisy moment cannot pick the winner.
/// Measurements are saved as they are made, so a stopped run resumes without measuring twice.
public final class Autotuner {
    public enum Budget: Sendable, CustomStringConvertible {
        case trials(Int)
        case seconds(Double)
        public var description: String {
            switch self {
            case let .trials(count): "\(count) trials"
            case let .seconds(seconds): String(format: "%.0f s", seconds)
            }
        }
    }

    public struct Progress: Sendable {
        public let trials: Int
        public let invalid: Int
        public let bestGMACs: Double
        public let elapsedSeconds: Double
        /// Seconds (time budget) or trials (trial budget) left.
        public let remaining: Double
    }

    public struct Result: Sendable {
        public let key: TuningKey
        public let best: MatMulSchedule
        public let bestMicroseconds: Double
        public let runnerUp: MatMulSchedule?
        public let runnerUpMicroseconds: Double?
        public let defaultSchedule: MatMulSchedule
        public let defaultMicroseconds: Double
        /// Candidates evaluated in this run (measurements reused from the database not counted).
        public let trials: Int
        public let invalid: Int
        public let resumedMeasurements: Int
        public var bestGMACs: Double { Double(key.m * key.k * key.n) / bestMicroseconds / 1e3 }
    }

    /// A compiled candidate: runs C = A·B for the tuning inputs (`extras`: the residual and A's
    /// run-time parameters, for ops that take them).
    public struct Candidate {
        public typealias Run = (_ a: UnsafeRawPointer, _ c: UnsafeMutableRawPointer, _ extras: CompiledMatMulKernel.CallExtras) -> Void
        public let run: Run
        public init(run: @escaping Run) { self.run = run }
    }

    /// Builds a candidate from a schedule (and B); tests substitute a deliberately broken one.
    public typealias CandidateBuilder = (_ op: MatMul, _ schedule: MatMulSchedule, _ b: [UInt8], _ pool: ThreadPool?) throws -> Candidate

    public let database: TuningDatabase?
    public let threads: Int
    public let isas: [ISA]
    public let host: HostCPU
    private let build: CandidateBuilder
    private let pool: ThreadPool?

    public init(database: TuningDatabase?, isas: [ISA], threads: Int = 1, host: HostCPU = .current,
                build: CandidateBuilder? = nil) {
        self.database = database
        self.isas = isas
        self.threads = threads
        self.host = host
        self.build = build ?? Autotuner.compileCandidate
        pool = threads > 1 ? ThreadPool(threads: threads) : nil
    }

    /// The real candidate: JIT-compiled, weights packed, split across the pool when there is one.
    public static func compileCandidate(_ op: MatMul, _ schedule: MatMulSchedule, _ b: [UInt8], _ pool: ThreadPool?) throws -> Candidate {
        let kernel = try KernelCompiler.shared().compileMatMul(op, schedule: schedule)
        let weights = try b.withUnsafeBytes { try kernel.packWeights($0) }
        let m = op.m!
        return Candidate { a, c, extras in
            ParallelMatMul.run(kernel, a: a, lda: op.k, weights: weights.bytes, c: c, ldc: op.n, m: m, pool: pool, extras: extras)
        }
    }

    /// Every valid schedule of the space on the tuner's ISAs, best estimate first.
    public func candidates(for op: MatMul) -> [MatMulSchedule] {
        let m = op.m ?? 1
        var all: [MatMulSchedule] = []
        for isa in isas {
            guard let space = try? ScheduleSpace.full(for: op, isa: isa), let schedules = try? space.schedules(for: op, isa: isa) else { continue }
            all += schedules
        }
        let estimates = Dictionary(all.map { ($0, CostModel.estimate(op, m: m, schedule: $0, caches: host.caches)) }) { a, _ in a }
        return all.sorted { estimates[$0]! < estimates[$1]! || (estimates[$0]! == estimates[$1]! && $0.description < $1.description) }
    }

    /// Schedules one knob away from `schedule` (the ISA included).
    func neighbors(of schedule: MatMulSchedule, in space: Set<MatMulSchedule>) -> [MatMulSchedule] {
        var result: [MatMulSchedule] = []
        func add(_ change: (inout MatMulSchedule) -> Void) {
            var next = schedule
            change(&next)
            if next != schedule && space.contains(next) { result.append(next) }
        }
        for delta in [-2, -1, 1, 2] {
            add { $0.rowsPerTile += delta; $0.rowBlock = $0.rowsPerTile * max(1, schedule.rowBlock / schedule.rowsPerTile) }
            add { $0.vectorsPerRow += delta }
        }
        for unroll in [1, 2, 4, 8] { add { $0.kUnroll = unroll } }
        for tiles in [1, 4, 16, 1 << 16] { add { $0.rowBlock = $0.rowsPerTile * tiles } }
        for block in [1, 4, 16, 1 << 20] { add { $0.panelBlock = block } }
        add { $0.loopOrder = $0.loopOrder == .panelsOuter ? .rowsOuter : .panelsOuter }
        for isa in isas where isa != schedule.isa { add { $0.isa = isa } }
        return result
    }

    /// Tunes `op` (M fixed) within `budget`.
    public func tune(_ op: MatMul, budget: Budget, progress: ((Progress) -> Void)? = nil) throws(QuantError) -> Result {
        guard let m = op.m else { throw .invalidShape(field: "M", reason: "tuning needs a fixed M") }
        let started = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        let key = TuningKey(op: op, m: m, threads: threads, host: host, generator: generatorVersion)

        // Tuning inputs and the reference result every candidate must reproduce.
        var generator = SeededGenerator(seed: UInt64(op.k &* 31 &+ op.n &* 7 &+ m))
        let inputs = TuningInputs(op, m: m, generator: &generator)
        let a = inputs.a, b = inputs.b, expected = inputs.expected
        var output = [UInt8](repeating: 0, count: expected.count)

        var measured: [MatMulSchedule: Double?] = [:]
        var resumed = 0
        if let database {
            for (text, time) in try database.measurements(key) {
                if let schedule = try? MatMulSchedule(parsing: text) { measured[schedule] = time; resumed += 1 }
            }
        }
        var kernels: [MatMulSchedule: Candidate] = [:]
        var trials = 0, invalid = measured.values.filter { $0 == nil }.count
        let preferred = isas.first { host.supports($0) } ?? .portable
        let defaultSchedule = try DefaultSchedule.forMatMul(op, isa: preferred, caches: host.caches)

        /// Minimum per-call time (µs) of `candidate` over `batches` batches of ≥ 0.2 ms.
        func time(_ candidate: Candidate, batches: Int) -> Double {
            a.withUnsafeBytes { aBytes in
                output.withUnsafeMutableBytes { cBytes in
                    let aBase = aBytes.baseAddress!, cBase = cBytes.baseAddress!
                    return inputs.withExtras { extras in
                        KernelTiming.measure(batches: batches, batchSeconds: 2e-4) { candidate.run(aBase, cBase, extras) }.minSeconds * 1e6
                    }
                }
            }
        }

        /// Compiles, validates and times `schedule` (once), saving the measurement.
        func evaluate(_ schedule: MatMulSchedule) throws(QuantError) -> Double? {
            if let known = measured[schedule] { return known }
            trials += 1
            var note: String? = nil
            var result: Double? = nil
            do {
                let candidate = try build(op, schedule, b, pool)
                _ = output.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0xA5) }
                a.withUnsafeBytes { aBytes in
                    output.withUnsafeMutableBytes { c in inputs.withExtras { candidate.run(aBytes.baseAddress!, c.baseAddress!, $0) } }
                }
                if output == expected {
                    result = time(candidate, batches: 5)
                    kernels[schedule] = candidate
                    keepOnlyLeaders()
                } else {
                    note = "wrong result: differs from the reference interpreter"
                }
            } catch {
                note = "\(error)"
            }
            if result == nil { invalid += 1 }
            measured[schedule] = result
            try database?.saveMeasurement(key, schedule: schedule.description, microseconds: result, note: note)
            return result
        }

        /// Keeps the compiled kernels (and packed weights) of the four fastest candidates and the
        /// default only: the others would pile up memory over hundreds of trials, and the final
        /// re-timing rebuilds any finalist it lacks.
        func keepOnlyLeaders() {
            guard kernels.count > 8 else { return }
            let leaders = Set(measured.compactMap { schedule, time in time.map { (schedule, $0) } }
                .sorted { $0.1 < $1.1 }.prefix(4).map(\.0) + [defaultSchedule])
            kernels = kernels.filter { leaders.contains($0.key) }
        }

        func bestSoFar() -> (MatMulSchedule, Double)? {
            measured.compactMap { schedule, time in time.map { (schedule, $0) } }.min { $0.1 < $1.1 }
        }
        func report() {
            let best = bestSoFar().map { Double(m * op.k * op.n) / $0.1 / 1e3 } ?? 0
            let remaining: Double
            switch budget {
            case let .trials(count): remaining = Double(max(0, count - trials))
            case let .seconds(seconds): remaining = max(0, seconds - elapsed())
            }
            progress?(Progress(trials: trials, invalid: invalid, bestGMACs: best, elapsedSeconds: elapsed(), remaining: remaining))
        }
        func exhausted() -> Bool {
            switch budget {
            case let .trials(count): trials >= count
            case let .seconds(seconds): elapsed() >= seconds
            }
        }

        // 1. The default heuristic (always measured: the baseline for the speed-up), then the
        //    cost model's ranking; 2. local search around the incumbent with occasional jumps.
        let ranked = candidates(for: op)
        let space = Set(ranked)
        _ = try evaluate(defaultSchedule)
        report()
        // Tiles against vectors (AMX or VNNI) is a choice per shape that the cost model cannot
        // make (AMX loses at small M and small K·N): each ISA's default is measured too.
        if isas.contains(where: { (try? InstructionTable.instruction(for: $0))?.usesTiles == true }) {
            for isa in isas where isa != preferred && host.supports(isa) {
                if let other = try? DefaultSchedule.forMatMul(op, isa: isa, caches: host.caches) { _ = try evaluate(other) }
            }
            report()
        }
        var rankIndex = 0
        let explorationShare = 0.4
        var random = SeededGenerator(seed: 0x51ED)
        while !exhausted() {
            let inExploration: Bool
            switch budget {
            case let .trials(count): inExploration = Double(trials) < Double(count) * explorationShare
            case let .seconds(seconds): inExploration = elapsed() < seconds * explorationShare
            }
            var next: MatMulSchedule? = nil
            if !inExploration, let (incumbent, _) = bestSoFar(), Int.random(in: 0..<5, using: &random) != 0 {
                next = neighbors(of: incumbent, in: space).first { measured[$0] == nil }
            }
            if next == nil {
                while rankIndex < ranked.count && measured[ranked[rankIndex]] != nil { rankIndex += 1 }
                if rankIndex < ranked.count { next = ranked[rankIndex] }
            }
            guard let candidate = next else { break }  // the whole space is measured
            _ = try evaluate(candidate)
            report()
        }

        // 3. Re-time the finalists (and the default) in interleaved rounds.
        var finalists = measured.compactMap { schedule, time in time.map { (schedule, $0) } }.sorted { $0.1 < $1.1 }.prefix(3).map(\.0)
        if !finalists.contains(defaultSchedule) && measured[defaultSchedule] != nil { finalists.append(defaultSchedule) }
        var finalTimes: [MatMulSchedule: Double] = [:]
        for schedule in finalists { finalTimes[schedule] = (measured[schedule] ?? nil) ?? .infinity }
        for _ in 0..<3 {
            for schedule in finalists {
                if kernels[schedule] == nil, let candidate = try? build(op, schedule, b, pool) { kernels[schedule] = candidate }
                if let candidate = kernels[schedule] { finalTimes[schedule] = min(finalTimes[schedule]!, time(candidate, batches: 3)) }
            }
        }
        let ranking = finalTimes.sorted { $0.value < $1.value }
        guard let winner = ranking.first, winner.value.isFinite else {
            throw .compilationFailed(stage: "autotune", message: "no valid schedule for \(key)")
        }
        let runnerUp = ranking.count > 1 ? ranking[1] : nil
        let defaultTime = finalTimes[defaultSchedule] ?? winner.value
        let record = TuningRecord(key: key, best: winner.key.description, bestMicroseconds: winner.value,
                                  runnerUp: runnerUp?.key.description, runnerUpMicroseconds: runnerUp?.value,
                                  defaultMicroseconds: defaultTime, trials: trials)
        try database?.save(record)
        report()
        return Result(key: key, best: winner.key, bestMicroseconds: winner.value, runnerUp: runnerUp?.key,
                      runnerUpMicroseconds: runnerUp?.value, defaultSchedule: defaultSchedule, defaultMicroseconds: defaultTime,
                      trials: trials, invalid: invalid, resumedMeasurements: resumed)
    }
}

/// The tuning inputs of an op and the reference result every candidate must reproduce: random A
/// (f32 values for a dynamic linear, whose parameters then come from DynamicQuantizeLinear) and B,
/// A's run-time parameters and the chain's residual when the op takes them.
struct TuningInputs {
    let a: [UInt8]
    let b: [UInt8]
    let expected: [UInt8]
    let runTime: RunTimeAQuant?
    let residual: [UInt8]?
    /// N: the residual's row stride.
    let columns: Int

    init(_ op: MatMul, m: Int, generator: inout SeededGenerator) {
        columns = op.n
        let bytes = generator.bytes(m * op.k)
        b = generator.bytes(op.k * op.n)
        residual = if case let .chain(chain) = op.output, chain.residual != nil { generator.bytes(m * op.n) } else { nil }
        let perRow = op.aQuantMode == .perRowAtRunTime
        if op.aType == .f32 {
            let floats = bytes.map { Float(Int($0) - 128) / 32 }
            let quantized = ReferenceOperators.dynamicQuantize(floats, rows: m, columns: op.k, perRow: perRow)
            a = floats.withUnsafeBytes { Array($0) }
            runTime = RunTimeAQuant(scales: quantized.scales, zeroPoints: quantized.zeroPoints)
            expected = ReferenceMatMul.run(op, a: quantized.y, b: b, m: m, runTime: runTime, residual: residual)
        } else {
            a = bytes
            runTime = op.aQuantMode.isRunTime
                ? RunTimeAQuant(scales: Array(repeating: 0.05, count: perRow ? m : 1), zeroPoints: Array(repeating: 100, count: perRow ? m : 1))
                : nil
            expected = ReferenceMatMul.run(op, a: a, b: b, m: m, runTime: runTime, residual: residual)
        }
    }

    /// Calls `body` with the extras pointing at this input's residual and run-time parameters.
    func withExtras<T>(_ body: (CompiledMatMulKernel.CallExtras) -> T) -> T {
        var extras = CompiledMatMulKernel.CallExtras()
        extras.ldResidual = columns
        let scales = runTime?.scales ?? [], zeroPoints = runTime?.zeroPoints ?? []
        return scales.withUnsafeBufferPointer { scales in
            zeroPoints.withUnsafeBufferPointer { zeroPoints in
                (residual ?? []).withUnsafeBytes { residualBytes in
                    if runTime != nil {
                        extras.aScales = scales.baseAddress
                        extras.aZeroPoints = zeroPoints.baseAddress
                    }
                    if residual != nil { extras.residual = residualBytes.baseAddress }
                    return body(extras)
                }
            }
        }
    }
}
