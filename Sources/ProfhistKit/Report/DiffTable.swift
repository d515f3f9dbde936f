import Foundation

/// Writes `diff`'s rows: a table for people (the totals on standard error above it), machine rows, or folded
/// stacks with both sides' values.
public struct DiffTable {
    public var metric: Metric
    public var grouping: Grouping
    /// How the two sides are named in the line above the table (as the user gave them).
    public var baseName: String
    public var targetName: String
    public var format: ExportFormat
    public var headers = true
    /// The widest line a table may print (the terminal's width).
    public var lineWidth = 100

    public init(metric: Metric, grouping: Grouping, baseName: String, targetName: String, format: ExportFormat) {
        self.metric = metric
        self.grouping = grouping
        self.baseName = baseName
        self.targetName = targetName
        self.format = format
    }

    /// Writes the result to standard output.
    public func write(_ result: HeapDiff.Result) {
        if format == .folded {
            Export.folded(result) { StandardStreams.write($0) }
            return
        }
        // pprof is written by `PprofExport`, not here.
        let rowFormat = format.rowFormat ?? .table
        if rowFormat == .table {
            writeTable(result)
        } else {
            writeMachineRows(result, format: rowFormat)
        }
    }

    private func writeTable(_ result: HeapDiff.Result) {
        let unit: Column.Display = metric.isBytes ? .bytes : .number
        let delta = result.targetTotal - result.baseTotal
        let total = metric.isBytes ? ByteCount.human(delta) : RowWriter.number(delta)
        StandardStreams.writeError(
            "\(baseName) (\(result.baseSnapshots) snapshots) → \(targetName) (\(result.targetSnapshots) snapshots): "
                + "total delta \(total)")
        let writer = RowWriter(
            format: .table,
            columns: [
                Column("stack_id", .number), Column.filling(grouping == .function ? "function" : "leaf"),
                Column("base", unit), Column("target", unit), Column("delta", unit), Column("delta_pct", .number),
            ], headers: headers)
        writer.lineWidth = lineWidth
        for row in result.rows {
            writer.write([
                .integer(row.key), .text(row.leaf), .real(row.base), .real(row.target), .real(row.delta),
                .text(String(format: "%+.1f%%", row.percentOfBase)),
            ])
        }
        writer.finish()
    }

    private func writeMachineRows(_ result: HeapDiff.Result, format: OutputFormat) {
        let writer = RowWriter(
            format: format,
            columns: [
                Column("stack_id"), Column("leaf"), Column("stack"), Column("base"), Column("target"), Column("delta"),
                Column("delta_pct"),
            ],
            headers: headers)
        for row in result.rows {
            writer.write([
                .integer(row.key), .text(row.leaf), .text(row.stack), .real(row.base), .real(row.target),
                .real(row.delta), .real(row.percentOfBase),
            ])
        }
        writer.finish()
    }
}
