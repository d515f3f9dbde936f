import ArgumentParser
import Foundation
import ProfhistKit

@main
struct Profhist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profhist",
        abstract: "Keep the memory history of a program and find the call stacks that grow.",
        discussion: """
            profhist ingests jemalloc heap dumps into one SQLite store, keyed by build and time, with every stack \
            symbolized so the same code path is the same stack in every build.

              profhist ingest out/*.heap --build "$GIT_SHA" --binary target/release/app
              profhist snapshots
              profhist export --format csv > memory.csv

            The store is ./profhist.db unless --db or PROFHIST_DB says otherwise.
            """,
        version: ProfhistVersion.string,
        subcommands: [
            IngestCommand.self, SnapshotsCommand.self, BuildsCommand.self, TopCommand.self, DiffCommand.self, CheckCommand.self,
            ShowCommand.self, ExportCommand.self,
            QueryCommand.self,
        ]
    )
}

enum ProfhistVersion {
    static let string = "0.1.0"
}
