import Foundation
import GRDB

/// Which snapshots `gc` removes. Both rules may be given; a snapshot either rule selects goes. With neither,
/// `gc` only removes what no snapshot uses any more (orphans) and compacts the file; with neither and a branch,
/// the branch's builds go whole.
public struct RetentionPolicy: Sendable, Equatable {
    /// Keep the newest N builds of each branch (in the branch's order: order key, else the time of the first
    /// snapshot); older builds go whole.
    public var keepBuilds: Int?
    /// Remove snapshots taken before this time (epoch milliseconds).
    public var before: Int64?
    /// Only this branch's own builds (a merged or abandoned pull request's); alone, all of them, and the branch.
    public var branch: String?

    public init(keepBuilds: Int? = nil, before: Int64? = nil, branch: String? = nil) {
        self.keepBuilds = keepBuilds
        self.before = before
        self.branch = branch
    }
}

/// What `gc` removed (or, on a dry run, would remove).
public struct GarbageReport: Sendable, Equatable {
    /// Rows of one table: how many go and how many stay.
    public struct Count: Sendable, Equatable {
        public var table: String
        public var removed: Int64
        public var kept: Int64
    }

    /// The builds removed, oldest first.
    public var builds: [String]
    /// One entry per table, in `GarbageCollector.tables` order.
    public var counts: [Count]
    public var dryRun: Bool

    /// The rows removed from `table` (0 for a table not counted).
    public func removed(_ table: String) -> Int64 { counts.first { $0.table == table }?.removed ?? 0 }
}

/// The result of compacting the store file.
public struct Compaction: Sendable, Equatable {
    /// The store file and its WAL, in bytes, after VACUUM and the checkpoint.
    public var bytesAfter: Int64
    /// False when readers still held the old snapshot at the end of the wait: the WAL then keeps the compacted
    /// pages and the file shrinks at the next checkpoint after they finish.
    public var checkpointed: Bool
}

/// Retention for the store: removes old builds and snapshots with their rows, then every stack, call site,
/// frame, location set, string and binary that nothing kept refers to, and compacts the file.
///
/// Removal is one `BEGIN IMMEDIATE` transaction: a killed `gc` leaves the store as it was, readers keep
/// reading their snapshot (WAL) and writers wait for the lock. The plan (what is kept) is computed into TEMP
/// tables by set-based statements; a dry run computes the same plan in a read transaction and rolls it back,
/// so it takes no write lock and changes no byte of the store.
///
/// Foreign-key enforcement is off inside the transaction, as in ingest: SQLite checks every deleted parent row
/// against its child tables, and most child columns (`callsite.parent_id`, `callsite.frame_id`,
/// `stack.leaf_frame_id`, `binary_symbol.frame_id`, ...) have no index that serves that lookup, so deleting a
/// hundred thousand call sites row by row scanned the call-site table a hundred thousand times (minutes). The
/// plan deletes children explicitly, and `PRAGMA foreign_key_check` runs before the commit: a table this code
/// does not know about that still points at a removed row fails the `gc` and nothing is removed.
public struct GarbageCollector {
    public let store: Store

    /// The tables `gc` counts, in the order of its summary.
    public static var tables: [String] { removedRows.map(\.table) }

    /// How long the final checkpoint waits for readers that started before the VACUUM.
    public static let readerWait: TimeInterval = 10

    public init(store: Store) {
        self.store = store
    }

    /// Removes what `policy` selects and every orphan, in one transaction.
    /// - Parameter dryRun: compute the same report, change nothing.
    /// - Throws: `StoreError.gcFailed` (the store is unchanged) on any failure.
    public func collect(_ policy: RetentionPolicy, dryRun: Bool = false) throws -> GarbageReport {
        var clock = PhaseClock()
        defer { clock.report("gc") }
        do {
            return try store.queue.inDatabase { db in
                // See the type's discussion; the setting cannot change inside a transaction, so it is set here.
                try db.execute(sql: "PRAGMA foreign_keys = OFF")
                defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
                var report = GarbageReport(builds: [], counts: [], dryRun: dryRun)
                try db.inTransaction(dryRun ? .deferred : .immediate) {
                    try plan(db, policy)
                    clock.lap("plan")
                    report.builds = try String.fetchAll(
                        db,
                        sql: """
                            SELECT b.name FROM build AS b LEFT JOIN build_order AS o ON o.build_id = b.id
                            WHERE b.id IN (SELECT id FROM temp._gc_build) ORDER BY o.position, b.id
                            """)
                    report.counts = try count(db)
                    clock.lap("count")
                    // The TEMP tables vanish with a rollback; a commit would keep them on this connection.
                    if dryRun { return .rollback }
                    try delete(db)
                    clock.lap("delete")
                    try checkForeignKeys(db)
                    clock.lap("foreign_key_check")
                    try dropPlan(db)
                    return .commit
                }
                clock.lap("commit")
                return report
            }
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            // The deletion itself needs room: every changed page goes to the WAL before the commit. Give back what
            // the failed attempt wrote to the WAL, then say what is needed.
            let walBytes = fileSize(store.path + "-wal")
            _ = try? store.queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            throw StoreError.gcFailed(
                path: store.path,
                reason: "the disk is full: deleting rows needs free space beside the store for SQLite's write-ahead log "
                    + "(more than the \(ByteCount.human(Double(walBytes))) it reached; at most about the store's "
                    + "\(ByteCount.human(Double(store.fileBytes())))), and \(ByteCount.human(Double(freeBytes() ?? 0))) is free; "
                    + "free some space, or remove fewer builds per gc (a larger --keep-builds first)")
        } catch {
            throw StoreError.gcFailed(path: store.path, reason: Store.describe(error))
        }
    }

    /// Free bytes on the file system holding the store; nil when unknown.
    func freeBytes() -> Int64? {
        let folder = (store.path as NSString).deletingLastPathComponent
        let attributes = try? FileManager.default.attributesOfFileSystem(forPath: folder.isEmpty ? "." : folder)
        return (attributes?[.systemFreeSize] as? NSNumber)?.int64Value
    }

    private func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Rewrites the store file without its free pages (VACUUM), then checkpoints the WAL into it and truncates
    /// the WAL.
    ///
    /// VACUUM is a write transaction like any other in WAL mode: it waits for other writers (the busy timeout)
    /// and readers keep their snapshot, reading old pages that the WAL does not overwrite. The checkpoint that
    /// moves the compacted pages into the file waits up to `readerWait` for readers that began before the
    /// VACUUM; if some remain, the file shrinks at a later checkpoint instead.
    /// - Throws: `StoreError.compactFailed` (the store is intact, only not compacted).
    public func compact(readerWait: TimeInterval = GarbageCollector.readerWait, removedRows: Bool = true) throws -> Compaction {
        var clock = PhaseClock()
        defer { clock.report("compact") }
        // VACUUM writes a copy of the live pages (a temporary database, then the WAL): without room for them it
        // would fill the disk and fail; say what it needs instead.
        let live = try? store.queue.read { db -> Int64 in
            let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let free = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            return (pages - free) * (try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 4096)
        }
        if let live, let available = freeBytes(), available < live + (1 << 20) {
            throw StoreError.compactFailed(
                path: store.path,
                reason: "VACUUM needs about \(ByteCount.human(Double(live + (1 << 20)))) of free space beside the store, "
                    + "and \(ByteCount.human(Double(available))) is free; the space of removed rows is reused by later ingests",
                removedRows: removedRows)
        }
        do {
            let checkpointed = try store.queue.writeWithoutTransaction { db -> Bool in
                try db.execute(sql: "VACUUM")
                clock.lap("vacuum")
                try db.execute(sql: "PRAGMA busy_timeout = \(Int(readerWait * 1000))")
                defer { try? db.execute(sql: "PRAGMA busy_timeout = \(Int(Store.busyTimeout * 1000))") }
                // One row: (1 if readers blocked it, WAL frames, frames checkpointed).
                let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                clock.lap("checkpoint")
                return (row?[0] as Int?) == 0
            }
            return Compaction(bytesAfter: store.fileBytes(), checkpointed: checkpointed)
        } catch {
            throw StoreError.compactFailed(path: store.path, reason: Store.describe(error), removedRows: removedRows)
        }
    }

    // MARK: - Plan

    /// Fills the TEMP tables: `_gc_snapshot`, `_gc_build`, `_gc_run` and `_gc_stack_location` hold what goes;
    /// `_gc_keep_*` hold what stays of the interned tables (everything a remaining row refers to).
    private func plan(_ db: Database, _ policy: RetentionPolicy) throws {
        try db.execute(
            sql: """
                CREATE TEMP TABLE _gc_snapshot (id INTEGER PRIMARY KEY);
                CREATE TEMP TABLE _gc_build (id INTEGER PRIMARY KEY);
                CREATE TEMP TABLE _gc_run (id INTEGER PRIMARY KEY);
                CREATE TEMP TABLE _gc_thinned_build (id INTEGER PRIMARY KEY);
                CREATE TEMP TABLE _gc_stack_location (stack_id INTEGER, build_id INTEGER, PRIMARY KEY (stack_id, build_id)) WITHOUT ROWID;
                CREATE TEMP TABLE _gc_sampled (stack_id INTEGER, build_id INTEGER, PRIMARY KEY (stack_id, build_id)) WITHOUT ROWID;
                CREATE TEMP TABLE _gc_keep_stack (id INTEGER PRIMARY KEY);
                CREATE TEMP TABLE _gc_keep_callsite (id INTEGER PRIMARY KEY);
                CREATE TEMP TABLE _gc_keep_binary (id INTEGER PRIMARY KEY);
                CREATE TEMP TABLE _gc_keep_frame (id INTEGER PRIMARY KEY);
                CREATE TEMP TABLE _gc_keep_location_set (id INTEGER PRIMARY KEY);
                CREATE TEMP TABLE _gc_keep_string (id INTEGER PRIMARY KEY);
                """)
        // The snapshots either rule selects (within the branch, if one is named; every one of its snapshots when
        // neither rule is given); then the builds and runs they leave empty (and any that were).
        try checkBranch(db, policy)
        try db.execute(
            sql: """
                INSERT INTO temp._gc_snapshot
                SELECT id FROM snapshot
                WHERE (
                        (:keep IS NOT NULL AND build_id IN (
                            SELECT build_id FROM (
                                SELECT build_id,
                                    row_number() OVER (PARTITION BY branch_id ORDER BY sort_key DESC, build_id DESC) AS newest
                                FROM _build_key
                            ) AS ranked
                            WHERE newest > :keep))
                        OR (:before IS NOT NULL AND taken_at < :before)
                        OR (:branch IS NOT NULL AND :keep IS NULL AND :before IS NULL)
                    )
                    AND (:branch IS NULL OR build_id IN (
                        SELECT b.id FROM build AS b JOIN branch AS br ON br.id = b.branch_id WHERE br.name = :branch))
                """,
            arguments: ["keep": policy.keepBuilds, "before": policy.before, "branch": policy.branch])
        try db.execute(
            sql: """
                INSERT INTO temp._gc_build
                SELECT id FROM build
                WHERE id NOT IN (SELECT build_id FROM snapshot WHERE id NOT IN (SELECT id FROM temp._gc_snapshot));

                INSERT INTO temp._gc_run
                SELECT id FROM run
                WHERE id NOT IN (SELECT run_id FROM snapshot WHERE id NOT IN (SELECT id FROM temp._gc_snapshot));

                -- Builds that lose some snapshots and live on: their stack_location rows stay only for the
                -- stacks their remaining snapshots still have.
                INSERT INTO temp._gc_thinned_build
                SELECT DISTINCT build_id FROM snapshot
                WHERE id IN (SELECT id FROM temp._gc_snapshot) AND build_id NOT IN (SELECT id FROM temp._gc_build);
                """)
        // Stacks stay while a remaining sample row uses them. sample_alloc and task_sample rows are counted too:
        // sample_alloc never holds a stack that sample lacks today, but the rule is "referenced", not that.
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO temp._gc_keep_stack
                SELECT stack_id FROM sample WHERE snapshot_id NOT IN (SELECT id FROM temp._gc_snapshot)
                UNION ALL
                SELECT stack_id FROM sample_alloc WHERE snapshot_id NOT IN (SELECT id FROM temp._gc_snapshot)
                UNION ALL
                SELECT stack_id FROM task_sample WHERE snapshot_id NOT IN (SELECT id FROM temp._gc_snapshot);

                -- A snapshot's heap sample rows are one range of the sample key (SampleKey, migration 0004).
                INSERT OR IGNORE INTO temp._gc_sampled
                SELECT sa.stack_id, s.build_id
                FROM snapshot AS s
                JOIN sample AS sa ON \(SampleKey.range(of: "s.id"))
                WHERE s.build_id IN (SELECT id FROM temp._gc_thinned_build)
                    AND s.id NOT IN (SELECT id FROM temp._gc_snapshot);
                INSERT OR IGNORE INTO temp._gc_sampled
                SELECT t.stack_id, s.build_id
                FROM snapshot AS s
                JOIN task_sample AS t ON t.snapshot_id = s.id
                WHERE s.build_id IN (SELECT id FROM temp._gc_thinned_build)
                    AND s.id NOT IN (SELECT id FROM temp._gc_snapshot);

                -- Pairs are matched with EXISTS on the TEMP table's primary key: SQLite does not use it for a
                -- row-value (a, b) IN (SELECT ...), which scanned the table per row (minutes on 80k rows).
                INSERT INTO temp._gc_stack_location
                SELECT l.stack_id, l.build_id FROM stack_location AS l
                WHERE l.build_id IN (SELECT id FROM temp._gc_build)
                    OR l.stack_id NOT IN (SELECT id FROM temp._gc_keep_stack)
                    OR (l.build_id IN (SELECT id FROM temp._gc_thinned_build)
                        AND NOT EXISTS (
                            SELECT 1 FROM temp._gc_sampled AS k WHERE k.stack_id = l.stack_id AND k.build_id = l.build_id));
                """)
        // Call sites: every kept stack's leaf and its ancestors, walked up by primary key (each visited once).
        try db.execute(
            sql: """
                INSERT INTO temp._gc_keep_callsite
                WITH RECURSIVE up(id) AS (
                    SELECT id FROM temp._gc_keep_stack
                    UNION
                    SELECT c.parent_id FROM callsite AS c JOIN up ON c.id = up.id WHERE c.parent_id IS NOT NULL
                )
                SELECT id FROM up;

                -- Binaries (and their symbol cache) stay while a remaining snapshot was symbolized with them.
                -- The cache of a binary no snapshot uses only keeps old frames and strings alive; re-ingesting one
                -- of its dumps symbolizes again.
                INSERT OR IGNORE INTO temp._gc_keep_binary
                SELECT binary_id FROM snapshot_mapping
                WHERE binary_id IS NOT NULL AND snapshot_id NOT IN (SELECT id FROM temp._gc_snapshot);

                INSERT OR IGNORE INTO temp._gc_keep_frame
                SELECT frame_id FROM callsite WHERE id IN (SELECT id FROM temp._gc_keep_callsite)
                UNION ALL
                SELECT leaf_frame_id FROM stack WHERE id IN (SELECT id FROM temp._gc_keep_stack)
                UNION ALL
                SELECT frame_id FROM binary_symbol WHERE binary_id IN (SELECT id FROM temp._gc_keep_binary);

                INSERT OR IGNORE INTO temp._gc_keep_location_set
                SELECT l.location_set_id FROM stack_location AS l
                WHERE NOT EXISTS (
                    SELECT 1 FROM temp._gc_stack_location AS g WHERE g.stack_id = l.stack_id AND g.build_id = l.build_id);

                INSERT OR IGNORE INTO temp._gc_keep_string
                SELECT name_id FROM frame WHERE id IN (SELECT id FROM temp._gc_keep_frame)
                UNION ALL
                SELECT key_id FROM snapshot_label WHERE snapshot_id NOT IN (SELECT id FROM temp._gc_snapshot)
                UNION ALL
                SELECT value_id FROM snapshot_label WHERE snapshot_id NOT IN (SELECT id FROM temp._gc_snapshot)
                UNION ALL
                SELECT file_id FROM binary_symbol
                WHERE binary_id IN (SELECT id FROM temp._gc_keep_binary) AND file_id IS NOT NULL;
                """)
        try keepLocationFiles(db)
    }

    /// Keeps the file names that kept location blobs refer to. The blobs are LEB128 triples (file string id,
    /// line, inlined) per frame, which SQL cannot read, so they are decoded here.
    /// - Throws: `StoreError.gcFailed` for a blob that does not decode: its strings cannot be told apart from
    ///   orphans, so nothing is removed.
    private func keepLocationFiles(_ db: Database) throws {
        var files = Set<Int64>()
        let rows = try Row.fetchCursor(
            db, sql: "SELECT id, frames FROM location_set WHERE id IN (SELECT id FROM temp._gc_keep_location_set)")
        while let row = try rows.next() {
            let blob: Data = row[1]
            guard let values = LEB128.decode([UInt8](blob)), values.count % 3 == 0 else {
                let id: Int64 = row[0]
                throw StoreError.gcFailed(
                    path: store.path, reason: "location_set \(id) holds a location blob that does not decode")
            }
            for index in stride(from: 0, to: values.count, by: 3) where values[index] != 0 {
                files.insert(Int64(bitPattern: values[index]))
            }
        }
        let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO temp._gc_keep_string (id) VALUES (?)")
        for id in files { try insert.execute(arguments: [id]) }
    }

    /// Each table `gc` counts, parents before children, with the SQL that selects its rows that go.
    private static let removedRows: [(table: String, sql: String)] = [
        ("build", "SELECT id FROM temp._gc_build"),
        ("run", "SELECT id FROM temp._gc_run"),
        ("snapshot", "SELECT id FROM temp._gc_snapshot"),
        ("snapshot_label", "SELECT 1 FROM snapshot_label WHERE snapshot_id IN (SELECT id FROM temp._gc_snapshot)"),
        ("sample", "SELECT 1 FROM temp._gc_snapshot AS g JOIN sample AS sa ON \(SampleKey.range(of: "g.id"))"),
        ("sample_alloc", "SELECT 1 FROM sample_alloc WHERE snapshot_id IN (SELECT id FROM temp._gc_snapshot)"),
        ("task_sample", "SELECT 1 FROM task_sample WHERE snapshot_id IN (SELECT id FROM temp._gc_snapshot)"),
        ("snapshot_mapping", "SELECT 1 FROM snapshot_mapping WHERE snapshot_id IN (SELECT id FROM temp._gc_snapshot)"),
        ("stack_location", "SELECT 1 FROM temp._gc_stack_location"),
        ("stack", "SELECT 1 FROM stack WHERE id NOT IN (SELECT id FROM temp._gc_keep_stack)"),
        ("callsite", "SELECT 1 FROM callsite WHERE id NOT IN (SELECT id FROM temp._gc_keep_callsite)"),
        ("frame", "SELECT 1 FROM frame WHERE id NOT IN (SELECT id FROM temp._gc_keep_frame)"),
        ("location_set", "SELECT 1 FROM location_set WHERE id NOT IN (SELECT id FROM temp._gc_keep_location_set)"),
        ("string", "SELECT 1 FROM string WHERE id NOT IN (SELECT id FROM temp._gc_keep_string)"),
        ("binary", "SELECT 1 FROM binary WHERE id NOT IN (SELECT id FROM temp._gc_keep_binary)"),
        ("binary_symbol", "SELECT 1 FROM binary_symbol WHERE binary_id NOT IN (SELECT id FROM temp._gc_keep_binary)"),
    ]

    private func count(_ db: Database) throws -> [GarbageReport.Count] {
        try Self.removedRows.map { table, removedSQL in
            let total = try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0
            let removed = try Int64.fetchOne(db, sql: "SELECT count(*) FROM (\(removedSQL))") ?? 0
            return GarbageReport.Count(table: table, removed: removed, kept: total - removed)
        }
    }

    // MARK: - Removal

    /// A named branch must exist, and the default branch is never removed whole.
    private func checkBranch(_ db: Database, _ policy: RetentionPolicy) throws {
        guard let branch = policy.branch else { return }
        try Branches.checkExists(branch, db)
        if policy.keepBuilds == nil && policy.before == nil, try branch == Branches.defaultName(db) {
            throw StoreError.badParameter(
                "gc --branch \(branch): '\(branch)' is the default branch, which is never removed whole; "
                    + "use --keep-builds N or --before TIME with it")
        }
    }

    /// Deletes the plan, children before parents (foreign-key enforcement is off, so nothing cascades).
    private func delete(_ db: Database) throws {
        try db.execute(
            sql: """
                DELETE FROM sample
                WHERE key IN (SELECT sa.key FROM temp._gc_snapshot AS g JOIN sample AS sa ON \(SampleKey.range(of: "g.id")));
                DELETE FROM sample_alloc WHERE snapshot_id IN (SELECT id FROM temp._gc_snapshot);
                DELETE FROM task_sample WHERE snapshot_id IN (SELECT id FROM temp._gc_snapshot);
                DELETE FROM snapshot_label WHERE snapshot_id IN (SELECT id FROM temp._gc_snapshot);
                DELETE FROM snapshot_mapping WHERE snapshot_id IN (SELECT id FROM temp._gc_snapshot);
                DELETE FROM snapshot WHERE id IN (SELECT id FROM temp._gc_snapshot);
                DELETE FROM stack_location
                WHERE EXISTS (
                    SELECT 1 FROM temp._gc_stack_location AS g
                    WHERE g.stack_id = stack_location.stack_id AND g.build_id = stack_location.build_id);
                DELETE FROM run WHERE id IN (SELECT id FROM temp._gc_run);
                DELETE FROM build WHERE id IN (SELECT id FROM temp._gc_build);
                -- A branch left without builds goes, unless it is the default or another branch starts from it.
                DELETE FROM branch
                WHERE id NOT IN (SELECT branch_id FROM build WHERE branch_id IS NOT NULL)
                    AND id NOT IN (SELECT start_branch_id FROM branch WHERE start_branch_id IS NOT NULL)
                    AND name <> (SELECT value FROM setting WHERE name = 'default_branch');
                DELETE FROM stack WHERE id NOT IN (SELECT id FROM temp._gc_keep_stack);
                DELETE FROM callsite WHERE id NOT IN (SELECT id FROM temp._gc_keep_callsite);
                DELETE FROM location_set WHERE id NOT IN (SELECT id FROM temp._gc_keep_location_set);
                DELETE FROM binary_symbol WHERE binary_id NOT IN (SELECT id FROM temp._gc_keep_binary);
                DELETE FROM binary WHERE id NOT IN (SELECT id FROM temp._gc_keep_binary);
                DELETE FROM frame WHERE id NOT IN (SELECT id FROM temp._gc_keep_frame);
                DELETE FROM string WHERE id NOT IN (SELECT id FROM temp._gc_keep_string);
                """)
    }

    /// Fails the `gc` when a row still points at a removed one (a table or reference the plan does not know).
    private func checkForeignKeys(_ db: Database) throws {
        let dangling = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
        guard let first = dangling.first else { return }
        let table: String = first[0]
        let parent: String = first[2]
        throw StoreError.gcFailed(
            path: store.path,
            reason: "\(dangling.count) rows would be left pointing at removed rows (first: \(table) -> \(parent))")
    }

    private func dropPlan(_ db: Database) throws {
        for table in [
            "_gc_snapshot", "_gc_build", "_gc_run", "_gc_thinned_build", "_gc_stack_location", "_gc_sampled",
            "_gc_keep_stack", "_gc_keep_callsite", "_gc_keep_binary", "_gc_keep_frame", "_gc_keep_location_set",
            "_gc_keep_string",
        ] {
            try db.execute(sql: "DROP TABLE temp.\(table)")
        }
    }
}

extension Store {
    /// The bytes the store takes on disk: the database file and its WAL.
    public func fileBytes() -> Int64 {
        [path, path + "-wal"].reduce(0) { total, file in
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0
            return total + size
        }
    }
}
