import GRDB

/// Reads one snapshot's value of one metric per stack (`Queries/snapshot_values.sql`) through SQLite's C API.
///
/// `top` reads every sample row of its history once or twice: with 1,000 snapshots of 16k stacks, 16 million
/// rows, where GRDB's `Row` cursor costs several times the read itself.
final class SnapshotValueReader {
    private let statement: RawStatement

    init(_ db: Database, metric: Metric) throws {
        statement = try RawStatement(db, try Store.query(named: "snapshot_values"))
        statement.bind(":metric", metric.rawValue)
    }

    /// Calls `body(stackID, value)` for every row of the snapshot, in stack order.
    func forEach(snapshot: Int64, _ body: (Int64, Int64) throws -> Void) throws {
        statement.bind(":snapshot", snapshot)
        defer { statement.reset() }
        while try statement.step() { try body(statement.int64(0), statement.int64(1)) }
    }
}
