import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Small helpers shared by the task snapshot parser tests.
enum TaskParserTest {
    /// Writes `text` to `folder/name` and returns the path.
    static func write(_ text: String, _ name: String, in folder: URL) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// The `InputError` that `body` throws, or nil (any other error, or none, is nil).
    static func inputError(_ body: () throws -> Void) -> InputError? {
        do {
            try body()
            return nil
        } catch let error as InputError {
            return error
        } catch {
            return nil
        }
    }

    /// Checks that `body` throws an `InputError` whose message starts with `path:line:` and contains `fragment`.
    static func expectError(
        path: String, line: Int, containing fragment: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () throws -> Void
    ) {
        guard let error = inputError(body) else {
            Issue.record("expected an InputError at \(path):\(line)", sourceLocation: sourceLocation)
            return
        }
        let message = error.localizedDescription
        #expect(message.hasPrefix("\(path):\(line): "), "message: \(message)", sourceLocation: sourceLocation)
        #expect(message.contains(fragment), "message: \(message)", sourceLocation: sourceLocation)
    }

    /// The group whose first frame is named `name`.
    static func group(_ snapshot: TaskSnapshot, _ name: String) -> TaskGroup? {
        snapshot.groups.first { $0.frames.first?.name == name }
    }

    /// Builds metrics from the counts a test expects (unlisted ones 0).
    static func metrics(
        live: Int64 = 0, idle: Int64 = 0, running: Int64 = 0, scheduled: Int64 = 0, completed: Int64 = 0,
        polls: Int64 = 0,
        busy: Int64 = 0, scheduledTime: Int64 = 0, wakes: Int64 = 0, selfWakes: Int64 = 0, lostWakers: Int64 = 0
    ) -> TaskMetrics {
        var m = TaskMetrics()
        m.liveTasks = live
        m.idleTasks = idle
        m.runningTasks = running
        m.scheduledTasks = scheduled
        m.completedTasks = completed
        m.polls = polls
        m.busyNanoseconds = busy
        m.scheduledNanoseconds = scheduledTime
        m.wakes = wakes
        m.selfWakes = selfWakes
        m.lostWakers = lostWakers
        return m
    }
}
