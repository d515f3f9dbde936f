import Foundation
import Ink
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// `check` on the real 8-build history of the ranking tests: legacy_pool leaks in b0-b2 (fixed in b3),
/// session_registry leaks from b4, big_buffers grows in b6.
@Suite("check")
struct GrowthCheckTests {
    static func check(_ build: String, _ configure: (inout CheckOptions) -> Void = { _ in }) throws -> CheckReport {
        let history = try GrowthRankingTests.history.get()
        var options = CheckOptions()
        options.build = build
        configure(&options)
        let check = GrowthCheck(filter: SeriesFilter(), options: options)
        return try history.store.queue.read { db in try check.run(db) }
    }

    @Test("passes before the leak, fails at the leak's build and at the size regression's, naming the stack")
    func verdicts() throws {
        for build in ["b1", "b2", "b3"] {
            let report = try Self.check(build)
            #expect(report.verdict == .pass, "\(build): \(report.failures.map { ($0.row.leaf, $0.previous, $0.current, $0.pValue, $0.row.series) })")
        }
        let leak = try Self.check("b4")
        #expect(leak.verdict == .fail)
        #expect(leak.failures.map(\.row.leaf) == ["session_registry"])
        let growth: Double = leak.failures.first?.growth ?? 0
        let expected: Double = 2 * 1_048_576
        #expect(abs(growth - expected) < 0.15 * expected)
        let previous: Double = leak.failures.first?.previous ?? 1e9
        #expect(previous < 10_000)
        let regression = try Self.check("b6")
        #expect(regression.verdict == .fail)
        #expect(regression.failures.first?.row.leaf == "big_buffers", "\(regression.failures.map(\.row.leaf))")
    }

    @Test("a build after an unfixed leak passes and lists the leak as earlier growth")
    func afterTheLeak() throws {
        let report = try Self.check("b5")
        #expect(report.verdict == .pass, "\(report.failures.map(\.row.leaf))")
        #expect(report.earlier.contains { $0.leaf == "session_registry" && $0.regressedAt == "b4" })
    }

    @Test("accepted growth passes: by stack id, by leaf, and from a file until its expiry build")
    func accepted() throws {
        let leak = try Self.check("b4")
        let id = try #require(leak.failures.first?.row.key)
        let byID = try Self.check("b4") { $0.accepted = [Acceptance(stackID: id, reason: "intended")] }
        #expect(byID.verdict == .pass)
        #expect(byID.accepted.map(\.row.key) == [id])
        let byLeaf = try Self.check("b4") { $0.accepted = [Acceptance(leaf: "session_registry")] }
        #expect(byLeaf.verdict == .pass)
        let file = try Fixtures.temporaryFolder().appendingPathComponent("accepted.txt")
        try "# accepted growth\n\(id)  b3  expired before the leak\nleaf:other  -  unrelated\n".write(to: file, atomically: true, encoding: .utf8)
        let expired = try Self.check("b4") { $0.accepted = try! Acceptance.read(path: file.path) }
        #expect(expired.verdict == .fail)
        try "\(id)  b9  until the cache lands\n".write(to: file, atomically: true, encoding: .utf8)
        let inForce = try Self.check("b4") { $0.accepted = try! Acceptance.read(path: file.path) }
        #expect(inForce.verdict == .pass)
        try "not-a-stack b4 reason\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: InputError.self) { try Acceptance.read(path: file.path) }
    }

    @Test("too little history cannot be decided")
    func undecided() throws {
        let report = try Self.check("b0")
        guard case .undecided(let why) = report.verdict else { Issue.record("b0 decided: \(report.verdict)"); return }
        #expect(why.contains("first build"))
    }

    @Test("the Markdown summary renders: verdict heading, a table, each stack in <details>")
    func markdown() throws {
        let report = try Self.check("b6")
        let text = CheckSummary.markdown(report)
        #expect(text.hasPrefix("## ❌ profhist check"))
        let html = MarkdownParser().html(from: text)
        #expect(html.contains("<h2>"))
        #expect(html.contains("<table>") && html.contains("big_buffers"))
        #expect(html.contains("<details>") && html.contains("<summary>"))
        #expect(html.contains("leaky_cache") == false || html.contains("session_registry"))
        let pass = CheckSummary.markdown(try Self.check("b2"))
        #expect(pass.hasPrefix("## ✅ profhist check"))
    }

    @Test("the CLI: exit 0 pass, 1 growth, 2 undecided or no store, 64 usage; --summary appends Markdown")
    func commandLine() throws {
        let history = try GrowthRankingTests.history.get()
        let db = history.store.path
        #expect(try Fixtures.profhist(["check", "--build", "b3", "--db", db]).status == 0)
        let fail = try Fixtures.profhist(["check", "--build", "b4", "--db", db])
        #expect(fail.status == 1)
        #expect(fail.stdout.hasPrefix("FAIL") && fail.stdout.contains("session_registry"))
        #expect(try Fixtures.profhist(["check", "--build", "b0", "--db", db]).status == 2)
        let summary = try Fixtures.temporaryFolder().appendingPathComponent("summary.md")
        #expect(try Fixtures.profhist(["check", "--build", "b6", "--summary", summary.path, "--db", db]).status == 1)
        #expect(try String(contentsOf: summary, encoding: .utf8).contains("big_buffers"))
        let json = try Fixtures.profhist(["check", "--build", "b4", "--format", "json", "--db", db])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["verdict"] as? String == "fail")
        let missing = try Fixtures.profhist(["check", "--db", "/nonexistent/none.db"])
        #expect(missing.status == 2)
        #expect(try Fixtures.profhist(["check", "--max-growth", "lots", "--db", db]).status == 64)
    }
}
