import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How wide a table may be: `COLUMNS` when set (scripts and `watch` set it), else the width of the terminal
/// standard output is on, else 100 (a pipe or a file: the width the style guide sizes tables for).
enum TerminalWidth {
    static let fallback = 100

    static func current() -> Int {
        if let text = ProcessInfo.processInfo.environment["COLUMNS"],
            let columns = Int(text.trimmingCharacters(in: .whitespaces)), columns > 0
        {
            return columns
        }
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return fallback
    }
}
