import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Temporary files that must not outlive the process: removed on SIGINT, SIGTERM, SIGHUP and SIGPIPE (then the
/// signal is raised again with its default action, so the exit status still tells what happened), and by
/// `removeAll()` on a fatal output error.
///
/// Hand-written: the handler may only call async-signal-safe functions (`unlink`, `signal`, `raise`), so the paths
/// live in C strings allocated up front in a fixed table, not in Swift collections.
public enum TemporaryFileCleanup {
    static let capacity = 16
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let table = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        table.initialize(repeating: nil, count: capacity)
        return table
    }()
    private static let lock = NSLock()
    nonisolated(unsafe) private static var installed = false
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGPIPE]

    /// Removes `path` if the process is interrupted before `unregister(path)`.
    public static func register(_ path: String) {
        lock.lock()
        defer { lock.unlock() }
        installHandlers()
        for index in 0..<capacity where slots[index] == nil {
            slots[index] = strdup(path)
            return
        }
    }

    /// The file was renamed into place or removed: forget it.
    public static func unregister(_ path: String) {
        lock.lock()
        defer { lock.unlock() }
        for index in 0..<capacity {
            guard let slot = slots[index], String(cString: slot) == path else { continue }
            slots[index] = nil
            free(slot)
        }
    }

    /// Removes every registered file (a fatal error is about to end the process).
    public static func removeAll() {
        for index in 0..<capacity {
            if let slot = slots[index] { unlink(slot) }
        }
    }

    private static func installHandlers() {
        guard !installed else { return }
        installed = true
        for signal in signals {
            var action = sigaction()
            #if canImport(Darwin)
                action.__sigaction_u.__sa_handler = temporaryFileSignalHandler
            #else
                action.__sigaction_handler.sa_handler = temporaryFileSignalHandler
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            var previous = sigaction()
            sigaction(signal, nil, &previous)
            // A signal the caller ignores (nohup's SIGHUP, a shell's `trap '' PIPE`) stays ignored.
            #if canImport(Darwin)
                let ignored = unsafeBitCast(previous.__sigaction_u.__sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
            #else
                let ignored = unsafeBitCast(previous.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
            #endif
            if !ignored { sigaction(signal, &action, nil) }
        }
    }

    fileprivate static func removeFromHandler() {
        for index in 0..<capacity {
            if let slot = slots[index] { unlink(slot) }
        }
    }
}

private func temporaryFileSignalHandler(_ number: Int32) {
    TemporaryFileCleanup.removeFromHandler()
    _ = signal(number, SIG_DFL)
    raise(number)
}
