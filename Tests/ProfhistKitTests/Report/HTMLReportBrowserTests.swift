import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// `profhist report` opened in a real browser (headless Chromium, driven through the DevTools protocol by
/// `Fixtures/browser/cdp.py`): the DOM is read after the page's script ran, and each view is saved as a PNG.
///
/// The history is real: eight builds of the leaky C program, three runs each. legacy_pool leaks in b0-b2 and is
/// fixed in b3 (the fixed leak); session_registry leaks from b4 (the leak); odd builds move every address.
@Suite("report in a browser", .serialized)
struct HTMLReportBrowserTests {
    static let history: Result<LeakyHistory, Error> = Result {
        let builds = (0..<8).map { b -> LeakyHistory.Build in
            var defines: [String] = []
            if b <= 2 { defines.append("LEGACY_POOL") }
            if b >= 4 { defines.append("LEAK_SINCE_BUILD") }
            if b % 2 == 1 { defines.append("EXTRA_CODE") }
            return LeakyHistory.Build(name: "b\(b)", defines: defines)
        }
        return try LeakyHistory.make(builds: builds, runs: 3)
    }

    /// Chromium's path, or nil (the test then skips, or fails when CI is set).
    static func chromium() throws -> String? {
        for name in ["chromium", "chromium-browser", "google-chrome"] where Fixtures.available(name) {
            let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
                .map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
            if let path { return path }
        }
        if ProcessInfo.processInfo.environment["CI"] != nil {
            throw FixtureError.failed("chromium is not installed: the report's browser tests need it on CI (apt-get install chromium)")
        }
        print("skipping: chromium is not installed (apt-get install chromium); the report's browser tests need it")
        return nil
    }

    /// The result of opening a page and running steps in it.
    struct BrowserRun {
        var results: [Any]
        var requests: [String]
        var violations: [String]
        var exceptions: [String]
        var loadMilliseconds: Double
        var scriptMilliseconds: Double
    }

    /// Opens `page` in headless Chromium, runs `steps` (`["eval": js]` or `["screenshot": path, "selector": css]`).
    static func open(_ page: URL, steps: [[String: String]], chromium: String, folder: URL) throws -> BrowserRun {
        let stepsFile = folder.appendingPathComponent("steps.json")
        let outFile = folder.appendingPathComponent("browser-out.json")
        try JSONSerialization.data(withJSONObject: steps).write(to: stepsFile)
        let script = Fixtures.sourceFolder.appendingPathComponent("browser/cdp.py").path
        let result = try Fixtures.run("python3", [script, chromium, page.path, stepsFile.path, outFile.path])
        guard result.status == 0 else { throw FixtureError.failed("cdp.py: \(result.stderr)") }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: outFile)) as? [String: Any])
        return BrowserRun(
            results: object["results"] as? [Any] ?? [], requests: object["requests"] as? [String] ?? [],
            violations: object["violations"] as? [String] ?? [], exceptions: object["exceptions"] as? [String] ?? [],
            loadMilliseconds: object["load_ms"] as? Double ?? -1, scriptMilliseconds: object["script_ms"] as? Double ?? -1)
    }

    /// Inclusive value of every call path (root;...;frame) of a folded export, and how many lines (stacks) add
    /// up to it: export writes each stack's mean as a whole number, so a path's sum may be off by one per line.
    static func inclusive(folded: String) -> (paths: [String: Double], lines: [String: Double], total: Double, count: Double) {
        var paths: [String: Double] = [:]
        var lines: [String: Double] = [:]
        var total = 0.0
        var count = 0.0
        for line in folded.split(separator: "\n") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            total += value
            count += 1
            var prefix = ""
            for frame in line[..<space].split(separator: ";", omittingEmptySubsequences: false) {
                prefix = prefix.isEmpty ? String(frame) : prefix + ";" + frame
                paths[prefix, default: 0] += value
                lines[prefix, default: 0] += 1
            }
        }
        return (paths, lines, total, count)
    }

    /// JS: the rectangles of a flame graph as [path, value, fill, state].
    static func rects(_ chart: String) -> String {
        """
        [...document.querySelectorAll('#\(chart) rect.frame')].map(r => {
          const F = DATA.flame; let n = Number(r.dataset.node), path = [];
          for (; n >= 0; n = F.parents[n]) path.unshift(F.names[F.nameOf[n]]);
          return [path.join(';'), Number(r.dataset.value), r.getAttribute('fill'), r.dataset.state || '', r.classList.contains('match')];
        })
        """
    }

    static func select(_ id: String, _ value: String) -> String {
        """
        (() => { const s = document.getElementById('\(id)');
          s.value = [...s.options].find(o => o.textContent === '\(value)').value;
          s.dispatchEvent(new Event('change')); return s.selectedOptions[0].textContent; })()
        """
    }

    static func rgb(_ fill: String) -> (r: Int, g: Int, b: Int)? {
        let parts = fill.drop { $0 != "(" }.dropFirst().prefix { $0 != ")" }.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        return parts.count == 3 ? (parts[0], parts[1], parts[2]) : nil
    }

    @Test("the report names the leak and its build, draws the flame graph export --format folded describes, colours the leak red and the fix blue, and fetches nothing")
    func reportInChromium() throws {
        guard let chromium = try Self.chromium() else { return }
        let history = try Self.history.get()
        let folder = try Fixtures.temporaryFolder("profhist-report")
        let page = folder.appendingPathComponent("report.html")
        let db = history.store.path
        let made = try Fixtures.profhist(["report", "--db", db, "--output", page.path, "--check"])
        #expect(made.status == 0, "\(made.stderr)")
        let folded = try Fixtures.profhist(["export", "--db", db, "--format", "folded", "--build", "b4"])
        #expect(folded.status == 0, "\(folded.stderr)")
        let expected = Self.inclusive(folded: folded.stdout)
        let shot = { (name: String) in folder.appendingPathComponent("\(name).png").path }
        let steps: [[String: String]] = [
            ["eval": "[...document.querySelectorAll('#growth-table tr.growth-row')].map(r => [r.dataset.leaf, r.querySelector('td.regressedAt').textContent])"],
            ["eval": "[...document.querySelectorAll('#overview-chart .regression-marker')].map(g => g.dataset.point)"],
            ["screenshot": shot("overview"), "selector": "#overview"],
            // Sorting: by leaf ascending, then descending; then back to rank.
            ["eval": "document.querySelector('#growth-table th[data-key=leaf]').click(); [...document.querySelectorAll('#growth-table tr.growth-row')].map(r => r.dataset.leaf)"],
            ["eval": "document.querySelector('#growth-table th[data-key=leaf]').click(); [...document.querySelectorAll('#growth-table tr.growth-row')].map(r => r.dataset.leaf)"],
            ["eval": "document.querySelector('#growth-table th[data-key=rank]').click(); document.querySelector('#growth-table tr.growth-row').click(); document.querySelector('#growth-table tr.detail').textContent"],
            ["screenshot": shot("growth"), "selector": "#growth"],
            // Search in the table: only rows whose stack has the function stay visible.
            ["eval": "const gs = document.getElementById('growth-search'); gs.value = 'legacy'; gs.dispatchEvent(new Event('input')); [...document.querySelectorAll('#growth-table tr.growth-row:not(.hidden)')].map(r => r.dataset.leaf)"],
            ["eval": "gs.value = ''; gs.dispatchEvent(new Event('input')); 0"],
            ["eval": Self.select("flame-build", "b4")],
            ["eval": Self.rects("flame-chart")],
            ["screenshot": shot("flame"), "selector": "#flame"],
            ["eval": "const fs = document.getElementById('flame-search'); fs.value = 'session_reg'; fs.dispatchEvent(new Event('input')); " + Self.rects("flame-chart")],
            ["eval": "Number(document.getElementById('flame-info').dataset.matched)"],
            ["screenshot": shot("flame-search"), "selector": "#flame"],
            // Zoom: clicking a frame makes it the full width.
            ["eval": "fs.value = ''; fs.dispatchEvent(new Event('input')); const z = [...document.querySelectorAll('#flame-chart rect.frame')].find(r => r.dataset.name === 'session_registry'); z.dispatchEvent(new MouseEvent('click', {bubbles: true})); const zr = [...document.querySelectorAll('#flame-chart rect.frame')].find(r => r.dataset.name === 'session_registry' && !r.classList.contains('ancestor')); [Number(zr.getAttribute('width')), document.querySelector('#flame-chart svg').viewBox.baseVal.width]"],
            ["eval": "[document.getElementById('diff-base').selectedOptions[0].textContent, document.getElementById('diff-target').selectedOptions[0].textContent]"],
            ["eval": Self.rects("diff-chart")],
            ["screenshot": shot("diff"), "selector": "#diff"],
            ["eval": Self.select("diff-base", "b2")],
            ["eval": Self.select("diff-target", "b3")],
            ["eval": Self.rects("diff-chart")],
            ["screenshot": shot("diff-fix"), "selector": "#diff"],
            ["eval": "[document.getElementById('check-verdict').dataset.verdict, document.getElementById('check-body').textContent]"],
            ["screenshot": shot("check"), "selector": "#check"],
            ["screenshot": shot("page"), "selector": "body"],
            // Tooltips: bytes, objects and share of a frame of the flame graph (b4, zoom reset).
            ["eval": "document.getElementById('flame-reset').click(); const tr = [...document.querySelectorAll('#flame-chart rect.frame')].find(r => r.dataset.name === 'session_registry'); const bb = tr.getBoundingClientRect(); tr.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: bb.left + 2, clientY: bb.top + 2})); [document.getElementById('tooltip').style.display, document.getElementById('tooltip').textContent]"],
            // Normalise by total: b3 -> b4 with the base scaled to b4's total leaves the root frames' sum unchanged.
            ["eval": Self.select("diff-base", "b3") + "; " + Self.select("diff-target", "b4") + "; const nb = document.getElementById('diff-normalise'); nb.checked = true; nb.dispatchEvent(new Event('change')); const roots = [...document.querySelectorAll('#diff-chart rect.frame[data-depth=\"0\"]')]; [roots.reduce((s, r) => s + Number(r.dataset.delta), 0), roots.reduce((s, r) => s + Number(r.dataset.value), 0), (" + Self.rects("diff-chart") + ").find(x => x[0].endsWith(';session_registry'))[3]]"],
        ]
        let run = try Self.open(page, steps: steps, chromium: chromium, folder: folder)
        print("report screenshots: \(folder.path)/{overview,growth,flame,flame-search,diff,diff-fix,check,page}.png; page opened in \(run.loadMilliseconds) ms (script \(run.scriptMilliseconds) ms)")
        let r = run.results
        try #require(r.count == steps.count, "results: \(r.count) of \(steps.count)")

        // Growth table and overview: the leak first, dated b4; the overview marks b4.
        let rows = try #require(r[0] as? [[String]])
        #expect(rows.first == ["session_registry", "b4"], "rows: \(rows.prefix(3))")
        #expect((r[1] as? [String]) == ["b4"])
        // Sorting reorders rows: by leaf ascending, then descending.
        let ascending = try #require(r[3] as? [String])
        let descending = try #require(r[4] as? [String])
        #expect(ascending == rows.map { $0[0] }.sorted())
        #expect(ascending != rows.map { $0[0] }, "sorting by leaf left the rank order")
        #expect(descending == ascending.reversed())
        // The clicked row opens its stack, root to leaf, with file:line.
        let detail = try #require(r[5] as? String)
        #expect(detail.contains("session_registry") && detail.contains("leaky.c:") && detail.contains("main"), "\(detail.prefix(300))")
        #expect((r[7] as? [String])?.allSatisfy { $0 == "legacy_pool" } == true && (r[7] as? [String])?.isEmpty == false, "\(r[7])")

        // The flame graph of b4: one rectangle per call path, each as wide as export --format folded says.
        #expect((r[9] as? String) == "b4")
        let flame = try #require(r[10] as? [[Any]])
        let drawn = Dictionary(flame.map { ($0[0] as? String ?? "", $0[1] as? Double ?? -1) }, uniquingKeysWith: { a, _ in a })
        #expect(drawn.count == flame.count, "a call path drawn twice")
        for (path, value) in drawn {
            let want = expected.paths[path] ?? 0
            #expect(abs(value - want) <= max(1, expected.lines[path] ?? 0), "\(path): drawn \(value), folded \(want)")
        }
        let minimumShare = HTMLReportOptions().flameMinimumShare
        let mustDraw = expected.paths.filter { $0.value >= 2 * minimumShare * expected.total }
        #expect(Set(mustDraw.keys).isSubset(of: Set(drawn.keys)), "missing: \(Set(mustDraw.keys).subtracting(drawn.keys).prefix(5))")
        // A parent and its only child are equally wide: ties are broken by name, or the order
        // would follow dictionary iteration and differ from run to run.
        // Typed step by step: as one chain, the type checker gives up on a loaded machine.
        let widest = { (paths: [String: Double]) -> [String] in
            let framed: [(key: String, width: Double)] = paths.filter { $0.key.contains(";") }
                .map { (key: $0.key, width: $0.value.rounded()) }
            let sorted = framed.sorted { (a, b) -> Bool in a.width != b.width ? a.width > b.width : a.key < b.key }
            return sorted.prefix(5).map { $0.key }
        }
        #expect(widest(drawn) == widest(expected.paths))
        // Search highlights exactly the frames of that function, and reports its width.
        let searched = try #require(r[12] as? [[Any]])
        let highlighted = searched.filter { ($0[4] as? Bool) == true }.map { $0[0] as? String ?? "" }
        #expect(!highlighted.isEmpty && highlighted.allSatisfy { $0.hasSuffix(";session_registry") || $0.contains(";session_registry;") })
        let sessionWidth = expected.paths.filter { $0.key.hasSuffix(";session_registry") }.map(\.value).reduce(0, +)
        #expect(abs((r[13] as? Double ?? 0) - sessionWidth) <= 2, "matched \(r[13]) vs \(sessionWidth)")
        let zoom = try #require(r[15] as? [Any])
        #expect(abs((zoom[0] as? Double ?? 0) - (zoom[1] as? Double ?? -1)) < 1, "zoomed width \(zoom)")

        // The differential flame graph: b3 → b4 by default; the leak is new and red; b2 → b3 shows the fix blue.
        #expect((r[16] as? [String]) == ["b3", "b4"])
        func frame(_ result: Any, _ leaf: String) -> (fill: (r: Int, g: Int, b: Int)?, state: String)? {
            guard let rects = result as? [[Any]], let rect = rects.first(where: { ($0[0] as? String)?.hasSuffix(";" + leaf) == true }) else { return nil }
            return (Self.rgb(rect[2] as? String ?? ""), rect[3] as? String ?? "")
        }
        let leak = try #require(frame(r[17], "session_registry"))
        #expect(leak.state == "new")
        #expect(leak.fill.map { $0.r > 200 && $0.g < 100 && $0.b < 100 } == true, "leak fill \(String(describing: leak.fill))")
        #expect(frame(r[17], "legacy_pool") == nil, "legacy_pool is in neither b3 nor b4")
        let fix = try #require(frame(r[21], "legacy_pool"))
        #expect(fix.state == "removed")
        #expect(fix.fill.map { $0.b > 200 && $0.r < 100 } == true, "fix fill \(String(describing: fix.fill))")
        #expect(frame(r[21], "session_registry") == nil)

        // check's verdict: b7 adds nothing; the leak is listed as growth that began earlier.
        let check = try #require(r[23] as? [String])
        #expect(check[0] == "pass")
        #expect(check[1].contains("session_registry"))

        let tip = try #require(r[26] as? [String])
        #expect(tip[0] == "block" && tip[1].contains("session_registry") && tip[1].contains("MiB") && tip[1].contains("objects") && tip[1].contains("% of b4"), "\(tip)")
        let normalised = try #require(r[27] as? [Any])
        let rootDelta = normalised[0] as? Double ?? .infinity
        let rootWidth = normalised[1] as? Double ?? 0
        #expect(abs(rootDelta) < 0.002 * rootWidth, "root frames' delta \(rootDelta) of \(rootWidth) when normalised")
        #expect(normalised[2] as? String == "new")

        // Nothing fetched but the page itself, nothing refused, no script error.
        #expect(run.requests == ["file://" + page.path], "requests: \(run.requests)")
        #expect(run.violations.isEmpty, "\(run.violations)")
        #expect(run.exceptions.isEmpty, "\(run.exceptions)")
        for name in ["overview", "growth", "flame", "flame-search", "diff", "diff-fix", "check"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: shot(name))[.size] as? Int) ?? 0
            #expect(size > 5000, "\(name).png: \(size) bytes")
        }
    }
}
