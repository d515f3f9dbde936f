import Foundation

/// Reads tokio-console's `WatchUpdates` stream in protobuf's canonical JSON, as grpcurl prints it: one pretty
/// object per `Update`, concatenated, or one compact object per line (objects are found by their braces, so any
/// mix works).
///
/// Every `Update` is applied in order, as tokio-console does: `newTasks` adds tasks keyed by their span id (the
/// `statsUpdate` map key), each `statsUpdate` entry replaces the task's stats, and a `droppedAt` completes the
/// task. The snapshot is the state after the last message, at that message's `now`:
/// - live tasks are grouped by spawn location `file:line:col`, with cargo registry prefixes shortened as
///   tokio-console does (`<cargo>/tokio-1.47.1/src/x.rs`); tasks without a location go to `<no location>`;
/// - per group: live / idle / running / scheduled by tokio-console's state rules, polls, busy and scheduled time
///   (including the current poll or wait, up to `now`), wakes, self wakes and lost wakers, summed over live tasks;
///   completed tasks are counted in `completedTasks` only.
///
/// Span ids are reused once a span closes: a `newTasks` entry whose id belongs to a dropped task, or to a task with
/// a different `task.id` field (tokio's own task id, unique per process), replaces it and the old task counts as
/// completed; the same `task.id` again (a re-subscription's full state appended to the file) updates the task.
///
/// Both protobuf JSON spellings of member names are read (`taskUpdate` and `task_update`); uint64 values may be
/// strings (the canonical form) or numbers; Timestamps and Durations take 0 to 9 fraction digits and are exact.
public struct TokioConsoleParser {
    /// The result of parsing one file: the snapshot, and the SHA-256 and size of the bytes it was read from.
    public struct Result: Sendable {
        public var snapshot: TaskSnapshot
        public var digest: String
        public var byteCount: Int
    }

    /// The group of tasks whose spawn location console did not report.
    public static let noLocationName = "<no location>"

    public init() {}

    /// Whether the first bytes of a file look like a console `Update` stream: a JSON object with one of the
    /// `Update` members (`now`, `taskUpdate`, `newMetadata`) in the prefix, and not a recording's `{"v":` line.
    public static func recognizes(_ prefix: Data) -> Bool {
        let bytes = JSONPrefix.trimmed(prefix.prefix(64 * 1024))
        guard bytes.first == UInt8(ascii: "{"), !JSONPrefix.startsWithVersionKey(bytes) else { return false }
        let text = String(decoding: bytes, as: UTF8.self)
        return ["\"now\"", "\"taskUpdate\"", "\"newMetadata\"", "\"task_update\"", "\"new_metadata\""].contains {
            text.contains($0)
        }
    }

    /// Parses the stream at `path`.
    /// - Throws: `InputError` naming the file and the line where the first bad object starts; an empty stream
    ///   or one cut inside an object is an error.
    public func parse(path: String) throws -> Result {
        try parse(input: InputSource.open(path: path))
    }

    /// Parses `input` from where it stands (bytes peeked for format detection are read again from memory).
    public func parse(input: InputSource) throws -> Result {
        let path = input.path
        var reader = LineReader(input: input)
        defer { reader.close() }
        var stream = JSONObjectStream(path: path)
        var state = ConsoleState(path: path)
        while (try reader.nextLine({ line, number in
            try stream.feed(line, number: number) { object, startLine in try state.apply(object, startLine: startLine) }
        })) != nil {}
        try stream.finish(lastLine: reader.lineNumber)
        guard stream.objectCount > 0 else {
            throw InputError.malformed(
                path: path, line: max(reader.lineNumber, 1),
                message: "no Update object: expected tokio-console's WatchUpdates stream as JSON (grpcurl's output)")
        }
        return Result(snapshot: state.snapshot(), digest: reader.finalizeDigest(), byteCount: reader.bytesRead)
    }

    /// Shortens a cargo registry or git checkout path as tokio-console's `truncate_registry_path` does (the regex
    /// `.*/\.cargo(/registry/src/[^/]*/|/git/checkouts/)` replaced by `<cargo>/`):
    /// `/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.47.1/src/x.rs` becomes
    /// `<cargo>/tokio-1.47.1/src/x.rs`.
    public static func shortenRegistryPath(_ path: String) -> String {
        let bytes = Array(path.utf8)
        let marker = Array("/.cargo".utf8)
        let registry = Array("/registry/src/".utf8)
        let checkouts = Array("/git/checkouts/".utf8)
        // The regex's greedy `.*` takes the last `/.cargo` after which the rest matches.
        var start = bytes.count - marker.count
        while start >= 0 {
            if bytes[start..<(start + marker.count)].elementsEqual(marker) {
                let after = start + marker.count
                if bytes[after...].starts(with: registry) {
                    // `[^/]*/`: the index folder and its slash.
                    let indexStart = after + registry.count
                    if let slash = bytes[indexStart...].firstIndex(of: UInt8(ascii: "/")) {
                        return "<cargo>/" + String(decoding: bytes[(slash + 1)...], as: UTF8.self)
                    }
                } else if bytes[after...].starts(with: checkouts) {
                    return "<cargo>/" + String(decoding: bytes[(after + checkouts.count)...], as: UTF8.self)
                }
            }
            start -= 1
        }
        return path
    }
}

// MARK: - State

/// The tasks seen so far, as tokio-console's client keeps them.
private struct ConsoleState {
    struct Task {
        /// The `task.id` field: tokio's task id, stable while the process lives (span ids are reused).
        var taskID: UInt64?
        var group: Int
        var stats = TaskStatsRecord()
        var hasLocation: Bool
    }

    let path: String
    var tasks: [UInt64: Task] = [:]
    var groups = TaskGroupTable()
    var now: TaskInstant?
    var droppedEvents: UInt64 = 0
    var unknownStats = 0
    var replacedBeforeDrop = 0
    var updateIndex = 0

    init(path: String) { self.path = path }

    static let updateMembers: Set<String> = [
        "now", "taskUpdate", "task_update", "resourceUpdate", "resource_update", "asyncOpUpdate", "async_op_update",
        "newMetadata", "new_metadata",
    ]

    /// Parses one `Update` object and applies it.
    mutating func apply(_ bytes: [UInt8], startLine: Int) throws {
        updateIndex += 1
        let value: JSONValue
        do {
            value = try JSONReader.parse(bytes)
        } catch let error as JSONSyntaxError {
            let position = JSONReader.position(of: error.offset, in: bytes)
            throw InputError.malformed(
                path: path, line: startLine,
                message: "bad JSON in the Update starting on this line: \(error.message) "
                    + "(line \(startLine + position.line - 1), column \(position.column))")
        }
        do {
            try applyUpdate(value)
        } catch let error as JSONShapeError {
            throw InputError.malformed(path: path, line: startLine, message: "Update #\(updateIndex): \(error.message)")
        }
    }

    mutating func applyUpdate(_ value: JSONValue) throws {
        let update = try value.members("an Update")
        if !update.isEmpty && !update.keys.contains(where: ConsoleState.updateMembers.contains) {
            let keys = update.keys.sorted().prefix(4).joined(separator: ", ")
            throw JSONShapeError(
                message: "not a tokio-console Update (members: \(keys); expected 'now', 'taskUpdate', ...)")
        }
        if let value = update.member("now") { now = try ConsoleState.timestamp(value, "'now'") }
        // The other members must at least be objects; their content is not needed for tasks.
        for (camel, original) in [
            ("resourceUpdate", "resource_update"), ("asyncOpUpdate", "async_op_update"),
            ("newMetadata", "new_metadata"),
        ] {
            if let other = update.member(camel, original) { _ = try other.members("'\(camel)'") }
        }
        guard let taskValue = update.member("taskUpdate", "task_update") else { return }
        let taskUpdate = try taskValue.members("'taskUpdate'")
        if let newTasks = taskUpdate.member("newTasks", "new_tasks") {
            for (i, task) in try newTasks.elements("'newTasks'").enumerated() {
                try addTask(task, what: "newTasks[\(i)]")
            }
        }
        if let statsUpdate = taskUpdate.member("statsUpdate", "stats_update") {
            for (key, statsValue) in try statsUpdate.members("'statsUpdate'") {
                guard let id = JSONValue.exactUInt64(key) else {
                    throw JSONShapeError(
                        message: "'statsUpdate' keys must be task ids (unsigned integers), got '\(key.prefix(40))'")
                }
                let stats = try ConsoleState.stats(statsValue, what: "statsUpdate[\"\(key)\"]")
                if tasks[id] != nil {
                    tasks[id]?.stats = stats
                } else {
                    unknownStats += 1
                }
            }
        }
        if let dropped = taskUpdate.member("droppedEvents", "dropped_events") {
            let (sum, overflow) = droppedEvents.addingReportingOverflow(try dropped.uint64("'droppedEvents'"))
            droppedEvents = overflow ? .max : sum
        }
    }

    mutating func addTask(_ value: JSONValue, what: String) throws {
        let task = try value.members(what)
        var spanID: UInt64 = 0
        if let id = task.member("id") {
            let idMembers = try id.members("\(what).id")
            if let inner = idMembers.member("id") { spanID = try inner.uint64("\(what).id.id") }
        }
        var taskID: UInt64? = nil
        if let fields = task.member("fields") {
            for (i, fieldValue) in try fields.elements("\(what).fields").enumerated() {
                let field = try fieldValue.members("\(what).fields[\(i)]")
                guard let name = field.member("strName", "str_name"),
                    try name.text("\(what).fields[\(i)].strName") == "task.id",
                    let number = field.member("u64Val", "u64_val")
                else { continue }
                taskID = try number.uint64("\(what).fields[\(i)].u64Val")
            }
        }
        var key = TokioConsoleParser.noLocationName
        var frame = TaskFrame(name: key)
        var hasLocation = false
        if let locationValue = task.member("location") {
            let location = try locationValue.members("\(what).location")
            if let fileValue = location.member("file") {
                let file = TokioConsoleParser.shortenRegistryPath(try fileValue.text("\(what).location.file"))
                let line = try location.member("line").map { try $0.uint64("\(what).location.line") }
                let column = try location.member("column").map { try $0.uint64("\(what).location.column") }
                key = file
                if let line {
                    key += ":\(line)"
                    if let column { key += ":\(column)" }
                }
                frame = TaskFrame(
                    name: key, file: file, line: line.map { Int(clamping: $0) },
                    column: column.map { Int(clamping: $0) })
                hasLocation = true
            }
        }
        if let existing = tasks[spanID] {
            let sameTask: Bool
            if let old = existing.taskID, let new = taskID {
                sameTask = old == new
            } else {
                sameTask = existing.stats.droppedAt == nil
            }
            if sameTask {
                // Listed again (a new subscription's full state): keep its stats.
                tasks[spanID]?.taskID = taskID ?? existing.taskID
                return
            }
            // The span id was reused: the old task ended.
            if existing.stats.droppedAt == nil { replacedBeforeDrop += 1 }
            groups.update(existing.group) { $0.completedTasks = $0.completedTasks.clampedAdding(1) }
        }
        let group = groups.index(key: key, frames: [frame])
        tasks[spanID] = Task(taskID: taskID, group: group, hasLocation: hasLocation)
    }

    // MARK: Messages

    static func stats(_ value: JSONValue, what: String) throws -> TaskStatsRecord {
        let stats = try value.members(what)
        var record = TaskStatsRecord()
        if let created = stats.member("createdAt", "created_at") { _ = try timestamp(created, "\(what).createdAt") }
        record.droppedAt = try stats.member("droppedAt", "dropped_at").map { try timestamp($0, "\(what).droppedAt") }
        record.wakes = try stats.member("wakes").map { try $0.uint64("\(what).wakes") } ?? 0
        record.wakerClones =
            try stats.member("wakerClones", "waker_clones").map { try $0.uint64("\(what).wakerClones") } ?? 0
        record.wakerDrops =
            try stats.member("wakerDrops", "waker_drops").map { try $0.uint64("\(what).wakerDrops") } ?? 0
        record.selfWakes = try stats.member("selfWakes", "self_wakes").map { try $0.uint64("\(what).selfWakes") } ?? 0
        record.lastWake = try stats.member("lastWake", "last_wake").map { try timestamp($0, "\(what).lastWake") }
        record.scheduledNanoseconds =
            try stats.member("scheduledTime", "scheduled_time").map { try duration($0, "\(what).scheduledTime") } ?? 0
        if let pollValue = stats.member("pollStats", "poll_stats") {
            let poll = try pollValue.members("\(what).pollStats")
            record.polls = try poll.member("polls").map { try $0.uint64("\(what).pollStats.polls") } ?? 0
            if let first = poll.member("firstPoll", "first_poll") {
                _ = try timestamp(first, "\(what).pollStats.firstPoll")
            }
            record.lastPollStarted =
                try poll.member("lastPollStarted", "last_poll_started").map {
                    try timestamp($0, "\(what).pollStats.lastPollStarted")
                }
            record.lastPollEnded =
                try poll.member("lastPollEnded", "last_poll_ended").map {
                    try timestamp($0, "\(what).pollStats.lastPollEnded")
                }
            record.busyNanoseconds =
                try poll.member("busyTime", "busy_time").map { try duration($0, "\(what).pollStats.busyTime") } ?? 0
        }
        return record
    }

    static func timestamp(_ value: JSONValue, _ what: String) throws -> TaskInstant {
        let text = try value.text(what)
        guard let instant = TaskInstant.parseRFC3339(text) else {
            throw JSONShapeError(message: "\(what) must be an RFC 3339 timestamp, got '\(text.prefix(40))'")
        }
        return instant
    }

    /// A Duration in nanoseconds; negative ones (never written by console) count as 0.
    static func duration(_ value: JSONValue, _ what: String) throws -> Int64 {
        let text = try value.text(what)
        guard let nanoseconds = ProtobufDuration.nanoseconds(text) else {
            throw JSONShapeError(message: "\(what) must be a Duration like \"1.500s\", got '\(text.prefix(40))'")
        }
        return max(nanoseconds, 0)
    }

    // MARK: Result

    func snapshot() -> TaskSnapshot {
        var table = groups
        var liveWithoutLocation = 0
        for task in tasks.values {
            if task.stats.droppedAt != nil {
                table.update(task.group) { $0.completedTasks = $0.completedTasks.clampedAdding(1) }
            } else {
                table.update(task.group) { task.stats.addLive(to: &$0, now: now) }
                if !task.hasLocation { liveWithoutLocation += 1 }
            }
        }
        var warnings: [String] = []
        if droppedEvents > 0 {
            warnings.append("\(droppedEvents) events dropped by the app's console buffer; counts may be incomplete")
        }
        if liveWithoutLocation > 0 {
            warnings.append(
                "\(TaskCount.tasks(liveWithoutLocation)) without a spawn location (console reports one only when loc.file, "
                    + "loc.line and loc.col are all recorded); grouped as '\(TokioConsoleParser.noLocationName)'")
        }
        if unknownStats > 0 {
            warnings.append("\(unknownStats) stats updates for tasks the stream never announced were ignored")
        }
        if replacedBeforeDrop > 0 {
            warnings.append(
                "\(TaskCount.tasks(replacedBeforeDrop)) replaced by a new task with the same span id before their drop was "
                    + "seen; counted as completed")
        }
        return TaskSnapshot(
            format: .consoleUpdates, takenAt: now?.epochMilliseconds, groups: table.groups, warnings: warnings)
    }
}
