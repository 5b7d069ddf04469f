import Foundation
import LLVMKit
import QuantOps
import QuantSchedule

/// What a tuning result is valid for: everything that changes which schedule is fastest (TVM's
/// database was not target-aware, apache/tvm#15549). A record is used only on a machine and build
/// that match it exactly.
public struct TuningKey: Hashable, Codable, Sendable, CustomStringConvertible {
    /// The operator without its shape: kind, element types, quantization granularity, whether B
    /// has non-zero zero points (row sums), and the epilogue.
    public var operation: String
    /// Rows of A (0 when the record covers every M).
    public var m: Int
    public var k: Int
    public var n: Int
    /// Vendor, family, model and brand of the CPU.
    public var cpu: String
    /// The CPU's feature names (`avx2 avx512-vnni ...`).
    public var features: String
    public var llvmMajor: Int
    /// QuantForge's generator version: code generation changes invalidate measurements.
    public var generator: String
    public var threads: Int

    public init(operation: String, m: Int, k: Int, n: Int, cpu: String, features: String, llvmMajor: Int,
                generator: String, threads: Int) {
        self.operation = operation
        self.m = m
        self.k = k
        self.n = n
        self.cpu = cpu
        self.features = features
        self.llvmMajor = llvmMajor
        self.generator = generator
        self.threads = threads
    }

    /// The key of `op` (with M = `m`) on `host` with this build.
    public init(op: MatMul, m: Int, threads: Int, host: HostCPU = .current, generator: String) {
        self.init(operation: Self.signature(of: op), m: m, k: op.k, n: op.n,
                  cpu: "\(host.vendor) family \(host.family) model \(host.model) \(host.brand)",
                  features: host.features.names.joined(separator: " "), llvmMajor: LLVM.majorVersion,
                  generator: generator, threads: threads)
    }

    /// The operator's signature: what matters for scheduling, not the values of its scales.
    public static func signature(of op: MatMul) -> String {
        let granularity = op.bQuant.granularity == .perTensor ? "per-tensor" : "per-channel"
        let zeroPoints = op.bQuant.zeroPoints.allSatisfy { $0 == 0 } ? "b_zp=0" : "b_zp≠0"
        let output: String
        switch op.output {
        case .int32:
            output = "int32"
        case let .requantized(r):
            output = "requantized(\(r.type.rawValue)\(r.bias == nil ? "" : ",bias"),\(activationName(r.activation)))"
        case let .dequantized(d):
            output = "dequantized(f32\(d.bias == nil ? "" : ",bias"),\(activationName(d.activation)))"
        case let .chain(chain):
            output = "chain(\(chain.output.elementType.rawValue);\(chain.steps.map(stepName).joined(separator: ",")))"
        }
        let aMode = op.aQuantMode == .constant ? "" : " a=\(op.aQuantMode.rawValue)"
        return "matmul a=\(op.aType.rawValue) b=\(op.bType.rawValue) \(granularity) \(zeroPoints) a_zp=\(op.aQuant.zeroPoints[0] == 0 ? "0" : "≠0") out=\(output)\(aMode)"
    }

    private static func stepName(_ step: EpilogueChain.Step) -> String {
        switch step {
        case .bias: "bias"
        case .scale: "scale"
        case let .activation(activation): activationName(activation)
        case .residualAdd: "residual"
        }
    }

    private static func activationName(_ activation: Activation) -> String {
        switch activation {
        case .none: "none"
        case .relu: "relu"
        case .clamp: "clamp"
        case .gelu: "gelu"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        }
    }

    public var description: String { "\(operation) \(m)x\(k)x\(n) threads=\(threads)" }
}

/// The outcome of tuning one key: the best and runner-up schedules with their measured times.
public struct TuningRecord: Codable, Sendable, Equatable {
    public var key: TuningKey
    public var best: String
    public var bestMicroseconds: Double
    public var runnerUp: String?
    public var runnerUpMicroseconds: Double?
    /// The default heuristic's time on the same inputs, in the same session (for speed-ups).
    public var defaultMicroseconds: Double?
    public var trials: Int

    public init(key: TuningKey, best: String, bestMicroseconds: Double, runnerUp: String? = nil,
                runnerUpMicroseconds: Double? = nil, defaultMicroseconds: Double? = nil, trials: Int) {
        self.key = key
        self.best = best
        self.bestMicroseconds = bestMicroseconds
        self.runnerUp = runnerUp
        self.runnerUpMicroseconds = runnerUpMicroseconds
        self.defaultMicroseconds = defaultMicroseconds
        self.trials = trials
    }

    /// Two records of the same key combined without losing anything: the two fastest distinct
    /// schedules of both, the fastest default time, the trials added up.
    public func merged(with other: TuningRecord) -> TuningRecord {
        var candidates = [(best, bestMicroseconds), (other.best, other.bestMicroseconds)]
        if let runnerUp, let runnerUpMicroseconds { candidates.append((runnerUp, runnerUpMicroseconds)) }
        if let runnerUp = other.runnerUp, let time = other.runnerUpMicroseconds { candidates.append((runnerUp, time)) }
        var fastest: [String: Double] = [:]
        for (schedule, time) in candidates { fastest[schedule] = min(time, fastest[schedule] ?? .infinity) }
        let ranked = fastest.sorted { $0.value < $1.value || ($0.value == $1.value && $0.key < $1.key) }
        let defaults = [defaultMicroseconds, other.defaultMicroseconds].compactMap { $0 }
        return TuningRecord(key: key, best: ranked[0].key, bestMicroseconds: ranked[0].value,
                            runnerUp: ranked.count > 1 ? ranked[1].key : nil,
                            runnerUpMicroseconds: ranked.count > 1 ? ranked[1].value : nil,
                            defaultMicroseconds: defaults.min(), trials: Self.cappedTrials(trials, other.trials))
    }

    /// The most trials a record counts (a sum saturates there instead of overflowing).
    public static let trialLimit = 1 << 40

    static func cappedTrials(_ a: Int, _ b: Int) -> Int { min(trialLimit, min(trialLimit, max(0, a)) + min(trialLimit, max(0, b))) }

    /// Throws `invalidArgument` naming the first field of a record read from outside (an import)
    /// that QuantForge would not have written: shapes out of range, times not finite and positive,
    /// a schedule that does not parse, a negative trial count.
    public func validate() throws(QuantError) {
        try key.validate()
        func field(_ name: String) -> String { "record \(key) field \(name)" }
        _ = try MatMulSchedule(parsing: best)
        guard bestMicroseconds.isFinite, bestMicroseconds > 0 else {
            throw .invalidArgument(field: field("bestMicroseconds"), reason: "\(bestMicroseconds) is not a finite time > 0")
        }
        if (runnerUp == nil) != (runnerUpMicroseconds == nil) {
            throw .invalidArgument(field: field("runnerUp"), reason: "a runner-up needs both a schedule and a time")
        }
        if let runnerUp { _ = try MatMulSchedule(parsing: runnerUp) }
        for (name, time) in [("runnerUpMicroseconds", runnerUpMicroseconds), ("defaultMicroseconds", defaultMicroseconds)] {
            if let time, !(time.isFinite && time > 0) {
                throw .invalidArgument(field: field(name), reason: "\(time) is not a finite time > 0")
            }
        }
        guard (0...Self.trialLimit).contains(trials) else {
            throw .invalidArgument(field: field("trials"), reason: "\(trials) is outside 0...\(Self.trialLimit)")
        }
    }
}

extension TuningKey {
    /// The largest M, K or N a key may hold (so that M·K·N fits in 64 bits with room to spare).
    public static let dimensionLimit = 1 << 20

    /// Throws `invalidArgument` for a key QuantForge would not have written.
    public func validate() throws(QuantError) {
        for (name, value, low) in [("m", m, 0), ("k", k, 1), ("n", n, 1)] where !(low...Self.dimensionLimit).contains(value) {
            throw .invalidArgument(field: "record \(self) field \(name)", reason: "\(value) is outside \(low)...\(Self.dimensionLimit)")
        }
        guard (1...1024).contains(threads) else {
            throw .invalidArgument(field: "record \(self) field threads", reason: "\(threads) is outside 1...1024")
        }
        guard !operation.isEmpty, !cpu.isEmpty, !generator.isEmpty, (1...1000).contains(llvmMajor) else {
            throw .invalidArgument(field: "record \(self)", reason: "empty operation, cpu or generator, or an LLVM major version outside 1...1000")
        }
    }
}
