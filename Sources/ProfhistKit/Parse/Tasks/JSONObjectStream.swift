import Foundation

/// Splits a stream of concatenated JSON objects into one byte buffer per top-level object, by counting braces
/// outside strings: pretty objects one after another (grpcurl's output), one object per line, or several on a
/// line all work, since nothing depends on newlines.
///
/// Fed line by line from a `LineReader`; holds only the object being read.
struct JSONObjectStream {
    let path: String
    private var buffer: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false
    /// The line where the object being read began.
    private(set) var startLine = 0
    /// Objects completed so far.
    private(set) var objectCount = 0

    init(path: String) { self.path = path }

    /// Reads one line; calls `emit` with each object that ends on it and the line where that object began.
    /// - Throws: `InputError.malformed` for text between objects; whatever `emit` throws.
    mutating func feed(
        _ line: UnsafeBufferPointer<UInt8>, number: Int, emit: (_ object: [UInt8], _ startLine: Int) throws -> Void
    ) throws {
        var i = 0
        // A UTF-8 byte order mark some editors write.
        if number == 1, line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF { i = 3 }
        while i < line.count {
            let c = line[i]
            i += 1
            if depth == 0 {
                switch c {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                    continue
                case UInt8(ascii: "{"):
                    depth = 1
                    startLine = number
                    inString = false
                    escaped = false
                    buffer.removeAll(keepingCapacity: true)
                    buffer.append(c)
                    continue
                default:
                    let rest = UnsafeBufferPointer(rebasing: line[(i - 1)...])
                    throw InputError.malformed(
                        path: path, line: number,
                        message: "expected '{' to start an Update object, got '\(InputError.quote(rest, limit: 40))'")
                }
            }
            buffer.append(c)
            if inString {
                if escaped {
                    escaped = false
                } else if c == UInt8(ascii: "\\") {
                    escaped = true
                } else if c == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if c == UInt8(ascii: "\"") {
                inString = true
            } else if c == UInt8(ascii: "{") {
                depth += 1
            } else if c == UInt8(ascii: "}") {
                depth -= 1
                if depth == 0 {
                    objectCount += 1
                    try emit(buffer, startLine)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
        }
        if depth > 0 { buffer.append(UInt8(ascii: "\n")) }
    }

    /// Checks that the stream did not end inside an object.
    /// - Throws: `InputError.truncated` naming the line where the unfinished object began.
    func finish(lastLine: Int) throws {
        guard depth == 0 else {
            throw InputError.truncated(
                path: path, line: startLine,
                message: "the object starting on this line is not closed at the end of the file (line \(lastLine))")
        }
    }
}

/// Looks at the first bytes of a file for the JSON formats.
enum JSONPrefix {
    /// The bytes after a byte order mark and leading whitespace.
    static func trimmed(_ prefix: Data) -> ArraySlice<UInt8> {
        var bytes = [UInt8](prefix)[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        while let first = bytes.first, first == 0x20 || first == 0x09 || first == 0x0A || first == 0x0D {
            bytes = bytes.dropFirst()
        }
        return bytes
    }

    /// Whether the text starts with `{"v":` (whitespace allowed between the tokens): a console recording.
    static func startsWithVersionKey(_ bytes: ArraySlice<UInt8>) -> Bool {
        var rest = bytes
        func skipSpaces() {
            while let first = rest.first, first == 0x20 || first == 0x09 || first == 0x0A || first == 0x0D {
                rest = rest.dropFirst()
            }
        }
        guard rest.first == UInt8(ascii: "{") else { return false }
        rest = rest.dropFirst()
        skipSpaces()
        guard rest.starts(with: Array("\"v\"".utf8)) else { return false }
        rest = rest.dropFirst(3)
        skipSpaces()
        return rest.first == UInt8(ascii: ":")
    }
}
