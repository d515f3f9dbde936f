import ArgumentParser
import Foundation
import ProfhistKit

extension Metric: ExpressibleByArgument {}
extension PointAxis: ExpressibleByArgument {}
extension Grouping: ExpressibleByArgument {}
extension ExportFormat: ExpressibleByArgument {}

/// The direction of a ranking.
enum RankOrder: String, CaseIterable, ExpressibleByArgument {
    case grow, shrink
}

/// Filters shared by `top`, `diff`, `export` and `report`.
struct SeriesOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The branch whose history is read: its start point's builds up to the fork, then its own (default: the store's default branch; for one --build or --snapshot, its own branch).",
            valueName: "name"))
    var branch: String?

    @Option(name: .long, help: ArgumentHelp("Builds in range, inclusive, in build order: FROM..TO, FROM.. or ..TO.", valueName: "from..to"))
    var builds: String?

    @Option(name: .long, help: ArgumentHelp("Only snapshots taken at or after this time (RFC 3339).", valueName: "time"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Only snapshots taken at or before this time (RFC 3339).", valueName: "time"))
    var until: String?

    @Option(name: .long, help: ArgumentHelp("Only this run.", valueName: "name"))
    var run: String?

    @Option(name: .customLong("label"), help: ArgumentHelp("Only snapshots with this label (repeatable; all must match).", valueName: "key=value"))
    var labels: [String] = []

    @OptionGroup var kind: KindOption

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The number. heap: inuse_space (bytes; default), inuse_objects, alloc_space, alloc_objects. tasks: live_tasks (default), idle_tasks, running_tasks, scheduled_tasks, completed_tasks, polls, busy_ns, scheduled_ns, wakes, self_wakes, lost_wakers.",
            valueName: "metric"))
    var metric: Metric?

    @Option(name: .long, help: ArgumentHelp("Rows are whole stacks, leaf functions (jeprof's flat) or every function (jeprof's cum).", valueName: "stack|leaf|function"))
    var group: Grouping = .stack

    func validate() throws {
        if let since, Timestamp.parse(since) == nil { throw ValidationError("--since '\(since)' is not an RFC 3339 time") }
        if let until, Timestamp.parse(until) == nil { throw ValidationError("--until '\(until)' is not an RFC 3339 time") }
        if let builds, !builds.contains("..") { throw ValidationError("--builds must be FROM..TO, FROM.. or ..TO") }
        try validateKeyValues(labels, option: "--label")
        try kind.validate(metric: metric)
    }

    var filter: SeriesFilter {
        var filter = SeriesFilter()
        filter.kind = kind.value
        filter.metric = metric ?? Metric.standard(kind: kind.value)
        if let builds, let range = builds.range(of: "..") {
            let from = String(builds[..<range.lowerBound])
            let to = String(builds[range.upperBound...])
            filter.fromBuild = from.isEmpty ? nil : from
            filter.toBuild = to.isEmpty ? nil : to
        }
        filter.since = since.flatMap(Timestamp.parse)
        filter.until = until.flatMap(Timestamp.parse)
        filter.run = run
        filter.labels = labels
        filter.branch = branch
        return filter
    }
}

struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Rank stacks by growth across builds, with the build where growth began.",
        discussion: """
            Each stack's series has one point per build (the mean of the build's snapshots; runs are replicates) \
            or, with --by snapshot, one per snapshot. A change point (the best Welch split, searched again inside \
            each side) dates each shift; a stack is listed when a rise persists to the last point, is significant \
            (p below --alpha after correction for the splits searched, and Benjamini-Hochberg q below --fdr over \
            every stack tested) and large enough (--min-delta, 0.1% of the heap, 5% of its own level). A stack that \
            rises at every one of its last points (5 at --alpha 0.01), each step beyond jemalloc's sampling noise, \
            is significant with that few points (a short soak). A rise that gave back more than half by the last \
            point is a rise and fall, not growth. regressed_at is the first build (or time) after the shift; \
            change is the last level minus the level before it, delta the last point minus the first.

              profhist top                           # growth across all builds
              profhist top --by snapshot --run soak  # growth inside one run
              profhist top --order shrink            # fixed leaks, dated by the fix
              profhist top --all --format csv        # every stack with its numbers

            Machine columns: rank, stack_id, leaf, stack, first, last, delta, slope, p_value, regressed_at, \
            q_value, before, after, change, share, significant, points.
            """
    )

    @OptionGroup var series: SeriesOptions

    @OptionGroup var tests: GrowthTestOptions

    @Option(name: .long, help: ArgumentHelp("grow: biggest growth first; shrink: biggest fall first.", valueName: "grow|shrink"))
    var order: RankOrder = .grow

    @Option(name: .long, help: ArgumentHelp("Rows to show (0: all).", valueName: "n"))
    var limit: Int = 20

    @Flag(name: .long, help: "Also list stacks that failed the tests, with their numbers.")
    var all = false

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if limit < 0 { throw ValidationError("--limit must be 0 or more") }
    }

    func run() throws {
        try reportingErrors {
            let opened = try store.openForReading()
            var options = GrowthOptions()
            tests.apply(to: &options)
            options.grouping = series.group
            options.growing = order == .grow
            options.limit = limit
            options.includeAll = all
            let ranking = GrowthRanking(filter: series.filter, options: options)
            let report = try opened.queue.read { db in try ranking.run(db) }
            var table = GrowthTable(
                metric: series.filter.metric, axis: tests.axis, growing: order == .grow, grouping: series.group,
                format: output.format)
            table.headers = output.headers
            table.lineWidth = TerminalWidth.current()
            table.write(report)
        }
    }
}

/// The options of `top`'s tests, shared by every command that ranks growth (`top`, `report`).
struct GrowthTestOptions: ParsableArguments {
    @Option(name: .customLong("by"), help: ArgumentHelp("Points of the series.", valueName: "build|snapshot"))
    var axis: PointAxis = .build

    @Option(name: .customLong("min-delta"), help: ArgumentHelp("Smallest change that counts, in the metric's units (bytes for inuse_space).", valueName: "amount"))
    var minDelta: Double = 0

    @Option(name: .long, help: ArgumentHelp("Significance level for a change point, a trend or a steady rise.", valueName: "p"))
    var alpha: Double = 0.01

    @Option(
        name: .long,
        help: ArgumentHelp(
            "False discovery rate: a stack is listed when its Benjamini-Hochberg q over every stack tested is below this.",
            valueName: "q"))
    var fdr: Double = 0.05

    func validate() throws {
        if !(alpha > 0 && alpha < 1) { throw ValidationError("--alpha must be between 0 and 1") }
        if !(fdr > 0 && fdr <= 1) { throw ValidationError("--fdr must be above 0 and at most 1") }
        if minDelta < 0 { throw ValidationError("--min-delta must be 0 or more") }
    }

    /// Sets the series axis and the tests' thresholds.
    func apply(to options: inout GrowthOptions) {
        options.axis = axis
        options.minDelta = minDelta
        options.alpha = alpha
        options.fdr = fdr
    }
}

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two builds (or snapshots) stack by stack.",
        discussion: """
            jeprof --base done across builds: stacks are matched by function names, so two different binaries \
            compare correctly. A build's value is the mean of its snapshots.

              profhist diff --base v1.4.0 --target v1.5.0
              profhist diff --base snapshot:12 --target snapshot:19 --group leaf
              profhist diff --base v1.4.0 --target v1.5.0 --format pprof --output growth.pb.gz
              go tool pprof -top growth.pb.gz

            Machine columns: stack_id, leaf, stack, base, target, delta, delta_pct (percent of the base total).
            """
    )

    @Option(name: .long, help: ArgumentHelp("The base: a build name or snapshot:ID.", valueName: "selection"))
    var base: String

    @Option(name: .long, help: ArgumentHelp("The target: a build name or snapshot:ID.", valueName: "selection"))
    var target: String

    @OptionGroup var series: SeriesOptions

    @Option(name: .long, help: ArgumentHelp("grow: biggest increase first; shrink: biggest decrease first.", valueName: "grow|shrink"))
    var order: RankOrder = .grow

    @Option(name: .long, help: ArgumentHelp("Rows to show (0: all).", valueName: "n"))
    var limit: Int = 20

    @OptionGroup var store: StoreOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Output: table, csv, tsv, json, jsonl, folded ('stack BASE TARGET' lines for difffolded.pl and inferno-diff-folded), or pprof (target minus base, gzipped, every metric; needs --output).",
            valueName: "format"))
    var format: ExportFormat = .table

    @Option(name: .long, help: ArgumentHelp("Write to this file (atomically); for --format pprof.", valueName: "path"))
    var output: String?

    @Flag(name: .customLong("no-headers"), help: "Leave out the header row (csv, tsv, table).")
    var noHeaders = false

    func validate() throws {
        guard DiffSelection(base) != nil else { throw ValidationError("--base must be a build name or snapshot:ID") }
        guard DiffSelection(target) != nil else { throw ValidationError("--target must be a build name or snapshot:ID") }
        if limit < 0 { throw ValidationError("--limit must be 0 or more") }
        if format == .pprof && output == nil { throw ValidationError("--format pprof needs --output FILE") }
        if format != .pprof && output != nil { throw ValidationError("--output goes with --format pprof") }
    }

    func run() throws {
        try reportingErrors {
            let opened = try store.openForReading()
            if format == .pprof, let output {
                try writePprof(opened, to: output)
                return
            }
            // validate() has checked both selections.
            guard let baseSide = DiffSelection(base), let targetSide = DiffSelection(target) else { return }
            var diff = HeapDiff(base: baseSide, target: targetSide, filter: series.filter)
            diff.grouping = series.group
            diff.growing = order == .grow
            diff.limit = format == .folded ? 0 : limit
            let result = try opened.queue.read { db in try diff.run(db) }
            var table = DiffTable(
                metric: series.filter.metric, grouping: series.group, baseName: base, targetName: target, format: format)
            table.headers = !noHeaders
            table.lineWidth = TerminalWidth.current()
            table.write(result)
        }
    }

    /// Target minus base as a pprof profile.
    private func writePprof(_ opened: Store, to path: String) throws {
        guard let base = DiffSelection(base), let target = DiffSelection(target) else { return }
        let file = try OutputFile(path: path, protecting: store.path)
        do {
            let data = try opened.queue.read { db in try PprofExport(filter: series.filter).diff(db, base: base, target: target) }
            file.write(data)
            try file.commit()
        } catch {
            file.abandon()
            throw error
        }
    }
}
