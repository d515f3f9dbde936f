import Foundation
import GRDB
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// The built `profhist` executable, end to end: stdout, stderr, exit status and the store file.
@Suite("command line")
struct CommandLineTests {
    static func storeBytes(_ path: String) throws -> Data {
        // A checkpoint-free comparison: the main file and the WAL, as they are on disk.
        var data = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
        data.append((try? Data(contentsOf: URL(fileURLWithPath: path + "-wal"))) ?? Data())
        return data
    }

    @Test("ingest, snapshots and export: the columns the README names, RFC 3339 times, plain numbers")
    func ingestAndList() throws {
        let set = try SharedDumps.c.get()
        let db = try Fixtures.temporaryFolder().appendingPathComponent("p.db").path
        let ingest = try Fixtures.profhist(
            ["ingest"] + set.dumps1.map(\.path) + [
                "--build", "v1", "--binary", set.program1.path, "--label", "test=soak", "--at", "2026-01-02T00:10:00Z", "--db", db,
            ])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stderr.contains("stored as snapshot 1"))
        // The same file for the same build, run and time (a retry) is not stored twice (README, ingest).
        let again = try Fixtures.profhist(
            ["ingest", set.dumps1[0].path, "--build", "v1", "--at", "2026-01-02T00:10:00Z", "-q", "--db", db])
        #expect(again.status == 0)
        #expect(again.stderr.contains("already stored as snapshot 1"))

        let snapshots = try Fixtures.profhist(["snapshots", "--format", "csv", "--db", db])
        #expect(snapshots.status == 0, "\(snapshots.stderr)")
        let lines = snapshots.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        let header = lines[0].split(separator: ",").map(String.init)
        for column in ["id", "kind", "build", "run", "taken_at", "total"] { #expect(header.contains(column)) }
        let first = lines[1].split(separator: ",").map(String.init)
        #expect(first[header.firstIndex(of: "taken_at")!] == "2026-01-02T00:10:00Z")
        #expect(first[header.firstIndex(of: "kind")!] == "heap")
        #expect(Double(first[header.firstIndex(of: "total")!]) != nil)
        #expect(snapshots.stdout.contains("test=soak"))

        let export = try Fixtures.profhist(["export", "--format", "csv", "--db", db])
        #expect(export.status == 0, "\(export.stderr)")
        let exportHeader = export.stdout.split(separator: "\n")[0]
        #expect(exportHeader.hasPrefix("snapshot_id,kind,build,run,taken_at,stack_id,leaf,stack,metric,value"))
        #expect(export.stdout.contains(",leaky_cache,"))
        // Stored stacks end at the allocator's caller: jemalloc's own frames are cut, as jeprof does.
        #expect(export.stdout.contains(";main;leaky_cache,"))
        #expect(!export.stdout.contains("libjemalloc"))

        let json = try Fixtures.profhist(["builds", "--format", "json", "--db", db])
        let builds = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(builds?.first?["build"] as? String == "v1")
        #expect(builds?.first?["snapshots"] as? Int == 2)

        let table = try Fixtures.profhist(["snapshots", "--db", db])
        #expect(table.stdout.split(separator: "\n").allSatisfy { $0.count <= 100 }, "\(table.stdout)")
    }

    @Test("show: the stack root to leaf with file:line and the leaf marked")
    func show() throws {
        let set = try SharedDumps.c.get()
        let db = try Fixtures.temporaryFolder().appendingPathComponent("p.db").path
        #expect(try Fixtures.profhist(["ingest", set.dumps1[0].path, "--build", "v1", "--binary", set.program1.path, "--db", db]).status == 0)
        let export = try Fixtures.profhist(["export", "--format", "jsonl", "--db", db])
        let rows = export.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let row = try #require(rows.first { $0["leaf"] as? String == "recurse_then_allocate" })
        let stackID = try #require(row["stack_id"] as? Int)
        let show = try Fixtures.profhist(["show", String(stackID), "--format", "csv", "--db", db])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("recurse_then_allocate,") && show.stdout.contains("leaky.c:"))
        #expect(show.stdout.contains(",leaf,"))
        #expect(show.stdout.components(separatedBy: "recurse_then_allocate,").count >= 13)  // 13 levels of recursion
        let missing = try Fixtures.profhist(["show", "999999", "--db", db])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no stack with id 999999"))
    }

    @Test("bad input: one clear line naming the file, exit 1, the store byte-for-byte unchanged")
    func badInputLeavesStoreUnchanged() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let db = folder.appendingPathComponent("p.db").path
        #expect(try Fixtures.profhist(["ingest", set.dumps1[0].path, "--build", "v1", "--binary", set.program1.path, "--db", db]).status == 0)
        // Let the WAL settle into the main file so the bytes compared are stable.
        let queue = try DatabaseQueue(path: db)
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try queue.close()

        let text = try String(contentsOf: set.dumps1[1], encoding: .utf8)
        var lines = text.components(separatedBy: "\n")
        let stackLine = lines.firstIndex { $0.hasPrefix("@ ") }!
        var cases: [(String, String)] = []
        cases.append(("truncated.heap", String(text[..<text.range(of: "MAPPED_LIBRARIES:")!.lowerBound])))
        cases.append(("midline.heap", String(text.prefix(text.count / 3))))
        cases.append(("empty.heap", ""))
        var generator = SplitMix64(seed: 0xC11_5EED)
        let noise = (0..<3000).map { _ in Character(Unicode.Scalar(UInt8.random(in: 32...126, using: &generator))) }
        cases.append(("random.heap", String(noise)))
        lines[stackLine + 1] = "  t*: 12: 4x0 [0: 0]"
        cases.append(("number.heap", lines.joined(separator: "\n")))
        lines[stackLine + 1] = "  t*: 12: 400 [0: 0]"
        lines[stackLine] = "@ 0x55 0xnothex"
        cases.append(("address.heap", lines.joined(separator: "\n")))
        let before = try Self.storeBytes(db)
        for (name, content) in cases {
            let file = folder.appendingPathComponent(name)
            try Data(content.utf8).write(to: file)
            let result = try Fixtures.profhist(["ingest", file.path, "--build", "v2", "--binary", set.program1.path, "--db", db])
            #expect(result.status == 1, "\(name): exit \(result.status)")
            let errorLines = result.stderr.split(separator: "\n").filter { $0.contains("error") }
            #expect(errorLines.count == 1, "\(name): \(result.stderr)")
            #expect(errorLines.first?.contains(file.path) == true, "\(name): \(result.stderr)")
            #expect(try Self.storeBytes(db) == before, "\(name) changed the store")
        }
        let missing = try Fixtures.profhist(["ingest", folder.appendingPathComponent("nope.heap").path, "--build", "v2", "--db", db])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("nope.heap"))
        #expect(try Self.storeBytes(db) == before)
        let unreadable = try Fixtures.profhist(["ingest", set.dumps1[1].path, "--build", "v2", "--binary", "/etc/hostname", "--db", db])
        #expect(unreadable.status == 1)
        #expect(unreadable.stderr.contains("/etc/hostname") && unreadable.stderr.contains("not an ELF"))
        #expect(try Self.storeBytes(db) == before)
        // A bad file among good ones: the good ones land, the exit status says something failed.
        let mixed = try Fixtures.profhist(["ingest", folder.appendingPathComponent("empty.heap").path, set.dumps1[1].path, "--build", "v2", "--db", db])
        #expect(mixed.status == 1)
        #expect(mixed.stderr.contains("stored as snapshot 2"))
    }

    @Test("no store: read commands fail clearly and create nothing; a failed first ingest creates nothing")
    func noStore() throws {
        let folder = try Fixtures.temporaryFolder()
        let db = folder.appendingPathComponent("none.db").path
        let result = try Fixtures.profhist(["snapshots", "--db", db])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no store"))
        let empty = folder.appendingPathComponent("empty.heap")
        try Data().write(to: empty)
        #expect(try Fixtures.profhist(["ingest", empty.path, "--build", "x", "--db", db]).status == 1)
        #expect(!FileManager.default.fileExists(atPath: db))
        let fromEnvironment = try Fixtures.profhist(["builds"], environment: ["PROFHIST_DB": db])
        #expect(fromEnvironment.stderr.contains(db))
    }

    @Test("usage errors exit 64")
    func usage() throws {
        #expect(try Fixtures.profhist(["ingest", "x.heap"]).status == 64)  // --build missing
        #expect(try Fixtures.profhist(["ingest", "x.heap", "--build", "b", "--at", "yesterday"]).status == 64)
        #expect(try Fixtures.profhist(["ingest", "x.heap", "--build", "b", "--label", "novalue"]).status == 64)
        #expect(try Fixtures.profhist(["snapshots", "--format", "xml"]).status == 64)
        #expect(try Fixtures.profhist(["frobnicate"]).status == 64)
    }
}

final class ThreadSafeArray<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ item: T) { lock.lock(); items.append(item); lock.unlock() }
    var values: [T] { lock.lock(); defer { lock.unlock() }; return items }
}
