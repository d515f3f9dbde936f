import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whether an `ingest` is writing to a store: each ingest process holds a shared `flock` on the store file from
/// its first write to its exit, and `check` asks for an exclusive one without waiting. A build whose files are
/// still arriving would otherwise be judged half-ingested.
///
/// `flock` locks are separate from the POSIX record locks SQLite uses (on local file systems; network ones are
/// refused for writers). The descriptor is deliberately never closed: closing any descriptor of a file drops
/// every POSIX lock the process holds on it, SQLite's included. It is opened before SQLite's own use and lives
/// until the process exits.
public enum IngestInFlight {
    nonisolated(unsafe) private static var held: Int32 = -1

    /// Marks this process as ingesting into the store at `path` (once per process; errors are ignored: the mark
    /// only informs `check`).
    public static func mark(storePath path: String) {
        guard held < 0 else { return }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = flock(fd, LOCK_SH | LOCK_NB)
        held = fd
    }

    /// Whether another process is ingesting into the store at `path` right now.
    public static func isActive(storePath path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        // Kept open (see the type's discussion); one descriptor per call, and check calls once.
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            _ = flock(fd, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }
}
