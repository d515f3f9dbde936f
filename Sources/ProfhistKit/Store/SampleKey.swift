/// The heap sample table's integer key (migration 0004): `snapshot_id << 28 | stack_id`, the rowid of `sample`.
///
/// The SQL files (`Migrations/0004_sample_integer_key.sql`, `Queries/snapshot_values*.sql`) spell the same layout
/// out as literals; the Swift code takes it from here.
enum SampleKey {
    /// Bits of the stack id: stack ids (call-site ids) must stay below 2^28.
    static let stackBits: Int64 = 28
    static let stackMask: Int64 = (1 << stackBits) - 1
    /// Snapshot ids stay below 2^35, so keys stay positive 64-bit integers.
    static let snapshotLimit: Int64 = 1 << (63 - stackBits)

    static func fits(snapshot: Int64, stack: Int64) -> Bool {
        snapshot >= 0 && snapshot < snapshotLimit && stack >= 0 && stack <= stackMask
    }

    static func key(snapshot: Int64, stack: Int64) -> Int64 {
        snapshot << stackBits | stack
    }

    /// SQL matching the sample rows (alias `sa`) of the snapshot whose id is the SQL expression `snapshotID`: one
    /// range of the primary key.
    static func range(of snapshotID: String) -> String {
        "sa.key BETWEEN \(snapshotID) << \(stackBits) AND (\(snapshotID) << \(stackBits)) | \(stackMask)"
    }
}
