import QuantCodegen
import QuantRuntime

extension CompiledElementwiseKernel {
    /// Calls the kernel over [0, count) of what it iterates (rows, pixels, panels): with a pool,
    /// `worthSplitting` and at least two per thread, one contiguous part per thread; else in one
    /// call on this thread. The one place the operator kernels fork.
    func callSplitting(_ count: Int, on pool: ThreadPool?, worthSplitting: Bool = true, x: UnsafeRawPointer?,
                       x2: UnsafeRawPointer? = nil, y: UnsafeMutableRawPointer?, extra: UnsafeMutableRawPointer? = nil,
                       extra2: UnsafeMutableRawPointer? = nil) {
        guard let pool, worthSplitting, count >= 2 * pool.threadCount else {
            callUnchecked(x: x, x2: x2, y: y, extra: extra, extra2: extra2, begin: 0, end: count)
            return
        }
        let arguments = SplitArguments(x: x, x2: x2, y: y, extra: extra, extra2: extra2)
        let tasks = pool.threadCount
        pool.run(tasks: tasks) { task in
            self.callUnchecked(x: arguments.x, x2: arguments.x2, y: arguments.y, extra: arguments.extra, extra2: arguments.extra2,
                               begin: count * task / tasks, end: count * (task + 1) / tasks)
        }
    }
}

/// A call's pointers, handed to the pool's workers (each writes only its own part of y).
private struct SplitArguments: @unchecked Sendable {
    let x: UnsafeRawPointer?
    let x2: UnsafeRawPointer?
    let y: UnsafeMutableRawPointer?
    let extra: UnsafeMutableRawPointer?
    let extra2: UnsafeMutableRawPointer?
}
