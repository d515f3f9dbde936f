import ArgumentParser
import Foundation
import ProfhistKit

/// `--db`, shared by every command.
struct StoreOptions: ParsableArguments {
    /// The store file.
    @Option(name: .long, help: ArgumentHelp("The store file (default: $PROFHIST_DB, else ./profhist.db).", valueName: "path"))
    var db: String?

    var path: String {
        if let db, !db.isEmpty { return db }
        if let environment = ProcessInfo.processInfo.environment["PROFHIST_DB"], !environment.isEmpty { return environment }
        return "profhist.db"
    }

    /// Opens the store for reading; a missing store is an error (most often a wrong path), a store on a network
    /// file system a warning.
    func openForReading() throws -> Store {
        try checkFileSystem(writing: false)
        return try Store(path: path, create: false)
    }

    /// Warns about, or for a writer refuses, a store on a file system where SQLite's WAL mode is unsafe.
    func checkFileSystem(writing: Bool) throws {
        let allow = ProcessInfo.processInfo.environment[Store.allowNetworkFileSystemVariable].map { !$0.isEmpty && $0 != "0" } ?? false
        if let warning = try Store.checkFileSystem(
            path: path, writing: writing, allowNetwork: allow, fileSystem: StoreFileSystem.of(path: path))
        {
            printError("profhist: warning: \(warning)")
        }
    }
}

extension OutputFormat: ExpressibleByArgument {}

/// `--kind`, shared by every command that ranks or exports a series (`top`, `diff`, `export`, `report`, `check`).
struct KindOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Snapshot kind.", valueName: "heap|tasks"))
    var kind: String = "heap"

    func validate() throws { _ = try KindOption.parse(kind) }

    /// The kind (validated).
    var value: SnapshotKind { SnapshotKind(rawValue: kind) ?? .heap }

    /// The one parser of `--kind` values, for this group and the commands that list (`snapshots`, `builds`).
    static func parse(_ text: String) throws -> SnapshotKind {
        guard let kind = SnapshotKind(rawValue: text) else {
            throw ValidationError("--kind must be heap or tasks, not '\(text)'")
        }
        return kind
    }

    /// A metric of another kind is a usage error that says which `--kind` it needs.
    func validate(metric: Metric?) throws {
        if let metric, metric.kind != value {
            throw ValidationError("--metric \(metric.rawValue) is a \(metric.kind) metric; add --kind \(metric.kind)")
        }
    }
}

/// Checks `key=value` options (`--label`, `--param`): each must have an `=`.
func validateKeyValues(_ texts: [String], option: String) throws {
    for text in texts where KeyValue(text) == nil {
        throw ValidationError("\(option) '\(text)' must be key=value")
    }
}

/// `--format` and `--no-headers`, shared by every command that prints rows.
struct OutputOptions: ParsableArguments {
    /// How rows are printed.
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Output format: table (for people), csv, tsv, json or jsonl (for machines; plain numbers, RFC 3339 times).",
            valueName: OutputFormat.allCases.map(\.rawValue).joined(separator: "|")))
    var format: OutputFormat = .table

    /// Leave out the header row (csv, tsv, table).
    @Flag(name: .customLong("no-headers"), help: "Leave out the header row (csv, tsv, table).")
    var noHeaders = false

    var headers: Bool { !noHeaders }
}

/// Prints `profhist: error: ...` and exits 1: the convention for bad input and failed commands.
func fail(_ error: Error) -> ExitCode {
    // A reader that went away (EPIPE on a FIFO or pipe given as --output) ends the command quietly.
    if case .brokenPipe = error as? OutputError { return ExitCode.failure }
    let message = Store.describe(error)
    StandardStreams.writeError("profhist: error: \(message)")
    return ExitCode.failure
}

/// Runs `body`, turning library errors into a message and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        throw fail(error)
    }
}

func printError(_ text: String) {
    StandardStreams.writeError(text)
}
