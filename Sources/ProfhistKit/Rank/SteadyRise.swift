import Foundation

/// A test of growth that rises at every point to the end, judged against jemalloc's sampling noise: the test
/// that makes a short soak (a stack that grows 100x over 6 dumps of one run) significant, where Welch's t and
/// Mann–Kendall's normal approximation need 7-8 points.
///
/// jemalloc samples an allocation every R bytes on average, so a stack's value is R times a Poisson count of
/// samples: a stack of mean m has variance about m·R (`ChangePointDetector.samplingInterval`). Under the null
/// hypothesis that the level is constant, the difference of two points is noise with variance v₁ + v₂, and
/// steps that share no point are independent. So when the last L points rise at every step, each step at least
/// z standard deviations, P(that) ≤ Φ̄(z)^K for the K = ⌈(L−1)/2⌉ disjoint steps. Where runs of a build differ
/// more than sampling explains, the variance is scaled up by that dispersion (quasi-Poisson).
///
/// Noise beyond sampling (a cache that fills and empties, a workload that differs between snapshots) is
/// guarded by the ordering itself: whatever the noise, L exchangeable values come out in increasing order with
/// probability 1/L!, so the rise must be at least as long as that makes 1/L! < alpha (5 points at alpha 0.01,
/// 4 at 0.05). A jittering stack therefore needs both an improbable ordering and steps that sampling cannot
/// explain.
///
/// Written here because no Swift package offers a test of ordered alternatives under a sampling model; the
/// normal tail is Foundation's `erfc`.
public struct SteadyRise: Sendable, Equatable {
    /// The first point of the rise (its baseline); the growth began at the next point.
    public var start: Int
    /// The value at `start`.
    public var baseline: Double
    /// The smallest step, in standard deviations of sampling noise.
    public var smallestStep: Double
    /// P under the constant-level sampling model, corrected for the starts that could have been chosen.
    public var p: Double

    /// The fewest rising points for which chance ordering alone (1/L!) is below `alpha`.
    public static func pointsNeeded(alpha: Double) -> Int {
        var length = 2
        var orderings = 2.0
        while 1 / orderings >= alpha && length < 20 {
            length += 1
            orderings *= Double(length)
        }
        return length
    }

    /// Tests the rise (or fall, `growing == false`) that ends at the last point.
    /// - Parameters:
    ///   - means: the point means.
    ///   - snapshots: the number of snapshots behind each mean (the mean of k has 1/k of the variance).
    ///   - samplingInterval: jemalloc's R in bytes (0: not a sampled byte metric, and no test is made).
    ///   - dispersion: observed over sampling variance (1 or more), from replicate runs where known.
    /// - Returns: nil when the series does not rise at every one of the last `pointsNeeded` steps.
    public static func test(
        means: [Double], snapshots: [Int], samplingInterval: Double, dispersion: Double, growing: Bool, alpha: Double
    ) -> SteadyRise? {
        let n = means.count
        let needed = pointsNeeded(alpha: alpha)
        guard samplingInterval > 0, n >= needed, snapshots.count == n else { return nil }
        let sign: Double = growing ? 1 : -1
        var start = n - 1
        while start > 0 && sign * means[start - 1] < sign * means[start] { start -= 1 }
        let length = n - start
        guard length >= needed else { return nil }
        let scale = max(dispersion, 1) * samplingInterval
        // A point with no sample has the variance of one sample: its true level may be up to about R.
        func variance(_ i: Int) -> Double { scale * max(abs(means[i]), samplingInterval) / Double(max(snapshots[i], 1)) }
        var smallest = Double.infinity
        for i in start..<(n - 1) {
            let z = sign * (means[i + 1] - means[i]) / (variance(i) + variance(i + 1)).squareRoot()
            smallest = min(smallest, z)
        }
        let disjointSteps = Double((length - 1 + 1) / 2)
        let tail = 0.5 * erfc(smallest / 2.0.squareRoot())
        // Any start from 0 to n − needed could have been the one found.
        let starts = Double(n - needed + 1)
        let p = min(1, pow(tail, disjointSteps) * starts)
        return SteadyRise(start: start, baseline: means[start], smallestStep: smallest, p: p)
    }
}
