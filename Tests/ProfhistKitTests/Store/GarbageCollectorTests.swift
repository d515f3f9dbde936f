import Foundation
import GRDB
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// `gc` on a real history: five builds of the leaky C program, two runs each (legacy_pool only in b0-b1,
/// session_registry from b2 on, odd builds move every address), a tokio-console snapshot with labels in b0 and a
/// task dump in b4 (task frames' file names live only in location blobs). Made once; every test gets a copy.
@Suite("garbage collection")
struct GarbageCollectorTests {
    static let start = Timestamp.parse("2026-03-01T00:00:00Z")!
    static let minute: Int64 = 60_000

    static let history: Result<LeakyHistory, Error> = Result {
        let builds = (0..<5).map { b -> LeakyHistory.Build in
            var defines: [String] = []
            if b <= 1 { defines.append("LEGACY_POOL") }
            if b >= 2 { defines.append("LEAK_SINCE_BUILD") }
            if b % 2 == 1 { defines.append("EXTRA_CODE") }
            return LeakyHistory.Build(name: "b\(b)", defines: defines)
        }
        let history = try LeakyHistory.make(builds: builds, runs: 2)
        let pipeline = IngestPipeline(openStore: { history.store }, binaries: [], llvm: nil)
        _ = try pipeline.ingest(
            path: TaskFixtures.sample("updates.pretty.json").path, format: .auto,
            options: IngestOptions(
                build: "b0", run: "tasks", takenAt: start + 30 * minute, labels: [("source", "console")]))
        _ = try pipeline.ingest(
            path: TaskFixtures.sample("taskdump.tokio-1.53.1.txt").path, format: .auto,
            options: IngestOptions(
                build: "b4", run: "tasks", takenAt: start + 4 * 60 * minute + 30 * minute,
                labels: [("source", "taskdump")]))
        return history
    }

    /// A copy of the history's store in a new folder, in WAL mode with an empty WAL, and no connection open.
    static func copy() throws -> String {
        let history = try Self.history.get()
        let path = try Fixtures.temporaryFolder("profhist-gc").appendingPathComponent("copy.db").path
        try history.store.queue.inDatabase { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        try queue.close()
        return path
    }

    static func tableCounts(_ db: Database) throws -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for table in GarbageCollector.tables {
            counts[table] = try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(table)")
        }
        return counts
    }

    /// Rows nothing refers to, per kind, found with SQL written apart from the collector's (a call site is
    /// unused when it is not a stack and has no child: every unused subtree has such a node), and strings that a
    /// location blob names but that do not exist.
    static func orphans(_ db: Database) throws -> [String: Int] {
        func count(_ sql: String) throws -> Int { try Int.fetchOne(db, sql: sql) ?? -1 }
        var result: [String: Int] = [:]
        result["build"] = try count("SELECT count(*) FROM build WHERE id NOT IN (SELECT build_id FROM snapshot)")
        result["run"] = try count("SELECT count(*) FROM run WHERE id NOT IN (SELECT run_id FROM snapshot)")
        result["stack"] = try count(
            """
            SELECT count(*) FROM stack
            WHERE id NOT IN (SELECT stack_id FROM sample UNION SELECT stack_id FROM sample_alloc UNION SELECT stack_id FROM task_sample)
            """)
        result["callsite"] = try count(
            """
            SELECT count(*) FROM callsite
            WHERE id NOT IN (SELECT id FROM stack) AND id NOT IN (SELECT parent_id FROM callsite WHERE parent_id IS NOT NULL)
            """)
        result["stack_location"] = try count(
            """
            SELECT count(*) FROM stack_location AS l
            WHERE NOT EXISTS (
                SELECT 1 FROM snapshot AS s JOIN sample AS sa ON sa.snapshot_id = s.id
                WHERE s.build_id = l.build_id AND sa.stack_id = l.stack_id)
            AND NOT EXISTS (
                SELECT 1 FROM snapshot AS s JOIN task_sample AS t ON t.snapshot_id = s.id
                WHERE s.build_id = l.build_id AND t.stack_id = l.stack_id)
            """)
        result["frame"] = try count(
            """
            SELECT count(*) FROM frame
            WHERE id NOT IN (SELECT frame_id FROM callsite UNION SELECT leaf_frame_id FROM stack UNION SELECT frame_id FROM binary_symbol)
            """)
        result["location_set"] = try count(
            "SELECT count(*) FROM location_set WHERE id NOT IN (SELECT location_set_id FROM stack_location)")
        result["binary"] = try count(
            "SELECT count(*) FROM binary WHERE id NOT IN (SELECT binary_id FROM snapshot_mapping WHERE binary_id IS NOT NULL)"
        )
        var blobFiles = Set<Int64>()
        for blob in try Data.fetchAll(db, sql: "SELECT frames FROM location_set") {
            let values = try #require(LEB128.decode([UInt8](blob)))
            for index in stride(from: 0, to: values.count, by: 3) where values[index] != 0 {
                blobFiles.insert(Int64(values[index]))
            }
        }
        let referenced = Set(
            try Int64.fetchAll(
                db,
                sql: """
                    SELECT name_id FROM frame UNION SELECT key_id FROM snapshot_label UNION SELECT value_id FROM snapshot_label
                    UNION SELECT file_id FROM binary_symbol WHERE file_id IS NOT NULL
                    """)
        ).union(blobFiles)
        let strings = Set(try Int64.fetchAll(db, sql: "SELECT id FROM string"))
        result["string"] = strings.subtracting(referenced).count
        result["missing_blob_string"] = blobFiles.subtracting(strings).count
        return result
    }

    static func expectNoOrphans(_ db: Database) throws {
        let orphans = try Self.orphans(db)
        #expect(orphans.values.allSatisfy { $0 == 0 }, "\(orphans)")
    }

    static func expectSound(_ db: Database) throws {
        #expect(try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok")
        #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
    }

    // MARK: - Retention

    @Test(
        "--keep-builds removes exactly the older builds with all their rows; kept rows are untouched and counted right")
    func keepBuilds() throws {
        let path = try Self.copy()
        let store = try Store(path: path, create: false)
        let (before, keptSnapshots, keptSamples, keptLocations, keptLabels) = try store.queue.read { db in
            (
                try Self.tableCounts(db),
                try Int64.fetchAll(
                    db,
                    sql:
                        "SELECT s.id FROM snapshot AS s JOIN build AS b ON b.id = s.build_id WHERE b.name IN ('b2', 'b3', 'b4') ORDER BY s.id"
                ),
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT sa.* FROM sample AS sa JOIN snapshot AS s ON s.id = sa.snapshot_id JOIN build AS b ON b.id = s.build_id
                        WHERE b.name IN ('b2', 'b3', 'b4') ORDER BY sa.snapshot_id, sa.stack_id
                        """),
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT l.stack_id, b.name, ls.frames FROM stack_location AS l JOIN build AS b ON b.id = l.build_id
                        JOIN location_set AS ls ON ls.id = l.location_set_id
                        WHERE b.name IN ('b2', 'b3', 'b4') ORDER BY l.stack_id, b.name
                        """),
                try Row.fetchAll(
                    db,
                    sql:
                        "SELECT * FROM snapshot_label WHERE snapshot_id IN (SELECT id FROM snapshot WHERE build_id = (SELECT id FROM build WHERE name = 'b4'))"
                )
            )
        }
        let report = try GarbageCollector(store: store).collect(RetentionPolicy(keepBuilds: 3))
        #expect(report.builds == ["b0", "b1"])
        #expect(!report.dryRun)
        // The history makes orphans of every kind when b0 and b1 go (legacy_pool, their binaries, the console
        // snapshot's spawn locations and labels): a collector that removed nothing would fail here.
        for table in ["callsite", "stack", "frame", "string", "location_set", "binary", "binary_symbol", "task_sample"]
        {
            #expect(report.removed(table) > 0, "\(table)")
        }
        try store.queue.read { db in
            #expect(
                try String.fetchAll(db, sql: "SELECT build FROM build_order ORDER BY position") == ["b2", "b3", "b4"])
            #expect(try Int64.fetchAll(db, sql: "SELECT id FROM snapshot ORDER BY id") == keptSnapshots)
            #expect(try Row.fetchAll(db, sql: "SELECT * FROM sample ORDER BY snapshot_id, stack_id") == keptSamples)
            #expect(
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT l.stack_id, b.name, ls.frames FROM stack_location AS l JOIN build AS b ON b.id = l.build_id
                        JOIN location_set AS ls ON ls.id = l.location_set_id ORDER BY l.stack_id, b.name
                        """) == keptLocations)
            #expect(try Row.fetchAll(db, sql: "SELECT * FROM snapshot_label") == keptLabels)
            // The report says what happened: removed + kept = before, kept = after, for every table.
            let after = try Self.tableCounts(db)
            for count in report.counts {
                #expect(count.removed + count.kept == before[count.table], "\(count.table)")
                #expect(count.kept == after[count.table], "\(count.table)")
            }
            try Self.expectNoOrphans(db)
            try Self.expectSound(db)
        }
    }

    @Test(
        "--before removes earlier snapshots and the builds and runs they empty; a thinned build keeps only its sampled locations"
    )
    func before() throws {
        let path = try Self.copy()
        let store = try Store(path: path, create: false)
        // b2's second run: b0, b1 (and the console snapshot) go whole, b2 loses run0 and a task dump taken
        // before it, whose stacks live on in b4: b2's locations of them must go.
        let cutoff = Self.start + 2 * 60 * Self.minute + 10 * Self.minute
        _ = try IngestPipeline(openStore: { store }, binaries: [], llvm: nil).ingest(
            path: TaskFixtures.sample("taskdump.tokio-1.53.1.txt").path, format: .auto,
            options: IngestOptions(build: "b2", run: "early", takenAt: cutoff - 5 * Self.minute))
        let (doomed, locations) = try store.queue.read { db in
            (
                try Int64.fetchAll(
                    db, sql: "SELECT id FROM snapshot WHERE taken_at < ? ORDER BY id", arguments: [cutoff]),
                // Those of b0 and b1, and b2's of stacks that no snapshot of b2 from the cutoff on has.
                try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT count(*) FROM stack_location AS l JOIN build AS b ON b.id = l.build_id
                        WHERE b.name IN ('b0', 'b1') OR (b.name = 'b2' AND l.stack_id NOT IN (
                            SELECT x.stack_id
                            FROM (SELECT snapshot_id, stack_id FROM sample UNION ALL SELECT snapshot_id, stack_id FROM task_sample) AS x
                            JOIN snapshot AS s ON s.id = x.snapshot_id
                            WHERE s.build_id = b.id AND s.taken_at >= :cutoff))
                        """, arguments: ["cutoff": cutoff]) ?? 0
            )
        }
        let thinned = try store.queue.read { db in
            try Int64.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM stack_location AS l JOIN build AS b ON b.id = l.build_id AND b.name = 'b2'
                    WHERE l.stack_id IN (SELECT stack_id FROM task_sample)
                    """) ?? 0
        }
        #expect(thinned == 4)
        let collector = GarbageCollector(store: store)
        // Both rules together select the union: keeping 2 builds adds b2's second run.
        let union = try collector.collect(RetentionPolicy(keepBuilds: 2, before: cutoff), dryRun: true)
        #expect(union.builds == ["b0", "b1", "b2"])
        let report = try collector.collect(RetentionPolicy(before: cutoff))
        #expect(report.builds == ["b0", "b1"])
        #expect(report.removed("snapshot") == Int64(doomed.count))
        #expect(union.removed("snapshot") == Int64(doomed.count) + 1)
        #expect(report.removed("stack_location") == locations)
        try store.queue.read { db in
            #expect(
                try Int.fetchOne(db, sql: "SELECT count(*) FROM snapshot WHERE taken_at < ?", arguments: [cutoff]) == 0)
            #expect(
                try String.fetchAll(
                    db, sql: "SELECT r.name FROM run AS r JOIN build AS b ON b.id = r.build_id WHERE b.name = 'b2'")
                    == ["run1"])
            #expect(
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT count(*) FROM stack_location WHERE stack_id IN (SELECT stack_id FROM task_sample) AND build_id = (SELECT id FROM build WHERE name = 'b2')"
                ) == 0)
            let b2Locations =
                try Int.fetchOne(
                    db,
                    sql: "SELECT count(*) FROM stack_location WHERE build_id = (SELECT id FROM build WHERE name = 'b2')"
                ) ?? 0
            let b2Stacks = try Int.fetchOne(
                db,
                sql:
                    "SELECT count(DISTINCT sa.stack_id) FROM sample AS sa JOIN snapshot AS s ON s.id = sa.snapshot_id WHERE s.build_id = (SELECT id FROM build WHERE name = 'b2')"
            )
            #expect(b2Locations == b2Stacks)
            try Self.expectNoOrphans(db)
            try Self.expectSound(db)
        }
        // Nothing else: another gc with the same cutoff removes nothing.
        let again = try collector.collect(RetentionPolicy(before: cutoff), dryRun: true)
        #expect(again.counts.allSatisfy { $0.removed == 0 }, "\(again.counts)")
    }

    @Test("gc without a policy removes the orphans a plain cascading delete leaves behind; the checks find them first")
    func orphansWithoutPolicy() throws {
        let path = try Self.copy()
        let store = try Store(path: path, create: false)
        try store.queue.write { db in try db.execute(sql: "DELETE FROM build WHERE name IN ('b0', 'b1')") }
        let left = try store.queue.read { db in try Self.orphans(db) }
        for kind in ["stack", "string", "location_set", "binary"] {
            #expect((left[kind] ?? 0) > 0, "\(kind): \(left)")
        }
        // Unused stack rows still hold their call sites; without them, the call-site check finds the rest.
        try store.queue.write { db in
            try db.execute(
                sql:
                    "DELETE FROM stack WHERE id NOT IN (SELECT stack_id FROM sample UNION SELECT stack_id FROM task_sample)"
            )
        }
        let callsites = try store.queue.read { db in try Self.orphans(db)["callsite"] ?? 0 }
        #expect(callsites > 0)
        let report = try GarbageCollector(store: store).collect(RetentionPolicy())
        #expect(report.builds.isEmpty)
        #expect(report.removed("snapshot") == 0)
        try store.queue.read { db in
            try Self.expectNoOrphans(db)
            try Self.expectSound(db)
        }
    }

    @Test("a failure before the commit leaves every row in place and says the store is unchanged")
    func failureRollsBack() throws {
        let path = try Self.copy()
        let store = try Store(path: path, create: false)
        // A kept build's location blob cut mid-varint: its strings cannot be told from orphans.
        try store.queue.write { db in
            try db.execute(
                sql: """
                    UPDATE location_set SET frames = x'80'
                    WHERE id = (SELECT location_set_id FROM stack_location WHERE build_id = (SELECT id FROM build WHERE name = 'b4') LIMIT 1)
                    """)
        }
        let before = try store.queue.read { db in try Self.tableCounts(db) }
        do {
            _ = try GarbageCollector(store: store).collect(RetentionPolicy(keepBuilds: 3))
            Issue.record("gc succeeded over an undecodable location blob")
        } catch let error as StoreError {
            let message = error.localizedDescription
            #expect(
                message.contains(path) && message.contains("unchanged") && message.contains("location_set"),
                "\(message)")
        }
        #expect(try store.queue.read { db in try Self.tableCounts(db) } == before)
        #expect(try store.queue.read { db in try Int.fetchOne(db, sql: "PRAGMA foreign_keys") } == 1)
    }

    @Test("a read transaction held open through gc and VACUUM keeps its snapshot; the file shrinks once it ends")
    func heldReader() throws {
        let path = try Self.copy()
        let store = try Store(path: path, create: false)
        let collector = GarbageCollector(store: store)
        let bytesBefore = store.fileBytes()
        let reader = try DatabaseQueue(path: path)
        var report: GarbageReport?
        try reader.inDatabase { db in
            try db.execute(sql: "BEGIN DEFERRED")
            let seen = try Self.tableCounts(db)
            let stacks = try String.fetchAll(
                db, sql: "SELECT stack_id || ':' || inuse_space FROM v_stack_value ORDER BY 1")
            report = try collector.collect(RetentionPolicy(keepBuilds: 3))
            let compaction = try collector.compact(readerWait: 0.2)
            // The checkpoint cannot pass a reader of the old snapshot: it reports so instead of failing.
            #expect(!compaction.checkpointed)
            #expect(try Self.tableCounts(db) == seen)
            #expect(
                try String.fetchAll(db, sql: "SELECT stack_id || ':' || inuse_space FROM v_stack_value ORDER BY 1")
                    == stacks)
            try db.execute(sql: "COMMIT")
        }
        let after = try reader.read { db in try Self.tableCounts(db) }
        for count in try #require(report).counts { #expect(after[count.table] == count.kept, "\(count.table)") }
        try reader.close()
        let compaction = try collector.compact(readerWait: 0.2)
        #expect(compaction.checkpointed)
        #expect(compaction.bytesAfter < bytesBefore)
        #expect(compaction.bytesAfter == store.fileBytes())
        try store.queue.read { db in try Self.expectSound(db) }
    }

    // MARK: - Command line

    /// The kept builds through the commands people read them with.
    static func keptViews(_ db: String, stacks: [Int64]) throws -> [String] {
        let commands: [[String]] =
            [
                ["top", "--builds", "b2..b4", "--all", "--format", "csv"],
                ["export", "--builds", "b2..b4", "--format", "csv"],
                ["export", "--builds", "b2..b4", "--kind", "tasks", "--format", "csv"],
                ["diff", "--base", "b2", "--target", "b4", "--format", "csv"],
            ] + stacks.map { ["show", String($0), "--format", "csv"] }
        return try commands.map { arguments in
            let result = try Fixtures.profhist(arguments + ["--db", db])
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(result.stdout.split(separator: "\n").count > 1, "\(arguments): empty")
            return result.stdout
        }
    }

    @Test("top, export, diff and show of the kept builds print the same before and after gc")
    func keptOutputUnchanged() throws {
        let path = try Self.copy()
        let stacks = try DatabaseQueue(path: path).read { db in
            try Int64.fetchAll(
                db,
                sql: """
                    SELECT stack_id FROM (
                        SELECT DISTINCT stack_id FROM sample WHERE snapshot_id IN (SELECT id FROM snapshot WHERE build_id = (SELECT id FROM build WHERE name = 'b4')) ORDER BY stack_id LIMIT 6)
                    UNION SELECT stack_id FROM task_sample WHERE snapshot_id IN (SELECT id FROM snapshot WHERE build_id = (SELECT id FROM build WHERE name = 'b4'))
                    """)
        }
        #expect(stacks.count >= 8)
        let before = try Self.keptViews(path, stacks: stacks)
        let gc = try Fixtures.profhist(["gc", "--keep-builds", "3", "--db", path])
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(gc.stderr.contains("removed 2 builds: b0, b1"), "\(gc.stderr)")
        #expect(gc.stdout.split(separator: "\n").allSatisfy { $0.count <= 100 }, "\(gc.stdout)")
        let after = try Self.keptViews(path, stacks: stacks)
        #expect(before == after)
    }

    static func storeBytes(_ path: String) -> Data {
        var data = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
        data.append((try? Data(contentsOf: URL(fileURLWithPath: path + "-wal"))) ?? Data())
        return data
    }

    static func removedByItem(_ json: String) throws -> [String: Int] {
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        var result: [String: Int] = [:]
        for row in rows {
            let item = try #require(row["item"] as? String)
            result[item] = row["removed"] as? Int
        }
        return result
    }

    @Test("--dry-run changes no byte of the store and reports exactly what gc then removes")
    func dryRun() throws {
        let path = try Self.copy()
        let bytes = Self.storeBytes(path)
        let dry = try Fixtures.profhist(["gc", "--keep-builds", "3", "--dry-run", "--format", "json", "--db", path])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(
            dry.stderr.contains("would remove 2 builds: b0, b1") && dry.stderr.contains("nothing changed"),
            "\(dry.stderr)")
        #expect(Self.storeBytes(path) == bytes)
        let planned = try Self.removedByItem(dry.stdout)
        #expect(planned["file_bytes"] == nil)

        let real = try Fixtures.profhist(["gc", "--keep-builds", "3", "--format", "json", "--db", path])
        #expect(real.status == 0, "\(real.stderr)")
        #expect(Self.storeBytes(path) != bytes)
        var removed = try Self.removedByItem(real.stdout)
        #expect((removed.removeValue(forKey: "file_bytes") ?? 0) > 0)
        #expect(Set(removed.keys) == Set(GarbageCollector.tables))
        #expect(removed == planned.filter { $0.key != "file_bytes" })
    }

    @Test("a dump of a removed build ingests again, with the values it had")
    func reingestRemovedBuild() throws {
        let history = try Self.history.get()
        let dump = try #require(history.dumps["b0"]?.first)
        let original = try #require(history.snapshotIDs[dump])
        let path = try Self.copy()
        func rows(_ snapshot: Int64) throws -> [String] {
            let export = try Fixtures.profhist([
                "export", "--snapshot", String(snapshot), "--format", "jsonl", "--db", path,
            ])
            #expect(export.status == 0, "\(export.stderr)")
            return try export.stdout.split(separator: "\n").map { line in
                var row = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                row["snapshot_id"] = nil
                row["stack_id"] = nil
                return String(
                    decoding: try JSONSerialization.data(withJSONObject: row, options: .sortedKeys), as: UTF8.self)
            }.sorted()
        }
        let before = try rows(original)
        #expect(!before.isEmpty)
        #expect(
            try GarbageCollector(store: try Store(path: path, create: false)).collect(RetentionPolicy(keepBuilds: 3))
                .builds == ["b0", "b1"])
        let ingest = try Fixtures.profhist([
            "ingest", dump.path, "--build", "b0", "--run", "run0", "--at", Timestamp.rfc3339(milliseconds: Self.start),
            "--binary", try #require(history.programs["b0"]).path, "--db", path,
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let stored = try #require(ingest.stderr.firstMatch(of: /stored as snapshot (\d+)/))
        #expect(try rows(try #require(Int64(stored.1))) == before)
        try DatabaseQueue(path: path).read { db in
            try Self.expectNoOrphans(db)
            try Self.expectSound(db)
        }
    }

    @Test("profhist top in other processes keeps answering while gc runs")
    func concurrentTop() throws {
        let path = try Self.copy()
        let done = ThreadBox(false)
        let statuses = ThreadSafeArray<Int32>()
        let group = DispatchGroup()
        group.enter()
        Thread {
            repeat {
                let top = try? Fixtures.profhist(["top", "--all", "--format", "csv", "--db", path])
                statuses.append(top?.status ?? -1)
            } while !done.value
            group.leave()
        }.start()
        // Let the reader start first, so gc overlaps it.
        while statuses.values.isEmpty { usleep(10_000) }
        let gc = try Fixtures.profhist(["gc", "--keep-builds", "3", "--db", path])
        done.value = true
        group.wait()
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(statuses.values.allSatisfy { $0 == 0 }, "\(statuses.values)")
    }

    @Test("gc --help teaches with examples; bad options exit 64; no store exits 1")
    func usage() throws {
        let help = try Fixtures.profhist(["gc", "--help"])
        #expect(help.status == 0)
        for text in ["--keep-builds", "--before", "--dry-run", "profhist gc --keep-builds 50 --dry-run", "--format"] {
            #expect(help.stdout.contains(text), "\(text)")
        }
        #expect(try Fixtures.profhist(["gc", "--keep-builds", "0"]).status == 64)
        #expect(try Fixtures.profhist(["gc", "--before", "yesterday"]).status == 64)
        let missing = try Fixtures.profhist(["gc", "--db", "/nonexistent/none.db"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("/nonexistent/none.db: no store"), "\(missing.stderr)")
    }
}

/// A value shared between threads.
final class ThreadBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get {
            lock.lock()
            defer { lock.unlock() }
            return stored
        }
        set {
            lock.lock()
            stored = newValue
            lock.unlock()
        }
    }
}
