import Foundation
import GRDB

/// One row of `top`: a stack (or function) and how it moved over the series.
public struct GrowthRow: Sendable {
    public var rank = 0
    public var key: Int64
    public var leaf = ""
    public var stack = ""
    /// Point means at the first and last point.
    public var first: Double
    public var last: Double
    public var delta: Double { last - first }
    /// Least-squares slope per point over the point means.
    public var slope: Double
    /// p of the reported change (corrected for the splits searched); of the best split when none counts.
    public var pValue: Double
    /// Benjamini–Hochberg adjusted p over every key in the selection.
    public var qValue: Double = 1
    /// The point where the reported growth (or fall) began; nil when there is none.
    public var regressedAt: String?
    /// Level before the change, and the last level.
    public var before: Double
    public var after: Double
    /// The size of the persistent move: last level minus the level before the change (0 when none).
    public var change: Double
    /// Point means, for sparklines.
    public var series: [Double]
    /// Passed significance and magnitude in the requested direction.
    public var significant = false
    /// |change| (or |delta|) as a share of the mean selected total.
    public var share: Double = 0
    /// The latest significant level shift in the ranked direction, wherever it is (for `check`, which asks
    /// whether one happened at the newest build).
    public var latestMove: ChangePointDetector.Change?
    /// The last point against the stable stretch before it (`check`'s test).
    public var endShift: ChangePointDetector.Change?
}

/// Options of `top`.
public struct GrowthOptions: Sendable {
    public var axis = PointAxis.build
    public var grouping = Grouping.stack
    /// true: rank growth; false: rank shrinking (`--order shrink`).
    public var growing = true
    /// Rows to return; 0 for all.
    public var limit = 20
    /// Smallest change that counts, in the metric's units.
    public var minDelta: Double = 0
    /// Smallest change as a share of the mean total (0.1% by default), so noise in tiny stacks stays quiet.
    public var minShareOfTotal: Double = 0.001
    /// Smallest change relative to the stack's level before it (5%).
    public var minRelative: Double = 0.05
    /// Significance for a change point (after correction for the splits searched) and for the FDR.
    public var alpha: Double = 0.01
    public var fdr: Double = 0.05
    /// Include stacks that failed the tests.
    public var includeAll = false
    /// At most this many keys get the full change-point analysis (largest ranges first).
    public var maximumCandidates = 2000
    /// How the later passes read the rows of a few stacks: by index seeks or by scanning each snapshot. Both
    /// read the same rows, so this changes only the time taken (tests pin it to compare the two).
    var keyedReads = KeyedReads.automatic

    enum KeyedReads: Sendable {
        case automatic, always, never
    }

    public init() {}
}

/// The result of a ranking: rows and what the series was.
public struct GrowthReport: Sendable {
    public var rows: [GrowthRow]
    public var points: [String]
    public var replicates: [Int]
    public var keysTested: Int
    public var meanTotal: Double
    /// The fewest points on which a steady rise without a level shift can be judged at this alpha
    /// (`SteadyRise.pointsNeeded`): with fewer, "nothing grew" means "too short to judge".
    public var pointsNeeded = 3
}

/// Ranks stacks by growth over a series of builds or snapshots (see `reference/regression-stats.md`).
///
/// Two passes over the stored (sparse) samples, one snapshot at a time in point order: the first computes
/// each key's point means on the fly into sums (slope, range, first, last) with memory per key, not per
/// point; the second fills replicate values for the keys whose range could matter, which then get the
/// change-point test.
public struct GrowthRanking {
    public var filter: SeriesFilter
    public var options: GrowthOptions

    public init(filter: SeriesFilter, options: GrowthOptions) {
        self.filter = filter
        self.options = options
    }

    struct Sums {
        var sumY = 0.0
        var sumXY = 0.0
        var present = 0
        var minimum = Double.infinity
        var maximum = -Double.infinity
        var first = 0.0
        var last = 0.0
    }

    /// Per key sums over point means, filled one point at a time: a point's rows (all its snapshots) add into
    /// a per-key point sum, which `finishPoint` turns into the point mean and adds to the key's `Sums`.
    ///
    /// As a `SnapshotRowSink` it takes stack rows directly from the reader (grouping by stack); keys of other
    /// groupings go through `add`.
    struct PointAccumulator: SnapshotRowSink {
        struct Entry {
            var sums = Sums()
            var pointSum = 0.0
            var touchedAt = -1
        }

        private(set) var entries: [Entry] = []
        private(set) var dense = DenseKeys()
        private var touched: [Int32] = []
        private var x = 0
        private(set) var rowsRead = 0

        mutating func startPoint(_ x: Int) {
            self.x = x
            touched.removeAll(keepingCapacity: true)
        }

        mutating func take(stack: Int64, value: Int64) {
            add(key: stack, Double(value))
            rowsRead += 1
        }

        mutating func countRow() { rowsRead += 1 }

        /// Adds a value of a key at the current point.
        mutating func add(key: Int64, _ value: Double) {
            let d = Int(dense.index(of: key))
            if d == entries.count { entries.append(Entry()) }
            if entries[d].touchedAt != x {
                entries[d].touchedAt = x
                entries[d].pointSum = 0
                touched.append(Int32(d))
            }
            entries[d].pointSum += value
        }

        mutating func finishPoint(snapshots: Int, points n: Int) {
            let count = Double(snapshots)
            for d in touched {
                let y = entries[Int(d)].pointSum / count
                var entry = entries[Int(d)].sums
                entry.sumY += y
                entry.sumXY += Double(x) * y
                entry.present += 1
                entry.minimum = min(entry.minimum, y)
                entry.maximum = max(entry.maximum, y)
                if x == 0 { entry.first = y }
                if x == n - 1 { entry.last = y }
                entries[Int(d)].sums = entry
            }
        }
    }

    /// Whether reading `keys` stacks of each snapshot by one index seek each is cheaper than scanning the
    /// snapshot's rows. Measured on this store layout (a B-tree of (snapshot, stack)): a seek costs about six
    /// rows of a scan. Either way the same rows are read, so the choice never changes a result.
    static func seekIsCheaper(keys: Int, rowsPerSnapshot: Int) -> Bool {
        keys * 6 <= rowsPerSnapshot
    }

    /// Whether to read `keys` keys of each snapshot by seeks (stacks only: other groupings add up many stacks
    /// per key).
    private func seeks(keys: Int, rowsPerSnapshot: Int) -> Bool {
        guard options.grouping == .stack else { return false }
        switch options.keyedReads {
        case .automatic: return GrowthRanking.seekIsCheaper(keys: keys, rowsPerSnapshot: rowsPerSnapshot)
        case .always: return true
        case .never: return false
        }
    }

    public func run(_ db: Database) throws -> GrowthReport {
        let points = try filter.points(db, axis: options.axis)
        let n = points.count
        // The total the magnitude floor is a share of: objects for an object count, else the snapshot total
        // (in-use bytes for heap, live tasks for tasks).
        let byObjects = filter.metric == .inuseObjects || filter.metric == .allocObjects
        let meanTotal = points.isEmpty ? 0 : points.map { p in
            p.snapshots.map { byObjects ? $0.totalObjects : $0.total }.reduce(0, +) / Double(p.snapshots.count)
        }.reduce(0, +) / Double(n)
        guard n > 0 else {
            return GrowthReport(rows: [], points: [], replicates: [], keysTested: 0, meanTotal: 0)
        }
        let keys = GroupKeys(db: db, grouping: options.grouping)
        let reader = try SnapshotValueReader(db, metric: filter.metric)

        // Pass 1: per key, sums over point means. Keys get dense indices, so the work per sample row is one
        // integer-map probe and array arithmetic.
        var accumulator = PointAccumulator()
        var sampleRows = SnapshotRows()
        for (x, point) in points.enumerated() {
            accumulator.startPoint(x)
            for snapshot in point.snapshots {
                if options.grouping == .stack {
                    try reader.read(snapshot: snapshot.id, into: &accumulator)
                } else {
                    try reader.read(snapshot: snapshot.id, into: &sampleRows)
                    for i in 0..<sampleRows.count {
                        accumulator.countRow()
                        let value = Double(sampleRows.values[i])
                        for key in try keys.keys(of: sampleRows.stacks[i]) { accumulator.add(key: key, value) }
                    }
                }
            }
            accumulator.finishPoint(snapshots: point.snapshots.count, points: n)
        }
        var dense = accumulator.dense
        let rowsRead = accumulator.rowsRead
        let entries = accumulator.entries.map(\.sums)
        let sums = Dictionary(uniqueKeysWithValues: zip(dense.keys, entries))

        // Magnitude floor, and candidates whose range across points reaches it.
        // Counts (objects, tasks) move by whole units: less than one is noise.
        let floor = max(options.minDelta, options.minShareOfTotal * meanTotal, filter.metric.isBytes ? 0 : 1)
        var candidates: [(key: Int64, range: Double)] = []
        for (key, entry) in sums {
            let low = entry.present < n ? min(entry.minimum, 0) : entry.minimum
            let high = entry.present < n ? max(entry.maximum, 0) : entry.maximum
            if high - low >= floor && n >= 2 { candidates.append((key, high - low)) }
        }
        candidates.sort { $0.range > $1.range }
        if candidates.count > options.maximumCandidates { candidates.removeLast(candidates.count - options.maximumCandidates) }
        // Candidate of each dense key, -1 for none.
        var candidateOf = [Int32](repeating: -1, count: dense.keys.count)
        for (c, candidate) in candidates.enumerated() { candidateOf[Int(dense.index(of: candidate.key))] = Int32(c) }

        // Pass 2: replicate values (run means) of the candidates: a scan of every snapshot, or, for a few stacks
        // of many, a seek per stack (the same rows, added in the same order).
        var replicateSums = [[[Double]]](
            repeating: points.map { [Double](repeating: 0, count: max($0.replicateCount, 1)) }, count: candidates.count)
        if !candidates.isEmpty {
            let rowsPerSnapshot = rowsRead / max(points.reduce(0) { $0 + $1.snapshots.count }, 1)
            let seek = seeks(keys: candidates.count, rowsPerSnapshot: rowsPerSnapshot)
            let wanted = seek ? SnapshotValueReader.json(candidates.map(\.key).sorted()) : ""
            for (x, point) in points.enumerated() {
                for snapshot in point.snapshots {
                    let replicate = point.replicateOf[snapshot.id] ?? 0
                    if seek {
                        try reader.read(snapshot: snapshot.id, stacks: wanted, into: &sampleRows)
                    } else {
                        try reader.read(snapshot: snapshot.id, into: &sampleRows)
                    }
                    for i in 0..<sampleRows.count {
                        if options.grouping == .stack {
                            let c = dense.existingIndex(of: sampleRows.stacks[i]).map { candidateOf[Int($0)] } ?? -1
                            if c >= 0 { replicateSums[Int(c)][x][replicate] += Double(sampleRows.values[i]) }
                        } else {
                            for key in try keys.keys(of: sampleRows.stacks[i]) {
                                let c = dense.existingIndex(of: key).map { candidateOf[Int($0)] } ?? -1
                                if c >= 0 { replicateSums[Int(c)][x][replicate] += Double(sampleRows.values[i]) }
                            }
                        }
                    }
                }
            }
        }

        // Tests.
        var detector = ChangePointDetector()
        detector.alpha = options.alpha
        detector.minimumShift = floor
        detector.minimumRelativeShift = options.minRelative
        if filter.metric == .inuseSpace || filter.metric == .allocSpace {
            detector.samplingInterval = Double(points.flatMap(\.snapshots).map(\.samplePeriod).max() ?? 0)
        }
        if detector.samplingInterval > 0 {
            let dispersions = candidates.indices.compactMap { c -> Double? in
                let replicates = replicateSums[c].enumerated().map { x, values in
                    values.enumerated().map { r, sum in sum / Double(max(points[x].snapshotsPerReplicate[safe: r] ?? 1, 1)) }
                }
                return ChangePointDetector.dispersion(replicates, samplingInterval: detector.samplingInterval)
            }.sorted()
            if !dispersions.isEmpty { detector.sharedDispersion = dispersions[dispersions.count / 2] }
        }
        var rows: [GrowthRow] = []
        rows.reserveCapacity(sums.count)
        var pValues: [Double] = []
        for (key, entry) in sums {
            let slope = Statistics.sparseSlope(sumY: entry.sumY, sumXY: entry.sumXY, points: n)
            var row = GrowthRow(
                key: key, first: entry.first, last: entry.last, slope: slope, pValue: 1, before: entry.first,
                after: entry.last, change: 0, series: [])
            if let d = dense.existingIndex(of: key), candidateOf[Int(d)] >= 0 {
                let c = Int(candidateOf[Int(d)])
                let replicates = replicateSums[c].enumerated().map { x, values in
                    values.enumerated().map { r, sum in sum / Double(max(points[x].snapshotsPerReplicate[safe: r] ?? 1, 1)) }
                }
                let means = replicateSums[c].enumerated().map { x, values in values.reduce(0, +) / Double(points[x].snapshots.count) }
                row.series = means
                let changes = detector.changes(replicates)
                let history = LevelHistory(points: replicates, changes: changes)
                row.latestMove = changes.last { ($0.shift.meanAfter > $0.shift.meanBefore) == options.growing }
                row.endShift = detector.shiftAtEnd(replicates, changes: changes)
                // One trend test per stack, shared by the level-shift and the trend reading below.
                let trend = trendMove(means: means, floor: floor)
                var stepRow: GrowthRow? = nil
                if let move = history.persistentMove(growing: options.growing, margin: floor),
                    let levelBefore = history.levels.last(where: { $0.end <= move.change.index })?.mean
                {
                    var step = row
                    var pShift = move.change.pAdjusted
                    if move.change.index == points.count - 1, let end = row.endShift {
                        // A stack new at the last point: `check`'s test at that split (jemalloc's sample counts,
                        // where two runs of Welch's t have one degree of freedom), corrected for the splits searched.
                        pShift = min(pShift, min(1, end.pAdjusted * Double(points.count - 1)))
                    }
                    step.pValue = min(1, 2 * pShift)  // two tests per stack: level shift and trend
                    var onset = move.change.index
                    var baseline = levelBefore
                    // A staircase of rises is a trend: date it where a line leaves the flat baseline, which the
                    // greedy splits may place late.
                    let rises = history.changes.filter { ($0.shift.meanAfter > $0.shift.meanBefore) == options.growing }
                    let falls = history.changes.filter { ($0.shift.meanAfter > $0.shift.meanBefore) != options.growing }
                    if rises.count >= 2, let trend, trend.p < options.alpha,
                        trend.onset < onset, !falls.contains(where: { $0.index >= trend.onset && $0.index <= onset })
                    {
                        onset = trend.onset
                        baseline = trend.baseline
                    }
                    step.regressedAt = points[onset].label
                    step.before = baseline
                    step.after = history.levels.last?.mean ?? entry.last
                    step.change = step.after - baseline
                    let relative = abs(step.change) >= options.minRelative * abs(baseline)
                    step.significant = relative && abs(step.change) >= floor && (step.change > 0) == options.growing
                        && step.pValue < options.alpha
                    stepRow = step
                }
                var trendRow: GrowthRow? = nil
                if let trend, trend.p < options.alpha {
                    // A monotonic trend (a leak that grows a little with every build, or every snapshot of a
                    // soak): dated where the line leaves the flat baseline.
                    var ramp = row
                    ramp.pValue = min(1, 2 * trend.p)
                    ramp.regressedAt = points[trend.onset].label
                    ramp.before = trend.baseline
                    ramp.after = entry.last
                    ramp.change = entry.last - trend.baseline
                    let relative = abs(ramp.change) >= options.minRelative * abs(trend.baseline)
                    ramp.significant = relative && abs(ramp.change) >= floor && (ramp.change > 0) == options.growing
                        && ramp.pValue < options.alpha
                    trendRow = ramp
                }
                let riseRow = steadyRiseRow(
                    row, means: means, replicates: replicates, points: points, last: entry.last, floor: floor,
                    detector: detector)
                // A significant level shift first (it dates steps best), else a significant trend, else a steady
                // rise against sampling noise, else the smallest p-value tried, for --all. A steady rise that
                // also holds lends its p-value to the shift or trend that dates it.
                if let step = stepRow, step.significant {
                    row = step
                    if let rise = riseRow, rise.significant { row.pValue = min(row.pValue, rise.pValue) }
                } else if let ramp = trendRow, ramp.significant {
                    row = ramp
                    if let rise = riseRow, rise.significant { row.pValue = min(row.pValue, rise.pValue) }
                } else if let rise = riseRow, rise.significant {
                    row = rise
                } else if let end = endShiftRow(row, points: points, floor: floor), end.significant {
                    row = end
                } else if let step = stepRow {
                    row = step
                } else if let ramp = trendRow {
                    row = ramp
                } else if let best = detector.bestSplit(replicates) {
                    row.pValue = min(1, 2 * best.pAdjusted)
                }
            }
            if row.significant && !GrowthRanking.keepsRise(series: row.series, baseline: row.before, growing: options.growing) {
                row.significant = false
            }
            pValues.append(row.pValue)
            rows.append(row)
        }
        let qValues = Statistics.benjaminiHochberg(pValues)
        for i in rows.indices {
            rows[i].qValue = qValues[i]
            rows[i].significant = rows[i].significant && rows[i].pValue < options.alpha && rows[i].qValue < options.fdr
            if !rows[i].significant { rows[i].regressedAt = nil }
            rows[i].share = meanTotal > 0 ? abs(rows[i].significant ? rows[i].change : rows[i].delta) / meanTotal : 0
        }

        // Order: significant moves by size, then (with --all) the rest by delta.
        let sign: Double = options.growing ? 1 : -1
        rows.sort { a, b in
            if a.significant != b.significant { return a.significant }
            let ma = a.significant ? a.change * sign : a.delta * sign
            let mb = b.significant ? b.change * sign : b.delta * sign
            if ma != mb { return ma > mb }
            return a.key < b.key
        }
        if !options.includeAll { rows.removeAll { !$0.significant } }
        if options.limit > 0 && rows.count > options.limit { rows.removeLast(rows.count - options.limit) }
        // Point means for the rows that skipped the full analysis, in one more pass.
        let missing = Set(rows.filter { $0.series.isEmpty }.map(\.key))
        let series = missing.isEmpty ? [:] : try seriesOf(
            missing, points: points, keys: keys, reader: reader,
            rowsPerSnapshot: rowsRead / max(points.reduce(0) { $0 + $1.snapshots.count }, 1))
        for i in rows.indices {
            rows[i].rank = i + 1
            let description = try keys.describe(rows[i].key)
            rows[i].leaf = description.leaf
            rows[i].stack = description.stack
            if rows[i].series.isEmpty { rows[i].series = series[rows[i].key] ?? Array(repeating: 0, count: n) }
        }
        return GrowthReport(
            rows: rows, points: points.map(\.label), replicates: points.map(\.replicateCount), keysTested: sums.count,
            meanTotal: meanTotal, pointsNeeded: SteadyRise.pointsNeeded(alpha: options.alpha))
    }

    /// The reading of a stack as a steady rise against jemalloc's sampling noise (`SteadyRise`), for byte
    /// metrics of sampled dumps; nil when the series does not rise at every one of its last points.
    private func steadyRiseRow(
        _ row: GrowthRow, means: [Double], replicates: [[Double]], points: [SeriesPoint], last: Double, floor: Double,
        detector: ChangePointDetector
    ) -> GrowthRow? {
        let own = ChangePointDetector.dispersion(replicates, samplingInterval: detector.samplingInterval) ?? 1
        guard
            let rise = SteadyRise.test(
                means: means, snapshots: points.map(\.snapshots.count), samplingInterval: detector.samplingInterval,
                dispersion: max(own, detector.sharedDispersion ?? 1), growing: options.growing, alpha: options.alpha)
        else { return nil }
        var result = row
        result.pValue = min(1, 3 * rise.p)  // three readings per stack: level shift, trend, steady rise
        result.regressedAt = points[rise.start + 1].label
        result.before = rise.baseline
        result.after = last
        result.change = last - rise.baseline
        let relative = abs(result.change) >= options.minRelative * abs(rise.baseline)
        result.significant = relative && abs(result.change) >= floor && (result.change > 0) == options.growing
            && result.pValue < options.alpha
        return result
    }

    /// The reading of a stack as a shift at the last point, by `check`'s test at that split (for a stack new
    /// there: jemalloc's sample counts, which have power where two runs give Welch's t one degree of freedom),
    /// corrected for the splits searched and for the readings tried; nil when the last point did not move.
    private func endShiftRow(_ row: GrowthRow, points: [SeriesPoint], floor: Double) -> GrowthRow? {
        guard let end = row.endShift, points.count >= 2 else { return nil }
        var result = row
        result.pValue = min(1, 3 * end.pAdjusted * Double(points.count - 1))
        result.regressedAt = points[points.count - 1].label
        result.before = end.shift.meanBefore
        result.after = end.shift.meanAfter
        result.change = end.shift.meanAfter - end.shift.meanBefore
        let relative = abs(result.change) >= options.minRelative * abs(result.before)
        result.significant = relative && abs(result.change) >= floor && (result.change > 0) == options.growing
            && result.pValue < options.alpha
        return result
    }

    /// Whether growth is still there at the last point: a stack that rose and fell back (sqlite's sorter,
    /// 0 -> 130 MB -> 12 MB) is a rise and fall, not growth. The last point must keep at least half of the
    /// largest move from the baseline (the same, downwards, for a fall).
    static func keepsRise(series: [Double], baseline: Double, growing: Bool) -> Bool {
        guard let last = series.last else { return true }
        let sign: Double = growing ? 1 : -1
        let peak = series.map { sign * ($0 - baseline) }.max() ?? 0
        return sign * (last - baseline) >= 0.5 * peak
    }

    /// A significant monotonic trend in the requested direction (Mann–Kendall on the point means, p below
    /// alpha), its onset and baseline; nil otherwise. Both readings of a trend require p < alpha, so the onset
    /// search (quadratic in the points) runs only for a trend that will be used.
    private func trendMove(means: [Double], floor: Double) -> (p: Double, onset: Int, baseline: Double)? {
        let test = Statistics.mannKendall(means)
        guard test.s != 0, (test.s > 0) == options.growing, test.p < options.alpha else { return nil }
        let onset = Statistics.trendOnset(means)
        return (test.p, onset.index, onset.baseline)
    }

    /// Point means of some keys (for rows that skipped the full analysis).
    private func seriesOf(
        _ wanted: Set<Int64>, points: [SeriesPoint], keys: GroupKeys, reader: SnapshotValueReader, rowsPerSnapshot: Int
    ) throws -> [Int64: [Double]] {
        var index = DenseKeys()
        let sorted = wanted.sorted()
        for key in sorted { _ = index.index(of: key) }
        var means = [[Double]](repeating: Array(repeating: 0, count: points.count), count: index.keys.count)
        let seek = seeks(keys: sorted.count, rowsPerSnapshot: rowsPerSnapshot)
        let json = seek ? SnapshotValueReader.json(sorted) : ""
        var rows = SnapshotRows()
        for (x, point) in points.enumerated() {
            let count = Double(point.snapshots.count)
            for snapshot in point.snapshots {
                if seek {
                    try reader.read(snapshot: snapshot.id, stacks: json, into: &rows)
                } else {
                    try reader.read(snapshot: snapshot.id, into: &rows)
                }
                for i in 0..<rows.count {
                    let value = Double(rows.values[i])
                    if options.grouping == .stack {
                        if let d = index.existingIndex(of: rows.stacks[i]) { means[Int(d)][x] += value / count }
                    } else {
                        for key in try keys.keys(of: rows.stacks[i]) {
                            if let d = index.existingIndex(of: key) { means[Int(d)][x] += value / count }
                        }
                    }
                }
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(index.keys, means))
    }
}

/// Dense indices 0, 1, 2, ... for 64-bit keys (stack ids, frame ids), in order of first appearance.
///
/// Keys are row ids, small and dense in practice: below 2^24 they index an array (one load per sample row);
/// larger ones go through an integer map.
struct DenseKeys {
    private static let arrayLimit: Int64 = 1 << 24
    private var slots: [Int32] = []
    private var map = IntegerMap(capacity: 16)
    private(set) var keys: [Int64] = []

    /// The key's index, new keys getting the next one.
    mutating func index(of key: Int64) -> Int32 {
        if key >= 0 && key < DenseKeys.arrayLimit {
            let slot = Int(key)
            if slot >= slots.count { slots.append(contentsOf: repeatElement(-1, count: max(slot + 1 - slots.count, slots.count))) }
            if slots[slot] >= 0 { return slots[slot] }
            slots[slot] = Int32(keys.count)
            keys.append(key)
            return slots[slot]
        }
        return map.value(for: UInt64(bitPattern: key)) {
            keys.append(key)
            return Int32(keys.count - 1)
        }
    }

    func existingIndex(of key: Int64) -> Int32? {
        if key >= 0 && key < DenseKeys.arrayLimit {
            let slot = Int(key)
            return slot < slots.count && slots[slot] >= 0 ? slots[slot] : nil
        }
        return map[UInt64(bitPattern: key)]
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
