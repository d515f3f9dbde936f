import Foundation
import GRDB

/// SQL functions profhist registers on every connection, so the named queries and a user's own SQL can use them.
public enum StoreFunctions {
    /// Registers every function on `db`.
    public static func register(in db: Database) throws {
        db.add(function: rfc3339)
        db.add(function: epochSeconds)
    }

    /// `rfc3339(ms)`: epoch milliseconds as RFC 3339 UTC text, `2026-01-02T00:10:00Z` (fraction only when
    /// the time has one).
    static let rfc3339 = DatabaseFunction("rfc3339", argumentCount: 1, pure: true) { values in
        guard let ms = Int64.fromDatabaseValue(values[0]) else { return nil }
        return Timestamp.rfc3339(milliseconds: ms)
    }

    /// `epoch_seconds(ms)`: epoch milliseconds as whole seconds, what Grafana's SQLite data source expects.
    static let epochSeconds = DatabaseFunction("epoch_seconds", argumentCount: 1, pure: true) { values in
        guard let ms = Int64.fromDatabaseValue(values[0]) else { return nil }
        return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000)
    }
}

/// Times as profhist stores (epoch milliseconds) and prints (RFC 3339 UTC) them.
public enum Timestamp {
    /// Formats epoch milliseconds as RFC 3339 in UTC.
    public static func rfc3339(milliseconds: Int64) -> String {
        let seconds = Int64((Double(milliseconds) / 1000).rounded(.down))
        let fraction = milliseconds - seconds * 1000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let base = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        return fraction == 0 ? base + "Z" : base + String(format: ".%03dZ", Int(fraction))
    }

    /// Parses RFC 3339 (`2026-01-02T00:10:00Z`, `...T00:10:00.250+02:00`; a date alone means midnight UTC).
    /// - Returns: epoch milliseconds, or nil when the text is not RFC 3339.
    public static func parse(_ text: String) -> Int64? {
        let chars = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= chars.count else { return nil }
            var value = 0
            for c in chars[from..<(from + count)] {
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            return value
        }
        guard let year = number(0, 4), chars.count >= 10, chars[4] == 45, let month = number(5, 2), chars[7] == 45,
            let day = number(8, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var hour = 0, minute = 0, second = 0, millis = 0, offsetMinutes = 0
        var index = 10
        if chars.count > 10 {
            guard chars[10] == 84 || chars[10] == 116 || chars[10] == 32, let h = number(11, 2), chars.count > 13,
                chars[13] == 58, let m = number(14, 2), chars.count > 16, chars[16] == 58, let s = number(17, 2),
                h < 24, m < 60, s <= 60
            else { return nil }
            hour = h
            minute = m
            second = s
            index = 19
            if index < chars.count && chars[index] == 46 {
                index += 1
                var digits = 0
                var fraction = 0
                while index < chars.count, chars[index] >= 48 && chars[index] <= 57 {
                    if digits < 3 { fraction = fraction * 10 + Int(chars[index] - 48) }
                    digits += 1
                    index += 1
                }
                guard digits > 0 else { return nil }
                if digits < 3 { for _ in digits..<3 { fraction *= 10 } }
                millis = fraction
            }
            guard index < chars.count else { return nil }
            if chars[index] == 90 || chars[index] == 122 {
                index += 1
            } else if chars[index] == 43 || chars[index] == 45 {
                guard let oh = number(index + 1, 2), index + 3 < chars.count, chars[index + 3] == 58,
                    let om = number(index + 4, 2)
                else { return nil }
                offsetMinutes = (oh * 60 + om) * (chars[index] == 43 ? 1 : -1)
                index += 6
            } else {
                return nil
            }
            guard index == chars.count else { return nil }
        }
        // Days from civil (Howard Hinnant's algorithm), so no calendar or locale is involved.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let seconds = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }
}
