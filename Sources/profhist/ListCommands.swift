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
    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            try Reports.snapshots(try store.openForReading(), kind: kind, build: build, format: output.format, headers: output.headers)
        }
    }
}

struct BuildsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "builds",
        abstract: "List builds in order of their first snapshot.",
        discussion: "Columns: position, build, first_taken_at, last_taken_at, snapshots, runs, mean_total, max_total (bytes)."
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            try Reports.builds(try store.openForReading(), format: output.format, headers: output.headers)
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
        abstract: "Export every sample in the long format, for dashboards and scripts.",
        discussion: """
            One row per (snapshot, stack, metric): snapshot_id, kind, build, run, taken_at, stack_id, leaf, stack, \
            metric, value, taken_at_unix. stack is folded (frames root to leaf joined by ';'). Metrics: inuse_space \
            (bytes) and inuse_objects, unsampled as jeprof does; alloc_space and alloc_objects with prof_accum:true.

              profhist export --format csv > memory.csv
            """
    )

    @Option(name: .long, help: ArgumentHelp("Only this build.", valueName: "name")) var build: String?
    @Option(name: .long, help: ArgumentHelp("Only this snapshot.", valueName: "id")) var snapshot: Int64?
    @Option(name: .long, help: ArgumentHelp("Only this kind.", valueName: "heap|tasks")) var kind: String?
    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            try Reports.export(
                try store.openForReading(), kind: kind, build: build, snapshot: snapshot, format: output.format,
                headers: output.headers)
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
        for parameter in parameters where !parameter.contains("=") {
            throw ValidationError("--param '\(parameter)' must be key=value")
        }
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
            for parameter in parameters {
                let equals = parameter.firstIndex(of: "=")!
                bound[String(parameter[..<equals])] = String(parameter[parameter.index(after: equals)...])
            }
            try Reports.runNamedQuery(try store.openForReading(), name: name ?? "", textParameters: bound, format: output.format, headers: output.headers)
        }
    }
}
