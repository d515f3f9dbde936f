import Crypto
import Foundation

/// The stacks of one file as a tree of frame names (a trie, root frames first), built in memory before
/// anything is written.
///
/// Stacks with equal names end at the same node, so merging them is free; every call site is visited once
/// however many stacks pass through it, and so is the digest of its path (SHA-256 states are extended from
/// the parent's, not recomputed from the root).
struct StackTree {
    struct Node {
        /// The parent node, or -1 for a root frame.
        var parent: Int32
        /// Index into `names`.
        var name: Int32
        var depth: Int32
    }

    private(set) var names: [String] = []
    private var nameIndex: [String: Int32] = [:]
    private(set) var nodes: [Node] = []
    /// (parent + 1) << 32 | name → node.
    private var children: IntegerMap

    init(capacity: Int = 0) {
        nodes.reserveCapacity(capacity)
        children = IntegerMap(capacity: capacity)
    }

    /// The index of a frame name, adding it when new.
    mutating func name(_ value: String) -> Int32 {
        if let index = nameIndex[value] { return index }
        // GRDB binds and reads text as C strings: a NUL would store "a\0b" and "a\0c" as one name "a" while the
        // tree keeps them apart, and their call sites would collide. Names are stored with U+FFFD instead.
        if value.utf8.contains(0) {
            let index = name(value.replacingOccurrences(of: "\0", with: "\u{FFFD}"))
            nameIndex[value] = index
            return index
        }
        let index = Int32(names.count)
        names.append(value)
        nameIndex[value] = index
        return index
    }

    /// The child of `parent` (-1: the root) for a frame name index, added when new.
    mutating func child(of parent: Int32, name: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: parent &+ 1)) << 32 | UInt64(UInt32(bitPattern: name))
        let next = Int32(nodes.count)
        let node = children.value(for: key) { next }
        if node == next {
            nodes.append(Node(parent: parent, name: name, depth: parent < 0 ? 0 : nodes[Int(parent)].depth + 1))
        }
        return node
    }

    /// The node at the end of a path of frame names (root first); nil for an empty path.
    mutating func node<S: Sequence<String>>(path: S) -> Int32? {
        var node: Int32 = -1
        for value in path { node = child(of: node, name: name(value)) }
        return node < 0 ? nil : node
    }

    /// The 64-bit path digest (see `Interner.pathDigest`) of each node in `wanted` (0 for the others): nodes
    /// are created after their parents, so one forward pass extends each parent's hash state by the node's name.
    func pathDigests(of wanted: [Int32]) -> [Int64] {
        var want = [Bool](repeating: false, count: nodes.count)
        for node in wanted { want[Int(node)] = true }
        var states: [SHA256] = []
        states.reserveCapacity(nodes.count)
        var digests: [Int64] = []
        digests.reserveCapacity(nodes.count)
        let separator: [UInt8] = [0x1F]
        for node in nodes {
            var state = node.parent < 0 ? SHA256() : states[Int(node.parent)]
            var name = names[Int(node.name)]
            name.withUTF8 { state.update(bufferPointer: UnsafeRawBufferPointer($0)) }
            separator.withUnsafeBytes { state.update(bufferPointer: $0) }
            digests.append(want[digests.count] ? Interner.digestValue(state.finalize()) : 0)
            states.append(state)
        }
        return digests
    }
}
