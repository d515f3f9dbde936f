import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Real programs through `profhist ingest` as a user runs it: nothing dropped, runs kept apart without `--run`,
/// a soak's order kept after a copy.
@Suite("real programs: ingest", .serialized)
struct RealProgramIngestTests {
    /// Runs profhist and decodes its `--format json` output.
    static func json(_ arguments: [String], db: String) throws -> [[String: Any]] {
        let result = try Fixtures.profhist(arguments + ["--format", "json", "--db", db])
        guard result.status == 0 else { throw FixtureError.failed("profhist \(arguments.joined(separator: " ")): \(result.stderr)") }
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
    }

    static func ingest(_ files: [URL], build: String, db: String, extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        try Fixtures.profhist(["ingest"] + files.map(\.path) + ["--build", build, "--db", db] + extra)
    }

    /// Sets each file's modification time, `seconds[i]` after a fixed start.
    static func setTimes(_ files: [URL], seconds: [Int]) throws {
        for (file, second) in zip(files, seconds) {
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 1_780_000_000 + Double(second))], ofItemAtPath: file.path)
        }
    }

    // MARK: - Points 1 and 2: nothing dropped, runs apart

    @Test(
        "python3, 3 builds x 3 runs, no --run: every dump stored, each process its own run (pid-PID), the leak is top's biggest grower and check fails its build",
        .enabled(if: RealPrograms.enabled(.python3)))
    func pythonRunsStayApart() throws {
        try RealPrograms.require(.python3)
        let folder = try Fixtures.temporaryFolder("profhist-python-runs")
        let db = folder.appendingPathComponent("p.db").path
        let script = try RealPrograms.writeLeakingPythonScript(in: folder, keepKiB: 512, leakSince: 3)
        var pids: [String: [Int]] = [:]
        var dumpCount = 0
        for build in 1...3 {
            for run in 0..<3 {
                let result = try RealPrograms.python(
                    script: script, arguments: [String(build), "6"], prefix: folder.appendingPathComponent("b\(build)r\(run)"))
                #expect(result.dumps.count == 6)
                pids["b\(build)", default: []].append(result.pid)
                dumpCount += result.dumps.count
                // Builds in order of time, as a CI history is.
                try Self.setTimes(result.dumps, seconds: result.dumps.indices.map { build * 3600 + run * 600 + $0 * 10 })
                let ingested = try Self.ingest(result.dumps, build: "b\(build)", db: db, extra: ["-q"])
                #expect(ingested.status == 0, "\(ingested.stderr)")
                #expect(!ingested.stderr.contains("no --run"), "a pid was in every name: \(ingested.stderr)")
            }
        }
        let snapshots = try Self.json(["snapshots"], db: db)
        #expect(snapshots.count == dumpCount, "every dump is a snapshot")
        for (build, buildPIDs) in pids {
            let runs = Set(snapshots.filter { $0["build"] as? String == build }.compactMap { $0["run"] as? String })
            #expect(runs == Set(buildPIDs.map { "pid-\($0)" }), "\(build): runs \(runs.sorted())")
        }
        // The leak (512 KiB a step, 6 steps: a mean of 1.75 MiB over b3's dumps): the stack that grew most, dated b3.
        let top = try Self.json(["top", "--all", "--limit", "0"], db: db)
        let leak = top.max { ($0["delta"] as? Double ?? 0) < ($1["delta"] as? Double ?? 0) }
        #expect((leak?["delta"] as? Double ?? 0) > 1_200_000, "\(top.prefix(3))")
        // Dated b3 when the change-point test finds it significant (with 3 builds of 3 runs it does not always:
        // p near 0.08 at times; the statistics of short histories are issue 13's point 4); never another build.
        let dated = leak?["regressed_at"] as? String ?? ""
        #expect(dated == "b3" || dated.isEmpty, "\(top.prefix(3))")
        let failing = try Fixtures.profhist(["check", "--build", "b3", "--db", db])
        #expect(failing.status == 1, "\(failing.stdout)\(failing.stderr)")
        let passing = try Fixtures.profhist(["check", "--build", "b2", "--db", db])
        #expect(passing.status == 0, "\(passing.stdout)\(passing.stderr)")
    }

    @Test(
        "identical dump bytes at another time or of another build are new snapshots; the same file, build, run and time again is a no-op said even under -q",
        .enabled(if: RealPrograms.enabled(.python3)))
    func identicalBytesAreObservations() throws {
        try RealPrograms.require(.python3)
        let folder = try Fixtures.temporaryFolder("profhist-identical")
        let db = folder.appendingPathComponent("p.db").path
        let script = try RealPrograms.writeLeakingPythonScript(in: folder)
        let run = try RealPrograms.python(script: script, arguments: ["1", "1"], prefix: folder.appendingPathComponent("py"))
        let original = run.dumps[0]
        // A process in steady state writes byte-identical dumps: two later "dumps" with the same bytes.
        let later = folder.appendingPathComponent("later")
        try FileManager.default.createDirectory(at: later, withIntermediateDirectories: true)
        let copy = later.appendingPathComponent(original.lastPathComponent)
        try FileManager.default.copyItem(at: original, to: copy)
        try Self.setTimes([original, copy], seconds: [0, 60])

        #expect(try Self.ingest([original], build: "b1", db: db).status == 0)
        let retry = try Self.ingest([original], build: "b1", db: db, extra: ["-q"])
        #expect(retry.status == 0)
        #expect(retry.stderr.contains("already stored as snapshot 1"), "\(retry.stderr)")
        #expect(retry.stderr.contains("not stored again"), "\(retry.stderr)")
        let atAnotherTime = try Self.ingest([copy], build: "b1", db: db)
        #expect(atAnotherTime.stderr.contains("stored as snapshot 2"), "\(atAnotherTime.stderr)")
        let otherBuild = try Self.ingest([original], build: "b2", db: db)
        #expect(otherBuild.stderr.contains("stored as snapshot 3"), "\(otherBuild.stderr)")
        let otherRun = try Self.ingest([original], build: "b1", db: db, extra: ["--run", "again"])
        #expect(otherRun.stderr.contains("stored as snapshot 4"), "\(otherRun.stderr)")
        #expect(try Self.json(["snapshots"], db: db).count == 4)
        let check = try Fixtures.profhist(["check", "--build", "b2", "--db", db])
        #expect(!check.stderr.contains("no build named"), "\(check.stderr)")
        #expect(check.status == 0 || check.status == 2, "\(check.stdout)\(check.stderr)")
    }

    @Test(
        "dumps without a process id in the name and no --run: each file its own run, said once with the flag to use",
        .enabled(if: RealPrograms.enabled(.python3)))
    func noPIDNoMerge() throws {
        try RealPrograms.require(.python3)
        let folder = try Fixtures.temporaryFolder("profhist-nopid")
        let db = folder.appendingPathComponent("p.db").path
        let script = try RealPrograms.writeLeakingPythonScript(in: folder)
        var renamed: [URL] = []
        // Two processes of a non-PIE python3 (same load address 0x400000), dumps renamed without the pid.
        for process in 0..<2 {
            let run = try RealPrograms.python(script: script, arguments: ["1", "2"], prefix: folder.appendingPathComponent("p\(process)"))
            for (k, dump) in run.dumps.enumerated() {
                let name = folder.appendingPathComponent("dump-\(process)-\(k).heap")
                try FileManager.default.moveItem(at: dump, to: name)
                renamed.append(name)
            }
        }
        let result = try Self.ingest(renamed, build: "b1", db: db)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.components(separatedBy: "pass --run NAME").count == 2, "said once: \(result.stderr)")
        #expect(result.stderr.contains("4 heap dumps had no process id"), "\(result.stderr)")
        let runs = Set(try Self.json(["snapshots"], db: db).compactMap { $0["run"] as? String })
        #expect(runs == Set(renamed.map { "file-" + $0.deletingPathExtension().lastPathComponent }), "\(runs)")
    }

    // MARK: - Point 3: order from the file names

    @Test(
        "a python3 soak copied with reversed modification times keeps its order: top --by snapshot sees the leak grow",
        .enabled(if: RealPrograms.enabled(.python3)))
    func copiedSoakKeepsOrder() throws {
        try RealPrograms.require(.python3)
        let folder = try Fixtures.temporaryFolder("profhist-order")
        let db = folder.appendingPathComponent("p.db").path
        let script = try RealPrograms.writeLeakingPythonScript(in: folder, keepKiB: 1024, leakSince: 1)
        let run = try RealPrograms.python(script: script, arguments: ["1", "12"], prefix: folder.appendingPathComponent("py"))
        #expect(run.dumps.count == 12)
        // cp in a glob's order (py.PID.10... sorts before py.PID.2...), each copy newer than the last: mtimes say
        // nothing true about the order; here they say the opposite.
        let copies = folder.appendingPathComponent("copied")
        try FileManager.default.createDirectory(at: copies, withIntermediateDirectories: true)
        let copied = run.dumps.map { copies.appendingPathComponent($0.lastPathComponent) }
        for (from, to) in zip(run.dumps, copied) { try FileManager.default.copyItem(at: from, to: to) }
        try Self.setTimes(copied, seconds: copied.indices.map { -$0 * 60 })
        let ingested = try Self.ingest(copied.sorted { $0.lastPathComponent < $1.lastPathComponent }, build: "b1", db: db)
        #expect(ingested.status == 0, "\(ingested.stderr)")

        let listed = try Self.json(["snapshots"], db: db).compactMap { $0["source"] as? String }
        #expect(listed == copied.map(\.path), "snapshots in jemalloc's sequence order")
        // The bytearray buffers' stack (12 MiB kept) is the biggest at the end, and its series grows: in reversed
        // order it would fall. (Which row ranks first is the ranking's business, not the order's.)
        let top = try Self.json(["top", "--by", "snapshot", "--run", "pid-\(run.pid)", "--all", "--limit", "0"], db: db)
        let grower = top.max { ($0["last"] as? Double ?? 0) < ($1["last"] as? Double ?? 0) }
        let first = grower?["first"] as? Double ?? 0
        let last = grower?["last"] as? Double ?? 0
        #expect(last - first > 8_000_000, "the 12 MiB grower grows: \(grower ?? [:])")
    }

    @Test(
        "a redis-server soak named soak.K.heap, copied with reversed times: ordered by the counter, its grower is the first row",
        .enabled(if: RealPrograms.enabled(.redisServer, .redisCLI, .redisBenchmark)))
    func redisSoakKeepsOrder() throws {
        try RealPrograms.require(.redisServer, .redisCLI, .redisBenchmark)
        let folder = try Fixtures.temporaryFolder("profhist-redis-order")
        let db = folder.appendingPathComponent("p.db").path
        let server = try RedisServer(folder: folder)
        let dumps = try server.soak(steps: 5, keysPerStep: 20_000)
        server.stop()
        #expect(!server.process.isRunning)
        try Self.setTimes(dumps, seconds: dumps.indices.map { -$0 * 60 })
        let ingested = try Self.ingest(dumps, build: "b1", db: db, extra: ["--run", "soak1"])
        #expect(ingested.status == 0, "\(ingested.stderr)")
        #expect(try Self.json(["snapshots"], db: db).compactMap { $0["source"] as? String } == dumps.map(\.path))
        let top = try Self.json(["top", "--by", "snapshot", "--run", "soak1", "--all", "--limit", "1"], db: db)
        let first = top.first?["first"] as? Double ?? 0
        let last = top.first?["last"] as? Double ?? 0
        #expect(last > 10 * max(first, 1) && last > 4_000_000, "\(top.prefix(1))")
    }
}
