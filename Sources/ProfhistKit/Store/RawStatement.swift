import GRDB
import GRDBSQLite

/// A prepared statement driven through SQLite's C API, for the hot loops of an ingest (tens of thousands of
/// rows per file).
///
/// Written by hand because GRDB's `Statement.execute(arguments:)` boxes every argument in a `DatabaseValue`
/// array and checks it per call, which costs more than SQLite's own insert; everything else in the store goes
/// through GRDB. Used only inside a GRDB transaction, on its connection, and finalized before it ends.
final class RawStatement {
    private let db: Database
    private var handle: OpaquePointer?
    private let sql: String

    init(_ db: Database, _ sql: String) throws {
        self.db = db
        self.sql = sql
        var statement: OpaquePointer? = nil
        let code = sqlite3_prepare_v3(db.sqliteConnection, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw error(code) }
        handle = statement
    }

    deinit { sqlite3_finalize(handle) }

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: Double) { sqlite3_bind_double(handle, index, value) }

    /// Binds a named parameter (`:name`); an unknown name is a programming error.
    func bind(_ name: String, _ value: Int64) {
        sqlite3_bind_int64(handle, index(of: name), value)
    }

    /// Binds text to a named parameter; SQLite copies it.
    func bind(_ name: String, _ text: String) {
        sqlite3_bind_text(handle, index(of: name), text, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
    }

    private func index(of name: String) -> Int32 {
        let index = sqlite3_bind_parameter_index(handle, name)
        precondition(index > 0, "no parameter \(name) in \(sql)")
        return index
    }

    /// Steps a query: true while it has a row (read it with `int64(_:)`); call `reset()` when done.
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw error(code)
        }
    }

    /// A column of the current row as an integer (NULL reads as 0).
    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func reset() { sqlite3_reset(handle) }

    /// Binds a blob; SQLite copies the bytes.
    func bind(_ index: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            // SQLITE_TRANSIENT: SQLite copies the bytes before this returns.
            _ = sqlite3_bind_blob(handle, index, raw.baseAddress, Int32(raw.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
    }

    /// Runs a statement that returns no rows, then resets it.
    func run() throws {
        defer { sqlite3_reset(handle) }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE || code == SQLITE_ROW else { throw error(code) }
    }

    /// Runs a query and returns the first column of its first row as an integer (nil when there is no row),
    /// then resets it.
    func int64() throws -> Int64? {
        defer { sqlite3_reset(handle) }
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return sqlite3_column_int64(handle, 0)
        case SQLITE_DONE: return nil
        default: throw error(code)
        }
    }

    /// The rowid of the last insert on this connection.
    var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(db.sqliteConnection) }

    private func error(_ code: Int32) -> DatabaseError {
        let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) } ?? "SQLite error \(code)"
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
    }
}

/// Inserts rows of integers (NULL allowed) many per statement: `INSERT ... VALUES (...), (...), ...` with
/// `batch` rows, so SQLite runs one statement per batch instead of one per row. Rows are written when a batch
/// fills and by `flush()`, which the caller must call before reading the table.
final class BatchInsert {
    private let db: Database
    private let prefix: String
    private let columns: Int
    private let batch: Int
    private let full: RawStatement
    private var single: RawStatement?
    private var pending: [Int64?] = []

    init(_ db: Database, _ prefix: String, columns: Int, batch: Int = 64) throws {
        self.db = db
        self.prefix = prefix
        self.columns = columns
        self.batch = batch
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
        full = try RawStatement(db, prefix + " VALUES " + Array(repeating: row, count: batch).joined(separator: ", "))
        pending.reserveCapacity(columns * batch)
    }

    func append(_ values: Int64?...) throws {
        precondition(values.count == columns)
        pending.append(contentsOf: values)
        if pending.count == columns * batch {
            for (index, value) in pending.enumerated() { full.bind(Int32(index + 1), value) }
            try full.run()
            pending.removeAll(keepingCapacity: true)
        }
    }

    func flush() throws {
        guard !pending.isEmpty else { return }
        if single == nil {
            single = try RawStatement(db, prefix + " VALUES (" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")")
        }
        for row in stride(from: 0, to: pending.count, by: columns) {
            for column in 0..<columns { single!.bind(Int32(column + 1), pending[row + column]) }
            try single!.run()
        }
        pending.removeAll(keepingCapacity: true)
    }
}
