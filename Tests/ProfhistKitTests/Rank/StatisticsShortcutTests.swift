import Foundation
import Testing

@testable import ProfhistKit

/// The faster forms of the statistics behind `top` must give the very numbers of their definitions, bit for bit:
/// `top`'s output may not change with them.
@Suite("statistics shortcuts equal their definitions")
struct StatisticsShortcutTests {
    /// Series with the shapes that matter: zeros, constants, the shortest series, steps, ramps (at the start,
    /// in the middle, at the end), noise at several scales, ties, signed zeros, huge and tiny values.
    static var series: [[Double]] {
        var generator = SplitMix64(seed: 42)
        var all: [[Double]] = [[0, 0, 0], [5, 5, 5], [1, 2, 3], [3, 2, 1], [0, 0, 7], [0, -0.0, 0, -0.0, 1], [-0.0, 0, 0]]
        all.append(Array(repeating: 0, count: 10))
        all.append(Array(repeating: 123.456, count: 40))
        all.append((0..<50).map { i -> Double in i < 20 ? 0 : 1000 })
        all.append((0..<50).map { i -> Double in i < 49 ? 10 : 11 })
        all.append((0..<60).map { i -> Double in Double(i) })
        all.append((0..<60).map { i -> Double in i < 30 ? 5 : Double(i - 30) * 3 + 5 })
        all.append((0..<60).map { i -> Double in i < 55 ? 5 : Double(i - 55) * 100 })
        all.append((0..<30).map { i -> Double in i % 2 == 0 ? 1 : 2 })
        all.append((0..<30).map { i -> Double in Double((i * 7) % 5) })
        all.append((0..<40).map { i -> Double in 1e15 + Double(i % 3) })
        all.append((0..<40).map { i -> Double in 1e-300 * Double(i) })
        all.append((0..<40).map { i -> Double in -Double(i * i) })
        for n in [3, 4, 5, 10, 37, 200, 400] {
            // Noise, integer noise (many ties), a noisy ramp from a late onset, a noisy step, multiplicative noise.
            all.append((0..<n).map { _ in generator.unit() * 1000 })
            all.append((0..<n).map { _ in Double(generator.next(below: 4)) })
            let onset = n / 3
            all.append((0..<n).map { i -> Double in (i < onset ? 0 : Double(i - onset) * 50) + generator.unit() * 300 })
            all.append((0..<n).map { i -> Double in (i < onset ? 100 : 900) + generator.unit() * 100 })
            all.append((0..<n).map { i -> Double in Double(i) * 88 * (0.4 + generator.unit()) })
            // Means of five integer runs, as build points are.
            all.append((0..<n).map { i -> Double in (Double(i) * 88 * (0.4 + generator.unit())).rounded() / 5 })
        }
        return all
    }

    @Test("the pruned trend onset equals the full search on every series")
    func trendOnset() {
        for y in Self.series + [[1, .nan, 3, 4], [0, .infinity, 1, 2]] {
            let reference = Statistics.trendOnsetByDefinition(y)
            let pruned = Statistics.trendOnsetPruned(y)
            #expect(pruned.index == reference.index, "series \(y.prefix(8))…")
            #expect(pruned.baseline.bitPattern == reference.baseline.bitPattern || (pruned.baseline.isNaN && reference.baseline.isNaN))
            let shortcut = Statistics.trendOnset(y)
            #expect(shortcut.index == reference.index && shortcut.baseline.bitPattern == reference.baseline.bitPattern
                || (shortcut.baseline.isNaN && reference.baseline.isNaN))
        }
        #expect(Statistics.trendOnset([7]) == (0, 7))
        #expect(Statistics.trendOnset([]) == (0, 0))
    }

    @Test("Mann–Kendall's S by ranks equals the sum of signs over all pairs")
    func mannKendall() {
        for y in Self.series + [[.infinity, 1, -.infinity, 1, .infinity]] where y.count >= 2 {
            #expect(Double(Statistics.mannKendallSByRanks(y)) == Statistics.mannKendallSByPairs(y), "series \(y.prefix(8))…")
        }
        // With NaN the pairwise sum is used (NaN compares false both ways).
        #expect(Statistics.mannKendall([1, .nan, 3, 4]).s == Statistics.mannKendallSByPairs([1, .nan, 3, 4]))
    }

    @Test("a shift's p-value computed apart equals the one computed with it")
    func shiftWithoutP() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let before = Statistics.Moments((0..<generator.next(below: 5)).map { _ in generator.unit() * 100 })
            let after = Statistics.Moments((0..<generator.next(below: 5)).map { _ in generator.unit() * 100 + 30 })
            let floor = generator.unit() * 10
            let full = Statistics.shift(before: before, after: after, floorBefore: floor, degreesBefore: 4, floorAfter: floor, degreesAfter: .infinity)
            var statistic = Statistics.shiftStatistic(
                before: before, after: after, floorBefore: floor, degreesBefore: 4, floorAfter: floor, degreesAfter: .infinity)
            statistic.p = Statistics.studentTwoSidedP(t: statistic.t, df: statistic.df)
            #expect(statistic == full)
        }
    }

    @Test("the best split, with its p-value computed for the winner only, equals a search that computes every p")
    func bestSplit() {
        var generator = SplitMix64(seed: 3)
        var detector = ChangePointDetector()
        detector.samplingInterval = 512
        for y in Self.series where y.allSatisfy(\.isFinite) {
            // Three replicates per point around the series' value.
            let points = y.map { value in (0..<3).map { _ in value + generator.unit() * 10 } }
            let prefix = ChangePointDetector.prefixMoments(points)
            let noise = ChangePointDetector.withinNoise(points)
            var search = detector
            search.withinDegrees = noise.degrees
            var reference: ChangePointDetector.Change? = nil
            for k in 1..<points.count {
                let shift = search.compare(prefix[k] - prefix[0], prefix[points.count] - prefix[k], within: noise.variance)
                if reference == nil || abs(shift.t) > abs(reference!.shift.t) + 1e-12 {
                    reference = .init(index: k, shift: shift, pAdjusted: min(1, shift.p * Double(points.count - 1)))
                }
            }
            #expect(detector.bestSplit(points) == reference)
        }
    }
}
