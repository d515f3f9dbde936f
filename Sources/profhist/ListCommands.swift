import ArgumentParser
import Foundation
import ProfhistKit

struct SnapshotsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots",
        abstract: "List stored snapshots in time order.",
        discussion: "Columns: id, kind, build, run, taken_at, total (in-use bytes for heap), total_objects, stacks, format, sample_period, labels, source."
    )

    @Option(name: .long, help: ArgumentHelp("Only this build.", valueName: "name")) var build: String?
    @Option(name: .long, help: ArgumentHelp("Only this kind.", valueName: "heap|tasks")) var kind: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The snapshots of this branch's history (default: the store's default branch; with --build, any branch).",
            valueName: "name"))
    var branch: String?
    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let kind { _ = try KindOption.parse(kind) }
    }

    func run() throws {
        try reportingErrors {
            let kind = try kind.map(KindOption.parse)
            try Reports.snapshots(
                try store.openForReading(), kind: kind, build: build, branch: branch, format: output.format, headers: output.headers)
        }
    }
}

struct BuildsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "builds",
        abstract: "List a branch's builds in order (by their order key, else their first snapshot).",
        discussion: """
            A branch's history: its start point's builds up to the fork, then its own (default: the store's default \
            branch). Columns: position, build, first_taken_at, last_taken_at, snapshots, runs, mean_total, max_total \
            (in-use bytes; live tasks with --kind tasks), branch (the branch the build belongs to).
            """
    )

    @Option(name: .long, help: ArgumentHelp("Totals of this kind, and only builds that have it.", valueName: "heap|tasks")) var kind: String?
    @Option(name: .long, help: ArgumentHelp("The branch whose history is listed (default: the store's default branch).", valueName: "name"))
    var branch: String?
    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let kind { _ = try KindOption.parse(kind) }
    }

    func run() throws {
        try reportingErrors {
            let kind = try kind.map(KindOption.parse)
            try Reports.builds(try store.openForReading(), kind: kind, branch: branch, format: output.format, headers: output.headers)
        }
    }
}

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one stack, root to leaf, with file:line.",
        discussion: """
            Lines come from the named build, else from the latest build that has the stack (lines may differ \
            between builds; the stack's identity is its function names). The leaf is the innermost frame that is \
            not allocator plumbing.
            """
    )

    @Argument(help: ArgumentHelp("The stack id (from export, top or diff).", valueName: "stack-id")) var stackID: Int64
    @Option(name: .long, help: ArgumentHelp("Take file:line from this build.", valueName: "name")) var build: String?
    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            try Reports.show(try store.openForReading(), stack: stackID, build: build, format: output.format, headers: output.headers)
        }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export samples for dashboards, spreadsheets and flame graphs.",
        discussion: """
            Long format (csv, tsv, json, jsonl, table): one row per (snapshot, stack, metric) with the columns \
            snapshot_id, kind, build, run, taken_at (RFC 3339), stack_id, leaf, stack, metric, value, \
            taken_at_unix (epoch seconds, for Grafana), labels. stack is folded: frames root to leaf joined by \
            ';' (a ';' inside a frame name is written ':'). Metrics: inuse_space (bytes) and inuse_objects, \
            unsampled as jeprof does; alloc_space and alloc_objects with prof_accum:true. Rows stream.

            --format folded: 'frame;frame;frame VALUE' per stack, the mean over the selected snapshots \
            (use --snapshot ID or --build NAME): input for flamegraph.pl, inferno-flamegraph, speedscope.

            --wide: one row per build (or snapshot, --by snapshot) and one column per stack among the --top \
            ranked by growth: a sheet to chart.

            --format pprof: a gzipped pprof profile (--output FILE, or stdout) of one snapshot (--snapshot ID) or \
            a build's mean (--build NAME), every metric of the kind a sample type, for go tool pprof, Pyroscope \
            and Parca.

              profhist export --format csv --output memory.csv
              profhist export --build v1.5.0 --format folded | flamegraph.pl > v1.5.0.svg
              profhist export --build v1.5.0 --format pprof --output v1.5.0.pb.gz && go tool pprof -top v1.5.0.pb.gz
              profhist export --wide --top 10 --format csv
            """
    )

    @Option(name: .long, help: ArgumentHelp("Only this build.", valueName: "name")) var build: String?
    @Option(name: .long, help: ArgumentHelp("Only this snapshot.", valueName: "id")) var snapshot: Int64?
    @OptionGroup var series: SeriesOptions

    @Option(name: .long, help: ArgumentHelp("Output format.", valueName: "table|csv|tsv|json|jsonl|folded|pprof"))
    var format: ExportFormat = .table

    @Flag(name: .long, help: "One row per build (or snapshot), one column per stack (see --top, --by).")
    var wide = false

    @Option(name: .long, help: ArgumentHelp("Stacks in the --wide table: the top N by growth.", valueName: "n"))
    var top: Int = 10

    @Option(name: .customLong("by"), help: ArgumentHelp("Rows of the --wide table.", valueName: "build|snapshot"))
    var axis: PointAxis = .build

    @Option(name: .long, help: ArgumentHelp("Write to this file (a regular file atomically: a temporary file renamed at the end; a device or FIFO directly; never the store).", valueName: "path"))
    var output: String?

    @Flag(name: .customLong("no-headers"), help: "Leave out the header row.")
    var noHeaders = false

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if wide && (format == .folded || format == .pprof) {
            throw ValidationError("--wide and --format \(format.rawValue) do not go together")
        }
        if top < 1 { throw ValidationError("--top must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            let opened = try store.openForReading()
            var filter = series.filter
            if let build { filter.builds = [build] }
            filter.snapshot = snapshot
            var export = Export(filter: filter)
            export.metrics = series.metric.map { [$0] }
            export.grouping = series.group
            export.headers = !noHeaders
            let file = try output.map { try OutputFile(path: $0, protecting: store.path) }
            let sink: (String) -> Void = { text in
                if let file { file.write(text) } else { StandardStreams.write(text) }
            }
            do {
                try opened.queue.read { db in
                    if format == .pprof {
                        let (data, count) = try PprofExport(filter: filter).snapshot(db)
                        if let file { file.write(data) } else { StandardStreams.write(data) }
                        if count > 1 { printError("profhist: export: pprof values are the mean over \(count) snapshots") }
                    } else if wide {
                        try export.wide(db, axis: axis, top: top, format: format.rowFormat ?? .table, sink: sink)
                    } else if format == .folded {
                        let count = try export.folded(db, sink: sink)
                        if count > 1 { printError("profhist: export: folded values are the mean over \(count) snapshots") }
                    } else {
                        try export.long(db, format: format.rowFormat ?? .table, sink: sink)
                    }
                }
                try file?.commit()
            } catch {
                file?.abandon()
                throw error
            }
        }
    }
}

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run a named query from the embedded Queries/ folder.",
        discussion: """
            profhist query --list                          # names and summaries
            profhist query list_snapshots --param build=v1.5.0 --format csv

            Parameters are bound by name (:build in the SQL); a parameter not given is NULL.
            """
    )

    @Argument(help: ArgumentHelp("The query name.", valueName: "name")) var name: String?
    @Option(name: .customLong("param"), help: ArgumentHelp("A parameter key=value (repeatable).", valueName: "key=value"))
    var parameters: [String] = []
    @Flag(name: .long, help: "List the named queries.") var list = false
    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if !list && name == nil { throw ValidationError("give a query name, or --list") }
        try validateKeyValues(parameters, option: "--param")
    }

    func run() throws {
        try reportingErrors {
            if list {
                let writer = RowWriter(format: output.format, columns: [Column("name"), Column("summary")], headers: output.headers)
                for query in Store.queries { writer.write([.text(query.name), .text(query.summary)]) }
                writer.finish()
                return
            }
            var bound: [String: String] = [:]
            for parameter in parameters.compactMap(KeyValue.init) { bound[parameter.key] = parameter.value }
            try Reports.runNamedQuery(try store.openForReading(), name: name ?? "", textParameters: bound, format: output.format, headers: output.headers)
        }
    }
}
