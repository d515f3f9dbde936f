import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a file line by line through a fixed buffer, hashing every byte on the way, so a parser's memory is
/// bounded by what it keeps, not by the file's size.
///
/// Hand-written because Foundation's line APIs on Linux build a `String` per line (slow for 10 MB dumps and
/// lossy for invalid UTF-8), and the digest of the file must come from the same single read.
struct LineReader {
    let path: String
    private let fd: Int32
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var atEOF = false
    private let hasher = BackgroundHasher()
    /// Bytes read so far.
    private(set) var bytesRead = 0
    /// The 1-based number of the line last returned.
    private(set) var lineNumber = 0
    /// Whether the last line returned ended with a newline (false only for a final, unterminated line).
    private(set) var lastLineTerminated = true

    /// - Parameter bufferSize: the buffer for files of unknown size and large ones; a smaller regular file gets a
    ///   buffer of its own size, since zeroing a megabyte costs more than parsing a task dump of a few lines.
    /// - Throws: `InputError.cannotOpen` when the file cannot be opened for reading.
    init(path: String, bufferSize: Int = 1 << 20) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw InputError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        let known = fstat(fd, &info) == 0
        if known, (info.st_mode & S_IFMT) == S_IFDIR {
            _ = systemClose(fd)
            throw InputError.cannotOpen(path: path, reason: "is a directory")
        }
        self.fd = fd
        // One byte more than the file, so the read that finds the end needs no growth. A file that grows while
        // it is read still works: `fill` grows the buffer when a line fills it.
        let isSmallFile = known && (info.st_mode & S_IFMT) == S_IFREG && Int(info.st_size) < bufferSize
        self.buffer = [UInt8](repeating: 0, count: isSmallFile ? Int(info.st_size) + 1 : bufferSize)
    }

    /// Closes the file. Call once when done.
    func close() { _ = systemClose(fd) }

    /// Calls `body` with the next line (without its newline and any trailing `\r`) and its 1-based number, or
    /// returns nil at the end.
    ///
    /// A line longer than the buffer grows the buffer; nothing else allocates.
    mutating func nextLine<R>(_ body: (UnsafeBufferPointer<UInt8>, Int) throws -> R) throws -> R? {
        while true {
            // Look for a newline in the unread part.
            if let newline = buffer[start..<end].firstIndex(of: UInt8(ascii: "\n")) {
                lineNumber += 1
                lastLineTerminated = true
                let lineStart = start
                start = newline + 1
                var lineEnd = newline
                if lineEnd > lineStart && buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                return try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[lineStart..<lineEnd]), lineNumber) }
            }
            if atEOF {
                guard start < end else { return nil }
                lineNumber += 1
                lastLineTerminated = false
                let lineStart = start
                start = end
                // A file cut between "\r" and "\n" still ends its last line without the "\r".
                var lineEnd = end
                if lineEnd > lineStart && buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                return try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[lineStart..<lineEnd]), lineNumber) }
            }
            try fill()
        }
    }

    /// The SHA-256 of everything read; call after the last line.
    mutating func finalizeDigest() -> String {
        hasher.finalize()
    }

    private mutating func fill() throws {
        // Move the unread tail to the front, growing the buffer if one line fills it.
        if start > 0 {
            let count = end - start
            if count > 0 { buffer.withUnsafeMutableBufferPointer { p in
                _ = memmove(p.baseAddress!, p.baseAddress! + start, count)
            } }
            start = 0
            end = count
        }
        if end == buffer.count { buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count)) }
        let capacity = buffer.count - end
        let n = buffer.withUnsafeMutableBufferPointer { p in read(fd, p.baseAddress! + end, capacity) }
        if n < 0 {
            if errno == EINTR { return }
            throw InputError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        if n == 0 { atEOF = true; return }
        let filled = end
        hasher.update(Array(buffer[filled..<(filled + n)]))
        end += n
        bytesRead += n
    }
}

/// SHA-256 computed on another thread while the parser works on the same bytes: hashing a 10 MB dump costs
/// about as much as parsing it, and the machines this runs on have a second core.
private final class BackgroundHasher: @unchecked Sendable {
    private let queue = DispatchQueue(label: "profhist.digest")
    /// Touched only on `queue`.
    private var hasher = SHA256()

    func update(_ chunk: [UInt8]) {
        queue.async { self.hasher.update(data: chunk) }
    }

    /// Waits for every chunk, then returns the digest as lower-case hex.
    func finalize() -> String {
        queue.sync { hasher.finalize().map { String(format: "%02x", $0) }.joined() }
    }
}

@inline(__always) private func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
        return Glibc.close(fd)
    #elseif canImport(Musl)
        return Musl.close(fd)
    #else
        return Darwin.close(fd)
    #endif
}
