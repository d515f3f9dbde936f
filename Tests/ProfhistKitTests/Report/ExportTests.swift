import Foundation
import GRDB
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Exports read back by independent parsers (Python's csv and json modules), with hostile names from real
/// dumps: a stripped program whose file name holds `;`, `"`, `,`, spaces and UTF-8 (its frames are named
/// after it), and Rust frames like `<[u8; 4] as leaky::Maker>::make`.
@Suite("export")
struct ExportTests {
    /// A store with a C program renamed to a hostile name and stripped, plus the Rust fixture when rustc exists.
    static let store: Result<(db: String, hostile: String), Error> = Result {
        let folder = try Fixtures.temporaryFolder()
        let set = try SharedDumps.c.get()
        let directory = folder.appendingPathComponent("dir with spaces ü")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let hostile = "lé;aky \"x\",y"
        let program = directory.appendingPathComponent(hostile)
        try FileManager.default.copyItem(at: set.program1, to: program)
        let stripped = try Fixtures.run("strip", [program.path])
        guard stripped.status == 0 else { throw FixtureError.failed("strip: \(stripped.stderr)") }
        let dumps = try Fixtures.runLeakyC(program, prefix: folder.appendingPathComponent("hostile"), phases: 2)
        let db = folder.appendingPathComponent("export.db").path
        let store = try Store(path: db, create: true)
        let pipeline = IngestPipeline(openStore: { store }, binaries: [], llvm: LLVMSymbolizer.locate())
        for dump in dumps {
            _ = try pipeline.ingest(path: dump.path, format: .auto, options: IngestOptions(build: "bü,ild \"1\"", labels: [("k", "v;w")]))
        }
        if SharedDumps.rustAvailable {
            let rust = try SharedDumps.rust.get()
            let rustPipeline = IngestPipeline(openStore: { store }, binaries: [try BinaryCandidate(path: rust.program1.path)], llvm: LLVMSymbolizer.locate())
            _ = try rustPipeline.ingest(path: rust.dumps1[0].path, format: .auto, options: IngestOptions(build: "rust"))
        }
        return (db, hostile)
    }

    static func python(_ script: String, input: String) throws -> String {
        let file = try Fixtures.temporaryFolder().appendingPathComponent("input")
        try Data(input.utf8).write(to: file)
        let result = try Fixtures.run("python3", ["-c", script, file.path])
        guard result.status == 0 else { throw FixtureError.failed("python3: \(result.stderr)") }
        return result.stdout
    }

    static func totals(_ db: String) throws -> [Int64: Double] {
        let queue = try Self.reader(db)
        return try queue.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, total FROM snapshot").map { ($0[0] as Int64, $0[1] as Double) })
        }
    }

    @Test("CSV is RFC 4180: Python's csv module reads every field back, hostile names included, and values sum to the totals")
    func csvRoundTrip() throws {
        let (db, hostile) = try Self.store.get()
        let export = try Fixtures.profhist(["export", "--format", "csv", "--db", db])
        #expect(export.status == 0, "\(export.stderr)")
        // Python reports: header, row count, per-snapshot inuse_space sums, and whether the hostile name came back.
        let script = """
            import csv, sys, json
            rows = list(csv.DictReader(open(sys.argv[1], newline='', encoding='utf-8')))
            sums = {}
            for r in rows:
                if r['metric'] == 'inuse_space':
                    sums[r['snapshot_id']] = sums.get(r['snapshot_id'], 0) + int(r['value'])
            print(json.dumps({'header': list(rows[0].keys()), 'rows': len(rows), 'sums': sums,
                'leaves': sorted(set(r['leaf'] for r in rows)), 'builds': sorted(set(r['build'] for r in rows)),
                'labels': sorted(set(r['labels'] for r in rows)), 'times': sorted(set(r['taken_at'] for r in rows))[:3],
                'stacks': [r['stack'] for r in rows][:2000]}))
            """
        let output = try Self.python(script, input: export.stdout)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let header = try #require(parsed["header"] as? [String])
        #expect(Array(header.prefix(10)) == ["snapshot_id", "kind", "build", "run", "taken_at", "stack_id", "leaf", "stack", "metric", "value"])
        #expect(header.contains("taken_at_unix") && header.contains("labels"))
        #expect((parsed["rows"] as? Int ?? 0) > 0)
        let leaves = try #require(parsed["leaves"] as? [String])
        #expect(leaves.contains { $0.hasPrefix(hostile + "+0x") }, "leaves: \(leaves)")
        #expect((parsed["builds"] as? [String])?.contains("bü,ild \"1\"") == true)
        #expect((parsed["labels"] as? [String])?.contains("k=v;w") == true)
        for time in parsed["times"] as? [String] ?? [] { #expect(Timestamp.parse(time) != nil && time.hasSuffix("Z")) }
        if SharedDumps.rustAvailable { #expect(leaves.contains("<[u8; 4] as leaky::Maker>::make")) }
        // Exported values sum back exactly to each snapshot's total.
        let sums = try #require(parsed["sums"] as? [String: Int])
        let totals = try Self.totals(db)
        #expect(sums.count == totals.count)
        for (id, total) in totals { #expect(Double(sums[String(id)] ?? -1) == total, "snapshot \(id)") }
        // A folded stack splits into exactly its frames: names with ';' were escaped.
        let queue = try Self.reader(db)
        let depth = try queue.read { db in
            try Int.fetchOne(db, sql: "SELECT max(depth) + 1 FROM callsite WHERE id IN (SELECT stack_id FROM sample)") ?? 0
        }
        let stacks = parsed["stacks"] as? [String] ?? []
        #expect(stacks.allSatisfy { $0.split(separator: ";").count <= depth })
    }

    @Test("JSON lines and TSV read back with independent parsers; numbers are numbers")
    func jsonlAndTSV() throws {
        let (db, hostile) = try Self.store.get()
        let jsonl = try Fixtures.profhist(["export", "--format", "jsonl", "--db", db])
        let script = """
            import json, sys
            rows = [json.loads(line) for line in open(sys.argv[1], encoding='utf-8')]
            print(json.dumps({'n': len(rows), 'types': sorted(set(type(r['value']).__name__ for r in rows)),
                'ids': sorted(set(type(r['snapshot_id']).__name__ for r in rows)),
                'hostile': any(r['stack'].find('+0x') > 0 for r in rows)}))
            """
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(try Self.python(script, input: jsonl.stdout).utf8)) as? [String: Any])
        #expect(parsed["types"] as? [String] == ["int"])
        #expect(parsed["ids"] as? [String] == ["int"])
        #expect(parsed["hostile"] as? Bool == true)
        let tsv = try Fixtures.profhist(["export", "--format", "tsv", "--no-headers", "--db", db])
        let tsvScript = """
            import csv, sys, json
            rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8'), delimiter='\\t', quoting=csv.QUOTE_NONE))
            print(json.dumps({'widths': sorted(set(len(r) for r in rows)), 'n': len(rows)}))
            """
        let tsvParsed = try #require(try JSONSerialization.jsonObject(with: Data(try Self.python(tsvScript, input: tsv.stdout).utf8)) as? [String: Any])
        #expect(tsvParsed["widths"] as? [Int] == [Export.columns.count])
        #expect(tsvParsed["n"] as? Int == parsed["n"] as? Int)
        _ = hostile
    }

    @Test("folded output round-trips: value after the last space, frames split on ';', sums to the snapshot's total")
    func folded() throws {
        let (db, _) = try Self.store.get()
        let totals = try Self.totals(db)
        let id = try #require(totals.keys.min())
        let folded = try Fixtures.profhist(["export", "--format", "folded", "--snapshot", String(id), "--db", db])
        #expect(folded.status == 0, "\(folded.stderr)")
        var sum = 0.0
        for line in folded.stdout.split(separator: "\n") {
            let space = try #require(line.lastIndex(of: " "))
            let value = try #require(Double(line[line.index(after: space)...]))
            sum += value
            #expect(!line[..<space].split(separator: ";").isEmpty)
        }
        #expect(sum == totals[id])
        // diff's two-column folded output: "stack BASE TARGET".
        let diff = try Fixtures.profhist(["diff", "--base", "snapshot:\(id)", "--target", "snapshot:\(id + 1)", "--format", "folded", "--db", db])
        #expect(diff.status == 0)
        for line in diff.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            #expect(parts.count >= 3 && Int(parts[parts.count - 1]) != nil && Int(parts[parts.count - 2]) != nil)
        }
    }

    @Test("--output writes atomically; --wide gives one column per stack; every command has machine formats")
    func outputAndWide() throws {
        let (db, _) = try Self.store.get()
        let folder = try Fixtures.temporaryFolder()
        let target = folder.appendingPathComponent("memory.csv")
        let written = try Fixtures.profhist(["export", "--format", "csv", "--output", target.path, "--db", db])
        #expect(written.status == 0 && written.stdout.isEmpty)
        #expect(try String(contentsOf: target, encoding: .utf8).hasPrefix("snapshot_id,"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["memory.csv"])
        let failed = try Fixtures.profhist(["export", "--output", folder.appendingPathComponent("x.csv").path, "--build", "nope", "--db", "/nonexistent.db"])
        #expect(failed.status == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["memory.csv"])
        let wide = try Fixtures.profhist(["export", "--wide", "--top", "3", "--by", "snapshot", "--format", "csv", "--db", db])
        #expect(wide.status == 0, "\(wide.stderr)")
        let lines = wide.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("taken_at,") == true)
        for command in [["snapshots"], ["builds"], ["top", "--all"], ["export"], ["query", "--list"]] {
            for format in ["csv", "tsv", "json", "jsonl"] {
                let result = try Fixtures.profhist(command + ["--format", format, "--db", db])
                #expect(result.status == 0, "\(command) \(format): \(result.stderr)")
            }
        }
    }

    @Test("the dashboard views answer with epoch-second times")
    func views() throws {
        let (db, _) = try Self.store.get()
        let queue = try Self.reader(db)
        try queue.read { db in
            let time = try Int64.fetchOne(db, sql: "SELECT time FROM v_snapshot_total ORDER BY snapshot_id LIMIT 1") ?? 0
            let ms = try Int64.fetchOne(db, sql: "SELECT taken_at FROM snapshot ORDER BY id LIMIT 1") ?? 0
            #expect(time == ms / 1000)
            let total = try Double.fetchOne(db, sql: "SELECT sum(inuse_space) FROM v_leaf_value WHERE snapshot_id = 1") ?? 0
            #expect(total == (try Double.fetchOne(db, sql: "SELECT total FROM snapshot WHERE id = 1") ?? -1))
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM v_build_total") ?? 0 >= 1)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM v_stack_value") ?? 0 > 0)
        }
    }

    /// A connection to the suite's shared store that waits for locks, as profhist's own do: the CLI processes that
    /// the other tests run on the same store briefly hold it exclusively while their last connection checkpoints
    /// and removes the WAL, and a connection opened then without a busy timeout fails with "database is locked".
    static func reader(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}
