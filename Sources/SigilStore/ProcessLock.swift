import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on the SQLite database file itself (so symlinks, hard links and bind
/// mounts of it share the lock; SQLite's own locks are POSIX record locks, independent of it).
/// An SQLite store is served by one process (replicas use PostgreSQL); a second `sigil serve` on
/// the same file is refused with a clear error instead of running with caches the first process
/// would make stale.
final class ProcessLock: Sendable {
    let descriptor: Int32

    init(path: String) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError.invalidLocation("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw StoreError.invalidLocation(
                "another sigil process is serving the SQLite store \(path); one process serves an SQLite store (use --database postgres://… for several)")
        }
        self.descriptor = descriptor
    }

    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
