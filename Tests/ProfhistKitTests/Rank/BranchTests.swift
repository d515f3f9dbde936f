import Foundation
import GRDB
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Branches on real dumps of the leaky C program, three runs per build at lg_prof_sample:12.
///
/// main: m1-m8, every build with legacy_pool (main's existing leak, there from the start), big_buffers grows by
/// 1.25 MiB at m7. Pull requests, ingested after main through the command line:
/// - leak-pr, forked at main@m4: lp1 as main, lp2 adds session_registry's leak (2 MiB);
/// - clean-pr, forked at main@m6: cp1 and cp2 as main at m6 (cp2's branch comes from GITHUB_HEAD_REF);
/// - fix-pr, no --start-point (main at its newest build, m8): fp1 and fp2 without legacy_pool.
@Suite("branches", .serialized)
struct BranchTests {
    struct PullRequest {
        var branch: String
        var startPoint: String?
        var builds: [(name: String, defines: [String])]
    }

    static let pullRequests = [
        PullRequest(branch: "leak-pr", startPoint: "main@m4", builds: [("lp1", ["LEGACY_POOL"]), ("lp2", ["LEGACY_POOL", "LEAK_SINCE_BUILD", "EXTRA_CODE"])]),
        PullRequest(branch: "clean-pr", startPoint: "main@m6", builds: [("cp1", ["LEGACY_POOL", "EXTRA_CODE"]), ("cp2", ["LEGACY_POOL"])]),
        PullRequest(branch: "fix-pr", startPoint: nil, builds: [("fp1", ["BIG_BUFFERS=60"]), ("fp2", ["BIG_BUFFERS=60", "EXTRA_CODE"])]),
    ]

    /// The commands whose output on main must not change when pull requests come and go.
    static let mainCommands: [[String]] = [
        ["top", "--all", "--limit", "0", "--format", "csv"], ["top", "--branch", "main", "--all", "--limit", "0", "--format", "csv"],
        ["top", "--by", "snapshot", "--all", "--limit", "0", "--format", "csv"], ["export", "--format", "csv"],
        ["export", "--branch", "main", "--wide", "--format", "csv"], ["check", "--format", "json"], ["check", "--build", "m7"],
        ["check", "--branch", "main", "--format", "markdown"], ["builds", "--format", "csv"], ["snapshots", "--format", "csv"],
        ["diff", "--base", "m6", "--target", "m7", "--format", "csv"], ["query", "leaf_totals_by_build", "--format", "csv"],
    ]

    struct Fixture {
        var history: LeakyHistory
        var db: String { history.store.path }
        /// Main's outputs before any pull request was ingested.
        var mainOutputs: [String]
        var snapshotsBefore: Int
    }

    static let fixture: Result<Fixture, Error> = Result {
        let main = (1...8).map { b -> LeakyHistory.Build in
            var defines = ["LEGACY_POOL"]
            if b >= 7 { defines.append("BIG_BUFFERS=60") }
            if b % 2 == 0 { defines.append("EXTRA_CODE") }
            return LeakyHistory.Build(name: "m\(b)", defines: defines)
        }
        let history = try LeakyHistory.make(builds: main, runs: 3)
        let outputs = try mainCommands.map { try run($0, db: history.store.path).stdout }
        let before = try history.store.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM snapshot") ?? 0 }
        let start = Timestamp.parse("2026-03-01T00:00:00Z")!
        var hour: Int64 = 8
        for pullRequest in pullRequests {
            for (b, build) in pullRequest.builds.enumerated() {
                try ingest(pullRequest, build: build, first: b == 0, into: history, at: start + hour * 3_600_000)
                hour += 1
            }
        }
        return Fixture(history: history, mainOutputs: outputs, snapshotsBefore: before)
    }

    /// Compiles one pull-request build, runs it three times and ingests the dumps through the command line (the
    /// second build of clean-pr names its branch through GITHUB_HEAD_REF, as a GitHub pull-request job does).
    static func ingest(_ pullRequest: PullRequest, build: (name: String, defines: [String]), first: Bool, into history: LeakyHistory, at time: Int64) throws {
        let directory = history.folder.appendingPathComponent(build.name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let program = try Fixtures.buildLeakyC(in: directory, name: "leaky", defines: build.defines)
        for r in 0..<3 {
            let dumps = try Fixtures.runLeakyC(
                program, prefix: directory.appendingPathComponent("run\(r)"), phases: 1, growthKiB: 2048, lgSample: 12, seed: 500 + r)
            var arguments = ["ingest"] + dumps.map(\.path) + [
                "--build", build.name, "--run", "run\(r)", "--at", Timestamp.rfc3339(milliseconds: time + Int64(r) * 600_000),
                "--binary", program.path, "--db", history.store.path, "-q",
            ]
            var environment: [String: String] = [:]
            if build.name == "cp2" {
                environment["GITHUB_HEAD_REF"] = pullRequest.branch
                environment["GITHUB_REF_NAME"] = "17/merge"
            } else {
                arguments += ["--branch", pullRequest.branch]
            }
            if first, let start = pullRequest.startPoint { arguments += ["--start-point", start] }
            let result = try Fixtures.profhist(arguments, environment: environment)
            guard result.status == 0 else { throw FixtureError.failed("ingest \(build.name): \(result.stderr)") }
        }
    }

    @discardableResult
    static func run(_ arguments: [String], db: String) throws -> (status: Int32, stdout: String, stderr: String) {
        try Fixtures.profhist(arguments + ["--db", db])
    }

    static func check(_ build: String, db: String) throws -> [String: Any] {
        let result = try run(["check", "--build", build, "--format", "json"], db: db)
        return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]) ?? [:]
    }

    @Test("branches: each pull request forks where it says (or at main's newest build), and cp2's branch came from GITHUB_HEAD_REF")
    func model() throws {
        let fixture = try Self.fixture.get()
        let listed = try Self.run(["branches", "--format", "csv"], db: fixture.db)
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(
            listed.stdout.split(separator: "\n").map(String.init) == [
                "name,default,start_point,builds,history_builds", "main,1,,8,8", "leak-pr,0,main@m4,2,6",
                "clean-pr,0,main@m6,2,8", "fix-pr,0,main@m8,2,10",
            ], "\(listed.stdout)")
        let builds = try Self.run(["builds", "--branch", "leak-pr", "--format", "csv"], db: fixture.db)
        let rows = builds.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(rows.map { $0[1] } == ["m1", "m2", "m3", "m4", "lp1", "lp2"], "\(builds.stdout)")
        #expect(rows.map { $0.last ?? "" } == ["main", "main", "main", "main", "leak-pr", "leak-pr"])
    }

    @Test("check fails the pull request that adds a leak, naming the leak and its baseline (main up to the fork, then the PR)")
    func leakingPullRequestFails() throws {
        let fixture = try Self.fixture.get()
        let result = try Self.run(["check", "--build", "lp2"], db: fixture.db)
        #expect(result.status == 1, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.hasPrefix("FAIL: inuse_space grew in lp2: 1 stack"), "\(result.stdout)")
        #expect(result.stdout.contains("compared with 5 earlier build(s) of branch leak-pr (main m1 … m4, then leak-pr lp1)"), "\(result.stdout)")
        #expect(result.stdout.contains("session_registry"))
        let json = try Self.check("lp2", db: fixture.db)
        #expect(json["verdict"] as? String == "fail")
        #expect(json["branch"] as? String == "leak-pr")
        let baseline = json["baseline"] as? [[String: Any]] ?? []
        #expect(baseline.map { $0["branch"] as? String } == ["main", "leak-pr"])
        #expect(baseline.map { $0["builds"] as? [String] ?? [] } == [["m1", "m2", "m3", "m4"], ["lp1"]])
        let failures = json["failures"] as? [[String: Any]] ?? []
        #expect(failures.map { $0["leaf"] as? String } == ["session_registry"])
        let markdown = try Self.run(["check", "--build", "lp2", "--format", "markdown"], db: fixture.db)
        #expect(markdown.stdout.contains("of branch leak-pr (main m1 … m4, then leak-pr lp1)"), "\(markdown.stdout)")
        // Before the leak, the same branch passes.
        #expect(try Self.check("lp1", db: fixture.db)["verdict"] as? String == "pass")
    }

    @Test("check passes the clean pull request (forked before main's m7 growth) and the one that fixes main's leak")
    func cleanAndFixingPullRequestsPass() throws {
        let fixture = try Self.fixture.get()
        let clean = try Self.check("cp2", db: fixture.db)
        #expect(clean["verdict"] as? String == "pass", "\(clean)")
        #expect(clean["history"] as? [String] == ["m1", "m2", "m3", "m4", "m5", "m6", "cp1"])
        for build in ["fp1", "fp2"] {
            let fix = try Self.check(build, db: fixture.db)
            #expect(fix["verdict"] as? String == "pass", "\(build): \(fix)")
            #expect(fix["branch"] as? String == "fix-pr")
        }
        // The fix shows as a fall on its branch, dated at the fix; main never sees it.
        let shrink = try Self.run(["top", "--branch", "fix-pr", "--order", "shrink", "--format", "csv"], db: fixture.db)
        let fall = shrink.stdout.split(separator: "\n").dropFirst().first { $0.contains(",legacy_pool,") }
        #expect(fall?.contains(",fp1,") == true, "\(shrink.stdout)")
        let mainShrink = try Self.run(["top", "--order", "shrink", "--format", "csv"], db: fixture.db)
        #expect(!mainShrink.stdout.contains("legacy_pool"), "\(mainShrink.stdout)")
    }

    @Test("top --branch shows main up to the fork, then the branch; main's top never shows a pull request's leak")
    func topPerBranch() throws {
        let fixture = try Self.fixture.get()
        let table = try Self.run(["top", "--branch", "leak-pr"], db: fixture.db)
        #expect(table.stderr.contains("6 builds (m1 … lp2)"), "\(table.stderr)")
        let leak = try Self.run(["top", "--branch", "leak-pr", "--format", "csv"], db: fixture.db)
        let first = leak.stdout.split(separator: "\n").dropFirst().first ?? ""
        #expect(first.contains(",session_registry,") && first.contains(",lp2,"), "\(leak.stdout)")
        let main = try Self.run(["top", "--all", "--limit", "0", "--format", "csv"], db: fixture.db)
        #expect(!main.stdout.contains("session_registry") && main.stdout.contains("big_buffers"), "\(main.stdout)")
        let export = try Self.run(["export", "--build", "lp2", "--format", "csv"], db: fixture.db)
        #expect(export.status == 0 && export.stdout.contains("session_registry"), "\(export.stderr)")
        let diff = try Self.run(["diff", "--base", "m4", "--target", "lp2", "--format", "csv"], db: fixture.db)
        #expect(diff.stdout.split(separator: "\n").dropFirst().first?.contains(",session_registry,") == true, "\(diff.stdout)")
    }

    @Test("main's top, export, check, builds and snapshots are byte-identical with and without the pull requests, and after gc --branch")
    func mainUnchanged() throws {
        let fixture = try Self.fixture.get()
        for (command, before) in zip(Self.mainCommands, fixture.mainOutputs) {
            let now = try Self.run(command, db: fixture.db)
            #expect(now.stdout.split(separator: "\n").count > (command.contains("json") ? 0 : 1), "\(command): \(now.stderr)")
            #expect(now.stdout == before, "\(command) changed with pull requests in the store")
        }
    }

    @Test("a build belongs to one branch; a wrong start point or branch is a clear error and the store is unchanged")
    func errors() throws {
        let fixture = try Self.fixture.get()
        let dump = try #require(fixture.history.dumps["m3"]?.first)
        let program = try #require(fixture.history.programs["m3"])
        let counts = try fixture.history.store.queue.read { db in try StoreAudit.tableCounts(db) }
        let cases: [([String], String)] = [
            (["--build", "m3", "--branch", "leak-pr"], "build 'm3' belongs to branch 'main', not 'leak-pr'"),
            (["--build", "x1", "--branch", "new-pr", "--start-point", "nope"], "no branch named 'nope'"),
            (["--build", "x1", "--branch", "new-pr", "--start-point", "leak-pr@m6"], "build 'm6' is not in the history of branch 'leak-pr'"),
            (["--build", "x1", "--branch", "leak-pr", "--start-point", "main@m5"], "branch 'leak-pr' already starts at main@m4"),
            (["--build", "x1", "--start-point", "leak-pr"], "'main' is the store's default branch, which has no start point"),
        ]
        for (arguments, message) in cases {
            let result = try Self.run(["ingest", dump.path, "--binary", program.path, "--at", "2026-05-01T00:00:00Z"] + arguments, db: fixture.db)
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr.contains(message) && result.stderr.contains(dump.lastPathComponent), "\(arguments): \(result.stderr)")
        }
        #expect(try fixture.history.store.queue.read { db in try StoreAudit.tableCounts(db) } == counts)
        let unknown = try Self.run(["top", "--branch", "nope"], db: fixture.db)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no branch named 'nope'; branches stored: 'main', 'leak-pr'"), "\(unknown.stderr)")
        let outside = try Self.run(["top", "--branch", "clean-pr", "--builds", "m2..lp2"], db: fixture.db)
        #expect(outside.status == 1 && outside.stderr.contains("build 'lp2' is on branch 'leak-pr'"), "\(outside.stderr)")
        let usage = try Self.run(["ingest", dump.path, "--build", "x", "--start-point", "main@"], db: fixture.db)
        #expect(usage.status == 64)
    }
}

/// gc by branch, on a copy of the branches store (the other tests keep theirs).
@Suite("gc by branch")
struct BranchGarbageTests {
    @Test("gc --branch removes a pull request completely and main stays byte-identical; --keep-builds counts per branch")
    func gcBranch() throws {
        let fixture = try BranchTests.fixture.get()
        let folder = try Fixtures.temporaryFolder()
        let db = folder.appendingPathComponent("copy.db").path
        try fixture.history.store.queue.writeWithoutTransaction { source in try source.execute(sql: "VACUUM INTO ?", arguments: [db]) }
        let before = try BranchTests.mainCommands.map { try BranchTests.run($0, db: db).stdout }
        #expect(before == fixture.mainOutputs)

        let refused = try BranchTests.run(["gc", "--branch", "main"], db: db)
        #expect(refused.status == 1 && refused.stderr.contains("default branch"), "\(refused.stderr)")
        let removed = try BranchTests.run(["gc", "--branch", "leak-pr", "--format", "csv"], db: db)
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(removed.stderr.contains("removed 2 builds: lp1, lp2"), "\(removed.stderr)")
        let after = try BranchTests.mainCommands.map { try BranchTests.run($0, db: db).stdout }
        for (command, (old, new)) in zip(BranchTests.mainCommands, zip(before, after)) {
            #expect(old == new, "\(command) changed after gc --branch")
        }
        try StoreAudit.inspect(db) { (db: Database) throws in
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM branch WHERE name = 'leak-pr'") == 0)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM build WHERE name IN ('lp1', 'lp2')") == 0)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM snapshot") == fixture.snapshotsBefore + 12)
            // session_registry only ever lived in lp2: its stacks, frame and name are gone.
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM string WHERE value = 'session_registry'") == 0)
            #expect(try StoreAudit.problems(db).isEmpty)
        }
        let branches = try BranchTests.run(["branches", "--format", "csv"], db: db)
        #expect(!branches.stdout.contains("leak-pr"), "\(branches.stdout)")

        // Per branch: main keeps m7 and m8, each pull request its newest build.
        let kept = try BranchTests.run(["gc", "--keep-builds", "2", "--format", "csv"], db: db)
        #expect(kept.status == 0, "\(kept.stderr)")
        #expect(kept.stderr.contains("removed 6 builds: m1, m2, m3, m4, m5, m6"), "\(kept.stderr)")
        let clean = try BranchTests.run(["builds", "--branch", "clean-pr", "--format", "csv"], db: db)
        #expect(clean.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[1] } == ["cp1", "cp2"], "\(clean.stdout)")
        let fix = try BranchTests.run(["builds", "--branch", "fix-pr", "--format", "csv"], db: db)
        #expect(fix.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[1] } == ["m7", "m8", "fp1", "fp2"], "\(fix.stdout)")
    }
}

@Suite("branch options")
struct BranchOptionTests {
    @Test("the CI's branch: a pull request's source branch first, then the branch pushed; empty values are unset")
    func environment() {
        #expect(BranchOptions.branch(fromEnvironment: [:]) == nil)
        #expect(BranchOptions.branch(fromEnvironment: ["GITHUB_REF_NAME": "main", "GITHUB_HEAD_REF": ""]) == "main")
        #expect(BranchOptions.branch(fromEnvironment: ["GITHUB_REF_NAME": "17/merge", "GITHUB_HEAD_REF": "feature-x"]) == "feature-x")
        #expect(BranchOptions.branch(fromEnvironment: ["CI_COMMIT_REF_NAME": "topic"]) == "topic")
        #expect(
            BranchOptions.branch(fromEnvironment: ["CI_COMMIT_REF_NAME": "topic", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "mr"]) == "mr")
    }

    @Test("start points: BRANCH or BRANCH@BUILD, split at the last @")
    func startPoints() {
        #expect(StartPoint("main") == StartPoint(branch: "main"))
        #expect(StartPoint("main@abc123") == StartPoint(branch: "main", build: "abc123"))
        #expect(StartPoint("me@host/topic@v2") == StartPoint(branch: "me@host/topic", build: "v2"))
        #expect(StartPoint("main@") == nil && StartPoint("@b1") == nil && StartPoint("") == nil)
    }
}
