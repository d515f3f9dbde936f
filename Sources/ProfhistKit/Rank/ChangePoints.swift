import Foundation

/// Finds level shifts in a series of points, each with replicate values (the runs of a build), by binary
/// segmentation with Welch's t: the best split of a range, kept when it is significant after correcting for
/// the number of splits tried and large enough to matter, then the same inside each side.
public struct ChangePointDetector: Sendable {
    /// Largest corrected p-value for a split to count.
    public var alpha: Double = 0.01
    /// Smallest shift between segment means to count (absolute units of the metric)...
    public var minimumShift: Double = 0
    /// ...and relative to the larger of the two means: `top` reports nothing smaller, so a split below it would
    /// only misplace the changes that matter.
    public var minimumRelativeShift: Double = 0.05
    /// Per-value noise floor: a segment's standard deviation is at least `relativeNoise` × the larger mean...
    public var relativeNoise: Double = 0.01
    /// ...and at least this absolute amount (granularity).
    public var absoluteNoise: Double = 0.5
    /// jemalloc's mean sampling interval R in bytes for byte metrics, else 0: a sampled stack of mean size m
    /// has variance about m·R (the number of samples is Poisson with mean m/R, each worth R), so its relative
    /// error is 1/√(samples). A side's variance is never taken below it.
    public var samplingInterval: Double = 0
    /// The smallest sampling interval the count test of a new stack trusts: below it (a KiB) values are close to
    /// exact, no longer counts of samples.
    static let smallestSamplingInterval: Double = 1024
    /// The typical dispersion of the stacks of a ranking (their median), for the count test of a new stack.
    public var sharedDispersion: Double?
    /// At most this many change points per series.
    public var maximumChanges = 12
    /// Degrees of freedom of the pooled within-point variance of the series being analysed (set per series).
    var withinDegrees: Double = 0

    public init() {}

    /// A level shift at `index`: the first point after the split.
    public struct Change: Sendable, Equatable {
        public var index: Int
        public var shift: Statistics.Shift
        /// p corrected (Bonferroni) for the number of splits searched in its range.
        public var pAdjusted: Double
    }

    /// The best split of the whole series, whether or not it is significant (for reporting).
    public func bestSplit(_ points: [[Double]]) -> Change? {
        let prefix = ChangePointDetector.prefixMoments(points)
        var detector = self
        let noise = ChangePointDetector.withinNoise(points)
        detector.withinDegrees = noise.degrees
        return detector.best(in: 0..<points.count, prefix: prefix, within: noise.variance)
    }

    /// Every significant change point, sorted by index.
    public func changes(_ points: [[Double]]) -> [Change] {
        var detector = self
        let noise = ChangePointDetector.withinNoise(points)
        detector.withinDegrees = noise.degrees
        return detector.segment(points, within: noise.variance)
    }

    private func segment(_ points: [[Double]], within: Double) -> [Change] {
        let prefix = ChangePointDetector.prefixMoments(points)
        var found: [Change] = []
        // Earliest ranges first: with a budget of changes, the onset of growth matters more than late detail.
        var pending = [0..<points.count]
        while !pending.isEmpty, found.count < maximumChanges {
            pending.sort { $0.lowerBound > $1.lowerBound }
            let range = pending.removeLast()
            guard range.count >= 2, let change = best(in: range, prefix: prefix, within: within) else { continue }
            if change.pAdjusted < alpha, large(change.shift) {
                found.append(change)
                pending.append(range.lowerBound..<change.index)
                pending.append(change.index..<range.upperBound)
            } else if let (start, end) = bestInterval(in: range, prefix: prefix, within: within) {
                // No single split, but a stretch in the middle differs from both sides (a leak that came and
                // went, a dip): circular binary segmentation's test of an interval against the rest.
                found.append(start)
                found.append(end)
                pending.append(range.lowerBound..<start.index)
                pending.append(start.index..<end.index)
                pending.append(end.index..<range.upperBound)
            }
        }
        found.sort { $0.index < $1.index }
        // Binary segmentation is greedy: a split found early may sit off its true place once its neighbours are
        // known. Place each one again as the best split between the changes around it.
        for _ in 0..<2 {
            for i in found.indices {
                let lower = i > 0 ? found[i - 1].index : 0
                let upper = i + 1 < found.count ? found[i + 1].index : points.count
                if let refined = best(in: lower..<upper, prefix: prefix, within: within), refined.pAdjusted < alpha,
                    large(refined.shift)
                {
                    found[i] = refined
                }
            }
        }
        var unique: [Change] = []
        for change in found where unique.last?.index != change.index { unique.append(change) }
        return unique
    }

    /// The shift between the last point and the stable stretch before it (since the last change point before
    /// it): the test `check` makes for the newest build, at a known split, so its p-value needs no correction
    /// for a search.
    public func shiftAtEnd(_ points: [[Double]], changes: [Change]) -> Change? {
        let n = points.count
        guard n >= 2 else { return nil }
        let lower = changes.map(\.index).filter { $0 < n - 1 }.max() ?? 0
        let prefix = ChangePointDetector.prefixMoments(points)
        let noise = ChangePointDetector.withinNoise(points)
        var detector = self
        detector.withinDegrees = noise.degrees
        let before = prefix[n - 1] - prefix[lower]
        let after = prefix[n] - prefix[n - 1]
        let shift = detector.compare(before, after, within: noise.variance)
        // A stack that is new at the last point (no sample in any earlier run) is where Welch's t, with few
        // runs, has least power and the sampling model is most trustworthy: jemalloc's values are counts of
        // samples worth R bytes each, and with one rate for all runs the newest runs' samples are binomial given
        // the total. Take the better of the two tests, corrected for taking two. Stacks that existed before are
        // judged by Welch alone (run-to-run variation beyond sampling makes the count test overconfident).
        var p = shift.p
        if samplingInterval >= ChangePointDetector.smallestSamplingInterval, before.count >= 1, after.count >= 1, before.sum == 0, before.sumOfSquares == 0 {
            // Quasi-Poisson: runs that differ more than sampling explains count as fewer independent samples, by
            // the ratio of observed to expected variance; a new stack has too few runs to estimate it, so the
            // median over the stacks of the series is used when known.
            let dispersion = max(1, sharedDispersion ?? ChangePointDetector.dispersion(points, samplingInterval: samplingInterval) ?? 1)
            let k1 = max(before.sum, 0) / samplingInterval / dispersion
            let k2 = max(after.sum, 0) / samplingInterval / dispersion
            let share = after.count / (before.count + after.count)
            let counts = k2 > share * (k1 + k2)
                ? Statistics.binomialUpperTail(k: k2.rounded(), n: (k1 + k2).rounded(), p: share)
                : Statistics.binomialUpperTail(k: k1.rounded(), n: (k1 + k2).rounded(), p: 1 - share)
            p = min(1, 2 * min(shift.p, 2 * counts))
        }
        return Change(index: n - 1, shift: shift, pAdjusted: p)
    }

    /// Run-to-run variance over what jemalloc's sampling explains (m·R), pooled over the points of one series;
    /// nil when no point has two runs with a positive mean.
    public static func dispersion(_ points: [[Double]], samplingInterval: Double) -> Double? {
        var observed = 0.0
        var expected = 0.0
        for values in points where values.count >= 2 {
            let mean = values.reduce(0, +) / Double(values.count)
            guard mean > 0 else { continue }
            observed += values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            expected += Double(values.count - 1) * samplingInterval * mean
        }
        return expected > 0 ? observed / expected : nil
    }

    /// The shift between two stretches with the floors of this detector: per side the largest of its sample
    /// variance, the pooled run-to-run noise, the sampling model and the constant floor.
    func compare(_ before: Statistics.Moments, _ after: Statistics.Moments, within: Double) -> Statistics.Shift {
        var shift = compareStatistic(before, after, within: within)
        shift.p = Statistics.studentTwoSidedP(t: shift.t, df: shift.df)
        return shift
    }

    /// `compare` without the p-value (left at 1), for searches that rank splits by |t| and need p only for the
    /// best one.
    func compareStatistic(_ before: Statistics.Moments, _ after: Statistics.Moments, within: Double) -> Statistics.Shift {
        let scale = max(abs(before.mean), abs(after.mean))
        let constant = pow(relativeNoise * scale, 2) + absoluteNoise * absoluteNoise
        func floor(_ side: Statistics.Moments) -> (Double, Double) {
            let model = samplingInterval * abs(side.mean)
            let known = max(constant, model)
            return within > known ? (within, withinDegrees) : (known, .infinity)
        }
        let (floor1, degrees1) = floor(before)
        let (floor2, degrees2) = floor(after)
        return Statistics.shiftStatistic(
            before: before, after: after, floorBefore: floor1, degreesBefore: degrees1, floorAfter: floor2,
            degreesAfter: degrees2)
    }

    private func large(_ shift: Statistics.Shift) -> Bool {
        let size = abs(shift.meanAfter - shift.meanBefore)
        return size >= minimumShift && size >= minimumRelativeShift * max(abs(shift.meanBefore), abs(shift.meanAfter))
    }

    /// Moments of all replicate values of points [0, i), for i in 0...N.
    static func prefixMoments(_ points: [[Double]]) -> [Statistics.Moments] {
        var result = [Statistics.Moments()]
        result.reserveCapacity(points.count + 1)
        var running = Statistics.Moments()
        for values in points {
            for value in values { running.add(value) }
            result.append(running)
        }
        return result
    }

    /// The pooled variance of replicates around their own point's mean: the run-to-run noise of the stack,
    /// which a change between points does not inflate. 0 when no point has two replicates.
    ///
    /// A segment's variance is never taken below it: three runs that happen to agree closely must not make a
    /// noisy stack look significant.
    /// The pooled within-point variance and its degrees of freedom, Σ(n_p − 1).
    static func withinNoise(_ points: [[Double]]) -> (variance: Double, degrees: Double) {
        var squares = 0.0
        var degrees = 0.0
        for values in points where values.count >= 2 {
            let mean = values.reduce(0, +) / Double(values.count)
            squares += values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            degrees += Double(values.count - 1)
        }
        return (degrees > 0 ? squares / degrees : 0, degrees)
    }

    /// The most significant interval [k1, k2) strictly inside `range` against the rest of the range, when it
    /// passes `alpha` after correction for the number of intervals tried. Ranges longer than 200 points are
    /// not searched (the search is quadratic).
    private func bestInterval(in range: Range<Int>, prefix: [Statistics.Moments], within: Double) -> (Change, Change)? {
        guard range.count >= 3, range.count <= 200 else { return nil }
        let lo = range.lowerBound, hi = range.upperBound
        let pairs = Double((range.count - 1) * (range.count - 2) / 2)
        var bestPair: (k1: Int, k2: Int, shift: Statistics.Shift)? = nil
        for k1 in (lo + 1)..<(hi - 1) {
            for k2 in (k1 + 1)..<hi {
                let inside = prefix[k2] - prefix[k1]
                let outside = (prefix[k1] - prefix[lo]) + (prefix[hi] - prefix[k2])
                let shift = compareStatistic(outside, inside, within: within)
                if bestPair == nil || abs(shift.t) > abs(bestPair!.shift.t) + 1e-12 { bestPair = (k1, k2, shift) }
            }
        }
        guard var pair = bestPair else { return nil }
        pair.shift.p = Statistics.studentTwoSidedP(t: pair.shift.t, df: pair.shift.df)
        let p = min(1, pair.shift.p * pairs)
        guard p < alpha, large(pair.shift) else { return nil }
        let before = prefix[pair.k1] - prefix[lo]
        let inside = prefix[pair.k2] - prefix[pair.k1]
        let after = prefix[hi] - prefix[pair.k2]
        let start = Statistics.Shift(meanBefore: before.mean, meanAfter: inside.mean, t: pair.shift.t, df: pair.shift.df, p: pair.shift.p)
        let end = Statistics.Shift(meanBefore: inside.mean, meanAfter: after.mean, t: -pair.shift.t, df: pair.shift.df, p: pair.shift.p)
        return (Change(index: pair.k1, shift: start, pAdjusted: p), Change(index: pair.k2, shift: end, pAdjusted: p))
    }

    private func best(in range: Range<Int>, prefix: [Statistics.Moments], within: Double) -> Change? {
        guard range.count >= 2 else { return nil }
        var bestChange: Change? = nil
        let splits = Double(range.count - 1)
        for k in (range.lowerBound + 1)..<range.upperBound {
            let before = prefix[k] - prefix[range.lowerBound]
            let after = prefix[range.upperBound] - prefix[k]
            let shift = compareStatistic(before, after, within: within)
            if bestChange == nil || abs(shift.t) > abs(bestChange!.shift.t) + 1e-12 {
                bestChange = Change(index: k, shift: shift, pAdjusted: 1)
            }
        }
        // The p-value of the winner only: the search compares |t|.
        if var change = bestChange {
            change.shift.p = Statistics.studentTwoSidedP(t: change.shift.t, df: change.shift.df)
            change.pAdjusted = min(1, change.shift.p * splits)
            return change
        }
        return nil
    }
}

/// How a series moved: its piecewise-constant levels between change points, and the persistent rise or fall
/// that `top` reports.
public struct LevelHistory: Sendable {
    public struct Level: Sendable, Equatable {
        public var start: Int
        public var end: Int
        public var mean: Double
    }

    public var levels: [Level]
    public var changes: [ChangePointDetector.Change]

    /// Builds the levels of `points` (replicate values per point) split at `changes`.
    public init(points: [[Double]], changes: [ChangePointDetector.Change]) {
        self.changes = changes
        var bounds = [0] + changes.map(\.index) + [points.count]
        bounds = Array(Set(bounds)).sorted()
        var levels: [Level] = []
        for i in 0..<(bounds.count - 1) {
            let values = points[bounds[i]..<bounds[i + 1]].flatMap { $0 }
            let mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
            levels.append(Level(start: bounds[i], end: bounds[i + 1], mean: mean))
        }
        self.levels = levels
    }

    /// The earliest rise (or fall, for `growing == false`) after which every level stays beyond the level
    /// before it by `margin`: growth that is still there at the end. A leak that was later fixed has no
    /// persistent rise; its fix is a persistent fall.
    /// - Returns: the change and the total movement from the level before it to the last level.
    public func persistentMove(growing: Bool, margin: Double) -> (change: ChangePointDetector.Change, amount: Double)? {
        guard levels.count >= 2, let last = levels.last else { return nil }
        for change in changes {
            guard let levelIndex = levels.firstIndex(where: { $0.start == change.index }), levelIndex > 0 else { continue }
            let before = levels[levelIndex - 1].mean
            let after = levels[levelIndex...]
            // Growth must also end above every earlier level: a stack that only returns to a level it had
            // before (jitter between two shapes, a re-introduced allocation) has not grown. A fall only needs to
            // stay below the level before it: a leak that came and went is a fix.
            let highest = levels[..<levelIndex].map(\.mean).max() ?? before
            let holds = growing
                ? after.allSatisfy { $0.mean >= before + margin } && last.mean >= highest + margin
                : after.allSatisfy { $0.mean <= before - margin }
            if holds { return (change, last.mean - before) }
        }
        return nil
    }
}
