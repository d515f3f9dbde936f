import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

@Suite("child process")
struct ChildProcessTests {
    @Test("stdin, stdout and stderr beyond pipe sizes, the exit status; a missing program is an error; cancel")
    func runs() throws {
        let input = try Fixtures.temporaryFolder().appendingPathComponent("in.txt")
        // More than a pipe holds, on both streams, so a child blocked on a full pipe would hang this test.
        let line = String(repeating: "x", count: 1000) + "\n"
        try String(repeating: line, count: 200).write(to: input, atomically: true, encoding: .utf8)
        let text = String(repeating: line, count: 200)
        let output = try ChildProcess.run("/bin/sh", ["-c", "cat; cat \"$0\" >&2; exit 3", input.path], input: text)
        #expect(output.status == 3)
        #expect(output.stdout.count == 200_200)
        #expect(output.stderr.count == 200_200)
        #expect(throws: ChildProcess.Failure.self) {
            try ChildProcess.run("/nonexistent/llvm-symbolizer", [], input: "")
        }
        // A child that exits without reading its input: no SIGPIPE for us, just its status.
        let early = try ChildProcess.run("/bin/sh", ["-c", "exit 5"], input: text)
        #expect(early.status == 5)
        // Started and not needed: cancel kills it and returns, though `cat` would wait for input forever.
        try ChildProcess("/bin/cat", []).cancel()
    }
}
