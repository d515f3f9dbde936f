import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Real programs nobody on this team wrote, run under jemalloc profiling at test time: Debian's `redis-server`
/// (links jemalloc itself), `python3` (jemalloc preloaded, `PYTHONMALLOC=malloc`) and the `sqlite3` shell
/// (jemalloc preloaded). Every process is bounded in time and stopped before the helper returns.
///
/// Availability: a test asks `RealPrograms.enabled(...)` for its `.enabled(if:)` trait. Without `CI` in the
/// environment a missing program skips the test with a printed reason; with `CI` set the test runs and
/// `require` throws, so a fresh machine that lacks a package fails instead of passing silently.
public enum RealPrograms {
    /// A real program and the Debian package that installs it.
    public enum Program: String, CaseIterable, Sendable {
        case redisServer = "redis-server"
        case redisCLI = "redis-cli"
        case redisBenchmark = "redis-benchmark"
        case python3 = "python3"
        case sqlite3 = "sqlite3"
        case jeprof = "jeprof"

        /// Debian's own binary, by absolute path: a `python3` earlier on PATH (pyenv, a venv) is another
        /// program, without the `-dbg` package's debug file.
        public var path: String { "/usr/bin/\(rawValue)" }

        /// The apt package to install when it is missing.
        public var package: String {
            switch self {
            case .redisServer: return "redis-server"
            case .redisCLI, .redisBenchmark: return "redis-tools"
            case .python3: return "python3"
            case .sqlite3: return "sqlite3"
            case .jeprof: return "libjemalloc-dev"
            }
        }

        public var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: path) }
    }

    /// Debian's jemalloc, preloaded into programs that do not link it.
    public static let libjemalloc = "libjemalloc.so.2"

    /// Whether `CI` is set: a missing program is then a failure, not a skip.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }

    /// For `.enabled(if:)`: true when every program is installed, or under CI (where `require` then fails).
    /// Prints why a test is skipped, so a skip is never silent.
    public static func enabled(_ programs: Program...) -> Bool {
        let missing = programs.filter { !$0.isInstalled }
        if missing.isEmpty || isCI { return true }
        let names = missing.map { "\($0.path) (apt-get install \($0.package))" }.joined(separator: ", ")
        print("⚠️ skipping a real-program test: missing \(names); with CI set this fails instead")
        return false
    }

    /// Throws when a program is missing, naming the package that installs it.
    public static func require(_ programs: Program...) throws {
        for program in programs where !program.isInstalled {
            throw FixtureError.failed(
                "\(program.path) is missing: apt-get install \(program.package) (real-program tests need it)")
        }
    }

    /// The Debian debug file of an ELF file (`/usr/lib/debug/.build-id/xx/rest.debug`), or nil when the `-dbg`
    /// package is not installed.
    public static func debugFile(buildID: String) -> URL? {
        guard buildID.count > 2 else { return nil }
        let path = "/usr/lib/debug/.build-id/\(buildID.prefix(2))/\(buildID.dropFirst(2)).debug"
        return FileManager.default.fileExists(atPath: path) ? URL(fileURLWithPath: path) : nil
    }

    // MARK: - Processes

    /// Runs a program to completion, killed after `timeout` seconds (then it throws).
    @discardableResult
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: URL? = nil,
        timeout: TimeInterval = 60
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let stdin { process.standardInput = try FileHandle(forReadingFrom: stdin) }
        let out = try captureFile(), err = try captureFile()
        process.standardOutput = out.handle
        process.standardError = err.handle
        try process.run()
        let finished = waitForExit(process, timeout: timeout)
        let stdout = (try? String(contentsOf: out.url, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: err.url, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: out.url)
        try? FileManager.default.removeItem(at: err.url)
        guard finished else {
            throw FixtureError.failed("\(executable) \(arguments.joined(separator: " ")): killed after \(timeout) s")
        }
        return (process.terminationStatus, stdout, stderr)
    }

    /// Output goes to files, not pipes: a process that forks (or a full pipe) cannot hang the test.
    private static func captureFile() throws -> (url: URL, handle: FileHandle) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("profhist-out-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw FixtureError.failed("cannot create \(url.path)")
        }
        return (url, try FileHandle(forWritingTo: url))
    }

    /// Waits up to `timeout` seconds; then SIGTERM, and SIGKILL a second later. Returns whether it exited in time.
    @discardableResult
    static func waitForExit(_ process: Process, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        guard process.isRunning else { return true }
        process.terminate()
        let killAt = Date().addingTimeInterval(1)
        while process.isRunning, Date() < killAt { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return false
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, closed).
    public static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError.failed("socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw FixtureError.failed("bind 127.0.0.1:0: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    // MARK: - jemalloc file names

    /// The heap dumps jemalloc wrote for `prefix` (`prefix.PID.SEQ.{f,i,m,u}N.heap`), in the order jemalloc
    /// wrote them: by its global sequence number, which counts every dump of the process.
    public static func jemallocDumps(prefix: URL) throws -> [URL] {
        let folder = prefix.deletingLastPathComponent()
        let start = prefix.lastPathComponent + "."
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasPrefix(start) && $0.hasSuffix(".heap") }
        let keyed = names.compactMap { name -> (Int, URL)? in
            let fields = name.dropFirst(start.count).split(separator: ".")
            guard fields.count >= 3, let sequence = Int(fields[1]) else { return nil }
            return (sequence, folder.appendingPathComponent(name))
        }
        return keyed.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// `MALLOC_CONF` for a profiled run.
    /// - Parameters:
    ///   - lgSample: mean bytes between samples, 2^N.
    ///   - lgInterval: an interval dump every 2^N bytes allocated (`prefix.PID.SEQ.iN.heap`); nil for none.
    ///   - final: a dump at exit (`prefix.PID.SEQ.f.heap`).
    public static func mallocConf(prefix: URL?, lgSample: Int, lgInterval: Int? = nil, final: Bool = false) -> String {
        var options = ["prof:true", "lg_prof_sample:\(lgSample)"]
        if let lgInterval { options.append("lg_prof_interval:\(lgInterval)") }
        if final { options.append("prof_final:true") }
        if let prefix { options.append("prof_prefix:\(prefix.path)") }
        return options.joined(separator: ",")
    }
}

// MARK: - python3

extension RealPrograms {
    /// One python3 process's dumps.
    public struct PythonRun: Sendable {
        public var pid: Int
        /// In jemalloc's order (sequence number).
        public var dumps: [URL]
        public var stdout: String
    }

    /// Runs Debian's python3 on `script` with jemalloc preloaded and `PYTHONMALLOC=malloc` (every Python
    /// object allocation goes through jemalloc), so its dumps carry jemalloc's own file names.
    /// The script should print `os.getpid()` on its first line of output if the caller needs the pid; the pid
    /// is otherwise read back from the dump names.
    /// - Parameters:
    ///   - prefix: jemalloc's `prof_prefix`; files are `prefix.PID.SEQ.{f,i,m,u}N.heap`.
    public static func python(
        script: URL, arguments: [String] = [], prefix: URL, lgSample: Int = 14, lgInterval: Int? = nil,
        final: Bool = false, timeout: TimeInterval = 60
    ) throws -> PythonRun {
        try require(.python3)
        let before = Set(try jemallocDumps(prefix: prefix))
        let environment = [
            "LD_PRELOAD": libjemalloc, "PYTHONMALLOC": "malloc",
            "MALLOC_CONF": mallocConf(prefix: prefix, lgSample: lgSample, lgInterval: lgInterval, final: final),
        ]
        let result = try run(
            Program.python3.path, [script.path] + arguments, environment: environment, timeout: timeout)
        guard result.status == 0 else { throw FixtureError.failed("python3 \(script.lastPathComponent): \(result.stderr)") }
        let dumps = try jemallocDumps(prefix: prefix).filter { !before.contains($0) }
        guard let first = dumps.first else { throw FixtureError.failed("python3 \(script.lastPathComponent): no dumps") }
        let pidField = first.lastPathComponent.dropFirst(prefix.lastPathComponent.count + 1).split(separator: ".")[0]
        return PythonRun(pid: Int(pidField) ?? 0, dumps: dumps, stdout: result.stdout)
    }

    /// A python script that leaks from build `leakSince` on. Arguments: `build steps`. Each step keeps `keepKiB`
    /// KiB (bytearrays made in `leak_step`) when `build >= leakSince`, allocates and frees a churn of strings in
    /// every build, then asks jemalloc for a dump through ctypes (`mallctl("prof.dump", NULL, ...)`): jemalloc names
    /// it itself, `prefix.PID.SEQ.mN.heap`. So a run writes exactly `steps` manual dumps (plus interval dumps when
    /// `lg_prof_interval` is set).
    public static func writeLeakingPythonScript(in folder: URL, keepKiB: Int = 256, leakSince: Int = 2) throws -> URL {
        let script = """
            import ctypes, sys
            jemalloc = ctypes.CDLL("\(libjemalloc)")
            build, steps = int(sys.argv[1]), int(sys.argv[2])
            kept = []

            def leak_step():
                kept.append([bytearray(1024) for _ in range(\(keepKiB))])

            def churn():
                scratch = [str(j) * 16 for j in range(20000)]
                return len(scratch)

            def dump():
                if jemalloc.mallctl(b"prof.dump", None, None, None, ctypes.c_size_t(0)) != 0:
                    raise SystemExit("mallctl prof.dump failed (is jemalloc preloaded with prof:true?)")

            for _ in range(steps):
                if build >= \(leakSince):
                    leak_step()
                churn()
                dump()

            """
        let url = folder.appendingPathComponent("leak.py")
        try script.write(to: url, atomically: true, encoding: .utf8)
        return url
    }
}

// MARK: - sqlite3

extension RealPrograms {
    /// Runs the `sqlite3` shell (jemalloc preloaded) on a query whose sorter memory rises and falls: a table of
    /// `rows` random blobs is made first without profiling; then, profiled, one `ORDER BY` sorts it in memory
    /// (the rise), the sort ends (the fall), and a tail of small queries keeps allocating so interval dumps
    /// after the fall exist; a final dump at exit.
    /// - Returns: the dumps in jemalloc's order, and the pid.
    public static func sqliteRiseAndFall(
        in folder: URL, rows: Int = 150_000, lgSample: Int = 14, lgInterval: Int = 22, timeout: TimeInterval = 60
    ) throws -> PythonRun {
        try require(.sqlite3)
        let database = folder.appendingPathComponent("sort.db")
        let create = folder.appendingPathComponent("create.sql")
        try """
            CREATE TABLE t(a INTEGER, b BLOB);
            WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < \(rows))
            INSERT INTO t SELECT x, randomblob(100) FROM c;

            """.write(to: create, atomically: true, encoding: .utf8)
        let made = try run(Program.sqlite3.path, [database.path], stdin: create, timeout: timeout)
        guard made.status == 0 else { throw FixtureError.failed("sqlite3 create: \(made.stderr)") }
        let query = folder.appendingPathComponent("sort.sql")
        let tail = String(repeating: "SELECT a, b FROM t WHERE a % 97 = 0 ORDER BY a DESC;\n", count: 40)
        try ("PRAGMA temp_store = MEMORY;\n.output /dev/null\nSELECT a, b FROM t ORDER BY b;\n" + tail)
            .write(to: query, atomically: true, encoding: .utf8)
        let prefix = folder.appendingPathComponent("sqlite")
        let environment = [
            "LD_PRELOAD": libjemalloc,
            "MALLOC_CONF": mallocConf(prefix: prefix, lgSample: lgSample, lgInterval: lgInterval, final: true),
        ]
        let result = try run(Program.sqlite3.path, [database.path], environment: environment, stdin: query, timeout: timeout)
        guard result.status == 0 else { throw FixtureError.failed("sqlite3 sort: \(result.stderr)") }
        let dumps = try jemallocDumps(prefix: prefix)
        guard let first = dumps.first else { throw FixtureError.failed("sqlite3 sort: no dumps") }
        let pidField = first.lastPathComponent.dropFirst(prefix.lastPathComponent.count + 1).split(separator: ".")[0]
        return PythonRun(pid: Int(pidField) ?? 0, dumps: dumps, stdout: result.stdout)
    }
}

// MARK: - redis-server

/// Debian's `redis-server` (which links Debian's jemalloc, built with profiling) on a loopback port, profiled
/// from start. Dumps are taken on demand through `DEBUG MALLCTL-STR prof.dump PATH` (the debug command is
/// enabled for local connections only), and, with `lgInterval`, jemalloc also writes its own interval dumps
/// `prefix.PID.SEQ.iN.heap`. `stop()` (also run on deinit) shuts it down: SHUTDOWN NOSAVE, then SIGKILL.
public final class RedisServer: @unchecked Sendable {
    public let port: Int
    public let folder: URL
    public let process: Process
    /// jemalloc's `prof_prefix` for this server's own dumps (interval, final).
    public let prefix: URL
    public var pid: Int { Int(process.processIdentifier) }

    /// Starts the server and waits (at most 10 s) until it answers PING.
    public init(folder: URL, lgSample: Int = 14, lgInterval: Int? = nil) throws {
        try RealPrograms.require(.redisServer, .redisCLI)
        self.folder = folder
        self.port = try RealPrograms.freeLoopbackPort()
        self.prefix = folder.appendingPathComponent("redis")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RealPrograms.Program.redisServer.path)
        process.arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--enable-debug-command", "local", "--dir", folder.path, "--daemonize", "no",
        ]
        process.environment = ProcessInfo.processInfo.environment.merging([
            "MALLOC_CONF": RealPrograms.mallocConf(prefix: prefix, lgSample: lgSample, lgInterval: lgInterval)
        ]) { $1 }
        let log = folder.appendingPathComponent("redis-server.log")
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
            throw FixtureError.failed("cannot create \(log.path)")
        }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        self.process = process
        try process.run()
        try waitUntilReady(log: log)
    }

    deinit { stop() }

    private func waitUntilReady(log: URL) throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if !process.isRunning {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                throw FixtureError.failed("redis-server exited at start: \(text)")
            }
            if let reply = try? cli(["PING"], timeout: 2), reply == "PONG" { return }
            usleep(50_000)
        }
        stop()
        throw FixtureError.failed("redis-server on 127.0.0.1:\(port) did not answer PING within 10 s")
    }

    /// Runs one `redis-cli` command against this server and returns its trimmed reply.
    @discardableResult
    public func cli(_ arguments: [String], timeout: TimeInterval = 20) throws -> String {
        let result = try RealPrograms.run(
            RealPrograms.Program.redisCLI.path, ["-h", "127.0.0.1", "-p", String(port)] + arguments, timeout: timeout)
        guard result.status == 0 else { throw FixtureError.failed("redis-cli \(arguments.first ?? ""): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes a heap dump to `path` now (`DEBUG MALLCTL-STR prof.dump PATH`).
    public func dump(to path: URL) throws {
        let reply = try cli(["DEBUG", "MALLCTL-STR", "prof.dump", path.path])
        guard reply == "OK", FileManager.default.fileExists(atPath: path.path) else {
            throw FixtureError.failed("redis prof.dump \(path.lastPathComponent): \(reply)")
        }
    }

    /// Adds about `keys` new keys of `valueBytes` bytes each with `redis-benchmark` (SET with random keys from
    /// a range far larger than `keys`, tagged by `tag` so each step's keys are new), bounded to 60 s.
    public func load(keys: Int, valueBytes: Int = 200, tag: String) throws {
        try RealPrograms.require(.redisBenchmark)
        let value = String(repeating: "v", count: valueBytes)
        let result = try RealPrograms.run(
            RealPrograms.Program.redisBenchmark.path,
            [
                "-h", "127.0.0.1", "-p", String(port), "-q", "-n", String(keys), "-c", "4", "-P", "16",
                "-r", "1000000000", "SET", "soak:\(tag):__rand_int__", value,
            ], timeout: 60)
        guard result.status == 0 else { throw FixtureError.failed("redis-benchmark: \(result.stderr)") }
    }

    /// A soak: a dump before any load, then `steps` times (load `keysPerStep` keys, dump). The keys are kept,
    /// so the SET path's memory grows by about `keysPerStep * valueBytes` per dump.
    /// - Returns: the `steps + 1` dumps, in the order taken, named `name.K.heap` in `folder`.
    public func soak(steps: Int, keysPerStep: Int, valueBytes: Int = 200, name: String = "soak") throws -> [URL] {
        var dumps: [URL] = []
        for step in 0...steps {
            if step > 0 { try load(keys: keysPerStep, valueBytes: valueBytes, tag: "\(name)\(step)") }
            let file = folder.appendingPathComponent("\(name).\(step).heap")
            try dump(to: file)
            dumps.append(file)
        }
        return dumps
    }

    /// Shuts the server down (SHUTDOWN NOSAVE; SIGKILL when it has not exited within 5 s). Idempotent.
    public func stop() {
        guard process.isRunning else { return }
        _ = try? cli(["SHUTDOWN", "NOSAVE"], timeout: 5)
        RealPrograms.waitForExit(process, timeout: 5)
    }
}
