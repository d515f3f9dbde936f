import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

@Suite("tokio task dump parser")
struct TaskDumpParserTests {
    /// A frame of a trace tree and its children, in the order they are printed.
    struct Node {
        var frame: String
        var children: [Node] = []
        init(_ frame: String, _ children: [Node] = []) {
            self.frame = frame
            self.children = children
        }
    }

    /// Prints a tree exactly as tokio's `Tree::display` does (`trace/tree.rs`): the line is built as
    /// `prefix + "└╼ " + frame` (or `├╼`), then its first two characters are dropped; children get
    /// `prefix + "   "` (last child) or `prefix + "│  "`, with U+00A0 for the spaces; the root's prefix is " ".
    static func render(_ root: Node) -> String {
        var lines: [String] = []
        func display(_ node: Node, isLast: Bool, prefix: String) {
            let current = prefix + (isLast ? "└╼\u{A0}" : "├╼\u{A0}") + node.frame
            let next = prefix + (isLast ? "\u{A0}\u{A0}\u{A0}" : "│\u{A0}\u{A0}")
            lines.append(String(String.UnicodeScalarView(current.unicodeScalars.dropFirst(2))))
            for (i, child) in node.children.enumerated() {
                display(child, isLast: i == node.children.count - 1, prefix: next)
            }
        }
        display(root, isLast: true, prefix: " ")
        return lines.joined(separator: "\n")
    }

    /// A task as tokio's example prints it: `TASK n:`, the tree, a blank line.
    static func task(_ id: Int, _ tree: String) -> String { "TASK \(id):\n\(tree)\n\n" }

    static let separator = String(repeating: "-", count: 80) + "\n"

    // MARK: - The real dumps

    static let barrierStack = [
        "dumpdemo::a", "dumpdemo::bb", "tokio::sync::barrier::Barrier::wait",
        "tokio::sync::barrier::Barrier::wait_internal",
        "tokio::sync::watch::Receiver<T>::changed", "<tokio::task::coop::Coop<F> as core::future::future::Future>",
        "tokio::sync::watch::changed_impl", "<tokio::sync::notify::Notified as core::future::future::Future>",
        "tokio::sync::notify::Notified", "tokio::sync::notify::NotifiedProject",
    ]
    static let watchStack = [
        "dumpdemo::session::watch", "tokio::sync::mpsc::bounded::Receiver<T>::recv",
        "<core::future::poll_fn::PollFn<F> as core::future::future::Future>",
        "tokio::sync::mpsc::bounded::Receiver<T>::recv::{{closure}}", "tokio::sync::mpsc::chan::Rx<T,S>",
    ]
    static let heartbeatStack = [
        "dumpdemo::heartbeat", "<tokio::time::sleep::Sleep as core::future::future::Future>",
        "tokio::time::sleep::Sleep",
    ]
    /// Task 7 has two branches (`join!` of a watcher and a heartbeat); the heartbeat path is the smaller one.
    static let fanoutStack =
        [
            "dumpdemo::fanout", "<core::future::poll_fn::PollFn<F> as core::future::future::Future>",
            "dumpdemo::fanout::{{closure}}",
        ] + heartbeatStack

    func checkDemoDump(_ snapshot: TaskSnapshot) {
        #expect(snapshot.format == .taskDump)
        #expect(snapshot.takenAt == nil)
        #expect(snapshot.warnings.isEmpty)
        // Tasks 8, 9 (barrier); 3, 4, 5 (watchers); 6 (heartbeat); 7 (fanout): the program's num_alive_tasks=7.
        #expect(
            snapshot.groups.map { $0.frames.map(\.name) } == [
                Self.barrierStack, Self.watchStack, Self.heartbeatStack, Self.fanoutStack,
            ])
        #expect(snapshot.groups.map(\.metrics.liveTasks) == [2, 3, 1, 1])
        #expect(snapshot.groups.map(\.metrics) == [2, 3, 1, 1].map { TaskParserTest.metrics(live: $0, idle: $0) })
        #expect(snapshot.liveTasks == 7)
        let root = snapshot.groups[0].frames[0]
        #expect(
            root == TaskFrame(name: "dumpdemo::a", file: "/home/dev/work/dumpdemo/src/main.rs", line: 39, column: 37))
        // The fanout branch that was kept: `fanout::{{closure}}` at line 32 (the heartbeat), not 31 (the watcher).
        #expect(
            snapshot.groups[3].frames[2]
                == TaskFrame(
                    name: "dumpdemo::fanout::{{closure}}", file: "/home/dev/work/dumpdemo/src/main.rs", line: 32,
                    column: 29))
        #expect(
            snapshot.groups[1].frames[2].file
                == "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/future/poll_fn.rs")
    }

    @Test("the real tokio 1.53.1 dump: tasks per await stack, counted by hand")
    func realDump() throws {
        let path = TaskFixtures.sample("taskdump.tokio-1.53.1.txt").path
        let result = try TaskDumpParser().parse(path: path)
        checkDemoDump(result.snapshot)
        #expect(result.byteCount == 6590)
        #expect(result.digest.count == 64)
    }

    @Test("the pre-1.52.4 name format gives the same groups as the current one")
    func legacyNames() throws {
        let current = try TaskDumpParser().parse(path: TaskFixtures.sample("taskdump.tokio-1.53.1.txt").path).snapshot
        let legacy = try TaskDumpParser().parse(path: TaskFixtures.sample("taskdump.tokio-pre-1.52.4-format.txt").path)
            .snapshot
        checkDemoDump(legacy)
        #expect(legacy.groups == current.groups)
        #expect(
            TaskDumpParser.currentFormatName("<X as core::future::future::Future>::poll")
                == "<X as core::future::future::Future>")
        #expect(TaskDumpParser.currentFormatName("m::f::{{closure}}::{{closure}}") == "m::f::{{closure}}")
        #expect(TaskDumpParser.currentFormatName("main") == "main")
    }

    // MARK: - Built dumps

    static let select = Node(
        "app::serve at /w/app/src/main.rs:20:5",
        [
            Node(
                "app::serve::{{closure}} at /w/app/src/main.rs:21:9",
                [Node("tokio::sync::mpsc::chan::Rx<T,S> at /t/chan.rs:292:16")]),
            Node(
                "app::serve::{{closure}} at /w/app/src/main.rs:22:9",
                [Node("tokio::time::sleep::Sleep at /t/sleep.rs:391:16")]),
        ])

    @Test("branches in either sibling order, plain spaces, missing names, empty traces, two roots, two dumps")
    func builtDump() throws {
        let folder = try Fixtures.temporaryFolder()
        var swapped = Self.select
        swapped.children.reverse()
        let unnamed = Node(" at /src/lib.rs:5:1", [Node("foo::bar", [Node("")])])
        let plainSpaces = Self.render(Self.select).replacingOccurrences(of: "\u{A0}", with: " ")
        // tokio writes no newline between two roots of one trace.
        let twoRoots =
            Self.render(Node("m::first at /w/m.rs:1:1", [Node("m::leaf at /w/m.rs:2:2")]))
            + Self.render(Node("m::second at /w/m.rs:3:3"))
        let first = Self.separator + Self.task(1, Self.render(Node("old::task at /w/old.rs:1:1"))) + Self.separator
        let second =
            Self.separator + "log line from the app\n"
            + Self.task(10, Self.render(Self.select)) + Self.task(11, Self.render(swapped))
            + Self.task(12, Self.render(unnamed)) + "TASK 13:\n\n\n" + Self.task(14, plainSpaces)
            + Self.task(15, twoRoots) + Self.separator
        let path = try TaskParserTest.write(first + "\n" + second, "built.txt", in: folder)
        #expect(TaskDumpParser.recognizes(Data((first + second).utf8)))
        let snapshot = try TaskDumpParser().parse(path: path).snapshot

        #expect(snapshot.warnings == ["the file holds 2 dumps; only the last one is counted"])
        #expect(
            snapshot.groups.map { $0.frames.map(\.name) } == [
                ["app::serve", "app::serve::{{closure}}", "tokio::sync::mpsc::chan::Rx<T,S>"],
                ["[unnamed] at /src/lib.rs", "foo::bar", "[unnamed]"],
                ["<empty trace>"],
                ["m::first", "m::leaf"],
            ])
        #expect(snapshot.groups.map(\.metrics.liveTasks) == [3, 1, 1, 1])
        #expect(snapshot.groups.map(\.metrics.idleTasks) == [3, 1, 1, 1])
        #expect(
            snapshot.groups[0].frames[1]
                == TaskFrame(name: "app::serve::{{closure}}", file: "/w/app/src/main.rs", line: 21, column: 9))
        #expect(
            snapshot.groups[1].frames[0]
                == TaskFrame(name: "[unnamed] at /src/lib.rs", file: "/src/lib.rs", line: 5, column: 1))
        #expect(snapshot.groups[1].frames[1] == TaskFrame(name: "foo::bar"))
        #expect(snapshot.liveTasks == 6)

        // A repeated task id without separators also starts a new dump.
        let repeated =
            Self.task(1, Self.render(Self.select)) + Self.task(2, Self.render(Self.select))
            + Self.task(1, Self.render(Self.select))
        let again = try TaskDumpParser().parse(path: try TaskParserTest.write(repeated, "repeated.txt", in: folder))
            .snapshot
        #expect(again.liveTasks == 1)
        #expect(again.warnings == ["the file holds 2 dumps; only the last one is counted"])

        // Only separators: a dump of a runtime with no tasks.
        let none = try TaskDumpParser().parse(
            path: try TaskParserTest.write(Self.separator + Self.separator, "none.txt", in: folder)
        ).snapshot
        #expect(none.groups.isEmpty)
        #expect(none.warnings == ["the dump lists no tasks"])
    }

    @Test("file and line of frames: optional parts")
    func framePieces() throws {
        let folder = try Fixtures.temporaryFolder()
        let tree = Self.render(Node("a::b at /x/y.rs:10", [Node("c::d at /x/z.rs"), Node("e::f at /x/w.rs:1:2")]))
        let snapshot = try TaskDumpParser().parse(
            path: try TaskParserTest.write(Self.task(1, tree), "pieces.txt", in: folder)
        ).snapshot
        // Paths [a::b, c::d] and [a::b, e::f]: c::d is the smaller.
        #expect(
            snapshot.groups.first?.frames == [
                TaskFrame(name: "a::b", file: "/x/y.rs", line: 10), TaskFrame(name: "c::d", file: "/x/z.rs"),
            ])
    }

    // MARK: - Broken input

    @Test("broken trees and TASK lines throw with the file and line")
    func brokenTrees() throws {
        let folder = try Fixtures.temporaryFolder()
        let nb = "\u{A0}"
        func check(_ text: String, line: Int, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation)
            throws
        {
            let path = try TaskParserTest.write(text, "broken.txt", in: folder)
            TaskParserTest.expectError(path: path, line: line, containing: fragment, sourceLocation: sourceLocation) {
                _ = try TaskDumpParser().parse(path: path)
            }
        }
        let root = "TASK 1:\n╼\(nb)a at /x.rs:1:1\n"
        try check(
            root + String(repeating: nb, count: 5) + "└╼\(nb)b\n", line: 3,
            "a child can be only one level below its parent")
        try check(root + "\(nb)\(nb)└x\(nb)b\n", line: 3, "expected '╼' after '└'")
        try check(root + String(repeating: nb, count: 4) + "└╼\(nb)b\n", line: 3, "bad tree indentation: 4 characters")
        try check(root + "│\(nb)└╼\(nb)b\n", line: 3, "the first level is indented by two spaces")
        try check(root + "\(nb)\(nb)└╼\(nb)b\n\(nb)\(nb)│x\(nb)└╼\(nb)c\n", line: 4, "bad tree line")
        try check(root + "\(nb)\(nb)└╼b\n", line: 3, "expected a space after '╼'")
        try check(root + "hello\n", line: 3, "expected a tree line")
        try check("TASK 1:\n\(nb)\(nb)└╼\(nb)b\n", line: 2, "must be a root frame")
        try check("TASK:\n╼\(nb)a\n", line: 1, "expected 'TASK <id>:'")
        try check("TASK x:\n", line: 1, "expected 'TASK <id>:'")
        try check("TASK 1:\n╼\(nb)a\n\n╼\(nb)b\n", line: 4, "tree line outside a task")
        try check("METRICS x=1\nnothing else\n", line: 2, "no 'TASK <id>:' line")
        try check("", line: 1, "empty file")
    }

    @Test("any bytes: never a crash, only results or InputErrors")
    func garbage() throws {
        let folder = try Fixtures.temporaryFolder()
        let real = try Data(contentsOf: TaskFixtures.sample("taskdump.tokio-1.53.1.txt"))
        var generator = SplitMix64(seed: 0xD0_5EED)
        for round in 0..<200 {
            var bytes = [UInt8](real)
            for _ in 0..<(1 + round % 8) {
                let at = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[at] = UInt8.random(in: 0...255, using: &generator)
            }
            let path = folder.appendingPathComponent("garbage.txt").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                _ = try TaskDumpParser().parse(path: path)
            } catch is InputError {
            }
        }
    }
}
