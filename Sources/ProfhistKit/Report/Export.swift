import Foundation
import GRDB

/// What `export` writes.
public enum ExportFormat: String, CaseIterable, Sendable {
    case table, csv, tsv, json, jsonl
    /// `frame;frame;frame VALUE` per stack, for flamegraph.pl, inferno and speedscope.
    case folded
    /// A gzipped pprof profile (`profile.proto`), for `go tool pprof`, Pyroscope and Parca.
    case pprof

    public var rowFormat: OutputFormat? { OutputFormat(rawValue: rawValue) }
}

/// `export`: every sample of the selected snapshots in the long format (one row per snapshot, stack and
/// metric), folded stacks for flame graphs, or a wide table for spreadsheets. Rows stream one snapshot at a
/// time; memory grows with the distinct stacks named, not with the number of rows.
public struct Export {
    public var filter: SeriesFilter
    /// nil: every metric the kind has.
    public var metrics: [Metric]?
    public var grouping = Grouping.stack
    public var headers = true

    public init(filter: SeriesFilter) { self.filter = filter }

    /// The long format's columns. The first ten are the contract the README's "export" section
    /// gives; the rest were added after.
    public static let columns = [
        Column("snapshot_id", .number), Column("kind"), Column("build", maxWidth: 14), Column("run", maxWidth: 12),
        Column("taken_at", .time), Column("stack_id", .number), Column("leaf", maxWidth: 28), Column("stack", maxWidth: 40),
        Column("metric"), Column("value", .number), Column("taken_at_unix", .number), Column("labels", maxWidth: 20),
    ]

    var metricList: [Metric] { metrics ?? Metric.all(kind: filter.kind) }

    /// Writes the long format.
    public func long(_ db: Database, format: OutputFormat, sink: @escaping (String) -> Void) throws {
        let writer = RowWriter(format: format, columns: Export.columns, headers: headers, sink: sink)
        let keys = GroupKeys(db: db, grouping: grouping)
        let readers = try Dictionary(uniqueKeysWithValues: metricList.map { ($0, try SnapshotValueReader(db, metric: $0)) })
        var names: [Int64: (leaf: String, stack: String)] = [:]
        var values: [(Int64, Int64)] = []
        for snapshot in try filter.select(db) {
            let seconds = snapshot.takenAt >= 0 ? snapshot.takenAt / 1000 : (snapshot.takenAt - 999) / 1000
            let time = Timestamp.rfc3339(milliseconds: snapshot.takenAt)
            for metric in metricList {
                values.removeAll(keepingCapacity: true)
                let reader = readers[metric]!
                if grouping == .stack {
                    try reader.forEach(snapshot: snapshot.id) { values.append(($0, $1)) }
                } else {
                    var sums: [Int64: Int64] = [:]
                    try reader.forEach(snapshot: snapshot.id) { stack, value in
                        for key in try keys.keys(of: stack) { sums[key, default: 0] &+= value }
                    }
                    values = sums.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                }
                for (key, value) in values {
                    let name: (leaf: String, stack: String)
                    if let known = names[key] { name = known } else {
                        name = try keys.describe(key)
                        names[key] = name
                    }
                    writer.write([
                        .integer(snapshot.id), .text(snapshot.kind.rawValue), .text(snapshot.build), .text(snapshot.run), .text(time),
                        .integer(key), .text(name.leaf), .text(name.stack), .text(metric.rawValue), .integer(value),
                        .integer(seconds), .text(snapshot.labels),
                    ])
                }
            }
        }
        writer.finish()
    }

    /// Writes folded stacks: each stack's mean over the selected snapshots (one snapshot, or a build's).
    /// - Returns: the number of snapshots averaged.
    @discardableResult
    public func folded(_ db: Database, sink: @escaping (String) -> Void) throws -> Int {
        let metric = metrics?.first ?? filter.metric
        let statement = try db.makeStatement(sql: try Store.query(named: "snapshot_values"))
        let snapshots = try filter.select(db)
        var sums: [Int64: Double] = [:]
        for snapshot in snapshots {
            let rows = try Row.fetchCursor(statement, arguments: ["snapshot": snapshot.id, "metric": metric.rawValue])
            while let row = try rows.next() { sums[row[0], default: 0] += Double(row[1] as Int64) }
        }
        let catalog = StackCatalog(db: db)
        var writer = FoldedWriter(sink: sink)
        for (stack, sum) in sums.sorted(by: { $0.key < $1.key }) {
            let value = (sum / Double(max(snapshots.count, 1))).rounded()
            guard value > 0 else { continue }
            writer.write(stack: try catalog.folded(stack), values: [Int64(value)])
        }
        writer.finish()
        return snapshots.count
    }

    /// Writes a diff as folded stacks with two values, `stack BASE TARGET` (the input of flamegraph.pl's
    /// difffolded.pl and inferno-diff-folded), in stack id order; stacks that round to 0 on both sides are left out.
    public static func folded(_ diff: HeapDiff.Result, sink: @escaping (String) -> Void) {
        var writer = FoldedWriter(sink: sink)
        for row in diff.rows.sorted(by: { $0.key < $1.key }) {
            let base = row.base.rounded()
            let target = row.target.rounded()
            guard base != 0 || target != 0 else { continue }
            writer.write(stack: row.stack, values: [Int64(base), Int64(target)])
        }
        writer.finish()
    }

    /// Writes one row per point (build or snapshot) and one column per stack among the `top` ranked by growth:
    /// a sheet a spreadsheet can chart.
    public func wide(_ db: Database, axis: PointAxis, top: Int, format: OutputFormat, sink: @escaping (String) -> Void) throws {
        var options = GrowthOptions()
        options.axis = axis
        options.grouping = grouping
        options.includeAll = true
        options.limit = top
        let report = try GrowthRanking(filter: filter, options: options).run(db)
        var used = Set<String>()
        var columns = [Column(axis == .build ? "build" : "taken_at")]
        for row in report.rows {
            var name = row.leaf.isEmpty ? "stack \(row.key)" : row.leaf
            if used.contains(name) { name += " #\(row.key)" }
            used.insert(name)
            columns.append(Column(name, filter.metric.isBytes ? .bytes : .number))
        }
        let writer = RowWriter(format: format, columns: columns, headers: headers, sink: sink)
        for (index, point) in report.points.enumerated() {
            writer.write([.text(point)] + report.rows.map { .real(($0.series[safe: index] ?? 0).rounded()) })
        }
        writer.finish()
    }
}

/// Folded-stack lines (`frame;frame;frame VALUE...`), written through a buffer as `RowWriter` writes rows.
struct FoldedWriter {
    private let sink: (String) -> Void
    private var buffer = ""

    init(sink: @escaping (String) -> Void) { self.sink = sink }

    mutating func write(stack: String, values: [Int64]) {
        buffer += stack
        for value in values { buffer += " " + String(value) }
        buffer += "\n"
        if buffer.utf8.count > RowWriter.bufferLimit {
            sink(buffer)
            buffer = ""
        }
    }

    mutating func finish() {
        if !buffer.isEmpty { sink(buffer) }
        buffer = ""
    }
}
