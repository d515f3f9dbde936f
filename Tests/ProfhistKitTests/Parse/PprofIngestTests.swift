import Foundation
import GRDB
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// pprof input on real profiles: Go heap and goroutine profiles written by the tests' Go program, with
/// `go tool pprof -raw` as the oracle, and the C fixture's jemalloc dumps converted the way `jemalloc_pprof`
/// converts them, with the dump itself as the oracle.
@Suite("pprof ingest", .enabled(if: GoFixtures.shouldRun, "go not found: install golang-go and golang-github-google-pprof-dev"))
struct PprofIngestTests {
    static func sampleTypeIndex(_ raw: PprofRaw, _ type: String) throws -> Int {
        try #require(raw.sampleTypes.firstIndex { $0.hasPrefix(type + "/") }, "no \(type) in \(raw.sampleTypes)")
    }

    @Test("a Go heap profile: every stack's four sample types equal go tool pprof -raw's, and the totals")
    func goHeapEqualsOracle() throws {
        let history = try SharedGo.history.get()
        let db = try SharedGo.store.get()
        let run = history.runs[4]
        let id = try #require(try SharedGo.snapshotIDs(db: db)[run.heap.lastPathComponent])
        let ours = try SharedGo.exported(db: db, snapshot: id)
        let raw = try PprofRaw.read(run.heap)
        let oracle = raw.byStack()
        for metric in ["inuse_space", "inuse_objects", "alloc_space", "alloc_objects"] {
            let index = try Self.sampleTypeIndex(raw, metric)
            let expected = oracle.filter { $0.value[index] != 0 }.mapValues { $0[index] }
            let stored = (ours[metric] ?? [:]).filter { $0.value != 0 }
            #expect(stored == expected, "\(metric): profhist \(stored.count) stacks, go tool pprof \(expected.count)")
            #expect(raw.total(metric) > 0)
            #expect(stored.values.reduce(0, +) == raw.total(metric))
        }
        // The leak's stack, with Go's names, as go tool pprof shows it.
        #expect(ours["inuse_space"]?.keys.contains { $0.hasSuffix("main.main;main.leakSmall") } == true)
        let snapshots = try Fixtures.profhist(["snapshots", "--format", "jsonl", "--db", db])
        let row = try #require(try SharedGo.jsonLines(snapshots.stdout).first { ($0["id"] as? NSNumber)?.int64Value == id })
        #expect((row["total"] as? NSNumber)?.int64Value == raw.total("inuse_space"))
        #expect(row["format"] as? String == "pprof")
    }

    @Test("a Go goroutine profile is a task snapshot: live_tasks per stack equal go tool pprof -raw's goroutine counts")
    func goroutinesEqualOracle() throws {
        let history = try SharedGo.history.get()
        let db = try SharedGo.store.get()
        let run = history.runs[9]
        let id = try #require(try SharedGo.snapshotIDs(db: db)[run.goroutines.lastPathComponent])
        let ours = try SharedGo.exported(db: db, snapshot: id, kind: "tasks")
        let raw = try PprofRaw.read(run.goroutines)
        #expect(raw.sampleTypes == ["goroutine/count"])
        let expected = raw.byStack().mapValues { $0[0] }
        #expect(ours["live_tasks"] == expected)
        #expect(raw.total("goroutine") == Int64(SharedGo.waiters(build: 4) + 4))
        let waiting = try #require(ours["live_tasks"]?.first { $0.key.hasSuffix("main.waitForWork;runtime.chanrecv1;runtime.chanrecv;runtime.gopark") })
        #expect(waiting.value == Int64(SharedGo.waiters(build: 4)))
    }

    @Test("top ranks the Go heap leak first with regressed_at b3, and top --kind tasks the goroutine leak with b4")
    func goLeaksRankFirst() throws {
        let db = try SharedGo.store.get()
        let heap = try Fixtures.profhist(["top", "--format", "jsonl", "--db", db])
        #expect(heap.status == 0, "\(heap.stderr)")
        let heapTop = try #require(try SharedGo.jsonLines(heap.stdout).first)
        #expect(heapTop["leaf"] as? String == "main.leakSmall")
        #expect(heapTop["regressed_at"] as? String == "b3")
        let tasks = try Fixtures.profhist(["top", "--kind", "tasks", "--format", "jsonl", "--db", db])
        #expect(tasks.status == 0, "\(tasks.stderr)")
        let tasksTop = try #require(try SharedGo.jsonLines(tasks.stdout).first)
        #expect((tasksTop["stack"] as? String)?.contains("main.waitForWork") == true, "\(tasksTop)")
        #expect(tasksTop["regressed_at"] as? String == "b4")
        // The flat 640 KiB of buffers is no regression.
        let flat = try SharedGo.jsonLines(heap.stdout).first { $0["leaf"] as? String == "main.keepBuffers" }
        #expect(flat == nil || (flat?["regressed_at"] as? String ?? "").isEmpty)
    }

    @Test("drop_frames and keep_frames are honoured as go tool pprof honours them (a real Go profile with them set)")
    func dropFrames() throws {
        let history = try SharedGo.history.get()
        let folder = try Fixtures.temporaryFolder()
        // Go writes no drop_frames: set it on a real profile. leakSmall and the chan receive machinery go
        // (with their callees), time.NewTimer is kept.
        let rewritten = folder.appendingPathComponent("dropped.pb.gz")
        try PprofRewrite.rewrite(history.runs[2].heap, to: rewritten) { profile in
            profile.dropFrames = PprofRewrite.intern("main\\.leakSmall|time\\..*|runtime\\.newproc.*", in: &profile)
            profile.keepFrames = PprofRewrite.intern("time\\.NewTimer", in: &profile)
        }
        let db = folder.appendingPathComponent("p.db").path
        let ingest = try Fixtures.profhist(["ingest", rewritten.path, "--build", "x", "--db", db])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let id = try #require(try SharedGo.snapshotIDs(db: db)["dropped.pb.gz"])
        let ours = try SharedGo.exported(db: db, snapshot: id)
        let raw = try PprofRaw.read(rewritten)
        let index = try Self.sampleTypeIndex(raw, "inuse_space")
        let expected = raw.byStack().mapValues { $0[index] }.filter { $0.value != 0 }
        #expect((ours["inuse_space"] ?? [:]).filter { $0.value != 0 } == expected)
        // The leak's bytes now sit on main.main itself; go tool pprof agrees (checked above), and it did change.
        #expect(expected.keys.contains { $0.hasSuffix("main.leakSmall") } == false)
        #expect(expected.keys.contains { $0.hasSuffix("time.NewTimer") })
    }

    @Test("an uncompressed pprof profile is detected by content and gives the same values as the gzipped one")
    func uncompressedProfile() throws {
        let history = try SharedGo.history.get()
        let folder = try Fixtures.temporaryFolder()
        let raw = try Data(contentsOf: history.runs[0].heap)
        let plain = folder.appendingPathComponent("heap.pb")
        guard case .success(let inflated) = Gzip.decompress(raw) else { throw FixtureError.failed("gunzip") }
        try inflated.write(to: plain)
        let db = folder.appendingPathComponent("p.db").path
        let ingest = try Fixtures.profhist(["ingest", plain.path, history.runs[0].heap.path, "--build", "x", "--db", db])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let ids = try SharedGo.snapshotIDs(db: db)
        let a = try SharedGo.exported(db: db, snapshot: try #require(ids["heap.pb"]))
        let b = try SharedGo.exported(db: db, snapshot: try #require(ids[history.runs[0].heap.lastPathComponent]))
        #expect(!a.isEmpty && a == b)
    }

    @Test("bad pprof input: truncated gzip and gzipped non-protobuf bytes exit 1 naming the file and the cause; the store is unchanged")
    func badProfiles() throws {
        let history = try SharedGo.history.get()
        let folder = try Fixtures.temporaryFolder()
        let db = folder.appendingPathComponent("p.db").path
        let good = try Fixtures.profhist(["ingest", history.runs[0].heap.path, "--build", "x", "--db", db])
        #expect(good.status == 0)
        let raw = try Data(contentsOf: history.runs[1].heap)
        let truncated = folder.appendingPathComponent("truncated.pb.gz")
        try raw.prefix(raw.count / 2).write(to: truncated)
        // Hand-written malformed input: gzip of bytes that are no protobuf message (a real profile cannot be).
        let garbage = folder.appendingPathComponent("malformed-not-protobuf.pb.gz")
        try #require(Gzip.compress(Data([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01])))
            .write(to: garbage)
        // gzip is inflated for every format before detection (InputSource), so a damaged stream is named as such;
        // inflated bytes that are no known format are an unknown format, and no pprof profile when --format says so.
        let cases: [(file: URL, format: [String], cause: String)] = [
            (truncated, [], "gzip data ends early"),
            (garbage, [], "unknown format"),
            (garbage, ["--format", "pprof"], "bad pprof profile"),
        ]
        for (file, format, cause) in cases {
            let result = try Fixtures.profhist(["ingest", file.path, "--build", "y", "--db", db] + format)
            #expect(result.status == 1)
            #expect(result.stderr.contains(file.path) && result.stderr.contains(cause), "\(result.stderr)")
        }
        let snapshots = try Fixtures.profhist(["snapshots", "--format", "jsonl", "--db", db])
        #expect(try SharedGo.jsonLines(snapshots.stdout).count == 1)
    }
}

/// The C fixture's jemalloc dumps against the same dumps converted to pprof as `jemalloc_pprof` does: same
/// stacks, same stack ids, same in-use bytes.
@Suite("jemalloc_pprof profiles")
struct JemallocPprofTests {
    static func values(_ store: Store, snapshot: Int64) throws -> [Int64: Int64] {
        try store.queue.read { db in
            let reader = try SnapshotValueReader(db, metric: .inuseSpace)
            var values: [Int64: Int64] = [:]
            try reader.forEach(snapshot: snapshot) { values[$0] = $1 }
            return values
        }
    }

    static func lineCount(_ dump: URL) throws -> Int {
        try String(contentsOf: dump, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("@ ") }.count
    }

    @Test("a converted dump gives the dump's stacks, stack ids and in-use bytes", arguments: [0, 1])
    func sameStacksAndValues(which: Int) throws {
        let set = try SharedDumps.c.get()
        let dump = which == 0 ? set.exact1[0] : set.dumps1[1]
        let folder = try Fixtures.temporaryFolder()
        let converted = folder.appendingPathComponent("converted.pb.gz")
        try JemallocPprof.convert(dump: dump, to: converted, timeNanos: 1_700_000_000_000_000_000)
        let (store, textID) = try JeprofAgreementTests.ingest(dump, binary: set.program1, build: "text")
        let (_, pprofID) = try JeprofAgreementTests.ingest(converted, binary: set.program1, build: "pprof", store: store)
        let text = try Self.values(store, snapshot: textID)
        let pprof = try Self.values(store, snapshot: pprofID)
        #expect(text.count > 5)
        #expect(Set(text.keys) == Set(pprof.keys))
        // Each dump line's value is truncated in the profile and rounded in the store: at most 1 byte apart per line.
        let slack = Int64(try Self.lineCount(dump))
        for (stack, value) in text { #expect(abs((pprof[stack] ?? -1) - value) <= slack, "stack \(stack)") }
        let leaves = try JeprofAgreementTests.flatByLeaf(store, snapshot: pprofID)
        for function in JeprofAgreementTests.programFunctions { #expect((leaves[function] ?? 0) > 0, "\(function)") }
    }

    @Test("a --binary whose file name differs is matched to the profile's mapping by build-id")
    func matchedByBuildID() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let converted = folder.appendingPathComponent("converted.pb.gz")
        try JemallocPprof.convert(dump: set.exact1[0], to: converted, timeNanos: 1_700_000_000_000_000_000)
        let renamed = folder.appendingPathComponent("server-copy")
        try FileManager.default.copyItem(at: set.program1, to: renamed)
        let (store, textID) = try JeprofAgreementTests.ingest(set.exact1[0], binary: set.program1, build: "text")
        let (_, pprofID) = try JeprofAgreementTests.ingest(converted, binary: renamed, build: "pprof", store: store)
        #expect(Set(try Self.values(store, snapshot: textID).keys) == Set(try Self.values(store, snapshot: pprofID).keys))
    }

    @Test("the converted profile is what go tool pprof reads: one inuse_space sample per dump stack, same total",
          .enabled(if: GoFixtures.shouldRun, "go not found: install golang-go and golang-github-google-pprof-dev"))
    func goToolReadsConverted() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let converted = folder.appendingPathComponent("converted.pb.gz")
        try JemallocPprof.convert(dump: set.dumps1[0], to: converted, timeNanos: 1_700_000_000_000_000_000)
        let raw = try PprofRaw.parse(try GoFixtures.pprof(["-raw", "-symbolize=none"], file: converted))
        #expect(raw.sampleTypes == ["inuse_space/bytes"])
        #expect(raw.samples.count == (try JemallocPprofTests.lineCount(set.dumps1[0])))
        let (store, id) = try JeprofAgreementTests.ingest(set.dumps1[0], binary: set.program1)
        let total = try JeprofAgreementTests.total(store, snapshot: id)
        #expect(abs(Double(raw.total("inuse_space")) - total) <= Double(raw.samples.count))
    }
}
