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

/// Ranks stacks by growth over a series of builds or snapshots (the README's "top" section says how).
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
        guard !points.isEmpty else {
            return GrowthReport(rows: [], points: [], replicates: [], keysTested: 0, meanTotal: 0)
        }
        let meanTotal = GrowthRanking.meanTotal(points, metric: filter.metric)
        let keys = GroupKeys(db: db, grouping: options.grouping)
        let reader = try SnapshotValueReader(db, metric: filter.metric)
        let summed = try sums(points, keys: keys, reader: reader)
        // Counts (objects, tasks) move by whole units: less than one is noise.
        let floor = max(options.minDelta, options.minShareOfTotal * meanTotal, filter.metric.isBytes ? 0 : 1)
        let candidates = candidates(summed, points: points.count, floor: floor)
        let values = try replicateValues(candidates, points: points, summed: summed, keys: keys, reader: reader)
        let judge = GrowthJudge(
            options: options, points: points, floor: floor,
            detector: detector(points: points, floor: floor, candidates: values))
        var rows: [GrowthRow] = []
        rows.reserveCapacity(summed.sums.count)
        for (key, entry) in summed.sums {
            let candidate = summed.dense.existingIndex(of: key).flatMap { candidates.index(of: $0) }
            rows.append(judge.row(key: key, sums: entry, values: candidate.map { values[$0] }))
        }
        GrowthRanking.applyFalseDiscoveryRate(&rows, options: options, meanTotal: meanTotal)
        order(&rows)
        try present(&rows, points: points, keys: keys, reader: reader, rowsPerSnapshot: summed.rowsPerSnapshot)
        return GrowthReport(
            rows: rows, points: points.map(\.label), replicates: points.map(\.replicateCount),
            keysTested: summed.sums.count, meanTotal: meanTotal,
            pointsNeeded: SteadyRise.pointsNeeded(alpha: options.alpha))
    }

    // MARK: - Gathering

    /// The mean over the points of each point's mean total: the total the magnitude floor is a share of.
    static func meanTotal(_ points: [SeriesPoint], metric: Metric) -> Double {
        points.map { $0.meanTotal(for: metric) }.reduce(0, +) / Double(points.count)
    }

    /// Pass 1's result: every key's sums over point means, and the keys' dense indices.
    struct SummedKeys {
        var sums: [Int64: Sums]
        var dense: DenseKeys
        /// Sample rows per snapshot, on average (for the choice between seeks and scans).
        var rowsPerSnapshot: Int
    }

    /// Pass 1: per key, sums over point means. Keys get dense indices, so the work per sample row is one
    /// integer-map probe and array arithmetic.
    private func sums(_ points: [SeriesPoint], keys: GroupKeys, reader: SnapshotValueReader) throws -> SummedKeys {
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
            accumulator.finishPoint(snapshots: point.snapshots.count, points: points.count)
        }
        let dense = accumulator.dense
        let snapshots = points.reduce(0) { $0 + $1.snapshots.count }
        return SummedKeys(
            sums: Dictionary(uniqueKeysWithValues: zip(dense.keys, accumulator.entries.map(\.sums))), dense: dense,
            rowsPerSnapshot: accumulator.rowsRead / max(snapshots, 1))
    }

    /// The keys that get the full analysis, largest range first.
    struct Candidates {
        var keys: [Int64]
        /// Candidate number of each dense key index, -1 for none.
        var byDenseIndex: [Int32]

        func index(of denseIndex: Int32) -> Int? {
            let c = byDenseIndex[Int(denseIndex)]
            return c >= 0 ? Int(c) : nil
        }
    }

    /// The keys whose range across points reaches the magnitude floor (at most `maximumCandidates`, largest
    /// ranges first). A key absent from some point has 0 there.
    private func candidates(_ summed: SummedKeys, points n: Int, floor: Double) -> Candidates {
        var ranged: [(key: Int64, range: Double)] = []
        for (key, entry) in summed.sums {
            let low = entry.present < n ? min(entry.minimum, 0) : entry.minimum
            let high = entry.present < n ? max(entry.maximum, 0) : entry.maximum
            if high - low >= floor && n >= 2 { ranged.append((key, high - low)) }
        }
        ranged.sort { $0.range > $1.range }
        if ranged.count > options.maximumCandidates { ranged.removeLast(ranged.count - options.maximumCandidates) }
        var byDenseIndex = [Int32](repeating: -1, count: summed.dense.keys.count)
        for (c, candidate) in ranged.enumerated() {
            if let d = summed.dense.existingIndex(of: candidate.key) { byDenseIndex[Int(d)] = Int32(c) }
        }
        return Candidates(keys: ranged.map(\.key), byDenseIndex: byDenseIndex)
    }

    /// Pass 2: the candidates' values per point and replicate (run): a scan of every snapshot, or, for a few
    /// stacks of many, a seek per stack (the same rows, added in the same order).
    private func replicateValues(
        _ candidates: Candidates, points: [SeriesPoint], summed: SummedKeys, keys: GroupKeys, reader: SnapshotValueReader
    ) throws -> [CandidateValues] {
        guard !candidates.keys.isEmpty else { return [] }
        var replicateSums = [[[Double]]](
            repeating: points.map { [Double](repeating: 0, count: max($0.replicateCount, 1)) },
            count: candidates.keys.count)
        let seek = seeks(keys: candidates.keys.count, rowsPerSnapshot: summed.rowsPerSnapshot)
        let wanted = seek ? SnapshotValueReader.json(candidates.keys.sorted()) : ""
        var sampleRows = SnapshotRows()
        func add(_ key: Int64, _ value: Int64, x: Int, replicate: Int) {
            guard let d = summed.dense.existingIndex(of: key), let c = candidates.index(of: d) else { return }
            replicateSums[c][x][replicate] += Double(value)
        }
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
                        add(sampleRows.stacks[i], sampleRows.values[i], x: x, replicate: replicate)
                    } else {
                        for key in try keys.keys(of: sampleRows.stacks[i]) {
                            add(key, sampleRows.values[i], x: x, replicate: replicate)
                        }
                    }
                }
            }
        }
        return replicateSums.map { CandidateValues(sums: $0, points: points) }
    }

    /// A change-point detector tuned to this selection: the magnitude floor, and for sampled byte metrics
    /// jemalloc's sampling interval and the median dispersion of the candidates (a shared noise level).
    private func detector(points: [SeriesPoint], floor: Double, candidates: [CandidateValues]) -> ChangePointDetector {
        var detector = ChangePointDetector()
        detector.alpha = options.alpha
        detector.minimumShift = floor
        detector.minimumRelativeShift = options.minRelative
        if filter.metric == .inuseSpace || filter.metric == .allocSpace {
            detector.samplingInterval = Double(points.flatMap(\.snapshots).map(\.samplePeriod).max() ?? 0)
        }
        if detector.samplingInterval > 0 {
            let dispersions = candidates.compactMap { candidate in
                ChangePointDetector.dispersion(candidate.replicates, samplingInterval: detector.samplingInterval)
            }.sorted()
            if !dispersions.isEmpty { detector.sharedDispersion = dispersions[dispersions.count / 2] }
        }
        return detector
    }

    // MARK: - Selection and presentation

    /// Benjamini–Hochberg over every key tested; a row stays significant when both its p and its q pass, and
    /// gets its share of the mean total.
    static func applyFalseDiscoveryRate(_ rows: inout [GrowthRow], options: GrowthOptions, meanTotal: Double) {
        let qValues = Statistics.benjaminiHochberg(rows.map(\.pValue))
        for i in rows.indices {
            rows[i].qValue = qValues[i]
            rows[i].significant = rows[i].significant && rows[i].pValue < options.alpha && rows[i].qValue < options.fdr
            if !rows[i].significant { rows[i].regressedAt = nil }
            rows[i].share = meanTotal > 0 ? abs(rows[i].significant ? rows[i].change : rows[i].delta) / meanTotal : 0
        }
    }

    /// Significant moves by size, then (with --all) the rest by delta; cut to the limit.
    private func order(_ rows: inout [GrowthRow]) {
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
    }

    /// Ranks, names and point means of the rows kept (one more pass for rows that skipped the full analysis).
    private func present(
        _ rows: inout [GrowthRow], points: [SeriesPoint], keys: GroupKeys, reader: SnapshotValueReader,
        rowsPerSnapshot: Int
    ) throws {
        let missing = Set(rows.filter { $0.series.isEmpty }.map(\.key))
        let series = missing.isEmpty ? [:] : try seriesOf(
            missing, points: points, keys: keys, reader: reader, rowsPerSnapshot: rowsPerSnapshot)
        for i in rows.indices {
            rows[i].rank = i + 1
            let description = try keys.describe(rows[i].key)
            rows[i].leaf = description.leaf
            rows[i].stack = description.stack
            if rows[i].series.isEmpty { rows[i].series = series[rows[i].key] ?? Array(repeating: 0, count: points.count) }
        }
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
