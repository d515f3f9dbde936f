import Foundation

/// What a heap dump's file name says about the process that wrote it and the dump's place among its dumps.
///
/// jemalloc names every dump it writes itself `prefix.PID.SEQ.{f,i,m,u}N.heap` (`prof.c`: `%s.%d.%"PRIu64".%c%"PRIu64".heap`,
/// and `%s.%d.%"PRIu64".f.heap` for the final dump): the process id, a sequence counted over every dump of the
/// process, then the trigger (final, interval, manual `prof.dump`, gdump) with its own counter. Older jemalloc and
/// hand-picked names drop the trigger's counter (`prefix.PID.SEQ.i.heap`). gperftools and most test harnesses
/// write `prefix.N.heap` (a counter, no process id). The prefix itself may contain dots, so the name is read
/// from its end.
public struct DumpFileName: Sendable, Equatable {
    /// Why jemalloc wrote the dump (the letter before the trigger counter).
    public enum Trigger: String, Sendable {
        case final = "f"
        case interval = "i"
        case manual = "m"
        case gdump = "u"
    }

    /// The process id, from jemalloc's names only.
    public var pid: Int?
    /// The order number: jemalloc's sequence, else the name's counter.
    public var sequence: Int64?
    public var trigger: Trigger?

    /// Reads the name of `path` (its folder is ignored).
    public init(path: String) {
        let name = (path as NSString).lastPathComponent
        var fields = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard fields.count >= 2, fields.removeLast() == "heap" else { return }
        if fields.count >= 4, let trigger = DumpFileName.trigger(fields[fields.count - 1]),
            let sequence = Int64(fields[fields.count - 2]), let pid = Int(fields[fields.count - 3]),
            !fields[..<(fields.count - 3)].joined(separator: ".").isEmpty
        {
            self.pid = pid
            self.sequence = sequence
            self.trigger = trigger
            return
        }
        if fields.count >= 2, let counter = Int64(fields[fields.count - 1]) { sequence = counter }
    }

    /// `f`, or `i`/`m`/`u` with an optional counter.
    static func trigger(_ field: String) -> Trigger? {
        guard let first = field.first, let trigger = Trigger(rawValue: String(first)) else { return nil }
        let counter = field.dropFirst()
        if trigger == .final { return counter.isEmpty ? trigger : nil }
        return counter.isEmpty || counter.allSatisfy(\.isASCIIDigit) ? trigger : nil
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
