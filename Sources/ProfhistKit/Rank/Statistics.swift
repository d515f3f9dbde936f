import Foundation

/// The statistics behind `top`, `diff` and `check`, as plain functions so the SQL aggregates and the ranking
/// share one implementation. The README's "top" section says how `top` uses them.
///
/// Written by hand: no package on this platform provides Student's t distribution (swift-numerics has the
/// gamma function but not the incomplete beta function that the t CDF needs).
public enum Statistics {
    // MARK: - Distributions

    /// Two-sided p-value of Student's t with `df` degrees of freedom: P(|T| ≥ |t|).
    public static func studentTwoSidedP(t: Double, df: Double) -> Double {
        guard df > 0, !t.isNaN else { return 1 }
        if t.isInfinite { return 0 }
        let x = df / (df + t * t)
        return min(1, max(0, regularizedIncompleteBeta(a: df / 2, b: 0.5, x: x)))
    }

    /// I_x(a, b), by the continued fraction of Numerical Recipes (Lentz's method), accurate to ~1e-12.
    public static func regularizedIncompleteBeta(a: Double, b: Double, x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        let front = exp(logFront)
        if x < (a + 1) / (a + b + 2) {
            return front * betaContinuedFraction(a: a, b: b, x: x) / a
        }
        return 1 - front * betaContinuedFraction(a: b, b: a, x: 1 - x) / b
    }

    private static func betaContinuedFraction(a: Double, b: Double, x: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...300 {
            let m = Double(m)
            let m2 = 2 * m
            var aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-14 { break }
        }
        return h
    }

    // MARK: - Slope

    /// Least-squares slope of y over x.
    public static func slope(x: [Double], y: [Double]) -> Double {
        let n = Double(x.count)
        guard x.count >= 2 else { return 0 }
        let sx = x.reduce(0, +), sy = y.reduce(0, +)
        let sxy = zip(x, y).reduce(0) { $0 + $1.0 * $1.1 }
        let sxx = x.reduce(0) { $0 + $1 * $1 }
        let denominator = n * sxx - sx * sx
        return denominator == 0 ? 0 : (n * sxy - sx * sy) / denominator
    }

    /// The slope per point over x = 0..N-1 from sparse sums: Σy and Σxy over the points that have a value
    /// (absent points are 0 and add nothing), since Σx and Σx² depend on N alone.
    public static func sparseSlope(sumY: Double, sumXY: Double, points: Int) -> Double {
        let n = Double(points)
        guard points >= 2 else { return 0 }
        let sx = n * (n - 1) / 2
        let sxx = (n - 1) * n * (2 * n - 1) / 6
        let denominator = n * sxx - sx * sx
        return denominator == 0 ? 0 : (n * sumXY - sx * sumY) / denominator
    }

    // MARK: - Two-sample test

    /// The result of comparing the values before and after a split.
    public struct Shift: Sendable, Equatable {
        public var meanBefore: Double
        public var meanAfter: Double
        public var t: Double
        public var df: Double
        /// Two-sided p-value of this split alone (not corrected for the search over splits).
        public var p: Double
    }

    /// Summary of one sample: count, mean and unbiased variance.
    public struct Moments: Sendable, Equatable {
        public var count: Double = 0
        public var sum: Double = 0
        public var sumOfSquares: Double = 0

        public init() {}

        public init(_ values: [Double]) {
            for value in values { add(value) }
        }

        public mutating func add(_ value: Double) {
            count += 1
            sum += value
            sumOfSquares += value * value
        }

        public var mean: Double { count > 0 ? sum / count : 0 }
        public var variance: Double {
            guard count > 1 else { return 0 }
            return max(0, (sumOfSquares - sum * sum / count) / (count - 1))
        }

        public static func + (a: Moments, b: Moments) -> Moments {
            var result = Moments()
            result.count = a.count + b.count
            result.sum = a.sum + b.sum
            result.sumOfSquares = a.sumOfSquares + b.sumOfSquares
            return result
        }

        public static func - (a: Moments, b: Moments) -> Moments {
            var result = Moments()
            result.count = a.count - b.count
            result.sum = a.sum - b.sum
            result.sumOfSquares = a.sumOfSquares - b.sumOfSquares
            return result
        }
    }

    /// Compares two samples for a shift in mean.
    ///
    /// Welch's t when both sides have at least two values; otherwise Student's t with the pooled variance (a
    /// single value has no spread of its own). Each side's variance is floored at `varianceFloor` so a side
    /// that is constant (a stack that is 0 in every run before a leak) gives a finite, large t instead of ∞ or
    /// NaN. With fewer than three values in all, nothing can be said: p = 1.
    public static func shift(before: Moments, after: Moments, varianceFloor: Double, floorDegrees: Double = .infinity) -> Shift {
        shift(
            before: before, after: after, floorBefore: varianceFloor, degreesBefore: floorDegrees, floorAfter: varianceFloor,
            degreesAfter: floorDegrees)
    }

    /// As above, with a floor per side (a side's sampling noise depends on its own level) and the degrees of
    /// freedom each floor was estimated with (infinity for a known constant).
    public static func shift(
        before: Moments, after: Moments, floorBefore: Double, degreesBefore: Double, floorAfter: Double, degreesAfter: Double
    ) -> Shift {
        var result = shiftStatistic(
            before: before, after: after, floorBefore: floorBefore, degreesBefore: degreesBefore, floorAfter: floorAfter,
            degreesAfter: degreesAfter)
        result.p = studentTwoSidedP(t: result.t, df: result.df)
        return result
    }

    /// The shift's means, t and degrees of freedom, with `p` left at 1: the p-value costs a continued fraction,
    /// and a search over splits needs it only for the split with the largest |t|. `studentTwoSidedP(t:df:)` of
    /// the result is the `p` that `shift` reports (a degenerate comparison has t = 0, df = 0, hence p = 1).
    static func shiftStatistic(
        before: Moments, after: Moments, floorBefore: Double, degreesBefore: Double, floorAfter: Double, degreesAfter: Double
    ) -> Shift {
        let m1 = before.mean, m2 = after.mean
        let n1 = before.count, n2 = after.count
        guard n1 >= 1, n2 >= 1, n1 + n2 >= 3 else { return Shift(meanBefore: m1, meanAfter: m2, t: 0, df: 0, p: 1) }
        let floor1 = max(floorBefore, 1e-12)
        let floor2 = max(floorAfter, 1e-12)
        let difference = m2 - m1
        if n1 >= 2 && n2 >= 2 {
            // Welch–Satterthwaite, each side's variance carrying its own degrees of freedom: a side whose
            // variance is a floor (the pooled run-to-run noise, or the sampling model) has the floor's.
            let useFloor1 = before.variance < floor1
            let useFloor2 = after.variance < floor2
            let a = (useFloor1 ? floor1 : before.variance) / n1
            let b = (useFloor2 ? floor2 : after.variance) / n2
            let t = difference / (a + b).squareRoot()
            let df1 = useFloor1 ? max(degreesBefore, n1 - 1) : n1 - 1
            let df2 = useFloor2 ? max(degreesAfter, n2 - 1) : n2 - 1
            let df = min((a + b) * (a + b) / (a * a / df1 + b * b / df2), 1e6)
            return Shift(meanBefore: m1, meanAfter: m2, t: t, df: df, p: 1)
        }
        let df = n1 + n2 - 2
        let pooled = max(((n1 - 1) * before.variance + (n2 - 1) * after.variance) / df, max(floor1, floor2))
        let t = difference / (pooled * (1 / n1 + 1 / n2)).squareRoot()
        return Shift(meanBefore: m1, meanAfter: m2, t: t, df: df, p: 1)
    }

    /// P(X ≥ k) for X ~ Binomial(n, p), through the incomplete beta function (k and n may be fractional).
    public static func binomialUpperTail(k: Double, n: Double, p: Double) -> Double {
        guard k > 0 else { return 1 }
        guard k <= n, p > 0 else { return 0 }
        if p >= 1 { return 1 }
        return min(1, max(0, regularizedIncompleteBeta(a: k, b: n - k + 1, x: p)))
    }

    // MARK: - Trend

    /// The Mann–Kendall trend test over values in order: S = Σ_{i<j} sign(y_j − y_i), its variance corrected for
    /// ties, and the two-sided p-value of Z = (S − sign S)/√Var(S) from the normal distribution.
    public static func mannKendall(_ y: [Double]) -> (s: Double, z: Double, p: Double) {
        let n = y.count
        guard n >= 3 else { return (0, 0, 1) }
        // S counts pairs, an integer: counted in O(n log n) it is the same number as the O(n²) sum of signs
        // (exact in a Double below 2^53). NaN compares false both ways, which ranks cannot express: the pairwise
        // sum then.
        let s = y.contains(where: \.isNaN) ? mannKendallSByPairs(y) : Double(mannKendallSByRanks(y))
        var ties = 0.0
        var counts: [Double: Double] = [:]
        for value in y { counts[value, default: 0] += 1 }
        for t in counts.values where t > 1 { ties += t * (t - 1) * (2 * t + 5) }
        let nn = Double(n)
        let variance = (nn * (nn - 1) * (2 * nn + 5) - ties) / 18
        guard variance > 0 else { return (s, 0, 1) }
        let z = s == 0 ? 0 : (s - (s > 0 ? 1 : -1)) / variance.squareRoot()
        return (s, z, min(1, erfc(abs(z) / 2.0.squareRoot())))
    }

    /// Mann–Kendall's S = Σ_{i<j} sign(y_j − y_i) by its definition, O(n²).
    static func mannKendallSByPairs(_ y: [Double]) -> Double {
        let n = y.count
        var s = 0.0
        for i in 0..<(n - 1) {
            for j in (i + 1)..<n {
                if y[j] > y[i] { s += 1 } else if y[j] < y[i] { s -= 1 }
            }
        }
        return s
    }

    /// Mann–Kendall's S for values without NaN, in O(n log n): each value's rank among the distinct values
    /// (equal values, 0 and −0 included, share one), then, in order, how many earlier values rank below and
    /// above it (a Fenwick tree of counts per rank).
    static func mannKendallSByRanks(_ y: [Double]) -> Int {
        let n = y.count
        let order = y.indices.sorted { y[$0] < y[$1] }
        var rank = [Int](repeating: 0, count: n)
        var distinct = 0
        for (position, index) in order.enumerated() {
            if position > 0 && y[order[position - 1]] < y[index] { distinct += 1 }
            rank[index] = distinct + 1
        }
        var tree = [Int](repeating: 0, count: distinct + 2)
        var s = 0
        for (seen, value) in rank.enumerated() {
            // Earlier values ranking strictly below it count +1, strictly above it −1, equal ones 0.
            var below = 0
            var i = value - 1
            while i > 0 {
                below += tree[i]
                i -= i & -i
            }
            var atOrBelow = 0
            i = value
            while i > 0 {
                atOrBelow += tree[i]
                i -= i & -i
            }
            s += below - (seen - atOrBelow)
            i = value
            while i < tree.count {
                tree[i] += 1
                i += i & -i
            }
        }
        return s
    }

    /// The most points `trendOnsetPruned` takes: beyond this, Σx² over 0..<n no longer sums exactly in a Double.
    static let exactSumLimit = 100_000

    /// Where a rise (or fall) that continues to the end began: the k minimising the squared error of "flat
    /// before k, a straight line from k on" over the point means (k = 0: a line over the whole series).
    /// - Returns: k and the baseline (mean before k; the line's start for k = 0).
    public static func trendOnset(_ y: [Double]) -> (index: Int, baseline: Double) {
        let n = y.count
        guard n >= 3 else { return (0, y.first ?? 0) }
        guard n <= exactSumLimit else { return trendOnsetByDefinition(y) }
        return trendOnsetPruned(y)
    }

    /// `trendOnset` as written first: every k fitted in full, O(n²) with arrays per k. The reference that
    /// `trendOnsetPruned` must equal bit for bit.
    static func trendOnsetByDefinition(_ y: [Double]) -> (index: Int, baseline: Double) {
        let n = y.count
        guard n >= 3 else { return (0, y.first ?? 0) }
        var best = (index: 0, error: Double.infinity, baseline: y[0])
        for k in 0...(n - 2) {
            let flat = y[0..<k]
            let mean = flat.isEmpty ? 0 : flat.reduce(0, +) / Double(flat.count)
            var error = flat.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            let x = (k..<n).map(Double.init)
            let tail = Array(y[k..<n])
            let b = slope(x: x, y: tail)
            let a = tail.reduce(0, +) / Double(tail.count) - b * x.reduce(0, +) / Double(x.count)
            for (xi, yi) in zip(x, tail) { error += (yi - a - b * xi) * (yi - a - b * xi) }
            // Prefer the later onset on (near) ties: a flat stretch explained as flat, not as a line.
            let tolerance = best.error.isFinite ? 1e-9 * max(1, best.error) : 0
            if error < best.error - tolerance || (abs(error - best.error) <= tolerance && k > best.index) {
                best = (k, error, k == 0 ? a : mean)
            }
        }
        return (best.index, best.baseline)
    }

    /// `trendOnsetByDefinition` with the same floating-point operations in the same order for every k it
    /// evaluates, without arrays, and skipping the k that provably cannot become the best:
    ///
    /// - The error of k is a running sum of squares, and adding a non-negative number never lowers a rounded
    ///   sum. Once the running sum passes `best + 2·tolerance`, the final error is above it too, so neither
    ///   test of the update (`error < best − tolerance`, `|error − best| ≤ tolerance`) can hold: the rest of
    ///   k is skipped. (NaN never passes the limit, so a NaN series is evaluated in full, as before.)
    /// - Σx and Σx² over k..<n are integers below 2^53 for n ≤ 100,000, so every order of summing them gives
    ///   the same Double: they come from closed forms.
    static func trendOnsetPruned(_ y: [Double]) -> (index: Int, baseline: Double) {
        let n = y.count
        guard n >= 3 else { return (0, y.first ?? 0) }
        return y.withUnsafeBufferPointer { y in
            var best = (index: 0, error: Double.infinity, baseline: y[0])
            var prefix = 0.0  // y[0..<k] summed left to right: flat.reduce(0, +)
            for k in 0...(n - 2) {
                if k > 0 { prefix += y[k - 1] }
                let mean = k == 0 ? 0 : prefix / Double(k)
                let tolerance = best.error.isFinite ? 1e-9 * max(1, best.error) : 0
                let limit = best.error.isFinite ? best.error + 2 * tolerance : Double.infinity
                var error = 0.0
                var beyond = false
                for i in 0..<k {
                    error += (y[i] - mean) * (y[i] - mean)
                    if error > limit {
                        beyond = true
                        break
                    }
                }
                if beyond { continue }
                // slope(x: k..<n, y: y[k..<n]), term by term.
                let count = n - k
                let m = Double(count)
                var sy = 0.0
                var sxy = 0.0
                for i in k..<n {
                    sy += y[i]
                    sxy += Double(i) * y[i]
                }
                let first = k, last = n - 1
                let sx = Double((first + last) * count / 2)
                let sxx = Double(sumOfSquares(upTo: last) - sumOfSquares(upTo: first - 1))
                let denominator = m * sxx - sx * sx
                let b = denominator == 0 ? 0 : (m * sxy - sx * sy) / denominator
                let a = sy / m - b * sx / m
                for i in k..<n {
                    let xi = Double(i)
                    error += (y[i] - a - b * xi) * (y[i] - a - b * xi)
                    if error > limit {
                        beyond = true
                        break
                    }
                }
                if beyond { continue }
                if error < best.error - tolerance || (abs(error - best.error) <= tolerance && k > best.index) {
                    best = (k, error, k == 0 ? a : mean)
                }
            }
            return (best.index, best.baseline)
        }
    }

    /// 0² + 1² + ... + n² (0 for n < 0).
    private static func sumOfSquares(upTo n: Int) -> Int { n < 0 ? 0 : n * (n + 1) * (2 * n + 1) / 6 }

    // MARK: - False discovery rate

    /// Benjamini–Hochberg adjusted p-values (q-values), in the order given.
    public static func benjaminiHochberg(_ pValues: [Double]) -> [Double] {
        let m = pValues.count
        guard m > 0 else { return [] }
        let order = pValues.indices.sorted { pValues[$0] < pValues[$1] }
        var adjusted = [Double](repeating: 1, count: m)
        var running = 1.0
        for rank in stride(from: m, through: 1, by: -1) {
            let index = order[rank - 1]
            running = min(running, pValues[index] * Double(m) / Double(rank))
            adjusted[index] = min(1, running)
        }
        return adjusted
    }
}
