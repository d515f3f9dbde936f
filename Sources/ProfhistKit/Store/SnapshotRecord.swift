import Foundation
import GRDB

/// The row of one ingested file, written with its build, run and labels: shared by heap and task ingest.
struct SnapshotRecord {
    var kind: SnapshotKind
    var takenAt: Int64
    /// The order number from the file name (`DumpFileName.sequence`).
    var sequence: Int64? = nil
    var path: String
    var digest: String
    var byteCount: Int
    var format: String
    var samplePeriod: Int64 = 0
    var total: Double
    var totalObjects: Double = 0
    var headerBytes: Double? = nil
    var headerObjects: Double? = nil
    var stackCount: Int

    /// Finds or creates the build (on its branch) and run, inserts the snapshot and its labels.
    /// - Returns: the new snapshot's id and its build's id.
    func insert(_ db: Database, interner: inout Interner, options: IngestOptions, runName: String) throws -> (snapshot: Int64, build: Int64) {
        let buildID: Int64
        do {
            buildID = try Branches.findOrCreateBuild(db, name: options.build, options: options.branch)
        } catch StoreError.badParameter(let message) {
            throw StoreError.badParameter("\(path): not stored, the store is unchanged: \(message)")
        }
        let runID = try HeapIngestor.findOrCreate(
            db, select: "SELECT id FROM run WHERE build_id = ? AND name = ?",
            insert: "INSERT INTO run (build_id, name) VALUES (?, ?)", arguments: [buildID, runName])
        try db.execute(
            sql: """
                INSERT INTO snapshot (kind, build_id, run_id, taken_at, ingested_at, source_path, source_digest,
                    source_bytes, format, sample_period, total, total_objects, header_bytes, header_objects, stack_count,
                    sequence)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                kind, buildID, runID, takenAt, Int64(Date().timeIntervalSince1970 * 1000), path, digest, byteCount, format,
                samplePeriod, total, totalObjects, headerBytes, headerObjects, stackCount, sequence,
            ])
        let snapshotID = db.lastInsertedRowID
        for label in options.labels {
            try db.execute(
                sql: "INSERT OR REPLACE INTO snapshot_label (snapshot_id, key_id, value_id) VALUES (?, ?, ?)",
                arguments: [snapshotID, try interner.string(label.key), try interner.string(label.value)])
        }
        return (snapshotID, buildID)
    }
}
