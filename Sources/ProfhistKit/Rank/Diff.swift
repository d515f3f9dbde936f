import Foundation
import GRDB

/// One side of a diff: a build (the mean of its snapshots) or one snapshot.
public enum DiffSelection: Sendable, Equatable {
    case build(String)
    case snapshot(Int64)

    /// `snapshot:ID` or a build name.
    public init?(_ text: String) {
        if text.hasPrefix("snapshot:") {
            guard let id = Int64(text.dropFirst("snapshot:".count)) else { return nil }
            self = .snapshot(id)
        } else {
            guard !text.isEmpty else { return nil }
            self = .build(text)
        }
    }

    public var description: String {
        switch self {
        case .build(let name): return name
        case .snapshot(let id): return "snapshot:\(id)"
        }
    }
}

/// One row of `diff`.
public struct DiffRow: Sendable {
    public var key: Int64
    public var leaf = ""
    public var stack = ""
    public var base: Double
    public var target: Double
    public var delta: Double { target - base }
    /// delta as a percentage of the base selection's total.
    public var percentOfBase: Double = 0
}

/// pprof's `-diff_base` across builds: per stack, the mean over each selection's snapshots, and the difference.
/// It works across binaries because stacks are stored by function names.
public struct HeapDiff {
    public var base: DiffSelection
    public var target: DiffSelection
    public var filter: SeriesFilter
    public var grouping = Grouping.stack
    public var growing = true
    public var limit = 20

    public init(base: DiffSelection, target: DiffSelection, filter: SeriesFilter) {
        self.base = base
        self.target = target
        self.filter = filter
    }

    public struct Result: Sendable {
        public var rows: [DiffRow]
        public var baseTotal: Double
        public var targetTotal: Double
        public var baseSnapshots: Int
        public var targetSnapshots: Int
    }

    public func run(_ db: Database) throws -> Result {
        let keys = GroupKeys(db: db, grouping: grouping)
        let statement = try db.makeStatement(sql: try Store.query(named: "snapshot_values"))
        func values(_ selection: DiffSelection) throws -> (values: [Int64: Double], total: Double, count: Int) {
            let snapshots = try filter.select(db, side: selection)
            var sums: [Int64: Double] = [:]
            var total = 0.0
            for snapshot in snapshots {
                total += snapshot.total
                let rows = try Row.fetchCursor(statement, arguments: ["snapshot": snapshot.id, "metric": filter.metric.rawValue])
                while let row = try rows.next() {
                    let value = Double(row[1] as Int64)
                    for key in try keys.keys(of: row[0]) { sums[key, default: 0] += value }
                }
            }
            let count = Double(snapshots.count)
            return (sums.mapValues { $0 / count }, total / count, snapshots.count)
        }
        let before = try values(base)
        let after = try values(target)
        var rows: [DiffRow] = []
        for key in Set(before.values.keys).union(after.values.keys) {
            var row = DiffRow(key: key, base: before.values[key] ?? 0, target: after.values[key] ?? 0)
            row.percentOfBase = before.total > 0 ? row.delta / before.total * 100 : 0
            rows.append(row)
        }
        let sign: Double = growing ? 1 : -1
        rows.sort { a, b in a.delta * sign != b.delta * sign ? a.delta * sign > b.delta * sign : a.key < b.key }
        if limit > 0 && rows.count > limit { rows.removeLast(rows.count - limit) }
        for i in rows.indices {
            let description = try keys.describe(rows[i].key)
            rows[i].leaf = description.leaf
            rows[i].stack = description.stack
        }
        return Result(rows: rows, baseTotal: before.total, targetTotal: after.total, baseSnapshots: before.count, targetSnapshots: after.count)
    }
}

extension SeriesFilter {
    /// The snapshots one side of a diff selects: a build's (whatever `--builds` says) or one snapshot.
    /// - Throws: `StoreError.noMatch` naming the selection when nothing matches.
    func select(_ db: Database, side selection: DiffSelection) throws -> [SeriesSnapshot] {
        var selected = self
        selected.fromBuild = nil
        selected.toBuild = nil
        switch selection {
        case .build(let name): selected.builds = [name]
        case .snapshot(let id): selected.snapshot = id
        }
        let snapshots = try selected.select(db)
        guard !snapshots.isEmpty else {
            throw StoreError.noMatch(
                "\(selection.description): no \(kind) snapshot matches (see 'profhist builds' and 'profhist snapshots')")
        }
        return snapshots
    }
}
