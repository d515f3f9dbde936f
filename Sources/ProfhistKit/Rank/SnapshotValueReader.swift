import GRDB

/// Reads one snapshot's value of one metric per stack (`Queries/snapshot_values.sql`) through SQLite's C API.
///
/// `top` reads every sample row of its history once or twice: with 1,000 snapshots of 16k stacks, 16 million
/// rows, where GRDB's `Row` cursor costs several times the read itself.
final class SnapshotValueReader {
    private let statement: RawStatement
    private let metric: Metric
    private let db: Database
    /// `Queries/snapshot_values_of_stacks.sql`, prepared on first use.
    private var keyed: RawStatement?

    init(_ db: Database, metric: Metric) throws {
        self.db = db
        self.metric = metric
        statement = try RawStatement(db, try Store.query(named: "snapshot_values"))
        statement.bind(":metric", metric.rawValue)
    }

    /// Calls `body(stackID, value)` for every row of the snapshot, in stack order.
    func forEach(snapshot: Int64, _ body: (Int64, Int64) throws -> Void) throws {
        statement.bind(":snapshot", snapshot)
        defer { statement.reset() }
        while try statement.step() { try body(statement.int64(0), statement.int64(1)) }
    }

    /// Replaces the contents of `rows` with every row of the snapshot, in stack order.
    ///
    /// The hot loops of `top` read into a reused buffer rather than through a closure: a closure that mutates
    /// the caller's state costs a dynamic exclusivity check per captured access, per row.
    func read(snapshot: Int64, into rows: inout SnapshotRows) throws {
        statement.bind(":snapshot", snapshot)
        defer { statement.reset() }
        try rows.fill(from: statement)
    }

    /// Hands every row of the snapshot, in stack order, to `sink`: the pass over all rows of a history, where
    /// a generic sink (specialised, inlined) costs less per row than a closure or a buffer.
    func read<Sink: SnapshotRowSink>(snapshot: Int64, into sink: inout Sink) throws {
        statement.bind(":snapshot", snapshot)
        defer { statement.reset() }
        while try statement.step() { sink.take(stack: statement.int64(0), value: statement.int64(1)) }
    }

    /// Replaces the contents of `rows` with the rows of the given stacks only, in stack order: one index seek
    /// per stack instead of a scan of the snapshot, for a few stacks out of many.
    /// - Parameter stacks: the stack ids as a JSON array (see `SnapshotValueReader.json(_:)`).
    func read(snapshot: Int64, stacks: String, into rows: inout SnapshotRows) throws {
        let keyed: RawStatement
        if let known = self.keyed {
            keyed = known
        } else {
            keyed = try RawStatement(db, try Store.query(named: "snapshot_values_of_stacks"))
            keyed.bind(":metric", metric.rawValue)
            self.keyed = keyed
        }
        keyed.bind(":snapshot", snapshot)
        keyed.bind(":stacks", stacks)
        defer { keyed.reset() }
        try rows.fill(from: keyed)
    }

    /// Stack ids as the JSON array `read(snapshot:stacks:into:)` takes.
    static func json(_ stacks: [Int64]) -> String {
        "[" + stacks.map(String.init).joined(separator: ",") + "]"
    }
}

/// One snapshot's rows as two parallel arrays, reused from snapshot to snapshot.
struct SnapshotRows {
    var stacks: [Int64] = []
    var values: [Int64] = []

    var count: Int { stacks.count }

    fileprivate mutating func fill(from statement: RawStatement) throws {
        stacks.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        while try statement.step() {
            stacks.append(statement.int64(0))
            values.append(statement.int64(1))
        }
    }
}

/// Takes the rows of a snapshot one at a time (see `SnapshotValueReader.read(snapshot:into:)`).
protocol SnapshotRowSink {
    mutating func take(stack: Int64, value: Int64)
}
