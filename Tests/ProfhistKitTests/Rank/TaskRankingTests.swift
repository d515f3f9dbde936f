import Foundation
import GRDB
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Task snapshots through ingest, `snapshots`, `top --kind tasks`, `diff` and `export`: six builds, two runs
/// each, where idle tasks pile up at one spawn location (console streams printed by protobuf's JSON printer)
/// and at one await stack (task dumps in tokio 1.53's format) from build b3.
@Suite("task history")
struct TaskRankingTests {
    static let leakBuild = 3

    /// A console scenario for one run: `leaking` idle watchers, five idle loops, a few hyper tasks, one running
    /// and one completed task.
    static func scenario(build: Int, run: Int) -> String {
        var tasks: [String] = []
        var stats: [String] = []
        var span: UInt64 = 2_251_799_813_685_249
        var taskID = 1
        func add(_ file: String, _ line: Int, _ column: Int, state: String) {
            span += 1
            taskID += 1
            tasks.append(#"{"span": \#(span), "task_id": \#(taskID), "name": "", "kind": "task", "location": {"file": "\#(file)", "line": \#(line), "column": \#(column)}}"#)
            switch state {
            case "running":
                stats.append(#""\#(span)": {"created": 1000, "polls": 3, "first_poll": 2000, "last_poll_started": 9000, "last_poll_ended": 8000, "waker_clones": 1, "busy": 500, "scheduled": 20}"#)
            case "completed":
                stats.append(#""\#(span)": {"created": 1000, "dropped": 7000, "polls": 2, "first_poll": 2000, "last_poll_started": 5000, "last_poll_ended": 6000, "waker_clones": 1, "waker_drops": 1, "busy": 400, "scheduled": 10}"#)
            default:
                stats.append(#""\#(span)": {"created": 1000, "polls": 1, "first_poll": 2000, "last_poll_started": 2000, "last_poll_ended": 3000, "waker_clones": 1, "busy": 1000, "scheduled": 15}"#)
            }
        }
        let leaking = build >= leakBuild ? 40 + 7 * run + build : 0
        for _ in 0..<leaking { add("src/session/watch.rs", 88, 17, state: "idle") }
        for _ in 0..<5 { add("src/main.rs", 41, 5, state: "idle") }
        for _ in 0..<(3 + run) {
            add("/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/hyper-1.4.1/src/proto/h1/dispatch.rs", 120, 9, state: "idle")
        }
        add("src/main.rs", 70, 13, state: "running")
        add("src/main.rs", 63, 9, state: "completed")
        return #"{"base": "2026-05-0\#(build + 1)T10:0\#(run):00Z", "updates": [{"now": 10000, "metadata": true, "new_tasks": [\#(tasks.joined(separator: ","))], "stats": {\#(stats.joined(separator: ","))}}]}"#
    }

    /// A task dump in tokio 1.53's format: `leaking` tasks parked on an mpsc receive under `app::session::watch`,
    /// and three heartbeat tasks sleeping.
    static func dump(leaking: Int) -> String {
        let nbsp = "\u{A0}"
        func line(_ depth: Int, _ frame: String) -> String {
            depth == 0 ? "╼\(nbsp)\(frame)" : String(repeating: nbsp, count: 2 + 3 * (depth - 1)) + "└╼\(nbsp)\(frame)"
        }
        var text = ""
        var id = 1
        for _ in 0..<leaking {
            text += "TASK \(id):\n"
            text += [
                line(0, "app::session::watch at /home/dev/app/src/main.rs:11:39"),
                line(1, "tokio::sync::mpsc::bounded::Receiver<T>::recv at /home/dev/tokio/src/sync/mpsc/bounded.rs:245:42"),
                line(2, "tokio::sync::mpsc::chan::Rx<T,S> at /home/dev/tokio/src/sync/mpsc/chan.rs:292:16"),
            ].joined(separator: "\n") + "\n\n"
            id += 1
        }
        for _ in 0..<3 {
            text += "TASK \(id):\n"
            text += [
                line(0, "app::heartbeat at /home/dev/app/src/main.rs:20:66"),
                line(1, "<tokio::time::sleep::Sleep as core::future::future::Future> at /home/dev/tokio/src/time/sleep.rs:464:27"),
                line(2, "tokio::time::sleep::Sleep at /home/dev/tokio/src/time/sleep.rs:391:16"),
            ].joined(separator: "\n") + "\n\n"
            id += 1
        }
        return text
    }

    static let history: Result<(store: Store, consoleFiles: [String: [URL]], dumpFiles: [String: [URL]]), Error> = Result {
        let folder = try Fixtures.temporaryFolder("profhist-tasks")
        let store = try Store(path: folder.appendingPathComponent("tasks.db").path, create: true)
        let pipeline = IngestPipeline(openStore: { store }, binaries: [], llvm: nil)
        var console: [String: [URL]] = [:]
        var dumps: [String: [URL]] = [:]
        let start = Timestamp.parse("2026-05-01T00:00:00Z")!
        for build in 0..<6 {
            for run in 0..<2 {
                let at = start + Int64(build) * 86_400_000 + Int64(run) * 60_000
                if TaskFixtures.protobufAvailable {
                    let file = try TaskFixtures.consoleUpdates(
                        scenario: scenario(build: build, run: run), framing: run == 0 ? .pretty : .lines, in: folder,
                        name: "console-b\(build)-r\(run).json")
                    _ = try pipeline.ingest(path: file.path, format: .auto, options: IngestOptions(build: "b\(build)", run: "run\(run)", takenAt: at, labels: [("source", "console")]))
                    console["b\(build)", default: []].append(file)
                }
                let dumpFile = folder.appendingPathComponent("dump-b\(build)-r\(run).txt")
                try Self.dump(leaking: build >= leakBuild ? 20 + 3 * run : 0).write(to: dumpFile, atomically: true, encoding: .utf8)
                _ = try pipeline.ingest(
                    path: dumpFile.path, format: .auto, options: IngestOptions(build: "b\(build)", run: "dump\(run)", takenAt: at + 1000, labels: [("source", "dump")]))
                dumps["b\(build)", default: []].append(dumpFile)
            }
        }
        return (store, console, dumps)
    }

    @Test("console streams: every snapshot's live total is exact; completed tasks never count; registry paths shortened")
    func consoleTotals() throws {
        guard TaskFixtures.protobufAvailable else { return }
        let history = try Self.history.get()
        try history.store.queue.read { db in
            for build in 0..<6 {
                for run in 0..<2 {
                    let expected = Double((build >= Self.leakBuild ? 40 + 7 * run + build : 0) + 5 + 3 + run + 1)
                    let total = try Double.fetchOne(
                        db,
                        sql: "SELECT s.total FROM snapshot AS s JOIN build AS b ON b.id = s.build_id JOIN run AS r ON r.id = s.run_id WHERE b.name = ? AND r.name = ?",
                        arguments: ["b\(build)", "run\(run)"])
                    #expect(total == expected, "b\(build) run\(run)")
                }
            }
            let names = try String.fetchAll(db, sql: "SELECT s.value FROM frame AS f JOIN string AS s ON s.id = f.name_id")
            #expect(names.contains("<cargo>/hyper-1.4.1/src/proto/h1/dispatch.rs:120:9"))
            let completed = try Int64.fetchOne(db, sql: "SELECT sum(completed_tasks) FROM task_sample") ?? 0
            #expect(completed == 12)
            let running = try Int64.fetchOne(db, sql: "SELECT sum(running_tasks) FROM task_sample") ?? 0
            #expect(running == 12)
        }
    }

    @Test("top --kind tasks ranks the leaking spawn location first, since the build where it began")
    func rankLocation() throws {
        guard TaskFixtures.protobufAvailable else { return }
        let history = try Self.history.get()
        for metric in [Metric.liveTasks, .idleTasks] {
            var filter = SeriesFilter()
            filter.kind = .tasks
            filter.metric = metric
            filter.labels = ["source=console"]
            let report = try history.store.queue.read { db in
                try GrowthRanking(filter: filter, options: GrowthOptions()).run(db)
            }
            let first = try #require(report.rows.first)
            #expect(first.leaf == "src/session/watch.rs:88:17", "\(metric): \(report.rows.map(\.leaf))")
            #expect(first.regressedAt == "b\(Self.leakBuild)")
        }
    }

    @Test("task dumps: the leaking await stack ranks first with its build; the leaf is the user's future")
    func rankAwaitStack() throws {
        let history = try Self.history.get()
        var filter = SeriesFilter()
        filter.kind = .tasks
        filter.metric = .liveTasks
        filter.labels = ["source=dump"]
        let report = try history.store.queue.read { db in try GrowthRanking(filter: filter, options: GrowthOptions()).run(db) }
        let first = try #require(report.rows.first)
        #expect(first.leaf == "app::session::watch")
        #expect(first.stack.hasPrefix("app::session::watch;tokio::sync::mpsc::bounded::Receiver<T>::recv"))
        #expect(first.regressedAt == "b\(Self.leakBuild)")
        #expect(!report.rows.contains { $0.leaf == "app::heartbeat" })
    }

    @Test("the CLI: snapshots, top --kind tasks, diff and export work on task snapshots")
    func commandLine() throws {
        let history = try Self.history.get()
        let db = history.store.path

        let top = try Fixtures.profhist(["top", "--kind", "tasks", "--label", "source=dump", "--format", "csv", "--db", db])
        #expect(top.status == 0, "\(top.stderr)")
        #expect(top.stdout.split(separator: "\n").dropFirst().first?.contains(",app::session::watch,") == true)
        let table = try Fixtures.profhist(["top", "--kind", "tasks", "--db", db])
        #expect(table.status == 0 && !table.stdout.contains(" B "), "\(table.stdout)")
        let diff = try Fixtures.profhist(["diff", "--kind", "tasks", "--base", "b2", "--target", "b3", "--format", "csv", "--db", db])
        #expect(diff.status == 0, "\(diff.stderr)")
        let export = try Fixtures.profhist(["export", "--kind", "tasks", "--format", "csv", "--db", db])
        #expect(export.status == 0)
        #expect(export.stdout.contains(",live_tasks,") && export.stdout.contains(",idle_tasks,"))
        let snapshots = try Fixtures.profhist(["snapshots", "--kind", "tasks", "--db", db])
        #expect(snapshots.stdout.contains("tasks"))
        let wrong = try Fixtures.profhist(["top", "--metric", "live_tasks", "--db", db])
        #expect(wrong.status == 64)
    }

    @Test("bad task inputs: a clear error naming file and line, exit 1, the store unchanged")
    func badInputs() throws {
        let history = try Self.history.get()
        let folder = try Fixtures.temporaryFolder()
        let db = folder.appendingPathComponent("copy.db").path
        try FileManager.default.copyItem(atPath: history.store.path, toPath: db)
        if FileManager.default.fileExists(atPath: history.store.path + "-wal") {
            try FileManager.default.copyItem(atPath: history.store.path + "-wal", toPath: db + "-wal")
        }
        _ = try Fixtures.profhist(["builds", "--db", db])  // settle the WAL into the file
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        let good = Self.dump(leaking: 2)
        let broken = good.replacingOccurrences(of: "\u{A0}\u{A0}\u{A0}\u{A0}\u{A0}└╼", with: "\u{A0}\u{A0}\u{A0}\u{A0}\u{A0}\u{A0}\u{A0}\u{A0}\u{A0}\u{A0}\u{A0}└╼")
        var cases = [("broken-tree.txt", broken), ("bad.json", "{\"now\": \"2026-01-01T00:00:00Z\", \"taskUpdate\": {\"newTasks\": [ }"),
            ("bad-version.jsonl", "{\"v\":7}\n"), ("cut-dump.txt", String(good.prefix(good.count / 2 + 7)))]
        if let console = history.consoleFiles["b3"]?.first {
            let text = try String(contentsOf: console, encoding: .utf8)
            cases.append(("truncated.json", String(text.prefix(text.count * 2 / 3))))
        }
        for (name, content) in cases {
            let file = folder.appendingPathComponent(name)
            try content.write(to: file, atomically: true, encoding: .utf8)
            let result = try Fixtures.profhist(["ingest", file.path, "--build", "x", "--db", db])
            #expect(result.status == 1, "\(name)")
            #expect(result.stderr.contains(file.path + ":"), "\(name): \(result.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before, "\(name) changed the store")
        }
    }
}
