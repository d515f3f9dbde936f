import ArgumentParser
import CSQLiteConfig
import Foundation
import ProfhistKit

@main
struct Profhist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profhist",
        abstract: "Keep the memory history of a program and find the call stacks that grow.",
        discussion: """
            profhist ingests jemalloc heap dumps, pprof profiles (heap and goroutine) and tokio task snapshots into \
            one SQLite store, keyed by build and time, with every stack symbolized so the same code path is the same \
            stack in every build, and ranks the stacks that grow, with the build where the growth began.

              profhist ingest out/*.heap --build "$GIT_SHA" --binary target/release/app
              profhist ingest console.json --build "$GIT_SHA"
              profhist top
              profhist diff --base v1.4.0 --target v1.5.0
              profhist check --build "$GIT_SHA"
              profhist ingest out/*.heap --build "$PR_SHA" --branch feature-x --start-point main
              profhist top --branch feature-x          # main up to the fork, then the branch's builds
              profhist export --format csv > memory.csv
              profhist gc --keep-builds 50

            The store is ./profhist.db unless --db or PROFHIST_DB says otherwise.
            """,
        version: ProfhistVersion.string,
        subcommands: [
            IngestCommand.self, SnapshotsCommand.self, BuildsCommand.self, BranchesCommand.self, TopCommand.self, DiffCommand.self, CheckCommand.self,
            ShowCommand.self, ExportCommand.self,
            QueryCommand.self, GcCommand.self, WrappersCommand.self, ReportCommand.self,
        ]
    )

    static func main() {
        // First: with stderr closed (2>&-) the store or an output file could otherwise become descriptor 2.
        StandardStreams.secureDescriptors()
        // Before any connection opens: SQLite without its per-call mutex (each connection is used by one thread
        // at a time, through GRDB's queue). Reading 16 million sample rows takes 10-20% less time.
        _ = profhist_sqlite_multithread()
        Store.upgradeNotice = { path, from, to in
            printError("profhist: upgrading \(path) from schema version \(from) to \(to) (once; a large store takes a while)")
        }
        main(nil)
    }
}

enum ProfhistVersion {
    static let string = "0.1.0"
}
