import Foundation
import ProfhistKit

/// Builds and runs the fixture programs to produce real jemalloc heap dumps at test time, and runs jeprof as
/// the oracle. Every helper works in a fresh temporary folder.
public enum Fixtures {
    /// The folder of the fixture sources (C and Rust programs).
    public static var sourceFolder: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    }

    /// A new empty temporary folder.
    public static func temporaryFolder(_ name: String = "profhist-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs a program and returns its exit status, standard output and standard error.
    @discardableResult
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], currentDirectory: URL? = nil
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes while the process runs so neither can fill up and block it.
        let errData = ThreadBox<Data>()
        let thread = Thread { errData.value = err.fileHandleForReading.readDataToEndOfFile() }
        thread.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while errData.value == nil { usleep(1000) }
        return (
            process.terminationStatus, String(decoding: outData, as: UTF8.self),
            String(decoding: errData.value ?? Data(), as: UTF8.self)
        )
    }

    /// Whether a command is on PATH.
    public static func available(_ command: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(command)") }
    }

    /// Compiles `leaky.c` into `folder/name`.
    /// - Parameters:
    ///   - defines: extra `-D` macros, e.g. `EXTRA_CODE` (moves every address) or `LEAK_SINCE_BUILD`.
    public static func buildLeakyC(in folder: URL, name: String = "leaky", defines: [String] = [], optimization: String = "-O1") throws -> URL {
        let output = folder.appendingPathComponent(name)
        let source = sourceFolder.appendingPathComponent("leaky.c").path
        let result = try run(
            "gcc", [optimization, "-g", "-fno-omit-frame-pointer", source, "-o", output.path, "-ljemalloc", "-lpthread"]
                + defines.map { "-D" + $0 })
        guard result.status == 0 else { throw FixtureError.failed("gcc: \(result.stderr)") }
        return output
    }

    /// Runs the C program under jemalloc profiling and returns its dumps, in order.
    public static func runLeakyC(
        _ program: URL, prefix: URL, phases: Int = 2, leakKiB: Int = 256, growthKiB: Int = 0, fromPhase: Int = 0,
        lgSample: Int = 10, seed: Int? = nil
    ) throws -> [URL] {
        var environment = ["MALLOC_CONF": "prof:true,lg_prof_sample:\(lgSample)"]
        if let seed { environment["LEAKY_SEED"] = String(seed) }
        let result = try run(
            program.path, [prefix.path, String(phases), String(leakKiB), String(growthKiB), String(fromPhase)],
            environment: environment)
        guard result.status == 0 else { throw FixtureError.failed("\(program.lastPathComponent): \(result.stderr)") }
        return (0..<phases).map { URL(fileURLWithPath: "\(prefix.path).\($0).heap") }
    }

    /// Compiles `leaky.rs` with rustc (`-C metadata=` changes every legacy symbol hash, as a new build does).
    public static func buildLeakyRust(in folder: URL, name: String = "leaky-rs", metadata: String, v0: Bool = false) throws -> URL {
        let output = folder.appendingPathComponent(name)
        let source = sourceFolder.appendingPathComponent("leaky.rs").path
        var arguments = ["-O", "-g", "-C", "force-frame-pointers=yes", "-C", "metadata=\(metadata)", source, "-o", output.path, "-ljemalloc"]
        if v0 { arguments += ["-C", "symbol-mangling-version=v0"] }
        let result = try run("rustc", arguments)
        guard result.status == 0 else { throw FixtureError.failed("rustc: \(result.stderr)") }
        return output
    }

    /// Runs the Rust program with jemalloc preloaded as the system allocator.
    public static func runLeakyRust(_ program: URL, prefix: URL, phases: Int = 2, leakKiB: Int = 256, lgSample: Int = 10) throws -> [URL] {
        let result = try run(
            program.path, [prefix.path, String(phases), String(leakKiB)],
            environment: ["MALLOC_CONF": "prof:true,lg_prof_sample:\(lgSample)", "LD_PRELOAD": "libjemalloc.so.2"])
        guard result.status == 0 else { throw FixtureError.failed("\(program.lastPathComponent): \(result.stderr)") }
        return (0..<phases).map { URL(fileURLWithPath: "\(prefix.path).\($0).heap") }
    }

    /// The benchmark corpus program, `Benchmarks/corpus/branchy.c`, read from the source tree (it is the
    /// benchmarks' program; the tests use it where they need big real dumps, so it is not copied here).
    public static var branchySource: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Benchmarks/corpus/branchy.c")
    }

    /// Compiles the benchmark corpus program into `folder/name`, as `Benchmarks/bench.py` does.
    public static func buildBranchy(in folder: URL, name: String = "branchy") throws -> URL {
        let output = folder.appendingPathComponent(name)
        let result = try run("gcc", ["-O1", "-g", "-fno-omit-frame-pointer", branchySource.path, "-o", output.path, "-ljemalloc"])
        guard result.status == 0 else { throw FixtureError.failed("gcc: \(result.stderr)") }
        return output
    }

    /// Runs the corpus program with every allocation sampled: its live memory sits on 2^levels + 2 distinct
    /// stacks (16,386 at 14 levels: a 7 MB dump), and it writes `dumps` dumps, `prefix.0.heap` onward.
    /// - Parameters:
    ///   - seed: run-to-run variation of the counts and sizes.
    ///   - growth: objects the growing paths add per dump.
    public static func runBranchy(_ program: URL, levels: Int, seed: Int, prefix: URL, dumps: Int = 1, growth: Int = 2) throws -> [URL] {
        let result = try run(
            program.path, [String(levels), String(seed), prefix.path, String(dumps), String(growth)],
            environment: ["MALLOC_CONF": "prof:true,lg_prof_sample:0"])
        guard result.status == 0 else { throw FixtureError.failed("\(program.lastPathComponent): \(result.stderr)") }
        return (0..<dumps).map { URL(fileURLWithPath: "\(prefix.path).\($0).heap") }
    }

    /// The `profhist` executable built next to the test bundle.
    /// The CI's branch variables (`BranchOptions.environmentVariables`), removed once from this test process, so
    /// that every profhist it starts, by whatever path, ingests into the default branch as the tests expect, even
    /// inside a CI job on a pull request's branch. Tests of the variables pass them explicitly.
    private static let clearedBranchVariables: Bool = {
        for name in BranchOptions.environmentVariables { unsetenv(name) }
        return true
    }()

    public static var profhistExecutable: URL {
        _ = clearedBranchVariables
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // .build/debug/profhistPackageTests.xctest or a folder inside it
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("profhist")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/profhist")
    }

    /// Runs the profhist executable.
    @discardableResult
    /// The CI's branch variables are cleared unless `environment` sets them, so a test run inside a CI job (on a
    /// pull request's branch) ingests into the default branch as the tests expect.
    public static func profhist(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        var cleared = environment
        for name in BranchOptions.environmentVariables where cleared[name] == nil { cleared[name] = "" }
        return try run(profhistExecutable.path, arguments, environment: cleared)
    }
}

/// A history of builds of `leaky.c`, several runs each, ingested into a store: the real series the ranking
/// tests and benchmarks use.
public struct LeakyHistory: @unchecked Sendable {
    /// One build: its name and compile-time switches.
    public struct Build: Sendable {
        public var name: String
        public var defines: [String]
        public init(name: String, defines: [String]) {
            self.name = name
            self.defines = defines
        }
    }

    public var folder: URL
    public var store: Store
    /// Dumps per build, in run order, and the program of each build.
    public var dumps: [String: [URL]] = [:]
    public var programs: [String: URL] = [:]
    public var snapshotIDs: [URL: Int64] = [:]

    /// Compiles each build, runs it `runs` times, and ingests every dump with times in build order. `seed` makes
    /// the noisy stack's run-to-run noise reproducible (nil: seeded by process id).
    public static func make(
        builds: [Build], runs: Int, phases: Int = 1, leakKiB: Int = 256, growthKiB: Int = 2048, lgSample: Int = 12,
        seed: Int? = 11
    ) throws -> LeakyHistory {
        let folder = try Fixtures.temporaryFolder("profhist-history")
        let store = try Store(path: folder.appendingPathComponent("history.db").path, create: true)
        var history = LeakyHistory(folder: folder, store: store)
        let start = Timestamp.parse("2026-03-01T00:00:00Z")!
        for (b, build) in builds.enumerated() {
            let directory = folder.appendingPathComponent(build.name)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let program = try Fixtures.buildLeakyC(in: directory, name: "leaky", defines: build.defines)
            history.programs[build.name] = program
            let pipeline = IngestPipeline(openStore: { store }, binaries: [try BinaryCandidate(path: program.path)], llvm: LLVMSymbolizer.locate())
            for r in 0..<runs {
                let dumps = try Fixtures.runLeakyC(
                    program, prefix: directory.appendingPathComponent("run\(r)"), phases: phases, leakKiB: leakKiB,
                    growthKiB: growthKiB, lgSample: lgSample, seed: seed.map { $0 + b * 100 + r })
                for (p, dump) in dumps.enumerated() {
                    let at = start + Int64(b) * 3_600_000 + Int64(r) * 600_000 + Int64(p) * 60_000
                    let report = try pipeline.ingest(
                        path: dump.path, format: .auto, options: IngestOptions(build: build.name, run: "run\(r)", takenAt: at))
                    if case .stored(let id, _, _) = report.outcome { history.snapshotIDs[dump] = id }
                }
                history.dumps[build.name, default: []] += dumps
            }
        }
        return history
    }
}

/// jeprof, the reference for every number profhist reports about a dump.
public enum Jeprof {
    /// jeprof wants the binary at exactly the path in the dump's mappings; we always pass that path.
    /// - Returns: "Total" in bytes and flat bytes per function, from `--text --show_bytes`.
    public static func text(binary: URL, dump: URL) throws -> (total: Double, flat: [String: Double]) {
        let result = try Fixtures.run("jeprof", ["--text", "--show_bytes", binary.path, dump.path])
        guard result.status == 0 else { throw FixtureError.failed("jeprof: \(result.stderr)") }
        var total = 0.0
        var flat: [String: Double] = [:]
        for line in result.stdout.split(separator: "\n") {
            if line.hasPrefix("Total:") {
                total = Double(line.split(separator: " ")[1]) ?? 0
                continue
            }
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, let bytes = Double(fields[0]) else { continue }
            let name = fields[5...].joined(separator: " ")
            flat[name, default: 0] += bytes
        }
        return (total, flat)
    }

    /// `--collapsed`: folded stacks (trimmed of allocator frames, as jeprof does) and their bytes.
    public static func collapsed(binary: URL, dump: URL) throws -> [(stack: String, bytes: Double)] {
        let result = try Fixtures.run("jeprof", ["--collapsed", binary.path, dump.path])
        guard result.status == 0 else { throw FixtureError.failed("jeprof: \(result.stderr)") }
        return result.stdout.split(separator: "\n").compactMap { line in
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            return (String(line[..<space]), value)
        }
    }
}

public enum FixtureError: Error, CustomStringConvertible {
    case failed(String)
    public var description: String {
        switch self { case .failed(let message): return message }
    }
}

final class ThreadBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T?
    var value: T? {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
