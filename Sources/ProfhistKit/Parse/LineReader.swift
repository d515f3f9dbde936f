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
    private let input: InputSource
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var atEOF = false
    private let hasher = BackgroundHasher()
    /// The longest line accepted: a line with no newline in sight (a crash-damaged dump full of zero bytes,
    /// `/dev/zero`) is refused here instead of growing the buffer until memory runs out.
    let maxLineLength: Int
    /// The default `maxLineLength`: far beyond any line of the formats read (a heap dump line is a stack of
    /// addresses; a console JSON line is one update), small enough to keep a reader well under 100 MB.
    static let defaultMaxLineLength = 16 << 20
    /// Bytes read so far.
    private(set) var bytesRead = 0
    /// The 1-based number of the line last returned.
    private(set) var lineNumber = 0
    /// Whether the last line returned ended with a newline (false only for a final, unterminated line).
    private(set) var lastLineTerminated = true

    /// - Parameter bufferSize: the buffer for files of unknown size and large ones; a smaller regular file gets a
    ///   buffer of its own size, since zeroing a megabyte costs more than parsing a task dump of a few lines.
    /// - Throws: `InputError.cannotOpen` when the file cannot be opened for reading.
    init(path: String, bufferSize: Int = 1 << 20, maxLineLength: Int = LineReader.defaultMaxLineLength) throws {
        try self.init(input: InputSource.open(path: path), bufferSize: bufferSize, maxLineLength: maxLineLength)
    }

    /// Reads `input` from where it stands (bytes it peeked come first).
    init(input: InputSource, bufferSize: Int = 1 << 20, maxLineLength: Int = LineReader.defaultMaxLineLength) {
        self.path = input.path
        self.input = input
        self.maxLineLength = max(maxLineLength, 2)
        // One byte more than the file, so the read that finds the end needs no growth. A file that grows while
        // it is read still works: `fill` grows the buffer when a line fills it.
        let size = input.fileSize.map { $0 < bufferSize ? $0 + 1 : bufferSize } ?? bufferSize
        self.buffer = [UInt8](repeating: 0, count: min(max(size, 2), self.maxLineLength))
    }

    /// Closes the file. Call once when done.
    func close() { input.close() }

    /// Calls `body` with the next line (without its newline and any trailing `\r`) and its 1-based number, or
    /// returns nil at the end.
    ///
    /// A line longer than the buffer grows the buffer, up to `maxLineLength`; nothing else allocates.
    /// - Throws: `InputError.malformed` naming the line and the limit for a longer line.
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
        if end == buffer.count {
            guard buffer.count < maxLineLength else {
                throw InputError.malformed(
                    path: path, line: lineNumber + 1,
                    message: "line longer than \(ByteCount.human(Double(maxLineLength))) (the limit) with no end: "
                        + "a damaged or truncated file, or not a dump")
            }
            buffer.append(contentsOf: [UInt8](repeating: 0, count: min(buffer.count, maxLineLength - buffer.count)))
        }
        let capacity = buffer.count - end
        let n = try buffer.withUnsafeMutableBytes { p in
            try input.read(into: UnsafeMutableRawBufferPointer(rebasing: p[end..<(end + capacity)]))
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
