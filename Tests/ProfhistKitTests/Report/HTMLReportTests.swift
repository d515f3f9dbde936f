import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// `profhist report` without a browser: the page is self-contained, data cannot break out of its script
/// element, the flame data is a pruned call-site tree, and bad input fails cleanly.
@Suite("report page")
struct HTMLReportTests {
    @Test("the page references nothing outside itself and forbids every fetch")
    func selfContained() throws {
        let history = try HTMLReportBrowserTests.history.get()
        let page = try HTMLReport(options: HTMLReportOptions()).render(history.store)
        #expect(page.contains(#"<meta http-equiv="Content-Security-Policy" content="default-src 'none';"#))
        // The only URL in the page is the SVG namespace the script creates elements in.
        let urls = page.components(separatedBy: "://").dropFirst().map { String($0.prefix(40)) }
        #expect(urls.allSatisfy { $0.hasPrefix("www.w3.org/2000/svg") }, "\(urls)")
        for reference in ["src=", "href=\"http", "@import", "url(", "<link", "fetch(", "XMLHttpRequest"] {
            #expect(!page.contains(reference), "\(reference)")
        }
    }

    @Test("text from the store cannot close the data's script element")
    func dataCannotEscape() throws {
        // Hand-written data: a frame name like this cannot be produced by a real program here.
        var data = HTMLReportData(title: "t</script><script>alert(1)</script>", generated: "now", store: "x.db")
        var tree = FlameTree(minimumShare: 0.001)
        tree.names = ["main", "evil</script><!--<script>"]
        tree.parents = [-1, 0]
        tree.nameOf = [0, 1]
        tree.values = [[10], [5]]
        tree.totals = [10]
        data.flame = tree
        data.flameBuilds = ["b0"]
        let page = try HTMLReportPage.render(data)
        #expect(page.components(separatedBy: "</script>").count - 1 == 2, "one data and one code script element, each closed once")
        #expect(!page.contains("<script>alert"))
        #expect(page.contains(#"evil\u003c\/script>\u003c!--\u003cscript>"#) || page.contains(#"evil\u003c/script>\u003c!--\u003cscript>"#))
    }

    @Test("the flame data is the call-site tree: each kept node as wide as its stacks in export --format folded, parents first")
    func flameTreeMatchesFolded() throws {
        let history = try HTMLReportBrowserTests.history.get()
        let data = try HTMLReport(options: HTMLReportOptions()).gather(history.store)
        let tree = try #require(data.flame)
        #expect(data.flameBuilds == (0..<8).map { "b\($0)" })
        #expect(data.diffBase == "b3" && data.diffTarget == "b4")
        #expect(tree.nodesKept > 10 && tree.nodesKept <= tree.nodesBefore)
        for (n, parent) in tree.parents.enumerated() { #expect(parent < n, "node \(n) before its parent \(parent)") }
        for b in [0, 4, 7] {
            let folded = try Fixtures.profhist(["export", "--db", history.store.path, "--format", "folded", "--build", "b\(b)"])
            let expected = HTMLReportBrowserTests.inclusive(folded: folded.stdout)
            #expect(abs(Double(tree.totals[b]) - expected.total) <= expected.count)
            for n in tree.parents.indices where tree.values[n][b] > 0 {
                var path: [String] = []
                var node = n
                while node >= 0 {
                    path.insert(tree.names[tree.nameOf[node]], at: 0)
                    node = tree.parents[node]
                }
                let key = path.joined(separator: ";")
                let want = expected.paths[key] ?? -1
                #expect(abs(Double(tree.values[n][b]) - want) <= max(1, expected.lines[key] ?? 0), "b\(b) \(key): \(tree.values[n][b]) vs \(want)")
            }
        }
    }

    @Test("an empty store gives a page that says there is nothing to show, not an error")
    func emptyStore() throws {
        let folder = try Fixtures.temporaryFolder("profhist-report-empty")
        let store = try Store(path: folder.appendingPathComponent("empty.db").path, create: true)
        let data = try HTMLReport(options: HTMLReportOptions()).gather(store)
        #expect(data.heap == nil && data.tasks == nil && data.flame == nil)
        let page = folder.appendingPathComponent("r.html")
        let made = try Fixtures.profhist(["report", "--db", store.path, "--output", page.path])
        #expect(made.status == 0, "\(made.stderr)")
        let text = try String(contentsOf: page, encoding: .utf8)
        #expect(!text.contains(#""heap":"#) && !text.contains(#""tasks":"#) && text.contains(#"id="report-data">{"#))
    }

    @Test("report fails cleanly: no store, an unwritable output, a bad option")
    func errors() throws {
        let folder = try Fixtures.temporaryFolder("profhist-report-errors")
        let missing = try Fixtures.profhist(["report", "--db", folder.appendingPathComponent("none.db").path, "--output", folder.appendingPathComponent("r.html").path])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("profhist: error:") && missing.stderr.contains("none.db"), "\(missing.stderr)")
        let history = try HTMLReportBrowserTests.history.get()
        let before = try history.store.queue.read { db in try StoreAudit.tableCounts(db) }
        let unwritable = folder.appendingPathComponent("no/such/folder/r.html").path
        let bad = try Fixtures.profhist(["report", "--db", history.store.path, "--output", unwritable])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("no/such/folder"), "\(bad.stderr)")
        #expect(try history.store.queue.read { db in try StoreAudit.tableCounts(db) } == before)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("no").path))
        let usage = try Fixtures.profhist(["report", "--db", history.store.path])
        #expect(usage.status == 64, "--output is required")
    }
}

/// The tasks section in a browser: task dumps (tokio 1.53's format, written by `TaskRankingTests`) where idle
/// tasks pile up under `app::session::watch` from build b3.
@Suite("report of tasks in a browser", .serialized)
struct HTMLReportTasksBrowserTests {
    @Test("the tasks section ranks the leaking await stack first, since b3, and marks b3")
    func tasksInChromium() throws {
        guard let chromium = try HTMLReportBrowserTests.chromium() else { return }
        let history = try TaskRankingTests.history.get()
        let folder = try Fixtures.temporaryFolder("profhist-report-tasks")
        let page = folder.appendingPathComponent("tasks.html")
        let made = try Fixtures.profhist(["report", "--db", history.store.path, "--output", page.path, "--label", "source=dump"])
        #expect(made.status == 0, "\(made.stderr)")
        let shot = folder.appendingPathComponent("tasks.png").path
        let steps: [[String: String]] = [
            ["eval": "[document.getElementById('tasks').hidden, document.getElementById('overview').hidden, document.getElementById('flame').hidden]"],
            ["eval": "[...document.querySelectorAll('#tasks-table tr.growth-row')].map(r => [r.querySelector('td.leaf span').title, r.querySelector('td.regressedAt').textContent])"],
            ["eval": "[...document.querySelectorAll('#tasks-chart .regression-marker')].map(g => g.dataset.point)"],
            ["eval": "const m = document.getElementById('tasks-metric'); m.value = 'idle_tasks'; m.dispatchEvent(new Event('change')); [...document.querySelectorAll('#tasks-table tr.growth-row')].map(r => r.querySelector('td.leaf span').title)"],
            ["screenshot": shot, "selector": "#tasks"],
        ]
        let run = try HTMLReportBrowserTests.open(page, steps: steps, chromium: chromium, folder: folder)
        print("tasks screenshot: \(shot)")
        try #require(run.results.count == steps.count)
        #expect((run.results[0] as? [Bool]) == [false, true, true])
        let rows = try #require(run.results[1] as? [[String]])
        #expect(rows.first?[0].contains("app::session::watch") == true && rows.first?[1] == "b3", "\(rows.prefix(3))")
        #expect((run.results[2] as? [String]) == ["b3"])
        #expect((run.results[3] as? [String])?.first?.contains("app::session::watch") == true)
        #expect(run.requests == ["file://" + page.path] && run.violations.isEmpty && run.exceptions.isEmpty)
    }
}
