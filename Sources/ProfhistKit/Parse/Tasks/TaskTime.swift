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
        let c = Array(text.utf8)
        func digits(_ from: Int, _ count: Int) -> Int? {
            guard from >= 0, from + count <= c.count else { return nil }
            var value = 0
            for byte in c[from..<(from + count)] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard c.count >= 20, let year = digits(0, 4), c[4] == UInt8(ascii: "-"), let month = digits(5, 2),
            c[7] == UInt8(ascii: "-"), let day = digits(8, 2), c[10] == UInt8(ascii: "T") || c[10] == UInt8(ascii: "t"),
            let hour = digits(11, 2), c[13] == UInt8(ascii: ":"), let minute = digits(14, 2),
            c[16] == UInt8(ascii: ":"),
            let second = digits(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month), hour < 24, minute < 60,
            second <= 60
        else { return nil }
        var index = 19
        var nanos = 0
        if index < c.count && c[index] == UInt8(ascii: ".") {
            index += 1
            var count = 0
            while index < c.count, c[index] >= 48, c[index] <= 57 {
                guard count < 9 else { return nil }
                nanos = nanos * 10 + Int(c[index] - 48)
                count += 1
                index += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<9 { nanos *= 10 }
        }
        guard index < c.count else { return nil }
        var offsetSeconds = 0
        switch c[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let oh = digits(index + 1, 2), index + 3 < c.count, c[index + 3] == UInt8(ascii: ":"),
                let om = digits(index + 4, 2), oh < 24, om < 60
            else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (c[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        default:
            return nil
        }
        guard index == c.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return TaskInstant(seconds: seconds, nanoseconds: Int64(nanos))
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
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
