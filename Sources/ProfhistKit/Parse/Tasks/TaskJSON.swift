import Foundation

/// A JSON value as the task snapshot parsers read it: numbers keep their text, so 64-bit ids (span ids reach
/// 2^63) are converted exactly instead of going through `Double` as `JSONSerialization` would.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number exactly as written (`-12`, `1.5e3`).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members by name; a repeated name keeps its last value, as most JSON readers do.
    case object([String: JSONValue])

    /// What a message calls this kind of value.
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A syntax error at a byte offset of the parsed text.
struct JSONSyntaxError: Error {
    var offset: Int
    var message: String
}

/// A strict RFC 8259 reader over bytes, with a nesting limit so hostile input cannot exhaust the stack.
struct JSONReader {
    static let maximumDepth = 200

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Parses exactly one JSON value (surrounding whitespace allowed).
    /// - Throws: `JSONSyntaxError` with the byte offset of the problem.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
        var reader = JSONReader(bytes)
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.index == bytes.count else {
            throw reader.error("unexpected \(reader.describeCurrent()) after the value")
        }
        return value
    }

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { try parse($0) }
    }

    /// The 1-based line and column of a byte offset in `bytes`.
    static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        let end = min(max(offset, 0), bytes.count)
        var i = 0
        while i < end {
            if bytes[i] == UInt8(ascii: "\n") {
                line += 1
                lineStart = i + 1
            }
            i += 1
        }
        return (line, end - lineStart + 1)
    }

    // MARK: - Grammar

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < JSONReader.maximumDepth else {
            throw error("nested deeper than \(JSONReader.maximumDepth) levels")
        }
        guard index < bytes.count else { throw error("unexpected end of text, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("expected a value, got \(describeCurrent())")
        }
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        index += 1  // {
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw error("expected a member name in quotes, got \(describeCurrent())")
            }
            let name = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw error("expected ':' after member name \"\(name)\", got \(describeCurrent())")
            }
            index += 1
            skipWhitespace()
            members[name] = try value(depth: depth + 1)
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of text inside an object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            throw error("expected ',' or '}' in an object, got \(describeCurrent())")
        }
    }

    private mutating func array(depth: Int) throws -> JSONValue {
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of text inside an array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            throw error("expected ',' or ']' in an array, got \(describeCurrent())")
        }
    }

    private mutating func string() throws -> String {
        let open = index
        index += 1  // "
        // Most strings have no escapes: one decode of the bytes.
        var end = index
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20
        {
            end += 1
        }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<end]), as: UTF8.self)
            index = end + 1
            return text
        }
        var scalars = String.UnicodeScalarView()
        var runStart = index
        func flushRun(_ end: Int) {
            if end > runStart {
                scalars.append(
                    contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[runStart..<end]), as: UTF8.self)
                        .unicodeScalars)
            }
        }
        while true {
            guard index < bytes.count else {
                index = open
                throw error("string is not closed")
            }
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                flushRun(index)
                index += 1
                return String(scalars)
            }
            if c < 0x20 { throw error("control character 0x\(String(c, radix: 16)) inside a string (must be escaped)") }
            if c != UInt8(ascii: "\\") {
                index += 1
                continue
            }
            flushRun(index)
            index += 1
            guard index < bytes.count else { throw error("string ends inside an escape") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                let first = try hex4()
                var value = first
                if (0xD800..<0xDC00).contains(first), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u")
                {
                    let save = index
                    index += 2
                    let second = try hex4()
                    if (0xDC00..<0xE000).contains(second) {
                        value = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    } else {
                        index = save
                    }
                }
                // A lone surrogate has no scalar: keep the text readable with U+FFFD.
                scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
            default:
                index -= 1
                throw error("unknown escape '\\\(describeByte(escape))' in a string")
            }
            runStart = index
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("\\u escape needs 4 hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("\\u escape needs 4 hex digits")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    private mutating func number() throws -> String {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("a number needs digits after '-'") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count && isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("a number needs digits after '.'") }
            while index < bytes.count && isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw error("a number needs digits in its exponent")
            }
            while index < bytes.count && isDigit(bytes[index]) { index += 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("expected a value, got \(describeCurrent())") }
        let matches = word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
        }
        guard matches else { throw error("expected a value, got \(describeCurrent())") }
        index += count
    }

    // MARK: - Pieces

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
            default: return
            }
        }
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private func describeCurrent() -> String {
        index < bytes.count ? "'\(describeByte(bytes[index]))'" : "the end of the text"
    }

    private func describeByte(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? String(UnicodeScalar(c)) : "\\x" + String(c, radix: 16)
    }

    private func error(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: index, message: message) }
}

// MARK: - Reading values

/// A value of the wrong shape for what the format says; the parser turns it into an `InputError` with the line.
struct JSONShapeError: Error {
    var message: String
}

extension JSONValue {
    /// The members of an object.
    func members(_ what: @autoclosure () -> String) throws -> [String: JSONValue] {
        guard case .object(let members) = self else {
            throw JSONShapeError(message: "\(what()) must be an object, got \(kindName)")
        }
        return members
    }

    func elements(_ what: @autoclosure () -> String) throws -> [JSONValue] {
        guard case .array(let elements) = self else {
            throw JSONShapeError(message: "\(what()) must be an array, got \(kindName)")
        }
        return elements
    }

    func text(_ what: @autoclosure () -> String) throws -> String {
        guard case .string(let text) = self else {
            throw JSONShapeError(message: "\(what()) must be a string, got \(kindName)")
        }
        return text
    }

    func boolean(_ what: @autoclosure () -> String) throws -> Bool {
        guard case .bool(let value) = self else {
            throw JSONShapeError(message: "\(what()) must be true or false, got \(kindName)")
        }
        return value
    }

    /// An unsigned 64-bit integer written as a JSON number or, as protobuf's JSON mapping does, a decimal string.
    func uint64(_ what: @autoclosure () -> String) throws -> UInt64 {
        let text: String
        switch self {
        case .number(let t), .string(let t): text = t
        default: throw JSONShapeError(message: "\(what()) must be an unsigned integer, got \(kindName)")
        }
        guard let value = JSONValue.exactUInt64(text) else {
            throw JSONShapeError(message: "\(what()) must be an unsigned 64-bit integer, got '\(text.prefix(40))'")
        }
        return value
    }

    /// Parses decimal digits exactly; also accepts an integral value written with a zero fraction (`57.0`), which
    /// protobuf's JSON readers accept too. Nil on signs, exponents, overflow or anything else.
    static func exactUInt64(_ text: String) -> UInt64? {
        var digits = Substring(text)
        if let dot = digits.firstIndex(of: ".") {
            guard digits[digits.index(after: dot)...].allSatisfy({ $0 == "0" }) else { return nil }
            digits = digits[..<dot]
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return UInt64(digits)
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    /// A member by its lowerCamelCase JSON name or its original proto name (protobuf's JSON readers accept both).
    func member(_ camel: String, _ original: String? = nil) -> JSONValue? {
        if let value = self[camel], value != .null { return value }
        if let original, let value = self[original], value != .null { return value }
        return nil
    }
}

// MARK: - Arithmetic that never traps

extension Int64 {
    /// `self + other`, pinned at the bounds instead of overflowing.
    func clampedAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
