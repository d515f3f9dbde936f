import Foundation

/// Finds level shifts in a series of points, each with replicate values (the runs of a build), by binary
/// segmentation with Welch's t: the best split of a range, kept when it is significant after correcting for
/// the number of splits tried and large enough to matter, then the same inside each side.
public struct ChangePointDetector: Sendable {
    /// Largest corrected p-value for a split to count.
    public var alpha: Double = 0.01
    /// Smallest shift between segment means to count (absolute units of the metric).
    public var minimumShift: Double = 0
    /// Per-value noise floor: a segment's standard deviation is at least `relativeNoise` × the larger mean...
    public var relativeNoise: Double = 0.01
    /// ...and at least this absolute amount (sampling granularity).
    public var absoluteNoise: Double = 0.5
    /// At most this many change points per series.
    public var maximumChanges = 6

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
        return best(in: 0..<points.count, prefix: prefix)
    }

    /// Every significant change point, sorted by index.
    public func changes(_ points: [[Double]]) -> [Change] {
        let prefix = ChangePointDetector.prefixMoments(points)
        var found: [Change] = []
        var pending = [0..<points.count]
        while let range = pending.popLast(), found.count < maximumChanges {
            guard range.count >= 2, let change = best(in: range, prefix: prefix) else { continue }
            guard change.pAdjusted < alpha, abs(change.shift.meanAfter - change.shift.meanBefore) >= minimumShift else { continue }
            found.append(change)
            pending.append(range.lowerBound..<change.index)
            pending.append(change.index..<range.upperBound)
        }
        return found.sorted { $0.index < $1.index }
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

    private func best(in range: Range<Int>, prefix: [Statistics.Moments]) -> Change? {
        guard range.count >= 2 else { return nil }
        var bestChange: Change? = nil
        let splits = Double(range.count - 1)
        for k in (range.lowerBound + 1)..<range.upperBound {
            let before = prefix[k] - prefix[range.lowerBound]
            let after = prefix[range.upperBound] - prefix[k]
            let scale = max(abs(before.mean), abs(after.mean))
            let floor = pow(relativeNoise * scale, 2) + absoluteNoise * absoluteNoise
            let shift = Statistics.shift(before: before, after: after, varianceFloor: floor)
            if bestChange == nil || abs(shift.t) > abs(bestChange!.shift.t) + 1e-12 {
                bestChange = Change(index: k, shift: shift, pAdjusted: min(1, shift.p * splits))
            }
        }
        return bestChange
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
        for (j, change) in changes.enumerated() {
            guard let levelIndex = levels.firstIndex(where: { $0.start == change.index }), levelIndex > 0 else { continue }
            let before = levels[levelIndex - 1].mean
            let after = levels[levelIndex...]
            let holds = growing
                ? after.allSatisfy { $0.mean >= before + margin } : after.allSatisfy { $0.mean <= before - margin }
            _ = j
            if holds { return (change, last.mean - before) }
        }
        return nil
    }
}
