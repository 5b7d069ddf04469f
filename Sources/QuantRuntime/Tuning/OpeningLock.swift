import Foundation
import QuantOps
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An advisory lock (`flock`) on `<database>.lock` that serializes opening one tuning database
/// across threads and processes.
///
/// Opening creates the file, switches it to WAL, creates the tables, and may move a bad file aside.
/// Two openers doing that at once can deadlock inside SQLite — both hold a shared lock and want the
/// exclusive one for the WAL switch — and SQLite then answers `SQLITE_BUSY` at once, without waiting
/// out the busy timeout. Only opening takes this lock; reads and writes rely on SQLite's own locking.
final class OpeningLock {
    private var descriptor: Int32

    /// Waits up to `timeout` seconds for the lock. Returns nil when the lock file cannot be created
    /// (a read-only directory): the caller then opens without it, as it would have before.
    init?(databasePath: String, timeout: TimeInterval = 30) throws(QuantError) {
        let lockPath = databasePath + ".lock"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if descriptor < 0 { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno
            if reason != EWOULDBLOCK && reason != EINTR {
                close(descriptor)
                return nil
            }
            if Date() >= deadline {
                close(descriptor)
                throw .tuningDatabase(path: databasePath,
                                      reason: "another process held \(lockPath) for more than \(Int(timeout)) s while opening the database")
            }
            usleep(5_000)
        }
        self.descriptor = descriptor
    }

    /// Unlocks; also done on deinit if not called.
    func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
