import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Messages that used to mislead (issue 21, point 8): each names the real cause, and readers leave files alone.
@Suite("messages name the real cause")
struct MessageTests {
    @Test("a symlink loop, a directory as dump or --binary, and /dev/zero as --binary")
    func inputCauses() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let db = folder.appendingPathComponent("p.db").path
        let loop = folder.appendingPathComponent("loop.heap").path
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
        let dump = set.dumps1[0].path
        let cases: [([String], String)] = [
            ([loop], "symbolic link loop"),
            ([folder.path], "is a directory"),
            ([dump, "--binary", folder.path], "is a directory, expected an ELF binary"),
            ([dump, "--binary", "/dev/zero"], "not a regular file"),
        ]
        for (arguments, phrase) in cases {
            let result = try Fixtures.profhist(["ingest"] + arguments + ["--build", "v1", "--db", db])
            #expect(result.status == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(phrase), "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains("NSCocoaErrorDomain") && !result.stderr.contains("permission"), "\(result.stderr)")
        }
    }

    @Test("--param of the wrong type, --kind bogus, and a 0-byte --db that a reader must not write")
    func usageCauses() throws {
        let folder = try Fixtures.temporaryFolder()
        let db = try HostileInputTests.storeWithOneSnapshot(in: folder)
        let limit = try Fixtures.profhist(["query", "leaf_totals_by_build", "--param", "limit=abc", "--db", db])
        if limit.stderr.contains("unknown parameter") {
            Issue.record("leaf_totals_by_build takes no :limit; pick a query that does: \(limit.stderr)")
        }
        #expect(limit.status == 1 && limit.stderr.contains(":limit = 'abc'") && !limit.stderr.contains("datatype mismatch"), "\(limit.stderr)")
        let kind = try Fixtures.profhist(["snapshots", "--kind", "bogus", "--db", db])
        #expect(kind.status == 64 && kind.stderr.contains("--kind"), "\(kind.stderr)")
        let empty = folder.appendingPathComponent("empty.db").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        for command in [["snapshots"], ["builds"], ["top"], ["export"], ["gc", "--dry-run"]] {
            // Read as an empty store (a writer may be between its open and its first commit), never written.
            let result = try Fixtures.profhist(command + ["--db", empty])
            #expect(result.status == 0, "\(command): \(result.stderr)")
            let size = try FileManager.default.attributesOfItem(atPath: empty)[.size] as? Int
            #expect(size == 0, "\(command) wrote into the empty file")
            #expect(!FileManager.default.fileExists(atPath: empty + "-wal"))
        }
    }

    @Test("names with newlines, ANSI escapes and bidi marks print escaped in tables; labels stay unambiguous")
    func tableEscapesAndLabels() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let db = folder.appendingPathComponent("p.db").path
        let hostile = "v1\nfake row\u{1B}[31mred\u{202E}txet"
        var result = try Fixtures.profhist(
            ["ingest", set.dumps1[0].path, "--build", hostile, "--label", "k=a,x=y", "--binary", set.program1.path, "--db", db])
        try #require(result.status == 0, "\(result.stderr)")
        result = try Fixtures.profhist(
            ["ingest", set.dumps1[1].path, "--build", "v2", "--label", "k=a", "--label", "x=y", "--binary", set.program1.path, "--db", db])
        try #require(result.status == 0, "\(result.stderr)")
        for command in [["builds"], ["snapshots"]] {
            let table = try Fixtures.profhist(command + ["--db", db])
            #expect(table.status == 0)
            #expect(!table.stdout.contains("\u{1B}") && !table.stdout.contains("\u{202E}"), "\(command)")
            #expect(!table.stdout.split(separator: "\n").contains { $0.hasPrefix("fake row") }, "\(command): \(table.stdout)")
            // Escaped (then cut to the column's width).
            #expect(table.stdout.contains(#"v1\nfake row\"#), "\(command): \(table.stdout)")
        }
        let wide = try Fixtures.profhist(["query", "list_builds", "--db", db])
        #expect(wide.stdout.contains(#"v1\nfake row\u{1b}[31mred\u{202e}txet"#), "\(wide.stdout)")
        let csv = try Fixtures.profhist(["snapshots", "--format", "jsonl", "--db", db])
        let labels = csv.stdout.split(separator: "\n").compactMap { line -> String? in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["labels"] as? String
        }
        #expect(labels.count == 2 && Set(labels).count == 2, "\(labels)")
        #expect(labels.contains("k=a%2Cx%3Dy") && labels.contains { $0.split(separator: ",").count == 2 }, "\(labels)")
    }

    @Test("check during an ingest says the judged build may be incomplete; after it, it does not")
    func checkDuringIngest() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let db = folder.appendingPathComponent("p.db").path
        for (index, dump) in set.dumps1.enumerated() {
            let result = try Fixtures.profhist(["ingest", dump.path, "--build", "v1", "--run", "r\(index)", "--binary", set.program1.path, "--db", db])
            try #require(result.status == 0, "\(result.stderr)")
        }
        // Build v2: its first file is stored, the second (a FIFO) holds the ingest open until the test lets go.
        let result = try Shell.run(
            """
            mkfifo "$D/second.heap"
            exec 3<>"$D/second.heap"
            "$P" ingest "\(set.dumps2[0].path)" "$D/second.heap" --build v2 --run r9 --binary "\(set.program2.path)" --db "$D/p.db" 2>/dev/null 3>&- &
            ingest=$!
            for i in $(seq 100); do "$P" snapshots --build v2 --format csv --db "$D/p.db" | grep -q v2 && break; sleep 0.1; done
            "$P" check --db "$D/p.db" > "$D/during.txt" 2> "$D/during.err" 3>&-; echo "during $?"
            cat "\(set.dumps2[1].path)" >&3
            exec 3>&-
            wait $ingest; echo "ingest $?"
            "$P" check --db "$D/p.db" > "$D/after.txt" 2> "$D/after.err"; echo "after $?"
            """, in: folder)
        #expect(result.stdout.contains("ingest 0"), "\(result.stdout) \(result.stderr)")
        let during = try String(contentsOf: folder.appendingPathComponent("during.err"), encoding: .utf8)
        let duringReport = try String(contentsOf: folder.appendingPathComponent("during.txt"), encoding: .utf8)
        #expect(during.contains("an ingest into this store was in progress") && during.contains("(v2)"), "\(during)")
        #expect(duringReport.contains("may be incomplete"), "\(duringReport)")
        let after = try String(contentsOf: folder.appendingPathComponent("after.err"), encoding: .utf8)
        #expect(!after.contains("in progress"), "\(after)")
    }
}
