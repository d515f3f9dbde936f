import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

@Suite("console-subscriber recording parser")
struct ConsoleRecordingParserTests {
    static let base: UInt64 = 1_741_944_410
    static let ms: UInt64 = 1_000_000

    /// serde's `SystemTime` at `base` + `millis` ms, in the recorder's key order.
    static func at(_ millis: UInt64) -> String {
        let nanos = millis * ms
        return #"{"secs_since_epoch":\#(base + nanos / 1_000_000_000),"nanos_since_epoch":\#(nanos % 1_000_000_000)}"#
    }

    // The recorder's line shapes (record.rs, serde's externally tagged enums), as in the replica sample.
    static func spawn(_ id: UInt64, _ millis: UInt64, name: String = "", kind: String = "task", taskID: Int) -> String {
        #"{"Spawn":{"id":\#(id),"at":\#(at(millis)),"fields":[{"name":"kind","value":"\#(kind)"},{"name":"task.name","value":"\#(name)"},{"name":"task.id","value":\#(taskID)},{"name":"size.bytes","value":1216}]}}"#
    }
    static func event(_ kind: String, _ id: UInt64, _ millis: UInt64) -> String {
        #"{"\#(kind)":{"id":\#(id),"at":\#(at(millis))}}"#
    }
    static func waker(_ id: UInt64, _ op: String, _ millis: UInt64) -> String {
        #"{"Waker":{"id":\#(id),"op":\#(op),"at":\#(at(millis))}}"#
    }

    // 2^53 + 1 and 2^53 are one number as a Double: they must stay two tasks.
    static let a: UInt64 = 9_007_199_254_740_993
    static let b: UInt64 = 9_007_199_254_740_992
    static let c: UInt64 = 18_446_744_073_709_551_557
    static let d: UInt64 = 2_251_799_813_685_250
    static let e: UInt64 = 5

    /// A: polled twice, woken by ref (a self wake) in between, keeps its waker: idle. B: woken by value after its
    /// poll (the wake consumes the waker), not polled since: scheduled. C (a named blocking task): entered and
    /// never exited: running. D: completed. E: its only waker dropped after its poll, never woken: a lost waker.
    /// Enter/Exit/Close of a resource span (id 77) are not tasks.
    static let lines = [
        #"{"v":1}"#,
        spawn(a, 0, taskID: 1),
        spawn(b, 100, taskID: 2),
        spawn(c, 200, name: "worker", kind: "blocking", taskID: 3),
        spawn(d, 300, taskID: 4),
        waker(a, #""Clone""#, 400),
        event("Enter", a, 500),
        event("Exit", a, 600),
        waker(a, #"{"WakeByRef":{"self_wake":true}}"#, 700),
        event("Enter", a, 800),
        event("Enter", a, 810),  // nested enter: the same poll
        event("Exit", a, 890),
        event("Exit", a, 900),
        waker(b, #""Clone""#, 1000),
        event("Enter", b, 1100),
        event("Exit", b, 1200),
        waker(b, #"{"Wake":{"self_wake":false}}"#, 1300),
        event("Enter", c, 1400),
        waker(d, #""Clone""#, 1410),
        event("Enter", d, 1420),
        event("Exit", d, 1430),
        waker(d, #""Drop""#, 1440),
        event("Close", d, 1500),
        spawn(e, 1600, taskID: 5),
        waker(e, #""Clone""#, 1600),
        event("Enter", e, 1700),
        event("Exit", e, 1800),
        waker(e, #""Drop""#, 1900),
        event("Enter", 77, 1950),
        event("Exit", 77, 1960),
        event("Close", 77, 2000),
    ]

    @Test("a recording in the serde shapes: live set, states, wakes and lost wakers by name and kind; ids above 2^53")
    func builtRecording() throws {
        let folder = try Fixtures.temporaryFolder()
        let text = Self.lines.joined(separator: "\n") + "\n"
        let path = try TaskParserTest.write(text, "recording.jsonl", in: folder)
        let result = try ConsoleRecordingParser().parse(path: path)
        let snapshot = result.snapshot
        #expect(snapshot.format == .consoleRecording)
        #expect(snapshot.takenAt == Int64(Self.base) * 1000 + 2000)
        #expect(snapshot.warnings == [ConsoleRecordingParser.noLocationWarning])
        #expect(snapshot.groups.map { $0.frames.map(\.name) } == [["name=;kind=task"], ["name=worker;kind=blocking"]])
        let ms = Int64(Self.ms)
        #expect(
            snapshot.groups[0].metrics
                == TaskParserTest.metrics(
                    live: 3, idle: 2, scheduled: 1, completed: 1, polls: 2 + 1 + 1,
                    busy: (100 + 100) * ms + 100 * ms + 100 * ms,
                    // A waited from its wake at 700 ms to its poll at 800 ms; B waits since 1300 ms (now: 2000 ms).
                    scheduledTime: 100 * ms + 700 * ms, wakes: 2, selfWakes: 1, lostWakers: 1))
        #expect(snapshot.groups[1].metrics == TaskParserTest.metrics(live: 1, running: 1, polls: 1, busy: 600 * ms))
        #expect(result.byteCount == text.utf8.count)
        #expect(snapshot.liveTasks == 4)
    }

    @Test("the replica sample: one task spawned, polled, woken and closed")
    func replicaSample() throws {
        let snapshot = try ConsoleRecordingParser().parse(
            path: TaskFixtures.sample("console-record.replica.jsonl").path
        ).snapshot
        #expect(snapshot.groups.map { $0.frames.map(\.name) } == [["name=;kind=task"]])
        #expect(snapshot.groups[0].metrics == TaskParserTest.metrics(completed: 1))
        #expect(snapshot.takenAt == 1_741_944_411_600)
        #expect(snapshot.liveTasks == 0)
    }

    @Test("an unfinished last line is skipped with a warning; a bad line elsewhere is an error")
    func unfinishedLine() throws {
        let folder = try Fixtures.temporaryFolder()
        let complete = Self.lines.prefix(5).joined(separator: "\n") + "\n"
        let cut = String(Self.spawn(Self.e, 3000, taskID: 9).prefix(30))
        let path = try TaskParserTest.write(complete + cut, "live.jsonl", in: folder)
        let snapshot = try ConsoleRecordingParser().parse(path: path).snapshot
        #expect(snapshot.liveTasks == 4)
        #expect(snapshot.warnings.contains("line 6 is unfinished (the app was still writing the recording); skipped"))

        let middle = try TaskParserTest.write(complete + cut + "\n" + Self.lines[5] + "\n", "middle.jsonl", in: folder)
        TaskParserTest.expectError(path: middle, line: 6, containing: "bad JSON") {
            _ = try ConsoleRecordingParser().parse(path: middle)
        }
        let terminated = try TaskParserTest.write(complete + cut + "\n", "terminated.jsonl", in: folder)
        TaskParserTest.expectError(path: terminated, line: 6, containing: "bad JSON") {
            _ = try ConsoleRecordingParser().parse(path: terminated)
        }
    }

    @Test("version line missing or not 1, and events of the wrong shape, are errors with a line")
    func badInput() throws {
        let folder = try Fixtures.temporaryFolder()
        func check(_ text: String, line: Int, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation)
            throws
        {
            let path = try TaskParserTest.write(text, "bad.jsonl", in: folder)
            TaskParserTest.expectError(path: path, line: line, containing: fragment, sourceLocation: sourceLocation) {
                _ = try ConsoleRecordingParser().parse(path: path)
            }
        }
        try check(#"{"v":2}"# + "\n" + Self.lines[1] + "\n", line: 1, "unsupported recording version 2")
        try check(#"{"v":"1.0.0"}"# + "\n", line: 1, "unsupported recording version 1.0.0")
        try check(Self.lines[1] + "\n", line: 1, "expected the version line")
        try check("v1\n", line: 1, "expected the version line")
        try check("", line: 1, "empty recording")
        try check(
            #"{"v":1}"# + "\n" + #"{"Spawn":{"id":-1,"at":{"secs_since_epoch":1,"nanos_since_epoch":0}}}"# + "\n",
            line: 2,
            "Spawn.id must be an unsigned 64-bit integer")
        try check(#"{"v":1}"# + "\n\n" + #"{"Enter":{"id":1}}"# + "\n", line: 3, "Enter has no 'at'")
        try check(
            #"{"v":1}"# + "\n" + #"{"Waker":{"id":1,"op":"Poke","at":{"secs_since_epoch":1,"nanos_since_epoch":0}}}"#
                + "\n", line: 2,
            "Waker 'op' must be")
        try check(#"{"v":1}"# + "\n" + #"{"Enter":{"id":1},"Exit":{"id":1}}"# + "\n", line: 2, "one member")
        try check(#"{"v":1}"# + "\n" + #"[1,2]"# + "\n", line: 2, "an event must be an object")
    }

    @Test("ids are exact up to 2^64 - 1 and beyond that an error, never a trap")
    func largeIDs() throws {
        #expect(JSONValue.exactUInt64("18446744073709551615") == UInt64.max)
        #expect(JSONValue.exactUInt64("18446744073709551616") == nil)
        #expect(JSONValue.exactUInt64("9007199254740993") == 9_007_199_254_740_993)
        #expect(JSONValue.exactUInt64("57.0") == 57)
        #expect(JSONValue.exactUInt64("57.5") == nil)
        #expect(JSONValue.exactUInt64("-1") == nil)
        #expect(JSONValue.exactUInt64("") == nil)
        #expect(try JSONReader.parse(Array("[9007199254740993]".utf8)) == .array([.number("9007199254740993")]))
    }
}
