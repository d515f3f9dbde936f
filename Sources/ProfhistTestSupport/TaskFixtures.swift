import Foundation

/// Task snapshot inputs made by the real serializers: tokio-console `Update` streams printed by protobuf's own
/// JSON printer (`Fixtures/console/make_updates.py` over `console.proto`, which follows console-api's field
/// names and numbers), as grpcurl prints them.
public enum TaskFixtures {
    /// How the printed `Update` objects are laid out in the file.
    public enum Framing: String, Sendable {
        /// Pretty objects one after another (grpcurl's default output).
        case pretty
        /// One compact object per line.
        case lines
    }

    /// Why the console fixtures cannot be made here, or nil when they can (python3 with the `protobuf` and
    /// `grpcio-tools` packages). Checked once.
    public static let protobufUnavailableReason: String? = {
        guard Fixtures.available("python3") else { return "python3 is not on PATH" }
        guard let result = try? Fixtures.run("python3", ["-c", "import google.protobuf, grpc_tools.protoc"]),
            result.status == 0
        else {
            return "python3 lacks protobuf/grpcio-tools (python3 -m pip install protobuf grpcio-tools)"
        }
        return nil
    }()

    /// Whether console fixtures can be made; prints why not, once, so a skipped test is never silent.
    public static var protobufAvailable: Bool {
        if let reason = protobufUnavailableReason {
            announceSkip.once { print("⚠️ skipping tokio-console JSON fixture tests: \(reason)") }
            return false
        }
        return true
    }

    /// Prints the `Update` messages of `scenario` (the JSON that `make_updates.py` documents) into a new file.
    /// - Parameters:
    ///   - emitDefaults: print default values too, as `grpcurl -emit-defaults` does.
    /// - Returns: the file.
    public static func consoleUpdates(
        scenario: String, framing: Framing = .pretty, emitDefaults: Bool = false, in folder: URL,
        name: String = "updates.json"
    ) throws -> URL {
        let scenarioFile = folder.appendingPathComponent("\(name).scenario.json")
        try scenario.write(to: scenarioFile, atomically: true, encoding: .utf8)
        let script = Fixtures.sourceFolder.appendingPathComponent("console/make_updates.py").path
        var arguments = [script, scenarioFile.path, "--framing", framing.rawValue]
        if emitDefaults { arguments.append("--emit-defaults") }
        let result = try Fixtures.run("python3", arguments)
        guard result.status == 0 else { throw FixtureError.failed("make_updates.py: \(result.stderr)") }
        let output = folder.appendingPathComponent(name)
        try result.stdout.write(to: output, atomically: true, encoding: .utf8)
        return output
    }

    /// Copies of the shared reference's task snapshot samples (`Fixtures/tasks/`, see its README): real task
    /// dumps, protobuf-printed Update streams, and recording lines in the recorder's serde shapes.
    public static func sample(_ name: String) -> URL {
        Fixtures.sourceFolder.appendingPathComponent("tasks").appendingPathComponent(name)
    }

    private static let announceSkip = Once()
}

/// Runs a closure the first time only.
final class Once: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false

    func once(_ body: () -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard !done else { return }
        done = true
        body()
    }
}
