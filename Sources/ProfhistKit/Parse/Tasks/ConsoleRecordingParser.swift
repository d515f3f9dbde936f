import Foundation

/// Reads console-subscriber's recording (`TOKIO_CONSOLE_RECORD_PATH`): JSON lines, `{"v":1}` first, then one
/// serde-tagged event per line (`Spawn`, `Enter`, `Exit`, `Close`, `Waker`).
///
/// The live set is rebuilt at the last event, with console-subscriber's own bookkeeping: a `Spawn` without a
/// `Close` is live; the first `Enter` of a task starts a poll (nested enters do not count again) and the matching
/// `Exit` ends it (busy time); a task entered and not exited at the end is running; `Wake` and `WakeByRef` count
/// wakes (and self wakes) and set the last wake; the waker count is `Clone` − `Drop`, where a wake by value also
/// consumes its waker (console-subscriber counts it as a drop, since `Waker::wake` emits no drop event); the time
/// from the later of the last wake and the last poll end to the next poll start is scheduled time. States and
/// the lost-waker lint follow tokio-console (see `TaskMetrics`). Completed tasks count in `completedTasks`.
///
/// Recordings carry no spawn location (console-subscriber removes the `loc.*` fields), so tasks are grouped by
/// their `task.name` and `kind` fields, as one frame named `name=<task.name>;kind=<kind>` (`name=;kind=task` for
/// an unnamed `tokio::spawn`), and the snapshot always carries a warning saying so.
///
/// Span ids are JSON numbers up to 2^64 − 1 and are read exactly. An unfinished last line (no newline: the app was
/// still writing) is skipped with a warning; any other bad line is an error.
public struct ConsoleRecordingParser {
    /// The result of parsing one file: the snapshot, and the SHA-256 and size of the bytes it was read from.
    public struct Result: Sendable {
        public var snapshot: TaskSnapshot
        public var digest: String
        public var byteCount: Int
    }

    /// The recording format this parser reads (console-subscriber's `DATA_FORMAT_VERSION`).
    public static let supportedVersion: UInt64 = 1

    /// The warning every recording snapshot carries.
    public static let noLocationWarning = "recordings carry no spawn location; tasks are grouped by name and kind"

    public init() {}

    /// The frame name of a recording's task group.
    public static func groupName(taskName: String, kind: String) -> String { "name=\(taskName);kind=\(kind)" }

    /// Whether the first bytes of a file look like a recording: a JSON object whose first member is `"v"`.
    public static func recognizes(_ prefix: Data) -> Bool {
        JSONPrefix.startsWithVersionKey(JSONPrefix.trimmed(prefix.prefix(4096)))
    }

    /// Parses the recording at `path`.
    /// - Throws: `InputError` naming the file and line of the first problem: a missing or unsupported version
    ///   line, a line that is not JSON, or an event of the wrong shape.
    public func parse(path: String) throws -> Result {
        try parse(input: InputSource.open(path: path))
    }

    /// Parses `input` from where it stands (bytes peeked for format detection are read again from memory).
    public func parse(input: InputSource) throws -> Result {
        let path = input.path
        var reader = LineReader(input: input)
        defer { reader.close() }
        var state = RecordingState(path: path)
        while (try reader.nextLine({ line, number in try state.consume(line, number: number) })) != nil {}
        try state.finish(lastLine: reader.lineNumber, terminated: reader.lastLineTerminated)
        return Result(snapshot: state.snapshot(), digest: reader.finalizeDigest(), byteCount: reader.bytesRead)
    }
}

// MARK: - State

private struct RecordingState {
    struct Task {
        var group: Int
        var stats = TaskStatsRecord()
        /// Enters not yet exited (a span can be entered again while entered).
        var depth = 0
    }

    let path: String
    var sawVersion = false
    var tasks: [UInt64: Task] = [:]
    var groups = TaskGroupTable()
    var now: TaskInstant?
    /// A line that failed to parse, reported when another line follows it (only the last line may be unfinished).
    var pendingError: InputError?
    var skippedIncompleteLine: Int?
    var unknownEvents = 0
    var respawned = 0

    init(path: String) { self.path = path }

    mutating func consume(_ line: UnsafeBufferPointer<UInt8>, number: Int) throws {
        if let pendingError { throw pendingError }
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        let value: JSONValue
        do {
            value = try JSONReader.parse(line)
        } catch let error as JSONSyntaxError {
            let message = "bad JSON: \(error.message) (column \(error.offset + 1))"
            if !sawVersion {
                throw InputError.malformed(
                    path: path, line: number,
                    message: "expected the version line {\"v\":1}, got '\(InputError.quote(line))'")
            }
            pendingError = InputError.malformed(path: path, line: number, message: message)
            return
        }
        do {
            if !sawVersion {
                try readVersion(value, line: line, number: number)
                sawVersion = true
            } else {
                try apply(value)
            }
        } catch let error as JSONShapeError {
            throw InputError.malformed(path: path, line: number, message: error.message)
        }
    }

    mutating func finish(lastLine: Int, terminated: Bool) throws {
        if let pendingError {
            guard !terminated else { throw pendingError }
            skippedIncompleteLine = lastLine
        }
        guard sawVersion else {
            throw InputError.malformed(
                path: path, line: max(lastLine, 1), message: "empty recording: expected the version line {\"v\":1}")
        }
    }

    func readVersion(_ value: JSONValue, line: UnsafeBufferPointer<UInt8>, number: Int) throws {
        guard case .object(let members) = value, let version = members["v"] else {
            throw InputError.malformed(
                path: path, line: number,
                message: "expected the version line {\"v\":1}, got '\(InputError.quote(line))'")
        }
        guard let v = try? version.uint64("v"), v == ConsoleRecordingParser.supportedVersion else {
            let shown: String
            switch version {
            case .number(let text), .string(let text): shown = String(text.prefix(20))
            default: shown = version.kindName
            }
            throw InputError.malformed(
                path: path, line: number,
                message:
                    "unsupported recording version \(shown) (profhist reads version \(ConsoleRecordingParser.supportedVersion))"
            )
        }
    }

    // MARK: Events

    mutating func apply(_ value: JSONValue) throws {
        let event = try value.members("an event")
        guard event.count == 1, let (kind, body) = event.first else {
            throw JSONShapeError(
                message:
                    "an event must be an object with one member (Spawn, Enter, Exit, Close or Waker), got \(event.count)"
            )
        }
        switch kind {
        case "Spawn": try spawn(body.members("Spawn"))
        case "Enter": try enterSpan(body.members("Enter"))
        case "Exit": try exitSpan(body.members("Exit"))
        case "Close":
            let fields = try body.members("Close")
            let id = try RecordingState.id(fields, "Close")
            advance(to: try RecordingState.time(fields, "Close"))
            guard let task = tasks.removeValue(forKey: id) else { return }  // every span closes, not only tasks
            groups.update(task.group) { $0.completedTasks = $0.completedTasks.clampedAdding(1) }
        case "Waker": try waker(body.members("Waker"))
        default:
            unknownEvents += 1
        }
    }

    private mutating func spawn(_ fields: [String: JSONValue]) throws {
        let id = try RecordingState.id(fields, "Spawn")
        let at = try RecordingState.time(fields, "Spawn")
        var name = ""
        var taskKind = ""
        if let list = fields["fields"] {
            for (i, fieldValue) in try list.elements("Spawn.fields").enumerated() {
                let field = try fieldValue.members("Spawn.fields[\(i)]")
                guard let fieldName = field["name"] else { continue }
                let text = try fieldName.text("Spawn.fields[\(i)].name")
                guard text == "task.name" || text == "kind",
                    let fieldText = field["value"].map(RecordingState.display)
                else {
                    continue
                }
                if text == "task.name" { name = fieldText } else { taskKind = fieldText }
            }
        }
        advance(to: at)
        if let old = tasks[id] {
            // A span id is reused only after its span closed; the Close was not recorded.
            respawned += 1
            groups.update(old.group) { $0.completedTasks = $0.completedTasks.clampedAdding(1) }
        }
        let groupName = ConsoleRecordingParser.groupName(taskName: name, kind: taskKind)
        let group = groups.index(key: groupName, frames: [TaskFrame(name: groupName)])
        tasks[id] = Task(group: group)
    }

    private mutating func enterSpan(_ fields: [String: JSONValue]) throws {
        let id = try RecordingState.id(fields, "Enter")
        let at = try RecordingState.time(fields, "Enter")
        advance(to: at)
        guard var task = tasks[id] else { return }  // async ops and resources are entered too
        if task.depth == 0 {
            task.stats.polls &+= 1
            let waitedSince = later(task.stats.lastWake, task.stats.lastPollEnded)
            if let waitedSince {
                task.stats.scheduledNanoseconds = task.stats.scheduledNanoseconds.clampedAdding(
                    at.nanoseconds(since: waitedSince))
            }
            task.stats.lastPollStarted = at
        }
        task.depth += 1
        tasks[id] = task
    }

    private mutating func exitSpan(_ fields: [String: JSONValue]) throws {
        let id = try RecordingState.id(fields, "Exit")
        let at = try RecordingState.time(fields, "Exit")
        advance(to: at)
        guard var task = tasks[id], task.depth > 0 else { return }
        task.depth -= 1
        if task.depth == 0 {
            task.stats.lastPollEnded = at
            if let started = task.stats.lastPollStarted {
                task.stats.busyNanoseconds = task.stats.busyNanoseconds.clampedAdding(
                    at.nanoseconds(since: started))
            }
        }
        tasks[id] = task
    }

    private mutating func waker(_ fields: [String: JSONValue]) throws {
        let id = try RecordingState.id(fields, "Waker")
        let at = try RecordingState.time(fields, "Waker")
        guard let op = fields["op"] else { throw JSONShapeError(message: "Waker has no 'op'") }
        advance(to: at)
        let operation = try RecordingState.wakeOp(op)
        guard var task = tasks[id] else { return }
        switch operation {
        case .clone:
            task.stats.wakerClones &+= 1
        case .drop:
            task.stats.wakerDrops &+= 1
        case .wake(let selfWake, let byValue):
            if byValue { task.stats.wakerDrops &+= 1 }
            task.stats.wakes &+= 1
            if selfWake { task.stats.selfWakes &+= 1 }
            task.stats.lastWake = later(task.stats.lastWake, at)
        }
        tasks[id] = task
    }

    enum WakeOperation {
        case clone, drop
        case wake(selfWake: Bool, byValue: Bool)
    }

    static func wakeOp(_ value: JSONValue) throws -> WakeOperation {
        switch value {
        case .string("Clone"): return .clone
        case .string("Drop"): return .drop
        case .object(let members) where members.count == 1:
            guard let (name, body) = members.first, name == "Wake" || name == "WakeByRef" else { break }
            let fields = try body.members("Waker.op.\(name)")
            let selfWake = try fields["self_wake"].map { try $0.boolean("Waker.op.\(name).self_wake") } ?? false
            return .wake(selfWake: selfWake, byValue: name == "Wake")
        default:
            break
        }
        throw JSONShapeError(
            message: "Waker 'op' must be \"Clone\", \"Drop\", {\"Wake\":{...}} or {\"WakeByRef\":{...}}")
    }

    static func id(_ fields: [String: JSONValue], _ event: String) throws -> UInt64 {
        guard let value = fields["id"] else { throw JSONShapeError(message: "\(event) has no 'id'") }
        return try value.uint64("\(event).id")
    }

    /// serde's `SystemTime`: `{"secs_since_epoch": u64, "nanos_since_epoch": u32}`.
    static func time(_ fields: [String: JSONValue], _ event: String) throws -> TaskInstant {
        guard let value = fields["at"] else { throw JSONShapeError(message: "\(event) has no 'at'") }
        let at = try value.members("\(event).at")
        guard let secs = at["secs_since_epoch"], let nanos = at["nanos_since_epoch"] else {
            throw JSONShapeError(message: "\(event).at must have secs_since_epoch and nanos_since_epoch")
        }
        let seconds = try secs.uint64("\(event).at.secs_since_epoch")
        let nanoseconds = try nanos.uint64("\(event).at.nanos_since_epoch")
        return TaskInstant(seconds: Int64(clamping: seconds), nanoseconds: Int64(clamping: nanoseconds))
    }

    /// A field value as text: strings as they are, numbers as written, booleans as `true`/`false`.
    static func display(_ value: JSONValue) -> String {
        switch value {
        case .string(let text), .number(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return ""
        case .array, .object: return ""
        }
    }

    mutating func advance(to at: TaskInstant) {
        if now.map({ at > $0 }) ?? true { now = at }
    }

    // MARK: Result

    func snapshot() -> TaskSnapshot {
        var table = groups
        for task in tasks.values {
            table.update(task.group) { task.stats.addLive(to: &$0, now: now) }
        }
        var warnings = [ConsoleRecordingParser.noLocationWarning]
        if let skippedIncompleteLine {
            warnings.append(
                "line \(skippedIncompleteLine) is unfinished (the app was still writing the recording); skipped")
        }
        if unknownEvents > 0 { warnings.append("\(unknownEvents) events of unknown kinds were skipped") }
        if respawned > 0 {
            warnings.append(
                "\(respawned) span ids were spawned again without a recorded Close; the earlier tasks count as completed"
            )
        }
        return TaskSnapshot(
            format: .consoleRecording, takenAt: now?.epochMilliseconds, groups: table.groups, warnings: warnings)
    }
}

/// The later of two optional instants (absent is earliest).
private func later(_ a: TaskInstant?, _ b: TaskInstant?) -> TaskInstant? {
    TaskStatsRecord.isLater(b, than: a) ? b : a
}
