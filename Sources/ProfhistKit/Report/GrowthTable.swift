import Foundation

/// Writes `top`'s rows: a table for people (a line above it on standard error saying what the series is), or
/// machine rows with every column.
public struct GrowthTable {
    public var metric: Metric
    public var axis: PointAxis
    /// The ranked direction (`--order`): what "nothing grew" says.
    public var growing: Bool
    public var grouping: Grouping
    public var format: OutputFormat
    public var headers = true
    /// The widest line a table may print (the terminal's width).
    public var lineWidth = 100

    public init(metric: Metric, axis: PointAxis, growing: Bool, grouping: Grouping, format: OutputFormat) {
        self.metric = metric
        self.axis = axis
        self.growing = growing
        self.grouping = grouping
        self.format = format
    }

    /// Writes the rows to standard output, and for a table its heading and notes to standard error.
    public func write(_ report: GrowthReport) {
        if format == .table {
            writeTable(report)
        } else {
            writeMachineRows(report)
        }
    }

    private func writeTable(_ report: GrowthReport) {
        writeHeading(report)
        let unit: Column.Display = metric.isBytes ? .bytes : .number
        // The same names and numbers as the machine columns: delta = last - first, change = the last level
        // minus the level before the change (0 when there is none). `last` and the rest are in --format csv.
        let writer = RowWriter(
            format: .table,
            columns: [
                Column("rank", .number), Column("stack_id", .number), Column.filling(grouping == .function ? "function" : "leaf"),
                Column("trend"), Column("delta", unit), Column("change", unit), Column("p_value"),
                Column.filling("regressed_at"),
            ], headers: headers)
        writer.lineWidth = lineWidth
        for row in report.rows {
            writer.write([
                .integer(Int64(row.rank)), .integer(row.key), .text(row.leaf), .text(Sparkline.render(row.series)),
                .real(row.delta), .real(row.change), .text(formatP(row.pValue)),
                .text(row.regressedAt ?? ""),
            ])
        }
        writer.finish()
        if report.rows.isEmpty && !report.points.isEmpty { StandardStreams.writeError(nothingMovedNote(report)) }
    }

    /// Why the table is empty: nothing moved, or too few points to judge a steady move.
    private func nothingMovedNote(_ report: GrowthReport) -> String {
        let direction = growing ? "grew" : "shrank"
        guard report.points.count < report.pointsNeeded else {
            return "no stack \(direction) significantly; --all lists every stack with its numbers"
        }
        return "no stack \(direction) significantly, but \(report.points.count) points are too few to judge a steady "
            + "\(growing ? "rise" : "fall"): that needs \(report.pointsNeeded) (at --alpha 0.01; fewer with a larger "
            + "--alpha), or a level shift large against the noise; --all lists every stack with its numbers"
    }

    /// The line above the table: what the series is, and a note when it is too short for any test.
    private func writeHeading(_ report: GrowthReport) {
        let runs = Set(report.replicates)
        let replicateText = axis == .build
            ? (runs.count == 1 ? ", \(runs.first ?? 0) run(s) each" : ", \(runs.min() ?? 0)-\(runs.max() ?? 0) runs each") : ""
        if let first = report.points.first, let last = report.points.last {
            StandardStreams.writeError(
                "\(report.points.count) \(axis == .build ? "builds" : "snapshots") (\(first) … \(last))\(replicateText); "
                    + "\(report.keysTested) stacks tested; \(metric.rawValue)")
        } else {
            // A store being created: an answer, not a failure (filters naming nothing that exists are errors).
            StandardStreams.writeError("no \(metric.kind) snapshots to rank (none stored yet, or none match the filters)")
        }
        if !report.points.isEmpty && report.points.count < 3 {
            StandardStreams.writeError(
                "note: fewer than 3 points cannot show a significant change; use 'profhist diff' to compare two builds")
        }
    }

    private func writeMachineRows(_ report: GrowthReport) {
        let writer = RowWriter(
            format: format,
            columns: [
                Column("rank"), Column("stack_id"), Column("leaf"), Column("stack"), Column("first"), Column("last"),
                Column("delta"), Column("slope"), Column("p_value"), Column("regressed_at"), Column("q_value"),
                Column("before"), Column("after"), Column("change"), Column("share"), Column("significant"),
                Column("points"),
            ], headers: headers)
        for row in report.rows {
            writer.write([
                .integer(Int64(row.rank)), .integer(row.key), .text(row.leaf), .text(row.stack), .real(row.first),
                .real(row.last), .real(row.delta), .real(row.slope), .real(row.pValue),
                row.regressedAt.map(Cell.text) ?? .text(""), .real(row.qValue), .real(row.before), .real(row.after),
                .real(row.change), .real(row.share), .integer(row.significant ? 1 : 0),
                .integer(Int64(report.points.count)),
            ])
        }
        writer.finish()
    }
}
