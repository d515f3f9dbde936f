import ArgumentParser
import Foundation
import ProfhistKit

/// `profhist wrappers`: the allocator wrappers of a store.
struct WrappersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wrappers",
        abstract: "Declare a program's allocator wrappers, so leaves name who allocated (per store).",
        discussion: """
            A wrapper allocates on behalf of its caller (redis's zmalloc, sqlite3Malloc, CPython's PyMem_Malloc): \
            a stack's leaf is the innermost frame that is neither allocator nor wrapper. Patterns are shell globs \
            (*, ?, [...]) over function names. Adding or removing one recomputes the leaf of every stored stack; \
            stacks themselves never change. profhist ships defaults for redis, SQLite and CPython.

              profhist wrappers list
              profhist wrappers add 'my_xmalloc*' 'arena_alloc'
              profhist wrappers remove 'zstrdup'
            """,
        subcommands: [WrappersListCommand.self, WrappersAddCommand.self, WrappersRemoveCommand.self],
        defaultSubcommand: WrappersListCommand.self
    )
}

struct WrappersListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the wrapper patterns (columns: pattern, origin, in_force, frames).")

    /// List removed defaults too.
    @Flag(name: .long, help: "Also list shipped defaults that were removed.")
    var all = false

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try reportingErrors {
            let opened = try store.openForReading()
            let rows = try opened.queue.read { db in
                try AllocatorWrappers.entries(db).filter { all || !$0.removed }.map { entry in
                    (entry, try AllocatorWrappers.matchingFrames(entry.pattern, db))
                }
            }
            let writer = RowWriter(
                format: output.format,
                columns: [Column("pattern"), Column("origin"), Column("in_force", .number), Column("frames", .number)],
                headers: output.headers)
            for (entry, frames) in rows {
                writer.write([.text(entry.pattern), .text(entry.origin), .integer(entry.removed ? 0 : 1), .integer(Int64(frames))])
            }
            writer.finish()
        }
    }
}

struct WrappersAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Declare wrapper patterns and recompute the leaves of the stored stacks.")

    @Argument(help: ArgumentHelp("Shell glob patterns over function names, e.g. 'zmalloc*'.", valueName: "pattern"))
    var patterns: [String]

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if patterns.isEmpty || patterns.contains(where: \.isEmpty) { throw ValidationError("give one or more non-empty patterns") }
    }

    func run() throws {
        try reportingErrors {
            try store.checkFileSystem(writing: true)
            let opened = try Store(path: store.path, create: true)
            for pattern in patterns {
                let applied = try opened.queue.write { db in try AllocatorWrappers.add(pattern, db) }
                if let applied {
                    printError("wrapper '\(pattern)' added: \(applied.framesChanged) frames, \(applied.leavesChanged) stack leaves changed")
                } else {
                    printError("wrapper '\(pattern)' was already declared")
                }
            }
        }
    }
}

struct WrappersRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove wrapper patterns and recompute the leaves of the stored stacks.")

    @Argument(help: ArgumentHelp("Patterns exactly as listed by 'profhist wrappers list'.", valueName: "pattern"))
    var patterns: [String]

    @OptionGroup var store: StoreOptions

    func run() throws {
        try reportingErrors {
            try store.checkFileSystem(writing: true)
            let opened = try store.openForReading()
            for pattern in patterns {
                let applied = try opened.queue.write { db in try AllocatorWrappers.remove(pattern, db) }
                printError("wrapper '\(pattern)' removed: \(applied.framesChanged) frames, \(applied.leavesChanged) stack leaves changed")
            }
        }
    }
}
