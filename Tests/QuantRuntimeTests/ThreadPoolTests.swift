import Foundation
import Synchronization
import Testing
@testable import QuantRuntime

struct ThreadPoolTests {
    @Test func everyTaskRunsExactlyOnce() {
        for threads in [1, 2, 4] {
            let pool = ThreadPool(threads: threads)
            for round in 0..<2000 {
                let tasks = round % 7 + 1
                let counts = Locked([Int](repeating: 0, count: tasks))
                pool.run(tasks: tasks) { task in counts.withLock { $0[task] += 1 } }
                #expect(counts.withLock { $0.allSatisfy { $0 == 1 } }, "threads \(threads) round \(round)")
            }
        }
    }

    @Test func workersReallyRunInParallel() {
        let pool = ThreadPool(threads: 2)
        let threads = Locked(Set<UInt>())
        for _ in 0..<200 {
            pool.run(tasks: 2) { _ in
                let me = UInt(pthread_self())
                threads.withLock { _ = $0.insert(me) }
                Thread.sleep(forTimeInterval: 0.0002)
            }
        }
        #expect(threads.withLock { $0.count } >= 2)
    }

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    @Test func concurrentCallersTakeTurns() async {
        let pool = ThreadPool(threads: 2)
        let total = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<100 { pool.run(tasks: 3) { _ in total.value.add(1, ordering: .relaxed) } } }
            }
        }
        #expect(total.value.load(ordering: .relaxed) == 8 * 100 * 3)
    }

    @Test func poolsComeAndGo() {
        for _ in 0..<50 {
            let pool = ThreadPool(threads: 3)
            pool.run(tasks: 3) { _ in }
        }
    }
}

struct WorkPartitionTests {
    @Test func partitionsCoverTheOutputExactly() {
        for (m, panels, threads, tile) in [(128, 12, 2, 6), (1, 64, 2, 1), (100, 1, 2, 4), (7, 1, 4, 4), (3, 2, 8, 2), (1000, 3, 4, 6)] {
            let partition = WorkPartition.matMul(rows: m, panels: panels, k: 1024, panelWidth: 64, rowTile: tile, threads: threads)
            var covered = [Int](repeating: 0, count: m * panels)
            for task in 0..<partition.taskCount {
                let (rows, panelRange) = partition.task(task)
                if partition.rows.count > 1 { #expect(rows.lowerBound % tile == 0) }
                for r in rows { for p in panelRange { covered[r * panels + p] += 1 } }
            }
            #expect(covered.allSatisfy { $0 == 1 }, "M \(m) panels \(panels) threads \(threads)")
            #expect(partition.taskCount <= threads)
        }
    }

    @Test func smallProblemsStayOnOneThread() {
        let partition = WorkPartition.matMul(rows: 4, panels: 4, k: 16, panelWidth: 64, rowTile: 4, threads: 2)
        #expect(partition.taskCount == 1)
    }
}

/// A value behind an NSLock. Not Synchronization.Mutex: its futex is invisible to ThreadSanitizer,
/// which then reports false races under tools/tsan.sh; pthread mutexes are understood.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
