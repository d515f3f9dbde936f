import CGzip
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One input file opened once: a path, `-` (standard input), `/dev/stdin`, a FIFO or a process substitution.
///
/// Format detection looks at the first bytes through `peek`, and the parser then gets those same bytes followed
/// by the rest: nothing is read twice, so a pipe is consumed exactly once. Gzip-compressed input (magic `1f 8b`)
/// is decompressed on the way, so detection, parsing and the digest all see the uncompressed bytes.
public final class InputSource {
    /// Bytes read from a file or pipe at a time (64 KiB: a pipe's capacity on Linux, and few system calls).
    static let chunkSize = 1 << 16
    /// The name for messages: the path as given (`-` for standard input).
    public let path: String
    private var fd: Int32
    private let ownsDescriptor: Bool
    /// Bytes peeked and not yet handed to `read`.
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var inflater: GzipInflater?
    private var rawEOF = false
    /// The file's modification time (epoch milliseconds); nil for pipes and terminals, which have none worth using.
    public let modificationTime: Int64?
    /// Whether the file is regular (its size is known, it can be read again).
    public let isRegularFile: Bool
    /// The size of a regular file, else nil.
    public let fileSize: Int?

    /// Opens `path` (`-`: standard input).
    /// - Throws: `InputError.cannotOpen` naming the real cause (no such file, a symbolic link loop, a directory,
    ///   permission denied).
    public static func open(path: String) throws -> InputSource {
        if path == "-" { return try InputSource(path: path, fd: 0, owns: false) }
        let fd = systemOpen(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw InputError.cannotOpen(path: path, reason: InputSource.reason(errno: errno)) }
        return try InputSource(path: path, fd: fd, owns: true)
    }

    private init(path: String, fd: Int32, owns: Bool) throws {
        self.path = path
        self.fd = fd
        self.ownsDescriptor = owns
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = InputSource.reason(errno: errno)
            if owns { _ = systemClose(fd) }
            throw InputError.cannotOpen(path: path, reason: reason)
        }
        let type = info.st_mode & S_IFMT
        if type == S_IFDIR {
            if owns { _ = systemClose(fd) }
            throw InputError.cannotOpen(path: path, reason: "is a directory, expected a dump file")
        }
        isRegularFile = type == S_IFREG
        fileSize = isRegularFile ? Int(info.st_size) : nil
        #if canImport(Darwin)
            let seconds = Int64(info.st_mtimespec.tv_sec), nanos = Int64(info.st_mtimespec.tv_nsec)
        #else
            let seconds = Int64(info.st_mtim.tv_sec), nanos = Int64(info.st_mtim.tv_nsec)
        #endif
        modificationTime = type == S_IFIFO || type == S_IFCHR || type == S_IFSOCK ? nil : seconds * 1000 + nanos / 1_000_000
    }

    deinit { close() }

    /// Closes the file (standard input stays open). Safe to call more than once.
    public func close() {
        if ownsDescriptor && fd >= 0 { _ = systemClose(fd) }
        fd = -1
        inflater = nil
    }

    /// The first `count` bytes (fewer at the end of the input), kept for the next `read`s.
    /// - Throws: `InputError.cannotOpen` on a read error, `.malformed` on damaged gzip data.
    public func peek(_ count: Int) throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while pending.count - pendingStart < count {
            let n = try chunk.withUnsafeMutableBytes { try readSource(into: $0) }
            if n == 0 { break }
            pending.append(contentsOf: chunk[0..<n])
        }
        return Array(pending[pendingStart..<min(pending.count, pendingStart + count)])
    }

    /// Reads into `buffer`: peeked bytes first, then the rest of the input.
    /// - Returns: the byte count; 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if pendingStart < pending.count {
            let n = min(buffer.count, pending.count - pendingStart)
            pending.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + pendingStart, byteCount: n)
            }
            pendingStart += n
            if pendingStart == pending.count {
                pending = []
                pendingStart = 0
            }
            return n
        }
        return try readSource(into: buffer)
    }

    /// Reads the rest of the input (decompressed) into memory, for binary formats decoded whole (pprof).
    /// - Parameter limit: the most bytes accepted; a longer input is an error naming the file and the limit.
    /// - Throws: `InputError` on a read error, damaged gzip data or an input over `limit`.
    public func readAll(limit: Int) throws -> Data {
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: InputSource.chunkSize)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return data }
            guard data.count + n <= limit else {
                throw InputError.malformed(path: path, line: 1, message: "more than \(limit) bytes (decompressed): refused")
            }
            data.append(contentsOf: chunk[0..<n])
        }
    }

    /// Reads decompressed bytes (the first read decides whether the input is gzip).
    private func readSource(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if !decided {
            decided = true
            var magic = [UInt8](repeating: 0, count: 2)
            let n = try magic.withUnsafeMutableBytes { try readRawFully($0) }
            if n == 2 && magic[0] == 0x1F && magic[1] == 0x8B {
                inflater = try GzipInflater(path: path, initial: magic)
            } else {
                rawPrefix = Array(magic[0..<n])
            }
        }
        if let inflater { return try inflater.inflate(into: buffer) { raw in try self.readRaw(into: raw) } }
        if !rawPrefix.isEmpty {
            let n = min(buffer.count, rawPrefix.count)
            buffer.baseAddress!.copyMemory(from: rawPrefix, byteCount: n)
            rawPrefix.removeFirst(n)
            return n
        }
        return try readRaw(into: buffer)
    }

    private var decided = false
    /// The bytes read to look for the gzip magic, when it was not there.
    private var rawPrefix: [UInt8] = []

    /// Whether the input was gzip-compressed (known after the first read or peek).
    public var isCompressed: Bool { inflater != nil }

    private func readRaw(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard fd >= 0, !rawEOF else { return 0 }
        while true {
            let n = systemRead(fd, buffer.baseAddress!, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw InputError.cannotOpen(path: path, reason: InputSource.reason(errno: errno))
            }
            if n == 0 { rawEOF = true }
            return n
        }
    }

    /// Reads until `buffer` is full or the input ends (a pipe delivers in pieces).
    private func readRawFully(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = try readRaw(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// `strerror`, with the causes users meet named plainly.
    static func reason(errno code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case ELOOP: return "symbolic link loop (or too many levels of links)"
        case EISDIR: return "is a directory, expected a dump file"
        case EACCES, EPERM: return "permission denied"
        default:
            let text = String(cString: strerror(code))
            return (text.first?.lowercased() ?? "") + text.dropFirst()
        }
    }
}

/// Streams gzip (RFC 1952, several members allowed, as `cat a.gz b.gz` makes) through zlib's inflate.
final class GzipInflater {
    private let path: String
    private var stream = z_stream()
    private var input = [UInt8](repeating: 0, count: 65536)
    private var inputCount = 0
    private var finished = false
    private var rawEnded = false
    /// Between two gzip members (or before the first byte of the first): the input may end here.
    private var atMemberBoundary = false

    init(path: String, initial: [UInt8]) throws {
        self.path = path
        // 15 + 16: a gzip wrapper, the largest window.
        guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw InputError.cannotOpen(path: path, reason: "cannot start gzip decompression")
        }
        input.replaceSubrange(0..<initial.count, with: initial)
        inputCount = initial.count
        stream.avail_in = UInt32(initial.count)
    }

    deinit { inflateEnd(&stream) }

    /// Decompresses into `buffer`, reading compressed bytes through `readRaw` as needed.
    func inflate(into buffer: UnsafeMutableRawBufferPointer, readRaw: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Int {
        while !finished {
            if stream.avail_in == 0 && !rawEnded {
                let n = try input.withUnsafeMutableBytes { try readRaw($0) }
                if n == 0 { rawEnded = true }
                inputCount = n
                stream.avail_in = UInt32(n)
            }
            if stream.avail_in == 0 && rawEnded {
                // The input ended: cleanly between members, or inside one.
                if atMemberBoundary { finished = true; return 0 }
                throw InputError.cannotOpen(path: path, reason: "the gzip data ends early (a truncated .gz file)")
            }
            let produced = try step(into: buffer)
            if produced > 0 { return produced }
        }
        return 0
    }

    private func step(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let consumedFrom = inputCount - Int(stream.avail_in)
        let before = stream.avail_in
        let status = input.withUnsafeMutableBufferPointer { source -> Int32 in
            stream.next_in = source.baseAddress! + consumedFrom
            stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            stream.avail_out = UInt32(buffer.count)
            return CGzip.inflate(&stream, Z_NO_FLUSH)
        }
        let produced = buffer.count - Int(stream.avail_out)
        switch status {
        case Z_OK, Z_BUF_ERROR:
            if stream.avail_in != before || produced > 0 { atMemberBoundary = false }
            return produced
        case Z_STREAM_END:
            // Another member may follow (`cat a.gz b.gz`).
            inflateReset(&stream)
            atMemberBoundary = true
            return produced
        default:
            let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
            throw InputError.cannotOpen(path: path, reason: "damaged gzip data: \(message)")
        }
    }
}

@inline(__always) private func systemOpen(_ path: String, _ flags: Int32) -> Int32 {
    open(path, flags)
}

@inline(__always) private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
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
