import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

@Suite("tokio-console Update stream parser")
struct TokioConsoleParserTests {
    static let s: Int64 = 1_000_000_000
    /// The scenario's base time, 2025-03-14T09:26:50Z, in epoch seconds.
    static let base: Int64 = 1_741_944_410

    static let watch = #"{"file": "src/session/watch.rs", "line": 88, "column": 17}"#
    static let hyper =
        #"{"file": "/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/hyper-1.4.1/src/proto/h1/dispatch.rs", "line": 100, "column": 5}"#
    static let main63 = #"{"file": "src/main.rs", "line": 63, "column": 9}"#

    /// Three Updates (times in ns after the base, at 3 s, 4 s and 5 s). At `src/session/watch.rs:88:17`: t1, t2
    /// and t6 idle (t6 with no waker left: a lost waker), t3 running since 2.9 s, t4 scheduled since 2.95 s, t5
    /// completed at 1.5 s and its span id reused by t9 (idle) in the second Update. One idle task in a cargo
    /// registry file, one with no location (never polled), one at `src/main.rs:63:9` that starts in the second
    /// Update and ends in the third. t7 is listed again in the third Update with the same `task.id` (a new
    /// subscription's state): still one task. 3 + 2 events dropped.
    static let scenario = """
        {"updates": [
          {"now": 3000000000, "metadata": true,
           "new_tasks": [
             {"span": 2251799813685249, "task_id": 1, "location": \(watch)},
             {"span": 2251799813685250, "task_id": 2, "location": \(watch)},
             {"span": 2251799813685251, "task_id": 3, "location": \(watch)},
             {"span": 2251799813685252, "task_id": 4, "location": \(watch)},
             {"span": 2251799813685253, "task_id": 5, "location": \(watch)},
             {"span": 2251799813685254, "task_id": 6, "location": \(watch)},
             {"span": 4503599627370497, "task_id": 7, "name": "conn", "location": \(hyper)},
             {"span": 4503599627370498, "task_id": 8}],
           "stats": {
             "2251799813685249": {"created": 100000000, "polls": 1, "first_poll": 200000000, "last_poll_started": 200000000,
                                  "last_poll_ended": 200038118, "busy": 38118, "scheduled": 11702, "waker_clones": 1},
             "2251799813685250": {"created": 100000000, "polls": 2, "wakes": 1, "self_wakes": 1, "last_wake": 500000000,
                                  "first_poll": 150000000, "last_poll_started": 600000000, "last_poll_ended": 600001000,
                                  "busy": 2000, "scheduled": 5000, "waker_clones": 2, "waker_drops": 1},
             "2251799813685251": {"created": 100000000, "polls": 3, "wakes": 2, "last_wake": 2800000000,
                                  "last_poll_started": 2900000000, "last_poll_ended": 2000000000, "busy": 10000,
                                  "scheduled": 7000, "waker_clones": 1},
             "2251799813685252": {"created": 100000000, "polls": 1, "wakes": 1, "last_wake": 2950000000,
                                  "last_poll_started": 2500000000, "last_poll_ended": 2500000100, "busy": 100,
                                  "scheduled": 7000, "waker_clones": 1, "waker_drops": 1},
             "2251799813685253": {"created": 100000000, "dropped": 1500000000, "polls": 2, "wakes": 1, "last_wake": 1400000000,
                                  "last_poll_started": 1450000000, "last_poll_ended": 1490000000, "busy": 40000000,
                                  "scheduled": 50000000, "waker_clones": 1, "waker_drops": 1},
             "2251799813685254": {"created": 100000000, "polls": 1, "last_poll_started": 300000000,
                                  "last_poll_ended": 300000500, "busy": 500, "waker_clones": 1, "waker_drops": 1},
             "4503599627370497": {"created": 100000000, "polls": 1, "last_poll_started": 400000000,
                                  "last_poll_ended": 400001000, "busy": 1000, "waker_clones": 1},
             "4503599627370498": {"created": 100000000}}},
          {"now": 4000000000, "dropped_events": 3,
           "new_tasks": [
             {"span": 2251799813685253, "task_id": 9, "location": \(watch)},
             {"span": 4503599627370499, "task_id": 10, "location": \(main63)}],
           "stats": {
             "2251799813685249": {"created": 100000000, "polls": 2, "wakes": 1, "last_wake": 3500000000,
                                  "last_poll_started": 3600000000, "last_poll_ended": 3600001000, "busy": 39118,
                                  "scheduled": 20000, "waker_clones": 1},
             "2251799813685253": {"created": 3700000000, "polls": 1, "last_poll_started": 3800000000,
                                  "last_poll_ended": 3800002000, "busy": 2000, "waker_clones": 1},
             "4503599627370499": {"created": 3900000000, "polls": 1, "last_poll_started": 3950000000,
                                  "last_poll_ended": 3950000100, "busy": 100, "waker_clones": 1}}},
          {"now": 5000000000, "dropped_events": 2,
           "new_tasks": [
             {"span": 4503599627370497, "task_id": 7, "name": "conn", "location": \(hyper)}],
           "stats": {
             "4503599627370499": {"created": 3900000000, "dropped": 4500000000, "polls": 2, "last_poll_started": 4400000000,
                                  "last_poll_ended": 4400000100, "busy": 200, "waker_clones": 1, "waker_drops": 1}}}
        ]}
        """

    /// What the scenario must give, group by group, in first-seen order.
    static let expectedGroups: [(name: String, metrics: TaskMetrics)] = [
        (
            "src/session/watch.rs:88:17",
            TaskParserTest.metrics(
                live: 6, idle: 4, running: 1, scheduled: 1, completed: 1, polls: 2 + 2 + 3 + 1 + 1 + 1,
                // t3's current poll counts as busy until now (5 s − 2.9 s).
                busy: 39_118 + 2_000 + (10_000 + 2_100_000_000) + 100 + 500 + 2_000,
                // t4 waits since its wake at 2.95 s.
                scheduledTime: 20_000 + 5_000 + 7_000 + (7_000 + 2_050_000_000),
                wakes: 1 + 1 + 2 + 1, selfWakes: 1, lostWakers: 1)
        ),
        (
            "<cargo>/hyper-1.4.1/src/proto/h1/dispatch.rs:100:5",
            TaskParserTest.metrics(live: 1, idle: 1, polls: 1, busy: 1_000)
        ),
        ("<no location>", TaskParserTest.metrics(live: 1, idle: 1)),
        ("src/main.rs:63:9", TaskParserTest.metrics(completed: 1)),
    ]

    func checkScenario(_ snapshot: TaskSnapshot) {
        #expect(snapshot.format == .consoleUpdates)
        #expect(snapshot.takenAt == (Self.base + 5) * 1000)
        #expect(snapshot.groups.map { $0.frames.first?.name ?? "" } == Self.expectedGroups.map(\.name))
        for (group, expected) in zip(snapshot.groups, Self.expectedGroups) {
            #expect(group.frames.count == 1)
            #expect(group.metrics == expected.metrics, "group \(expected.name)")
        }
        #expect(snapshot.liveTasks == 8)
        let hyper = TaskParserTest.group(snapshot, Self.expectedGroups[1].name)?.frames.first
        #expect(hyper?.file == "<cargo>/hyper-1.4.1/src/proto/h1/dispatch.rs")
        #expect(hyper?.line == 100)
        #expect(hyper?.column == 5)
        #expect(snapshot.warnings.contains("5 events dropped by the app's console buffer; counts may be incomplete"))
        #expect(
            snapshot.warnings.contains {
                $0.hasPrefix("1 task without a spawn location") && $0.contains("'<no location>'")
            })
        #expect(snapshot.warnings.count == 2, "\(snapshot.warnings)")
    }

    @Test(
        "a scenario printed by protobuf's JSON printer: exact counts per location, in both framings and with defaults",
        .enabled(if: TaskFixtures.protobufAvailable, "needs python3 with protobuf and grpcio-tools"))
    func scenarioByProtobuf() throws {
        let folder = try Fixtures.temporaryFolder()
        let pretty = try TaskFixtures.consoleUpdates(
            scenario: Self.scenario, framing: .pretty, in: folder, name: "pretty.json")
        let lines = try TaskFixtures.consoleUpdates(
            scenario: Self.scenario, framing: .lines, in: folder, name: "lines.json")
        let defaults = try TaskFixtures.consoleUpdates(
            scenario: Self.scenario, framing: .pretty, emitDefaults: true, in: folder, name: "defaults.json")
        // The printer's shapes, as the reference describes them.
        let prettyText = try String(contentsOf: pretty, encoding: .utf8)
        #expect(prettyText.hasPrefix("{\n  \"now\": \"2025-03-14T09:26:53Z\""))
        #expect(prettyText.contains("\"busyTime\": \"0.000038118s\""))
        #expect(prettyText.contains("\"statsUpdate\": {"))
        #expect(!prettyText.contains("\"kind\": \"SPAWN\""))
        #expect(try String(contentsOf: lines, encoding: .utf8).split(separator: "\n").count == 3)
        #expect(try String(contentsOf: defaults, encoding: .utf8).contains("\"kind\": \"SPAWN\""))

        let results = try [pretty, lines, defaults].map { try TokioConsoleParser().parse(path: $0.path) }
        for result in results { checkScenario(result.snapshot) }
        #expect(results[0].snapshot.groups == results[1].snapshot.groups)
        #expect(results[0].snapshot.groups == results[2].snapshot.groups)
        #expect(results[0].byteCount == prettyText.utf8.count)
        #expect(results[0].digest.count == 64)
        #expect(results[0].digest != results[1].digest)
    }

    @Test(
        "several objects on one line and a byte order mark are read too",
        .enabled(if: TaskFixtures.protobufAvailable, "needs python3 with protobuf and grpcio-tools"))
    func objectsWithoutNewlines() throws {
        let folder = try Fixtures.temporaryFolder()
        let lines = try TaskFixtures.consoleUpdates(scenario: Self.scenario, framing: .lines, in: folder)
        let text = try String(contentsOf: lines, encoding: .utf8).replacingOccurrences(of: "\n", with: "")
        let path = try TaskParserTest.write("\u{FEFF}" + text, "one-line.json", in: folder)
        checkScenario(try TokioConsoleParser().parse(path: path).snapshot)
    }

    @Test("the reference samples: three Updates, pretty and one per line, give the same snapshot")
    func referenceSamples() throws {
        let pretty = try TokioConsoleParser().parse(path: TaskFixtures.sample("updates.pretty.json").path).snapshot
        let lines = try TokioConsoleParser().parse(path: TaskFixtures.sample("updates.jsonl").path).snapshot
        #expect(pretty.groups == lines.groups)
        #expect(pretty.warnings == lines.warnings)
        // 09:26:55.119530877Z
        #expect(pretty.takenAt == 1_741_944_415_119)
        #expect(
            pretty.groups.map { $0.frames[0].name } == [
                "src/main.rs:41:5", "src/session/watch.rs:88:17", "src/main.rs:63:9",
            ])
        let accept = TaskParserTest.group(pretty, "src/main.rs:41:5")?.metrics
        #expect(accept?.liveTasks == 1)
        #expect(accept?.idleTasks == 1)
        #expect(accept?.polls == 61)
        #expect(accept?.wakes == 60)
        #expect(accept?.busyNanoseconds == 4_480_101)
        let watch = TaskParserTest.group(pretty, "src/session/watch.rs:88:17")?.metrics
        #expect(
            watch
                == TaskParserTest.metrics(
                    live: 3, idle: 3, polls: 3, busy: 38_118 + 41_006 + 35_870, scheduledTime: 11_702 + 9_880 + 10_412))
        let done = TaskParserTest.group(pretty, "src/main.rs:63:9")?.metrics
        #expect(done == TaskParserTest.metrics(completed: 1))
        #expect(pretty.liveTasks == 4)
        #expect(pretty.warnings == ["3 events dropped by the app's console buffer; counts may be incomplete"])

        // Printed with defaults and without `now`: one idle task, no time.
        let defaults = try TokioConsoleParser().parse(path: TaskFixtures.sample("task.emit-defaults.json").path)
            .snapshot
        #expect(defaults.takenAt == nil)
        #expect(defaults.groups.map { $0.frames[0].name } == ["src/session/watch.rs:88:17"])
        #expect(
            defaults.groups.first?.metrics
                == TaskParserTest.metrics(live: 1, idle: 1, polls: 1, busy: 35_870, scheduledTime: 10_412))
    }

    @Test(
        "original proto field names and uint64 numbers are accepted; a task with no waker after its last poll is lost")
    func snakeCaseAndNumbers() throws {
        let folder = try Fixtures.temporaryFolder()
        let text = """
            {"now": "2025-03-14T10:26:50+01:00", "task_update": {"new_tasks": [{"id": {"id": 18446744073709551615},
              "location": {"file": "/home/u/.cargo/git/checkouts/tonic-0b2c/1a2b3c/tonic/src/transport.rs", "line": 7}}],
              "stats_update": {"18446744073709551615": {"created_at": "2025-03-14T09:26:49.5Z",
                "poll_stats": {"polls": 4, "last_poll_started": "2025-03-14T09:26:49.6Z",
                  "last_poll_ended": "2025-03-14T09:26:49.600000001Z", "busy_time": "1.5s"},
                "waker_clones": "2", "waker_drops": "2", "scheduled_time": "0.25s"}}}}
            """
        let path = try TaskParserTest.write(text, "snake.json", in: folder)
        let snapshot = try TokioConsoleParser().parse(path: path).snapshot
        #expect(snapshot.takenAt == Self.base * 1000)
        #expect(snapshot.groups.map { $0.frames[0].name } == ["<cargo>/tonic-0b2c/1a2b3c/tonic/src/transport.rs:7"])
        #expect(
            snapshot.groups.first?.metrics
                == TaskParserTest.metrics(
                    live: 1, idle: 1, polls: 4, busy: 1_500_000_000, scheduledTime: 250_000_000, lostWakers: 1))
    }

    @Test("registry paths are shortened as tokio-console's truncate_registry_path does")
    func registryPaths() {
        let shorten = TokioConsoleParser.shortenRegistryPath
        #expect(
            shorten("/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.47.1/src/x.rs")
                == "<cargo>/tokio-1.47.1/src/x.rs")
        #expect(
            shorten("/root/.cargo/registry/src/github.com-1ecc6299db9ec823/hyper-0.14.2/src/a.rs")
                == "<cargo>/hyper-0.14.2/src/a.rs")
        #expect(
            shorten("/home/u/.cargo/git/checkouts/console-1a2b/abc123/console-subscriber/src/lib.rs")
                == "<cargo>/console-1a2b/abc123/console-subscriber/src/lib.rs")
        #expect(shorten("src/main.rs") == "src/main.rs")
        #expect(shorten("/home/u/.cargo/bin/x.rs") == "/home/u/.cargo/bin/x.rs")
        #expect(shorten("/home/u/.cargo/registry/src/no-slash") == "/home/u/.cargo/registry/src/no-slash")
        // The greedy `.*` takes the last `.cargo`.
        #expect(shorten("/a/.cargo/registry/src/i/b/.cargo/registry/src/j/c.rs") == "<cargo>/c.rs")
    }

    // MARK: - Malformed input

    static let goodUpdate = #"{"now": "2025-03-14T09:26:53Z", "taskUpdate": {"newTasks": [{"id": {"id": "1"}}]}}"#

    @Test("malformed JSON names the line where the bad Update starts")
    func malformedJSON() throws {
        let folder = try Fixtures.temporaryFolder()
        let text = Self.goodUpdate + "\n{\n  \"now\": \"2025-03-14T09:26:54Z\"\n  \"taskUpdate\": {}\n}\n"
        let path = try TaskParserTest.write(text, "bad.json", in: folder)
        TaskParserTest.expectError(path: path, line: 2, containing: "expected ',' or '}'") {
            _ = try TokioConsoleParser().parse(path: path)
        }
        TaskParserTest.expectError(path: path, line: 2, containing: "line 4") {
            _ = try TokioConsoleParser().parse(path: path)
        }
    }

    @Test(
        "a stream cut inside an object is truncated at the line where that object starts",
        .enabled(if: TaskFixtures.protobufAvailable, "needs python3 with protobuf and grpcio-tools"))
    func truncatedStream() throws {
        let folder = try Fixtures.temporaryFolder()
        let pretty = try TaskFixtures.consoleUpdates(scenario: Self.scenario, framing: .pretty, in: folder)
        let lines = try String(contentsOf: pretty, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        // Objects start on lines that are exactly "{"; cut 10 lines into the second one.
        let starts = lines.indices.filter { lines[$0] == "{" }
        #expect(starts.count == 3)
        let cut = lines[..<(starts[1] + 10)].joined(separator: "\n") + "\n"
        let path = try TaskParserTest.write(cut, "cut.json", in: folder)
        TaskParserTest.expectError(
            path: path, line: starts[1] + 1, containing: "truncated: the object starting on this line is not closed"
        ) {
            _ = try TokioConsoleParser().parse(path: path)
        }
    }

    @Test("wrong types, stray text, foreign objects and an empty stream are errors with a line")
    func wrongShapes() throws {
        let folder = try Fixtures.temporaryFolder()
        func check(_ text: String, line: Int, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation)
            throws
        {
            let path = try TaskParserTest.write(text, "case.json", in: folder)
            TaskParserTest.expectError(path: path, line: line, containing: fragment, sourceLocation: sourceLocation) {
                _ = try TokioConsoleParser().parse(path: path)
            }
        }
        try check(Self.goodUpdate + "\n{\"now\": 5}\n", line: 2, "'now' must be a string")
        try check(Self.goodUpdate + "\n\n{\"now\": \"yesterday\"}\n", line: 3, "'now' must be an RFC 3339 timestamp")
        try check("{\"taskUpdate\": {\"newTasks\": {}}}", line: 1, "'newTasks' must be an array")
        try check(
            "{\"taskUpdate\": {\"newTasks\": [{\"id\": {\"id\": \"-3\"}}]}}", line: 1,
            "newTasks[0].id.id must be an unsigned 64-bit integer")
        try check(
            "{\"taskUpdate\": {\"statsUpdate\": {\"1\": {\"pollStats\": {\"busyTime\": \"1.5\"}}}}}", line: 1,
            "must be a Duration")
        try check("{\"taskUpdate\": {\"statsUpdate\": {\"x\": {}}}}", line: 1, "keys must be task ids")
        try check(
            Self.goodUpdate + " trailing words\n", line: 1,
            "expected '{' to start an Update object, got 'trailing words'")
        try check("[" + Self.goodUpdate + "]\n", line: 1, "expected '{'")
        try check("{\"Spawn\": {\"id\": 1}}\n", line: 1, "not a tokio-console Update")
        try check("", line: 1, "no Update object")
        try check("\n  \n", line: 2, "no Update object")
        try check(
            Self.goodUpdate + "\n{\"now\": \"2025-03-14T09:26:53Z\", \"taskUpdate\": {\"droppedEvents\": \"1e3\"}}",
            line: 2,
            "'droppedEvents' must be an unsigned 64-bit integer")
        let deep = String(repeating: "{\"a\":", count: 500) + "1" + String(repeating: "}", count: 500)
        try check(deep, line: 1, "nested deeper than")
    }

    @Test("a missing file is a cannotOpen error")
    func missingFile() {
        let error = TaskParserTest.inputError { _ = try TokioConsoleParser().parse(path: "/nonexistent/updates.json") }
        #expect(error?.localizedDescription.hasPrefix("/nonexistent/updates.json: cannot read") == true)
    }
}
