import Foundation

/// Renders a check report for people: a terminal summary, or Markdown for a CI step summary or a pull-request
/// comment (verdict first, a small table, each stack folded in a `<details>` block).
public enum CheckSummary {
    static func amount(_ value: Double, _ metric: Metric) -> String {
        metric.isBytes ? ByteCount.human(value) : RowWriter.number(value.rounded())
    }

    static func signed(_ value: Double, _ metric: Metric) -> String {
        (value >= 0 ? "+" : "") + amount(value, metric)
    }

    static func headline(_ report: CheckReport) -> String {
        switch report.verdict {
        case .pass: return "no significant \(report.metric.rawValue) growth in \(report.target)"
        case .fail:
            let count = report.failures.count
            return "\(report.metric.rawValue) grew in \(report.target): \(count) stack\(count == 1 ? "" : "s")"
        case .undecided(let why): return "could not decide: \(why)"
        }
    }

    static func context(_ report: CheckReport) -> String {
        guard let first = report.history.first, let last = report.history.last else { return "" }
        let runs = Set(report.replicates)
        let runText = runs.count == 1 ? "\(runs.first!) run(s) per build" : "\(runs.min()!)-\(runs.max()!) runs per build"
        let span = first == last ? first : "\(first) … \(last)"
        if !report.isDefaultBranch {
            // A branch's baseline names its branches: the start point's builds up to the fork, then its own.
            let parts = baselineSegments(report).map { segment in
                let builds = segment.builds.count == 1 ? segment.builds[0] : "\(segment.builds[0]) … \(segment.builds[segment.builds.count - 1])"
                return "\(segment.branch) \(builds)"
            }
            return "compared with \(report.history.count) earlier build(s) of branch \(report.branch) "
                + "(\(parts.joined(separator: ", then "))), \(runText); "
                + "thresholds: \(amount(report.options.maxGrowth, report.metric)) and \(RowWriter.number(report.options.maxGrowthPercent))%"
        }
        return "compared with \(report.history.count) earlier build(s) (\(span)), \(runText); "
            + "thresholds: \(amount(report.options.maxGrowth, report.metric)) and \(RowWriter.number(report.options.maxGrowthPercent))%"
    }

    /// The baseline builds grouped by the branch they belong to, in history order (for a branch: its start
    /// point's builds up to the fork, then its own earlier builds).
    public static func baselineSegments(_ report: CheckReport) -> [(branch: String, builds: [String])] {
        var segments: [(branch: String, builds: [String])] = []
        for (index, build) in report.history.enumerated() {
            let branch = index < report.historyBranches.count ? report.historyBranches[index] : report.branch
            if let last = segments.last, last.branch == branch {
                segments[segments.count - 1].builds.append(build)
            } else {
                segments.append((branch, [build]))
            }
        }
        return segments
    }

    /// Plain text for a terminal.
    public static func text(_ report: CheckReport) -> String {
        var out: String
        switch report.verdict {
        case .pass: out = "PASS: "
        case .fail: out = "FAIL: "
        case .undecided: out = "UNDECIDED: "
        }
        out += headline(report) + "\n"
        let context = context(report)
        if !context.isEmpty { out += context + "\n" }
        if let caveat = report.caveat { out += "note: \(caveat)\n" }
        func rows(_ findings: [CheckFinding], title: String) {
            guard !findings.isEmpty else { return }
            out += "\n\(title)\n"
            let writer = RowWriter(
                format: .table,
                columns: [
                    Column("stack_id", .number), Column("leaf", maxWidth: 30), Column("trend"),
                    Column("previous", report.metric.isBytes ? .bytes : .number), Column("now", report.metric.isBytes ? .bytes : .number),
                    Column("growth", report.metric.isBytes ? .bytes : .number), Column("p_value"),
                ], headers: true
            ) { out += $0 }
            for finding in findings {
                writer.write([
                    .integer(finding.row.key), .text(finding.row.leaf), .text(Sparkline.render(finding.row.series, width: 12)),
                    .real(finding.previous), .real(finding.current), .real(finding.growth), .text(formatP(finding.pValue)),
                ])
            }
            writer.finish()
        }
        rows(report.failures, title: "growth that began in \(report.target):")
        rows(report.accepted, title: "accepted growth (not failing):")
        for finding in report.accepted {
            if let acceptance = finding.acceptance {
                out += "  \(finding.row.key) \(finding.row.leaf): \(acceptance.reason.isEmpty ? "accepted" : acceptance.reason)"
                    + (acceptance.expires.map { " (until \($0))" } ?? "") + "\n"
            }
        }
        if !report.earlier.isEmpty {
            out += "\nstill present, reported at their own build:\n"
            for row in report.earlier.prefix(10) {
                out += "  \(row.key) \(row.leaf): \(signed(row.change, report.metric)) since \(row.regressedAt ?? "?")\n"
            }
        }
        return out
    }

    /// Markdown for a CI step summary or a pull-request comment.
    public static func markdown(_ report: CheckReport) -> String {
        let icon: String
        switch report.verdict {
        case .pass: icon = "✅"
        case .fail: icon = "❌"
        case .undecided: icon = "⚠️"
        }
        var out = "## \(icon) profhist check: \(escape(headline(report)))\n\n"
        let context = context(report)
        if !context.isEmpty { out += escape(context) + ".\n\n" }
        if let caveat = report.caveat { out += "> **Note:** \(escape(caveat)).\n\n" }
        func table(_ findings: [CheckFinding], accepted: Bool) {
            guard !findings.isEmpty else { return }
            out += "| | stack | leaf | trend | previous | now | growth | p |\n"
            out += "|---|---:|---|---|---:|---:|---:|---:|\n"
            for finding in findings {
                let mark = accepted ? "☑️" : "❌"
                out += "| \(mark) | \(finding.row.key) | `\(code(finding.row.leaf))` | \(Sparkline.render(finding.row.series, width: 12)) | "
                    + "\(amount(finding.previous, report.metric)) | \(amount(finding.current, report.metric)) | "
                    + "\(signed(finding.growth, report.metric)) | \(html(formatP(finding.pValue))) |\n"
            }
            out += "\n"
            for finding in findings {
                let frames = finding.row.stack.split(separator: ";").joined(separator: "\n")
                out += "<details><summary>stack \(finding.row.key): <code>\(html(finding.row.leaf))</code>"
                if accepted, let acceptance = finding.acceptance {
                    out += " (accepted\(acceptance.expires.map { " until \(html($0))" } ?? ""): \(html(acceptance.reason)))"
                }
                out += "</summary>\n\n```\n\(frames)\n```\n\n</details>\n\n"
            }
        }
        if !report.failures.isEmpty {
            out += "### Growth that began in \(escape(report.target))\n\n"
            table(report.failures, accepted: false)
        }
        if !report.accepted.isEmpty {
            out += "### Accepted growth\n\n"
            table(report.accepted, accepted: true)
        }
        if !report.earlier.isEmpty {
            out += "### Still present, reported at their own build\n\n"
            for row in report.earlier.prefix(10) {
                out += "- stack \(row.key) `\(code(row.leaf))`: \(signed(row.change, report.metric)) since \(escape(row.regressedAt ?? "?"))\n"
            }
            out += "\n"
        }
        return out
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            if "\\`*_[]<>|#".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }

    static func code(_ text: String) -> String { text.replacingOccurrences(of: "`", with: "'").replacingOccurrences(of: "|", with: "\\|") }

    static func html(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    // MARK: - JSON

    /// One JSON object for machines: the verdict, the reason when undecided, the judged build, the builds it was
    /// compared with, and the failing, accepted and earlier stacks.
    public static func json(_ report: CheckReport) -> String {
        let verdict: String
        var reason = "null"
        switch report.verdict {
        case .pass: verdict = "pass"
        case .fail: verdict = "fail"
        case .undecided(let why):
            verdict = "undecided"
            reason = jsonString(why)
        }
        let earlier = report.earlier.map { row in
            "{\"stack_id\":\(row.key),\"leaf\":\(jsonString(row.leaf)),"
                + "\"regressed_at\":\(jsonString(row.regressedAt ?? ""))}"
        }
        let baseline = baselineSegments(report).map { segment in
            "{\"branch\":\(jsonString(segment.branch)),\"builds\":[\(segment.builds.map(jsonString).joined(separator: ","))]}"
        }
        return "{\"verdict\":\"\(verdict)\",\"reason\":\(reason),\"build\":\(jsonString(report.target)),"
            + "\"history\":[\(report.history.map(jsonString).joined(separator: ","))],"
            + "\"branch\":\(jsonString(report.branch)),\"baseline\":[\(baseline.joined(separator: ","))],"
            + "\"failures\":[\(report.failures.map(jsonFinding).joined(separator: ","))],"
            + "\"accepted\":[\(report.accepted.map(jsonFinding).joined(separator: ","))],"
            + "\"earlier\":[\(earlier.joined(separator: ","))]}"
    }

    private static func jsonFinding(_ finding: CheckFinding) -> String {
        "{\"stack_id\":\(finding.row.key),\"leaf\":\(jsonString(finding.row.leaf)),"
            + "\"stack\":\(jsonString(finding.row.stack)),"
            + "\"previous\":\(RowWriter.number(finding.previous)),\"current\":\(RowWriter.number(finding.current)),"
            + "\"growth\":\(RowWriter.number(finding.growth)),\"p_value\":\(finding.pValue),"
            + "\"accepted\":\(finding.acceptance.map { jsonString($0.reason) } ?? "null")}"
    }

    /// A JSON string escaped by Foundation's `JSONSerialization`, as check's JSON has always been (its escapes
    /// differ from `RowWriter`'s in places, so this keeps the output the same bytes).
    static func jsonString(_ text: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])
        let array = data.map { String(decoding: $0, as: UTF8.self) } ?? "[\"\"]"
        return String(array.dropFirst().dropLast())
    }
}

/// A p-value for people: three decimals, or one significant digit when tiny.
public func formatP(_ p: Double) -> String {
    if p >= 0.001 { return String(format: "%.3f", p) }
    if p == 0 { return "<1e-300" }
    return String(format: "%.0e", p)
}
