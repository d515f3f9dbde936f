import Foundation

/// One task's counters and timestamps as tokio-console keeps them (its `Stats` message), whether read from the
/// gRPC stream or rebuilt from a recording's events.
struct TaskStatsRecord: Sendable {
    var droppedAt: TaskInstant?
    var wakes: UInt64 = 0
    var wakerClones: UInt64 = 0
    var wakerDrops: UInt64 = 0
    var selfWakes: UInt64 = 0
    var lastWake: TaskInstant?
    var polls: UInt64 = 0
    var lastPollStarted: TaskInstant?
    var lastPollEnded: TaskInstant?
    /// Time in completed polls.
    var busyNanoseconds: Int64 = 0
    /// Time between wakes and the polls that followed them, for completed waits.
    var scheduledNanoseconds: Int64 = 0

    enum State: Sendable, Equatable {
        case completed, running, scheduled, idle
    }

    /// tokio-console's `Task::state`, checked in its order; an absent timestamp compares as smaller than any
    /// present one (Rust's `Option` ordering).
    var state: State {
        if droppedAt != nil { return .completed }
        if TaskStatsRecord.isLater(lastPollStarted, than: lastPollEnded) { return .running }
        if TaskStatsRecord.isLater(lastWake, than: lastPollStarted) { return .scheduled }
        return .idle
    }

    /// tokio-console's `lost-waker` lint: not completed, no waker left (clones − drops ≤ 0), not running, and not
    /// "awakened" (never polled, or woken after the last poll started). Such a task can never run again.
    var hasLostWaker: Bool {
        guard droppedAt == nil, wakerClones <= wakerDrops else { return false }
        if TaskStatsRecord.isLater(lastPollStarted, than: lastPollEnded) { return false }
        let awakened = polls == 0 || TaskStatsRecord.isLater(lastWake, than: lastPollStarted)
        return !awakened
    }

    /// `a > b` with absent values smallest.
    static func isLater(_ a: TaskInstant?, than b: TaskInstant?) -> Bool {
        guard let a else { return false }
        guard let b else { return true }
        return a > b
    }

    /// Adds this live task to a group's metrics, with busy and scheduled time up to `now` as tokio-console shows
    /// them: a running task's current poll counts as busy, a scheduled task's wait since its last wake as scheduled.
    func addLive(to metrics: inout TaskMetrics, now: TaskInstant?) {
        metrics.liveTasks = metrics.liveTasks.clampedAdding(1)
        var busy = busyNanoseconds
        var scheduled = scheduledNanoseconds
        switch state {
        case .completed, .idle:
            metrics.idleTasks = metrics.idleTasks.clampedAdding(1)
        case .running:
            metrics.runningTasks = metrics.runningTasks.clampedAdding(1)
            if let now, let started = lastPollStarted { busy = busy.clampedAdding(now.nanoseconds(since: started)) }
        case .scheduled:
            metrics.scheduledTasks = metrics.scheduledTasks.clampedAdding(1)
            if let now, let woken = lastWake { scheduled = scheduled.clampedAdding(now.nanoseconds(since: woken)) }
        }
        metrics.polls = metrics.polls.clampedAdding(Int64(clamping: polls))
        metrics.busyNanoseconds = metrics.busyNanoseconds.clampedAdding(busy)
        metrics.scheduledNanoseconds = metrics.scheduledNanoseconds.clampedAdding(scheduled)
        metrics.wakes = metrics.wakes.clampedAdding(Int64(clamping: wakes))
        metrics.selfWakes = metrics.selfWakes.clampedAdding(Int64(clamping: selfWakes))
        if hasLostWaker { metrics.lostWakers = metrics.lostWakers.clampedAdding(1) }
    }
}

/// Groups in first-seen order, found by key.
struct TaskGroupTable: Sendable {
    private(set) var groups: [TaskGroup] = []
    private var indexByKey: [String: Int] = [:]

    /// The index of the group with `key`, created with `frames` when new.
    mutating func index(key: String, frames: @autoclosure () -> [TaskFrame]) -> Int {
        if let index = indexByKey[key] { return index }
        groups.append(TaskGroup(frames: frames()))
        indexByKey[key] = groups.count - 1
        return groups.count - 1
    }

    mutating func update(_ index: Int, _ body: (inout TaskMetrics) -> Void) {
        guard groups.indices.contains(index) else { return }
        body(&groups[index].metrics)
    }
}

/// Wording shared by the parsers' messages.
enum TaskCount {
    /// "1 task", "3 tasks".
    static func tasks(_ n: Int) -> String { n == 1 ? "1 task" : "\(n) tasks" }
}
