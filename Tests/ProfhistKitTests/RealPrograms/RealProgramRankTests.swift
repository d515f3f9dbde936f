import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Issue 13, points 4, 5 and 8 on real programs nobody on this team wrote: a redis soak's grower is the first
/// row within 6 dumps and is named by a redis function, sqlite's rise and fall is not growth, and CPython's
/// allocator wrappers are looked through.
@Suite("real programs: ranking and allocator wrappers", .serialized)
struct RealProgramRankTests {
    /// Ingests `dumps` in order, a minute apart, as one run of one build.
    static func store(_ dumps: [URL], in folder: URL, run: String) throws -> Store {
        let store = try Store(path: folder.appendingPathComponent("\(run).db").path, create: true)
        let pipeline = IngestPipeline(openStore: { store }, binaries: [], llvm: LLVMSymbolizer.locate())
        let start = Timestamp.parse("2026-04-01T12:00:00Z")!
        for (i, dump) in dumps.enumerated() {
            _ = try pipeline.ingest(
                path: dump.path, format: .auto, options: IngestOptions(build: "b1", run: run, takenAt: start + Int64(i) * 60_000))
        }
        return store
    }

    static func topBySnapshot(_ store: Store, all: Bool = false) throws -> GrowthReport {
        var options = GrowthOptions()
        options.axis = .snapshot
        options.includeAll = all
        options.limit = 0
        return try store.queue.read { db in try GrowthRanking(filter: SeriesFilter(), options: options).run(db) }
    }

    static let redisWrappers = ["zmalloc*", "ztrymalloc*", "zcalloc*", "ztrycalloc*", "zrealloc*", "ztryrealloc*", "zstrdup"]

    @Test(
        "redis soak: the grower is the first row of top --by snapshot within 6 dumps, its leaf a redis function; zmalloc* as wrappers decides that",
        .enabled(if: RealPrograms.enabled(.redisServer, .redisCLI, .redisBenchmark)))
    func redisSoak() throws {
        try RealPrograms.require(.redisServer, .redisCLI, .redisBenchmark)
        let folder = try Fixtures.temporaryFolder("profhist-redis-rank")
        // jemalloc's default sampling (lg_prof_sample:19): each value carries real sampling noise.
        let server = try RedisServer(folder: folder, lgSample: 19)
        let dumps = try server.soak(steps: 5, keysPerStep: 20_000)
        server.stop()
        #expect(dumps.count == 6)
        let store = try Self.store(dumps, in: folder, run: "soak1")
        let report = try Self.topBySnapshot(store)
        let first = try #require(report.rows.first, "nothing listed from 6 dumps")
        #expect(first.significant && first.qValue < 0.05, "p \(first.pValue) q \(first.qValue)")
        #expect((first.series.last ?? 0) > 10 * max(first.series.first ?? 0, 1) || first.change > 5_000_000, "\(first.series)")
        let isWrapper = { (leaf: String) in Self.redisWrappers.contains { AllocatorWrappers.matches(leaf, pattern: $0) } }
        #expect(!isWrapper(first.leaf) && !first.leaf.contains("+0x") && !first.leaf.isEmpty, "leaf \(first.leaf)")
        // Without the wrappers, the same stack's leaf is a zmalloc function; declaring them again (as a user
        // would with 'profhist wrappers add') renames the stored stack's leaf.
        for pattern in Self.redisWrappers {
            let removed = try Fixtures.profhist(["wrappers", "remove", pattern, "--db", store.path])
            #expect(removed.status == 0, "\(removed.stderr)")
        }
        let bare = try Self.topBySnapshot(store).rows.first { $0.key == first.key }
        #expect(bare.map { isWrapper($0.leaf) } == true, "leaf without wrappers: \(bare?.leaf ?? "-")")
        let added = try Fixtures.profhist(["wrappers", "add"] + Self.redisWrappers + ["--db", store.path])
        #expect(added.status == 0, "\(added.stderr)")
        let again = try Self.topBySnapshot(store).rows.first { $0.key == first.key }
        #expect(again?.leaf == first.leaf, "leaf with zmalloc* declared: \(again?.leaf ?? "-")")
        let list = try Fixtures.profhist(["wrappers", "list", "--format", "csv", "--db", store.path])
        #expect(list.stdout.contains("zmalloc*,default,1,"), "\(list.stdout)")
        let missing = try Fixtures.profhist(["wrappers", "remove", "nosuch*", "--db", store.path])
        #expect(missing.status == 1 && missing.stderr.contains("nosuch*"), "\(missing.stderr)")
    }

    @Test(
        "sqlite3: a stack that rises and falls is not growth",
        .enabled(if: RealPrograms.enabled(.sqlite3)))
    func sqliteRiseAndFall() throws {
        try RealPrograms.require(.sqlite3)
        let folder = try Fixtures.temporaryFolder("profhist-sqlite-rank")
        let run = try RealPrograms.sqliteRiseAndFall(in: folder)
        let store = try Self.store(run.dumps, in: folder, run: "sort")
        let all = try Self.topBySnapshot(store, all: true)
        // The stack that rose most and fell back (the sorter's memory).
        let riser = try #require(all.rows.max { a, b in
            ((a.series.max() ?? 0) - (a.series.last ?? 0)) < ((b.series.max() ?? 0) - (b.series.last ?? 0))
        })
        let peak = riser.series.max() ?? 0
        #expect(peak > 4 * (riser.series.last ?? 0) && peak > 1_000_000, "\(riser.leaf): \(riser.series)")
        #expect(!riser.significant, "\(riser.leaf) listed as growth: \(riser.series)")
        for row in all.rows where row.significant {
            #expect(2 * (row.series.last ?? 0) >= (row.series.max() ?? 0), "\(row.leaf) rose and fell: \(row.series)")
        }
    }

    @Test(
        "python3: the leaking stack's leaf is past CPython's allocator wrappers",
        .enabled(if: RealPrograms.enabled(.python3)))
    func pythonWrappers() throws {
        try RealPrograms.require(.python3)
        let folder = try Fixtures.temporaryFolder("profhist-python-rank")
        let script = try RealPrograms.writeLeakingPythonScript(in: folder, keepKiB: 1024, leakSince: 0)
        let run = try RealPrograms.python(script: script, arguments: ["2", "6"], prefix: folder.appendingPathComponent("py"), lgSample: 16)
        let manual = run.dumps.filter { $0.lastPathComponent.contains(".m") }
        #expect(manual.count == 6)
        let store = try Self.store(manual, in: folder, run: "py")
        let first = try #require(try Self.topBySnapshot(store).rows.first)
        let wrappers = try store.queue.read { db in try AllocatorWrappers.active(db) }
        #expect(!wrappers.contains { AllocatorWrappers.matches(first.leaf, pattern: $0) }, "leaf \(first.leaf)")
        #expect(!first.leaf.hasPrefix("PyMem_") && !first.leaf.hasPrefix("PyObject_Malloc"), "leaf \(first.leaf)")
        print("python leaf: \(first.leaf); stack: \(first.stack)")
    }
}
