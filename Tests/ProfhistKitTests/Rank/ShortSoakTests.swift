import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Issue 13, points 4, 5, 9 and 10 on the project's own C program: a short soak at jemalloc's default sampling,
/// what `top` says when a series is too short, table width, and labels and errors that say what they mean.
@Suite("short soaks, rises and falls, and top's output")
struct ShortSoakTests {
    /// A soak of `dumps` dumps of one run of leaky.c at lg_prof_sample:19 (jemalloc's default): leaky_cache keeps
    /// 2 MiB more at every phase from phase 1 on.
    static func soakStore(dumps: Int, name: String) throws -> (store: Store, start: Int64) {
        let folder = try Fixtures.temporaryFolder("profhist-\(name)")
        let program = try Fixtures.buildLeakyC(in: folder)
        let files = try Fixtures.runLeakyC(
            program, prefix: folder.appendingPathComponent(name), phases: dumps, leakKiB: 2048, fromPhase: 1, lgSample: 19)
        let store = try Store(path: folder.appendingPathComponent("\(name).db").path, create: true)
        let pipeline = IngestPipeline(openStore: { store }, binaries: [try BinaryCandidate(path: program.path)], llvm: LLVMSymbolizer.locate())
        let start = Timestamp.parse("2026-04-01T12:00:00Z")!
        for (i, file) in files.enumerated() {
            _ = try pipeline.ingest(
                path: file.path, format: .auto, options: IngestOptions(build: "b1", run: "soak", takenAt: start + Int64(i) * 60_000))
        }
        return (store, start)
    }

    static let six: Result<(store: Store, start: Int64), Error> = Result { try soakStore(dumps: 6, name: "soak6") }

    @Test("a six-dump soak at the default sampling rate lists its grower first, dated at the first rise")
    func sixDumpSoak() throws {
        let (store, start) = try Self.six.get()
        var options = GrowthOptions()
        options.axis = .snapshot
        let report = try store.queue.read { db in try GrowthRanking(filter: SeriesFilter(), options: options).run(db) }
        #expect(report.points.count == 6)
        let first = try #require(report.rows.first, "nothing listed; pointsNeeded \(report.pointsNeeded)")
        #expect(first.leaf == "leaky_cache")
        #expect(first.significant && first.pValue < 0.01 && first.qValue < 0.05, "p \(first.pValue) q \(first.qValue)")
        #expect(first.regressedAt == Timestamp.rfc3339(milliseconds: start + 60_000), "\(first.regressedAt ?? "-")")
        // 5 rises of 2 MiB, about 20 samples at R = 512 KiB (relative error about 1/sqrt(20)).
        #expect(abs(first.delta - 10 * 1_048_576) < 0.5 * 10 * 1_048_576, "delta \(first.delta)")
        #expect(first.change > 2 * 1_048_576, "change \(first.change)")
        // Nothing else grew: the steady stacks of the program stay quiet at this sampling rate.
        #expect(report.rows.count == 1, "\(report.rows.map { ($0.leaf, $0.pValue) })")
    }

    @Test("the q cut-off is an option: --fdr")
    func fdrOption() throws {
        let (store, _) = try Self.six.get()
        let loose = try Fixtures.profhist(["top", "--by", "snapshot", "--format", "csv", "--db", store.path])
        #expect(loose.status == 0, "\(loose.stderr)")
        #expect(loose.stdout.contains(",leaky_cache,"))
        let strict = try Fixtures.profhist(["top", "--by", "snapshot", "--fdr", "1e-300", "--format", "csv", "--db", store.path])
        #expect(strict.status == 0, "\(strict.stderr)")
        #expect(!strict.stdout.contains(",leaky_cache,"))
        let bad = try Fixtures.profhist(["top", "--fdr", "0", "--db", store.path])
        #expect(bad.status == 64)
    }

    @Test("a soak too short for a steady rise says so instead of a bare 'nothing grew'")
    func tooShort() throws {
        let (store, _) = try Self.soakStore(dumps: 3, name: "soak3")
        let top = try Fixtures.profhist(["top", "--by", "snapshot", "--db", store.path])
        #expect(top.status == 0, "\(top.stderr)")
        #expect(!top.stdout.contains("leaky_cache"), "\(top.stdout)")
        #expect(top.stderr.contains("3 points are too few to judge a steady rise: that needs 5"), "\(top.stderr)")
    }

    @Test("a rise that gave back more than half by the last point is not growth")
    func riseAndFallRule() {
        // The sqlite sorter's shape (0 -> 130 MB -> 12 MB): see the real-program test for the real one.
        #expect(!GrowthRanking.keepsRise(series: [0, 130, 128, 12], baseline: 0, growing: true))
        #expect(GrowthRanking.keepsRise(series: [0, 130, 128, 120], baseline: 0, growing: true))
        #expect(!GrowthRanking.keepsRise(series: [100, 10, 95], baseline: 100, growing: false))
    }

    @Test("the steady-rise test needs an ordering beyond chance, and a rise that sampling explains is not significant")
    func steadyRiseBounds() throws {
        #expect(SteadyRise.pointsNeeded(alpha: 0.01) == 5)
        #expect(SteadyRise.pointsNeeded(alpha: 0.05) == 4)
        let r = 524_288.0
        // Rising by a fraction of one sample per step: ordered, but not beyond sampling noise.
        let small = try #require(
            SteadyRise.test(
                means: [10, 10.2, 10.4, 10.6, 10.8, 11].map { $0 * r }, snapshots: Array(repeating: 1, count: 6),
                samplingInterval: r, dispersion: 1, growing: true, alpha: 0.01))
        #expect(small.p > 0.5)
        #expect(SteadyRise.test(
            means: [1, 3, 2, 5, 4, 7].map { $0 * r }, snapshots: Array(repeating: 1, count: 6), samplingInterval: r,
            dispersion: 1, growing: true, alpha: 0.01) == nil)
    }

    @Test("unknown --run or --label is an error naming it and listing what exists; a new store gets no upgrade notice")
    func namesThatMatchNothing() throws {
        let (store, _) = try Self.six.get()
        let run = try Fixtures.profhist(["top", "--by", "snapshot", "--run", "nosuchrun", "--db", store.path])
        #expect(run.status == 1)
        #expect(run.stderr.contains("no run named 'nosuchrun'") && run.stderr.contains("'soak'"), "\(run.stderr)")
        let export = try Fixtures.profhist(["export", "--run", "nosuchrun", "--format", "csv", "--db", store.path])
        #expect(export.status == 1, "\(export.stdout)")
        let label = try Fixtures.profhist(["top", "--label", "test=none", "--db", store.path])
        #expect(label.status == 1)
        #expect(label.stderr.contains("test=none"), "\(label.stderr)")
        let build = try Fixtures.profhist(["top", "--builds", "nosuch..", "--db", store.path])
        #expect(build.status == 1)
        #expect(build.stderr.contains("nosuch"), "\(build.stderr)")
        // A new store is created, not upgraded.
        let folder = try Fixtures.temporaryFolder("profhist-newstore")
        let program = try Fixtures.buildLeakyC(in: folder)
        let dumps = try Fixtures.runLeakyC(program, prefix: folder.appendingPathComponent("n"), phases: 1)
        let db = folder.appendingPathComponent("new.db").path
        let ingest = try Fixtures.profhist(["ingest", dumps[0].path, "--build", "b1", "--binary", program.path, "--db", db])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(!ingest.stderr.contains("upgrading"), "\(ingest.stderr)")
    }

    @Test("top's table fits COLUMNS, names its columns as CSV does, and heads --group function 'function'")
    func tableWidthAndLabels() throws {
        let (store, _) = try Self.six.get()
        for width in [80, 100, 160] {
            let top = try Fixtures.profhist(
                ["top", "--by", "snapshot", "--all", "--db", store.path], environment: ["COLUMNS": String(width)])
            #expect(top.status == 0, "\(top.stderr)")
            let lines = top.stdout.split(separator: "\n")
            #expect(lines.allSatisfy { $0.count <= width }, "COLUMNS=\(width):\n\(top.stdout)")
            let header = lines.first.map { $0.split(separator: " ").map(String.init) } ?? []
            #expect(header.contains("delta") && header.contains("change") && !header.contains("growth"), "\(header)")
        }
        let wide = try Fixtures.profhist(["top", "--by", "snapshot", "--db", store.path], environment: ["COLUMNS": "160"])
        #expect(wide.stdout.contains("leaky_cache"))
        let functions = try Fixtures.profhist(["top", "--by", "snapshot", "--group", "function", "--db", store.path])
        #expect(functions.stdout.split(separator: "\n").first?.contains("function") == true, "\(functions.stdout)")
        let diff = try Fixtures.profhist(["diff", "--base", "snapshot:1", "--target", "snapshot:6", "--db", store.path])
        #expect(diff.status == 0, "\(diff.stderr)")
        #expect(diff.stderr.contains("total delta"), "\(diff.stderr)")
    }

    @Test("names cut to a narrow column stay distinct: five libsqlite3 offsets read differently")
    func middleCut() {
        let names = ["0xa1b2c", "0xa1b3f", "0xa20e4", "0xa2f00", "0xa9d18"].map { "libsqlite3.so.0.8.6+" + $0 }
        let cut = TableLayout.shortenDistinct(names, width: 16)
        #expect(Set(names.compactMap { cut[$0] }).count == 5, "\(cut)")
        #expect(names.allSatisfy { (cut[$0]?.count ?? 99) == 16 && cut[$0]?.contains("…") == true })
    }
}
