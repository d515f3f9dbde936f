import Foundation
import GRDB

/// Where a branch forked: `BRANCH` (at that branch's newest build when the branch is first seen) or
/// `BRANCH@BUILD`.
public struct StartPoint: Sendable, Equatable {
    public var branch: String
    public var build: String?

    public init(branch: String, build: String? = nil) {
        self.branch = branch
        self.build = build
    }

    /// `BRANCH` or `BRANCH@BUILD`; nil for an empty branch or build name. The last `@` splits, so a branch
    /// name may hold one (`user@host/topic@abc123`).
    public init?(_ text: String) {
        if let at = text.lastIndex(of: "@") {
            let branch = String(text[..<at])
            let build = String(text[text.index(after: at)...])
            guard !branch.isEmpty, !build.isEmpty else { return nil }
            self.init(branch: branch, build: build)
        } else {
            guard !text.isEmpty else { return nil }
            self.init(branch: text)
        }
    }

    public var description: String { build.map { "\(branch)@\($0)" } ?? branch }
}

/// What ingest says about a build's branch: which branch, where it forked, and the build's place in it.
public struct BranchOptions: Sendable, Equatable {
    /// The branch; nil: the store's default branch.
    public var branch: String?
    /// Where a new branch forked; nil: the default branch at its newest build. Ignored for a known branch unless
    /// it names a build, which must then be the stored one.
    public var startPoint: StartPoint?
    /// The build's place within its branch (a commit number, or a commit time in epoch milliseconds); nil: the
    /// time of its first snapshot.
    public var orderKey: Int64?

    public init(branch: String? = nil, startPoint: StartPoint? = nil, orderKey: Int64? = nil) {
        self.branch = branch
        self.startPoint = startPoint
        self.orderKey = orderKey
    }

    /// The branch a CI job builds, from the variables the common CI systems set: a pull request's source branch
    /// first (GitHub's `GITHUB_HEAD_REF`, GitLab's `CI_MERGE_REQUEST_SOURCE_BRANCH_NAME`), then the branch pushed
    /// (`GITHUB_REF_NAME`, `CI_COMMIT_REF_NAME`, `BUILDKITE_BRANCH`, `CIRCLE_BRANCH`). Empty values count as unset.
    /// - Returns: nil when none is set (the store's default branch is used).
    public static func branch(fromEnvironment environment: [String: String]) -> String? {
        environmentVariables.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
    }

    /// The variables `branch(fromEnvironment:)` reads, in its order of preference; also for tests that must not
    /// inherit a CI's branch.
    public static let environmentVariables = [
        "GITHUB_HEAD_REF", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME",
        "BUILDKITE_BRANCH", "CIRCLE_BRANCH",
    ]
}

/// One branch as `profhist branches` lists it.
public struct BranchSummary: Sendable, Equatable {
    public var name: String
    public var isDefault: Bool
    /// `BRANCH@BUILD` where it forked; empty for a root branch.
    public var startPoint: String
    /// Its own builds, and the builds of its whole history.
    public var builds: Int
    public var historyBuilds: Int
}

/// Branches in the store (migration 0007): the default branch, finding and creating branches at ingest, and each
/// branch's history (the `branch_history` view).
public enum Branches {
    /// The store's default branch (`setting.default_branch`; `main` unless changed).
    public static func defaultName(_ db: Database) throws -> String {
        try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'default_branch'") ?? "main"
    }

    /// The builds of a branch's history in order (its start-point branch's up to the fork, then its own).
    public static func history(_ db: Database, branch: String) throws -> [(build: String, branch: String)] {
        try Row.fetchAll(
            db, sql: "SELECT build, build_branch FROM branch_history WHERE branch = ? ORDER BY position", arguments: [branch]
        ).map { ($0["build"], $0["build_branch"]) }
    }

    /// The branch a build belongs to, or nil for an unknown build.
    public static func of(build: String, _ db: Database) throws -> String? {
        try String.fetchOne(
            db, sql: "SELECT br.name FROM build AS b JOIN branch AS br ON br.id = b.branch_id WHERE b.name = ?", arguments: [build])
    }

    /// Checks that a branch named on the command line exists (the default branch always does, even when empty).
    /// - Throws: `StoreError.noMatch` listing the branches stored.
    public static func checkExists(_ name: String, _ db: Database) throws {
        guard try Int.fetchOne(db, sql: "SELECT count(*) FROM branch WHERE name = ?", arguments: [name]) == 0 else { return }
        guard try name != defaultName(db) else { return }
        let names = try String.fetchAll(db, sql: "SELECT name FROM branch ORDER BY id")
        throw StoreError.noMatch("no branch named '\(name)'; \(SeriesFilter.listing(names, of: "branch")) (see 'profhist branches')")
    }

    /// Every branch with its start point and build counts, oldest first.
    public static func list(_ db: Database) throws -> [BranchSummary] {
        let defaultBranch = try defaultName(db)
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT br.name, sb.name AS start_branch, (SELECT name FROM build WHERE id = br.start_build_id) AS start_build,
                    br.start_build_id,
                    (SELECT count(*) FROM _build_key AS k WHERE k.branch_id = br.id) AS builds,
                    (SELECT count(*) FROM branch_history AS h WHERE h.branch_id = br.id) AS history_builds
                FROM branch AS br LEFT JOIN branch AS sb ON sb.id = br.start_branch_id
                ORDER BY br.id
                """)
        return rows.map { row in
            let startBranch: String? = row["start_branch"]
            let startBuild: String? = row["start_build"]
            let forkGone = startBuild == nil && (row["start_build_id"] as Int64?) != nil
            let start = startBranch.map { $0 + "@" + (startBuild ?? (forkGone ? "(removed)" : "(empty)")) } ?? ""
            return BranchSummary(
                name: row["name"], isDefault: row["name"] == defaultBranch, startPoint: start, builds: row["builds"],
                historyBuilds: row["history_builds"])
        }
    }

    // MARK: - Ingest

    /// Finds the build, or creates it on its branch (creating the branch at its start point when new).
    /// - Returns: the build's id.
    /// - Throws: `StoreError.badParameter` when the build belongs to another branch, its order key differs, or
    ///   the start point names nothing usable.
    static func findOrCreateBuild(_ db: Database, name: String, options: BranchOptions) throws -> Int64 {
        let branchName = try options.branch ?? defaultName(db)
        if let row = try Row.fetchOne(
            db,
            sql: "SELECT b.id, b.order_key, br.name AS branch FROM build AS b LEFT JOIN branch AS br ON br.id = b.branch_id WHERE b.name = ?",
            arguments: [name])
        {
            let owner: String = row["branch"] ?? ""
            guard owner == branchName else {
                throw StoreError.badParameter(
                    "build '\(name)' belongs to branch '\(owner)', not '\(branchName)': a build belongs to one branch "
                        + "(give this build another name, or ingest it with --branch \(owner))")
            }
            let id: Int64 = row["id"]
            let stored: Int64? = row["order_key"]
            if let key = options.orderKey {
                if let stored, stored != key {
                    throw StoreError.badParameter("build '\(name)' has order key \(stored), not \(key): a build keeps its order key")
                }
                if stored == nil { try db.execute(sql: "UPDATE build SET order_key = ? WHERE id = ?", arguments: [key, id]) }
            }
            if let start = options.startPoint { try checkStartPoint(db, branch: branchName, start: start) }
            return id
        }
        let branchID = try findOrCreateBranch(db, name: branchName, start: options.startPoint)
        try db.execute(
            sql: "INSERT INTO build (name, branch_id, order_key) VALUES (?, ?, ?)", arguments: [name, branchID, options.orderKey])
        return db.lastInsertedRowID
    }

    /// The branch's id, creating it when new: the default branch as a root, any other at its start point.
    static func findOrCreateBranch(_ db: Database, name: String, start: StartPoint?) throws -> Int64 {
        if let id = try Int64.fetchOne(db, sql: "SELECT id FROM branch WHERE name = ?", arguments: [name]) {
            if let start { try checkStartPoint(db, branch: name, start: start) }
            return id
        }
        let defaultBranch = try defaultName(db)
        if name == defaultBranch {
            if let start {
                throw StoreError.badParameter(
                    "--start-point \(start.description): '\(name)' is the store's default branch, which has no start point")
            }
            try db.execute(sql: "INSERT INTO branch (name) VALUES (?)", arguments: [name])
            return db.lastInsertedRowID
        }
        let from = start ?? StartPoint(branch: defaultBranch)
        guard from.branch != name else {
            throw StoreError.badParameter("--start-point \(from.description): a branch cannot start from itself")
        }
        let fork = try forkPoint(db, from: from)
        try db.execute(
            sql: "INSERT INTO branch (name, start_branch_id, start_build_id, start_order) VALUES (?, ?, ?, ?)",
            arguments: [name, fork.branchID, fork.buildID, fork.order])
        return db.lastInsertedRowID
    }

    /// The fork: the named build, or the start branch's newest, as a build of the branch that owns it (a build
    /// that a branch inherited from its own start point forks from that point's branch: the same history).
    private static func forkPoint(_ db: Database, from: StartPoint) throws -> (branchID: Int64, buildID: Int64?, order: Int64?) {
        if try Int.fetchOne(db, sql: "SELECT count(*) FROM branch WHERE name = ?", arguments: [from.branch]) == 0 {
            guard try from.branch == defaultName(db), from.build == nil else {
                throw StoreError.badParameter(
                    "--start-point \(from.description): no branch named '\(from.branch)' (see 'profhist branches')")
            }
            try db.execute(sql: "INSERT INTO branch (name) VALUES (?)", arguments: [from.branch])
        }
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT h.build_id, k.branch_id, k.sort_key FROM branch_history AS h JOIN _build_key AS k ON k.build_id = h.build_id
                WHERE h.branch = :branch AND (:build IS NULL OR h.build = :build)
                ORDER BY h.position DESC LIMIT 1
                """,
            arguments: ["branch": from.branch, "build": from.build])
        if let row { return (row["branch_id"], row["build_id"], row["sort_key"]) }
        if let build = from.build {
            throw StoreError.badParameter(
                "--start-point \(from.description): build '\(build)' is not in the history of branch '\(from.branch)' "
                    + "(see 'profhist builds --branch \(from.branch)')")
        }
        // The start branch has no build yet: the new branch's history begins with its own builds.
        let id = try Int64.fetchOne(db, sql: "SELECT id FROM branch WHERE name = ?", arguments: [from.branch]) ?? 0
        return (id, nil, nil)
    }

    /// A start point given again for a known branch: a bare branch name is accepted (the start point was fixed
    /// when the branch was first seen); a named build must be the stored fork.
    private static func checkStartPoint(_ db: Database, branch: String, start: StartPoint) throws {
        let isRoot = try Int.fetchOne(
            db, sql: "SELECT count(*) FROM branch WHERE name = ? AND start_branch_id IS NULL", arguments: [branch]) ?? 0 > 0
        if isRoot {
            let what = try branch == defaultName(db) ? "the store's default branch" : "a branch without a start point"
            throw StoreError.badParameter("--start-point \(start.description): '\(branch)' is \(what), which has no start point")
        }
        guard let build = start.build else { return }
        let stored = try Row.fetchOne(
            db,
            sql: """
                SELECT sb.name AS start_branch, b.name AS start_build FROM branch AS br
                LEFT JOIN branch AS sb ON sb.id = br.start_branch_id LEFT JOIN build AS b ON b.id = br.start_build_id
                WHERE br.name = ?
                """, arguments: [branch])
        let storedBuild: String? = stored?["start_build"]
        guard storedBuild != build else { return }
        let storedText = (stored?["start_branch"] as String?).map { $0 + "@" + (storedBuild ?? "(none)") } ?? "nothing (a root branch)"
        throw StoreError.badParameter(
            "--start-point \(start.description): branch '\(branch)' already starts at \(storedText); a branch's start point "
                + "is fixed when it is first seen (ingest under a new branch name to fork again)")
    }

    // MARK: - Default branch

    /// Makes `name` the default branch. A name no branch has renames the current default (so a store whose
    /// builds were all on `main` keeps them, under the new name); an existing branch must be a root branch.
    /// - Returns: what was done, for the user.
    public static func setDefault(_ name: String, _ db: Database) throws -> String {
        let current = try defaultName(db)
        guard name != current else { return "'\(name)' is already the default branch" }
        let row = try Row.fetchOne(db, sql: "SELECT id, start_branch_id FROM branch WHERE name = ?", arguments: [name])
        var message: String
        if let row {
            guard (row["start_branch_id"] as Int64?) == nil else {
                throw StoreError.badParameter("'\(name)' has a start point; only a branch without one can be the default")
            }
            message = "the default branch is now '\(name)' (was '\(current)')"
        } else if try Int.fetchOne(db, sql: "SELECT count(*) FROM branch WHERE name = ?", arguments: [current]) ?? 0 > 0 {
            try db.execute(sql: "UPDATE branch SET name = ? WHERE name = ?", arguments: [name, current])
            message = "renamed the default branch '\(current)' to '\(name)'"
        } else {
            message = "the default branch is now '\(name)'"
        }
        try db.execute(sql: "UPDATE setting SET value = ? WHERE name = 'default_branch'", arguments: [name])
        return message
    }
}
