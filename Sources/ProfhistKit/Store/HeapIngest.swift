import Foundation
import GRDB

/// What the user said about a file at ingest.
public struct IngestOptions: Sendable {
    public var build: String
    public var run: String?
    /// Epoch milliseconds; nil means the file's modification time.
    public var takenAt: Int64?
    /// `takenAt` is the file's modification time, not a time the user gave: a time in the data wins over it.
    public var takenAtIsDefault = false
    public var labels: [(key: String, value: String)]
    /// The build's branch, start point and order key (used when the build or its branch is new).
    public var branch = BranchOptions()

    public init(build: String, run: String? = nil, takenAt: Int64? = nil, labels: [(key: String, value: String)] = []) {
        self.build = build
        self.run = run
        self.takenAt = takenAt
        self.labels = labels
    }
}

/// Where a file's snapshot goes: its run, time and order, from what the user said, else from the file.
public struct SnapshotPlacement: Sendable, Equatable {
    public var run: String
    /// Epoch milliseconds.
    public var takenAt: Int64
    /// The order number in the file name (`DumpFileName.sequence`).
    public var sequence: Int64?
    /// Neither `--run` nor a process id in the file name named the run: the file is a run of its own.
    public var runIsTheFile: Bool

    /// `--run`, else `pid-PID` from jemalloc's file name, else `file-NAME` (the name without `.heap`): a file
    /// without a process id is never merged with another on a guess. The load address is no run identity: every
    /// process of a non-PIE program (or of any program under `setarch -R`) has the same one.
    /// The time is `--at`, else the file's modification time, else now.
    public static func of(path: String, options: IngestOptions) -> SnapshotPlacement {
        let name = DumpFileName(path: path)
        let takenAt = options.takenAt ?? HeapIngestor.modificationTime(path) ?? Int64(Date().timeIntervalSince1970 * 1000)
        if let run = options.run {
            return SnapshotPlacement(run: run, takenAt: takenAt, sequence: name.sequence, runIsTheFile: false)
        }
        if let pid = name.pid {
            return SnapshotPlacement(run: "pid-\(pid)", takenAt: takenAt, sequence: name.sequence, runIsTheFile: false)
        }
        let file = "file-" + ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return SnapshotPlacement(run: file, takenAt: takenAt, sequence: name.sequence, runIsTheFile: true)
    }
}

/// What an ingest did.
public enum IngestOutcome: Sendable, Equatable {
    /// A new snapshot was stored.
    case stored(snapshotID: Int64, stackCount: Int, totalBytes: Double)
    /// The same file was stored before for the same build, run and time (a retry); nothing was written.
    case skipped(existingSnapshotID: Int64)
}

/// Stores parsed, symbolized heap dumps: one immediate transaction per file, all or nothing.
public struct HeapIngestor {
    public let store: Store
    public var plumbing: Plumbing

    public init(store: Store, plumbing: Plumbing = Plumbing()) {
        self.store = store
        self.plumbing = plumbing
    }

    /// The snapshot already stored from the same file for the same build, run and time (a retry), if any.
    public func existingSnapshot(digest: String, build: String, placement: SnapshotPlacement) throws -> Int64? {
        try store.queue.read { db in try HeapIngestor.existingSnapshot(db, digest: digest, build: build, placement: placement) }
    }

    /// Identical bytes at another time, or of another build or run, are another snapshot (README, "ingest").
    static func existingSnapshot(_ db: Database, digest: String, build: String, placement: SnapshotPlacement) throws -> Int64? {
        try Int64.fetchOne(
            db,
            sql: "SELECT s.id FROM snapshot AS s JOIN build AS b ON b.id = s.build_id JOIN run AS r ON r.id = s.run_id "
                + "WHERE s.source_digest = ? AND b.name = ? AND r.name = ? AND s.taken_at = ?",
            arguments: [digest, build, placement.run, placement.takenAt])
    }

    /// Stores one dump.
    /// - Parameters:
    ///   - parsed: the parser's result (dump, digest, size).
    ///   - symbolized: the same dump symbolized.
    ///   - path: the source file, recorded and used for the default time and run.
    /// - Throws: `StoreError.writeFailed` (the store is unchanged) on any database failure.
    public func store(
        _ parsed: JemallocHeapParser.Result, symbolized: SymbolizedHeap, path: String, options: IngestOptions
    ) throws -> IngestOutcome {
        var clock = PhaseClock()
        let merged = try symbolized.merged(plumbing: plumbing)
        clock.lap("merge")
        let placement = SnapshotPlacement.of(path: path, options: options)
        do {
            var outcome = IngestOutcome.skipped(existingSnapshotID: 0)
            try store.queue.inDatabase { db in
                try HeapIngestor.prepareWriter(db)
                defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
                try db.inTransaction(.immediate) {
                    if let existing = try HeapIngestor.existingSnapshot(
                        db, digest: parsed.digest, build: options.build, placement: placement)
                    {
                        outcome = .skipped(existingSnapshotID: existing)
                        return .rollback
                    }
                    let written = WrittenDump(
                        parsed: parsed, symbolized: symbolized, merged: merged, path: path, placement: placement)
                    outcome = try write(written, db, options: options, clock: &clock)
                    return .commit
                }
            }
            clock.lap("commit")
            clock.report(path)
            return outcome
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.writeFailed(path: store.path, source: path, reason: Store.describe(error, store: store.path))
        }
    }

    /// The writer's settings for one ingest (foreign keys back on when it ends).
    private static func prepareWriter(_ db: Database) throws {
        // Foreign keys are checked by construction here (every id is read or created in this transaction,
        // which holds the write lock); SQLite's per-row checks would cost a quarter of the ingest.
        try db.execute(sql: "PRAGMA foreign_keys = OFF")
        // 64 MiB of page cache for the writer (SQLite's default is 2 MiB): a first ingest of a 16k-stack
        // dump touches more index pages than that, and spilling them mid-transaction doubles its writes.
        // Readers keep the default, so their memory does not grow with the history they scan.
        try db.execute(sql: "PRAGMA cache_size = -65536")
        // Statement journals (SQLite keeps one per multi-row INSERT, to undo just that statement) in memory:
        // in a file they cost 24k pwrite calls for a 16k-stack dump, a third of the store phase.
        try db.execute(sql: "PRAGMA temp_store = MEMORY")
    }

    /// One dump on its way into the store.
    private struct WrittenDump {
        var parsed: JemallocHeapParser.Result
        var symbolized: SymbolizedHeap
        var merged: MergedStacks
        var path: String
        var placement: SnapshotPlacement
    }

    /// Writes the snapshot, the symbol cache, the stacks, the samples and the stacks' locations, inside the
    /// caller's transaction.
    private func write(
        _ dump: WrittenDump, _ db: Database, options: IngestOptions, clock: inout PhaseClock
    ) throws -> IngestOutcome {
        var interner = Interner(db: db, plumbing: plumbing)
        let total = dump.merged.storedTotal
        let header = dump.parsed.dump.header
        let record = SnapshotRecord(
            kind: .heap, takenAt: dump.placement.takenAt, sequence: dump.placement.sequence, path: dump.path,
            digest: dump.parsed.digest, byteCount: dump.parsed.byteCount, format: dump.parsed.dump.format.rawValue,
            samplePeriod: Int64(clamping: dump.parsed.dump.samplePeriod), total: total.inuseBytes,
            totalObjects: total.inuseObjects, headerBytes: header?.inuseBytes, headerObjects: header?.inuseObjects,
            stackCount: dump.merged.ends.count)
        let (snapshotID, buildID) = try record.insert(db, interner: &interner, options: options, runName: dump.placement.run)
        try HeapIngestor.storeSymbols(dump.symbolized, snapshotID: snapshotID, db, interner: &interner)
        // Stacks and samples, in stack order so the sample rows append to the table's b-tree.
        clock.lap("head")
        let (stackIDs, created) = try interner.stacks(dump.merged.tree, at: dump.merged.ends)
        clock.lap("stacks")
        // Heap sample rows are keyed by SampleKey (migration 0004).
        guard stackIDs.allSatisfy({ SampleKey.fits(snapshot: snapshotID, stack: $0) }) else {
            throw StoreError.writeFailed(
                path: store.path, source: dump.path,
                reason: "snapshot id \(snapshotID) or a stack id is beyond the sample key's range (2^35 snapshots, 2^28 call "
                    + "sites); this store is full: ingest into a new one (--db)")
        }
        var samples = try SampleWriter(db, snapshotID: snapshotID, buildID: buildID, dump: dump)
        for index in stackIDs.indices.sorted(by: { stackIDs[$0] < stackIDs[$1] }) {
            try samples.write(stack: index, id: stackIDs[index], created: created[index], interner: &interner)
        }
        try samples.flush()
        clock.lap("samples")
        return .stored(snapshotID: snapshotID, stackCount: dump.merged.ends.count, totalBytes: total.inuseBytes)
    }

    /// The symbol cache, so the next dump of these binaries skips symbolization, and which file symbolized each
    /// mapping of the snapshot.
    private static func storeSymbols(
        _ symbolized: SymbolizedHeap, snapshotID: Int64, _ db: Database, interner: inout Interner
    ) throws {
        var binaryIDs: [String: Int64] = [:]
        for entry in symbolized.newSymbols {
            let binaryID = try HeapIngestor.binaryID(db, key: entry.binaryKey, symbolizer: entry.symbolizer, fileName: entry.fileName)
            binaryIDs[entry.binaryKey] = binaryID
            let insert = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO binary_symbol (binary_id, address, depth, frame_id, file_id, line) VALUES (?, ?, ?, ?, ?, ?)")
            for (address, frames) in entry.symbols {
                for (depth, frame) in frames.enumerated() {
                    let frameID = try interner.frame(frame.name).id
                    let fileID = try frame.file.map { try interner.string($0) }
                    try insert.execute(arguments: [binaryID, Int64(bitPattern: address), depth, frameID, fileID, frame.line])
                }
            }
        }
        for use in symbolized.mappings {
            var binaryID: Int64? = nil
            if let key = use.binaryKey, let symbolizer = use.symbolizer, let fileName = use.fileName {
                binaryID = try binaryIDs[key] ?? HeapIngestor.binaryID(db, key: key, symbolizer: symbolizer, fileName: fileName)
            }
            try db.execute(
                sql: "INSERT OR IGNORE INTO snapshot_mapping (snapshot_id, mapping_path, binary_id, local_path) VALUES (?, ?, ?, ?)",
                arguments: [snapshotID, use.mappingPath, binaryID, use.localPath])
        }
    }

    /// The sample rows of one snapshot, and the locations (file:line) of stacks the build has not had before.
    private struct SampleWriter {
        let snapshotID: Int64
        let buildID: Int64
        let dump: WrittenDump
        let sampleInsert: BatchInsert
        let allocInsert: RawStatement
        let locationKnown: RawStatement
        let locationInsert: BatchInsert
        /// Each distinct frame's location bytes, encoded once.
        var frameBytes: [[UInt8]?]
        var blob: [UInt8] = []

        init(_ db: Database, snapshotID: Int64, buildID: Int64, dump: WrittenDump) throws {
            self.snapshotID = snapshotID
            self.buildID = buildID
            self.dump = dump
            sampleInsert = try BatchInsert(db, "INSERT INTO sample (key, inuse_objects, inuse_space)", columns: 3)
            allocInsert = try RawStatement(
                db, "INSERT INTO sample_alloc (snapshot_id, stack_id, alloc_objects, alloc_space) VALUES (?, ?, ?, ?)")
            locationKnown = try RawStatement(db, "SELECT 1 FROM stack_location WHERE stack_id = ? AND build_id = ?")
            locationInsert = try BatchInsert(db, "INSERT INTO stack_location (stack_id, build_id, location_set_id)", columns: 3)
            frameBytes = [[UInt8]?](repeating: nil, count: dump.symbolized.frames.count)
        }

        /// Writes merged stack `index`, stored as `id` (`created`: by this ingest).
        mutating func write(stack index: Int, id stackID: Int64, created: Bool, interner: inout Interner) throws {
            let values = dump.merged.values[index]
            try sampleInsert.append(
                SampleKey.key(snapshot: snapshotID, stack: stackID), HeapValues.stored(values.inuseObjects),
                HeapValues.stored(values.inuseBytes))
            if values.allocObjects > 0 || values.allocBytes > 0 {
                allocInsert.bind(1, snapshotID)
                allocInsert.bind(2, stackID)
                allocInsert.bind(3, HeapValues.stored(values.allocObjects))
                allocInsert.bind(4, HeapValues.stored(values.allocBytes))
                try allocInsert.run()
            }
            // Locations of the build's first snapshot with the stack (of its first line that had it); a stack
            // created just now has none yet.
            if !created {
                locationKnown.bind(1, stackID)
                locationKnown.bind(2, buildID)
                if try locationKnown.int64() != nil { return }
            }
            try locationInsert.append(stackID, buildID, try interner.locationSet(locationBlob(index, interner: &interner)))
        }

        /// The location bytes of a merged stack's frames, from its first dump stack, root first, as far as the
        /// merged stack goes.
        private mutating func locationBlob(_ index: Int, interner: inout Interner) throws -> [UInt8] {
            blob.removeAll(keepingCapacity: true)
            let symbolized = dump.symbolized
            let kept = Int(dump.merged.tree.nodes[Int(dump.merged.ends[index])].depth) + 1
            for frame in symbolized.frameIndices[symbolized.stacks[dump.merged.firstStack[index]].range].prefix(kept) {
                if let bytes = frameBytes[Int(frame)] {
                    blob.append(contentsOf: bytes)
                } else {
                    let f = symbolized.frames[Int(frame)]
                    let bytes = try interner.locationBytes(file: f.file, line: f.line, inlined: f.inlined)
                    frameBytes[Int(frame)] = bytes
                    blob.append(contentsOf: bytes)
                }
            }
            return blob
        }

        func flush() throws {
            try sampleInsert.flush()
            try locationInsert.flush()
        }
    }

    // MARK: - Helpers

    static func findOrCreate(_ db: Database, select: String, insert: String, arguments: StatementArguments) throws -> Int64 {
        if let id = try Int64.fetchOne(db, sql: select, arguments: arguments) { return id }
        try db.execute(sql: insert, arguments: arguments)
        return db.lastInsertedRowID
    }

    static func binaryID(_ db: Database, key: String, symbolizer: String, fileName: String) throws -> Int64 {
        if let id = try Int64.fetchOne(
            db, sql: "SELECT id FROM binary WHERE build_key = ? AND symbolizer = ?", arguments: [key, symbolizer])
        {
            return id
        }
        try db.execute(
            sql: "INSERT INTO binary (build_key, symbolizer, file_name) VALUES (?, ?, ?)",
            arguments: [key, symbolizer, fileName])
        return db.lastInsertedRowID
    }

    /// The file's modification time in epoch milliseconds.
    public static func modificationTime(_ path: String) -> Int64? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let date = attributes[.modificationDate] as? Date
        else { return nil }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}

/// Unsigned LEB128, the varint of DWARF: 7 bits per byte, high bit set on all but the last.
public enum LEB128 {
    public static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var v = value
        repeat {
            var byte = UInt8(v & 0x7F)
            v >>= 7
            if v != 0 { byte |= 0x80 }
            bytes.append(byte)
        } while v != 0
    }

    /// Decodes every value of `bytes`; nil if the last one is cut short.
    public static func decode(_ bytes: [UInt8]) -> [UInt64]? {
        var result: [UInt64] = []
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var pending = false
        for byte in bytes {
            guard shift < 64 else { return nil }
            value |= UInt64(byte & 0x7F) << shift
            pending = true
            if byte & 0x80 == 0 {
                result.append(value)
                value = 0
                shift = 0
                pending = false
            } else {
                shift += 7
            }
        }
        return pending ? nil : result
    }
}
