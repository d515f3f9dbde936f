import Foundation

/// A candidate key's values on the series: per point, the mean of each replicate (run), and the point mean.
struct CandidateValues {
    /// `replicates[x][r]`: the mean over run r's snapshots at point x.
    var replicates: [[Double]]
    /// `means[x]`: the mean over every snapshot of point x.
    var means: [Double]

    /// Turns sums per point and replicate into run means and point means.
    init(sums: [[Double]], points: [SeriesPoint]) {
        replicates = sums.enumerated().map { x, values in
            values.enumerated().map { r, sum in sum / Double(max(points[x].snapshotsPerReplicate[safe: r] ?? 1, 1)) }
        }
        means = sums.enumerated().map { x, values in values.reduce(0, +) / Double(points[x].snapshots.count) }
    }
}

/// Judges one key's series for `top`: reads it as a level shift, a trend, a steady rise against sampling noise
/// or a shift at the last point, and keeps the reading that is significant (the README's "top" section
/// says how).
struct GrowthJudge {
    var options: GrowthOptions
    var points: [SeriesPoint]
    /// The smallest change that counts, in the metric's units.
    var floor: Double
    var detector: ChangePointDetector

    /// The row of a key: its sums' numbers, and for a candidate (`values` not nil) the judged readings.
    func row(key: Int64, sums entry: GrowthRanking.Sums, values: CandidateValues?) -> GrowthRow {
        let slope = Statistics.sparseSlope(sumY: entry.sumY, sumXY: entry.sumXY, points: points.count)
        var row = GrowthRow(
            key: key, first: entry.first, last: entry.last, slope: slope, pValue: 1, before: entry.first,
            after: entry.last, change: 0, series: [])
        if let values { row = judged(row, values: values) }
        if row.significant && !GrowthRanking.keepsRise(series: row.series, baseline: row.before, growing: options.growing) {
            row.significant = false
        }
        return row
    }

    /// A significant level shift first (it dates steps best), else a significant trend, else a steady rise
    /// against sampling noise, else a shift at the last point, else the smallest p-value tried, for --all. A
    /// steady rise that also holds lends its p-value to the shift or trend that dates it.
    private func judged(_ plain: GrowthRow, values: CandidateValues) -> GrowthRow {
        var row = plain
        row.series = values.means
        let changes = detector.changes(values.replicates)
        let history = LevelHistory(points: values.replicates, changes: changes)
        row.latestMove = changes.last { ($0.shift.meanAfter > $0.shift.meanBefore) == options.growing }
        row.endShift = detector.shiftAtEnd(values.replicates, changes: changes)
        // One trend test per stack, shared by the level-shift and the trend reading below.
        let trend = trendMove(means: values.means)
        let step = levelShiftRow(row, history: history, trend: trend)
        let ramp = trendRow(row, trend: trend)
        let rise = steadyRiseRow(row, values: values)
        let steadyP = rise.flatMap { $0.significant ? $0.pValue : nil }
        if var step, step.significant {
            if let steadyP { step.pValue = min(step.pValue, steadyP) }
            return step
        }
        if var ramp, ramp.significant {
            if let steadyP { ramp.pValue = min(ramp.pValue, steadyP) }
            return ramp
        }
        if let rise, rise.significant { return rise }
        if let end = endShiftRow(row), end.significant { return end }
        if let step { return step }
        if let ramp { return ramp }
        if let best = detector.bestSplit(values.replicates) { row.pValue = min(1, 2 * best.pAdjusted) }
        return row
    }

    /// Whether a reading's change counts: in the ranked direction, at least the floor and `minRelative` of the
    /// level before it, with p below alpha.
    private func assessed(_ reading: GrowthRow) -> GrowthRow {
        var row = reading
        let relative = abs(row.change) >= options.minRelative * abs(row.before)
        row.significant = relative && abs(row.change) >= floor && (row.change > 0) == options.growing
            && row.pValue < options.alpha
        return row
    }

    /// The reading of a stack as a persistent level shift, dated at the shift (or, for a staircase of rises,
    /// where a significant trend leaves the flat baseline); nil when no shift persists to the last point.
    private func levelShiftRow(
        _ row: GrowthRow, history: LevelHistory, trend: (p: Double, onset: Int, baseline: Double)?
    ) -> GrowthRow? {
        guard let move = history.persistentMove(growing: options.growing, margin: floor),
            let levelBefore = history.levels.last(where: { $0.end <= move.change.index })?.mean
        else { return nil }
        var step = row
        var pShift = move.change.pAdjusted
        if move.change.index == points.count - 1, let end = row.endShift {
            // A stack new at the last point: `check`'s test at that split (jemalloc's sample counts, where two
            // runs of Welch's t have one degree of freedom), corrected for the splits searched.
            pShift = min(pShift, min(1, end.pAdjusted * Double(points.count - 1)))
        }
        step.pValue = min(1, 2 * pShift)  // two tests per stack: level shift and trend
        var onset = move.change.index
        var baseline = levelBefore
        // A staircase of rises is a trend: date it where a line leaves the flat baseline, which the greedy splits
        // may place late.
        let rises = history.changes.filter { ($0.shift.meanAfter > $0.shift.meanBefore) == options.growing }
        let falls = history.changes.filter { ($0.shift.meanAfter > $0.shift.meanBefore) != options.growing }
        if rises.count >= 2, let trend, trend.p < options.alpha, trend.onset < onset,
            !falls.contains(where: { $0.index >= trend.onset && $0.index <= onset })
        {
            onset = trend.onset
            baseline = trend.baseline
        }
        step.regressedAt = points[onset].label
        step.before = baseline
        step.after = history.levels.last?.mean ?? row.last
        step.change = step.after - baseline
        return assessed(step)
    }

    /// The reading of a stack as a monotonic trend (a leak that grows a little with every build, or every
    /// snapshot of a soak), dated where the line leaves the flat baseline; nil without a significant trend.
    private func trendRow(_ row: GrowthRow, trend: (p: Double, onset: Int, baseline: Double)?) -> GrowthRow? {
        guard let trend, trend.p < options.alpha else { return nil }
        var ramp = row
        ramp.pValue = min(1, 2 * trend.p)
        ramp.regressedAt = points[trend.onset].label
        ramp.before = trend.baseline
        ramp.after = row.last
        ramp.change = row.last - trend.baseline
        return assessed(ramp)
    }

    /// The reading of a stack as a steady rise against jemalloc's sampling noise (`SteadyRise`), for byte
    /// metrics of sampled dumps; nil when the series does not rise at every one of its last points.
    private func steadyRiseRow(_ row: GrowthRow, values: CandidateValues) -> GrowthRow? {
        let own = ChangePointDetector.dispersion(values.replicates, samplingInterval: detector.samplingInterval) ?? 1
        guard
            let rise = SteadyRise.test(
                means: values.means, snapshots: points.map(\.snapshots.count),
                samplingInterval: detector.samplingInterval, dispersion: max(own, detector.sharedDispersion ?? 1),
                growing: options.growing, alpha: options.alpha)
        else { return nil }
        var result = row
        result.pValue = min(1, 3 * rise.p)  // three readings per stack: level shift, trend, steady rise
        result.regressedAt = points[rise.start + 1].label
        result.before = rise.baseline
        result.after = row.last
        result.change = row.last - rise.baseline
        return assessed(result)
    }

    /// The reading of a stack as a shift at the last point, by `check`'s test at that split (for a stack new
    /// there: jemalloc's sample counts, which have power where two runs give Welch's t one degree of freedom),
    /// corrected for the splits searched and for the readings tried; nil when the last point did not move.
    private func endShiftRow(_ row: GrowthRow) -> GrowthRow? {
        guard let end = row.endShift, points.count >= 2 else { return nil }
        var result = row
        result.pValue = min(1, 3 * end.pAdjusted * Double(points.count - 1))
        result.regressedAt = points[points.count - 1].label
        result.before = end.shift.meanBefore
        result.after = end.shift.meanAfter
        result.change = end.shift.meanAfter - end.shift.meanBefore
        return assessed(result)
    }

    /// A significant monotonic trend in the requested direction (Mann–Kendall on the point means, p below
    /// alpha), its onset and baseline; nil otherwise. Both readings of a trend require p < alpha, so the onset
    /// search (quadratic in the points) runs only for a trend that will be used.
    private func trendMove(means: [Double]) -> (p: Double, onset: Int, baseline: Double)? {
        let test = Statistics.mannKendall(means)
        guard test.s != 0, (test.s > 0) == options.growing, test.p < options.alpha else { return nil }
        let onset = Statistics.trendOnset(means)
        return (test.p, onset.index, onset.baseline)
    }
}
