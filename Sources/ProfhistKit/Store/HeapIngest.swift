import Foundation
import GRDB

/// What the user said about a file at ingest.
public struct IngestOptions: Sendable {
    public var build: String
    public var run: String?
    /// Epoch milliseconds; nil means the file's modification time.
    public var takenAt: Int64?
    public var labels: [(key: String, value: String)]

    public init(build: String, run: String? = nil, takenAt: Int64? = nil, labels: [(key: String, value: String)] = []) {
        self.build = build
        self.run = run
        self.takenAt = takenAt
        self.labels = labels
    }
}

/// What an ingest did.
public enum IngestOutcome: Sendable, Equatable {
    /// A new snapshot was stored.
    case stored(snapshotID: Int64, stackCount: Int, totalBytes: Double)
    /// The same content was stored before; nothing was written.
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

    /// The snapshot already stored with this content digest, if any.
    public func existingSnapshot(digest: String) throws -> Int64? {
        try store.queue.read { db in
            try Int64.fetchOne(db, sql: "SELECT id FROM snapshot WHERE source_digest = ?", arguments: [digest])
        }
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
        let merged = HeapIngestor.merge(symbolized.stacks)
        let takenAt = options.takenAt ?? HeapIngestor.modificationTime(path) ?? Int64(Date().timeIntervalSince1970 * 1000)
        let runName = options.run ?? HeapIngestor.defaultRunName(path: path, dump: parsed.dump)
        // The total is the sum of the stored (rounded) sample values, so an export sums back to it exactly.
        let total = merged.reduce(into: HeapValues()) { sum, stack in
            sum.inuseObjects += Double(HeapIngestor.rounded(stack.values.inuseObjects))
            sum.inuseBytes += Double(HeapIngestor.rounded(stack.values.inuseBytes))
        }
        do {
            var outcome = IngestOutcome.skipped(existingSnapshotID: 0)
            try store.queue.inTransaction(.immediate) { db in
                if let existing = try Int64.fetchOne(
                    db, sql: "SELECT id FROM snapshot WHERE source_digest = ?", arguments: [parsed.digest])
                {
                    outcome = .skipped(existingSnapshotID: existing)
                    return .rollback
                }
                var interner = Interner(db: db, plumbing: plumbing)
                let record = SnapshotRecord(
                    kind: "heap", takenAt: takenAt, path: path, digest: parsed.digest, byteCount: parsed.byteCount,
                    format: parsed.dump.format.rawValue, samplePeriod: Int64(clamping: parsed.dump.samplePeriod),
                    total: total.inuseBytes, totalObjects: total.inuseObjects, headerBytes: parsed.dump.header?.inuseBytes,
                    headerObjects: parsed.dump.header?.inuseObjects, stackCount: merged.count)
                let (snapshotID, buildID) = try record.insert(db, interner: &interner, options: options, runName: runName)

                // The symbol cache, so the next dump of these binaries skips symbolization.
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

                // Stacks and samples.
                let sampleInsert = try db.cachedStatement(
                    sql: "INSERT INTO sample (snapshot_id, stack_id, inuse_objects, inuse_space) VALUES (?, ?, ?, ?)")
                let allocInsert = try db.cachedStatement(
                    sql: "INSERT INTO sample_alloc (snapshot_id, stack_id, alloc_objects, alloc_space) VALUES (?, ?, ?, ?)")
                let locationInsert = try db.cachedStatement(
                    sql: "INSERT OR IGNORE INTO stack_location (stack_id, build_id, location_set_id) VALUES (?, ?, ?)")
                for stack in merged {
                    let stackID = try interner.stack(names: stack.frames.map(\.name))
                    let values = stack.values
                    try sampleInsert.execute(arguments: [
                        snapshotID, stackID, HeapIngestor.rounded(values.inuseObjects), HeapIngestor.rounded(values.inuseBytes),
                    ])
                    if values.allocObjects > 0 || values.allocBytes > 0 {
                        try allocInsert.execute(arguments: [
                            snapshotID, stackID, HeapIngestor.rounded(values.allocObjects), HeapIngestor.rounded(values.allocBytes),
                        ])
                    }
                    try locationInsert.execute(arguments: [stackID, buildID, try interner.locationSet(stack.frames.map { ($0.file, $0.line, $0.inlined) })])
                }
                outcome = .stored(snapshotID: snapshotID, stackCount: merged.count, totalBytes: total.inuseBytes)
                return .commit
            }
            return outcome
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.writeFailed(path: store.path, source: path, reason: Store.describe(error))
        }
    }

    // MARK: - Helpers

    /// Stacks whose frame names are equal are one stack: their values add up (each dump line was unsampled on
    /// its own first, as jeprof does). The first one's file:line is kept for display.
    static func merge(_ stacks: [SymbolizedHeap.Stack]) -> [SymbolizedHeap.Stack] {
        var index: [[String]: Int] = [:]
        var result: [SymbolizedHeap.Stack] = []
        result.reserveCapacity(stacks.count)
        for stack in stacks {
            let names = stack.frames.map(\.name)
            if let existing = index[names] {
                result[existing].values += stack.values
            } else {
                index[names] = result.count
                result.append(stack)
            }
        }
        return result
    }

    static func rounded(_ value: Double) -> Int64 {
        guard value.isFinite else { return 0 }
        return Int64(clamping: Int64(exactly: value.rounded()) ?? (value > 0 ? Int64.max : 0))
    }

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

    /// A run name for dumps ingested without `--run`: jemalloc's automatic dump names carry the process id
    /// (`prefix.PID.SEQ.i.heap`); otherwise the load address of the main executable, which differs between
    /// processes (ASLR) and is the same for every dump of one process.
    public static func defaultRunName(path: String, dump: HeapDump) -> String {
        let name = (path as NSString).lastPathComponent
        let parts = name.split(separator: ".")
        if parts.count >= 5, parts.last == "heap", parts[parts.count - 2].count == 1,
            Int(parts[parts.count - 3]) != nil, let pid = Int(parts[parts.count - 4])
        {
            return "pid-\(pid)"
        }
        if let first = dump.mappings.first(where: { !$0.path.isEmpty }) {
            return "proc-" + String(first.start, radix: 16)
        }
        return "default"
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
