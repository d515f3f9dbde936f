import Foundation

/// Reads tokio task dumps (`Handle::dump()`) printed as tokio's example does: a `TASK <id>:` line, the task's
/// trace tree, a blank line; dumps may be framed by 80-dash separator lines, and other text between tasks (the
/// app's own output) is skipped.
///
/// Tree grammar (tokio's `trace/tree.rs`): a root line `╼ frame`; child lines indented by 2 + 3·(depth − 1)
/// characters (U+00A0, or `│` + U+00A0 ×2 under a sibling that is not the last), then `└╼ ` or `├╼ `; the space
/// after `╼` is U+00A0. Plain spaces are accepted wherever U+00A0 is expected (copies from a terminal or a web
/// page lose them). A frame is `<name> at <file>:<line>:<col>`; the name, the file, the line or the column may
/// be missing.
///
/// **How tasks are grouped.** A task's tree has one root-to-leaf path per tokio future it waits on (`join!` and
/// `select!` make branches), and sibling order is unstable (tokio keeps children in a `HashSet`). Each task
/// counts exactly once, in the group keyed by its *canonical path*: the root-to-leaf path whose sequence of frame
/// names is lexicographically smallest (names compared by UTF-8 bytes). So a leaking await stack ranks by the
/// number of tasks parked in it, the snapshot total equals the number of dumped tasks, and a task with branches
/// lands in the same group in every dump. A task whose trace is empty goes to `<empty trace>`.
///
/// **Frame identity** is the function name without line: normalized like heap frames (`FrameName.normalize`), so
/// the same await point keeps its identity when code moves; file, line and column of the first task seen are kept
/// for display. Frames without a name are `[unnamed] at <file>`. tokio before 1.52.4 printed names one path
/// segment longer (`dumpdemo::a::{{closure}}`, `<Sleep as Future>::poll`; since then `dumpdemo::a`,
/// `<Sleep as Future>`): a dump in the old format (a frame ends with `as core::future::future::Future>::poll` and
/// none with `as core::future::future::Future>`) has that last segment dropped from every name, as newer tokio
/// does, so both formats give the same groups.
///
/// **Counts.** Dumps carry no state, polls or wakes. A dump contains only tasks that could be notified for
/// tracing, that is tasks that were pending (idle or scheduled, not running), so every dumped task counts as live
/// and idle; other metrics stay 0. If the file holds several dumps (separator lines around each, or a task id
/// repeated), the last one is the snapshot and a warning says so.
public struct TaskDumpParser {
    /// The result of parsing one file: the snapshot, and the SHA-256 and size of the bytes it was read from.
    public struct Result: Sendable {
        public var snapshot: TaskSnapshot
        public var digest: String
        public var byteCount: Int
    }

    /// The group of tasks with no frames.
    public static let emptyTraceName = "<empty trace>"

    public init() {}

    /// Whether the first bytes of a file look like a task dump: the first line is `TASK `, or a dash separator
    /// line followed by `TASK `, or somewhere in the prefix a `TASK <id>:` line is followed by a root `╼` line (the
    /// dump printed after other output).
    public static func recognizes(_ prefix: Data) -> Bool {
        let text = String(decoding: prefix.prefix(64 * 1024), as: UTF8.self)
        // "\r\n" is one Character.
        let lines = text.split(omittingEmptySubsequences: true) { $0 == "\n" || $0 == "\r\n" }
        guard let first = lines.first else { return false }
        if first.hasPrefix("TASK ") { return true }
        if isSeparator(first), lines.count > 1, lines[1].hasPrefix("TASK ") { return true }
        for (i, line) in lines.enumerated() where i + 1 < lines.count && isTaskHeader(line) {
            if lines[i + 1].unicodeScalars.first == "╼" { return true }
        }
        return false
    }

    /// Parses the dump at `path`.
    /// - Throws: `InputError` naming the file and line of the first problem: a `TASK` line without its id, a
    ///   tree line outside a task, bad indentation or glyphs, a child more than one level below its parent.
    public func parse(path: String) throws -> Result {
        try parse(input: InputSource.open(path: path))
    }

    /// Parses `input` from where it stands (bytes peeked for format detection are read again from memory).
    public func parse(input: InputSource) throws -> Result {
        let path = input.path
        var reader = LineReader(input: input)
        defer { reader.close() }
        var state = DumpState(path: path)
        var lastIsTree = false
        while (try reader.nextLine({ (line: UnsafeBufferPointer<UInt8>, number: Int) -> Void in
            // "╼" is E2 95 BC in UTF-8: the line is part of a tree.
            lastIsTree = line.indices.contains { i in i + 2 < line.count && line[i] == 0xE2 && line[i + 1] == 0x95 && line[i + 2] == 0xBC }
            try state.consume(line, number: number)
        })) != nil {}
        // tokio's printers end every trace line with a newline; a tree line without one was cut off.
        if !reader.lastLineTerminated && lastIsTree {
            throw InputError.truncated(
                path: path, line: reader.lineNumber, message: "the last tree line has no newline (the dump was cut short)")
        }
        let snapshot = try state.finish(lastLine: reader.lineNumber)
        return Result(snapshot: snapshot, digest: reader.finalizeDigest(), byteCount: reader.bytesRead)
    }

    // MARK: - Lines

    static func isSeparator<S: StringProtocol>(_ line: S) -> Bool {
        line.utf8.count >= 3 && line.utf8.allSatisfy { $0 == UInt8(ascii: "-") }
    }

    /// `TASK <digits>:` with optional trailing spaces.
    static func isTaskHeader<S: StringProtocol>(_ line: S) -> Bool {
        taskID(Array(line.unicodeScalars)) != nil
    }

    /// The id of a `TASK <id>:` line, or nil when the line does not have that shape.
    static func taskID(_ scalars: [Unicode.Scalar]) -> String? {
        let prefix: [Unicode.Scalar] = ["T", "A", "S", "K"]
        guard scalars.count > 4, Array(scalars[0..<4]) == prefix else { return nil }
        var i = 4
        guard isSpace(scalars[i]) else { return nil }
        while i < scalars.count && isSpace(scalars[i]) { i += 1 }
        let start = i
        while i < scalars.count && ("0"..."9").contains(scalars[i]) { i += 1 }
        guard i > start, i < scalars.count, scalars[i] == ":" else { return nil }
        let id = String(String.UnicodeScalarView(scalars[start..<i]))
        i += 1
        while i < scalars.count && isSpace(scalars[i]) { i += 1 }
        return i == scalars.count ? id : nil
    }

    static func isSpace(_ s: Unicode.Scalar) -> Bool { s == " " || s == "\u{A0}" || s == "\t" }

    /// Drops the last `::segment` of a name, as tokio 1.52.4 and later print names (a literal `rsplit_once("::")`).
    static func currentFormatName(_ legacy: String) -> String {
        guard let range = legacy.range(of: "::", options: .backwards) else { return legacy }
        return String(legacy[..<range.lowerBound])
    }
}

// MARK: - State

private struct DumpFrame {
    var name: String?
    var file: String?
    var line: Int?
    var column: Int?
}

private struct DumpState {
    let path: String

    // Frames, interned by their printed text.
    var frameIndex: [String: Int] = [:]
    var frames: [DumpFrame] = []

    // The current dump: distinct trees (their sorted root-to-leaf paths of frame indices) and how many tasks
    // have each, in first-seen order.
    var treeIndex: [[[Int]]: Int] = [:]
    var trees: [(paths: [[Int]], count: Int64)] = []
    var taskIDs: Set<String> = []
    var earlierDumps = 0
    var sawSeparator = false
    var sawTask = false
    var boundaryPending = false

    // The task being read.
    var inTask = false
    var paths: Set<[Int]> = []
    var stack: [Int] = []

    init(path: String) { self.path = path }

    func malformed(_ number: Int, _ message: String) -> InputError {
        InputError.malformed(path: path, line: number, message: message)
    }

    mutating func consume(_ bytes: UnsafeBufferPointer<UInt8>, number: Int) throws {
        var text = String(decoding: bytes, as: UTF8.self)
        if number == 1, text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var scalars = Array(text.unicodeScalars)
        while let last = scalars.last, TaskDumpParser.isSpace(last) { scalars.removeLast() }

        if scalars.isEmpty {
            endTask()
            return
        }
        if scalars.count >= 4, scalars[0] == "T", scalars[1] == "A", scalars[2] == "S", scalars[3] == "K",
            scalars.count == 4 || TaskDumpParser.isSpace(scalars[4]) || scalars[4] == ":"
        {
            guard let id = TaskDumpParser.taskID(scalars) else {
                throw malformed(number, "expected 'TASK <id>:', got '\(InputError.quote(bytes))'")
            }
            endTask()
            if boundaryPending || taskIDs.contains(id) { startNewDump() }
            boundaryPending = false
            taskIDs.insert(id)
            inTask = true
            sawTask = true
            return
        }
        if TaskDumpParser.isSeparator(String(String.UnicodeScalarView(scalars))) {
            endTask()
            sawSeparator = true
            // The next task after a separator begins another dump (tokio's example prints one before and after).
            if !taskIDs.isEmpty { boundaryPending = true }
            return
        }
        guard try readTreeLine(scalars, bytes: bytes, number: number) else {
            if inTask {
                throw malformed(
                    number,
                    "expected a tree line ('╼', '└╼' or '├╼') or a blank line ending the task, got '\(InputError.quote(bytes))'"
                )
            }
            return  // the app's own output between dumps
        }
    }

    /// Reads a tree line; false when the line is not one (plain text).
    mutating func readTreeLine(_ scalars: [Unicode.Scalar], bytes: UnsafeBufferPointer<UInt8>, number: Int) throws
        -> Bool
    {
        let depth: Int
        let frameStart: Int
        if scalars[0] == "╼" {
            depth = 0
            frameStart = 1
        } else {
            var i = 0
            while i < scalars.count, TaskDumpParser.isSpace(scalars[i]) || scalars[i] == "│" { i += 1 }
            guard i < scalars.count, scalars[i] == "└" || scalars[i] == "├" else {
                if scalars[..<i].contains("│") || (i < scalars.count && scalars[i] == "╼") {
                    throw malformed(
                        number,
                        "bad tree line: expected '└╼' or '├╼' after the indentation, got '\(InputError.quote(bytes))'")
                }
                return false
            }
            guard i + 1 < scalars.count, scalars[i + 1] == "╼" else {
                throw malformed(
                    number, "bad tree line: expected '╼' after '\(scalars[i])', got '\(InputError.quote(bytes))'")
            }
            depth = try indentationDepth(scalars[..<i], number: number)
            frameStart = i + 2
        }
        guard inTask else {
            throw malformed(number, "tree line outside a task: expected a 'TASK <id>:' line before it")
        }
        if frameStart < scalars.count && !TaskDumpParser.isSpace(scalars[frameStart]) {
            throw malformed(number, "bad tree line: expected a space after '╼', got '\(scalars[frameStart])'")
        }
        var frameText = frameStart + 1 <= scalars.count ? Array(scalars[min(frameStart + 1, scalars.count)...]) : []
        var frameDepth = depth
        while true {
            // Several roots are printed without a newline between them (tokio's Display writes none): split there.
            var next: [Unicode.Scalar]? = nil
            if let split = rootMarker(in: frameText) {
                next = Array(frameText[(split + 2)...])
                frameText = Array(frameText[..<split])
            }
            try addFrame(frameText, depth: frameDepth, number: number)
            guard let rest = next else { break }
            frameText = rest
            frameDepth = 0
        }
        return true
    }

    /// The position of `╼` + U+00A0 inside a frame's text, where a second root begins.
    func rootMarker(in text: [Unicode.Scalar]) -> Int? {
        var i = 0
        while i + 1 < text.count {
            if text[i] == "╼" && text[i + 1] == "\u{A0}" { return i }
            i += 1
        }
        return nil
    }

    /// Depth from a child line's indentation: 2 characters for depth 1, then 3 per level (`│  ` or 3 spaces).
    func indentationDepth(_ indent: ArraySlice<Unicode.Scalar>, number: Int) throws -> Int {
        let units = Array(indent)
        guard units.count >= 2, (units.count - 2) % 3 == 0 else {
            throw malformed(
                number,
                "bad tree indentation: \(units.count) characters before the branch glyph, expected 2 + 3 per level")
        }
        guard TaskDumpParser.isSpace(units[0]), TaskDumpParser.isSpace(units[1]) else {
            throw malformed(number, "bad tree indentation: the first level is indented by two spaces, got '│'")
        }
        var i = 2
        while i < units.count {
            guard units[i] == "│" || TaskDumpParser.isSpace(units[i]), TaskDumpParser.isSpace(units[i + 1]),
                TaskDumpParser.isSpace(units[i + 2])
            else {
                throw malformed(number, "bad tree indentation: each level is '│' and two spaces, or three spaces")
            }
            i += 3
        }
        return 1 + (units.count - 2) / 3
    }

    mutating func addFrame(_ text: [Unicode.Scalar], depth: Int, number: Int) throws {
        if stack.isEmpty && depth != 0 {
            throw malformed(
                number, "the first line of a task's tree must be a root frame ('╼ ...'), got one at depth \(depth)")
        }
        if depth > stack.count {
            throw malformed(
                number,
                "a frame at depth \(depth) follows one at depth \(stack.count - 1): a child can be only one level below its parent"
            )
        }
        if depth < stack.count {
            // The frame on top had no children: a leaf.
            paths.insert(stack)
            stack.removeLast(stack.count - depth)
        }
        stack.append(intern(String(String.UnicodeScalarView(text))))
    }

    mutating func intern(_ text: String) -> Int {
        if let index = frameIndex[text] { return index }
        frames.append(DumpState.parseFrame(text))
        frameIndex[text] = frames.count - 1
        return frames.count - 1
    }

    /// `<name> at <file>:<line>:<col>`, each part optional (tokio's `Symbol` Display).
    static func parseFrame(_ text: String) -> DumpFrame {
        guard let at = text.range(of: " at ") else { return DumpFrame(name: text.isEmpty ? nil : text) }
        let name = String(text[..<at.lowerBound])
        var file = String(text[at.upperBound...])
        var line: Int? = nil
        var column: Int? = nil
        func splitNumber(_ s: String) -> (String, Int)? {
            guard let colon = s.lastIndex(of: ":") else { return nil }
            let digits = s[s.index(after: colon)...]
            guard !digits.isEmpty, digits.count <= 9, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                let n = Int(digits)
            else {
                return nil
            }
            return (String(s[..<colon]), n)
        }
        if let (rest, last) = splitNumber(file) {
            if let (rest2, previous) = splitNumber(rest) {
                file = rest2
                line = previous
                column = last
            } else {
                file = rest
                line = last
            }
        }
        return DumpFrame(name: name.isEmpty ? nil : name, file: file.isEmpty ? nil : file, line: line, column: column)
    }

    mutating func endTask() {
        guard inTask else { return }
        if !stack.isEmpty { paths.insert(stack) }
        let tree = paths.sorted { $0.lexicographicallyPrecedes($1) }
        if let index = treeIndex[tree] {
            trees[index].count += 1
        } else {
            treeIndex[tree] = trees.count
            trees.append((tree, 1))
        }
        inTask = false
        paths.removeAll(keepingCapacity: true)
        stack.removeAll(keepingCapacity: true)
    }

    mutating func startNewDump() {
        earlierDumps += 1
        treeIndex.removeAll()
        trees.removeAll()
        taskIDs.removeAll()
    }

    // MARK: Result

    mutating func finish(lastLine: Int) throws -> TaskSnapshot {
        endTask()
        guard lastLine > 0 else { throw malformed(1, "empty file: expected a tokio task dump ('TASK <id>:' lines)") }
        guard sawTask || sawSeparator else {
            throw malformed(lastLine, "no 'TASK <id>:' line: not a tokio task dump")
        }
        // Names in tokio's pre-1.52.4 format are one segment longer; see the type's documentation.
        let futureImpl = " as core::future::future::Future>"
        var newStyle = false
        var oldStyle = false
        for frame in frames {
            guard let name = frame.name else { continue }
            if name.hasSuffix(futureImpl) { newStyle = true }
            if name.hasSuffix(futureImpl + "::poll") { oldStyle = true }
        }
        let legacy = oldStyle && !newStyle
        let identities: [String] = frames.map { frame in
            guard let name = frame.name else { return frame.file.map { "[unnamed] at \($0)" } ?? "[unnamed]" }
            return FrameName.normalize(legacy ? TaskDumpParser.currentFormatName(name) : name)
        }

        var table = TaskGroupTable()
        for tree in trees {
            let key: String
            var groupFrames: [TaskFrame]
            if tree.paths.isEmpty {
                key = TaskDumpParser.emptyTraceName
                groupFrames = [TaskFrame(name: TaskDumpParser.emptyTraceName)]
            } else {
                let named = tree.paths.map { path in path.map { identities[$0] } }
                var best = 0
                for i in 1..<named.count where DumpState.precedes(named[i], named[best]) { best = i }
                key = named[best].joined(separator: "\n")
                groupFrames = tree.paths[best].map { index in
                    let frame = frames[index]
                    return TaskFrame(name: identities[index], file: frame.file, line: frame.line, column: frame.column)
                }
            }
            let group = table.index(key: key, frames: groupFrames)
            table.update(group) {
                $0.liveTasks = $0.liveTasks.clampedAdding(tree.count)
                $0.idleTasks = $0.idleTasks.clampedAdding(tree.count)
            }
        }
        var warnings: [String] = []
        if earlierDumps > 0 {
            warnings.append("the file holds \(earlierDumps + 1) dumps; only the last one is counted")
        }
        if trees.isEmpty { warnings.append("the dump lists no tasks") }
        return TaskSnapshot(format: .taskDump, takenAt: nil, groups: table.groups, warnings: warnings)
    }

    /// Lexicographic order of name sequences, names compared by UTF-8 bytes (independent of locale and Unicode
    /// normalization).
    static func precedes(_ a: [String], _ b: [String]) -> Bool {
        a.lexicographicallyPrecedes(b) { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
