import CQuantSupport
import Foundation
import Synchronization

/// A fork-join pool for kernels: `run(tasks:)` executes `body(0..<tasks)` on the caller and the
/// pool's workers and returns when all are done. Idle workers spin briefly on an atomic generation
/// counter (sub-microsecond hand-off between back-to-back calls), then sleep on a condition.
/// Tasks are claimed under a lock, so a worker that arrives late can never run a stale task.
/// A pool of one thread has no workers and no synchronization at all.
public final class ThreadPool: @unchecked Sendable {
    /// Participants: the caller plus `threadCount - 1` workers.
    public let threadCount: Int
    private let state = State()
    /// Serializes callers: one fork-join at a time.
    private let callLock = NSLock()

    /// The most threads one pool (and so one engine, autotuner or C context) may use: four per
    /// processor this process may run on, at most 256. More only contend, and an unbounded count
    /// from outside would start threads until the system's process limit.
    public static let threadLimit = min(256, 4 * max(1, ProcessInfo.processInfo.activeProcessorCount))

    public init(threads: Int) {
        threadCount = min(Self.threadLimit, max(1, threads))
        for index in 1..<threadCount {
            // Workers keep the state alive, not the pool: deinit only asks them to stop.
            let thread = Thread { [state] in state.workerLoop() }
            thread.name = "qforge-worker-\(index)"
            thread.start()
        }
    }

    deinit { state.stop() }

    /// Runs `body(i)` for every i in 0..<tasks across the pool; returns when all have finished.
    /// (Escaping because a worker may still hold the closure for an instant after its last task;
    /// the pool is only used for work large enough that the closure's allocation does not matter.)
    public func run(tasks: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard tasks > 1, threadCount > 1 else {
            for task in 0..<tasks { body(task) }
            return
        }
        callLock.lock()
        defer { callLock.unlock() }
        state.fork(tasks: tasks, body)
    }

    private final class State: @unchecked Sendable {
        let generation = Atomic<Int>(0)
        let pending = Atomic<Int>(0)
        let condition = NSCondition()
        var job: (@Sendable (Int) -> Void)?
        var nextTask = 0
        var taskCount = 0
        var sleepers = 0
        var stopping = false
        /// How long an idle worker spins before it sleeps (about 50–100 µs).
        static let spinIterations = 20_000

        func fork(tasks: Int, _ body: @escaping @Sendable (Int) -> Void) {
            condition.lock()
            job = body
            nextTask = 0
            taskCount = tasks
            pending.store(tasks, ordering: .relaxed)
            let wake = sleepers > 0
            condition.unlock()
            generation.add(1, ordering: .releasing)
            if wake {
                condition.lock()
                condition.broadcast()
                condition.unlock()
            }
            workOnTasks()
            while pending.load(ordering: .acquiring) > 0 { qf_cpu_relax() }
            condition.lock()
            job = nil
            condition.unlock()
        }

        func stop() {
            condition.lock()
            stopping = true
            condition.broadcast()
            condition.unlock()
            generation.add(1, ordering: .releasing)
        }

        private func claim() -> (Int, @Sendable (Int) -> Void)? {
            condition.lock()
            defer { condition.unlock() }
            guard let job, nextTask < taskCount else { return nil }
            nextTask += 1
            return (nextTask - 1, job)
        }

        private func workOnTasks() {
            while let (task, body) = claim() {
                body(task)
                pending.subtract(1, ordering: .releasing)
            }
        }

        func workerLoop() {
            var seen = generation.load(ordering: .acquiring)
            while true {
                var spins = 0
                while generation.load(ordering: .acquiring) == seen {
                    spins += 1
                    if spins < Self.spinIterations { qf_cpu_relax(); continue }
                    condition.lock()
                    sleepers += 1
                    while generation.load(ordering: .acquiring) == seen && !stopping { condition.wait() }
                    sleepers -= 1
                    condition.unlock()
                    break
                }
                seen = generation.load(ordering: .acquiring)
                condition.lock()
                let stop = stopping
                condition.unlock()
                if stop { return }
                workOnTasks()
            }
        }
    }
}
