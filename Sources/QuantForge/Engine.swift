import Foundation

/// The entry point of the Swift API: picks the instruction set for this CPU (or the one forced by
/// the caller or by `QFORGE_ISA`) and compiles operators into kernels.
///
/// ```swift
/// let engine = try Engine()
/// let op = try MatMul(m: nil, k: 768, n: 768, aType: .u8, bType: .s8,
///                     aQuant: .perTensor(scale: 0.02, zeroPoint: 128),
///                     bQuant: .perChannel(scales: scales, zeroPoints: [0]),
///                     output: .requantized(.init(type: .u8, output: .perTensor(scale: 0.05, zeroPoint: 128))))
/// let kernel = try engine.compile(op)
/// let weights = try kernel.packWeights(b)          // once
/// try kernel.run(a: a, weights: weights, c: c, m: 16) // many times
/// ```
public final class Engine: Sendable {
    /// The CPU this process runs on.
    public let host: HostCPU
    /// The instruction set kernels are generated for.
    public let isa: ISA
    /// Threads each kernel call may use (1: the calling thread only, no pool).
    public let threads: Int
    /// Where tuned schedules come from; nil uses the default heuristic for everything.
    public let database: TuningDatabase?
    private let isaForced: Bool
    /// Why better instruction sets the CPU has were passed over (e.g. AMX whose permission request
    /// failed), each also logged once to stderr.
    public let isaFallbackReasons: [ISA: String]
    let pool: ThreadPool?
    /// Kernels this engine compiled, by (op, schedule), bounded in bytes of machine code.
    public let kernelCache: KernelCache

    /// - Parameter isa: force an instruction set; nil takes `QFORGE_ISA`, else the best one this
    ///   CPU supports that has a microkernel. Throws `unsupportedISA` when the CPU lacks it.
    ///   `threads` > 1 starts a pool of that many threads (the caller included) shared by the
    ///   engine's kernels.
    ///   `database`: compile tuned schedules from it when it has one for the op on this machine.
    ///   `kernelCacheBytes` bounds the engine's kernel cache (machine code bytes).
    public init(isa: ISA? = nil, threads: Int = 1, host: HostCPU = .current, database: TuningDatabase? = nil,
                kernelCacheBytes: Int = 64 << 20) throws(QuantError) {
        self.host = host
        self.database = database
        kernelCache = KernelCache(capacityBytes: kernelCacheBytes)
        guard (1...ThreadPool.threadLimit).contains(threads) else {
            throw .invalidArgument(field: "threads", reason: "\(threads) is outside 1...\(ThreadPool.threadLimit) (4 per processor here, at most 256)")
        }
        self.threads = threads
        pool = threads > 1 ? ThreadPool(threads: threads) : nil
        var chosen: ISA, forced = true
        if let isa {
            chosen = isa
        } else if let name = ProcessInfo.processInfo.environment["QFORGE_ISA"], !name.isEmpty {
            chosen = try ISA.parse(name)
        } else {
            chosen = Engine.bestISA(on: host)
            forced = false
        }
        var reasons: [ISA: String] = [:]
        if !forced {
            // ISAs ranked above the chosen one that the CPU has (its features are there) but cannot use.
            for better in ISA.preferenceOrder.prefix(while: { $0 != chosen }) where better == .amx
                && (host.features.contains(.amxTile) && host.features.contains(.amxInt8) || host.amxEmulation) {
                if let reason = host.unavailabilityReason(better) { reasons[better] = reason }
            }
        }
        // AMX is trusted only after its self-check (once per process): on failure a forced AMX
        // is an error, a chosen one falls back to the next ISA.
        if chosen == .amx && host.supports(.amx), let failure = AMXSelfCheck.failure {
            if forced { throw .unsupportedISA(requested: ISA.amx.rawValue, reason: "the AMX self-check failed: \(failure)") }
            reasons[.amx] = "the AMX self-check failed: \(failure)"
            chosen = host.availableISAs.first { $0 != .amx && (try? InstructionTable.instruction(for: $0)) != nil } ?? .portable
        }
        self.isa = chosen
        isaForced = forced
        isaFallbackReasons = reasons
        for (skipped, reason) in reasons { FallbackLog.once("quantforge: \(skipped.rawValue) not used (\(reason)); falling back to \(chosen.rawValue)") }
        try host.require(self.isa)
        _ = try InstructionTable.instruction(for: self.isa)
    }

    /// The best instruction set with a microkernel that runs on `host`.
    public static func bestISA(on host: HostCPU) -> ISA {
        host.availableISAs.first { (try? InstructionTable.instruction(for: $0)) != nil } ?? .portable
    }

    /// The ISAs that both run on this CPU and have a microkernel, best first.
    public var compilableISAs: [ISA] {
        host.availableISAs.filter { (try? InstructionTable.instruction(for: $0)) != nil }
    }

    /// The default schedule for `op` on this engine's ISA.
    public func defaultSchedule(for op: MatMul) throws(QuantError) -> MatMulSchedule {
        try DefaultSchedule.forMatMul(op, isa: isa)
    }

    /// The schedule the database holds for `op` on this machine and build (M as fixed, or 0 for a
    /// dynamic M), if it is usable here; nil otherwise.
    public func tunedSchedule(for op: MatMul) -> MatMulSchedule? {
        guard let database else { return nil }
        let key = TuningKey(op: op, m: op.m ?? 0, threads: threads, host: host, generator: generatorVersion)
        guard let record = try? database.lookup(key), let schedule = try? MatMulSchedule(parsing: record.best),
              host.supports(schedule.isa), !isaForced || schedule.isa == isa,
              (try? schedule.validate(rowSums: DefaultSchedule.needsRowSums(op, instruction: try schedule.instruction()))) != nil
        else { return nil }
        return schedule
    }

    /// Compiles `op` into a kernel: with `schedule` if given, else the tuned one from the database,
    /// else the default heuristic's.
    public func compile(_ op: MatMul, schedule: MatMulSchedule? = nil) throws(QuantError) -> MatMulKernel {
        let (chosen, source): (MatMulSchedule, MatMulKernel.ScheduleSource) =
            if let schedule { (schedule, .given) } else if let tuned = tunedSchedule(for: op) { (tuned, .tuned) } else {
                (try defaultSchedule(for: op), .defaultHeuristic)
            }
        try host.require(chosen.isa)
        let compiled = try kernelCache.kernel(op, chosen) { () throws(QuantError) in
            try KernelCompiler.shared().compileMatMul(op, schedule: chosen)
        }
        return MatMulKernel(compiled: compiled, pool: pool, source: source)
    }
}

extension MatMulKernel {
    /// Packs B given as an array of bytes (u8 values or s8 bit patterns), row-major K×N.
    public func packWeights(_ b: [UInt8], rowStride: Int? = nil) throws(QuantError) -> PackedWeights {
        try QuantError.rethrowing {
            return try b.withUnsafeBytes { try packWeights($0, rowStride: rowStride) }
        }
    }

    /// Runs on arrays and returns C's bytes (M×N contiguous, in the output's element type).
    public func run(a: [UInt8], weights: PackedWeights, m: Int? = nil) throws(QuantError) -> [UInt8] {
        let rows = try op.resolveM(m)
        var c = [UInt8](repeating: 0, count: try op.cSpec(m: rows).requiredBytes)
        try QuantError.rethrowing {
            try a.withUnsafeBytes { aBuffer in
                try c.withUnsafeMutableBytes { cBuffer in
                    try run(a: aBuffer, weights: weights, c: cBuffer, m: rows)
                }
            }
        }
        return c
    }
}

/// One stderr line per distinct fallback per process.
enum FallbackLog {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var seen: Set<String> = []

    static func once(_ message: String) {
        lock.lock()
        let first = seen.insert(message).inserted
        lock.unlock()
        if first { FileHandle.standardError.write(Data((message + "\n").utf8)) }
    }
}
