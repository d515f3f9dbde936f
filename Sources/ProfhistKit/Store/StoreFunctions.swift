import Foundation
import GRDB

/// SQL functions profhist registers on every connection, so the named queries and a user's own SQL can use them.
public enum StoreFunctions {
    /// Registers every function on `db`.
    public static func register(in db: Database) throws {
        db.add(function: rfc3339)
        db.add(function: epochSeconds)
        db.add(function: studentP)
        db.add(function: DatabaseFunction("ls_slope", argumentCount: 2, pure: true, aggregate: SlopeAggregate.self))
        db.add(function: DatabaseFunction("change_point", argumentCount: 2, pure: true, aggregate: ChangePointAggregate.self))
        db.add(function: DatabaseFunction("trend_p", argumentCount: 2, pure: true, aggregate: TrendAggregate.self))
    }

    /// `student_p(t, df)`: two-sided p-value of Student's t.
    static let studentP = DatabaseFunction("student_p", argumentCount: 2, pure: true) { values in
        guard let t = Double.fromDatabaseValue(values[0]), let df = Double.fromDatabaseValue(values[1]) else { return nil }
        return Statistics.studentTwoSidedP(t: t, df: df)
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
    /// Impossible times are refused, not normalized: February 30, hour 24, offset +99:99, a year past 9999 after
    /// the offset, and leap seconds (epoch milliseconds cannot hold 23:59:60).
    /// - Returns: epoch milliseconds, or nil when the text is not a valid RFC 3339 time.
    public static func parse(_ text: String) -> Int64? {
        guard let time = RFC3339.parse(text), time.second < 60 else { return nil }
        let result = time.epochSeconds * 1000 + Int64(time.nanoseconds / 1_000_000)
        // RFC 3339 has four-digit years: an offset must not carry a time out of 0001...9999.
        guard result >= firstRepresentable, result < endOfRepresentable else { return nil }
        return result
    }

    /// 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z in epoch milliseconds: the range RFC 3339 can write.
    static let firstRepresentable: Int64 = -62_135_596_800_000
    static let endOfRepresentable: Int64 = 253_402_300_800_000
}

// MARK: - Aggregates

/// Collects (x, y) rows; rows with the same x are replicates of one point. Points are ordered by x.
struct PointCollector {
    var values: [Double: [Double]] = [:]

    mutating func add(_ arguments: [DatabaseValue]) {
        guard let x = Double.fromDatabaseValue(arguments[0]) else { return }
        values[x, default: []].append(Double.fromDatabaseValue(arguments[1]) ?? 0)
    }

    var xs: [Double] { values.keys.sorted() }
    var points: [[Double]] { xs.map { values[$0] ?? [] } }
    var means: [Double] { points.map { $0.isEmpty ? 0 : $0.reduce(0, +) / Double($0.count) } }
}

/// `ls_slope(x, y)`: least-squares slope of y over x (NULL y counts as 0; rows with equal x are replicates).
struct SlopeAggregate: DatabaseAggregate {
    var x: [Double] = []
    var y: [Double] = []
    mutating func step(_ arguments: [DatabaseValue]) {
        guard let xi = Double.fromDatabaseValue(arguments[0]) else { return }
        x.append(xi)
        y.append(Double.fromDatabaseValue(arguments[1]) ?? 0)
    }
    func finalize() -> DatabaseValueConvertible? { x.count >= 2 ? Statistics.slope(x: x, y: y) : nil }
}

/// `change_point(x, y)`: the most significant level shift (binary segmentation with Welch's t, as `top` uses),
/// as JSON: {"x": first x after the shift, "before": mean, "after": mean, "p": corrected p-value,
/// "changes": number of significant shifts}; `{"x": null, ...}` when none is significant.
struct ChangePointAggregate: DatabaseAggregate {
    var collector = PointCollector()
    mutating func step(_ arguments: [DatabaseValue]) { collector.add(arguments) }
    func finalize() -> DatabaseValueConvertible? {
        let xs = collector.xs
        let points = collector.points
        guard points.count >= 2 else { return nil }
        let detector = ChangePointDetector()
        let changes = detector.changes(points)
        let chosen = changes.min { $0.pAdjusted < $1.pAdjusted } ?? detector.bestSplit(points)
        guard let change = chosen else { return nil }
        let significant = !changes.isEmpty
        return "{\"x\":\(significant ? RowWriter.number(xs[change.index]) : "null"),\"before\":\(RowWriter.number(change.shift.meanBefore)),"
            + "\"after\":\(RowWriter.number(change.shift.meanAfter)),\"p\":\(change.pAdjusted),\"changes\":\(changes.count)}"
    }
}

/// `trend_p(x, y)`: two-sided p-value of the Mann–Kendall trend test over the point means, ordered by x.
struct TrendAggregate: DatabaseAggregate {
    var collector = PointCollector()
    mutating func step(_ arguments: [DatabaseValue]) { collector.add(arguments) }
    func finalize() -> DatabaseValueConvertible? { Statistics.mannKendall(collector.means).p }
}
