import GRDB

/// What a snapshot holds, as the store's `snapshot.kind` column names it.
///
/// - `heap`: jemalloc heap dumps and pprof heap profiles (bytes and objects per stack);
/// - `tasks`: tokio-console streams and recordings, tokio task dumps and pprof goroutine profiles (tasks per
///   spawn location or await stack).
public enum SnapshotKind: String, CaseIterable, Sendable, Encodable, CustomStringConvertible, DatabaseValueConvertible {
    case heap, tasks

    public var description: String { rawValue }
}
