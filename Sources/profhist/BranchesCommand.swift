import ArgumentParser
import Foundation
import ProfhistKit

struct BranchesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "branches",
        abstract: "List branches with their start points, or set the store's default branch.",
        discussion: """
            A build belongs to one branch (ingest --branch, default: the CI's branch, else the default branch). A \
            branch other than the default has a start point, BRANCH@BUILD, where it forked (ingest --start-point, \
            default: the default branch at its newest build when the branch is first seen); its history is the \
            start point's builds up to the fork, then its own. Commands read the default branch unless --branch \
            names another.

              profhist branches                        # name, default, start_point, builds, history_builds
              profhist branches --set-default master   # renames the default branch when no branch is named master

            --set-default NAME: NAME becomes the default branch. When no branch has that name, the current default \
            is renamed (its builds stay on it); an existing branch must have no start point.
            """
    )

    @Option(name: .customLong("set-default"), help: ArgumentHelp("Make this the store's default branch (see above).", valueName: "name"))
    var setDefault: String?

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let setDefault, setDefault.isEmpty { throw ValidationError("--set-default must not be empty") }
    }

    func run() throws {
        try reportingErrors {
            if let setDefault {
                try store.checkFileSystem(writing: true)
                let opened = try Store(path: store.path, create: true)
                let message = try opened.queue.write { db in try Branches.setDefault(setDefault, db) }
                printError("profhist: branches: \(message)")
                return
            }
            let branches = try store.openForReading().queue.read { db in try Branches.list(db) }
            let writer = RowWriter(
                format: output.format,
                columns: [
                    Column("name"), Column("default", .number), Column("start_point"), Column("builds", .number),
                    Column("history_builds", .number),
                ], headers: output.headers)
            for branch in branches {
                writer.write([
                    .text(branch.name), .integer(branch.isDefault ? 1 : 0), .text(branch.startPoint),
                    .integer(Int64(branch.builds)), .integer(Int64(branch.historyBuilds)),
                ])
            }
            writer.finish()
        }
    }
}
