import CLibFuzzer
import Foundation
import ProfhistKit

#if canImport(Glibc)
    import Glibc
#endif

/// What every harness does with one libFuzzer input: hand it to a parser as a file and check the parsers'
/// contract. A broken contract ends the process (libFuzzer then saves the input as a crash), which is why this
/// test-only code calls `fatalError` on what came from the input.
public enum FuzzInput {
    /// An unlinked file in tmpfs, opened once and reached through its `/proc/self/fd` path: the parsers read
    /// files by path, so this keeps their real read path (LineReader's buffer and digest) under test, costs no
    /// file creation per input, and leaves nothing behind when the fuzzer is killed.
    static let descriptor: Int32 = {
        var template = Array("/dev/shm/profhist-fuzz-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            fatalError("fuzz harness: cannot create a file in /dev/shm: \(String(cString: strerror(errno)))")
        }
        _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        return fd
    }()

    /// Runs libFuzzer's driver on `testOneInput` with the program's arguments (libFuzzer's flags, corpus folders).
    public static func runDriver(_ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
        var argc = CommandLine.argc
        var argv = Optional(CommandLine.unsafeArgv)
        exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
    }

    /// The path the parsers are given.
    public static let path = "/proc/self/fd/\(descriptor)"

    /// Replaces the file's content with the input, then runs `body`: it must return or throw an `InputError`
    /// whose message starts with the path (the CLI prints it as is, so it must say which file). Format detection
    /// (`recognizes`) sees the same first 4096 bytes `ingest --format auto` reads.
    public static func run(
        _ data: UnsafePointer<UInt8>?, _ size: Int, recognizes: (Data) -> Bool, _ body: (String) throws -> Void
    ) -> Int32 {
        guard ftruncate(descriptor, 0) == 0, size == 0 || pwrite(descriptor, data, size, 0) == size else {
            fatalError("fuzz harness: cannot write the input to \(path): \(String(cString: strerror(errno)))")
        }
        if let data { _ = recognizes(Data(bytes: data, count: min(size, 4096))) }
        do {
            try body(path)
        } catch let error as InputError {
            let message = error.localizedDescription
            if !message.hasPrefix(path + ":") { fatalError("error message does not name the file: \(message)") }
            switch error {
            case .malformed(_, let line, _), .truncated(_, let line, _):
                // The line a message names must be one the file has.
                // Gzip input is numbered by its decompressed lines, as the parsers read it.
                let gzip = size >= 2 && data?[0] == 0x1F && data?[1] == 0x8B
                let lines = gzip ? decompressedLineCount(path) : lineCount(data, size)
                if line < 1 || line > max(lines, 1) {
                    fatalError("line \(line) named in a file of \(lines) lines: \(message)")
                }
            default:
                break
            }
        } catch {
            fatalError("parser threw \(type(of: error)), not an InputError: \(error)")
        }
        return 0
    }

    /// Lines as the parsers number them: one per newline, and a last one without.
    static func lineCount(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int {
        guard let data, size > 0 else { return 0 }
        let buffer = UnsafeBufferPointer(start: data, count: size)
        return buffer.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 } + (buffer[size - 1] == 0x0A ? 0 : 1)
    }

    /// Lines of the decompressed content, read as the parsers read it (up to the first decompression error).
    static func decompressedLineCount(_ path: String) -> Int {
        guard let input = try? InputSource.open(path: path) else { return 0 }
        defer { input.close() }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var lines = 0
        var last: UInt8 = 0x0A
        var total = 0
        while let n = try? buffer.withUnsafeMutableBytes({ try input.read(into: $0) }), n > 0 {
            lines += buffer[0..<n].reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
            last = buffer[n - 1]
            total += n
        }
        return lines + (total > 0 && last != 0x0A ? 1 : 0)
    }

    /// Unsampled values are finite and not negative (they are stored as integers and summed across builds).
    public static func check(_ dump: HeapDump) {
        for values in dump.stacks.map(\.values) + [dump.header ?? HeapValues(), dump.total] {
            for value in [values.inuseObjects, values.inuseBytes, values.allocObjects, values.allocBytes]
            where !value.isFinite || value < 0 {
                fatalError("unsampled value \(value) in \(values)")
            }
        }
        if dump.stacks.contains(where: \.addresses.isEmpty) { fatalError("a stack without addresses") }
    }

    /// Counts are not negative, and every live task is in exactly one state (tokio-console's rules).
    public static func check(_ snapshot: TaskSnapshot) {
        for group in snapshot.groups {
            let m = group.metrics
            let counts = [
                m.liveTasks, m.idleTasks, m.runningTasks, m.scheduledTasks, m.completedTasks, m.polls,
                m.busyNanoseconds, m.scheduledNanoseconds, m.wakes, m.selfWakes, m.lostWakers,
            ]
            if counts.contains(where: { $0 < 0 }) { fatalError("negative count in \(group)") }
            if m.liveTasks != m.idleTasks + m.runningTasks + m.scheduledTasks && m.liveTasks != .max {
                fatalError("live tasks are not idle + running + scheduled in \(group)")
            }
            if group.frames.isEmpty { fatalError("a group without frames") }
        }
    }
}
