import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a program with text on its stdin, returning its stdout, stderr and exit status; it can be started before
/// its input is known (see `LLVMSymbolizer.prestart`).
///
/// Hand-written on posix_spawn because Foundation's `Process` on Linux waits for the child through its run
/// loop: measured 100 to 500 ms per llvm-symbolizer run on a loaded 2-core machine, for a process that needs
/// 20 ms. The input is written by a second thread while this one reads stdout, and stderr goes to an unlinked
/// temporary file, so no pipe can fill up and block either side.
final class ChildProcess: @unchecked Sendable {
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

    private let pid: pid_t
    private var stdinWrite: Int32
    private let stdoutRead: Int32
    private let stderrFile: Int32
    private var finished = false

    /// Starts `executable` with `arguments`; its stdin stays open until `finish` or `cancel`.
    init(_ executable: String, _ arguments: [String]) throws {
        func failure(_ what: String) -> Failure { Failure.cannotStart("\(what): \(String(cString: strerror(errno)))") }
        var template = Array((NSTemporaryDirectory() + "/profhist-stderr-XXXXXX").utf8CString)
        let errors = mkstemp(&template)
        guard errors >= 0 else { throw failure("cannot create a temporary file") }
        _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        var input: [Int32] = [0, 0]
        var output: [Int32] = [0, 0]
        // stdin is a socket pair, not a pipe, so a write after the child died fails with EPIPE (MSG_NOSIGNAL)
        // instead of killing profhist with SIGPIPE.
        #if canImport(Glibc)
            let streamType = Int32(SOCK_STREAM.rawValue)
        #else
            let streamType = SOCK_STREAM
        #endif
        guard socketpair(AF_UNIX, streamType, 0, &input) == 0 else {
            _ = close(errors)
            throw failure("socketpair")
        }
        guard pipe(&output) == 0 else {
            for fd in input + [errors] { _ = close(fd) }
            throw failure("pipe")
        }
        // Our ends must not leak into the child (it would never see EOF on stdin).
        _ = fcntl(input[1], F_SETFD, FD_CLOEXEC)
        _ = fcntl(output[0], F_SETFD, FD_CLOEXEC)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors, 2)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        _ = close(input[0])
        _ = close(output[1])
        guard code == 0 else {
            for fd in [input[1], output[0], errors] { _ = close(fd) }
            throw Failure.cannotStart(String(cString: strerror(code)))
        }
        self.pid = pid
        self.stdinWrite = input[1]
        self.stdoutRead = output[0]
        self.stderrFile = errors
    }

    deinit { cancel() }

    /// Runs `executable` to completion with `input` on its stdin.
    static func run(_ executable: String, _ arguments: [String], input: String) throws -> Output {
        try ChildProcess(executable, arguments).finish(input: input)
    }

    /// Writes `input` to the child's stdin (from another thread), closes it, reads stdout to its end and waits
    /// for the child.
    func finish(input: String) -> Output {
        precondition(!finished, "a child process is finished once")
        finished = true
        let fd = stdinWrite
        stdinWrite = -1
        let writer = Thread {
            var bytes = Array(input.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n > 0 { bytes = bytes.dropFirst(n) } else if n < 0 && errno == EINTR { continue } else { break }
            }
            _ = close(fd)
        }
        writer.start()
        let stdout = ChildProcess.readAll(stdoutRead)
        _ = close(stdoutRead)
        let status = waitForExit()
        _ = lseek(stderrFile, 0, SEEK_SET)
        let stderr = ChildProcess.readAll(stderrFile)
        _ = close(stderrFile)
        return Output(status: status, stdout: stdout, stderr: stderr)
    }

    /// Stops a child that is not needed after all (killed: it has no work to finish).
    func cancel() {
        guard !finished else { return }
        finished = true
        kill(pid, SIGKILL)
        for fd in [stdinWrite, stdoutRead, stderrFile] where fd >= 0 { _ = close(fd) }
        _ = waitForExit()
    }

    private func waitForExit() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS, spelled out (the C macros are not imported).
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    private static func readAll(_ fd: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: InputSource.chunkSize)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                data.append(contentsOf: buffer[0..<n])
            } else if n == 0 || errno != EINTR {
                return data
            }
        }
    }
}
