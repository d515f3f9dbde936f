import Foundation

/// A problem with an input file: it cannot be read, or it is not a well-formed dump.
///
/// Messages follow the compiler's convention, context first: `frontend.heap:17: expected ...`.
public enum InputError: LocalizedError, Equatable {
    /// The file does not exist or cannot be read.
    case cannotOpen(path: String, reason: String)
    /// The file is empty.
    case empty(path: String)
    /// The content is not in any format profhist reads.
    case unknownFormat(path: String, firstLine: String)
    /// A line does not follow the grammar.
    case malformed(path: String, line: Int, message: String)
    /// The file ends before the format says it is complete.
    case truncated(path: String, line: Int, message: String)
    /// The file's time (its modification time, or a time in its data) is more than a day ahead of this clock.
    case futureTime(path: String, time: String, source: String)
    /// A binary profile (pprof) that does not decode or refers to what it does not hold.
    case invalidProfile(path: String, message: String)
    /// A well-formed file of a kind profhist does not store (a growth or fragmentation profile).
    case unsupported(path: String, line: Int, message: String)

    public var errorDescription: String? {
        switch self {
        case .cannotOpen(let path, let reason):
            return "\(path): cannot read: \(reason)"
        case .empty(let path):
            return "\(path): empty file, expected a jemalloc heap dump ('heap_v2/N' on the first line)"
        case .unknownFormat(let path, let firstLine):
            return "\(path):1: unknown format: expected a jemalloc heap dump ('heap_v2/N'), tokio-console JSON, a tokio "
                + "task dump ('TASK n:'), a console recording ('{\"v\":1}') or a pprof profile (gzipped profile.proto), got '\(firstLine)'"
        case .malformed(let path, let line, let message):
            return "\(path):\(line): \(message)"
        case .truncated(let path, let line, let message):
            return "\(path):\(line): truncated: \(message)"
        case .futureTime(let path, let time, let source):
            return "\(path): its \(source) \(time) is more than a day in the future (a wrong clock?): refused, since "
                + "it would rank as the newest snapshot for good; give the real time with --at"
        case .invalidProfile(let path, let message):
            return "\(path): bad pprof profile: \(message)"
        case .unsupported(let path, let line, let message):
            return "\(path):\(line): \(message)"
        }
    }

    /// Shortens a line for quoting in a message, replacing bytes that are not printable UTF-8.
    static func quote(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int = 60) -> String {
        let prefix = bytes.prefix(limit)
        var text = String(decoding: prefix, as: UTF8.self)
        text = String(text.unicodeScalars.map { $0.value < 0x20 || $0 == "\u{FFFD}" ? "?" : Character($0) })
        return bytes.count > limit ? text + "..." : text
    }
}

/// Times that come from files rather than from the user.
public enum TimeCheck {
    /// How far ahead of this machine's clock a file's time may be (clock skew between machines).
    public static let allowedSkew: Int64 = 86_400_000

    /// Throws `InputError.futureTime` when `time` (epoch milliseconds) is more than `allowedSkew` ahead of now.
    public static func refuseFuture(_ time: Int64, path: String, source: String, now: Date = Date()) throws {
        let limit = Int64(now.timeIntervalSince1970 * 1000) + allowedSkew
        guard time <= limit else {
            throw InputError.futureTime(path: path, time: Timestamp.rfc3339(milliseconds: time), source: source)
        }
    }
}
