import Foundation
import GRDB

/// The numbers a ranking can be about.
public enum Metric: String, CaseIterable, Sendable {
    case inuseSpace = "inuse_space"
    case inuseObjects = "inuse_objects"
    case allocSpace = "alloc_space"
    case allocObjects = "alloc_objects"
    case liveTasks = "live_tasks"
    case idleTasks = "idle_tasks"
    case runningTasks = "running_tasks"
    case scheduledTasks = "scheduled_tasks"
    case completedTasks = "completed_tasks"
    case polls
    case busyNanoseconds = "busy_ns"
    case scheduledNanoseconds = "scheduled_ns"
    case wakes
    case selfWakes = "self_wakes"
    case lostWakers = "lost_wakers"

    /// Whether values are bytes (shown in KiB/MiB in tables).
    public var isBytes: Bool { self == .inuseSpace || self == .allocSpace }

    /// The snapshot kind the metric belongs to.
    public var kind: SnapshotKind {
        switch self {
        case .inuseSpace, .inuseObjects, .allocSpace, .allocObjects: return .heap
        default: return .tasks
        }
    }

    /// The metrics of a kind, in export order.
    public static func all(kind: SnapshotKind) -> [Metric] { allCases.filter { $0.kind == kind } }

    /// The metric ranked when none is named.
    public static func standard(kind: SnapshotKind) -> Metric {
        switch kind {
        case .heap: return .inuseSpace
        case .tasks: return .liveTasks
        }
    }
}

extension SeriesSnapshot {
    /// The snapshot's total that a metric is a share of: objects for an object count, else the snapshot total
    /// (in-use bytes for heap, live tasks for tasks).
    public func total(for metric: Metric) -> Double {
        metric == .inuseObjects || metric == .allocObjects ? totalObjects : total
    }
}

extension SeriesPoint {
    /// The mean of the point's snapshot totals for a metric (`SeriesSnapshot.total(for:)`).
    public func meanTotal(for metric: Metric) -> Double {
        snapshots.map { $0.total(for: metric) }.reduce(0, +) / Double(max(snapshots.count, 1))
    }
}

/// What a series' points are.
public enum PointAxis: String, CaseIterable, Sendable {
    /// One point per build, its value the mean of the build's snapshots; runs are replicates.
    case build
    /// One point per snapshot, in time order (growth inside one run, e.g. a soak).
    case snapshot
}

/// What a row of `top` or `diff` stands for.
public enum Grouping: String, CaseIterable, Sendable {
    /// A whole stack (the default).
    case stack
    /// The leaf function: values of all stacks with that leaf added up (jeprof's flat).
    case leaf
    /// Every function: a stack's value counts once for each function in it (jeprof's cum).
    case function
}

/// Which snapshots to look at.
public struct SeriesFilter: Sendable {
    public var kind = SnapshotKind.heap
    public var metric = Metric.inuseSpace
    /// Build names bounding the range, inclusive (in build order); nil for an open end.
    public var fromBuild: String?
    public var toBuild: String?
    /// Epoch milliseconds bounding taken_at, inclusive.
    public var since: Int64?
    public var until: Int64?
    public var run: String?
    /// `key=value` labels that must all be present.
    public var labels: [String] = []
    /// Only these builds (diff selections).
    public var builds: [String]?
    /// Only this snapshot (diff selections).
    public var snapshot: Int64?
    /// The branch whose history is the series (its start-point branch's builds up to the fork, then its own); nil:
    /// the branch of the one build or snapshot selected, else the store's default branch.
    public var branch: String?

    public init() {}
}

/// One selected snapshot, placed on the series.
public struct SeriesSnapshot: Sendable {
    public var id: Int64
    public var buildID: Int64
    public var build: String
    public var position: Int
    public var runID: Int64
    public var takenAt: Int64
    /// The time that places the snapshot among the others (the `snapshot_order` view): within a run, the run's
    /// times in the order of jemalloc's dump sequence, so dumps copied with fresh modification times keep their order.
    public var orderTime: Int64 = 0
    public var total: Double
    public var samplePeriod: Int64
    public var totalObjects: Double = 0
    public var run = ""
    public var kind = SnapshotKind.heap
    /// Labels as `k=v` joined by `,`.
    public var labels = ""
}

/// A point of a series: one build, or one snapshot, with the snapshots that make it up.
public struct SeriesPoint: Sendable {
    /// The build name, or the snapshot's RFC 3339 time.
    public var label: String
    public var snapshots: [SeriesSnapshot]
    /// Replicate index of each snapshot (its run's place among the point's runs).
    public var replicateOf: [Int64: Int]
    public var replicateCount: Int
    /// Snapshots per replicate, to turn sums into run means.
    public var snapshotsPerReplicate: [Int]
}

extension SeriesFilter {
    /// Selects the snapshots and arranges them into points.
    /// - Throws: `StoreError.noMatch` for an unknown build name.
    public func points(_ db: Database, axis: PointAxis) throws -> [SeriesPoint] {
        let snapshots = try select(db)
        switch axis {
        case .snapshot:
            return snapshots.map { snapshot in
                SeriesPoint(
                    label: Timestamp.rfc3339(milliseconds: snapshot.orderTime), snapshots: [snapshot],
                    replicateOf: [snapshot.id: 0], replicateCount: 1, snapshotsPerReplicate: [1])
            }
        case .build:
            var points: [SeriesPoint] = []
            var index: [Int64: Int] = [:]
            for snapshot in snapshots {
                if let i = index[snapshot.buildID] {
                    points[i].snapshots.append(snapshot)
                } else {
                    index[snapshot.buildID] = points.count
                    points.append(SeriesPoint(label: snapshot.build, snapshots: [snapshot], replicateOf: [:], replicateCount: 0, snapshotsPerReplicate: []))
                }
            }
            for i in points.indices {
                var runs: [Int64: Int] = [:]
                for snapshot in points[i].snapshots {
                    let replicate = runs[snapshot.runID] ?? runs.count
                    runs[snapshot.runID] = replicate
                    points[i].replicateOf[snapshot.id] = replicate
                    if replicate == points[i].snapshotsPerReplicate.count { points[i].snapshotsPerReplicate.append(0) }
                    points[i].snapshotsPerReplicate[replicate] += 1
                }
                points[i].replicateCount = runs.count
            }
            return points
        }
    }

    func select(_ db: Database) throws -> [SeriesSnapshot] {
        let branch = try resolvedBranch(db)
        func position(_ name: String?) throws -> Int? {
            guard let name else { return nil }
            guard let position = try Int.fetchOne(
                db, sql: "SELECT position FROM branch_history WHERE build = ? AND branch = ?", arguments: [name, branch])
            else {
                guard let owner = try Branches.of(build: name, db) else {
                    throw StoreError.noMatch("no build named '\(name)' (see 'profhist builds')")
                }
                throw StoreError.noMatch(
                    "build '\(name)' is on branch '\(owner)', not in the history of branch '\(branch)' (see 'profhist builds --branch \(branch)')")
            }
            return position
        }
        try checkRunAndLabelsExist(db)
        if let from = try position(fromBuild), let to = try position(toBuild), from > to {
            throw StoreError.badParameter(
                "--builds \(fromBuild ?? "")..\(toBuild ?? ""): \(fromBuild ?? "") comes after \(toBuild ?? "") (see 'profhist builds')")
        }
        let labelsJSON = labels.isEmpty ? nil : "[" + labels.map(RowWriter.jsonString).joined(separator: ",") + "]"
        let buildsJSON = builds.map { "[" + $0.map(RowWriter.jsonString).joined(separator: ",") + "]" }
        let rows = try Row.fetchAll(
            db, sql: try Store.query(named: "select_points"),
            arguments: [
                "kind": kind, "branch": branch, "from_position": try position(fromBuild), "to_position": try position(toBuild), "since": since,
                "until": until, "run": run, "labels": labelsJSON, "builds": buildsJSON, "snapshot": snapshot,
            ])
        return rows.map { row in
            var snapshot = SeriesSnapshot(
                id: row["snapshot_id"], buildID: row["build_id"], build: row["build"], position: row["position"],
                runID: row["run_id"], takenAt: row["taken_at"], total: row["total"], samplePeriod: row["sample_period"])
            snapshot.run = row["run"]
            snapshot.orderTime = row["order_time"]
            snapshot.totalObjects = row["total_objects"]
            snapshot.kind = kind
            snapshot.labels = row["labels"] ?? ""
            return snapshot
        }
    }
}

extension SeriesFilter {
    /// The branch whose history is selected: `branch` when given (it must exist), else the branch of the one build
    /// or snapshot selected (a build is always in its own branch's history), else the store's default branch.
    /// - Throws: `StoreError.noMatch` for an unknown branch.
    public func resolvedBranch(_ db: Database) throws -> String {
        if let branch {
            try Branches.checkExists(branch, db)
            return branch
        }
        if let snapshot, let owner = try String.fetchOne(
            db, sql: "SELECT br.name FROM snapshot AS s JOIN build AS b ON b.id = s.build_id JOIN branch AS br ON br.id = b.branch_id WHERE s.id = ?",
            arguments: [snapshot])
        {
            return owner
        }
        if let builds, builds.count == 1, let owner = try Branches.of(build: builds[0], db) { return owner }
        return try Branches.defaultName(db)
    }

    /// A `--run` or `--label` that names nothing in the store is a mistake (a typo, the wrong store), not an
    /// empty answer: says so, with what does exist.
    /// - Throws: `StoreError.noMatch` naming the run or label and listing (some of) those stored.
    func checkRunAndLabelsExist(_ db: Database) throws {
        if let run, try Int.fetchOne(db, sql: "SELECT count(*) FROM run WHERE name = ?", arguments: [run]) == 0 {
            let names = try String.fetchAll(
                db, sql: "SELECT name FROM run WHERE id IN (SELECT run_id FROM snapshot WHERE kind = ?) ORDER BY id", arguments: [kind])
            throw StoreError.noMatch("no run named '\(run)'; \(SeriesFilter.listing(names, of: "run")) (see 'profhist snapshots')")
        }
        guard !labels.isEmpty else { return }
        let stored = try String.fetchAll(
            db,
            sql: """
                SELECT DISTINCT k.value || '=' || v.value FROM snapshot_label AS l
                JOIN string AS k ON k.id = l.key_id JOIN string AS v ON v.id = l.value_id ORDER BY 1
                """)
        for label in labels where !stored.contains(label) {
            throw StoreError.noMatch("no snapshot has the label '\(label)'; \(SeriesFilter.listing(stored, of: "label")) (see 'profhist snapshots')")
        }
    }

    /// "runs stored: a, b, c" (the first 12, and how many more), or "no runs stored".
    static func listing(_ names: [String], of thing: String) -> String {
        let things = thing.hasSuffix("ch") ? thing + "es" : thing + "s"
        guard !names.isEmpty else { return "no \(things) stored" }
        let shown = names.prefix(12).map { "'\($0)'" }.joined(separator: ", ")
        return "\(things) stored: \(shown)" + (names.count > 12 ? " and \(names.count - 12) more" : "")
    }
}

/// Turns stack ids into the keys of a grouping (the stack itself, its leaf frame, or each of its functions),
/// remembering each stack it has seen.
final class GroupKeys {
    let db: Database
    let grouping: Grouping
    private var cache: [Int64: [Int64]] = [:]
    private let catalog: StackCatalog

    init(db: Database, grouping: Grouping) {
        self.db = db
        self.grouping = grouping
        self.catalog = StackCatalog(db: db)
    }

    func keys(of stack: Int64) throws -> [Int64] {
        if grouping == .stack { return [stack] }
        if let known = cache[stack] { return known }
        let keys: [Int64]
        switch grouping {
        case .stack:
            keys = [stack]
        case .leaf:
            keys = [try Int64.fetchOne(db, sql: "SELECT leaf_frame_id FROM stack WHERE id = ?", arguments: [stack]) ?? 0]
        case .function:
            keys = Array(Set(try catalog.frameIDs(of: stack)))
        }
        cache[stack] = keys
        return keys
    }

    /// The leaf name and the folded stack (or the function name twice) of a key.
    func describe(_ key: Int64) throws -> (leaf: String, stack: String) {
        switch grouping {
        case .stack:
            let leaf = try String.fetchOne(
                db,
                sql: "SELECT s.value FROM stack AS st JOIN frame AS f ON f.id = st.leaf_frame_id JOIN string AS s ON s.id = f.name_id WHERE st.id = ?",
                arguments: [key]) ?? ""
            return (leaf, try catalog.folded(key))
        case .leaf, .function:
            let name = try String.fetchOne(
                db, sql: "SELECT s.value FROM frame AS f JOIN string AS s ON s.id = f.name_id WHERE f.id = ?", arguments: [key]) ?? ""
            return (name, name)
        }
    }
}
