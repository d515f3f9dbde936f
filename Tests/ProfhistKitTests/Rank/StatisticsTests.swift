import Foundation
import Testing

@testable import ProfhistKit

@Suite("statistics")
struct StatisticsTests {
    @Test("Student's t two-sided p-values match tables")
    func studentT() {
        // t_{0.975, 10} = 2.228, t_{0.995, 5} = 4.032, t_{0.975, 1} = 12.706, t_{0.975, ∞} ≈ 1.960
        #expect(abs(Statistics.studentTwoSidedP(t: 2.228139, df: 10) - 0.05) < 1e-5)
        #expect(abs(Statistics.studentTwoSidedP(t: 4.032143, df: 5) - 0.01) < 1e-5)
        #expect(abs(Statistics.studentTwoSidedP(t: -12.7062, df: 1) - 0.05) < 1e-4)
        #expect(abs(Statistics.studentTwoSidedP(t: 1.959964, df: 1e7) - 0.05) < 1e-5)
        #expect(Statistics.studentTwoSidedP(t: 0, df: 3) == 1)
        #expect(Statistics.studentTwoSidedP(t: .infinity, df: 3) == 0)
        #expect(Statistics.studentTwoSidedP(t: 3, df: 0) == 1)
    }

    @Test("the sparse slope equals least squares over the dense series with zeros")
    func sparseSlope() {
        let dense: [Double] = [0, 0, 5, 0, 9, 12, 0, 20]
        let x = dense.indices.map(Double.init)
        var sumY = 0.0, sumXY = 0.0
        for (i, y) in dense.enumerated() where y != 0 {
            sumY += y
            sumXY += Double(i) * y
        }
        #expect(abs(Statistics.sparseSlope(sumY: sumY, sumXY: sumXY, points: dense.count) - Statistics.slope(x: x, y: dense)) < 1e-12)
        #expect(Statistics.sparseSlope(sumY: 3, sumXY: 0, points: 1) == 0)
    }

    @Test("Benjamini–Hochberg matches a hand computation")
    func benjaminiHochberg() {
        let q = Statistics.benjaminiHochberg([0.01, 0.04, 0.03, 0.005])
        // sorted: 0.005 (×4/1 = 0.02), 0.01 (×4/2 = 0.02), 0.03 (×4/3 = 0.04), 0.04 (×4/4 = 0.04)
        #expect(q.map { ($0 * 1e6).rounded() / 1e6 } == [0.02, 0.04, 0.04, 0.02])
    }

    @Test("a segment with zero variance gives a finite, significant shift; identical segments give p = 1")
    func zeroVariance() {
        let before = Statistics.Moments([0, 0, 0, 0, 0, 0])
        let after = Statistics.Moments([1_000_000, 1_010_000, 990_000])
        let shift = Statistics.shift(before: before, after: after, varianceFloor: 0.25)
        #expect(shift.t.isFinite && shift.p.isFinite)
        #expect(shift.p < 1e-4)
        let same = Statistics.shift(before: Statistics.Moments([5, 5, 5]), after: Statistics.Moments([5, 5]), varianceFloor: 0.25)
        #expect(same.p == 1)
        // Two values in all: nothing can be said.
        #expect(Statistics.shift(before: Statistics.Moments([0]), after: Statistics.Moments([9]), varianceFloor: 0.25).p == 1)
    }

    @Test("binary segmentation dates a step, a ramp's start, and tells a fixed leak from growth")
    func changePoints() {
        var detector = ChangePointDetector()
        detector.minimumShift = 10
        func series(_ means: [Double]) -> [[Double]] { means.map { [$0 - 1, $0, $0 + 1] } }
        let step = series([0, 0, 0, 0, 100, 100, 100, 100])
        let stepHistory = LevelHistory(points: step, changes: detector.changes(step))
        #expect(stepHistory.persistentMove(growing: true, margin: 10)?.change.index == 4)
        let ramp = series([5, 5, 5, 5, 5, 50, 100, 150, 200, 250])
        let rampHistory = LevelHistory(points: ramp, changes: detector.changes(ramp))
        let start = rampHistory.persistentMove(growing: true, margin: 10)?.change.index
        #expect(start == 5, "ramp start found at \(String(describing: start))")
        let bump = series([0, 0, 0, 100, 100, 100, 100, 0, 0, 0])
        let bumpHistory = LevelHistory(points: bump, changes: detector.changes(bump))
        #expect(bumpHistory.persistentMove(growing: true, margin: 10) == nil)
        #expect(bumpHistory.persistentMove(growing: false, margin: 10)?.change.index == 7)
        let flat = series([50, 50, 50, 50, 50, 50])
        #expect(detector.changes(flat).isEmpty)
    }

    @Test("sparklines scale from zero to the maximum and fit their width")
    func sparkline() {
        #expect(Sparkline.render([0, 0, 10, 10]) == "▁▁██")
        #expect(Sparkline.render([5, 5]) == "██")
        #expect(Sparkline.render((0..<100).map(Double.init), width: 10).count == 10)
        #expect(Sparkline.render([]) == "")
    }
}
