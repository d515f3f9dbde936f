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
struct FlameTreeBuilder {
    var minimumShare = 0.001
    var maximumNodes = 3000

    private struct Node {
        var parent: Int64?
        var name: String
        var values: [Double]
        var objects: [Double]
    }

    /// - Parameters:
    ///   - points: the builds, each with its snapshots (a build's value is the mean over them).
    ///   - metric: the metric of the widths; `objects` also reads the object count (heap).
    func build(_ db: Database, points: [SeriesPoint], metric: Metric, objects: Metric?) throws -> FlameTree {
        var nodes: [Int64: Node] = [:]
        var paths: [Int64: [Int64]] = [:]
        let lookup = try db.makeStatement(
            sql: """
                SELECT c.parent_id, s.value FROM callsite AS c JOIN frame AS f ON f.id = c.frame_id
                JOIN string AS s ON s.id = f.name_id WHERE c.id = ?
                """)
        let count = points.count
        func path(_ stack: Int64) throws -> [Int64] {
            if let known = paths[stack] { return known }
            var result: [Int64] = []
            var current: Int64? = stack
            while let id = current, result.count < 10_000 {
                if nodes[id] == nil {
                    guard let row = try Row.fetchOne(lookup, arguments: [id]) else { break }
                    let name: String = row[1]
                    nodes[id] = Node(
                        parent: row[0], name: StackCatalog.foldedName(name), values: Array(repeating: 0, count: count),
                        objects: Array(repeating: 0, count: count))
                }
                result.append(id)
                current = nodes[id]?.parent
            }
            paths[stack] = result
            return result
        }
        var totals = [Double](repeating: 0, count: count)
        var objectTotals = [Double](repeating: 0, count: count)
        let reader = try SnapshotValueReader(db, metric: metric)
        let objectReader = try objects.map { try SnapshotValueReader(db, metric: $0) }
        for (b, point) in points.enumerated() {
            let weight = 1.0 / Double(max(point.snapshots.count, 1))
            for snapshot in point.snapshots {
                try reader.forEach(snapshot: snapshot.id) { stack, value in
                    let v = Double(value) * weight
                    totals[b] += v
                    for id in try path(stack) { nodes[id]?.values[b] += v }
                }
                try objectReader?.forEach(snapshot: snapshot.id) { stack, value in
                    let v = Double(value) * weight
                    objectTotals[b] += v
                    for id in try path(stack) { nodes[id]?.objects[b] += v }
                }
            }
        }
        return prune(nodes, totals: totals, objectTotals: objects == nil ? nil : objectTotals)
    }

    /// Keeps the nodes at least `minimumShare` wide in some build (the widest `maximumNodes` of them) and
    /// orders them parents first.
    private func prune(_ nodes: [Int64: Node], totals: [Double], objectTotals: [Double]?) -> FlameTree {
        var tree = FlameTree(minimumShare: minimumShare)
        tree.nodesBefore = nodes.count
        func width(_ node: Node) -> Double {
            var widest = 0.0
            for (b, value) in node.values.enumerated() where totals[b] > 0 { widest = max(widest, value / totals[b]) }
            return widest
        }
        var kept = nodes.compactMap { id, node -> (id: Int64, width: Double)? in
            let w = width(node)
            return w >= minimumShare && w > 0 ? (id, w) : nil
        }
        kept.sort { $0.width != $1.width ? $0.width > $1.width : $0.id < $1.id }
        if kept.count > maximumNodes { kept.removeLast(kept.count - maximumNodes) }
        var keptIDs = Set(kept.map(\.id))
        // Ties at the cut can keep a child without its parent: drop such orphans (and their subtrees).
        var index: [Int64: Int] = [:]
        var depthOf: [Int64: Int] = [:]
        func depth(_ id: Int64) -> Int {
            if let known = depthOf[id] { return known }
            var d = 0
            var current = nodes[id]?.parent
            while let parent = current, d < 10_000 {
                d += 1
                current = nodes[parent]?.parent
            }
            depthOf[id] = d
            return d
        }
        var nameIndex: [String: Int] = [:]
        var objectRows: [[Int64]] = []
        for id in keptIDs.sorted(by: { (depth($0), $0) < (depth($1), $1) }) {
            guard let node = nodes[id] else { continue }
            var parentIndex = -1
            if let parent = node.parent {
                guard let p = index[parent] else {
                    keptIDs.remove(id)
                    continue
                }
                parentIndex = p
            }
            index[id] = tree.parents.count
            tree.parents.append(parentIndex)
            if nameIndex[node.name] == nil {
                nameIndex[node.name] = tree.names.count
                tree.names.append(node.name)
            }
            tree.nameOf.append(nameIndex[node.name] ?? 0)
            tree.values.append(node.values.map { Int64($0.rounded()) })
            if objectTotals != nil { objectRows.append(node.objects.map { Int64($0.rounded()) }) }
        }
        if objectTotals != nil { tree.objects = objectRows }
        tree.totals = totals.map { Int64($0.rounded()) }
        tree.objectTotals = objectTotals.map { $0.map { Int64($0.rounded()) } }
        tree.nodesKept = tree.parents.count
        return tree
    }
}
