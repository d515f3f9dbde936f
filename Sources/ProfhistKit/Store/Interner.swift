import Crypto
import Foundation
import GRDB

/// Finds or creates the ids of strings, frames, call sites and stacks inside one write transaction, with
/// prepared statements and a memo so each distinct value costs at most one lookup and one insert.
struct Interner {
    let db: Database
    let plumbing: Plumbing
    private var strings: [String: Int64] = [:]
    private var frames: [String: (id: Int64, level: Plumbing.Level)] = [:]
    private var locationSets: [LocationBlob: Int64] = [:]
    private var findLocationSet: RawStatement? = nil
    private var insertLocationSet: RawStatement? = nil
    private var locationSetsExisted = true
    /// The store's allocator wrappers, read at the first new frame.
    private var wrappers: [String]? = nil

    init(db: Database, plumbing: Plumbing) {
        self.db = db
        self.plumbing = plumbing
    }

    mutating func string(_ value: String) throws -> Int64 {
        if let id = strings[value] { return id }
        let select = try db.cachedStatement(sql: "SELECT id FROM string WHERE value = ?")
        let id: Int64
        if let existing = try Int64.fetchOne(select, arguments: [value]) {
            id = existing
        } else {
            let insert = try db.cachedStatement(sql: "INSERT INTO string (value) VALUES (?)")
            try insert.execute(arguments: [value])
            id = db.lastInsertedRowID
        }
        strings[value] = id
        return id
    }

    /// The location blob of one frame (see `stack_location`): its file's string id (0: unknown), line (0:
    /// unknown) and 1 if inlined, as LEB128. A stack's blob is its frames' blobs, root first.
    mutating func locationBytes(file: String?, line: Int?, inlined: Bool) throws -> [UInt8] {
        var blob: [UInt8] = []
        LEB128.append(UInt64(try file.map { try string($0) } ?? 0), to: &blob)
        LEB128.append(UInt64(max(line ?? 0, 0)), to: &blob)
        LEB128.append(inlined ? 1 : 0, to: &blob)
        return blob
    }

    /// The id of a stack's location blob, shared by every stack and build with the same locations.
    mutating func locationSet(_ blob: [UInt8]) throws -> Int64 {
        if let id = locationSets[LocationBlob(bytes: blob)] { return id }
        if findLocationSet == nil {
            findLocationSet = try RawStatement(db, "SELECT id FROM location_set WHERE frames = ?")
            insertLocationSet = try RawStatement(db, "INSERT INTO location_set (frames) VALUES (?)")
            // In a new store (a CI job's first ingest) no lookup can hit: every blob is in the memo or new.
            locationSetsExisted = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM location_set)") ?? true
        }
        let id: Int64
        findLocationSet!.bind(1, blob)
        if locationSetsExisted, let existing = try findLocationSet!.int64() {
            id = existing
        } else {
            insertLocationSet!.bind(1, blob)
            try insertLocationSet!.run()
            id = insertLocationSet!.lastInsertedRowID
        }
        locationSets[LocationBlob(bytes: blob)] = id
        return id
    }

    mutating func frame(_ name: String) throws -> (id: Int64, level: Plumbing.Level) {
        if let known = frames[name] { return known }
        let nameID = try string(name)
        let select = try db.cachedStatement(sql: "SELECT id, is_plumbing FROM frame WHERE name_id = ?")
        let result: (Int64, Plumbing.Level)
        if let row = try Row.fetchOne(select, arguments: [nameID]) {
            result = (row[0], Plumbing.Level(rawValue: row[1]) ?? .none)
        } else {
            let patterns = try wrappers ?? AllocatorWrappers.active(db)
            wrappers = patterns
            let level = AllocatorWrappers.level(of: name, plumbing: plumbing, wrappers: patterns)
            let insert = try db.cachedStatement(sql: "INSERT INTO frame (name_id, is_plumbing) VALUES (?, ?)")
            try insert.execute(arguments: [nameID, level.rawValue])
            result = (db.lastInsertedRowID, level)
        }
        frames[name] = result
        return result
    }

    /// The stack ids of the given nodes of `tree` (the ends of a file's stacks), in that order, and whether each
    /// was created here: known stacks are found by their path digest; new ones are created with whatever call
    /// sites they lack, and their leaf.
    mutating func stacks(_ tree: StackTree, at ends: [Int32]) throws -> (ids: [Int64], created: [Bool]) {
        var clock = PhaseClock()
        defer { clock.report("stacks") }
        let digests = tree.pathDigests(of: ends)
        clock.lap("digests")
        var frameIDs: [Int64] = []
        var levels: [Plumbing.Level] = []
        frameIDs.reserveCapacity(tree.names.count)
        levels.reserveCapacity(tree.names.count)
        for name in tree.names {
            let frame = try frame(name)
            frameIDs.append(frame.id)
            levels.append(frame.level)
        }
        var (result, missing) = try existingStacks(ends, digests: digests)
        clock.lap("lookups")
        var createdStacks = [Bool](repeating: false, count: ends.count)
        guard !missing.isEmpty else { return (result, createdStacks) }
        var callsites = try CallsiteWriter(db, tree: tree, frameIDs: frameIDs)
        let insertStack = try BatchInsert(db, "INSERT INTO stack (id, path_digest, leaf_frame_id)", columns: 3)
        var pathNames: [Int32] = []
        var pathLevels: [Plumbing.Level] = []
        for index in missing {
            let end = ends[index]
            let id = try callsites.callsite(of: end)
            // The leaf from the plumbing levels of the path's frames, root first.
            pathNames.removeAll(keepingCapacity: true)
            var up = end
            while up >= 0 {
                pathNames.append(tree.nodes[Int(up)].name)
                up = tree.nodes[Int(up)].parent
            }
            pathNames.reverse()
            pathLevels.removeAll(keepingCapacity: true)
            for name in pathNames { pathLevels.append(levels[Int(name)]) }
            let leaf = frameIDs[Int(pathNames[plumbing.leafIndex(of: pathLevels)])]
            try insertStack.append(id, digests[Int(end)], leaf)
            result[index] = id
            createdStacks[index] = true
        }
        try callsites.flush()
        try insertStack.flush()
        clock.lap("inserts")
        return (result, createdStacks)
    }

    /// The ids of the stacks already stored (by path digest), 0 for the others, and the indices of the others.
    private func existingStacks(_ ends: [Int32], digests: [Int64]) throws -> (ids: [Int64], missing: [Int]) {
        var result = [Int64](repeating: 0, count: ends.count)
        // In a new store every stack is missing; no need to look each one up.
        let stacksExist = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM stack)") ?? true
        guard stacksExist else { return (result, Array(ends.indices)) }
        let findStack = try RawStatement(db, "SELECT id FROM stack WHERE path_digest = ?")
        var missing: [Int] = []
        for (index, node) in ends.enumerated() {
            findStack.bind(1, digests[Int(node)])
            if let id = try findStack.int64() { result[index] = id } else { missing.append(index) }
        }
        return (result, missing)
    }

    /// Finds or creates the call sites of a file's stack tree. A child of a call site created here cannot exist
    /// yet, so it is inserted without a lookup (on a new store, no lookups at all).
    private struct CallsiteWriter {
        let tree: StackTree
        let frameIDs: [Int64]
        /// Call site id per tree node; 0 = not looked up yet.
        var callsiteIDs: [Int64]
        var created: [Bool]
        let findCallsite: RawStatement
        let insertCallsite: BatchInsert
        /// New call sites get the ids after the largest one (the transaction holds the write lock), so they can
        /// be inserted many rows per statement.
        var nextCallsiteID: Int64
        var chain: [Int32] = []

        init(_ db: Database, tree: StackTree, frameIDs: [Int64]) throws {
            self.tree = tree
            self.frameIDs = frameIDs
            callsiteIDs = [Int64](repeating: 0, count: tree.nodes.count)
            created = [Bool](repeating: false, count: tree.nodes.count)
            findCallsite = try RawStatement(db, "SELECT id FROM callsite WHERE ifnull(parent_id, 0) = ? AND frame_id = ?")
            nextCallsiteID = (try Int64.fetchOne(db, sql: "SELECT ifnull(max(id), 0) + 1 FROM callsite")) ?? 1
            insertCallsite = try BatchInsert(db, "INSERT INTO callsite (id, parent_id, frame_id, depth)", columns: 4)
        }

        /// The call site id of `end`: the nodes from `end` up to the first one whose call site is known, then
        /// down again, each found or created.
        mutating func callsite(of end: Int32) throws -> Int64 {
            chain.removeAll(keepingCapacity: true)
            var node = end
            while node >= 0 && callsiteIDs[Int(node)] == 0 {
                chain.append(node)
                node = tree.nodes[Int(node)].parent
            }
            for node in chain.reversed() {
                let entry = tree.nodes[Int(node)]
                let parentID: Int64? = entry.parent < 0 ? nil : callsiteIDs[Int(entry.parent)]
                let parentCreated = entry.parent >= 0 && created[Int(entry.parent)]
                let frameID = frameIDs[Int(entry.name)]
                if !parentCreated {
                    findCallsite.bind(1, parentID ?? 0)
                    findCallsite.bind(2, frameID)
                    if let id = try findCallsite.int64() {
                        callsiteIDs[Int(node)] = id
                        continue
                    }
                }
                try insertCallsite.append(nextCallsiteID, parentID, frameID, Int64(entry.depth))
                callsiteIDs[Int(node)] = nextCallsiteID
                nextCallsiteID += 1
                created[Int(node)] = true
            }
            return callsiteIDs[Int(end)]
        }

        func flush() throws { try insertCallsite.flush() }
    }

    /// A 64-bit digest of the frame names of a stack: the first 8 bytes of SHA-256 over the names, each
    /// followed by a 0x1F separator (which no symbol contains).
    static func pathDigest(_ names: [String]) -> Int64 {
        var hasher = SHA256()
        for name in names {
            hasher.update(data: Data(name.utf8))
            hasher.update(data: Data([0x1F]))
        }
        return digestValue(hasher.finalize())
    }

    /// The first 8 bytes of a SHA-256 digest, big-endian, as a signed 64-bit integer.
    static func digestValue(_ digest: SHA256.Digest) -> Int64 {
        digest.withUnsafeBytes { bytes in
            var value: UInt64 = 0
            for byte in bytes.prefix(8) { value = value << 8 | UInt64(byte) }
            return Int64(bitPattern: value)
        }
    }
}

/// A location blob as a dictionary key, hashed as one byte run: `[UInt8]`'s own `Hashable` feeds the hasher a
/// byte at a time, which cost more than the lookups it served (16k blobs of about 60 bytes per ingest).
private struct LocationBlob: Hashable {
    let bytes: [UInt8]

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
