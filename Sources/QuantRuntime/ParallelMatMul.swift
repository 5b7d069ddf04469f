import QuantCodegen

/// Runs one matmul call split across a thread pool (by `WorkPartition`), or on the calling
/// thread when there is no pool or the work is too small to split.
public enum ParallelMatMul {
    /// The call's pointers, shared with the pool's workers for the duration of the call.
    private struct Call: @unchecked Sendable {
        let kernel: CompiledMatMulKernel
        let a: UnsafeRawPointer
        let lda: Int
        let weights: UnsafeRawPointer
        let c: UnsafeMutableRawPointer
        let ldc: Int
        let extras: CompiledMatMulKernel.CallExtras
    }

    public static func run(_ kernel: CompiledMatMulKernel, a: UnsafeRawPointer, lda: Int, weights: UnsafeRawPointer,
                           c: UnsafeMutableRawPointer, ldc: Int, m: Int, pool: ThreadPool?,
                           extras: CompiledMatMulKernel.CallExtras = .init()) {
        let layout = kernel.layout
        // One thread: straight to the kernel, nothing computed per call.
        guard let pool else {
            kernel.runUnchecked(a: a, lda: lda, weights: weights, c: c, ldc: ldc, rows: 0..<m, panels: 0..<layout.panels, extras: extras)
            return
        }
        let partition = WorkPartition.matMul(rows: m, panels: layout.panels, k: kernel.op.k, panelWidth: layout.panelWidth,
                                             rowTile: kernel.schedule.rowsPerTile, threads: pool.threadCount)
        guard partition.taskCount > 1 else {
            kernel.runUnchecked(a: a, lda: lda, weights: weights, c: c, ldc: ldc, rows: 0..<m, panels: 0..<layout.panels, extras: extras)
            return
        }
        let call = Call(kernel: kernel, a: a, lda: lda, weights: weights, c: c, ldc: ldc, extras: extras)
        pool.run(tasks: partition.taskCount) { task in
            let (rows, panels) = partition.task(task)
            call.kernel.runUnchecked(a: call.a, lda: call.lda, weights: call.weights, c: call.c, ldc: call.ldc, rows: rows, panels: panels,
                                     extras: call.extras)
        }
    }
}
