import Foundation
import ProfhistTestSupport
import Testing

/// Runs the real binary through bash, for what only a shell can arrange: redirections to /dev/full, closed
/// descriptors, pipes whose reader has gone, process substitution, private mount namespaces.
enum Shell {
    /// Runs `script` with `$P` set to the profhist executable and `$D` to `folder`.
    @discardableResult
    static func run(_ script: String, in folder: URL, environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        var env = environment
        env["P"] = Fixtures.profhistExecutable.path
        env["D"] = folder.path
        return try Fixtures.run("/bin/bash", ["-c", script], environment: env)
    }

    /// Whether the tests may mount file systems and make device nodes (root, with unshare). Without it the test
    /// is skipped with a message, or, when `CI` is set, fails: CI must run these.
    static func canMount(sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        if getuid() == 0 && Fixtures.available("unshare") { return true }
        if ProcessInfo.processInfo.environment["CI"] != nil {
            Issue.record("this test needs root and unshare (util-linux) to mount a private tmpfs", sourceLocation: sourceLocation)
        } else {
            print("skipped: needs root and unshare to mount a private tmpfs")
        }
        return false
    }

    /// The error lines of a command's stderr.
    static func errorLines(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.contains("error:") }
    }

    /// Files in `folder` whose names end in `.tmp` (temporary files left behind).
    static func temporaryFiles(in folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".tmp") }
    }
}
