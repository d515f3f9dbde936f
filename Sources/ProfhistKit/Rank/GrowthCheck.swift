import Foundation
import GRDB

/// A growth the team accepted: it does not fail `check` up to (and including) its expiry build.
public struct Acceptance: Sendable, Equatable {
    /// A stack id, or nil when matching by leaf.
    public var stackID: Int64?
    /// A leaf function name (`leaf:NAME` in the file), when not matching by id.
    public var leaf: String?
    /// The last build the acceptance covers; nil: no expiry.
    public var expires: String?
    public var reason: String

    public init(stackID: Int64? = nil, leaf: String? = nil, expires: String? = nil, reason: String = "") {
        self.stackID = stackID
        self.leaf = leaf
        self.expires = expires
        self.reason = reason
    }

    /// Reads an acceptance file: one acceptance per line, `#` comments, fields separated by spaces:
    /// `STACK_ID|leaf:NAME  EXPIRY_BUILD|-  reason...`.
    /// - Throws: `InputError.malformed` naming the file and line.
    public static func read(path: String) throws -> [Acceptance] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw InputError.cannotOpen(path: path, reason: error.localizedDescription)
        }
        var result: [Acceptance] = []
        for (index, raw) in text.components(separatedBy: "\n").enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true).map(String.init)
            guard parts.count >= 2 else {
                throw InputError.malformed(path: path, line: index + 1, message: "expected 'STACK_ID|leaf:NAME EXPIRY|- reason', got '\(line)'")
            }
            var acceptance = Acceptance(expires: parts[1] == "-" ? nil : parts[1], reason: parts.count > 2 ? parts[2] : "")
            if parts[0].hasPrefix("leaf:") {
                acceptance.leaf = String(parts[0].dropFirst(5))
            } else if let id = Int64(parts[0]) {
                acceptance.stackID = id
            } else {
                throw InputError.malformed(path: path, line: index + 1, message: "'\(parts[0])' is neither a stack id nor leaf:NAME")
            }
            result.append(acceptance)
        }
        return result
    }
}

/// Options of `check`.
public struct CheckOptions: Sendable {
    /// The build to judge; nil: the build ingested last.
    public var build: String?
    /// Compare with the builds from this one on; nil: the last `lastBuilds` builds before the target.
    public var baseline: String?
    public var lastBuilds = 10
    /// A finding must grow by at least this much (metric units) and this percentage of its previous level.
    public var maxGrowth: Double = 64 * 1024
    public var maxGrowthPercent: Double = 5
    public var accepted: [Acceptance] = []
    /// A gate must rarely fail a clean build: p below 0.001 (as Hunter uses) and a false discovery rate of 1%.
    public var alpha: Double = 0.001
    public var fdr: Double = 0.01

    public init() {}
}

/// One stack in a check report.
public struct CheckFinding: Sendable {
    public var row: GrowthRow
    /// The level before the change at the target build (the previous builds' mean since their last change).
    public var previous: Double
    /// The target build's mean.
    public var current: Double
    public var growth: Double { current - previous }
    public var pValue: Double
    public var acceptance: Acceptance?
}

/// The verdict of `check` on one build.
public struct CheckReport: Sendable {
    public enum Verdict: Sendable, Equatable {
        case pass
        case fail
        case undecided(String)
    }

    public var verdict: Verdict
    public var target: String
    public var history: [String]
    public var replicates: [Int]
    /// Stacks whose growth began at the target build, beyond the thresholds (the reason for a failure).
    public var failures: [CheckFinding]
    /// Such stacks that an acceptance covers.
    public var accepted: [CheckFinding]
    /// Growth that began at an earlier build and is still there (reported at its own build).
    public var earlier: [GrowthRow]
    /// Set when the verdict rests on single runs.
    public var caveat: String?
    public var metric: Metric
    public var options: CheckOptions
    /// The branch whose history the build was judged against.
    public var branch = ""
    /// Whether that is the store's default branch (a root: its history is its own builds).
    public var isDefaultBranch = true
    /// The branch each build of `history` belongs to (the start-point branch's up to the fork, then the branch's).
    public var historyBranches: [String] = []
}

/// `check`: does the newest build add significant growth compared with the builds before it? Uses the same
/// statistics as `top`: a change point at the target build, its p-value corrected for the splits searched and
/// for the number of stacks (Benjamini–Hochberg), and the thresholds.
///
/// A build after an unfixed leak passes: its growth began at an earlier build, which failed then; the report
/// lists it as earlier growth. A leak that grows again at the target is a new change point and fails again.
public struct GrowthCheck {
    public var filter: SeriesFilter
    public var options: CheckOptions

    public init(filter: SeriesFilter, options: CheckOptions) {
        self.filter = filter
        self.options = options
    }

    public func run(_ db: Database) throws -> CheckReport {
        // The branch: --branch, else the judged build's own, else the default branch. Its history (the start-point
        // branch's builds up to the fork, then its own) is what the build is judged against.
        let branch: String
        if filter.branch != nil {
            branch = try filter.resolvedBranch(db)
        } else if let build = options.build, let owner = try Branches.of(build: build, db) {
            branch = owner
        } else {
            branch = try Branches.defaultName(db)
        }
        let isDefaultBranch = try branch == Branches.defaultName(db)
        let history = try Row.fetchAll(
            db,
            sql: """
                SELECT o.build, o.build_branch FROM branch_history AS o
                WHERE o.branch = ? AND EXISTS (SELECT 1 FROM snapshot AS s WHERE s.build_id = o.build_id AND s.kind = ?)
                ORDER BY o.position
                """,
            arguments: [branch, filter.kind])
        let order: [String] = history.map { $0["build"] }
        var owners: [String: String] = [:]
        for row in history { owners[row["build"]] = row["build_branch"] }
        func undecided(_ target: String, _ why: String) -> CheckReport {
            CheckReport(
                verdict: .undecided(why), target: target, history: [], replicates: [], failures: [], accepted: [], earlier: [],
                caveat: nil, metric: filter.metric, options: options, branch: branch, isDefaultBranch: isDefaultBranch)
        }
        // The default target is the build ingested last (the newest snapshot id) on the branch, not the one with the
        // latest clock: a dump with a wrong, future time must not become the build every later check judges.
        let lastIngested = try String.fetchOne(
            db,
            sql: """
                SELECT o.build FROM snapshot AS s JOIN branch_history AS o ON o.build_id = s.build_id AND o.branch = ?
                WHERE s.kind = ? ORDER BY s.id DESC LIMIT 1
                """,
            arguments: [branch, filter.kind])
        guard let target = options.build ?? lastIngested else {
            return undecided("", "no \(filter.kind) snapshots in the store" + (isDefaultBranch ? "" : " on branch \(branch)"))
        }
        guard let targetIndex = order.firstIndex(of: target) else {
            if let owner = try Branches.of(build: target, db), owner != branch {
                throw StoreError.noMatch(
                    "build '\(target)' is on branch '\(owner)', not in the history of branch '\(branch)' (see 'profhist builds --branch \(branch)')")
            }
            throw StoreError.noMatch("no build named '\(target)' with \(filter.kind) snapshots (see 'profhist builds')")
        }
        var startIndex = max(0, targetIndex - options.lastBuilds)
        if let baseline = options.baseline {
            guard let index = order.firstIndex(of: baseline) else {
                throw StoreError.noMatch("no build named '\(baseline)' (see 'profhist builds')")
            }
            guard index < targetIndex else { return undecided(target, "baseline \(baseline) is not before \(target)") }
            startIndex = index
        }
        guard targetIndex > startIndex else {
            return undecided(target, "too little history: \(target) is the first build, nothing to compare with")
        }
        var selected = filter
        selected.branch = branch
        selected.fromBuild = order[startIndex]
        selected.toBuild = target
        var growth = GrowthOptions()
        growth.limit = 0
        growth.includeAll = true
        growth.alpha = options.alpha
        let report = try GrowthRanking(filter: selected, options: growth).run(db)
        let n = report.points.count
        guard n >= 2, report.points.last == target else {
            return undecided(target, "too little history: \(n) build(s) selected")
        }
        let values = report.replicates.reduce(0, +)
        if values < 3 {
            return undecided(target, "too little history: \(values) run(s) in all; a test needs at least 3")
        }

        // The target build against the stable stretch before it, for every stack whose range could matter (a
        // split at a known point: no search correction), then Benjamini–Hochberg over all stacks tested.
        func rise(_ row: GrowthRow) -> ChangePointDetector.Change? {
            guard let shift = row.endShift, shift.shift.meanAfter > shift.shift.meanBefore else { return nil }
            return shift
        }
        let q = Statistics.benjaminiHochberg(report.rows.map { rise($0)?.pAdjusted ?? 1 })
        var qByKey: [Int64: Double] = [:]
        for (row, value) in zip(report.rows, q) { qByKey[row.key] = value }
        var failures: [CheckFinding] = []
        var accepted: [CheckFinding] = []
        for row in report.rows {
            guard let move = rise(row), move.pAdjusted < options.alpha, (qByKey[row.key] ?? 1) < options.fdr else { continue }
            let finding = CheckFinding(
                row: row, previous: move.shift.meanBefore, current: row.series.last ?? move.shift.meanAfter,
                pValue: move.pAdjusted, acceptance: acceptance(for: row, target: target, order: order))
            let percent = finding.previous > 0 ? finding.growth / finding.previous * 100 : .infinity
            guard finding.growth >= options.maxGrowth, percent >= options.maxGrowthPercent else { continue }
            if finding.acceptance != nil { accepted.append(finding) } else { failures.append(finding) }
        }
        failures.sort { $0.growth > $1.growth }
        accepted.sort { $0.growth > $1.growth }
        let earlier = report.rows.filter { $0.significant && $0.regressedAt != nil && $0.regressedAt != target }
        let single = report.replicates.allSatisfy { $0 <= 1 }
        return CheckReport(
            verdict: failures.isEmpty ? .pass : .fail, target: target, history: Array(report.points.dropLast()),
            replicates: report.replicates, failures: failures, accepted: accepted, earlier: earlier,
            caveat: single ? "every build has a single run: the noise is estimated across builds, so the verdict is weaker; ingest several runs per build (--run) to strengthen it" : nil,
            metric: filter.metric, options: options, branch: branch, isDefaultBranch: isDefaultBranch,
            historyBranches: report.points.dropLast().map { owners[$0] ?? branch })
    }

    private func acceptance(for row: GrowthRow, target: String, order: [String]) -> Acceptance? {
        options.accepted.first { acceptance in
            let matches = acceptance.stackID.map { $0 == row.key } ?? (acceptance.leaf == row.leaf)
            guard matches else { return false }
            guard let expires = acceptance.expires, let expiry = order.firstIndex(of: expires),
                let current = order.firstIndex(of: target)
            else { return true }  // no expiry, or an expiry build not stored yet: still in force
            return current <= expiry
        }
    }
}
