import Foundation
import GRDB

/// Checks a store file from outside profhist, as a second program would: SQLite's own checks, the references
/// SQLite cannot check, and the content of snapshots. Used by the crash and concurrency tests.
enum StoreAudit {
    /// What a heap snapshot holds, keyed by the stack's path digest (stable across stores and runs, unlike ids).
    struct SnapshotContent: Equatable, CustomStringConvertible {
        var stackCount: Int
        var total: Double
        var totalObjects: Double
        /// path digest → (inuse_objects, inuse_space)
        var rows: [Int64: [Int64]]

        var description: String { "\(rows.count) rows (stack_count \(stackCount)), total \(total) bytes, \(totalObjects) objects" }

        /// Whether the sample rows add up to the snapshot's own columns: a torn snapshot would not.
        var isWhole: Bool {
            rows.count == stackCount
                && Double(rows.values.reduce(0) { $0 + $1[1] }) == total
                && Double(rows.values.reduce(0) { $0 + $1[0] }) == totalObjects
        }
    }

    /// Problems SQLite and the schema can see: `PRAGMA integrity_check`, `PRAGMA foreign_key_check` (ingest writes
    /// with foreign-key checks off), and the references the schema does not declare (sample rows point at stacks
    /// by a plain integer). Empty when the store is sound.
    static func problems(_ db: Database) throws -> [String] {
        var found: [String] = []
        let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
        if integrity != ["ok"] { found.append("integrity_check: \(integrity.prefix(5))") }
        let foreignKeys = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
        if !foreignKeys.isEmpty { found.append("foreign_key_check: \(foreignKeys.prefix(5))") }
        let orphans: [(String, String)] = [
            ("sample rows without a stack", "SELECT count(*) FROM sample WHERE stack_id NOT IN (SELECT id FROM stack)"),
            ("alloc rows without a stack", "SELECT count(*) FROM sample_alloc WHERE stack_id NOT IN (SELECT id FROM stack)"),
            ("task rows without a stack", "SELECT count(*) FROM task_sample WHERE stack_id NOT IN (SELECT id FROM stack)"),
            ("snapshots without a run of their build", "SELECT count(*) FROM snapshot AS s LEFT JOIN run AS r ON r.id = s.run_id WHERE r.build_id IS NOT s.build_id"),
            ("call sites deeper than their parent + 1", "SELECT count(*) FROM callsite AS c JOIN callsite AS p ON p.id = c.parent_id WHERE c.depth != p.depth + 1"),
        ]
        for (what, sql) in orphans {
            let count = try Int.fetchOne(db, sql: sql) ?? 0
            if count > 0 { found.append("\(count) \(what)") }
        }
        return found
    }

    /// Row counts of every table: a killed or failed ingest must leave them all as they were.
    static func tableCounts(_ db: Database) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") {
            counts[table] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \"\(table)\"") ?? 0
        }
        return counts
    }

    /// The content of one heap snapshot.
    static func content(_ db: Database, snapshotID: Int64) throws -> SnapshotContent? {
        guard let head = try Row.fetchOne(db, sql: "SELECT stack_count, total, total_objects FROM snapshot WHERE id = ?", arguments: [snapshotID])
        else { return nil }
        var rows: [Int64: [Int64]] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT st.path_digest, sa.inuse_objects, sa.inuse_space FROM sample AS sa
                LEFT JOIN stack AS st ON st.id = sa.stack_id WHERE sa.snapshot_id = ?
                """, arguments: [snapshotID])
        {
            rows[row[0] ?? 0] = [row[1], row[2]]
        }
        return SnapshotContent(stackCount: head[0], total: head[1], totalObjects: head[2], rows: rows)
    }

    /// Every snapshot's id and content, plus its row in `snapshot` minus the ingest time.
    static func snapshots(_ db: Database) throws -> [Int64: SnapshotContent] {
        var result: [Int64: SnapshotContent] = [:]
        for id in try Int64.fetchAll(db, sql: "SELECT id FROM snapshot WHERE kind = 'heap'") {
            result[id] = try content(db, snapshotID: id)
        }
        return result
    }

    /// Opens `path` as a plain SQLite client (running WAL recovery if a writer died), runs `body`, and closes the
    /// connection again so the next process finds the store as a crash left it, minus the recovery.
    static func inspect<T>(_ path: String, _ body: (Database) throws -> T) throws -> T {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read(body)
    }
}
