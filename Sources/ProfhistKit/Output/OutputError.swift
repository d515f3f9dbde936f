import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why output could not be written: the errors of the Output stage.
public enum OutputError: LocalizedError, Equatable {
    /// The output path is the store itself (or its WAL or shared-memory file): writing would destroy it.
    case isTheStore(path: String, store: String)
    /// The folder the output would go into does not exist.
    case missingFolder(path: String, folder: String)
    /// The output path is a folder.
    case isADirectory(path: String)
    /// The output cannot be opened or created.
    case cannotOpen(path: String, reason: String)
    /// A write (or the final flush) failed: a full disk, `/dev/full`, an I/O error.
    case writeFailed(path: String, reason: String)
    /// The reader went away (EPIPE): the caller ends quietly, as Unix tools do.
    case brokenPipe(path: String)

    public var errorDescription: String? {
        switch self {
        case .isTheStore(let path, let store):
            return "\(path): refusing to write output over the store (\(store)): choose another --output path"
        case .missingFolder(let path, let folder):
            return "\(path): cannot write: the folder \(folder) does not exist"
        case .isADirectory(let path):
            return "\(path): cannot write: is a directory"
        case .cannotOpen(let path, let reason):
            return "\(path): cannot write: \(reason)"
        case .writeFailed(let path, let reason):
            return "\(path): write failed: \(reason)"
        case .brokenPipe(let path):
            return "\(path): the reader closed the pipe"
        }
    }

    /// The error for a failed write with `code` (errno).
    static func write(path: String, code: Int32) -> OutputError {
        code == EPIPE ? .brokenPipe(path: path) : .writeFailed(path: path, reason: describe(errno: code))
    }

    /// `strerror` in the lower case of our messages ("no space left on device").
    public static func describe(errno code: Int32) -> String {
        let text = String(cString: strerror(code))
        guard let first = text.first else { return text }
        return first.lowercased() + text.dropFirst()
    }
}

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
/// - Returns: 0, or the errno of the failed write.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        if n == 0 { return EIO }
        offset += n
    }
    return 0
}
