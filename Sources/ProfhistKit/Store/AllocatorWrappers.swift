import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A program's own allocator wrappers, declared once per store (`profhist wrappers add 'zmalloc*'`): frames that
/// allocate on behalf of their caller, skipped when naming a stack's leaf, so a redis store names the redis
/// function that allocated instead of `zmalloc_usable`.
///
/// Patterns are shell globs matched with the C library's `fnmatch` (no flags: `*`, `?`, `[...]`). A matching
/// frame is allocation machinery (`Plumbing.Level.machinery`) unless the built-in rules make it allocator
/// plumbing already; stacks keep every frame, so only leaves change. Changing the list re-levels the stored
/// frames and recomputes every stored stack's leaf in the same transaction.
public enum AllocatorWrappers {
    /// One declared pattern.
    public struct Entry: Sendable, Equatable {
        public var pattern: String
        /// "default" (shipped with profhist, see `Migrations/0006_allocator_wrappers.sql`) or "user".
        public var origin: String
        /// A default the user removed.
        public var removed: Bool
    }

    /// What a change did to the stored stacks.
    public struct Applied: Sendable, Equatable {
        public var framesChanged = 0
        public var leavesChanged = 0
    }

    /// Whether `name` matches the glob `pattern`.
    public static func matches(_ name: String, pattern: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }

    /// Every pattern, removed defaults included, in the order stored.
    public static func entries(_ db: Database) throws -> [Entry] {
        try Row.fetchAll(db, sql: "SELECT pattern, origin, removed FROM allocator_wrapper ORDER BY origin, pattern").map {
            Entry(pattern: $0[0], origin: $0[1], removed: ($0[2] as Int) != 0)
        }
    }

    /// The patterns in force.
    public static func active(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT pattern FROM allocator_wrapper WHERE removed = 0 ORDER BY pattern")
    }

    /// Declares `pattern` (or restores a removed default) and applies the list to the stored stacks.
    /// - Returns: nil when the pattern was already in force.
    public static func add(_ pattern: String, _ db: Database) throws -> Applied? {
        guard !pattern.isEmpty else { throw StoreError.badParameter("a wrapper pattern must not be empty") }
        if let removed = try Int.fetchOne(db, sql: "SELECT removed FROM allocator_wrapper WHERE pattern = ?", arguments: [pattern]) {
            guard removed != 0 else { return nil }
            try db.execute(sql: "UPDATE allocator_wrapper SET removed = 0 WHERE pattern = ?", arguments: [pattern])
        } else {
            try db.execute(sql: "INSERT INTO allocator_wrapper (pattern, origin) VALUES (?, 'user')", arguments: [pattern])
        }
        return try apply(db)
    }

    /// Removes `pattern` (a default is kept as removed, so it stays removed) and applies the list.
    /// - Throws: `StoreError.noMatch` naming the pattern and listing those in force, when it is not one of them.
    public static func remove(_ pattern: String, _ db: Database) throws -> Applied {
        let origin = try String.fetchOne(
            db, sql: "SELECT origin FROM allocator_wrapper WHERE pattern = ? AND removed = 0", arguments: [pattern])
        guard let origin else {
            let known = try active(db).map { "'\($0)'" }.joined(separator: ", ")
            throw StoreError.noMatch("no wrapper '\(pattern)' in this store; in force: \(known.isEmpty ? "none" : known)")
        }
        if origin == "default" {
            try db.execute(sql: "UPDATE allocator_wrapper SET removed = 1 WHERE pattern = ?", arguments: [pattern])
        } else {
            try db.execute(sql: "DELETE FROM allocator_wrapper WHERE pattern = ?", arguments: [pattern])
        }
        return try apply(db)
    }

    /// How many stored frames `pattern` matches (for `wrappers list`: a pattern matching nothing is likely a typo).
    public static func matchingFrames(_ pattern: String, _ db: Database) throws -> Int {
        var count = 0
        for name in try String.fetchAll(db, sql: "SELECT s.value FROM frame AS f JOIN string AS s ON s.id = f.name_id") {
            let bare = name.firstIndex(of: "(").map { String(name[..<$0]) } ?? name
            if matches(name, pattern: pattern) || matches(bare, pattern: pattern) { count += 1 }
        }
        return count
    }

    /// The plumbing level of a frame name under the built-in rules and the given wrapper patterns.
    static func level(of name: String, plumbing: Plumbing, wrappers: [String]) -> Plumbing.Level {
        let builtIn = plumbing.level(of: name)
        guard builtIn < .machinery else { return builtIn }
        let bare = name.firstIndex(of: "(").map { String(name[..<$0]) } ?? name
        return wrappers.contains { matches(name, pattern: $0) || matches(bare, pattern: $0) } ? .machinery : builtIn
    }

    /// Re-levels every stored frame under the built-in rules and the wrappers in force, then recomputes the
    /// leaf of every stored stack (`Plumbing.leafIndex` over its frames, as at ingest).
    public static func apply(_ db: Database, plumbing: Plumbing = Plumbing()) throws -> Applied {
        let wrappers = try active(db)
        var applied = Applied()
        var levels: [Int64: Plumbing.Level] = [:]
        let update = try db.makeStatement(sql: "UPDATE frame SET is_plumbing = ? WHERE id = ?")
        for row in try Row.fetchAll(db, sql: "SELECT f.id, s.value, f.is_plumbing FROM frame AS f JOIN string AS s ON s.id = f.name_id") {
            let id: Int64 = row[0]
            let stored = Plumbing.Level(rawValue: row[2]) ?? .none
            // Allocator frames are where stored stacks were cut: their level is part of identity, never changed.
            let level = stored == .allocator ? stored : level(of: row[1], plumbing: plumbing, wrappers: wrappers)
            levels[id] = level
            if level != stored {
                try update.execute(arguments: [level.rawValue, id])
                applied.framesChanged += 1
            }
        }
        var callsites: [Int64: (parent: Int64?, frame: Int64)] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, parent_id, frame_id FROM callsite") {
            callsites[row[0]] = (row[1], row[2])
        }
        let setLeaf = try db.makeStatement(sql: "UPDATE stack SET leaf_frame_id = ? WHERE id = ?")
        for row in try Row.fetchAll(db, sql: "SELECT id, leaf_frame_id FROM stack") {
            let id: Int64 = row[0]
            var frames: [Int64] = []
            var current: Int64? = id
            while let site = current, let entry = callsites[site] {
                frames.append(entry.frame)
                current = entry.parent
            }
            frames.reverse()
            guard !frames.isEmpty else { continue }
            let leaf = frames[plumbing.leafIndex(of: frames.map { levels[$0] ?? .none })]
            if leaf != row[1] {
                try setLeaf.execute(arguments: [leaf, id])
                applied.leavesChanged += 1
            }
        }
        return applied
    }
}
