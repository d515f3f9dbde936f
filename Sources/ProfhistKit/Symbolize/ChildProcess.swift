import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a program to completion with stdin from a file, returning its stdout and stderr.
///
/// Hand-written on posix_spawn because Foundation's `Process` on Linux waits for the child through its run
/// loop: measured 100 to 500 ms per llvm-symbolizer run on a loaded 2-core machine, for a process that needs
/// 20 ms. Stdout is read through a pipe; stderr goes to an unlinked temporary file, so neither can fill up
/// and block the child while the other is read.
enum ChildProcess {
    struct Output {
        var status: Int32
        var stdout: Data
        var stderr: Data
    }

    enum Failure: Error, CustomStringConvertible {
        case cannotStart(String)
        var description: String {
            switch self {
            case .cannotStart(let reason): return reason
            }
        }
    }

    static func run(_ executable: String, _ arguments: [String], stdinFile: String) throws -> Output {
        let input = open(stdinFile, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw Failure.cannotStart("cannot open \(stdinFile): \(String(cString: strerror(errno)))") }
        defer { _ = close(input) }
        var errorTemplate = Array((NSTemporaryDirectory() + "/profhist-stderr-XXXXXX").utf8CString)
        let errors = mkstemp(&errorTemplate)
        guard errors >= 0 else { throw Failure.cannotStart("cannot create a temporary file: \(String(cString: strerror(errno)))") }
        _ = errorTemplate.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        defer { _ = close(errors) }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw Failure.cannotStart("pipe: \(String(cString: strerror(errno)))") }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, errors, 2)
        posix_spawn_file_actions_addclose(&actions, readEnd)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        _ = close(writeEnd)
        guard code == 0 else {
            _ = close(readEnd)
            throw Failure.cannotStart(String(cString: strerror(code)))
        }

        var stdout = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n > 0 {
                stdout.append(contentsOf: buffer[0..<n])
            } else if n == 0 || errno != EINTR {
                break
            }
        }
        _ = close(readEnd)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}

        var stderr = Data()
        _ = lseek(errors, 0, SEEK_SET)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(errors, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            stderr.append(contentsOf: buffer[0..<n])
        }
        // WIFEXITED / WEXITSTATUS, spelled out (the C macros are not imported).
        let exited = status & 0x7F == 0
        return Output(status: exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F), stdout: stdout, stderr: stderr)
    }
}
