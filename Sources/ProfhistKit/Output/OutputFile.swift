import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one way profhist writes a file the user names (`export --output`, `check --summary`, `report --output`).
///
/// - A regular file (or a new one) is written atomically: everything goes to `.NAME.PID.tmp` beside it, renamed
///   over the target only when complete and flushed, so a reader never sees half a file and a failed write leaves
///   the old one. The temporary file is removed on every exit path: an error, `abandon()`, and SIGINT, SIGTERM,
///   SIGHUP or SIGPIPE (see `TemporaryFileCleanup`).
/// - Anything else (a device, a FIFO, a symlink to one, `/dev/stdout`, `/proc/self/fd/N`) is opened and written
///   directly: renaming over it would replace `/dev/null` with a regular file or a symlink with a copy.
/// - The store itself (same device and inode as the store, its `-wal` or its `-shm` file, however it is named) is
///   refused before anything is opened.
///
/// Writes never crash and never print: the first failure is kept, later writes are skipped, and `commit()`
/// throws it (`OutputError.writeFailed`, or `.brokenPipe` for a reader that went away), after removing the
/// temporary file.
///
/// ```swift
/// let file = try OutputFile(path: output, protecting: storePath)
/// file.write("a,b\n")
/// try file.commit()       // or file.abandon() on an error of your own
/// ```
public final class OutputFile {
    /// The path as the user gave it (for messages).
    public let path: String
    /// Where bytes go until `commit()`: the temporary file, or the target itself when written directly.
    private let writtenPath: String
    /// The final path to rename to; nil when written directly.
    private let renameTarget: String?
    private var fd: Int32
    private var failure: OutputError?

    /// Opens `path` for writing.
    /// - Parameters:
    ///   - path: the file to write.
    ///   - storePath: the store in use; an output that is the same file (or its WAL or SHM file) is refused.
    ///   - append: add to the end of an existing file instead of replacing it (a CI step summary), written
    ///     directly: an append cannot be made atomic by a rename.
    /// - Throws: `OutputError` naming the path and the cause.
    public init(path: String, protecting storePath: String?, append: Bool = false) throws {
        self.path = path
        if let storePath { try OutputFile.refuseStore(output: path, store: storePath) }
        let target = try OutputFile.classify(path)
        if append || target.direct {
            let flags = O_WRONLY | O_CLOEXEC | (target.exists ? (target.regular ? O_APPEND : 0) : O_CREAT)
            fd = open(path, flags, 0o644)
            guard fd >= 0 else { throw OutputError.cannotOpen(path: path, reason: OutputError.describe(errno: errno)) }
            writtenPath = path
            renameTarget = nil
            return
        }
        let url = URL(fileURLWithPath: target.renameTo)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
        // Registered before it exists, so a signal between open and register cannot leave it behind.
        TemporaryFileCleanup.register(temporary)
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let reason = OutputError.describe(errno: errno)
            TemporaryFileCleanup.unregister(temporary)
            throw OutputError.cannotOpen(path: path, reason: "cannot create a file in \(url.deletingLastPathComponent().path): \(reason)")
        }
        writtenPath = temporary
        renameTarget = target.renameTo
    }

    deinit {
        if fd >= 0 { abandon() }
    }

    /// Appends `text`; a failure is kept for `commit()` and later writes are skipped.
    public func write(_ text: String) {
        guard failure == nil, fd >= 0 else { return }
        var text = text
        let code = text.withUTF8 { writeAll(fd, UnsafeRawBufferPointer($0)) }
        if code != 0 { failure = OutputError.write(path: path, code: code) }
    }

    /// Appends `data` (binary output such as a gzipped pprof profile); failures as for `write(_ text:)`.
    public func write(_ data: Data) {
        guard failure == nil, fd >= 0 else { return }
        let code = data.withUnsafeBytes { writeAll(fd, $0) }
        if code != 0 { failure = OutputError.write(path: path, code: code) }
    }

    /// Whether a write has failed (a caller producing output for long may stop early).
    public var hasFailed: Bool { failure != nil }

    /// Flushes the file and moves it into place.
    /// - Throws: the first write error, or the flush or rename error; the temporary file is then removed.
    public func commit() throws {
        if let failure {
            abandon()
            throw failure
        }
        if renameTarget != nil, fsync(fd) != 0 {
            let error = OutputError.writeFailed(path: path, reason: OutputError.describe(errno: errno))
            abandon()
            throw error
        }
        let closed = close(fd)
        let closeError = errno
        fd = -1
        if closed != 0 && closeError != EINTR {
            removeTemporary()
            throw OutputError.writeFailed(path: path, reason: OutputError.describe(errno: closeError))
        }
        guard let renameTarget else { return }
        if rename(writtenPath, renameTarget) != 0 {
            let reason = OutputError.describe(errno: errno)
            removeTemporary()
            throw OutputError.cannotOpen(path: path, reason: reason)
        }
        TemporaryFileCleanup.unregister(writtenPath)
    }

    /// Closes and removes the temporary file (after a failure); a direct write stays as far as it got.
    public func abandon() {
        if fd >= 0 { close(fd) }
        fd = -1
        removeTemporary()
    }

    private func removeTemporary() {
        guard renameTarget != nil else { return }
        unlink(writtenPath)
        TemporaryFileCleanup.unregister(writtenPath)
    }

    // MARK: - Checks

    /// What is at `path` and how to write it.
    struct Target {
        var exists: Bool
        var regular: Bool
        var direct: Bool
        /// The regular file a rename replaces (a symlink's resolved target, so the link stays a link).
        var renameTo: String
    }

    static func classify(_ path: String) throws -> Target {
        var link = stat()
        guard lstat(path, &link) == 0 else {
            let code = errno
            if code == ENOENT {
                let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
                var info = stat()
                if stat(folder, &info) != 0 { throw OutputError.missingFolder(path: path, folder: folder) }
                if (info.st_mode & S_IFMT) != S_IFDIR { throw OutputError.cannotOpen(path: path, reason: "\(folder) is not a folder") }
                return Target(exists: false, regular: false, direct: false, renameTo: path)
            }
            throw OutputError.cannotOpen(path: path, reason: OutputError.describe(errno: code))
        }
        var info = stat()
        if stat(path, &info) != 0 {
            let code = errno
            if code == ELOOP { throw OutputError.cannotOpen(path: path, reason: "symbolic link loop") }
            // A dangling symlink: create the file it names, through the link.
            return Target(exists: false, regular: false, direct: true, renameTo: path)
        }
        let type = info.st_mode & S_IFMT
        if type == S_IFDIR { throw OutputError.isADirectory(path: path) }
        guard type == S_IFREG else { return Target(exists: true, regular: false, direct: true, renameTo: path) }
        if (link.st_mode & S_IFMT) != S_IFLNK { return Target(exists: true, regular: true, direct: false, renameTo: path) }
        // A symlink to a regular file: through /proc (/dev/stdout, /proc/self/fd/1) it is an open descriptor of
        // this process, written directly; otherwise the file it names is replaced and the link kept.
        guard let resolved = realpath(path, nil) else { return Target(exists: true, regular: true, direct: true, renameTo: path) }
        defer { free(resolved) }
        let real = String(cString: resolved)
        let viaProc = path.hasPrefix("/dev/") || path.hasPrefix("/proc/") || OutputFile.linkChain(path).contains { $0.hasPrefix("/proc/") }
        return Target(exists: true, regular: true, direct: viaProc, renameTo: real)
    }

    /// The targets of the symlinks met resolving `path` (at most 40, as the kernel allows).
    static func linkChain(_ path: String) -> [String] {
        var chain: [String] = []
        var current = path
        for _ in 0..<40 {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { break }
            current = target.hasPrefix("/") ? target : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(target).path
            chain.append(current)
        }
        return chain
    }

    /// Throws `isTheStore` when `output` is the store file, its WAL or its shared-memory file.
    public static func refuseStore(output: String, store: String) throws {
        var out = stat()
        guard stat(output, &out) == 0 else { return }
        for file in [store, store + "-wal", store + "-shm", store + "-journal"] {
            var info = stat()
            if stat(file, &info) == 0, info.st_dev == out.st_dev, info.st_ino == out.st_ino {
                throw OutputError.isTheStore(path: output, store: store)
            }
        }
    }
}
