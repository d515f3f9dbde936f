import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Standard output and standard error, written with `write(2)` and checked.
///
/// Foundation's `FileHandle.write` traps on any error (a full disk, `/dev/full`, a closed pipe, a closed stderr:
/// exit 132 with a backtrace), and `print` drops errors silently; neither is acceptable for a tool whose output
/// feeds scripts. Output errors are fatal to the command: the first one calls `onFailure`, which the executable
/// sets to remove temporary files, say why on stderr (not for EPIPE: a reader that stopped reading ends the
/// command quietly) and exit with the command's failure status.
public enum StandardStreams {
    /// Called once with the error of a failed standard-output write; must not return (it exits).
    nonisolated(unsafe) public static var onFailure: (OutputError) -> Never = { error in
        TemporaryFileCleanup.removeAll()
        if case .brokenPipe = error { exit(1) }
        writeError("profhist: error: \(error.localizedDescription)")
        exit(1)
    }

    /// Whether standard output was closed when the process started (`>&-`).
    nonisolated(unsafe) private static var outputClosed = false

    /// Makes descriptors 0, 1 and 2 valid before anything else opens a file: with stderr closed (`2>&-`) the
    /// next file opened would become descriptor 2 and receive the error messages. Closed ones get `/dev/null`;
    /// a closed stdout is remembered, so the first write to it is an error rather than silently lost.
    public static func secureDescriptors() {
        for fd in Int32(0)...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            if null >= 0 && null != fd {
                dup2(null, fd)
                close(null)
            }
            if fd == 1 { outputClosed = true }
        }
    }

    /// Writes `text` to standard output; a failure ends the process through `onFailure`.
    public static func write(_ text: String) {
        if outputClosed { onFailure(.writeFailed(path: "standard output", reason: "it is closed")) }
        var text = text
        let code = text.withUTF8 { writeAll(1, UnsafeRawBufferPointer($0)) }
        if code != 0 { onFailure(OutputError.write(path: "standard output", code: code)) }
    }

    /// Writes binary `data` (a gzipped profile) to standard output; failures as for `write(_ text:)`.
    public static func write(_ data: Data) {
        if outputClosed { onFailure(.writeFailed(path: "standard output", reason: "it is closed")) }
        let code = data.withUnsafeBytes { writeAll(1, $0) }
        if code != 0 { onFailure(OutputError.write(path: "standard output", code: code)) }
    }

    /// Writes a line to standard error; errors are ignored (there is nowhere left to report them).
    public static func writeError(_ line: String) {
        var text = line + "\n"
        _ = text.withUTF8 { writeAll(2, UnsafeRawBufferPointer($0)) }
    }

    /// Writes to standard error without a newline (progress lines); errors are ignored.
    public static func writeErrorRaw(_ text: String) {
        var text = text
        _ = text.withUTF8 { writeAll(2, UnsafeRawBufferPointer($0)) }
    }
}
