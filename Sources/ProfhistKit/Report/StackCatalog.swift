import Foundation
import GRDB

/// Reads stacks back from the call-site tree, remembering every call site it has walked, so that printing
/// many rows of the same stacks costs one lookup per call site.
public final class StackCatalog {
    private let db: Database
    private var callsites: [Int64: (parent: Int64?, name: String, frame: Int64)] = [:]
    private var folded: [Int64: String] = [:]

    public init(db: Database) { self.db = db }

    /// The most call sites a walk from a stack to its root follows: far deeper than any real stack, so a
    /// damaged store whose parents form a cycle ends the walk instead of looping.
    static let deepestStack = 100_000

    /// Frame names from the root to the innermost frame.
    public func names(of stackID: Int64) throws -> [String] {
        var names: [String] = []
        var current: Int64? = stackID
        var guardCount = 0
        while let id = current, guardCount < StackCatalog.deepestStack {
            guardCount += 1
            let entry = try callsite(id)
            names.append(entry.name)
            current = entry.parent
        }
        return names.reversed()
    }

    /// Frame ids from the root to the innermost frame.
    public func frameIDs(of stackID: Int64) throws -> [Int64] {
        var ids: [Int64] = []
        var current: Int64? = stackID
        while let id = current, ids.count < StackCatalog.deepestStack {
            let entry = try callsite(id)
            ids.append(entry.frame)
            current = entry.parent
        }
        return ids.reversed()
    }

    /// The stack folded for flame-graph tools: names root to leaf joined by `;`, with a `;` inside a name
    /// written as `:` so that the line still splits into the right frames.
    public func folded(_ stackID: Int64) throws -> String {
        if let text = folded[stackID] { return text }
        let text = try names(of: stackID).map(StackCatalog.foldedName).joined(separator: ";")
        folded[stackID] = text
        return text
    }

    static func foldedName(_ name: String) -> String {
        name.contains(";") ? name.replacingOccurrences(of: ";", with: ":") : name
    }

    private func callsite(_ id: Int64) throws -> (parent: Int64?, name: String, frame: Int64) {
        if let entry = callsites[id] { return entry }
        let statement = try db.cachedStatement(
            sql: """
                SELECT c.parent_id, s.value, c.frame_id FROM callsite AS c
                JOIN frame AS f ON f.id = c.frame_id
                JOIN string AS s ON s.id = f.name_id
                WHERE c.id = ?
                """)
        guard let row = try Row.fetchOne(statement, arguments: [id]) else {
            throw StoreError.noMatch("no stack or call site with id \(id)")
        }
        let entry: (parent: Int64?, name: String, frame: Int64) = (row[0], row[1], row[2])
        callsites[id] = entry
        return entry
    }
}
