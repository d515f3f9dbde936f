import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Input from pipes, gzip, endless lines and wrong clocks (issue 21, points 2, 4 and 5): a pipe is read once and
/// stored whole, memory stays bounded on a line with no end, and a time that cannot be right is refused.
@Suite("input safety", .serialized)
struct InputSafetyTests {
    /// The `snapshots --format csv` row of a store's only snapshot, without id, run, time and source (which
    /// legitimately differ between a file and a pipe).
    static func summary(_ db: String) throws -> String {
        let result = try Fixtures.profhist(["snapshots", "--format", "csv", "--db", db])
        let lines = result.stdout.split(separator: "\n").map(String.init)
        guard lines.count == 2 else { return "\(lines.count - 1) snapshots: \(result.stderr)" }
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let row = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return zip(header, row).filter { ["kind", "build", "total", "total_objects", "stacks", "format"].contains($0.0) }
            .map { "\($0.0)=\($0.1)" }.joined(separator: " ")
    }

    @Test("stdin as - and /dev/stdin, a FIFO, process substitution and gzip: stored whole, as from the file")
    func pipesAreReadOnce() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        // Larger than the 4 KiB format detection reads, so a second open of a pipe would miss data.
        let dump = set.dumps1[0].path
        let size = try FileManager.default.attributesOfItem(atPath: dump)[.size] as? Int ?? 0
        try #require(size > 4096, "the dump is \(size) bytes")
        let binary = set.program1.path
        let reference = folder.appendingPathComponent("file.db").path
        let direct = try Fixtures.profhist(["ingest", dump, "--build", "v1", "--binary", binary, "--db", reference])
        try #require(direct.status == 0, "\(direct.stderr)")
        let expected = try Self.summary(reference)
        let gzipped = folder.appendingPathComponent("dump.heap.gz").path
        try Shell.run(#"gzip -c "\#(dump)" > "\#(gzipped)""#, in: folder)
        let ways: [(String, String)] = [
            ("dash", #"cat "\#(dump)" | "$P" ingest - "#),
            ("dev-stdin", #"cat "\#(dump)" | "$P" ingest /dev/stdin "#),
            ("redirect", #""$P" ingest - < "\#(dump)" "#),
            ("substitution", #""$P" ingest <(cat "\#(dump)") "#),
            ("gzip-substitution", #""$P" ingest <(zcat "\#(gzipped)") "#),
            ("gzip-file", #""$P" ingest "\#(gzipped)" "#),
            ("gzip-stdin", #"cat "\#(gzipped)" | "$P" ingest - "#),
            ("fifo", #"mkfifo "$D/f.heap"; (cat "\#(dump)" > "$D/f.heap" &); "$P" ingest "$D/f.heap" "#),
        ]
        for (name, command) in ways {
            let db = folder.appendingPathComponent("\(name).db").path
            let result = try Shell.run(
                "timeout 60 " + "bash -c '\(command.replacingOccurrences(of: "'", with: "'\\''"))--build v1 --binary \"\(binary)\" --db \"\(db)\"'",
                in: folder)
            #expect(result.status == 0, "\(name): exit \(result.status) \(result.stderr)")
            #expect(try Self.summary(db) == expected, "\(name)")
        }
    }

    @Test("a heap dump cut off by a gzip error is refused whole, naming the file")
    func truncatedGzip() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let gz = folder.appendingPathComponent("cut.heap.gz")
        // Cut in the middle of the data, and (second case) just before the last bytes of the trailer.
        try Shell.run(#"gzip -c "\#(set.dumps1[0].path)" > "$D/full.gz"; head -c $(( $(stat -c %s "$D/full.gz") / 2 )) "$D/full.gz" > "\#(gz.path)""#, in: folder)
        let db = folder.appendingPathComponent("p.db").path
        let result = try Fixtures.profhist(["ingest", gz.path, "--build", "v1", "--db", db])
        #expect(result.status == 1 && result.stderr.contains(gz.path) && result.stderr.contains("gzip"), "\(result.stderr)")
        try Shell.run(#"head -c $(( $(stat -c %s "$D/full.gz") - 6 )) "$D/full.gz" > "\#(gz.path)""#, in: folder)
        let trailer = try Fixtures.profhist(["ingest", gz.path, "--build", "v1", "--db", db])
        #expect(trailer.status == 1 && trailer.stderr.contains("gzip data ends early"), "\(trailer.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    /// Peak resident memory (KiB) of a command, from wait4's rusage (through Python's resource module).
    static func peakKiB(_ arguments: [String], in folder: URL) throws -> (status: Int32, kib: Int, stderr: String) {
        let script = """
            import resource, subprocess, sys
            p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            sys.stderr.write(p.stderr.decode(errors="replace"))
            print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
            """
        let result = try Fixtures.run("python3", ["-c", script, Fixtures.profhistExecutable.path] + arguments)
        let parts = result.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return (Int32(parts.first ?? -1), parts.count > 1 ? parts[1] : Int.max, result.stderr)
    }

    @Test("a 512 MiB line with no newline and /dev/zero are refused under 100 MB, naming file, line and limit")
    func endlessLines() throws {
        let folder = try Fixtures.temporaryFolder()
        let file = folder.appendingPathComponent("damaged.heap")
        // A dump header, then 512 MiB of zero bytes (sparse: no disk used), as a crash-damaged file looks.
        try Data("heap_v2/524288\n  t*: 1: 64 [0: 0]\n".utf8).write(to: file)
        try Shell.run(#"truncate -s 512M "\#(file.path)""#, in: folder)
        let db = folder.appendingPathComponent("p.db").path
        let cases: [([String], String)] = [
            (["ingest", file.path, "--build", "v1", "--db", db], file.path + ":3:"),
            (["ingest", "/dev/zero", "--format", "jemalloc", "--build", "v1", "--db", db], "/dev/zero:1:"),
            (["ingest", "/dev/zero", "--format", "taskdump", "--build", "v1", "--db", db], "/dev/zero:1:"),
        ]
        for (arguments, location) in cases {
            let result = try Self.peakKiB(arguments, in: folder)
            #expect(result.status == 1, "\(arguments): \(result.stderr)")
            #expect(result.kib < 100 * 1024, "\(arguments): peak \(result.kib) KiB")
            #expect(result.stderr.contains(location) && result.stderr.contains("16.0 MiB (the limit)"), "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test("impossible --at times are usage errors: February 30, offset +99:99, a year past 9999")
    func impossibleTimes() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let db = folder.appendingPathComponent("p.db").path
        for time in ["2026-02-30T00:00:00Z", "2025-02-29", "2026-01-01T00:00:00+99:99", "9999-12-31T23:30:00-01:00", "2026-01-01T24:00:00Z", "2026-04-31"] {
            let result = try Fixtures.profhist(["ingest", set.dumps1[0].path, "--build", "v1", "--at", time, "--db", db])
            #expect(result.status == 64, "\(time): exit \(result.status)")
            #expect(result.stderr.contains(time), "\(time): \(result.stderr)")
        }
        #expect(Timestamp.parse("2024-02-29T12:00:00+05:30") != nil)
        #expect(Timestamp.parse("9999-12-31T23:59:59Z") != nil)
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test("a dump dated more than a day ahead is refused unless --at says so; check judges the build ingested last")
    func futureTimesCannotCaptureCheck() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let db = folder.appendingPathComponent("p.db").path
        let future = folder.appendingPathComponent("future.heap")
        try FileManager.default.copyItem(at: set.dumps1[0], to: future)
        try Shell.run(#"touch -d '2036-01-01 00:00:00 UTC' "\#(future.path)""#, in: folder)
        let refused = try Fixtures.profhist(["ingest", future.path, "--build", "v0", "--binary", set.program1.path, "--db", db])
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains(future.path) && refused.stderr.contains("2036-01-01T00:00:00Z"), "\(refused.stderr)")
        // Given explicitly, a time is the user's: stored. A later ingest of another build is then the one check judges.
        let explicit = try Fixtures.profhist(
            ["ingest", future.path, "--build", "v-future", "--at", "2036-01-01T00:00:00Z", "--binary", set.program1.path, "--db", db])
        #expect(explicit.status == 0, "\(explicit.stderr)")
        for (index, dump) in set.dumps1.enumerated() {
            let result = try Fixtures.profhist(["ingest", dump.path, "--build", "v\(index + 1)", "--run", "r\(index)", "--binary", set.program1.path, "--db", db])
            #expect(result.status == 0, "\(result.stderr)")
        }
        let check = try Fixtures.profhist(["check", "--format", "json", "--db", db])
        let last = "v\(set.dumps1.count)"
        #expect(check.stdout.contains("\"build\":\"\(last)\""), "\(check.stdout) \(check.stderr)")
    }
}
