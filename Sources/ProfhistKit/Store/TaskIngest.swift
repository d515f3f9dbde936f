import Foundation
import GRDB

/// Stores parsed tokio task snapshots: one immediate transaction per file, like heap dumps, with the groups
/// (spawn locations, await stacks) interned in the same call-site tree.
public struct TaskIngestor {
    public let store: Store
    public var plumbing: Plumbing

    public init(store: Store, plumbing: Plumbing = Plumbing()) {
        self.store = store
        self.plumbing = plumbing
    }

    /// Task snapshots carry no process id: without `--run`, each file is its own run (a replicate). The time is
    /// `--at`, else the time in the data, else the file's modification time.
    public func placement(of snapshot: TaskSnapshot, path: String, options: IngestOptions) -> SnapshotPlacement {
        var timed = options
        // --at first, then the time in the data, then the file's time (the default `ingest` filled in).
        timed.takenAt = (options.takenAtIsDefault ? nil : options.takenAt) ?? snapshot.takenAt ?? options.takenAt
        return SnapshotPlacement.of(path: path, options: timed)
    }

    /// Stores one snapshot.
    /// - Parameters:
    ///   - takenAt: when the snapshot was taken: `--at`, else the time in the data, else the file's time.
    /// - Throws: `StoreError.writeFailed` (the store is unchanged) on any database failure.
    public func store(
        _ snapshot: TaskSnapshot, digest: String, byteCount: Int, path: String, options: IngestOptions
    ) throws -> IngestOutcome {
        let placement = placement(of: snapshot, path: path, options: options)
        let takenAt = placement.takenAt
        let runName = placement.run
        // Groups with the same frame names are one stack.
        var merged: [[String]: Int] = [:]
        var groups: [TaskGroup] = []
        for group in snapshot.groups where !group.frames.isEmpty {
            let names = group.frames.map(\.name)
            if let index = merged[names] {
                groups[index].metrics = TaskIngestor.add(groups[index].metrics, group.metrics)
            } else {
                merged[names] = groups.count
                groups.append(group)
            }
        }
        let live = groups.reduce(Int64(0)) { $0 + $1.metrics.liveTasks }
        do {
            var outcome = IngestOutcome.skipped(existingSnapshotID: 0)
            try store.queue.inTransaction(.immediate) { db in
                // Identical files from two builds, runs or times are two snapshots; the same file for the same
                // build, run and time (a retry) is skipped.
                if let existing = try HeapIngestor.existingSnapshot(
                    db, digest: digest, build: options.build, placement: placement)
                {
                    outcome = .skipped(existingSnapshotID: existing)
                    return .rollback
                }
                var interner = Interner(db: db, plumbing: plumbing)
                let record = SnapshotRecord(
                    kind: .tasks, takenAt: takenAt, path: path, digest: digest, byteCount: byteCount,
                    format: snapshot.format.rawValue, total: Double(live), stackCount: groups.count)
                let (snapshotID, buildID) = try record.insert(db, interner: &interner, options: options, runName: runName)
                let insert = try db.cachedStatement(
                    sql: """
                        INSERT INTO task_sample (snapshot_id, stack_id, live_tasks, idle_tasks, running_tasks, scheduled_tasks,
                            completed_tasks, polls, busy_ns, scheduled_ns, wakes, self_wakes, lost_wakers)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                let locationInsert = try db.cachedStatement(
                    sql: "INSERT OR IGNORE INTO stack_location (stack_id, build_id, location_set_id) VALUES (?, ?, ?)")
                var tree = StackTree(capacity: groups.count * 4)
                var ends: [Int32] = []
                for group in groups {
                    guard let end = tree.node(path: group.frames.lazy.map(\.name)) else {
                        throw StoreError.badParameter("empty stack")
                    }
                    ends.append(end)
                }
                let stackIDs = try interner.stacks(tree, at: ends).ids
                for (group, stackID) in zip(groups, stackIDs) {
                    let m = group.metrics
                    try insert.execute(arguments: [
                        snapshotID, stackID, m.liveTasks, m.idleTasks, m.runningTasks, m.scheduledTasks, m.completedTasks,
                        m.polls, m.busyNanoseconds, m.scheduledNanoseconds, m.wakes, m.selfWakes, m.lostWakers,
                    ])
                    var blob: [UInt8] = []
                    for frame in group.frames {
                        blob.append(contentsOf: try interner.locationBytes(file: frame.file, line: frame.line, inlined: false))
                    }
                    try locationInsert.execute(arguments: [stackID, buildID, try interner.locationSet(blob)])
                }
                outcome = .stored(snapshotID: snapshotID, stackCount: groups.count, totalBytes: Double(live))
                return .commit
            }
            return outcome
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.writeFailed(path: store.path, source: path, reason: Store.describe(error, store: store.path))
        }
    }

    static func add(_ a: TaskMetrics, _ b: TaskMetrics) -> TaskMetrics {
        var sum = a
        sum.liveTasks &+= b.liveTasks
        sum.idleTasks &+= b.idleTasks
        sum.runningTasks &+= b.runningTasks
        sum.scheduledTasks &+= b.scheduledTasks
        sum.completedTasks &+= b.completedTasks
        sum.polls &+= b.polls
        sum.busyNanoseconds &+= b.busyNanoseconds
        sum.scheduledNanoseconds &+= b.scheduledNanoseconds
        sum.wakes &+= b.wakes
        sum.selfWakes &+= b.selfWakes
        sum.lostWakers &+= b.lostWakers
        return sum
    }
}
