import Foundation
import GRDB

/// The read-only reports behind `snapshots`, `builds`, `show`, `export` and `query`.
public enum Reports {
    /// Runs a named query with named parameters and streams its rows; column names come from the SQL.
    /// - Parameters:
    ///   - displays: how a table shows a column, by name (others: text, or number for numeric cells).
    public static func runQuery(
        _ store: Store, named name: String, parameters: [String: DatabaseValueConvertible?],
        format: OutputFormat, headers: Bool = true, displays: [String: Column.Display] = [:],
        maxWidths: [String: Int] = [:], tableColumns: [String]? = nil,
        tableCell: ((String, Row) -> Cell?)? = nil, sink: ((String) -> Void)? = nil
    ) throws {
        let sql = try Store.query(named: name)
        do {
            try runQuery(store, sql: sql, parameters: parameters, format: format, headers: headers, displays: displays,
                maxWidths: maxWidths, tableColumns: tableColumns, tableCell: tableCell, sink: sink)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_MISMATCH {
            // SQLite's "datatype mismatch" names neither the parameter nor the fix (LIMIT 'abc').
            let texts = parameters.compactMap { key, value -> String? in
                guard let value, case .string(let text) = value.databaseValue.storage else { return nil }
                return ":\(key) = '\(text)'"
            }.sorted()
            throw StoreError.badParameter(
                "query \(name): a parameter has the wrong type for its place in the SQL (a count or limit must be a "
                    + "whole number)" + (texts.isEmpty ? "" : "; text given: " + texts.joined(separator: ", ")))
        }
    }

    private static func runQuery(
        _ store: Store, sql: String, parameters: [String: DatabaseValueConvertible?],
        format: OutputFormat, headers: Bool, displays: [String: Column.Display],
        maxWidths: [String: Int], tableColumns: [String]?,
        tableCell: ((String, Row) -> Cell?)?, sink: ((String) -> Void)?
    ) throws {
        try store.queue.read { db in
            let statement = try db.makeStatement(sql: sql)
            let arguments = try bind(parameters, to: statement)
            var columns = statement.columnNames.map { name in
                Column(name, displays[name] ?? .text, maxWidth: maxWidths[name])
            }
            // A table shows the columns that fit a terminal; machine formats get them all.
            var shown = Array(columns.indices)
            if format == .table, let tableColumns {
                shown = columns.indices.filter { tableColumns.contains(columns[$0].name) }
                columns = shown.map { columns[$0] }
            }
            let writer = makeWriter(format: format, columns: columns, headers: headers, sink: sink)
            let numeric = Set(columns.indices.filter { columns[$0].display != .text })
            let rows = try Row.fetchCursor(statement, arguments: arguments)
            let names = statement.columnNames
            while let row = try rows.next() {
                var all = cells(row, numericColumns: numeric)
                if format == .table, let tableCell {
                    for (i, name) in names.enumerated() { if let cell = tableCell(name, row) { all[i] = cell } }
                }
                writer.write(shown.map { all[$0] })
            }
            writer.finish()
        }
    }

    /// `--param k=v` values bound to the statement's `:k` parameters; unknown names are an error, missing ones
    /// are NULL (every query's header says which may be NULL).
    static func bind(_ parameters: [String: DatabaseValueConvertible?], to statement: Statement) throws -> StatementArguments {
        var values: [String: DatabaseValueConvertible?] = [:]
        let known = Set(statement.sql.matches(ofNamedParameters: ()))
        for key in parameters.keys where !known.contains(key) {
            throw StoreError.badParameter(
                "unknown parameter '\(key)'; this query takes: \(known.sorted().map { ":" + $0 }.joined(separator: ", "))")
        }
        for name in known {
            let value: DatabaseValueConvertible? = parameters[name] ?? nil
            values.updateValue(value, forKey: name)
        }
        return StatementArguments(values)
    }

    static func makeWriter(format: OutputFormat, columns: [Column], headers: Bool, sink: ((String) -> Void)?) -> RowWriter {
        if let sink { return RowWriter(format: format, columns: columns, headers: headers, sink: sink) }
        return RowWriter(format: format, columns: columns, headers: headers)
    }

    static func cells(_ row: Row, numericColumns: Set<Int>) -> [Cell] {
        (0..<row.count).map { index in
            let value: DatabaseValue = row[index]
            switch value.storage {
            case .null: return .null
            case .int64(let number): return .integer(number)
            case .double(let number): return .real(number)
            case .string(let text): return .text(text)
            case .blob(let data): return .text(data.map { String(format: "%02x", $0) }.joined())
            }
        }
    }

    /// `query NAME --param k=v`: parameters given as text are bound as integers or reals when they look like
    /// numbers, so `--param snapshot=3` matches an integer column.
    public static func runNamedQuery(
        _ store: Store, name: String, textParameters: [String: String], format: OutputFormat, headers: Bool = true,
        sink: ((String) -> Void)? = nil
    ) throws {
        var parameters: [String: DatabaseValueConvertible?] = [:]
        for (key, text) in textParameters {
            if let integer = Int64(text) {
                parameters[key] = integer
            } else if let real = Double(text), text.contains(".") {
                parameters[key] = real
            } else {
                parameters[key] = text
            }
        }
        try runQuery(store, named: name, parameters: parameters, format: format, headers: headers, sink: sink)
    }

    // MARK: - Commands

    /// `snapshots`: one row per snapshot.
    public static func snapshots(
        _ store: Store, kind: SnapshotKind?, build: String?, branch: String? = nil, format: OutputFormat, headers: Bool = true,
        sink: ((String) -> Void)? = nil
    ) throws {
        if let branch { try store.queue.read { db in try Branches.checkExists(branch, db) } }
        try runQuery(
            store, named: "list_snapshots", parameters: ["kind": kind, "build": build, "branch": branch], format: format, headers: headers,
            displays: ["id": .number, "total": .number, "total_objects": .number, "stacks": .number, "sample_period": .number],
            maxWidths: ["source": 24, "labels": 20, "build": 14, "run": 18],
            tableColumns: ["id", "kind", "build", "run", "taken_at", "total", "stacks", "labels"],
            tableCell: { name, row in
                // In-use bytes for heap snapshots, a plain count of live tasks for task snapshots.
                guard name == "total", let total = row["total"] as Double? else { return nil }
                return .text(SnapshotKind(rawValue: row["kind"] ?? "") == .tasks ? "\(Int64(total)) tasks" : ByteCount.human(total))
            }, sink: sink)
    }

    /// `builds`: one row per build, in order.
    public static func builds(
        _ store: Store, kind: SnapshotKind? = nil, branch: String? = nil, format: OutputFormat, headers: Bool = true,
        sink: ((String) -> Void)? = nil
    ) throws {
        let unit: Column.Display = kind == .tasks ? .number : .bytes
        if let branch { try store.queue.read { db in try Branches.checkExists(branch, db) } }
        try runQuery(
            store, named: "list_builds", parameters: ["kind": kind, "branch": branch], format: format, headers: headers,
            displays: ["position": .number, "snapshots": .number, "runs": .number, "mean_total": unit, "max_total": unit],
            maxWidths: ["build": 24], sink: sink)
    }

    /// `show STACK_ID`: the frames of one stack, root first, with file:line from a build that has the stack.
    public static func show(
        _ store: Store, stack: Int64, build: String?, format: OutputFormat, headers: Bool = true, sink: ((String) -> Void)? = nil
    ) throws {
        try store.queue.read { db in
            guard try Int64.fetchOne(db, sql: "SELECT id FROM stack WHERE id = ?", arguments: [stack]) != nil else {
                throw StoreError.noMatch("no stack with id \(stack) (see 'profhist export' or 'profhist top' for ids)")
            }
            let frames = try Row.fetchAll(db, sql: try Store.query(named: "show_stack"), arguments: ["stack": stack])
            let leafFrame = try Int64.fetchOne(db, sql: "SELECT leaf_frame_id FROM stack WHERE id = ?", arguments: [stack])
            let leafIndex = try frames.firstIndex { row in
                let callsite: Int64 = row["callsite_id"]
                return try Int64.fetchOne(db, sql: "SELECT frame_id FROM callsite WHERE id = ?", arguments: [callsite]) == leafFrame
            }
            // Locations: the named build, else the latest build that has the stack.
            let locationRow: Row?
            if let build {
                guard let buildID = try Int64.fetchOne(db, sql: "SELECT id FROM build WHERE name = ?", arguments: [build]) else {
                    throw StoreError.noMatch("no build named '\(build)'")
                }
                locationRow = try Row.fetchOne(
                    db, sql: "SELECT b.name, ls.frames FROM stack_location AS l JOIN build AS b ON b.id = l.build_id JOIN location_set AS ls ON ls.id = l.location_set_id WHERE l.stack_id = ? AND l.build_id = ?",
                    arguments: [stack, buildID])
            } else {
                locationRow = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT o.build, ls.frames FROM stack_location AS l JOIN build_order AS o ON o.build_id = l.build_id
                        JOIN location_set AS ls ON ls.id = l.location_set_id
                        WHERE l.stack_id = ? ORDER BY o.position DESC LIMIT 1
                        """,
                    arguments: [stack])
            }
            var locations: [(file: Int64, line: Int64, inlined: Bool)] = []
            var fileNames: [Int64: String] = [:]
            if let row = locationRow, let blob = row[1] as Data?, let values = LEB128.decode([UInt8](blob)) {
                var i = 0
                while i + 2 < values.count {
                    locations.append((Int64(values[i]), Int64(values[i + 1]), values[i + 2] == 1))
                    i += 3
                }
                for id in Set(locations.map(\.file)) where id != 0 {
                    fileNames[id] = try String.fetchOne(db, sql: "SELECT value FROM string WHERE id = ?", arguments: [id])
                }
            }
            let columns = [
                Column("depth", .number), Column("frame", .text, maxWidth: 60), Column("location", .text, maxWidth: 40, keepsEnd: true),
                Column("inlined", .text), Column("role", .text), Column("build", .text),
            ]
            let writer = makeWriter(format: format, columns: columns, headers: headers, sink: sink)
            let buildName: String? = locationRow?[0]
            for (index, row) in frames.enumerated() {
                let depth: Int64 = row["depth"]
                let name: String = row["frame"]
                let plumbing: Int = row["plumbing"]
                var location = Cell.null
                var inlined = Cell.null
                if index < locations.count {
                    let entry = locations[index]
                    if let file = fileNames[entry.file] {
                        location = .text(entry.line > 0 ? "\(file):\(entry.line)" : file)
                    }
                    inlined = .text(entry.inlined ? "yes" : "no")
                }
                let role: String
                if index == leafIndex { role = "leaf" } else if plumbing == 2 { role = "allocator" } else if plumbing == 1 { role = "machinery" } else { role = "" }
                writer.write([.integer(depth), .text(name), location, inlined, .text(role), buildName.map(Cell.text) ?? .null])
            }
            writer.finish()
        }
    }
}

extension String {
    /// The `:name` parameters of a SQL statement, ignoring string literals and comments.
    func matches(ofNamedParameters: Void) -> [String] {
        var names: [String] = []
        let chars = Array(self.unicodeScalars)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "'" {
                i += 1
                while i < chars.count && chars[i] != "'" { i += 1 }
            } else if c == "-" && i + 1 < chars.count && chars[i + 1] == "-" {
                while i < chars.count && chars[i] != "\n" { i += 1 }
            } else if c == ":" && i + 1 < chars.count && (CharacterSet.letters.contains(chars[i + 1]) || chars[i + 1] == "_") {
                var j = i + 1
                var name = ""
                while j < chars.count && (CharacterSet.alphanumerics.contains(chars[j]) || chars[j] == "_") {
                    name.unicodeScalars.append(chars[j])
                    j += 1
                }
                if !names.contains(name) { names.append(name) }
                i = j
                continue
            }
            i += 1
        }
        return names
    }
}
