import ArgumentParser
import Foundation
import ProfhistKit

/// Output of `check`.
enum CheckFormat: String, CaseIterable, ExpressibleByArgument {
    case text, markdown, json
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Fail when the last ingested build's memory grows: a CI gate, with a Markdown summary.",
        discussion: """
            Compares the build ingested last (or --build) with the builds before it, using top's statistics: a stack \
            fails when a significant rise begins at that build and it grows by at least --max-growth and \
            --max-growth-pct of its previous level. Several runs per build (--run at ingest) strengthen the test.

            A build after an unfixed leak passes: the growth began earlier and failed at its own build; the report \
            lists it. A leak that grows again fails again. Accepted growth (--accept, --accept-file) is listed but \
            does not fail.

              profhist check                                   # the build ingested last against the 10 before it
              profhist check --build "$GIT_SHA" --summary "$GITHUB_STEP_SUMMARY"
              profhist check --accept 79 --accept leaf:warm_cache
              profhist check --build "$PR_SHA"                 # a pull request's build, against its branch's history

            Branches: a build is judged against its branch's history: for a pull request's branch, the builds of \
            its start point (main) up to the fork, then the branch's earlier builds; the report names them.

            Accept file: one line per growth, 'STACK_ID|leaf:NAME  EXPIRY_BUILD|-  reason', '#' comments; an \
            acceptance covers builds up to its expiry build.

            Exit status: 0 pass, 1 significant growth, 2 could not decide (no store, too little history, or an \
            error), 64 usage error.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The build to judge (default: the build ingested last, whatever its time).", valueName: "name"))
    var build: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The branch whose history the build is judged against: its start point's builds up to the fork, then its own (default: the --build's own branch, else the store's default branch; without --build, its last ingested build is judged).",
            valueName: "name"))
    var branch: String?

    @Option(name: .long, help: ArgumentHelp("Compare with the builds from this one on (default: the last --last builds).", valueName: "name"))
    var baseline: String?

    @Option(name: .long, help: ArgumentHelp("How many earlier builds to compare with.", valueName: "n"))
    var last: Int = 10

    @Option(
        name: .customLong("max-growth"),
        help: ArgumentHelp(
            "Smallest growth that fails, in the metric's units; bytes may be written 64KiB, 2MiB (default: 64KiB for bytes, 1 for counts).",
            valueName: "amount"))
    var maxGrowth: String?

    @Option(name: .customLong("max-growth-pct"), help: ArgumentHelp("Smallest growth that fails, in percent of the stack's previous level.", valueName: "percent"))
    var maxGrowthPercent: Double = 5

    @OptionGroup var kind: KindOption

    @Option(name: .long, help: ArgumentHelp("The number judged (default: inuse_space for heap, live_tasks for tasks).", valueName: "metric"))
    var metric: Metric?

    @Option(name: .customLong("run"), help: ArgumentHelp("Only this run.", valueName: "name"))
    var runName: String?

    @Option(name: .customLong("label"), help: ArgumentHelp("Only snapshots with this label (repeatable).", valueName: "key=value"))
    var labels: [String] = []

    @Option(name: .customLong("accept"), help: ArgumentHelp("Accept growth of this stack id or leaf:NAME (repeatable).", valueName: "id"))
    var accepts: [String] = []

    @Option(name: .customLong("accept-file"), help: ArgumentHelp("A file of accepted growth (see above).", valueName: "path"))
    var acceptFile: String?

    @Option(name: .long, help: ArgumentHelp("Output on stdout.", valueName: "text|markdown|json"))
    var format: CheckFormat = .text

    @Option(name: .long, help: ArgumentHelp("Also write the Markdown summary to this file (appended, as $GITHUB_STEP_SUMMARY wants).", valueName: "path"))
    var summary: String?

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if last < 1 { throw ValidationError("--last must be at least 1") }
        if let maxGrowth, CheckCommand.parseAmount(maxGrowth) == nil { throw ValidationError("--max-growth '\(maxGrowth)' is not an amount (e.g. 65536, 64KiB, 2MiB)") }
        if maxGrowthPercent < 0 { throw ValidationError("--max-growth-pct must be 0 or more") }
        for accept in accepts where !accept.hasPrefix("leaf:") && Int64(accept) == nil {
            throw ValidationError("--accept '\(accept)' must be a stack id or leaf:NAME")
        }
        try validateKeyValues(labels, option: "--label")
        try kind.validate(metric: metric)
    }

    /// `65536`, `64KiB`, `64K`, `2MiB`, `1.5GB` (binary multiples).
    static func parseAmount(_ text: String) -> Double? {
        let units: [(String, Double)] = [
            ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("KB", 1024), ("MB", 1_048_576),
            ("GB", 1_073_741_824), ("K", 1024), ("M", 1_048_576), ("G", 1_073_741_824), ("B", 1),
        ]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)).map { $0 * factor }
        }
        return Double(text)
    }

    func run() throws {
        // A write error on standard output breaks the gate's 0/1/2 contract unless it is "could not decide".
        StandardStreams.onFailure = { error in
            TemporaryFileCleanup.removeAll()
            if case .brokenPipe = error { Foundation.exit(2) }
            StandardStreams.writeError("profhist: error: \(error.localizedDescription)")
            Foundation.exit(2)
        }
        let report: CheckReport
        do {
            guard FileManager.default.fileExists(atPath: store.path) else {
                printError("profhist: check: no store at \(store.path): nothing to compare (exit 2)")
                throw ExitCode(2)
            }
            // Asked before the store opens (see IngestInFlight on descriptors and SQLite's locks).
            let ingesting = IngestInFlight.isActive(storePath: store.path)
            let opened = try store.openForReading()
            var options = CheckOptions()
            options.build = build
            options.baseline = baseline
            options.lastBuilds = last
            let chosen = metric ?? Metric.standard(kind: kind.value)
            options.maxGrowth = maxGrowth.flatMap(CheckCommand.parseAmount) ?? (chosen.isBytes ? 65536 : 1)
            options.maxGrowthPercent = maxGrowthPercent
            options.accepted = accepts.map { text in
                text.hasPrefix("leaf:") ? Acceptance(leaf: String(text.dropFirst(5)), reason: "accepted on the command line")
                    : Acceptance(stackID: Int64(text), reason: "accepted on the command line")
            }
            if let acceptFile { options.accepted += try Acceptance.read(path: acceptFile) }
            var filter = SeriesFilter()
            filter.kind = kind.value
            filter.metric = chosen
            filter.run = runName
            filter.labels = labels
            filter.branch = branch
            let check = GrowthCheck(filter: filter, options: options)
            var judged = try opened.queue.read { db in try check.run(db) }
            if ingesting {
                let note = "an ingest into this store was in progress: the judged build (\(judged.target)) may be "
                    + "incomplete; run check again when the ingest has ended"
                printError("profhist: check: warning: \(note)")
                judged.caveat = judged.caveat.map { $0 + "; " + note } ?? note
            }
            report = judged
        } catch let error as ExitCode {
            throw error
        } catch {
            printError("profhist: error: \(Store.describe(error))")
            throw ExitCode(2)
        }
        switch format {
        case .text: StandardStreams.write(CheckSummary.text(report))
        case .markdown: StandardStreams.write(CheckSummary.markdown(report))
        case .json: StandardStreams.write(CheckSummary.json(report) + "\n")
        }
        if let summary {
            // The summary is part of the gate: a summary that cannot be written is "could not decide" (2).
            do {
                let file = try OutputFile(path: summary, protecting: store.path, append: true)
                file.write(CheckSummary.markdown(report))
                try file.commit()
            } catch {
                printError("profhist: error: \(Store.describe(error))")
                throw ExitCode(2)
            }
        }
        switch report.verdict {
        case .pass: return
        case .fail: throw ExitCode(1)
        case .undecided: throw ExitCode(2)
        }
    }
}
