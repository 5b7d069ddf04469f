import Foundation
import QuantCodegen
import QuantOps
import QuantSchedule

/// Compiled kernels of every operator, keyed by `OperatorKernel` (a matmul's key holds its
/// schedule, hence its ISA; other kernels add the ISA they were compiled for), bounded in bytes of
/// machine code: the least recently used are dropped first. A dropped kernel's machine code is
/// freed (its ORC resource tracker removed) as soon as no caller still holds it. Thread-safe.
public final class KernelCache: @unchecked Sendable {
    public struct Key: Hashable, Sendable {
        public let kernel: OperatorKernel
        public let isa: ISA
    }

    public struct Statistics: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        public var evictions = 0
        public var bytes = 0
        public var entries = 0
    }

    public let capacityBytes: Int
    private let lock = NSLock()
    private var entries: [Key: (kernel: any CompiledKernel, lastUse: UInt64)] = [:]
    private var clock: UInt64 = 0
    private var stats = Statistics()

    public init(capacityBytes: Int = 64 << 20) {
        self.capacityBytes = capacityBytes
    }

    public var statistics: Statistics {
        lock.lock()
        defer { lock.unlock() }
        return stats
    }

    /// The cached matmul kernel for `op` and `schedule`, or the one `compile` makes (then cached).
    public func kernel(_ op: MatMul, _ schedule: MatMulSchedule, convolution: ConvolutionGeometry? = nil,
                       compile: () throws(QuantError) -> CompiledMatMulKernel) throws(QuantError) -> CompiledMatMulKernel {
        let key = Key(kernel: .matmul(op, schedule, convolution: convolution), isa: schedule.isa)
        return try cached(key, compile: compile) as! CompiledMatMulKernel
    }

    /// The cached kernel of any other operator for `isa`, or the one `compile` makes (then cached).
    public func kernel(_ kernel: OperatorKernel, isa: ISA,
                       compile: () throws(QuantError) -> CompiledElementwiseKernel) throws(QuantError) -> CompiledElementwiseKernel {
        try cached(Key(kernel: kernel, isa: isa), compile: compile) as! CompiledElementwiseKernel
    }

    private func cached(_ key: Key, compile: () throws(QuantError) -> any CompiledKernel) throws(QuantError) -> any CompiledKernel {
        lock.lock()
        clock += 1
        if let entry = entries[key] {
            entries[key] = (entry.kernel, clock)
            stats.hits += 1
            lock.unlock()
            return entry.kernel
        }
        stats.misses += 1
        lock.unlock()
        let kernel = try compile()  // outside the lock: compiles may run in parallel
        lock.lock()
        defer { lock.unlock() }
        if let raced = entries[key] { return raced.kernel }
        entries[key] = (kernel, clock)
        stats.bytes += kernel.code.bytes
        while stats.bytes > capacityBytes, entries.count > 1,
              let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key, oldest != key {
            stats.bytes -= entries.removeValue(forKey: oldest)!.kernel.code.bytes
            stats.evictions += 1
        }
        stats.entries = entries.count
        return kernel
    }

    /// Drops every kernel (their code is freed once no caller holds them).
    public func removeAll() {
        lock.lock()
        entries.removeAll()
        stats.bytes = 0
        stats.entries = 0
        lock.unlock()
    }
}
