/// The one reader of RFC 3339 times (`2026-01-02T00:10:00Z`, `...T00:10:00.250+02:00`), for `--at`, `--since`,
/// `--until` (`Timestamp.parse`) and the times inside task snapshots (`TaskInstant.parseRFC3339`).
///
/// It reads the text as written and checks it against the proleptic Gregorian calendar; each caller then says
/// what it accepts beyond the common form (a date alone, a space for `T`, a leap second, more than nine fraction
/// digits). Hand-written rather than `ISO8601DateFormatter`: that keeps milliseconds at most, accepts
/// February 30 by rolling it over, and costs a formatter per thread.
struct RFC3339: Equatable {
    /// Seconds since 1970-01-01T00:00:00Z: the written time minus the offset (a leap second, `:60`, counts as
    /// the first second of the next minute).
    var epochSeconds: Int64
    /// The first nine fraction digits, as nanoseconds.
    var nanoseconds: Int
    /// How many fraction digits were written.
    var fractionDigits: Int
    /// The seconds as written (60 for a leap second).
    var second: Int
    /// false for a date alone (`2026-01-02`).
    var hasTime: Bool
    /// A space instead of `T` between date and time (RFC 3339 allows it "for readability").
    var spaceSeparated: Bool

    /// Reads `text`; nil when it is not a date, or a date and time with `Z` or an offset within ±23:59.
    static func parse(_ text: String) -> RFC3339? {
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
        guard c.count >= 10, let year = digits(0, 4), c[4] == UInt8(ascii: "-"), let month = digits(5, 2),
            c[7] == UInt8(ascii: "-"), let day = digits(8, 2), (1...12).contains(month), day >= 1,
            day <= daysIn(month: month, year: year)
        else { return nil }
        let days = Int64(daysFromCivil(year: year, month: month, day: day))
        guard c.count > 10 else {
            return RFC3339(
                epochSeconds: days * 86_400, nanoseconds: 0, fractionDigits: 0, second: 0, hasTime: false,
                spaceSeparated: false)
        }
        let separator = c[10]
        guard separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " "),
            let hour = digits(11, 2), c.count > 13, c[13] == UInt8(ascii: ":"), let minute = digits(14, 2),
            c.count > 16, c[16] == UInt8(ascii: ":"), let second = digits(17, 2), hour < 24, minute < 60, second <= 60
        else { return nil }
        var index = 19
        var nanos = 0
        var count = 0
        if index < c.count && c[index] == UInt8(ascii: ".") {
            index += 1
            while index < c.count, c[index] >= 48, c[index] <= 57 {
                if count < 9 { nanos = nanos * 10 + Int(c[index] - 48) }
                count += 1
                index += 1
            }
            guard count > 0 else { return nil }
            for _ in min(count, 9)..<9 { nanos *= 10 }
        }
        guard index < c.count, let offsetSeconds = offset(c, at: &index), index == c.count else { return nil }
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return RFC3339(
            epochSeconds: seconds, nanoseconds: nanos, fractionDigits: count, second: second, hasTime: true,
            spaceSeparated: separator == UInt8(ascii: " "))
    }

    /// `Z` (0) or `±hh:mm` (in seconds, east positive) at `index`, which it moves past; nil for anything else.
    private static func offset(_ c: [UInt8], at index: inout Int) -> Int? {
        switch c[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
            return 0
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 <= c.count, c[index + 3] == UInt8(ascii: ":"),
                let oh = twoDigits(c, index + 1), let om = twoDigits(c, index + 4), oh < 24, om < 60
            else { return nil }
            let sign = c[index] == UInt8(ascii: "-") ? -1 : 1
            index += 6
            return (oh * 3600 + om * 60) * sign
        default:
            return nil
        }
    }

    private static func twoDigits(_ c: [UInt8], _ at: Int) -> Int? {
        let (a, b) = (c[at], c[at + 1])
        guard a >= 48 && a <= 57 && b >= 48 && b <= 57 else { return nil }
        return Int(a - 48) * 10 + Int(b - 48)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`), so no calendar
    /// or locale is involved.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The days of `month` (1-12) in `year` of the proleptic Gregorian calendar.
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
