import Foundation
import GRDB
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// `top` and `diff` on a real history: eight builds of the leaky C program, three runs each, sampled at
/// lg_prof_sample:12 so values carry real sampling noise. legacy_pool leaks in b0-b2 and is fixed in b3;
/// session_registry leaks from b4; big_buffers grows by 1.25 MiB in b6; noisy_buffers keeps a random
/// 200-600 KiB in every run; odd builds move every address.
@Suite("growth ranking on a real history")
struct GrowthRankingTests {
    static let history: Result<LeakyHistory, Error> = Result {
        let builds = (0..<8).map { b -> LeakyHistory.Build in
            var defines: [String] = []
            if b <= 2 { defines.append("LEGACY_POOL") }
            if b >= 4 { defines.append("LEAK_SINCE_BUILD") }
            if b >= 6 { defines.append("BIG_BUFFERS=60") }
            if b % 2 == 1 { defines.append("EXTRA_CODE") }
            return LeakyHistory.Build(name: "b\(b)", defines: defines)
        }
        return try LeakyHistory.make(builds: builds, runs: 3)
    }

    static func rank(_ configure: (inout GrowthOptions) -> Void = { _ in }) throws -> GrowthReport {
        let history = try Self.history.get()
        var options = GrowthOptions()
        options.limit = 0
        configure(&options)
        let ranking = GrowthRanking(filter: SeriesFilter(), options: options)
        return try history.store.queue.read { db in try ranking.run(db) }
    }

    @Test("the leak ranks first, dated at the build that introduced it; the size regression is in the top 4")
    func leakRanksFirst() throws {
        let report = try Self.rank()
        #expect(report.points == (0..<8).map { "b\($0)" })
        #expect(report.replicates == Array(repeating: 3, count: 8))
        let first = try #require(report.rows.first)
        #expect(first.leaf == "session_registry")
        #expect(first.regressedAt == "b4")
        #expect(first.pValue < 0.01)
        #expect(abs(first.change - 2 * 1_048_576) < 0.1 * 2 * 1_048_576, "change \(first.change)")
        let regression = report.rows.prefix(4).first { $0.leaf == "big_buffers" }
        #expect(regression?.regressedAt == "b6", "rows: \(report.rows.map { ($0.leaf, $0.regressedAt ?? "") })")
        // Neither the fixed leak nor the noisy stack is listed as growth.
        #expect(!report.rows.contains { $0.leaf == "legacy_pool" || $0.leaf == "noisy_buffers" })
        #expect(report.rows.allSatisfy { $0.significant && $0.regressedAt != nil })
    }

    @Test("reading the candidates' rows by index seeks gives the report a scan of every row gives")
    func seeksEqualScans() throws {
        let configurations: [(String, (inout GrowthOptions) -> Void)] = [
            ("default", { _ in }), ("--all", { $0.includeAll = true }),
            ("shrink --all", { $0.growing = false; $0.includeAll = true }),
            ("--by snapshot --all", { $0.axis = .snapshot; $0.includeAll = true }),
            ("--all, 3 candidates", { $0.includeAll = true; $0.maximumCandidates = 3 }),
            ("--all --limit 5", { $0.includeAll = true; $0.limit = 5 }),
        ]
        for (name, configure) in configurations {
            let scanned = try Self.rank { configure(&$0); $0.keyedReads = .never }
            let sought = try Self.rank { configure(&$0); $0.keyedReads = .always }
            let automatic = try Self.rank(configure)
            #expect(!scanned.rows.isEmpty, "\(name)")
            for other in [sought, automatic] {
                #expect(other.keysTested == scanned.keysTested, "\(name)")
                #expect(other.rows.map(Self.fingerprint) == scanned.rows.map(Self.fingerprint), "\(name)")
            }
        }
    }

    /// Every number of a row, as bit patterns (NaN-safe, and -0 differs from 0).
    static func fingerprint(_ row: GrowthRow) -> [String] {
        [row.rank, Int(row.key)].map(String.init) + [row.leaf, row.stack, row.regressedAt ?? "-", "\(row.significant)"]
            + ([row.first, row.last, row.slope, row.pValue, row.qValue, row.before, row.after, row.change, row.share] + row.series)
            .map { String($0.bitPattern, radix: 16) }
    }

    @Test("the fixed leak leads --order shrink, dated by its fix")
    func fixedLeak() throws {
        let report = try Self.rank { $0.growing = false }
        let first = try #require(report.rows.first)
        #expect(first.leaf == "legacy_pool")
        #expect(first.regressedAt == "b3")
        #expect(first.change < -1_000_000)
    }

    @Test("a noisy flat stack does not get p < 0.01 (and --all still shows it with its numbers)")
    func noisyStackStaysQuiet() throws {
        let report = try Self.rank { $0.includeAll = true }
        let noisy = try #require(report.rows.first { $0.leaf == "noisy_buffers" })
        #expect(noisy.pValue >= 0.01, "p = \(noisy.pValue)")
        #expect(!noisy.significant)
        #expect(noisy.regressedAt == nil)
        // The runs really differ: this is noise the test has to see through.
        let spread = (noisy.series.max() ?? 0) - (noisy.series.min() ?? 0)
        #expect(spread > 20_000, "series \(noisy.series)")
    }

    @Test("grouping by leaf and function, and a build range")
    func groupingAndRange() throws {
        let byLeaf = try Self.rank { $0.grouping = .leaf }
        #expect(byLeaf.rows.first?.leaf == "session_registry")
        let byFunction = try Self.rank { $0.grouping = .function }
        #expect(byFunction.rows.contains { $0.leaf == "session_registry" })
        // main contains every stack (jeprof's cum): it grew too, from the leak's build on.
        let main = byFunction.rows.first { $0.leaf == "main" }
        #expect(main?.significant == true)
        #expect(main?.regressedAt == "b4", "main: \(String(describing: main))")
        let history = try Self.history.get()
        var filter = SeriesFilter()
        filter.toBuild = "b3"
        let early = try history.store.queue.read { db in try GrowthRanking(filter: filter, options: GrowthOptions()).run(db) }
        #expect(early.points == ["b0", "b1", "b2", "b3"])
        #expect(!early.rows.contains { $0.leaf == "session_registry" })
    }

    @Test("diff between the builds around the leak leads with it, within 2% of jeprof's numbers")
    func diffAgreesWithJeprof() throws {
        let history = try Self.history.get()
        let baseDump = try #require(history.dumps["b3"]?.first)
        let targetDump = try #require(history.dumps["b4"]?.first)
        let base = try #require(history.snapshotIDs[baseDump])
        let target = try #require(history.snapshotIDs[targetDump])
        var diff = HeapDiff(base: .snapshot(base), target: .snapshot(target), filter: SeriesFilter())
        diff.limit = 0
        let result = try history.store.queue.read { db in try diff.run(db) }
        let first = try #require(result.rows.first)
        #expect(first.leaf == "session_registry")
        let jeprofBase = try Jeprof.text(binary: try #require(history.programs["b3"]), dump: baseDump)
        let jeprofTarget = try Jeprof.text(binary: try #require(history.programs["b4"]), dump: targetDump)
        let expected = (jeprofTarget.flat["session_registry"] ?? 0) - (jeprofBase.flat["session_registry"] ?? 0)
        #expect(expected > 0)
        #expect(abs(first.delta - expected) <= 0.02 * expected, "profhist \(first.delta) vs jeprof \(expected)")
        // Whole builds: the mean over three runs each, still led by the leak.
        var builds = HeapDiff(base: .build("b3"), target: .build("b4"), filter: SeriesFilter())
        builds.limit = 3
        let byBuild = try history.store.queue.read { db in try builds.run(db) }
        #expect(byBuild.rows.first?.leaf == "session_registry")
        #expect(byBuild.baseSnapshots == 3 && byBuild.targetSnapshots == 3)
    }

    @Test("--by snapshot: a leak inside one run is dated at the snapshot where it began")
    func soak() throws {
        let folder = try Fixtures.temporaryFolder()
        let program = try Fixtures.buildLeakyC(in: folder)
        // Ten dumps a minute apart; leaky_cache starts leaking 512 KiB per phase at phase 4.
        let dumps = try Fixtures.runLeakyC(program, prefix: folder.appendingPathComponent("soak"), phases: 10, leakKiB: 512, fromPhase: 4, lgSample: 12)
        let store = try Store(path: folder.appendingPathComponent("soak.db").path, create: true)
        let pipeline = IngestPipeline(openStore: { store }, binaries: [try BinaryCandidate(path: program.path)], llvm: LLVMSymbolizer.locate())
        let start = Timestamp.parse("2026-04-01T12:00:00Z")!
        for (i, dump) in dumps.enumerated() {
            _ = try pipeline.ingest(path: dump.path, format: .auto, options: IngestOptions(build: "soak-build", run: "soak", takenAt: start + Int64(i) * 60_000))
        }
        var options = GrowthOptions()
        options.axis = .snapshot
        var filter = SeriesFilter()
        filter.run = "soak"
        let report = try store.queue.read { db in try GrowthRanking(filter: filter, options: options).run(db) }
        #expect(report.points.count == 10)
        let first = try #require(report.rows.first)
        #expect(first.leaf == "leaky_cache")
        #expect(first.regressedAt == Timestamp.rfc3339(milliseconds: start + 4 * 60_000), "regressed at \(first.regressedAt ?? "-")")
    }

    @Test("the CLI: top and diff print the contract's columns")
    func commandLine() throws {
        let history = try Self.history.get()
        let top = try Fixtures.profhist(["top", "--format", "csv", "--db", history.store.path])
        #expect(top.status == 0, "\(top.stderr)")
        let lines = top.stdout.split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        #expect(Array(header.prefix(10)) == ["rank", "stack_id", "leaf", "stack", "first", "last", "delta", "slope", "p_value", "regressed_at"])
        #expect(lines[1].hasPrefix("1,") && lines[1].contains(",session_registry,") && lines[1].contains(",b4,"))
        let table = try Fixtures.profhist(["top", "--db", history.store.path])
        #expect(table.stdout.split(separator: "\n").allSatisfy { $0.count <= 100 }, "\(table.stdout)")
        #expect(table.stdout.contains("session_registry"))
        let diff = try Fixtures.profhist(["diff", "--base", "b3", "--target", "b4", "--format", "csv", "--db", history.store.path])
        #expect(diff.status == 0, "\(diff.stderr)")
        #expect(diff.stdout.hasPrefix("stack_id,leaf,stack,base,target,delta"))
        let unknown = try Fixtures.profhist(["diff", "--base", "nope", "--target", "b4", "--db", history.store.path])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("nope"))
    }
}
