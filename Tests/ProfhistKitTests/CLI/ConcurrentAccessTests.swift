import Foundation
import GRDB
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Several profhist processes on one store at once, as CI jobs and a dashboard use it: every write lands whole,
/// every read succeeds and sees only whole snapshots, and no "database is locked" reaches anyone.
@Suite("concurrent access")
struct ConcurrentAccessTests {
    /// The outcome of one command run by a reader.
    struct ReaderRun {
        var command: String
        var status: Int32
        var stdout: String
        var stderr: String
    }

    @Test("eight ingest processes and two readers (top, export) on one store from its creation: all land, none fails")
    func writersAndReaders() throws {
        let folder = try Fixtures.temporaryFolder("profhist-concurrent")
        let program = try Fixtures.buildBranchy(in: folder)
        // Eight real dumps of 2,050 stacks each (11 levels), different runs of the program: four builds, two runs each.
        var dumps: [URL] = []
        for seed in 1...8 {
            dumps += try Fixtures.runBranchy(program, levels: 11, seed: seed, prefix: folder.appendingPathComponent("run\(seed)"))
        }
        let db = folder.appendingPathComponent("shared.db").path
        let done = LockedValue(false)
        let readerRuns = ThreadSafeArray<ReaderRun>()
        let group = DispatchGroup()

        // Readers start as soon as the first writer has created the file, so they meet the store empty, being
        // migrated, and mid-write; a missing file is an error for a reader (see noStore), not tested here.
        for command in [["top", "--all", "--limit", "0", "--format", "csv"], ["export", "--format", "csv"]] {
            group.enter()
            Thread {
                while !FileManager.default.fileExists(atPath: db) && !done.value { usleep(100) }
                while true {
                    let finished = done.value
                    let result = try? Fixtures.profhist(command + ["--db", db])
                    readerRuns.append(ReaderRun(command: command[0], status: result?.status ?? -1, stdout: result?.stdout ?? "", stderr: result?.stderr ?? "launch failed"))
                    // One last run after every writer has finished.
                    if finished { break }
                }
                group.leave()
            }.start()
        }
        let writerResults = ThreadSafeArray<(Int, Int32, String)>()
        let writers = DispatchGroup()
        for (index, dump) in dumps.enumerated() {
            writers.enter()
            group.enter()
            Thread {
                // Staggered by 0.3 s: the ingests overlap (each takes seconds on two cores), and their commits spread out,
                // so the readers see the store at many stages.
                usleep(UInt32(index) * 300_000)
                let result = try? Fixtures.profhist([
                    "ingest", dump.path, "--build", "b\(index / 2 + 1)", "--run", "r\(index % 2)", "--binary", program.path,
                    "--at", "2026-03-0\(index / 2 + 1)T00:0\(index % 2):00Z", "--db", db,
                ])
                writerResults.append((index, result?.status ?? -1, result?.stderr ?? "launch failed"))
                writers.leave()
                group.leave()
            }.start()
        }
        writers.wait()
        done.value = true
        group.wait()

        for (index, status, stderr) in writerResults.values {
            #expect(status == 0, "writer \(index): \(stderr)")
            #expect(stderr.contains("stored as snapshot"), "writer \(index): \(stderr)")
        }
        let runs = readerRuns.values
        for run in runs {
            #expect(run.status == 0, "\(run.command): exit \(run.status): \(run.stderr)")
            #expect(!run.stderr.lowercased().contains("locked") && !run.stderr.lowercased().contains("busy"), "\(run.command): \(run.stderr)")
        }
        // Every export saw whole snapshots only: each snapshot it lists has all 2,050 stacks.
        var snapshotsSeen: [Int] = []
        for run in runs where run.command == "export" {
            var rows: [Substring: Int] = [:]
            for line in run.stdout.split(separator: "\n").dropFirst() where line.contains(",inuse_space,") {
                rows[line.prefix { $0 != "," }, default: 0] += 1
            }
            #expect(rows.values.allSatisfy { $0 == 2050 }, "an export saw a partial snapshot: \(rows)")
            snapshotsSeen.append(rows.count)
        }
        #expect(snapshotsSeen.last == 8, "the last export saw \(snapshotsSeen.last ?? 0) snapshots")
        let lastTop = runs.last { $0.command == "top" }
        #expect(lastTop?.stdout.split(separator: "\n").count == 2051, "the last top ranked every stack")
        print("concurrent access: 8 writers; \(runs.filter { $0.command == "top" }.count) top and \(runs.filter { $0.command == "export" }.count) export runs; snapshots seen by the exports: \(snapshotsSeen)")

        let (problems, snapshots, builds, runCount) = try StoreAudit.inspect(db) { db in
            (
                try StoreAudit.problems(db), try StoreAudit.snapshots(db), try Int.fetchOne(db, sql: "SELECT count(*) FROM build"),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM run")
            )
        }
        #expect(problems.isEmpty, "\(problems)")
        #expect(snapshots.count == 8)
        for (id, content) in snapshots {
            #expect(content.isWhole && content.stackCount == 2050, "snapshot \(id): \(content)")
        }
        #expect(builds == 4)
        #expect(runCount == 8)
    }

    @Test("connections switching a rollback-journal store to WAL at the same instant all succeed")
    func simultaneousWALSwitch() throws {
        // A store not yet in WAL mode (new, or left in rollback-journal mode by sqlite3 or a copy tool) is switched
        // by whoever opens it first. SQLite answers a connection whose read lock cannot become a write lock with
        // SQLITE_BUSY at once, busy timeout or not, so the switch must retry (Store.enableWAL). Separately started
        // processes rarely switch at the same instant; here open connections (threads lock the file as processes
        // do, through SQLite's unix VFS) wait at a barrier and switch together.
        let folder = try Fixtures.temporaryFolder()
        var failures: [String] = []
        let rounds = 20
        let connections = 8
        var configuration = Configuration()
        configuration.busyMode = .timeout(Store.busyTimeout)
        for round in 0..<rounds {
            let path = folder.appendingPathComponent("round\(round).db").path
            try Store(path: path, create: true, readOnly: false, migratingTo: 1).queue.close()
            let setup = try DatabaseQueue(path: path)
            try setup.writeWithoutTransaction { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE") }
            try setup.close()
            let queues = try (0..<connections).map { _ in try DatabaseQueue(path: path, configuration: configuration) }
            let ready = LockedValue(0)
            let errors = ThreadSafeArray<String>()
            let group = DispatchGroup()
            // Threads of their own (a dispatch pool may run fewer at once than the barrier waits for).
            for queue in queues {
                group.enter()
                Thread {
                    ready.update { $0 += 1 }
                    while ready.value < connections { sched_yield() }
                    do {
                        try queue.inDatabase { db in try Store.enableWAL(db) }
                    } catch {
                        errors.append("round \(round): \(error)")
                    }
                    group.leave()
                }.start()
            }
            group.wait()
            for queue in queues { try queue.close() }
            failures += errors.values
            let mode = try DatabaseQueue(path: path).read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(mode == "wal")
        }
        print("concurrent access: \(rounds) rounds of \(connections) simultaneous switches of a rollback-journal store to WAL: \(failures.count) failed")
        #expect(failures.isEmpty, "\(failures.prefix(3))")
    }

    @Test("a store that exists but is empty, or has its schema and no snapshot yet, reads as empty: exit 0")
    func emptyStore() throws {
        let folder = try Fixtures.temporaryFolder()
        // A zero-byte file, as SQLite leaves it between a writer's open and its first commit.
        let zero = folder.appendingPathComponent("zero.db").path
        _ = FileManager.default.createFile(atPath: zero, contents: Data())
        // The schema only, as a writer's migration leaves it before its first snapshot commits.
        let fresh = folder.appendingPathComponent("fresh.db").path
        _ = try Store(path: fresh, create: true)
        for db in [zero, fresh] {
            let top = try Fixtures.profhist(["top", "--format", "csv", "--db", db])
            #expect(top.status == 0, "\(top.stderr)")
            #expect(top.stdout.hasPrefix("rank,stack_id,leaf,stack,first,last,delta,slope,p_value,regressed_at"))
            #expect(top.stdout.split(separator: "\n").count == 1)
            let table = try Fixtures.profhist(["top", "--db", db])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stderr.contains("no heap snapshots"), "\(table.stderr)")
            let export = try Fixtures.profhist(["export", "--format", "csv", "--db", db])
            #expect(export.status == 0, "\(export.stderr)")
            #expect(export.stdout.split(separator: "\n").count == 1)
            let snapshots = try Fixtures.profhist(["snapshots", "--format", "csv", "--db", db])
            #expect(snapshots.status == 0, "\(snapshots.stderr)")
        }
    }
}

final class LockedValue<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }

    /// Changes the value under the lock (a read then a write would race).
    func update(_ change: (inout T) -> Void) { lock.lock(); change(&stored); lock.unlock() }
}
