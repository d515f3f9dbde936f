import Foundation

/// A dump's stacks after normalisation: each stack is cut where the allocator begins (its outermost allocator
/// frame and everything inside it are dropped, as jeprof does, so a stack stays the same stack when the
/// allocator or its version changes); stacks whose remaining frame names are equal are one stack, and their
/// values add up (each dump line was unsampled on its own first, as jeprof does).
struct MergedStacks {
    var tree: StackTree
    /// The tree node where each merged stack ends.
    var ends: [Int32]
    var values: [HeapValues]
    /// The first dump stack of each merged stack, whose file:line is kept for display.
    var firstStack: [Int]

    /// The snapshot's total: the sum of the values as stored (rounded), so an export sums back to it exactly.
    var storedTotal: HeapValues {
        values.reduce(into: HeapValues()) { sum, values in
            sum.inuseObjects += Double(HeapValues.stored(values.inuseObjects))
            sum.inuseBytes += Double(HeapValues.stored(values.inuseBytes))
        }
    }
}

extension HeapValues {
    /// A value as a sample row stores it: rounded to a whole number, 0 when not finite, pinned at `Int64.max`.
    static func stored(_ value: Double) -> Int64 {
        guard value.isFinite else { return 0 }
        return Int64(clamping: Int64(exactly: value.rounded()) ?? (value > 0 ? Int64.max : 0))
    }
}

extension SymbolizedHeap {
    /// The stacks cut at the allocator and merged by frame names (see `MergedStacks`).
    /// - Throws: `SymbolizeError.emptyStack` for a stack with no frames.
    func merged(plumbing: Plumbing) throws -> MergedStacks {
        var tree = StackTree(capacity: stacks.count * 2)
        let names = frames.map { tree.name($0.name) }
        var levelOfName: [String: Plumbing.Level] = [:]
        let isAllocator = frames.map { frame in
            let level = levelOfName[frame.name] ?? plumbing.level(of: frame.name)
            levelOfName[frame.name] = level
            return level == .allocator
        }
        var ends: [Int32] = []
        var values: [HeapValues] = []
        var firstStack: [Int] = []
        var position: [Int32: Int] = [:]
        for (index, stack) in stacks.enumerated() {
            var node: Int32 = -1
            for frame in frameIndices[stack.range] {
                if isAllocator[Int(frame)] {
                    // Nothing but allocator frames (jemalloc's own threads): keep the outermost one.
                    if node < 0 { node = tree.child(of: node, name: names[Int(frame)]) }
                    break
                }
                node = tree.child(of: node, name: names[Int(frame)])
            }
            guard node >= 0 else { throw SymbolizeError.emptyStack }
            if let existing = position[node] {
                values[existing] += stack.values
            } else {
                position[node] = ends.count
                ends.append(node)
                values.append(stack.values)
                firstStack.append(index)
            }
        }
        return MergedStacks(tree: tree, ends: ends, values: values, firstStack: firstStack)
    }
}
