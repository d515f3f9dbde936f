import Foundation
import GRDB
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

@Suite("store")
struct StoreTests {
    static func newStore() throws -> Store {
        try Store(path: try Fixtures.temporaryFolder().appendingPathComponent("profhist.db").path, create: true)
    }

    static func stackIDs(_ store: Store, build: String) throws -> Set<Int64> {
        try store.queue.read { db in
            Set(try Int64.fetchAll(
                db,
                sql: "SELECT DISTINCT sa.stack_id FROM sample AS sa JOIN snapshot AS s ON s.id = sa.snapshot_id JOIN build AS b ON b.id = s.build_id WHERE b.name = ?",
                arguments: [build]))
        }
    }

    /// The first dump of `set` with its main mapping pointed at a path that does not exist, so only --binary
    /// can name its frames.
    static func movedDump(_ set: SharedDumps.CSet, in folder: URL) throws -> URL {
        let text = try String(contentsOf: set.dumps1[0], encoding: .utf8)
            .replacingOccurrences(of: set.program1.path, with: "/nonexistent/place/leaky")
        let dump = folder.appendingPathComponent("moved.heap")
        try text.write(to: dump, atomically: true, encoding: .utf8)
        return dump
    }

    static func ingestAll(_ store: Store, _ dumps: [URL], binary: URL, build: String) throws {
        let pipeline = IngestPipeline(openStore: { store }, binaries: [try BinaryCandidate(path: binary.path)], llvm: LLVMSymbolizer.locate())
        for dump in dumps { _ = try pipeline.ingest(path: dump.path, format: .auto, options: IngestOptions(build: build)) }
    }

    @Test("the schema of a fresh store equals the checked-in snapshot (PROFHIST_UPDATE_GOLDEN=1 rewrites it)")
    func schemaGolden() throws {
        let store = try Self.newStore()
        let schema = try store.queue.read { db in
            try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name")
        }.joined(separator: ";\n\n") + ";\n"
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Golden/schema.sql")
        if ProcessInfo.processInfo.environment["PROFHIST_UPDATE_GOLDEN"] == "1" {
            try schema.write(to: golden, atomically: true, encoding: .utf8)
        }
        #expect(schema == (try String(contentsOf: golden, encoding: .utf8)))
        #expect(try store.storedSchemaVersion() == Store.schemaVersion)
        let (journal, foreignKeys) = try store.queue.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(journal == "wal")
        #expect(foreignKeys == 1)
    }

    @Test("the embedded SQL is exactly the Migrations/ and Queries/ folders")
    func embeddedNames() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        for (folder, embedded) in [("Migrations", EmbeddedSQL.migrations), ("Queries", EmbeddedSQL.queries)] {
            let files = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)
                .filter { $0.hasSuffix(".sql") }.map { String($0.dropLast(4)) }.sorted()
            #expect(files == embedded.map(\.name))
            for entry in embedded {
                let text = try String(contentsOf: root.appendingPathComponent("\(folder)/\(entry.name).sql"), encoding: .utf8)
                #expect(text == entry.sql)
            }
        }
        // Migrations are numbered NNNN_snake_case and every query opens with a header comment.
        #expect(EmbeddedSQL.migrations.allSatisfy { $0.name.range(of: #"^\d{4}_[a-z0-9_]+$"#, options: .regularExpression) != nil })
        #expect(EmbeddedSQL.queries.allSatisfy { $0.sql.hasPrefix("-- ") })
    }

    @Test("a store from a newer profhist is refused, naming both versions")
    func newerStore() throws {
        let path = try Fixtures.temporaryFolder().appendingPathComponent("new.db").path
        _ = try Store(path: path, create: true)
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "PRAGMA user_version = 9999") }
        do {
            _ = try Store(path: path, create: false)
            Issue.record("a newer store was opened")
        } catch let error as StoreError {
            let message = error.localizedDescription
            #expect(message.contains("9999") && message.contains("\(Store.schemaVersion)"), "\(message)")
        }
    }

    @Test("migration 0004 keys sample rows snapshot_id << 28 | stack_id, and refuses a store whose stack ids need more bits")
    func sampleKeyMigration() throws {
        let folder = try Fixtures.temporaryFolder()
        // Hand-written rows (a store at 0003, before the integer key): one that fits, and one stack id of 2^28.
        func oldStore(_ name: String, stackIDs: [Int64]) throws -> String {
            let path = folder.appendingPathComponent(name).path
            let store = try Store(path: path, create: true, readOnly: false, migratingTo: 3)
            try store.queue.writeWithoutTransaction { db in
                try db.execute(sql: "INSERT INTO build (id, name) VALUES (1, 'b'); INSERT INTO run (id, build_id, name) VALUES (1, 1, 'r')")
                try db.execute(sql: "PRAGMA foreign_keys = OFF")  // sample.stack_id has no stack row here
                for (index, stackID) in stackIDs.enumerated() {
                    try db.execute(
                        sql: """
                            INSERT INTO snapshot (id, kind, build_id, run_id, taken_at, ingested_at, source_path, source_digest, source_bytes, format)
                            VALUES (?, 'heap', 1, 1, 0, 0, 'x.heap', ?, 1, 'jemalloc_heap_v2')
                            """,
                        arguments: [index + 1, "digest\(index)"])
                    try db.execute(
                        sql: "INSERT INTO sample (snapshot_id, stack_id, inuse_objects, inuse_space) VALUES (?, ?, ?, ?)",
                        arguments: [index + 1, stackID, 2, 4096 + index])
                }
            }
            try store.queue.close()
            return path
        }
        let fits = try oldStore("fits.db", stackIDs: [7, 268_435_455])
        let upgraded = try Store(path: fits, create: false)
        let rows = try upgraded.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT key, snapshot_id, stack_id, inuse_objects, inuse_space FROM sample ORDER BY key")
        }
        #expect(rows.map { $0[0] as Int64 } == [1 << 28 | 7, 2 << 28 | 268_435_455])
        // The Swift side (ingest, gc) uses the same layout as the SQL files spell out.
        #expect(rows.map { $0[0] as Int64 } == [SampleKey.key(snapshot: 1, stack: 7), SampleKey.key(snapshot: 2, stack: 268_435_455)])
        #expect(!SampleKey.fits(snapshot: 1, stack: 268_435_456) && SampleKey.fits(snapshot: 1, stack: 268_435_455))
        let migration = try #require(Store.migrations.first { $0.version == 4 }).sql
        #expect(migration.contains(SampleKey.range(of: "s.id")))
        #expect(try Store.query(named: "snapshot_values").contains(SampleKey.range(of: ":snapshot")))
        #expect(rows.map { [$0[1], $0[2], $0[3], $0[4]] as [Int64] } == [[1, 7, 2, 4096], [2, 268_435_455, 2, 4097]])
        // The views find a snapshot's rows by key range.
        #expect(try upgraded.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sample WHERE key BETWEEN 2 << 28 AND (2 << 28) | 268435455") } == 1)

        let tooBig = try oldStore("too-big.db", stackIDs: [268_435_456])
        do {
            _ = try Store(path: tooBig, create: false)
            Issue.record("a store with a stack id of 2^28 was migrated")
        } catch let error as StoreError {
            #expect(error == .upgradeFailed(path: tooBig, version: 3, migration: "0004_sample_integer_key", reason: Store.upgradeFailure(
                DatabaseError(resultCode: .SQLITE_CONSTRAINT, message: "NOT NULL constraint failed: _0004_stack_ids_fit.ok"))))
            #expect(error.localizedDescription.contains("need more than 28 bits") && error.localizedDescription.contains("new store (--db)"),
                    "\(error.localizedDescription)")
        }
        let after = try Store(path: tooBig, create: false, readOnly: true, migratingTo: 3)
        #expect(try after.storedSchemaVersion() == 3)
        #expect(try after.queue.read { db in try Int64.fetchOne(db, sql: "SELECT stack_id FROM sample") } == 268_435_456)
    }

    @Test("a store written by the first migration set opens with the latest, keeps its data and answers as a fresh one")
    func upgrade() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let first = try #require(Store.migrations.first)
        // Real dumps into a fresh store, and the same rows in a store with only 0001's schema, as a profhist
        // knowing only 0001 wrote them. Heap ingest now writes 0004's sample layout (one integer key), so the old
        // store is filled from the fresh one, table by table and column by column (sample's snapshot_id and
        // stack_id are computed columns of the key since 0004): the rows are those an 0001 ingest produced.
        let fresh = try Self.newStore()
        let builds: [(String, [URL], URL)] = [
            ("v1", set.dumps1, set.program1), ("v2", set.dumps2, set.program2), ("v3", set.exact1 + set.exact2, set.program1),
        ]
        let start = Timestamp.parse("2026-03-01T00:00:00Z")!
        for (b, (build, dumps, program)) in builds.enumerated() {
            let pipeline = IngestPipeline(openStore: { fresh }, binaries: [try BinaryCandidate(path: program.path)], llvm: LLVMSymbolizer.locate())
            for (d, dump) in dumps.enumerated() {
                let options = IngestOptions(build: build, run: "run\(d % 2)", takenAt: start + Int64(b * 3_600_000 + d * 60_000), labels: [("test", "upgrade")])
                _ = try pipeline.ingest(path: dump.path, format: .auto, options: options)
            }
        }
        let old = try Store(path: folder.appendingPathComponent("old.db").path, create: true, readOnly: false, migratingTo: first.version)
        try old.queue.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS fresh", arguments: [fresh.path])
            try db.inTransaction {
                let tables = try String.fetchAll(db, sql: "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                for table in tables {
                    let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?, 'main')", arguments: [table])
                        .map { "\"\($0)\"" }.joined(separator: ", ")
                    try db.execute(sql: "INSERT INTO main.\"\(table)\" (\(columns)) SELECT \(columns) FROM fresh.\"\(table)\"")
                }
                return .commit
            }
            try db.execute(sql: "DETACH DATABASE fresh")
        }
        // It really is a 0001 store: version 1, without the later migrations' table and views.
        let oldSchema = try old.queue.read { db in
            (try Int.fetchOne(db, sql: "PRAGMA user_version"), try String.fetchAll(db, sql: "SELECT name FROM sqlite_master"))
        }
        #expect(oldSchema.0 == first.version)
        #expect(!oldSchema.1.contains("task_sample") && !oldSchema.1.contains("v_snapshot_total"))
        let counts = try old.queue.read { db in try StoreAudit.tableCounts(db) }
        #expect(counts["snapshot"] == 8 && (counts["sample"] ?? 0) > 50)
        try old.queue.close()

        // A profhist that knows only 0001 refuses the latest store, naming both versions.
        do {
            _ = try Store(path: fresh.path, create: false, readOnly: false, migratingTo: first.version)
            Issue.record("an older profhist opened a newer store")
        } catch let error as StoreError {
            #expect(error == .newerSchema(path: fresh.path, storeVersion: Store.schemaVersion, knownVersion: first.version))
        }

        // The command line opens the old store (upgrading it) and answers exactly as it does from the fresh store.
        let commands = [
            ["top", "--all", "--limit", "0", "--format", "csv"], ["top", "--by", "snapshot", "--all", "--limit", "0", "--format", "csv"],
            ["export", "--format", "csv"], ["diff", "--base", "v1", "--target", "v3", "--limit", "0", "--format", "csv"],
            ["snapshots", "--format", "csv"], ["builds", "--format", "csv"], ["query", "leaf_totals_by_build", "--format", "csv"],
            // Migration 0007: every build of an older store is on the default branch, main.
            ["builds", "--branch", "main", "--format", "csv"], ["branches", "--format", "csv"],
        ]
        for (index, command) in commands.enumerated() {
            let fromOld = try Fixtures.profhist(command + ["--db", old.path])
            let fromFresh = try Fixtures.profhist(command + ["--db", fresh.path])
            #expect(fromOld.status == 0 && fromFresh.status == 0, "\(command): \(fromOld.stderr) \(fromFresh.stderr)")
            // The first command upgrades the store and says so, once; the fresh store is never "upgraded".
            let notice = "upgrading \(old.path) from schema version \(first.version) to \(Store.schemaVersion)"
            #expect(fromOld.stderr.contains(notice) == (index == 0), "\(command): \(fromOld.stderr)")
            #expect(!fromFresh.stderr.contains("upgrading"), "\(command): \(fromFresh.stderr)")
            #expect(fromOld.stdout.split(separator: "\n").count > 1, "\(command): no rows")
            #expect(fromOld.stdout == fromFresh.stdout, "\(command) differs after the upgrade")
        }
        let branches = try Fixtures.profhist(["branches", "--format", "csv", "--db", old.path])
        #expect(branches.stdout == "name,default,start_point,builds,history_builds\nmain,1,,3,3\n", "\(branches.stdout)")
        let upgraded = try Store(path: old.path, create: false)
        #expect(try upgraded.storedSchemaVersion() == Store.schemaVersion)
        #expect(try upgraded.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM build WHERE branch_id IS NULL OR branch_id <> 1") } == 0)
        let schema: (Store) throws -> [String] = { store in
            try store.queue.read { db in try String.fetchAll(db, sql: "SELECT type || ' ' || name || ': ' || ifnull(sql, '') FROM sqlite_master ORDER BY type, name") }
        }
        #expect(try schema(upgraded) == schema(fresh), "the upgraded schema differs from a fresh one")
        #expect(try upgraded.queue.read { db in try StoreAudit.tableCounts(db) }.filter { counts[$0.key] != nil } == counts)
        #expect(try upgraded.queue.read { db in try StoreAudit.problems(db) }.isEmpty)
    }

    @Test("the command line refuses a store from a newer profhist, naming both versions, and leaves it unchanged")
    func newerStoreCommandLine() throws {
        let path = try Fixtures.temporaryFolder().appendingPathComponent("new.db").path
        try Store(path: path, create: true).queue.close()
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "PRAGMA user_version = 9999") }
        try queue.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let set = try SharedDumps.c.get()
        for command in [["top"], ["export"], ["ingest", set.dumps1[0].path, "--build", "v1"]] {
            let result = try Fixtures.profhist(command + ["--db", path])
            #expect(result.status == 1, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("9999") && result.stderr.contains("(\(Store.schemaVersion))"), "\(command): \(result.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "\(command) changed the store")
        }
    }

    @Test("the same dump for the same build, run and time is stored once; for another build it is another snapshot")
    func idempotent() throws {
        let set = try SharedDumps.c.get()
        let store = try Self.newStore()
        let pipeline = IngestPipeline(openStore: { store }, binaries: [try BinaryCandidate(path: set.program1.path)], llvm: LLVMSymbolizer.locate())
        let first = try pipeline.ingest(path: set.dumps1[0].path, format: .auto, options: IngestOptions(build: "a"))
        let retry = try pipeline.ingest(path: set.dumps1[0].path, format: .auto, options: IngestOptions(build: "a"))
        guard case .stored(let id, _, _) = first.outcome else { Issue.record("not stored"); return }
        #expect(retry.outcome == .skipped(existingSnapshotID: id))
        // The README (ingest): identical bytes of another build are an observation of that build.
        let other = try pipeline.ingest(path: set.dumps1[0].path, format: .auto, options: IngestOptions(build: "other"))
        guard case .stored = other.outcome else { Issue.record("another build's identical dump was not stored"); return }
        let counts = try store.queue.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM snapshot"), try Int.fetchOne(db, sql: "SELECT count(*) FROM build"))
        }
        #expect(counts.0 == 2)
        #expect(counts.1 == 2)
    }

    @Test("stored stacks: foreign keys hold, digests match the frame names, stacks end at the allocator's caller")
    func storedStackInvariants() throws {
        let set = try SharedDumps.c.get()
        let store = try Self.newStore()
        try Self.ingestAll(store, set.dumps1, binary: set.program1, build: "one")
        try Self.ingestAll(store, set.exact2, binary: set.program2, build: "two")
        try store.queue.read { db in
            // Ingest writes with foreign-key checks off (see HeapIngestor); they must hold anyway.
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
            #expect(try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok")
            let stacks = try Row.fetchAll(db, sql: "SELECT id, path_digest FROM stack")
            #expect(stacks.count >= 8)
            var allocatorFrames = 0
            for row in stacks {
                let names = try String.fetchAll(
                    db,
                    sql: """
                        WITH RECURSIVE up(id, parent_id, frame_id, depth) AS (
                            SELECT id, parent_id, frame_id, depth FROM callsite WHERE id = ?
                            UNION ALL SELECT c.id, c.parent_id, c.frame_id, c.depth FROM callsite AS c JOIN up ON c.id = up.parent_id)
                        SELECT s.value FROM up JOIN frame AS f ON f.id = up.frame_id JOIN string AS s ON s.id = f.name_id
                        ORDER BY up.depth
                        """, arguments: [row[0] as Int64])
                // The digest the tree computed incrementally is the digest of the names, root first.
                #expect(Interner.pathDigest(names) == row[1] as Int64, "\(names)")
                allocatorFrames += names.filter { Plumbing().level(of: $0) == .allocator }.count
            }
            #expect(allocatorFrames == 0)
        }
    }

    @Test("two builds of the C program whose addresses all differ share every stack id")
    func identityAcrossCBuilds() throws {
        let set = try SharedDumps.c.get()
        let store = try Self.newStore()
        try Self.ingestAll(store, set.exact1, binary: set.program1, build: "one")
        try Self.ingestAll(store, set.exact2, binary: set.program2, build: "two")
        // The addresses really moved between the builds.
        let symbolsOne = try Fixtures.run("nm", [set.program1.path]).stdout
        let symbolsTwo = try Fixtures.run("nm", [set.program2.path]).stdout
        let address: (String) -> String? = { text in text.split(separator: "\n").first { $0.hasSuffix(" T leaky_cache") }.map(String.init) }
        #expect(address(symbolsOne) != nil && address(symbolsOne) != address(symbolsTwo))
        let one = try Self.stackIDs(store, build: "one")
        let two = try Self.stackIDs(store, build: "two")
        #expect(one.count >= 8)
        #expect(one == two, "only in one: \(one.subtracting(two)), only in two: \(two.subtracting(one))")
    }

    @Test("Rust builds with different -C metadata: demangled, no hashes, shared stack ids")
    func identityAcrossRustBuilds() throws {
        guard SharedDumps.rustAvailable else {
            print("skipped: rustc is not installed, Rust dumps cannot be produced here")
            return
        }
        let set = try SharedDumps.rust.get()
        // The legacy symbol hashes really differ between the two builds.
        let nmOne = try Fixtures.run("nm", [set.program1.path]).stdout
        let nmTwo = try Fixtures.run("nm", [set.program2.path]).stdout
        let fill: (String) -> String? = { text in text.split(separator: "\n").first { $0.contains("5Cache4fill17h") }.map { String($0.split(separator: " ").last!) } }
        #expect(fill(nmOne) != nil && fill(nmOne) != fill(nmTwo))

        let store = try Self.newStore()
        try Self.ingestAll(store, set.exact1, binary: set.program1, build: "one")
        try Self.ingestAll(store, set.exact2, binary: set.program2, build: "two")
        let one = try Self.stackIDs(store, build: "one")
        let two = try Self.stackIDs(store, build: "two")
        #expect(one.count >= 8)
        #expect(one == two, "only in one: \(one.subtracting(two)), only in two: \(two.subtracting(one))")
        let names = try store.queue.read { db in
            try String.fetchAll(db, sql: "SELECT s.value FROM frame AS f JOIN string AS s ON s.id = f.name_id")
        }
        let hash = try Regex(#"::h[0-9a-f]{16}"#)
        #expect(!names.contains { $0.contains(hash) }, "a name keeps its hash")
        #expect(!names.contains { $0.hasPrefix("_ZN") || $0.hasPrefix("_R") || $0.contains("$LT$") }, "a name is still mangled")
        #expect(names.contains("leaky::Registry::leak"))
        #expect(names.contains("<[u8; 4] as leaky::Maker>::make"))
        let leaves = try store.queue.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT s.value FROM stack AS st JOIN frame AS f ON f.id = st.leaf_frame_id JOIN string AS s ON s.id = f.name_id")
        }
        #expect(leaves.contains("leaky::Registry::leak"))
        #expect(leaves.contains("leaky::Cache::fill"))
        #expect(!leaves.contains { $0.hasPrefix("alloc::") || $0.hasPrefix("libjemalloc") })
    }

    @Test("frames without a binary are module+0xOFFSET and the main executable gets a warning")
    func withoutBinary() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let dump = try Self.movedDump(set, in: folder)
        let store = try Self.newStore()
        let pipeline = IngestPipeline(openStore: { store }, binaries: [], llvm: LLVMSymbolizer.locate())
        let report = try pipeline.ingest(path: dump.path, format: .auto, options: IngestOptions(build: "x"))
        #expect(report.warnings.contains { $0.contains("no symbols for the main executable") && $0.contains("--binary") })
        let names = try store.queue.read { db in try String.fetchAll(db, sql: "SELECT value FROM string") }
        #expect(names.contains { $0.hasPrefix("leaky+0x") })

        // With --binary (a copy under another name), the same dump gets names.
        let copy = folder.appendingPathComponent("renamed-program")
        try FileManager.default.copyItem(at: set.program1, to: copy)
        let store2 = try Self.newStore()
        let named = IngestPipeline(openStore: { store2 }, binaries: [try BinaryCandidate(path: copy.path)], llvm: LLVMSymbolizer.locate())
        let report2 = try named.ingest(path: dump.path, format: .auto, options: IngestOptions(build: "x"))
        #expect(!report2.warnings.contains { $0.contains("no symbols for the main executable") })
        let names2 = try store2.queue.read { db in try String.fetchAll(db, sql: "SELECT value FROM string") }
        #expect(names2.contains("leaky_cache"))
    }

    @Test("another build of the same program, same segment sizes, is caught by its code and not used")
    func sameProgramOtherBuild() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let dump = try Self.movedDump(set, in: folder)
        let other = folder.appendingPathComponent("leaky-other-build")
        try FileManager.default.copyItem(at: set.program2, to: other)
        let store = try Self.newStore()
        let pipeline = IngestPipeline(openStore: { store }, binaries: [try BinaryCandidate(path: other.path)], llvm: LLVMSymbolizer.locate())
        let report = try pipeline.ingest(path: dump.path, format: .auto, options: IngestOptions(build: "x"))
        #expect(report.warnings.contains { $0.contains("another build") }, "\(report.warnings)")
        let names = try store.queue.read { db in try String.fetchAll(db, sql: "SELECT value FROM string") }
        #expect(!names.contains("leaky_cache"), "mis-symbolized with the other build")
        #expect(names.contains { $0.hasPrefix("leaky+0x") })
    }

    @Test("--binary and the file at the mapped path differ in build-id: the dump's code decides, and the warning names both ids")
    func buildIDMismatch() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let ingest: (URL, URL) throws -> (StoreAudit.SnapshotContent?, [String]) = { dump, binary in
            let store = try Self.newStore()
            let pipeline = IngestPipeline(openStore: { store }, binaries: [try BinaryCandidate(path: binary.path)], llvm: LLVMSymbolizer.locate())
            let report = try pipeline.ingest(path: dump.path, format: .auto, options: IngestOptions(build: "x", takenAt: 0))
            return (try store.queue.read { db in try StoreAudit.content(db, snapshotID: 1) }, report.warnings)
        }
        let id1 = try #require(try ELFFile(path: set.program1.path).buildID)
        let id2 = try #require(try ELFFile(path: set.program2.path).buildID)
        #expect(id1 != id2)

        // 1. The --binary is another build (same file name); the right program is still at the mapped path.
        let wrong = folder.appendingPathComponent("wrong")
        try FileManager.default.createDirectory(at: wrong, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: set.program2, to: wrong.appendingPathComponent("leaky"))
        let (reference, allWarnings) = try ingest(set.exact1[0], set.program1)
        // Only the one-per-module warnings for system libraries left unnamed (libstdc++'s start-up pool).
        let clean = allWarnings.filter { !($0.contains("/usr/lib/") && $0.contains("has no names for its frames")) }
        #expect(clean.isEmpty, "\(clean)")
        let (fromMapped, warnings) = try ingest(set.exact1[0], wrong.appendingPathComponent("leaky"))
        #expect(warnings.contains { $0.contains("build-id \(id2)") && $0.contains("mapped path has \(id1)") && $0.contains("using \(set.program1.path) at the mapped path") }, "\(warnings)")
        #expect(fromMapped == reference, "symbolized with the file at the mapped path, as with the right --binary")

        // 2. The file at the mapped path was rebuilt after the dump; the --binary is the build that ran.
        let ran = folder.appendingPathComponent("ran")
        try FileManager.default.createDirectory(at: ran, withIntermediateDirectories: true)
        let program = ran.appendingPathComponent("leaky")
        try FileManager.default.copyItem(at: set.program1, to: program)
        let dump = try Fixtures.runLeakyC(program, prefix: ran.appendingPathComponent("d"), phases: 1, lgSample: 0)[0]
        let (before, _) = try ingest(dump, program)
        try FileManager.default.removeItem(at: program)
        try FileManager.default.copyItem(at: set.program2, to: program)
        let kept = folder.appendingPathComponent("kept")
        try FileManager.default.createDirectory(at: kept, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: set.program1, to: kept.appendingPathComponent("leaky"))
        let (afterRebuild, rebuiltWarnings) = try ingest(dump, kept.appendingPathComponent("leaky"))
        #expect(rebuiltWarnings.contains { $0.contains("build-id \(id1)") && $0.contains("mapped path has \(id2)") && $0.contains("rebuilt after the dump") }, "\(rebuiltWarnings)")
        #expect(afterRebuild == before, "symbolized with the --binary, whose code matches")
        #expect(before?.rows.isEmpty == false)
    }

    @Test("a stripped --binary: frames stored as offsets, and the warning says why")
    func strippedBinary() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let stripped = folder.appendingPathComponent("leaky")
        try FileManager.default.copyItem(at: set.program1, to: stripped)
        let strip = try Fixtures.run("strip", ["--strip-all", stripped.path])
        try #require(strip.status == 0, "\(strip.stderr)")
        let store = try Self.newStore()
        let pipeline = IngestPipeline(openStore: { store }, binaries: [try BinaryCandidate(path: stripped.path)], llvm: LLVMSymbolizer.locate())
        let report = try pipeline.ingest(path: set.dumps1[0].path, format: .auto, options: IngestOptions(build: "x"))
        #expect(
            report.warnings.contains { $0.contains("read from \(stripped.path)) has no names") && $0.contains("unstripped copy") },
            "\(report.warnings)")
        let names = try store.queue.read { db in try String.fetchAll(db, sql: "SELECT value FROM string") }
        #expect(names.contains { $0.hasPrefix("leaky+0x") } && !names.contains("leaky_cache"))
    }

    @Test("a binary from another build is refused with a warning, not used to mis-symbolize")
    func mismatchedBinary() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        // A different program under the same file name.
        let source = folder.appendingPathComponent("other.c")
        let body = (0..<400).map { "int f\($0)(int x) { return x * \($0) + f\(max($0 - 1, 0))(x - 1); }" }.joined(separator: "\n")
        try ("int f0(int x);\n" + body.replacingOccurrences(of: "int f0(int x) { return x * 0 + f0(x - 1); }", with: "int f0(int x) { return x; }") + "\nint main(void) { return f399(3) & 1; }\n")
            .write(to: source, atomically: true, encoding: .utf8)
        let other = folder.appendingPathComponent("leaky")
        let compiled = try Fixtures.run("gcc", ["-O0", source.path, "-o", other.path])
        #expect(compiled.status == 0, "\(compiled.stderr)")
        let dump = try Self.movedDump(set, in: folder)
        let store = try Self.newStore()
        let pipeline = IngestPipeline(openStore: { store }, binaries: [try BinaryCandidate(path: other.path)], llvm: LLVMSymbolizer.locate())
        let report = try pipeline.ingest(path: dump.path, format: .auto, options: IngestOptions(build: "x"))
        #expect(report.warnings.contains { $0.contains("another build") }, "\(report.warnings)")
    }
}
