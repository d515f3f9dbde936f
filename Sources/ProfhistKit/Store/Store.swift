import Foundation
import GRDB

/// The profhist store: one SQLite file holding every snapshot, interned frames and stacks, and samples.
///
/// Opened in WAL mode with a busy timeout and foreign keys, so several CI jobs can ingest into one file at once;
/// every ingest is one `BEGIN IMMEDIATE` transaction. The schema comes from the embedded `Migrations/`, applied
/// in order and recorded in `PRAGMA user_version`.
public final class Store: @unchecked Sendable {
    public let path: String
    public let queue: DatabaseQueue

    /// How long a writer waits for another one before giving up.
    public static let busyTimeout: TimeInterval = 120

    /// The migrations this binary knows, in order.
    public static var migrations: [(version: Int, name: String, sql: String)] {
        EmbeddedSQL.migrations.compactMap { entry in
            guard let version = Int(entry.name.prefix(while: \.isNumber)) else { return nil }
            return (version, entry.name, entry.sql)
        }.sorted { $0.version < $1.version }
    }

    /// The schema version this binary writes.
    public static var schemaVersion: Int { migrations.last?.version ?? 0 }

    /// Called once before an existing store (schema version above 0) is upgraded, with its path and the versions
    /// from and to; the CLI prints a notice, since an upgrade can rewrite large tables (0004 rewrites every heap
    /// sample row: about 13 s for 5 million rows on the development VM). Set it before opening stores.
    nonisolated(unsafe) public static var upgradeNotice: (@Sendable (_ path: String, _ from: Int, _ to: Int) -> Void)?

    /// Opens (and, when `create` is true, creates) the store at `path`, upgrading an older schema.
    /// - Throws: `StoreError.missing` when there is no file and `create` is false; `.newerSchema` when the file
    ///   comes from a newer profhist; `.unreadable` when it is not a usable SQLite database.
    public convenience init(path: String, create: Bool, readOnly: Bool = false) throws {
        try self.init(path: path, create: create, readOnly: readOnly, migratingTo: Store.schemaVersion)
    }

    /// Opens the store as a profhist that knows only the migrations up to `target` would: the upgrade tests
    /// write a store with the first migration set, then open it with all of them.
    init(path: String, create: Bool, readOnly: Bool, migratingTo target: Int) throws {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists && !create { throw StoreError.missing(path: path) }
        // A zero-byte file (a writer between its open and its first commit, or a touch) reads as an empty store,
        // and a reader must not write into it: its schema goes into an in-memory database instead of the file.
        let emptyFile = exists && !create
            && ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value == 0
        var configuration = Configuration()
        configuration.busyMode = .timeout(Store.busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.readonly = readOnly && exists && !emptyFile
        configuration.label = "profhist"
        configuration.prepareDatabase { db in
            try StoreFunctions.register(in: db)
        }
        do {
            queue = emptyFile ? try DatabaseQueue(configuration: configuration) : try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw StoreError.unreadable(path: path, reason: Store.describe(error, store: path))
        }
        do {
            try configureAndMigrate(readOnly: configuration.readonly && !emptyFile, created: !exists || emptyFile, target: target)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.unreadable(path: path, reason: Store.describe(error, store: path))
        }
    }

    private func configureAndMigrate(readOnly: Bool, created: Bool, target: Int) throws {
        let version = try queue.inDatabase { db -> Int in
            if !readOnly {
                // A file created just now holds nothing to protect until its first ingest commits: its switch to
                // WAL (a rollback-journal write of the header) and the schema skip their fsyncs, 20-30 ms on this
                // VM's disk. Everything after the migrations runs with NORMAL (the WAL is synced at checkpoints).
                try db.execute(sql: created ? "PRAGMA synchronous = OFF" : "PRAGMA synchronous = NORMAL")
                try Store.enableWAL(db)
            }
            return try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        }
        defer {
            if created && !readOnly { try? queue.inDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") } }
        }
        if version > target {
            throw StoreError.newerSchema(path: path, storeVersion: version, knownVersion: target)
        }
        if version < target {
            guard !readOnly else {
                throw StoreError.unreadable(path: path, reason: "schema version \(version) needs an upgrade, but the store is read-only")
            }
            try migrate(from: version, upTo: target)
        }
    }

    /// Puts the store in WAL mode, which lets readers work while one process writes; it persists in the file once
    /// set, so this is a read of the mode except for the first connection to a new (or rollback-journal) store.
    static func enableWAL(_ db: Database) throws {
        try retryingBusy {
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? ""
            if mode.lowercased() != "wal" { _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
        }
    }

    /// Runs `body` again while it fails with SQLITE_BUSY, for up to the busy timeout.
    ///
    /// Switching a store into WAL mode (a new store, or one left in rollback-journal mode by another tool) reads
    /// the header and then rewrites it; when two processes do that at once, SQLite answers the one whose read
    /// lock cannot become a write lock with SQLITE_BUSY at once, without calling the busy handler (waiting there
    /// could deadlock). Retrying from the start, after a short random pause, lets the other finish; it has then
    /// usually switched the mode already.
    static func retryingBusy(_ body: () throws -> Void) throws {
        let deadline = Date().addingTimeInterval(busyTimeout)
        while true {
            do {
                return try body()
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && Date() < deadline {
                usleep(UInt32.random(in: 2_000...20_000))
            }
        }
    }

    /// Why a migration failed, in a user's terms where a migration checks a precondition (a NOT NULL insert into
    /// a temporary `_NNNN_...` table), else SQLite's message.
    static func upgradeFailure(_ error: Error) -> String {
        let message = (error as? DatabaseError)?.message ?? "\(error)"
        if message.contains("_0004_stack_ids_fit") {
            return "its stack ids need more than 28 bits (over 268 million call sites), beyond the sample key of "
                + "version 4; keep reading it with the profhist that wrote it, and ingest into a new store (--db)"
        }
        return message
    }

    /// Applies each missing migration in its own immediate transaction; another process migrating at the same
    /// time is waited for, and the version is re-read inside the lock.
    /// Applies the migrations above `start` (the version the store had when opened) up to `target`. A store at
    /// version 0 is being created, not upgraded: no notice (each migration commits on its own, so the version
    /// read inside the loop is above 0 after the first one).
    private func migrate(from start: Int, upTo target: Int) throws {
        var noticed = start == 0
        for migration in Store.migrations where migration.version <= target {
            try queue.inDatabase { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                do {
                    let current = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                    if current < migration.version {
                        if current > 0 && !noticed {
                            noticed = true
                            Store.upgradeNotice?(path, current, target)
                        }
                        do {
                            try db.execute(sql: migration.sql)
                        } catch {
                            throw StoreError.upgradeFailed(
                                path: path, version: current, migration: migration.name, reason: Store.upgradeFailure(error))
                        }
                        if current > 0 && migration.name.contains("allocator_wrappers") {
                            // The shipped wrappers re-level the frames already stored and rename their stacks'
                            // leaves (SQL alone cannot walk the stacks as `Plumbing.leafIndex` does).
                            do {
                                _ = try AllocatorWrappers.apply(db)
                            } catch {
                                throw StoreError.upgradeFailed(
                                    path: path, version: current, migration: migration.name, reason: Store.upgradeFailure(error))
                            }
                        }
                        try db.execute(sql: "PRAGMA user_version = \(migration.version)")
                    }
                    try db.execute(sql: "COMMIT")
                } catch {
                    try? db.execute(sql: "ROLLBACK")
                    throw error
                }
            }
        }
    }

    /// The schema version recorded in the store.
    public func storedSchemaVersion() throws -> Int {
        try queue.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
    }

    /// A named query from the embedded `Queries/`.
    public static func query(named name: String) throws -> String {
        guard let entry = EmbeddedSQL.queries.first(where: { $0.name == name }) else {
            throw StoreError.unknownQuery(name: name, known: EmbeddedSQL.queries.map(\.name))
        }
        return entry.sql
    }

    /// All named queries with the summary line of their header comment.
    public static var queries: [(name: String, summary: String, sql: String)] {
        EmbeddedSQL.queries.map { entry in
            let summary = entry.sql.split(separator: "\n").first { $0.hasPrefix("--") }
                .map { $0.dropFirst(2).trimmingCharacters(in: .whitespaces) } ?? ""
            return (entry.name, summary, entry.sql)
        }
    }

    /// A one-line description of a failure on the store at `store`; when SQLite could not write or open it, with
    /// what the file system says about why (SQLite's own words name neither the file nor the folder).
    public static func describe(_ error: Error, store: String) -> String {
        let message = describe(error)
        guard let error = error as? DatabaseError,
            [.SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH].contains(error.resultCode)
        else { return message }
        let folder = (store as NSString).deletingLastPathComponent.isEmpty ? "." : (store as NSString).deletingLastPathComponent
        let name = (store as NSString).lastPathComponent
        if access(folder, W_OK) != 0 {
            return message + " (the folder \(folder) is not writable by this user, and SQLite's WAL mode needs to create "
                + "\(name)-wal and \(name)-shm beside the store; work on a copy in a writable folder)"
        }
        if FileManager.default.fileExists(atPath: store) && access(store, W_OK) != 0 {
            return message + " (the store file is read-only for this user)"
        }
        return message
    }

    /// A one-line description of a database or library error (without the SQL text).
    public static func describe(_ error: Error) -> String {
        if let error = error as? DatabaseError {
            return error.message ?? "\(error.resultCode)"
        }
        if let error = error as? LocalizedError, let description = error.errorDescription { return description }
        return "\(error)"
    }
}
