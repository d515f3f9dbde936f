import Foundation

/// A point in time with nanosecond precision, as protobuf's `Timestamp` and serde's `SystemTime` carry it.
///
/// Kept as seconds + nanoseconds (not one `Int64` of nanoseconds) so any year a Timestamp allows fits; differences
/// are pinned at `Int64` bounds instead of trapping.
struct TaskInstant: Comparable, Sendable, Hashable {
    var seconds: Int64
    /// 0 ..< 1_000_000_000.
    var nanoseconds: Int32

    static func < (a: TaskInstant, b: TaskInstant) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    /// Epoch milliseconds, rounded down.
    var epochMilliseconds: Int64 {
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds > 0 ? .max : .min }
        return ms.clampedAdding(Int64(nanoseconds / 1_000_000))
    }

    /// `self - earlier` in nanoseconds, never negative (clocks that go backwards count as 0), pinned at `Int64.max`.
    func nanoseconds(since earlier: TaskInstant) -> Int64 {
        guard earlier < self else { return 0 }
        let (secondsDelta, o1) = seconds.subtractingReportingOverflow(earlier.seconds)
        if o1 { return .max }
        let (scaled, o2) = secondsDelta.multipliedReportingOverflow(by: 1_000_000_000)
        if o2 { return .max }
        return scaled.clampedAdding(Int64(nanoseconds) - Int64(earlier.nanoseconds))
    }

    /// Builds an instant from seconds and nanoseconds that may exceed one second (carried into the seconds).
    init(seconds: Int64, nanoseconds: Int64) {
        let carry = nanoseconds / 1_000_000_000
        var nanos = nanoseconds % 1_000_000_000
        var secs = seconds.clampedAdding(carry)
        if nanos < 0 {
            nanos += 1_000_000_000
            secs = secs.clampedAdding(-1)
        }
        self.seconds = secs
        self.nanoseconds = Int32(nanos)
    }

    /// Parses RFC 3339 (`2025-03-14T09:26:50Z`, `...:50.412003118Z`, `...:50.4+02:00`) with 0 to 9 fraction
    /// digits, exactly. Nil when the text is not RFC 3339.
    static func parseRFC3339(_ text: String) -> TaskInstant? {
        guard let time = RFC3339.parse(text), time.hasTime, !time.spaceSeparated, time.fractionDigits <= 9 else {
            return nil
        }
        return TaskInstant(seconds: time.epochSeconds, nanoseconds: Int64(time.nanoseconds))
    }
}

/// protobuf's JSON `Duration`: decimal seconds with 0 to 9 fraction digits and an `s` (`"0s"`, `"1.500s"`,
/// `"0.000038118s"`, `"-2s"`).
enum ProtobufDuration {
    /// The duration in nanoseconds, exact, pinned at `Int64` bounds (a Duration may span ±10,000 years); nil when
    /// the text is not a Duration.
    static func nanoseconds(_ text: String) -> Int64? {
        var c = Array(text.utf8)[...]
        guard c.last == UInt8(ascii: "s") else { return nil }
        c = c.dropLast()
        var negative = false
        if c.first == UInt8(ascii: "-") {
            negative = true
            c = c.dropFirst()
        }
        var whole = c
        var fraction = c[c.endIndex...]
        if let dot = c.firstIndex(of: UInt8(ascii: ".")) {
            whole = c[..<dot]
            fraction = c[(dot + 1)...]
            guard !fraction.isEmpty, fraction.count <= 9 else { return nil }
        }
        guard !whole.isEmpty, whole.allSatisfy({ $0 >= 48 && $0 <= 57 }), fraction.allSatisfy({ $0 >= 48 && $0 <= 57 })
        else { return nil }
        var seconds: Int64 = 0
        for byte in whole {
            let (times10, o1) = seconds.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int64(byte - 48))
            if o1 || o2 { return negative ? .min : .max }
            seconds = next
        }
        var nanos: Int64 = 0
        for byte in fraction { nanos = nanos * 10 + Int64(byte - 48) }
        for _ in fraction.count..<9 { nanos *= 10 }
        let (scaled, o3) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if o3 { return negative ? .min : .max }
        let total = scaled.clampedAdding(nanos)
        return negative ? (total == .max ? .min : -total) : total
    }
}
