import Foundation

/// A test of growth that rises to the last point, judged against jemalloc's sampling noise: the test that makes a
/// short soak (a stack that grows 100x over 6 dumps of one run) significant, where Welch's t and Mann–Kendall's
/// normal approximation need 7-8 points.
///
/// Two parts, both needed:
/// - **Trend against sampling noise** (the Poisson test for trend). jemalloc samples an allocation every R bytes
///   on average, so a stack's value is R times a Poisson count of samples, with variance about m·R. Under the
///   null hypothesis of a constant level m̄, the least-squares contrast T = Σ cᵢ·yᵢ (cᵢ = i − mean i) has mean 0
///   and variance Σ cᵢ²·φ·R·m̄/kᵢ (kᵢ snapshots per point), so z = T/√Var is standard normal. φ ≥ 1 is the
///   dispersion: run-to-run variance over sampling variance where runs of a build say so, and the stack's own
///   scatter around its line when that is larger (then z is read against Student's t with L−2 degrees of
///   freedom: a quasi-Poisson test).
/// - **Ordering, whatever the noise.** Noise beyond sampling (a cache that fills and empties) could still line
///   up with time by chance. Kendall's inversions (pairs i < j with yⱼ ≤ yᵢ; ties count against the rise) have
///   an exact distribution when all orders are equally likely (Mahonian numbers), so the stretch must be
///   ordered beyond chance at `alpha`: with 6 points at most 1 inversion, with 5 none (0.0083).
///
/// The stretch is a suffix of the series (growth that persists to the last point) of at least `pointsNeeded`
/// and at most `longestStretch` points; the best start is taken and p multiplied by the starts tried.
///
/// Written here because no Swift package offers an exact Kendall distribution or a Poisson trend test; the normal
/// tail is Foundation's `erfc`, Student's t is `Statistics.studentTwoSidedP`.
public struct SteadyRise: Sendable, Equatable {
    /// The first point of the rise (its baseline); growth began at the next point.
    public var start: Int
    /// The value at `start`.
    public var baseline: Double
    /// The trend's z (or t) against the noise.
    public var z: Double
    /// One-sided p of the trend, corrected for the starts tried.
    public var p: Double

    /// Longer rises are left to the change-point and Mann–Kendall tests, which have power there.
    public static let longestStretch = 30

    /// The fewest points for which a perfect ordering alone (1/L!) is below `alpha`.
    public static func pointsNeeded(alpha: Double) -> Int {
        var length = 2
        var orderings = 2.0
        while 1 / orderings >= alpha && length < longestStretch {
            length += 1
            orderings *= Double(length)
        }
        return length
    }

    /// P(inversions ≤ k) among the L! orders of L distinct values, for L ≤ `longestStretch`: row L of the
    /// cumulative Mahonian distribution.
    static let orderingTail: [[Double]] = {
        var rows: [[Double]] = [[1], [1]]
        var density: [Double] = [1]
        for length in 2...longestStretch {
            let width = length * (length - 1) / 2 + 1
            var next = [Double](repeating: 0, count: width)
            for (k, p) in density.enumerated() where p > 0 {
                for extra in 0..<length { next[k + extra] += p / Double(length) }
            }
            density = next
            var running = 0.0
            rows.append(next.map { running += $0; return min(running, 1) })
        }
        return rows
    }()

    /// P(inversions ≤ k) for L values in random order.
    static func orderingP(length: Int, inversions: Int) -> Double {
        guard length >= 2, length < orderingTail.count else { return 1 }
        let row = orderingTail[length]
        return row[min(max(inversions, 0), row.count - 1)]
    }

    /// Tests the rise (or fall, `growing == false`) that ends at the last point.
    /// - Parameters:
    ///   - means: the point means.
    ///   - snapshots: the number of snapshots behind each mean (the mean of k has 1/k of the variance).
    ///   - samplingInterval: jemalloc's R in bytes (0: not a sampled byte metric, and no test is made).
    ///   - dispersion: observed over sampling variance, from replicate runs where known (1 when unknown).
    /// - Returns: nil when no suffix long enough is ordered beyond chance.
    public static func test(
        means: [Double], snapshots: [Int], samplingInterval: Double, dispersion: Double, growing: Bool, alpha: Double
    ) -> SteadyRise? {
        let n = means.count
        let needed = pointsNeeded(alpha: alpha)
        guard samplingInterval > 0, n >= needed, snapshots.count == n else { return nil }
        let sign: Double = growing ? 1 : -1
        let y = means.map { sign * $0 }
        let firstStart = max(0, n - longestStretch)
        let starts = n - needed - firstStart + 1
        var best: SteadyRise? = nil
        for start in firstStart...(n - needed) {
            let length = n - start
            var inversions = 0
            for i in start..<(n - 1) {
                for j in (i + 1)..<n where y[j] <= y[i] { inversions += 1 }
            }
            guard orderingP(length: length, inversions: inversions) < alpha else { continue }
            let (z, p) = trend(y: y, means: means, snapshots: snapshots, start: start, samplingInterval: samplingInterval, dispersion: dispersion)
            if let current = best, current.p <= p { continue }
            best = SteadyRise(start: start, baseline: means[start], z: z, p: p)
        }
        guard var result = best else { return nil }
        result.p = min(1, result.p * Double(starts))
        return result
    }

    /// The Poisson trend test over `y[start...]` (already signed so that growth is positive).
    private static func trend(
        y: [Double], means: [Double], snapshots: [Int], start: Int, samplingInterval: Double, dispersion: Double
    ) -> (z: Double, p: Double) {
        let n = y.count
        let length = Double(n - start)
        let centre = (length - 1) / 2
        let level = means[start...].reduce(0) { $0 + abs($1) } / length
        // A stack with no samples has the variance of about one: its true level may be up to R.
        let unit = samplingInterval * max(level, samplingInterval)
        var contrast = 0.0
        var contrastSquares = 0.0
        var weighted = 0.0
        for i in start..<n {
            let c = Double(i - start) - centre
            contrast += c * y[i]
            contrastSquares += c * c
            weighted += c * c / Double(max(snapshots[i], 1))
        }
        // The stack's own scatter around its line, in units of sampling variance.
        let slope = contrast / contrastSquares
        let mean = y[start...].reduce(0, +) / length
        var residual = 0.0
        for i in start..<n {
            let fitted = mean + slope * (Double(i - start) - centre)
            residual += (y[i] - fitted) * (y[i] - fitted)
        }
        let own = length > 2 ? residual / (length - 2) / unit : 0
        let known = max(dispersion, 1)
        let phi = max(known, own)
        let z = contrast / (phi * unit * weighted).squareRoot()
        guard z.isFinite else { return (0, 1) }
        if own > known {
            return (z, z > 0 ? Statistics.studentTwoSidedP(t: z, df: length - 2) / 2 : 1)
        }
        return (z, 0.5 * erfc(z / 2.0.squareRoot()))
    }
}
