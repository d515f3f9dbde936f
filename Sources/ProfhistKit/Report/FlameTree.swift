import Foundation
import GRDB

/// The call-site tree of a series of builds, with each call site's inclusive value in every build, pruned to
/// what a flame graph can show: the data behind the HTML report's flame graphs and differential flame graphs.
///
/// Stacks are stored as a call-site tree (parent + frame), so the merged tree of every build is that tree: a
/// node is a call site, and its value in a build is the build's mean (over its snapshots) summed over the
/// stacks below it. A node is kept when, in some build, it is at least `minimumShare` of that build's total
/// (a frame narrower than that is under a pixel or two wide), and at most `maximumNodes` of the widest are
/// kept. A parent is never narrower than its child, so the kept nodes form a tree.
public struct FlameTree: Sendable, Encodable {
    /// Frame names (folded-stack spelling, as `export --format folded` writes them).
    public var names: [String] = []
    /// Per node: parent index (-1 for a root) and name index, in an order where a parent comes first.
    public var parents: [Int] = []
    public var nameOf: [Int] = []
    /// Per node, per build: inclusive value of the report's metric (rounded), and of objects (heap only).
    public var values: [[Int64]] = []
    public var objects: [[Int64]]?
    /// Per build: total of the metric and of objects (before pruning).
    public var totals: [Int64] = []
    public var objectTotals: [Int64]?
    /// Pruning: the share threshold, node counts before and after.
    public var minimumShare: Double
    public var nodesBefore = 0
    public var nodesKept = 0

    public init(minimumShare: Double) { self.minimumShare = minimumShare }
}

/// Builds a `FlameTree` from a store, one snapshot at a time.
///
/// Call sites get dense indices as they are first met; each stack's path (its call sites, leaf to root) is
/// walked once and cached, so a sample row costs one dictionary probe and an add per frame. Values are kept per
/// build in flat arrays (builds x call sites); the first version kept an array per call site in a dictionary and
/// copied it on every add: 130 s for 31 builds of 16k stacks in a debug build.
struct FlameTreeBuilder {
    var minimumShare = 0.001
    var maximumNodes = 3000

    /// The call sites met so far.
    private struct CallSites {
        var index: [Int64: Int32] = [:]
        var parent: [Int32] = []
        var name: [String] = []
        var paths: [Int64: [Int32]] = [:]

        /// Dense indices of a stack's call sites, leaf first.
        mutating func path(_ stack: Int64, lookup: Statement) throws -> [Int32] {
            if let known = paths[stack] { return known }
            var chain: [(id: Int64, parent: Int64?, name: String)] = []
            var current: Int64? = stack
            while let id = current, index[id] == nil, chain.count < 10_000 {
                guard let row = try Row.fetchOne(lookup, arguments: [id]) else { break }
                let parent: Int64? = row[0]
                let text: String = row[1]
                chain.append((id, parent, StackCatalog.foldedName(text)))
                current = parent
            }
            // Register root-most first, so every parent has its index before its child.
            for entry in chain.reversed() {
                let parentIndex = entry.parent.flatMap { index[$0] } ?? -1
                index[entry.id] = Int32(parent.count)
                parent.append(parentIndex)
                name.append(entry.name)
            }
            var result: [Int32] = []
            var node = index[stack] ?? -1
            while node >= 0 && result.count < 10_000 {
                result.append(node)
                node = parent[Int(node)]
            }
            paths[stack] = result
            return result
        }
    }

    /// - Parameters:
    ///   - points: the builds, each with its snapshots (a build's value is the mean over them).
    ///   - metric: the metric of the widths; `objects` also reads the object count (heap).
    func build(_ db: Database, points: [SeriesPoint], metric: Metric, objects: Metric?) throws -> FlameTree {
        let lookup = try db.makeStatement(
            sql: """
                SELECT c.parent_id, s.value FROM callsite AS c JOIN frame AS f ON f.id = c.frame_id
                JOIN string AS s ON s.id = f.name_id WHERE c.id = ?
                """)
        var sites = CallSites()
        var values: [[Double]] = []
        var objectValues: [[Double]] = []
        var totals: [Double] = []
        var objectTotals: [Double] = []
        let reader = try SnapshotValueReader(db, metric: metric)
        let objectReader = try objects.map { try SnapshotValueReader(db, metric: $0) }
        for point in points {
            let weight = 1.0 / Double(max(point.snapshots.count, 1))
            var current: [Double] = []
            var currentObjects: [Double] = []
            var total = 0.0
            var objectTotal = 0.0
            for snapshot in point.snapshots {
                try reader.forEach(snapshot: snapshot.id) { stack, value in
                    let path = try sites.path(stack, lookup: lookup)
                    if current.count < sites.parent.count { current += Array(repeating: 0, count: sites.parent.count - current.count) }
                    let v = Double(value) * weight
                    total += v
                    for node in path { current[Int(node)] += v }
                }
                try objectReader?.forEach(snapshot: snapshot.id) { stack, value in
                    let path = try sites.path(stack, lookup: lookup)
                    if currentObjects.count < sites.parent.count {
                        currentObjects += Array(repeating: 0, count: sites.parent.count - currentObjects.count)
                    }
                    let v = Double(value) * weight
                    objectTotal += v
                    for node in path { currentObjects[Int(node)] += v }
                }
            }
            values.append(current)
            objectValues.append(currentObjects)
            totals.append(total)
            objectTotals.append(objectTotal)
        }
        return prune(
            sites, values: values, totals: totals, objectValues: objects == nil ? nil : objectValues,
            objectTotals: objects == nil ? nil : objectTotals)
    }

    /// Keeps the call sites at least `minimumShare` wide in some build (the widest `maximumNodes` of them),
    /// parents first.
    private func prune(
        _ sites: CallSites, values: [[Double]], totals: [Double], objectValues: [[Double]]?, objectTotals: [Double]?
    ) -> FlameTree {
        var tree = FlameTree(minimumShare: minimumShare)
        let count = sites.parent.count
        tree.nodesBefore = count
        func value(_ b: Int, _ n: Int) -> Double { n < values[b].count ? values[b][n] : 0 }
        var widths = [Double](repeating: 0, count: count)
        for b in values.indices where totals[b] > 0 {
            for n in 0..<values[b].count { widths[n] = max(widths[n], values[b][n] / totals[b]) }
        }
        var kept = (0..<count).filter { widths[$0] >= minimumShare && widths[$0] > 0 }
        kept.sort { widths[$0] != widths[$1] ? widths[$0] > widths[$1] : $0 < $1 }
        if kept.count > maximumNodes { kept.removeLast(kept.count - maximumNodes) }
        // Dense indices already put parents before children; a child kept without its parent (a tie at the cut)
        // is dropped with its subtree.
        var newIndex = [Int](repeating: -1, count: count)
        var nameIndex: [String: Int] = [:]
        var objectRows: [[Int64]] = []
        for n in kept.sorted() {
            let parent = Int(sites.parent[n])
            if parent >= 0 && newIndex[parent] < 0 { continue }
            newIndex[n] = tree.parents.count
            tree.parents.append(parent >= 0 ? newIndex[parent] : -1)
            let name = sites.name[n]
            if nameIndex[name] == nil {
                nameIndex[name] = tree.names.count
                tree.names.append(name)
            }
            tree.nameOf.append(nameIndex[name] ?? 0)
            tree.values.append(values.indices.map { Int64(value($0, n).rounded()) })
            if let objectValues {
                objectRows.append(objectValues.indices.map { n < objectValues[$0].count ? Int64(objectValues[$0][n].rounded()) : 0 })
            }
        }
        if objectValues != nil { tree.objects = objectRows }
        tree.totals = totals.map { Int64($0.rounded()) }
        tree.objectTotals = objectTotals.map { $0.map { Int64($0.rounded()) } }
        tree.nodesKept = tree.parents.count
        return tree
    }
}
