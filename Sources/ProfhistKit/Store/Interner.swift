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
    private var callsites: [CallsiteKey: Int64] = [:]

    private struct CallsiteKey: Hashable {
        var parent: Int64
        var frame: Int64
    }

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

    /// The id of the location blob of a stack's frames (see `stack_location`): per frame, root first, its
    /// file's string id (0: unknown), line (0: unknown) and 1 if inlined. Shared by every stack and build with
    /// the same locations.
    mutating func locationSet(_ frames: [(file: String?, line: Int?, inlined: Bool)]) throws -> Int64 {
        var blob = [UInt8]()
        blob.reserveCapacity(frames.count * 4)
        for frame in frames {
            LEB128.append(UInt64(try frame.file.map { try string($0) } ?? 0), to: &blob)
            LEB128.append(UInt64(max(frame.line ?? 0, 0)), to: &blob)
            LEB128.append(frame.inlined ? 1 : 0, to: &blob)
        }
        return try locationSet(Data(blob))
    }

    private mutating func locationSet(_ frames: Data) throws -> Int64 {
        let select = try db.cachedStatement(sql: "SELECT id FROM location_set WHERE frames = ?")
        if let id = try Int64.fetchOne(select, arguments: [frames]) { return id }
        let insert = try db.cachedStatement(sql: "INSERT INTO location_set (frames) VALUES (?)")
        try insert.execute(arguments: [frames])
        return db.lastInsertedRowID
    }

    mutating func frame(_ name: String) throws -> (id: Int64, level: Plumbing.Level) {
        if let known = frames[name] { return known }
        let nameID = try string(name)
        let select = try db.cachedStatement(sql: "SELECT id, is_plumbing FROM frame WHERE name_id = ?")
        let result: (Int64, Plumbing.Level)
        if let row = try Row.fetchOne(select, arguments: [nameID]) {
            result = (row[0], Plumbing.Level(rawValue: row[1]) ?? .none)
        } else {
            let level = plumbing.level(of: name)
            let insert = try db.cachedStatement(sql: "INSERT INTO frame (name_id, is_plumbing) VALUES (?, ?)")
            try insert.execute(arguments: [nameID, level.rawValue])
            result = (db.lastInsertedRowID, level)
        }
        frames[name] = result
        return result
    }

    mutating func callsite(parent: Int64?, frame: Int64, depth: Int) throws -> Int64 {
        let key = CallsiteKey(parent: parent ?? 0, frame: frame)
        if let id = callsites[key] { return id }
        let select = try db.cachedStatement(sql: "SELECT id FROM callsite WHERE ifnull(parent_id, 0) = ? AND frame_id = ?")
        let id: Int64
        if let existing = try Int64.fetchOne(select, arguments: [parent ?? 0, frame]) {
            id = existing
        } else {
            let insert = try db.cachedStatement(sql: "INSERT INTO callsite (parent_id, frame_id, depth) VALUES (?, ?, ?)")
            try insert.execute(arguments: [parent, frame, depth])
            id = db.lastInsertedRowID
        }
        callsites[key] = id
        return id
    }

    /// The stack id of a list of frame names (root first): found by its digest, or created with its call
    /// sites and leaf.
    mutating func stack(names: [String]) throws -> Int64 {
        let digest = Interner.pathDigest(names)
        let select = try db.cachedStatement(sql: "SELECT id FROM stack WHERE path_digest = ?")
        if let id = try Int64.fetchOne(select, arguments: [digest]) { return id }
        var parent: Int64? = nil
        var levels: [Plumbing.Level] = []
        var frameIDs: [Int64] = []
        levels.reserveCapacity(names.count)
        for (depth, name) in names.enumerated() {
            let frame = try frame(name)
            frameIDs.append(frame.id)
            levels.append(frame.level)
            parent = try callsite(parent: parent, frame: frame.id, depth: depth)
        }
        guard let leafCallsite = parent else { throw StoreError.badParameter("empty stack") }
        let leaf = frameIDs[plumbing.leafIndex(of: levels)]
        let insert = try db.cachedStatement(sql: "INSERT INTO stack (id, path_digest, leaf_frame_id) VALUES (?, ?, ?)")
        try insert.execute(arguments: [leafCallsite, digest, leaf])
        return leafCallsite
    }

    /// A 64-bit digest of the frame names of a stack: the first 8 bytes of SHA-256 over the names, each
    /// followed by a 0x1F separator (which no symbol contains).
    static func pathDigest(_ names: [String]) -> Int64 {
        var hasher = SHA256()
        for name in names {
            hasher.update(data: Data(name.utf8))
            hasher.update(data: Data([0x1F]))
        }
        let bytes = Array(hasher.finalize())
        var value: UInt64 = 0
        for byte in bytes.prefix(8) { value = value << 8 | UInt64(byte) }
        return Int64(bitPattern: value)
    }
}
