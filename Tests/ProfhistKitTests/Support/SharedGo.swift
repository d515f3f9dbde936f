import Foundation
import ProfhistTestSupport

/// The Go program built once per test process, and a history of its profiles: five builds, two runs each, a
/// heap leak (leakSmall) from build b3 on, a goroutine leak (waitForWork) from b4 on, a flat 640 KiB of
/// buffers, and a noisy cache that changes a little with each run's seed.
enum SharedGo {
    struct Run {
        var build: String
        var heap: URL
        var goroutines: URL
    }

    struct History {
        var folder: URL
        var program: URL
        var runs: [Run]
    }

    static let builds = ["b1", "b2", "b3", "b4", "b5"]

    static func small(build index: Int) -> Int { index < 2 ? 1000 : 1000 + 4000 * (index - 1) }
    static func waiters(build index: Int) -> Int { index < 3 ? 5 : 5 + 200 * (index - 2) }

    static let history: Result<History, Error> = Result {
        let folder = try Fixtures.temporaryFolder("profhist-go")
        let program = try GoFixtures.buildLeakyGo(in: folder)
        var runs: [Run] = []
        for (index, build) in builds.enumerated() {
            for run in 0..<2 {
                let profiles = try GoFixtures.runLeakyGo(
                    program, prefix: folder.appendingPathComponent("\(build)-r\(run)"), small: small(build: index), big: 10,
                    waiters: waiters(build: index), seed: index * 2 + run)
                runs.append(Run(build: build, heap: profiles.heap, goroutines: profiles.goroutines))
            }
        }
        return History(folder: folder, program: program, runs: runs)
    }

    /// A store with every run of the history ingested (heap and goroutine profiles), `--run rN`.
    static let store: Result<String, Error> = Result {
        let history = try SharedGo.history.get()
        let db = history.folder.appendingPathComponent("history.db").path
        for (index, run) in history.runs.enumerated() {
            let result = try Fixtures.profhist(
                ["ingest", run.heap.path, run.goroutines.path, "--build", run.build, "--run", "r\(index % 2)", "--db", db, "-q"])
            guard result.status == 0 else { throw FixtureError.failed("ingest \(run.heap.lastPathComponent): \(result.stderr)") }
        }
        return db
    }

    /// JSON lines printed by a profhist command, one object per line.
    static func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw FixtureError.failed("not a JSON object: \(line)")
            }
            return object
        }
    }

    /// `export --format jsonl` of one snapshot: value per folded stack, per metric.
    static func exported(db: String, snapshot: Int64, kind: String = "heap") throws -> [String: [String: Int64]] {
        let result = try Fixtures.profhist(
            ["export", "--snapshot", String(snapshot), "--kind", kind, "--format", "jsonl", "--db", db])
        guard result.status == 0 else { throw FixtureError.failed("export: \(result.stderr)") }
        var values: [String: [String: Int64]] = [:]
        for row in try jsonLines(result.stdout) {
            guard let metric = row["metric"] as? String, let stack = row["stack"] as? String,
                let value = (row["value"] as? NSNumber)?.int64Value
            else { throw FixtureError.failed("export row without metric, stack or value: \(row)") }
            values[metric, default: [:]][stack, default: 0] += value
        }
        return values
    }

    /// The ids of the snapshots of a store, by source file name.
    static func snapshotIDs(db: String) throws -> [String: Int64] {
        let result = try Fixtures.profhist(["snapshots", "--format", "jsonl", "--db", db])
        guard result.status == 0 else { throw FixtureError.failed("snapshots: \(result.stderr)") }
        var ids: [String: Int64] = [:]
        for row in try jsonLines(result.stdout) {
            guard let id = (row["id"] as? NSNumber)?.int64Value else { continue }
            let source = (row["source"] as? String) ?? (row["source_path"] as? String) ?? ""
            ids[(source as NSString).lastPathComponent] = id
        }
        return ids
    }
}
