import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

@Suite("task snapshot formats: detection, times, durations, JSON")
struct TaskFormatTests {
    enum Parser: CaseIterable {
        case console, dump, recording, heap
    }

    static func recognized(_ prefix: Data) -> [Parser] {
        var found: [Parser] = []
        if TokioConsoleParser.recognizes(prefix) { found.append(.console) }
        if TaskDumpParser.recognizes(prefix) { found.append(.dump) }
        if ConsoleRecordingParser.recognizes(prefix) { found.append(.recording) }
        if JemallocHeapParser.recognizes(prefix) { found.append(.heap) }
        return found
    }

    @Test("each format is recognized by its own parser only")
    func detection() throws {
        func prefix(_ sample: String) throws -> Data { try Data(contentsOf: TaskFixtures.sample(sample)).prefix(4096) }
        #expect(Self.recognized(try prefix("updates.pretty.json")) == [.console])
        #expect(Self.recognized(try prefix("updates.jsonl")) == [.console])
        #expect(Self.recognized(try prefix("task.emit-defaults.json")) == [.console])
        #expect(Self.recognized(try prefix("console-record.replica.jsonl")) == [.recording])
        #expect(Self.recognized(try prefix("taskdump.tokio-1.53.1.txt")) == [.dump])
        #expect(Self.recognized(try prefix("taskdump.tokio-pre-1.52.4-format.txt")) == [.dump])
        #expect(Self.recognized(Data("heap_v2/524288\n  t*: 1: 2 [0: 0]\n".utf8)) == [.heap])
        #expect(Self.recognized(Data("heap profile: 1: 2 [0: 0] @ heap_v2/524288\n".utf8)) == [.heap])
        #expect(Self.recognized(Data("TASK 1:\n╼\u{A0}a\n".utf8)) == [.dump])
        #expect(Self.recognized(Data((String(repeating: "-", count: 80) + "\nTASK 1:\n").utf8)) == [.dump])
        #expect(Self.recognized(Data("\u{FEFF} { \"v\" : 1 }\n".utf8)) == [.recording])
        #expect(Self.recognized(Data("{\"now\":\"2025-03-14T09:26:53Z\"}".utf8)) == [.console])
        #expect(Self.recognized(Data("{\"other\": 1}".utf8)).isEmpty)
        #expect(Self.recognized(Data("hello\nTASK list:\n".utf8)).isEmpty)
        #expect(Self.recognized(Data()).isEmpty)
    }

    @Test("RFC 3339 timestamps with 0 to 9 fraction digits and offsets, exactly")
    func timestamps() {
        let parse = TaskInstant.parseRFC3339
        #expect(parse("2025-03-14T09:26:50Z") == TaskInstant(seconds: 1_741_944_410, nanoseconds: 0))
        #expect(parse("2025-03-14T09:26:50.4Z") == TaskInstant(seconds: 1_741_944_410, nanoseconds: 400_000_000))
        #expect(parse("2025-03-14T09:26:50.412Z") == TaskInstant(seconds: 1_741_944_410, nanoseconds: 412_000_000))
        #expect(
            parse("2025-03-14T09:26:50.412003118Z") == TaskInstant(seconds: 1_741_944_410, nanoseconds: 412_003_118))
        #expect(parse("2025-03-14t09:26:50.000000001z") == TaskInstant(seconds: 1_741_944_410, nanoseconds: 1))
        #expect(parse("2025-03-14T11:26:50.5+02:00") == TaskInstant(seconds: 1_741_944_410, nanoseconds: 500_000_000))
        #expect(parse("2025-03-14T04:56:50-04:30") == TaskInstant(seconds: 1_741_944_410, nanoseconds: 0))
        #expect(parse("1970-01-01T00:00:00Z") == TaskInstant(seconds: 0, nanoseconds: 0))
        #expect(parse("1969-12-31T23:59:59.5Z") == TaskInstant(seconds: -1, nanoseconds: 500_000_000))
        #expect(parse("0001-01-01T00:00:00Z") == TaskInstant(seconds: -62_135_596_800, nanoseconds: 0))
        #expect(parse("2024-02-29T00:00:00Z") != nil)
        for bad in [
            "2025-03-14T09:26:50.1234567891Z", "2025-03-14T09:26:50.Z", "2025-03-14T09:26:50", "2025-02-29T00:00:00Z",
            "2025-13-01T00:00:00Z", "2025-03-14 09:26:50Z", "2025-03-14T24:00:00Z", "2025-03-14T09:26:50+0200", "",
            "now",
        ] {
            #expect(parse(bad) == nil, "\(bad)")
        }
        #expect(
            TaskInstant(seconds: 5, nanoseconds: 0).nanoseconds(
                since: TaskInstant(seconds: 3, nanoseconds: 999_999_999)) == 1_000_000_001)
        #expect(
            TaskInstant(seconds: 3, nanoseconds: 0).nanoseconds(since: TaskInstant(seconds: 5, nanoseconds: 0)) == 0)
        #expect(
            TaskInstant(seconds: .max, nanoseconds: 0).nanoseconds(since: TaskInstant(seconds: .min, nanoseconds: 0))
                == .max)
        #expect(TaskInstant(seconds: .max, nanoseconds: 999_999_999).epochMilliseconds == .max)
        #expect(
            TaskInstant(seconds: 1, nanoseconds: 1_500_000_000) == TaskInstant(seconds: 2, nanoseconds: 500_000_000))
    }

    @Test("protobuf Durations with 0 to 9 fraction digits, exactly, pinned at Int64 bounds")
    func durations() {
        let parse = ProtobufDuration.nanoseconds
        #expect(parse("0s") == 0)
        #expect(parse("1.500s") == 1_500_000_000)
        #expect(parse("1.5s") == 1_500_000_000)
        #expect(parse("0.000038118s") == 38_118)
        #expect(parse("0.000000001s") == 1)
        #expect(parse("315576000000.999999999s") == .max)
        #expect(parse("-2.25s") == -2_250_000_000)
        #expect(parse("9223372036.854775807s") == .max)
        #expect(parse("9223372036.854775806s") == 9_223_372_036_854_775_806)
        for bad in ["", "s", "1", "1.s", ".5s", "1.0000000001s", "1,5s", "+1s", "1e3s", "--1s", "1.5 s"] {
            #expect(parse(bad) == nil, "\(bad)")
        }
    }

    @Test("the JSON reader keeps numbers exact and rejects what is not JSON")
    func jsonReader() throws {
        func parse(_ text: String) throws -> JSONValue { try JSONReader.parse(Array(text.utf8)) }
        #expect(
            try parse(#"{"a": [1, -2.5e3, "x\u00e9\ud83d\ude00\n", true, false, null], "a": 2}"#)
                == .object(["a": .number("2")]))
        #expect(try parse(#"["\u00e9\ud83d\ude00\n\"\\\/"]"#) == .array([.string("é😀\n\"\\/")]))
        #expect(try parse(#"["\ud800"]"#) == .array([.string("\u{FFFD}")]))
        #expect(try parse(" 18446744073709551616 ") == .number("18446744073709551616"))
        for bad in [
            "", "{", "{\"a\" 1}", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"a", "\"\t\"", "tru", "[1] 2", "{'a':1}",
            "\"\\x\"",
        ] {
            #expect(throws: JSONSyntaxError.self, "\(bad)") { try parse(bad) }
        }
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONSyntaxError.self) { try parse(deep) }
        let position = JSONReader.position(of: 5, in: Array("ab\ncd\nef".utf8))
        #expect(position.line == 2 && position.column == 3)
    }

    @Test("every parser on every sample, and on mutated samples: a result or an InputError, never a crash")
    func anyInput() throws {
        let folder = try Fixtures.temporaryFolder()
        let samples = [
            "updates.pretty.json", "updates.jsonl", "task.emit-defaults.json", "console-record.replica.jsonl",
            "taskdump.tokio-1.53.1.txt", "taskdump.tokio-pre-1.52.4-format.txt",
        ]
        let parsers: [(String) throws -> Void] = [
            { _ = try TokioConsoleParser().parse(path: $0) },
            { _ = try TaskDumpParser().parse(path: $0) },
            { _ = try ConsoleRecordingParser().parse(path: $0) },
        ]
        var generator = SplitMix64(seed: 0x7A5C_5EED)
        for sample in samples {
            let original = [UInt8](try Data(contentsOf: TaskFixtures.sample(sample)))
            for round in 0..<60 {
                var bytes = original
                if round > 0 {
                    for _ in 0..<(1 + round % 6) {
                        let at = Int.random(in: 0..<bytes.count, using: &generator)
                        bytes[at] = UInt8.random(in: 0...255, using: &generator)
                    }
                    if round % 5 == 0 {
                        bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
                    }
                }
                let path = folder.appendingPathComponent("mutated").path
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                for parse in parsers {
                    do {
                        try parse(path)
                    } catch let error as InputError {
                        #expect(error.localizedDescription.hasPrefix(path + ":"))
                    }
                }
            }
        }
    }
}
