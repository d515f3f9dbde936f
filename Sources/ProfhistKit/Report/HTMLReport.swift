import Foundation
import GRDB

/// What `profhist report` shows: the series, `top`'s rows, flame-graph data, tasks and `check`'s verdict, as one
/// JSON document that the page's script draws.
public struct HTMLReportData: Sendable, Encodable {
    /// One series section (heap, or tasks).
    public struct Section: Sendable, Encodable {
        public var kind: SnapshotKind
        public var metric: String
        public var isBytes: Bool
        public var axis: String
        /// Point labels (build names, or RFC 3339 times with `--by snapshot`).
        public var points: [String] = []
        /// Mean total per point.
        public var totals: [Double] = []
        /// Per run: its name and its total per point (nil where the run has no snapshot).
        public var runs: [Run] = []
        /// Points where significant growth began (the rows' `regressed_at`), with the stacks.
        public var regressions: [Regression] = []
        public var rows: [Row] = []
        public var keysTested = 0
        /// A second metric's rows (tasks: idle tasks), keyed by metric.
        public var extra: [String: [Row]] = [:]
    }

    public struct Run: Sendable, Encodable {
        public var name: String
        public var values: [Double?]
    }

    public struct Regression: Sendable, Encodable {
        public var point: String
        public var leaves: [String]
    }

    public struct Row: Sendable, Encodable {
        public var rank: Int
        public var id: Int64
        public var leaf: String
        public var stack: String
        public var first, last, delta, slope, pValue, qValue, change, share: Double
        public var regressedAt: String?
        public var significant: Bool
        public var series: [Double]
        /// Frames root to leaf with file:line where known (stacks only; the first rows only).
        public var frames: [Frame]?
    }

    public struct Frame: Sendable, Encodable {
        public var name: String
        public var location: String?
        public var role: String?
    }

    public struct Check: Sendable, Encodable {
        public struct Finding: Sendable, Encodable {
            public var id: Int64
            public var leaf: String
            public var previous, current, growth, pValue: Double
            public var accepted: String?
        }
        public var verdict: String
        public var reason: String?
        public var build: String
        public var history: [String]
        public var failures: [Finding]
        public var accepted: [Finding]
        public var earlier: [Finding]
        public var markdown: String
    }

    public var title: String
    public var generated: String
    public var store: String
    public var heap: Section?
    public var flame: FlameTree?
    /// Builds of the flame data (its points) and the differential flame graph's default pair.
    public var flameBuilds: [String] = []
    public var diffBase: String?
    public var diffTarget: String?
    public var tasks: Section?
    public var check: Check?
}

/// Options of `profhist report`.
public struct HTMLReportOptions: Sendable {
    public var filter = SeriesFilter()
    public var growth = GrowthOptions()
    /// Run `check` (with these options) and show its verdict.
    public var check: CheckOptions?
    /// Rows whose stacks (frames, file:line) are embedded.
    public var framesFor = 50
    public var flameMinimumShare = 0.001
    public var flameMaximumNodes = 3000
    public var title = "profhist report"

    public init() {
        growth.limit = 100
        growth.includeAll = true
    }
}

/// Gathers a report's data from a store and renders the page (`HTMLReportPage`).
public struct HTMLReport {
    public var options: HTMLReportOptions

    public init(options: HTMLReportOptions) { self.options = options }

    /// The whole page, ready to write.
    public func render(_ store: Store) throws -> String {
        let data = try gather(store)
        return try HTMLReportPage.render(data)
    }

    public func gather(_ store: Store) throws -> HTMLReportData {
        var data = try gatherSeries(store)
        // Frames with file:line, as `show` prints them (it reads the store itself, so after the read above).
        if options.growth.grouping == .stack, var heap = data.heap {
            for i in heap.rows.indices where heap.rows[i].rank <= options.framesFor {
                heap.rows[i].frames = try stackFrames(store, heap.rows[i].id)
            }
            data.heap = heap
        }
        return data
    }

    private func gatherSeries(_ store: Store) throws -> HTMLReportData {
        try store.queue.read { db in
            var data = HTMLReportData(
                title: options.title, generated: Timestamp.rfc3339(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)),
                store: URL(fileURLWithPath: store.path).lastPathComponent)
            let kinds = try Set(String.fetchAll(db, sql: "SELECT DISTINCT kind FROM snapshot").compactMap(SnapshotKind.init))
            if options.filter.kind == .heap && kinds.contains(.heap) {
                data.heap = try section(db, filter: options.filter)
                try addFlame(db, to: &data)
            } else if options.filter.kind == .tasks {
                data.tasks = try section(db, filter: options.filter)
            }
            if options.filter.kind == .heap && kinds.contains(.tasks) {
                var filter = options.filter
                filter.kind = .tasks
                filter.metric = .liveTasks
                data.tasks = try section(db, filter: filter)
            }
            if var tasks = data.tasks, tasks.metric == Metric.liveTasks.rawValue {
                var filter = options.filter
                filter.kind = .tasks
                filter.metric = .idleTasks
                tasks.extra[Metric.idleTasks.rawValue] = try rows(db, filter: filter).rows
                data.tasks = tasks
            }
            if let check = options.check { data.check = try checkVerdict(db, options: check) }
            return data
        }
    }

    // MARK: - Sections

    private func section(_ db: Database, filter: SeriesFilter) throws -> HTMLReportData.Section {
        var section = HTMLReportData.Section(
            kind: filter.kind, metric: filter.metric.rawValue, isBytes: filter.metric.isBytes, axis: options.growth.axis.rawValue)
        let points = try filter.points(db, axis: options.growth.axis)
        section.points = points.map(\.label)
        section.totals = points.map { $0.meanTotal(for: filter.metric) }
        var runIndex: [String: Int] = [:]
        for (x, point) in points.enumerated() {
            var perRun: [String: [Double]] = [:]
            for snapshot in point.snapshots { perRun[snapshot.run, default: []].append(snapshot.total(for: filter.metric)) }
            for (run, values) in perRun.sorted(by: { $0.key < $1.key }) {
                if runIndex[run] == nil {
                    runIndex[run] = section.runs.count
                    section.runs.append(HTMLReportData.Run(name: run, values: Array(repeating: nil, count: points.count)))
                }
                section.runs[runIndex[run] ?? 0].values[x] = values.reduce(0, +) / Double(values.count)
            }
        }
        let ranked = try rows(db, filter: filter)
        section.rows = ranked.rows
        section.keysTested = ranked.keysTested
        var regressions: [String: [String]] = [:]
        for row in ranked.rows where row.significant { if let at = row.regressedAt { regressions[at, default: []].append(row.leaf) } }
        section.regressions = section.points.compactMap { point in
            regressions[point].map { HTMLReportData.Regression(point: point, leaves: $0) }
        }
        return section
    }

    private func rows(_ db: Database, filter: SeriesFilter) throws -> (rows: [HTMLReportData.Row], keysTested: Int) {
        let report = try GrowthRanking(filter: filter, options: options.growth).run(db)
        let rows = report.rows.map { row in
            HTMLReportData.Row(
                rank: row.rank, id: row.key, leaf: row.leaf, stack: row.stack, first: row.first, last: row.last, delta: row.delta,
                slope: row.slope, pValue: row.pValue, qValue: row.qValue, change: row.change, share: row.share,
                regressedAt: row.regressedAt, significant: row.significant, series: row.series, frames: nil)
        }
        return (rows, report.keysTested)
    }

    /// The frames of a stack as `show` prints them (file:line from the latest build that has the stack).
    private func stackFrames(_ store: Store, _ stack: Int64) throws -> [HTMLReportData.Frame] {
        var text = ""
        try Reports.show(store, stack: stack, build: nil, format: .json) { text += $0 }
        let objects = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? []
        return objects.map { object in
            HTMLReportData.Frame(
                name: object["frame"] as? String ?? "", location: object["location"] as? String,
                role: (object["role"] as? String).flatMap { $0.isEmpty ? nil : $0 })
        }
    }

    // MARK: - Flame graphs

    private func addFlame(_ db: Database, to data: inout HTMLReportData) throws {
        let filter = options.filter
        let points = try filter.points(db, axis: .build)
        guard !points.isEmpty else { return }
        let objects: Metric? = filter.metric == .inuseSpace ? .inuseObjects : (filter.metric == .allocSpace ? .allocObjects : nil)
        let builder = FlameTreeBuilder(minimumShare: options.flameMinimumShare, maximumNodes: options.flameMaximumNodes)
        data.flame = try builder.build(db, points: points, metric: filter.metric, objects: objects)
        data.flameBuilds = points.map(\.label)
        // The differential flame graph opens on the top regression: the build before it and its build.
        let labels = data.flameBuilds
        let top = data.heap?.rows.first { $0.significant && $0.regressedAt != nil }
        if options.growth.axis == .build, let at = top?.regressedAt, let i = labels.firstIndex(of: at), i > 0 {
            data.diffBase = labels[i - 1]
            data.diffTarget = at
        } else if labels.count >= 2 {
            data.diffBase = labels[labels.count - 2]
            data.diffTarget = labels[labels.count - 1]
        }
    }

    // MARK: - Check

    private func checkVerdict(_ db: Database, options check: CheckOptions) throws -> HTMLReportData.Check {
        var filter = SeriesFilter()
        filter.kind = options.filter.kind
        filter.metric = options.filter.metric
        filter.run = options.filter.run
        filter.labels = options.filter.labels
        filter.branch = options.filter.branch
        let report = try GrowthCheck(filter: filter, options: check).run(db)
        func finding(_ f: CheckFinding) -> HTMLReportData.Check.Finding {
            .init(id: f.row.key, leaf: f.row.leaf, previous: f.previous, current: f.current, growth: f.growth, pValue: f.pValue, accepted: f.acceptance?.reason)
        }
        let verdict: String
        var reason: String?
        switch report.verdict {
        case .pass: verdict = "pass"
        case .fail: verdict = "fail"
        case .undecided(let why):
            verdict = "undecided"
            reason = why
        }
        return HTMLReportData.Check(
            verdict: verdict, reason: reason, build: report.target, history: report.history, failures: report.failures.map(finding),
            accepted: report.accepted.map(finding),
            earlier: report.earlier.map { .init(id: $0.key, leaf: $0.leaf, previous: $0.before, current: $0.last, growth: $0.change, pValue: $0.pValue, accepted: nil) },
            markdown: CheckSummary.markdown(report))
    }
}
