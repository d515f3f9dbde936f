import ArgumentParser
import Foundation
import ProfhistKit

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Store heap dumps, symbolized, as snapshots of a build.",
        discussion: """
            Each file becomes one snapshot, in one transaction: a bad file leaves the store as it was, and the same \
            file ingested again for the same build, run and time (a retry) is not stored twice. Stacks are symbolized against the binaries (ELF symbol tables \
            always, DWARF inline frames and file:line through llvm-symbolizer when it is installed) and stored by \
            function names, so a stack keeps its id across builds.

              profhist ingest out/app.*.heap --build "$(git rev-parse --short HEAD)" --binary target/release/app
              profhist ingest soak-*.heap --build v1.5.0 --run soak-3 --label test=soak --label host=ci-4

            Produce dumps with MALLOC_CONF=prof:true,prof_final:true (one at exit) or by calling \
            mallctl("prof.dump", ...); lg_prof_sample sets the sampling (default 19: every 512 KiB on average).

            pprof profiles (gzipped or not): Go heap profiles keep their names; jemalloc_pprof's (GreptimeDB, \
            other Rust services) are symbolized against --binary, matched by build-id or file name. Go goroutine \
            profiles become task snapshots (top --kind tasks).
            """
    )

    /// The dump files.
    @Argument(help: ArgumentHelp("Files to ingest: jemalloc heap dumps, pprof profiles, or tokio task snapshots.", valueName: "file"))
    var files: [String]

    /// The build the dumps come from.
    @Option(name: .long, help: ArgumentHelp("Build name: a git SHA, a version (required).", valueName: "name"))
    var build: String

    /// The build's branch.
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The build's branch (default: the CI's branch: GITHUB_HEAD_REF, CI_MERGE_REQUEST_SOURCE_BRANCH_NAME, GITHUB_REF_NAME, CI_COMMIT_REF_NAME, BUILDKITE_BRANCH or CIRCLE_BRANCH; else the store's default branch, main unless 'profhist branches --set-default' changed it).",
            valueName: "name"))
    var branch: String?

    /// Where a new branch forked.
    @Option(
        name: .customLong("start-point"),
        help: ArgumentHelp(
            "Where a new branch forked: BRANCH (its newest build now) or BRANCH@BUILD (default: the default branch at its newest build); fixed when the branch is first seen.",
            valueName: "branch[@build]"))
    var startPoint: String?

    /// The build's place within its branch.
    @Option(
        name: .customLong("order-key"),
        help: ArgumentHelp(
            "The build's place within its branch: a commit number, or a commit time (RFC 3339) (default: the time of its first snapshot). Give it for every build of a branch or for none.",
            valueName: "number|time"))
    var orderKey: String?

    /// The run (one execution of the program).
    @Option(
        name: .customLong("run"),
        help: ArgumentHelp(
            "Run name, to group dumps of one execution (default: the process id from jemalloc's file name prefix.PID.SEQ.{f,i,m,u}N.heap; without one, each file is a run of its own).",
            valueName: "name"))
    var runName: String?

    /// When the dump was taken.
    @Option(name: .long, help: ArgumentHelp("Time the dump was taken, RFC 3339 (default: the file's modification time).", valueName: "time"))
    var at: String?

    /// Labels.
    @Option(name: .customLong("label"), help: ArgumentHelp("A label key=value (repeatable).", valueName: "key=value"))
    var labels: [String] = []

    /// Binaries to symbolize with.
    @Option(
        name: .customLong("binary"),
        help: ArgumentHelp(
            "The program (or a shared library) that wrote the dump, matched to the dump's mappings by file name or build-id; repeatable. Libraries at their mapped paths are used when present.",
            valueName: "path"))
    var binaries: [String] = []

    /// Folders holding separate debug files.
    @Option(
        name: .customLong("debug-dir"),
        help: ArgumentHelp(
            "A folder of separate debug files, searched by build-id before /usr/lib/debug: DIR/.build-id/xx/rest.debug, DIR/xx/rest.debug, or a debuginfod cache DIR/BUILDID/debuginfo; repeatable.",
            valueName: "dir"))
    var debugDirectories: [String] = []

    /// Input format.
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Input format; auto detects it from the content: jemalloc heap dumps, tokio-console JSON (console), tokio task dumps (taskdump), console-subscriber recordings (recording), pprof heap and goroutine profiles (pprof, gzipped or not).",
            valueName: "auto|jemalloc|console|taskdump|recording|pprof"))
    var format: InputFormat = .auto

    @OptionGroup var store: StoreOptions

    /// Quiet mode.
    @Flag(name: .shortAndLong, help: "Print only errors and warnings.")
    var quiet = false

    func validate() throws {
        if build.isEmpty { throw ValidationError("--build must not be empty") }
        if let at, Timestamp.parse(at) == nil {
            throw ValidationError(
                "--at '\(at)' is not a valid RFC 3339 time: expected e.g. 2026-01-02T00:10:00Z, a real calendar date, "
                    + "hours 00-23, minutes and seconds 00-59, an offset within ±23:59, a year 0001-9999")
        }
        for label in labels where KeyValue(label)?.key.isEmpty ?? true {
            throw ValidationError("--label '\(label)' must be key=value")
        }
        if let runName, runName.isEmpty { throw ValidationError("--run must not be empty") }
        if let branch, branch.isEmpty { throw ValidationError("--branch must not be empty") }
        if let startPoint, StartPoint(startPoint) == nil {
            throw ValidationError("--start-point '\(startPoint)' must be BRANCH or BRANCH@BUILD")
        }
        if let orderKey, Self.parseOrderKey(orderKey) == nil {
            throw ValidationError("--order-key '\(orderKey)' is neither an integer (a commit number) nor an RFC 3339 time (a commit time)")
        }
        for directory in debugDirectories {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--debug-dir '\(directory)' is not a folder")
            }
        }
    }

    func run() throws {
        if quiet { Store.upgradeNotice = nil }  // -q: errors and warnings only
        var candidates: [BinaryCandidate] = []
        do {
            for path in binaries { candidates.append(try BinaryCandidate(path: path)) }
        } catch {
            throw fail(error)
        }
        let llvm = LLVMSymbolizer.locate()
        if llvm == nil && !quiet {
            printError(
                "profhist: warning: llvm-symbolizer not found: names come from ELF symbol tables (no inlined frames, "
                    + "no file:line); install llvm (apt-get install llvm) for full symbolization")
        }
        let path = store.path
        // Before any file: a refusal (a network file system) applies to them all, and creates nothing.
        do {
            try store.checkFileSystem(writing: true)
        } catch {
            throw fail(error)
        }
        var opened: Store?
        var pipeline = IngestPipeline(
            openStore: {
                if let opened { return opened }
                let created = try Store(path: path, create: true)
                // Before the first write: `check` sees that this store has an ingest in flight.
                IngestInFlight.mark(storePath: path)
                opened = created
                return created
            }, binaries: candidates, llvm: llvm)
        pipeline.debugFiles = DebugFileLocator(directories: debugDirectories)
        if !quiet && isatty(2) != 0 {
            pipeline.progress = { text in
                StandardStreams.writeErrorRaw("\r\u{1B}[K" + text + "…")
            }
        }
        var options = IngestOptions(
            build: build, run: runName, takenAt: at.flatMap(Timestamp.parse),
            labels: labels.compactMap(KeyValue.init).map { ($0.key, $0.value) })
        options.branch = BranchOptions(
            branch: branch ?? BranchOptions.branch(fromEnvironment: ProcessInfo.processInfo.environment),
            startPoint: startPoint.flatMap(StartPoint.init), orderKey: orderKey.flatMap(Self.parseOrderKey))
        var failures = 0
        var ownRuns = 0
        for (index, file) in files.enumerated() {
            let prefix = files.count > 1 ? "[\(index + 1)/\(files.count)] " : ""
            do {
                let report = try pipeline.ingest(path: file, format: format, options: options)
                if pipeline.progress != nil { StandardStreams.writeErrorRaw("\r\u{1B}[K") }
                for warning in report.warnings { printError("profhist: warning: \(warning)") }
                if report.kind == .heap && report.placement.runIsTheFile {
                    ownRuns += 1
                    if ownRuns == 1 { printError(Self.ownRunNotice(file: file, run: report.placement.run)) }
                }
                if case .skipped(let existing) = report.outcome {
                    // Even with -q: a file that was not stored must never pass unseen.
                    printError(
                        "\(prefix)\(file): already stored as snapshot \(existing) for build \(build), run "
                            + "\(report.placement.run) and the same time; not stored again")
                    continue
                }
                guard !quiet else { continue }
                switch report.outcome {
                case .stored(let id, let stacks, let total):
                    let summary = report.format.summary(stacks: stacks, total: total)
                    printError(
                        "\(prefix)\(file): stored as snapshot \(id) (build \(build), \(report.format.name)): \(summary), "
                            + "\(String(format: "%.2f", report.seconds)) s")
                case .skipped:
                    break
                }
            } catch {
                if pipeline.progress != nil { StandardStreams.writeErrorRaw("\r\u{1B}[K") }
                failures += 1
                _ = fail(error)
            }
        }
        if ownRuns > 1 {
            printError("profhist: warning: \(ownRuns) heap dumps had no process id in their names: each is a run of its own")
        }
        if failures > 0 { throw ExitCode.failure }
    }

    /// An order key: an integer as it is (a commit number), or an RFC 3339 time as epoch milliseconds.
    static func parseOrderKey(_ text: String) -> Int64? {
        Int64(text) ?? Timestamp.parse(text)
    }

    /// Said once per command: a run is never merged on a guess, so the user learns how to group the dumps.
    static func ownRunNotice(file: String, run: String) -> String {
        "profhist: warning: \(file): no --run and no process id in the file name (jemalloc names its dumps "
            + "prefix.PID.SEQ.{f,i,m,u}N.heap), so it is stored as a run of its own ('\(run)'); pass --run NAME to keep "
            + "the dumps of one process together"
    }
}

extension InputFormat: ExpressibleByArgument {}
