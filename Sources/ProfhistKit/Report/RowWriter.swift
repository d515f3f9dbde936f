import Foundation

/// The output formats every command shares: a readable table for people, the rest for machines.
public enum OutputFormat: String, CaseIterable, Sendable {
    case table, csv, tsv, json, jsonl
}

/// A value in one output cell.
public enum Cell: Sendable, Equatable {
    case text(String)
    case integer(Int64)
    case real(Double)
    case null
}

/// A column: its machine name (which never changes meaning) and how a table shows it.
public struct Column: Sendable {
    public enum Display: Sendable {
        case text, number, bytes, time
    }

    public var name: String
    public var display: Display
    /// Widest a table cell may be before it is cut with "…"; nil: no limit.
    public var maxWidth: Int?
    /// Cut long text at its start rather than its end (paths: the file name matters most).
    public var keepsEnd: Bool
    /// Takes the width the other columns leave on the line (`RowWriter.lineWidth`), and cuts long text in the
    /// middle so that names differing only at their end (`libsqlite3.so.0.8.6+0xa1234`) stay apart.
    public var fillsLine = false

    public init(_ name: String, _ display: Display = .text, maxWidth: Int? = nil, keepsEnd: Bool = false) {
        self.name = name
        self.display = display
        self.maxWidth = maxWidth
        self.keepsEnd = keepsEnd
    }

    /// A text column that fills the line (see `fillsLine`).
    public static func filling(_ name: String) -> Column {
        var column = Column(name)
        column.fillsLine = true
        return column
    }
}

/// Writes rows in one `OutputFormat`. Machine formats stream each row as it comes; the table collects rows to
/// size its columns.
///
/// CSV follows RFC 4180 (CRLF line ends are optional there; we write LF like sqlite3 and most tools, and quote
/// fields containing a comma, quote, CR or LF). Numbers are plain: no units, no separators.
public final class RowWriter {
    /// Bytes of output collected before they are written: large enough that writes are few, small enough that a
    /// long export streams (shared by every writer of rows and folded stacks).
    static let bufferLimit = 1 << 16

    public let format: OutputFormat
    public let columns: [Column]
    public var headers = true
    /// The widest line a table may print (the terminal's width); columns that fill the line shrink or grow to it.
    public var lineWidth = 100
    private let sink: (String) -> Void
    private var pending: [[Cell]] = []
    private var rowCount = 0
    private var buffer = ""

    public init(format: OutputFormat, columns: [Column], headers: Bool = true, sink: @escaping (String) -> Void) {
        self.format = format
        self.columns = columns
        self.headers = headers
        self.sink = sink
    }

    /// Writes to standard output through a buffer (a write error ends the command: see `StandardStreams`).
    public convenience init(format: OutputFormat, columns: [Column], headers: Bool = true) {
        self.init(format: format, columns: columns, headers: headers) { text in
            StandardStreams.write(text)
        }
    }

    public func write(_ row: [Cell]) {
        switch format {
        case .table:
            pending.append(row)
        case .csv, .tsv:
            if rowCount == 0 && headers { emit(columns.map(\.name).map(delimited).joined(separator: separator) + "\n") }
            emit(row.map { delimited(plain($0)) }.joined(separator: separator) + "\n")
        case .jsonl:
            emit(jsonObject(row) + "\n")
        case .json:
            emit((rowCount == 0 ? "[\n" : ",\n") + jsonObject(row))
        }
        rowCount += 1
    }

    /// Ends the output (writes the table, closes the JSON array) and flushes.
    public func finish() {
        switch format {
        case .table:
            emit(TableLayout(columns: columns, rows: pending, headers: headers, lineWidth: lineWidth).render())
        case .json:
            emit(rowCount == 0 ? "[]\n" : "\n]\n")
        case .csv, .tsv:
            if rowCount == 0 && headers { emit(columns.map(\.name).map(delimited).joined(separator: separator) + "\n") }
        case .jsonl:
            break
        }
        flush()
    }

    // MARK: - Formatting

    private var separator: String { format == .tsv ? "\t" : "," }

    private func emit(_ text: String) {
        buffer += text
        if buffer.utf8.count > RowWriter.bufferLimit { flush() }
    }

    private func flush() {
        if !buffer.isEmpty { sink(buffer) }
        buffer = ""
    }

    func plain(_ cell: Cell) -> String {
        switch cell {
        case .text(let text): return text
        case .integer(let value): return String(value)
        case .real(let value): return RowWriter.number(value)
        case .null: return ""
        }
    }

    /// A real number without exponent or thousands separators; integral values print without a fraction.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "" : (value > 0 ? "inf" : "-inf") }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        var text = String(format: "%.6f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    private func delimited(_ field: String) -> String {
        // Scan bytes, not Characters: grapheme breaking made this the cost of an export.
        if format == .tsv {
            // TSV has no quoting: tabs and newlines (impossible in symbols) become spaces.
            guard field.utf8.contains(where: { $0 == 9 || $0 == 10 || $0 == 13 }) else { return field }
            return field.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ")
                .replacingOccurrences(of: "\r", with: " ")
        }
        if field.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) {
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return field
    }

    private func jsonObject(_ row: [Cell]) -> String {
        var parts: [String] = []
        parts.reserveCapacity(columns.count)
        for (column, cell) in zip(columns, row) {
            let value: String
            switch cell {
            case .text(let text): value = RowWriter.jsonString(text)
            case .integer(let number): value = String(number)
            case .real(let number): value = number.isFinite ? RowWriter.number(number) : "null"
            case .null: value = "null"
            }
            parts.append(RowWriter.jsonString(column.name) + ":" + value)
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    static func jsonString(_ text: String) -> String {
        var result = "\""
        result.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    result += String(format: "\\u%04x", scalar.value)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}

/// Lays out a table for a terminal: numbers right-aligned, bytes in human units, long text cut.
struct TableLayout {
    var columns: [Column]
    var rows: [[Cell]]
    var headers: Bool
    var lineWidth = 100

    /// The narrowest a line-filling column gets, however narrow the terminal.
    static let minimumFillWidth = 10

    func render() -> String {
        let texts = rows.map { row in zip(columns, row).map { TableLayout.human($1, $0) } }
        // Numbers right-aligned: by the column's declared display, or because every cell holds a number.
        let numeric = columns.indices.map { i in
            columns[i].display == .number || columns[i].display == .bytes
                || (!rows.isEmpty && rows.allSatisfy { row in
                    guard i < row.count else { return true }
                    switch row[i] { case .integer, .real, .null: return true; case .text: return false }
                })
        }
        var widths = columns.map { headers ? $0.name.count : 0 }
        for row in texts {
            for (i, text) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], text.count) }
        }
        for (i, column) in columns.enumerated() {
            if let limit = column.maxWidth { widths[i] = min(widths[i], max(limit, column.name.count)) }
        }
        widths = fitted(widths)
        var shortened: [Int: [String: String]] = [:]
        for (i, column) in columns.enumerated() where column.fillsLine {
            shortened[i] = TableLayout.shortenDistinct(texts.compactMap { i < $0.count ? $0[i] : nil }, width: widths[i])
        }
        var out = ""
        func line(_ cells: [String]) {
            var parts: [String] = []
            for (i, cell) in cells.enumerated() {
                let width = widths[i]
                var text = cell
                if text.count > width {
                    if let short = shortened[i]?[text] {
                        text = short
                    } else {
                        text = columns[i].keepsEnd
                            ? "…" + String(text.suffix(max(width - 1, 0))) : String(text.prefix(max(width - 1, 0))) + "…"
                    }
                }
                let pad = String(repeating: " ", count: max(width - text.count, 0))
                let right = numeric[i]
                parts.append(right ? pad + text : (i == cells.count - 1 ? text : text + pad))
            }
            out += parts.joined(separator: "  ") + "\n"
        }
        if headers { line(columns.map(\.name)) }
        for row in texts { line(row) }
        return out
    }

    /// Text made safe for a terminal: control characters (newlines, ESC of ANSI sequences, DEL, C1) and the
    /// bidirectional marks and overrides that reorder what follows (U+200E-200F, U+202A-202E, U+2066-2069,
    /// U+061C) print as `\n`, `\u{1b}`, `\u{202e}`: a name from a dump cannot fake rows, colours or columns.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if isUnsafe(scalar) {
                    result += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    /// The widths with line-filling columns sized to what the others leave of `lineWidth` (never below
    /// `minimumFillWidth` or their header, never above their longest cell).
    func fitted(_ natural: [Int]) -> [Int] {
        let filling = columns.indices.filter { columns[$0].fillsLine && $0 < natural.count }
        guard !filling.isEmpty else { return natural }
        let fixed = natural.indices.filter { !filling.contains($0) }.reduce(0) { $0 + natural[$1] }
        let gaps = 2 * max(natural.count - 1, 0)
        var left = lineWidth - fixed - gaps
        var widths = natural
        // Narrowest first, so a short column gives what it does not need to the longer ones.
        for (n, i) in filling.sorted(by: { natural[$0] < natural[$1] }).enumerated() {
            let share = left / (filling.count - n)
            let floor = max(TableLayout.minimumFillWidth, headers ? columns[i].name.count : 0)
            widths[i] = min(natural[i], max(share, floor))
            left -= widths[i]
        }
        return widths
    }

    /// Each distinct text cut to `width` with "…" in its middle (the end kept longer: a symbol's last part and an
    /// offset tell most apart), moving the cut where two texts would otherwise print the same.
    static func shortenDistinct(_ texts: [String], width: Int) -> [String: String] {
        let long = Array(Set(texts.filter { $0.count > width })).sorted()
        guard width >= 3, !long.isEmpty else { return [:] }
        func cut(_ text: String, head: Int) -> String {
            String(text.prefix(head)) + "…" + String(text.suffix(width - 1 - head))
        }
        let preferred = (width - 1) * 2 / 5
        var result: [String: String] = [:]
        var taken = Set(texts.filter { $0.count <= width })
        for text in long {
            // The preferred split, then splits further from it, until one is not taken yet.
            var heads: [Int] = [preferred]
            for d in 1..<width {
                for head in [preferred - d, preferred + d] where head >= 0 && head <= width - 1 { heads.append(head) }
            }
            var chosen = cut(text, head: preferred)
            for head in heads {
                let candidate = cut(text, head: head)
                if !taken.contains(candidate) {
                    chosen = candidate
                    break
                }
            }
            taken.insert(chosen)
            result[text] = chosen
        }
        return result
    }

    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v < 0x20 || (0x7F...0x9F).contains(v) || (0x200E...0x200F).contains(v) || (0x202A...0x202E).contains(v)
            || (0x2066...0x2069).contains(v) || v == 0x061C
    }

    static func human(_ cell: Cell, _ column: Column) -> String {
        switch (cell, column.display) {
        case (.null, _): return ""
        case (.text(let text), _): return TableLayout.escaped(text)
        case (.integer(let value), .bytes): return ByteCount.human(Double(value))
        case (.real(let value), .bytes): return ByteCount.human(value)
        case (.integer(let value), .time): return Timestamp.rfc3339(milliseconds: value)
        case (.integer(let value), _): return ByteCount.grouped(Double(value))
        case (.real(let value), _):
            if !value.isFinite { return value.isNaN ? "" : String(value) }
            return abs(value) >= 100 || value == value.rounded() ? ByteCount.grouped(value) : String(format: "%.3g", value)
        }
    }
}

/// Human units for tables (never for machine output).
public enum ByteCount {
    /// `1.5 MiB`, `812 B`, with a sign for negative values.
    public static func human(_ bytes: Double) -> String {
        let sign = bytes < 0 ? "-" : ""
        var value = abs(bytes)
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return sign + String(Int64(value.rounded())) + " B" }
        return sign + String(format: value >= 100 ? "%.0f" : value >= 10 ? "%.1f" : "%.2f", value) + " " + units[unit]
    }

    /// `12,345` for counts in tables.
    public static func grouped(_ value: Double) -> String {
        let integer = Int64(value.rounded())
        let digits = String(abs(integer))
        var result = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { result.append(",") }
            result.append(c)
        }
        return (integer < 0 ? "-" : "") + result
    }
}
