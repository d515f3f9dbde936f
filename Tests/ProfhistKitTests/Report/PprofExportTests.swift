import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// `export --format pprof` and `diff --format pprof` read back by `go tool pprof`: the round trip of real Go
/// profiles, and the difference of two builds.
@Suite("pprof export", .enabled(if: GoFixtures.shouldRun, "go not found: install golang-go and golang-github-google-pprof-dev"))
struct PprofExportTests {
    /// Per stack, the values of the named sample types (in that order), zero rows left out.
    static func byStack(_ raw: PprofRaw, types: [String]) throws -> [String: [Int64]] {
        let indices = try types.map { type in
            try #require(raw.sampleTypes.firstIndex { $0.hasPrefix(type + "/") }, "no \(type) in \(raw.sampleTypes)")
        }
        return raw.byStack().mapValues { row in indices.map { row[$0] } }.filter { $0.value.contains { $0 != 0 } }
    }

    @Test("round trip: a Go heap profile ingested and exported as pprof reads back in go tool pprof as the input")
    func heapRoundTrip() throws {
        let history = try SharedGo.history.get()
        let db = try SharedGo.store.get()
        let run = history.runs[6]
        let id = try #require(try SharedGo.snapshotIDs(db: db)[run.heap.lastPathComponent])
        let output = try Fixtures.temporaryFolder().appendingPathComponent("snapshot.pb.gz")
        let export = try Fixtures.profhist(["export", "--snapshot", String(id), "--format", "pprof", "--output", output.path, "--db", db])
        #expect(export.status == 0, "\(export.stderr)")
        let types = ["inuse_space", "inuse_objects", "alloc_space", "alloc_objects"]
        let exported = try PprofRaw.read(output)
        // go tool pprof marks the default sample type [dflt]: inuse_space, as for Go's own heap profiles.
        #expect(exported.sampleTypes == ["inuse_space/bytes[dflt]", "inuse_objects/count", "alloc_space/bytes", "alloc_objects/count"])
        let input = try PprofRaw.read(run.heap)
        #expect(try Self.byStack(exported, types: types) == (try Self.byStack(input, types: types)))
        // go tool pprof -top shows profhist's numbers: the default sample type is inuse_space.
        let top = try GoFixtures.pprof(["-top", "-unit=byte"], file: output)
        #expect(top.contains("Type: inuse_space"))
        #expect(top.contains("of \(input.total("inuse_space"))B total"), "\(top)")
        // File and line survive the trip.
        let traces = try GoFixtures.pprof(["-traces"], file: output)
        #expect(traces.contains("main.leakSmall"))
        let lines = try GoFixtures.pprof(["-top", "-lines"], file: output)
        #expect(lines.contains("main.go:"), "\(lines)")
    }

    @Test("round trip: a goroutine profile exported from the task snapshot gives go tool pprof the same counts")
    func goroutineRoundTrip() throws {
        let history = try SharedGo.history.get()
        let db = try SharedGo.store.get()
        let run = history.runs[8]
        let id = try #require(try SharedGo.snapshotIDs(db: db)[run.goroutines.lastPathComponent])
        let output = try Fixtures.temporaryFolder().appendingPathComponent("tasks.pb.gz")
        let export = try Fixtures.profhist(
            ["export", "--snapshot", String(id), "--kind", "tasks", "--format", "pprof", "--output", output.path, "--db", db])
        #expect(export.status == 0, "\(export.stderr)")
        let exported = try Self.byStack(try PprofRaw.read(output), types: ["live_tasks"])
        let input = try Self.byStack(try PprofRaw.read(run.goroutines), types: ["goroutine"])
        #expect(!input.isEmpty && exported == input)
    }

    @Test("a build's mean: export --build writes the mean of its runs, as diff and top count a build")
    func buildMean() throws {
        let history = try SharedGo.history.get()
        let db = try SharedGo.store.get()
        let output = try Fixtures.temporaryFolder().appendingPathComponent("b5.pb.gz")
        let export = try Fixtures.profhist(["export", "--build", "b5", "--format", "pprof", "--output", output.path, "--db", db])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stderr.contains("mean over 2 snapshots"))
        let runs = history.runs.filter { $0.build == "b5" }
        let inputs = try runs.map { try Self.byStack(try PprofRaw.read($0.heap), types: ["inuse_space"]) }
        var expected: [String: [Int64]] = [:]
        for key in Set(inputs.flatMap(\.keys)) {
            let sum = inputs.reduce(0.0) { $0 + Double($1[key]?[0] ?? 0) }
            let mean = Int64((sum / Double(inputs.count)).rounded())
            if mean != 0 { expected[key] = [mean] }
        }
        #expect(try Self.byStack(try PprofRaw.read(output), types: ["inuse_space"]) == expected)
    }

    @Test("diff --format pprof: target minus base, go tool pprof -top lists the leak first with profhist's delta")
    func diffProfile() throws {
        let db = try SharedGo.store.get()
        let folder = try Fixtures.temporaryFolder()
        let output = folder.appendingPathComponent("diff.pb.gz")
        let diff = try Fixtures.profhist(["diff", "--base", "b1", "--target", "b5", "--format", "pprof", "--output", output.path, "--db", db])
        #expect(diff.status == 0, "\(diff.stderr)")
        let rows = try Fixtures.profhist(["diff", "--base", "b1", "--target", "b5", "--limit", "0", "--format", "jsonl", "--db", db])
        var deltas: [String: Int64] = [:]
        for row in try SharedGo.jsonLines(rows.stdout) {
            let delta = Int64(((row["delta"] as? NSNumber)?.doubleValue ?? 0).rounded())
            if delta != 0, let stack = row["stack"] as? String { deltas[stack] = delta }
        }
        let raw = try PprofRaw.read(output)
        let exported = try Self.byStack(raw, types: ["inuse_space"]).mapValues { $0[0] }
        // Means are rounded per side before subtracting in the profile: a byte apart at most.
        #expect(Set(exported.keys) == Set(deltas.keys))
        for (stack, delta) in deltas { #expect(abs((exported[stack] ?? 0) - delta) <= 1, "\(stack)") }
        let top = try GoFixtures.pprof(["-top", "-unit=byte", "-nodecount=3"], file: output)
        let first = try #require(top.split(separator: "\n").first { $0.contains("%") && !$0.contains("total") && !$0.contains("flat%") })
        #expect(first.contains("main.leakSmall"), "\(top)")
        // -diff_base on the two exported builds agrees with the diff profile.
        let base = folder.appendingPathComponent("b1.pb.gz")
        let target = folder.appendingPathComponent("b5.pb.gz")
        for (build, file) in [("b1", base), ("b5", target)] {
            let export = try Fixtures.profhist(["export", "--build", build, "--format", "pprof", "--output", file.path, "--db", db])
            #expect(export.status == 0, "\(export.stderr)")
        }
        let diffBase = try GoFixtures.pprof(["-top", "-unit=byte", "-diff_base", base.path], file: target)
        let leak = try #require(deltas.first { $0.key.hasSuffix("main.leakSmall") })
        #expect(diffBase.contains("main.leakSmall"))
        #expect(top.contains("\(leak.value)B") || top.contains("\(leak.value - 1)B") || top.contains("\(leak.value + 1)B"), "\(top)")
    }
}
