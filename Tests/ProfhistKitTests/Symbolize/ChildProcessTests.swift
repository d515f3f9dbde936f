import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

@Suite("child process")
struct ChildProcessTests {
    @Test("stdin from a file; stdout, stderr and the exit status come back; a missing program is an error")
    func runs() throws {
        let input = try Fixtures.temporaryFolder().appendingPathComponent("in.txt")
        // More than a pipe holds, on both streams, so a child blocked on a full pipe would hang this test.
        let line = String(repeating: "x", count: 1000) + "\n"
        try String(repeating: line, count: 200).write(to: input, atomically: true, encoding: .utf8)
        let output = try ChildProcess.run("/bin/sh", ["-c", "cat; cat \"$0\" >&2; exit 3", input.path], stdinFile: input.path)
        #expect(output.status == 3)
        #expect(output.stdout.count == 200_200)
        #expect(output.stderr.count == 200_200)
        #expect(throws: ChildProcess.Failure.self) {
            try ChildProcess.run("/nonexistent/llvm-symbolizer", [], stdinFile: input.path)
        }
    }
}
