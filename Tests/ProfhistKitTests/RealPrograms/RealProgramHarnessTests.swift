import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// The real-program harness itself: each program runs under jemalloc profiling, writes the dumps the other
/// real-program tests rely on, does what it was asked (grows, leaks, rises and falls), and is stopped.
@Suite("real programs: the harness", .serialized)
struct RealProgramHarnessTests {
    /// Totals of a dump as jeprof reads it.
    static func jeprofTotal(binary: String, dump: URL) throws -> Double {
        try Jeprof.text(binary: URL(fileURLWithPath: binary), dump: dump).total
    }

    /// Totals as profhist's parser unsamples them (jeprof's numbers; the first and last are checked against jeprof).
    static func totals(_ dumps: [URL]) throws -> [Double] {
        try dumps.map { try JemallocHeapParser().parse(path: $0.path).dump.total.inuseBytes }
    }

    @Test(
        "redis-server soak on a loopback port: 6 dumps through prof.dump, growing by what was SET, then stopped",
        .enabled(if: RealPrograms.enabled(.redisServer, .redisCLI, .redisBenchmark, .jeprof)))
    func redisSoak() throws {
        try RealPrograms.require(.redisServer, .redisCLI, .redisBenchmark, .jeprof)
        let folder = try Fixtures.temporaryFolder("profhist-redis")
        let server = try RedisServer(folder: folder)
        let dumps = try server.soak(steps: 5, keysPerStep: 20_000)
        let keys = Int(try server.cli(["DBSIZE"])) ?? 0
        server.stop()
        #expect(!server.process.isRunning)
        #expect(dumps.count == 6)
        #expect(keys > 90_000, "redis-benchmark stored \(keys) keys")
        let totals = try Self.totals(dumps)
        for index in [0, dumps.count - 1] {
            let jeprof = try Self.jeprofTotal(binary: RealPrograms.Program.redisServer.path, dump: dumps[index])
            #expect(abs(totals[index] - jeprof) <= jeprof * 0.01, "dump \(index): profhist \(totals[index]), jeprof \(jeprof)")
        }
        // 20,000 values of 200 bytes (plus key and dict entry) per step: well over 4 MB per dump.
        #expect(totals.last! - totals.first! > 5 * 4_000_000.0, "jeprof totals \(totals)")
        #expect(zip(totals, totals.dropFirst()).allSatisfy { $0 < $1 }, "jeprof totals \(totals)")
    }

    @Test(
        "python3 under LD_PRELOAD jemalloc writes jemalloc-named manual, interval and final dumps of its own pid",
        .enabled(if: RealPrograms.enabled(.python3, .jeprof)))
    func pythonDumps() throws {
        try RealPrograms.require(.python3, .jeprof)
        let folder = try Fixtures.temporaryFolder("profhist-python")
        let script = try RealPrograms.writeLeakingPythonScript(in: folder)
        let run = try RealPrograms.python(
            script: script, arguments: ["2", "8"], prefix: folder.appendingPathComponent("py"), lgInterval: 21, final: true)
        let names = run.dumps.map(\.lastPathComponent)
        #expect(run.pid > 0)
        #expect(names.allSatisfy { $0.hasPrefix("py.\(run.pid).") }, "\(names)")
        #expect(names.filter { $0.contains(".m") }.count == 8, "\(names)")
        #expect(names.contains { $0.contains(".i") }, "\(names)")
        #expect(names.last?.hasSuffix(".f.heap") == true, "\(names)")
        let manual = run.dumps.filter { $0.lastPathComponent.contains(".m") }
        let first = try Self.jeprofTotal(binary: RealPrograms.Program.python3.path, dump: manual[0])
        let last = try Self.jeprofTotal(binary: RealPrograms.Program.python3.path, dump: manual[7])
        // 7 more steps of 256 KiB kept.
        #expect(last - first > 1_500_000, "jeprof: first \(first), last \(last)")
    }

    @Test(
        "sqlite3 sorting in memory: its dumps rise and fall",
        .enabled(if: RealPrograms.enabled(.sqlite3, .jeprof)))
    func sqliteRiseAndFall() throws {
        try RealPrograms.require(.sqlite3, .jeprof)
        let folder = try Fixtures.temporaryFolder("profhist-sqlite")
        let run = try RealPrograms.sqliteRiseAndFall(in: folder)
        let totals = try Self.totals(run.dumps)
        let peak = totals.max() ?? 0
        #expect(run.dumps.count >= 4, "\(run.dumps.map(\.lastPathComponent))")
        #expect(peak > 4 * (totals.last ?? 0) && peak > 4 * (totals.first ?? 0), "jeprof totals \(totals)")
    }
}
