import ArgumentParser
import Foundation
import ProfhistKit

struct GcCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove old builds and snapshots, then what only they used, and compact the store.",
        discussion: """
            --keep-builds N keeps the newest N builds of each branch (in the branch's order: order key, else the \
            time of their first snapshot) and removes older ones with their runs, snapshots, labels and samples. \
            --branch NAME alone removes that branch's builds whole (a merged or abandoned pull request), and the \
            branch; with --keep-builds or --before, those apply to that branch only. The default branch is never \
            removed whole. --before TIME removes snapshots \
            taken before TIME, and builds and runs it leaves empty. Either, both or neither: then stacks, call \
            sites, frames, location sets, strings and binaries (with their symbol cache) that nothing left refers \
            to are removed too, and the file is compacted (VACUUM).

              profhist gc --keep-builds 50 --dry-run      # what would go; changes nothing
              profhist gc --keep-builds 50
              profhist gc --before 2026-01-01T00:00:00Z
              profhist gc --branch feature-x              # a merged or abandoned pull request's builds
              profhist gc                                 # only orphans, then compact

            Removal is one transaction: a killed gc leaves the store as it was. Readers (top, dashboards) keep \
            working throughout; other writers wait for it. Compacting needs free disk space about the size of \
            the store. Output: one row per table (item, removed, kept) and the file's bytes.
            """
    )

    /// How many builds to keep.
    @Option(
        name: .customLong("keep-builds"),
        help: ArgumentHelp("Keep the newest N builds; remove older ones.", valueName: "n"))
    var keepBuilds: Int?

    /// Cutoff time.
    @Option(name: .long, help: ArgumentHelp("Remove snapshots taken before this time (RFC 3339).", valueName: "time"))
    var before: String?

    /// Only this branch.
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Only this branch's own builds; alone: remove all of them, and the branch (not the default branch).",
            valueName: "name"))
    var branch: String?

    /// Report only.
    @Flag(name: .customLong("dry-run"), help: "Print what would be removed; change nothing.")
    var dryRun = false

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let keepBuilds, keepBuilds < 1 { throw ValidationError("--keep-builds must be at least 1") }
        if let branch, branch.isEmpty { throw ValidationError("--branch must not be empty") }
        if let before, Timestamp.parse(before) == nil {
            throw ValidationError("--before '\(before)' is not an RFC 3339 time (e.g. 2026-01-02T00:10:00Z)")
        }
    }

    func run() throws {
        try reportingErrors {
            let opened = try store.openForReading()
            let collector = GarbageCollector(store: opened)
            let bytesBefore = opened.fileBytes()
            let started = Date()
            let policy = RetentionPolicy(keepBuilds: keepBuilds, before: before.flatMap(Timestamp.parse), branch: branch)
            let report = try collector.collect(policy, dryRun: dryRun)
            let builds = report.builds.count == 1 ? "1 build" : "\(report.builds.count) builds"
            printError(
                "profhist: gc: \(dryRun ? "would remove" : "removed") \(builds)"
                    + (report.builds.isEmpty ? "" : ": " + report.builds.joined(separator: ", ")))
            var compaction: Compaction?
            var compactError: Error?
            if !dryRun {
                let removed = report.counts.contains { $0.removed > 0 }
                do { compaction = try collector.compact(removedRows: removed) } catch { compactError = error }
            }
            let writer = RowWriter(
                format: output.format, columns: [Column("item"), Column("removed", .number), Column("kept", .number)],
                headers: output.headers)
            for count in report.counts {
                writer.write([.text(count.table), .integer(count.removed), .integer(count.kept)])
            }
            // The file: removed is what compaction gave back; a dry run cannot know it.
            let bytesAfter = compaction?.bytesAfter
            writer.write([
                .text("file_bytes"), bytesAfter.map { .integer(bytesBefore - $0) } ?? .null,
                .integer(bytesAfter ?? bytesBefore),
            ])
            writer.finish()
            if let compactError { throw compactError }
            if dryRun {
                printError("profhist: gc: dry run, nothing changed")
            } else if let compaction {
                printError(
                    "profhist: gc: \(ByteCount.human(Double(bytesBefore))) -> \(ByteCount.human(Double(compaction.bytesAfter))) "
                        + "in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
                if !compaction.checkpointed {
                    printError(
                        "profhist: gc: readers still used the old data, so the compacted pages wait in the WAL; "
                            + "the file shrinks at the next checkpoint after they finish")
                }
            }
        }
    }
}
