import Foundation
import GRDB

extension Store: SymbolCache {
    /// Every address of a binary symbolized before (by build-id and symbolizer).
    public func cachedSymbols(binaryKey: String, symbolizer: String) throws -> [UInt64: [SymbolizedFrame]] {
        try queue.read { db in
            guard let binaryID = try Int64.fetchOne(
                db, sql: "SELECT id FROM binary WHERE build_key = ? AND symbolizer = ?", arguments: [binaryKey, symbolizer])
            else { return [:] }
            var names: [Int64: String] = [:]
            var result: [UInt64: [SymbolizedFrame]] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT bs.address, bs.depth, bs.frame_id, fs.value, file.value, bs.line
                    FROM binary_symbol AS bs
                    JOIN frame AS f ON f.id = bs.frame_id
                    JOIN string AS fs ON fs.id = f.name_id
                    LEFT JOIN string AS file ON file.id = bs.file_id
                    WHERE bs.binary_id = ?
                    ORDER BY bs.address, bs.depth
                    """,
                arguments: [binaryID])
            while let row = try rows.next() {
                let address = UInt64(bitPattern: row[0])
                let depth: Int = row[1]
                let frameID: Int64 = row[2]
                let name: String
                if let known = names[frameID] { name = known } else {
                    name = row[3]
                    names[frameID] = name
                }
                let frame = SymbolizedFrame(name: name, file: row[4], line: row[5], inlined: depth > 0)
                result[address, default: []].append(frame)
            }
            return result
        }
    }
}
