import Foundation

/// A tokio task snapshot as read from one file: the live tasks of a process grouped by where they come from
/// (a console spawn location, a task dump's await stack, or a recording's task name and kind), with counts.
public struct TaskSnapshot: Sendable {
    /// The input formats for task snapshots.
    public enum Format: String, Sendable, CaseIterable {
        /// tokio-console's gRPC `WatchUpdates` stream in protobuf's canonical JSON (grpcurl's output).
        case consoleUpdates = "tokio_console_json"
        /// `Handle::dump()` printed as `TASK n:` + tree + blank line.
        case taskDump = "tokio_task_dump"
        /// console-subscriber's recording (`TOKIO_CONSOLE_RECORD_PATH`), JSON lines.
        case consoleRecording = "console_recording"
        /// Go's goroutine profile in pprof's `profile.proto` (`pprof.Lookup("goroutine").WriteTo(w, 0)`).
        case goroutineProfile = "pprof_goroutine"
    }

    public var format: Format
    /// When the data says it was taken (the last `Update.now`, the last recording event), epoch milliseconds.
    public var takenAt: Int64?
    /// One group per distinct key (location, await stack, or name/kind), in first-seen order.
    public var groups: [TaskGroup]
    /// Things the user should know (dropped events, tasks without location, ...), one line each.
    public var warnings: [String]

    public init(format: Format, takenAt: Int64? = nil, groups: [TaskGroup] = [], warnings: [String] = []) {
        self.format = format
        self.takenAt = takenAt
        self.groups = groups
        self.warnings = warnings
    }

    /// Live tasks in the whole snapshot: the snapshot's total.
    public var liveTasks: Int64 { groups.reduce(0) { $0 + $1.metrics.liveTasks } }
}

/// Tasks that share one key.
public struct TaskGroup: Sendable, Equatable {
    /// The key as frames from the root: one frame for a spawn location (`src/main.rs:60:13`, registry paths
    /// shortened to `<cargo>/tokio-1.47.1/...`) or a recording's `name=...;kind=...`; the await stack, root
    /// (the spawned future) first, for a task dump. Identity is the sequence of names.
    public var frames: [TaskFrame]
    public var metrics: TaskMetrics

    public init(frames: [TaskFrame], metrics: TaskMetrics = TaskMetrics()) {
        self.frames = frames
        self.metrics = metrics
    }
}

/// One frame of a task group's key.
public struct TaskFrame: Sendable, Equatable, Hashable {
    /// The identity: a location `file:line:col`, or a function name normalized like heap frames (no hash),
    /// without its line.
    public var name: String
    /// For display: where it was (the await point of a dump frame).
    public var file: String?
    public var line: Int?
    public var column: Int?

    public init(name: String, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        self.name = name
        self.file = file
        self.line = line
        self.column = column
    }
}

/// Counts for a group of tasks, by tokio-console's state rules: a task is completed when dropped (not live);
/// running when its last poll started after the last one ended; scheduled when woken after its last poll
/// started; otherwise idle. Counters the format lacks stay 0.
public struct TaskMetrics: Sendable, Equatable {
    public var liveTasks: Int64 = 0
    public var idleTasks: Int64 = 0
    public var runningTasks: Int64 = 0
    public var scheduledTasks: Int64 = 0
    /// Tasks that ended before the snapshot (console keeps them for its retention period); never live.
    public var completedTasks: Int64 = 0
    /// Sums over the live tasks.
    public var polls: Int64 = 0
    public var busyNanoseconds: Int64 = 0
    public var scheduledNanoseconds: Int64 = 0
    public var wakes: Int64 = 0
    public var selfWakes: Int64 = 0
    /// Live idle tasks with no waker left (waker clones − drops ≤ 0): tokio-console's "lost waker" lint; they
    /// can never run again.
    public var lostWakers: Int64 = 0

    public init() {}
}
