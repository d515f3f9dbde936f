import Foundation
import GRDB
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// DWARF from separate debug files (Debian's `-dbg` packages, `--debug-dir` trees, a debuginfod cache), and the
/// warning for modules whose frames stay unnamed.
@Suite("real programs: debug files", .serialized)
struct DebugFileTests {
    static let python3DebugInstalled: Bool = {
        guard let elf = try? ELFFile(path: RealPrograms.Program.python3.path), let id = elf.buildID else { return false }
        return RealPrograms.debugFile(buildID: id) != nil
    }()

    static let libcDebugInstalled: Bool = {
        guard let elf = try? ELFFile(path: "/lib/x86_64-linux-gnu/libc.so.6"), let id = elf.buildID else { return false }
        return RealPrograms.debugFile(buildID: id) != nil
    }()

    /// For `.enabled(if:)`: python3, python3-dbg, libc6-dbg, jeprof and llvm-symbolizer, or CI (which then fails).
    static var debugPackagesEnabled: Bool {
        if RealPrograms.isCI { return true }
        guard RealPrograms.enabled(.python3, .jeprof) else { return false }
        guard python3DebugInstalled, libcDebugInstalled, LLVMSymbolizer.locate() != nil else {
            print("⚠️ skipping the debug-package tests: apt-get install python3-dbg libc6-dbg llvm")
            return false
        }
        return true
    }

    static func requireDebugPackages() throws {
        try RealPrograms.require(.python3, .jeprof)
        guard python3DebugInstalled else { throw FixtureError.failed("python3's debug file is missing: apt-get install python3-dbg") }
        guard libcDebugInstalled else { throw FixtureError.failed("libc's debug file is missing: apt-get install libc6-dbg") }
        guard LLVMSymbolizer.locate() != nil else { throw FixtureError.failed("llvm-symbolizer is missing: apt-get install llvm") }
    }

    /// Bytes per function as jeprof's cum column counts them: a stack's bytes once for every function in it.
    static func cumulative(_ store: Store, snapshot: Int64) throws -> [String: Double] {
        try store.queue.read { db in
            let catalog = StackCatalog(db: db)
            var result: [String: Double] = [:]
            let rows = try Row.fetchAll(db, sql: "SELECT stack_id, inuse_space FROM sample WHERE snapshot_id = ?", arguments: [snapshot])
            for row in rows {
                let bytes: Double = row[1]
                for name in Set(try catalog.names(of: row[0])) { result[name, default: 0] += bytes }
            }
            return result
        }
    }

    /// jeprof's `--text --cum` column by function (it finds debug files by build-id itself).
    static func jeprofCumulative(binary: String, dump: URL) throws -> [String: Double] {
        let result = try Fixtures.run("jeprof", ["--text", "--show_bytes", "--cum", binary, dump.path])
        var cumulative: [String: Double] = [:]
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, let bytes = Double(fields[3]) else { continue }
            cumulative[fields[5...].joined(separator: " ")] = bytes
        }
        return cumulative
    }

    @Test(
        "python3 with python3-dbg and libc6-dbg: file:line and inlined frames from the debug files, per-function bytes equal jeprof's",
        .enabled(if: debugPackagesEnabled))
    func pythonDebugPackages() throws {
        try Self.requireDebugPackages()
        let folder = try Fixtures.temporaryFolder("profhist-python-dbg")
        let script = try RealPrograms.writeLeakingPythonScript(in: folder, keepKiB: 1024, leakSince: 1)
        let run = try RealPrograms.python(script: script, arguments: ["1", "3"], prefix: folder.appendingPathComponent("py"))
        let dump = run.dumps[2]
        let db = folder.appendingPathComponent("p.db").path
        let ingest = try Fixtures.profhist(["ingest", dump.path, "--build", "b1", "--db", db])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(!ingest.stderr.contains("python3.11 (build-id"), "python3's frames all named: \(ingest.stderr)")
        #expect(!ingest.stderr.contains("libc.so.6 (build-id"), "libc's frames all named: \(ingest.stderr)")

        // The biggest stack, shown root to leaf: python3's and libc's frames carry file:line; some are inlined.
        let top = try RealProgramIngestTests.json(["export"], db: db)
        let biggest = top.max { ($0["value"] as? Double ?? 0) < ($1["value"] as? Double ?? 0) }
        let stackID = biggest?["stack_id"] as? Int ?? 0
        let frames = try RealProgramIngestTests.json(["show", String(stackID)], db: db)
        let located = frames.compactMap { $0["location"] as? String }
        #expect(located.contains { $0.contains("Objects/") || $0.contains("Python/") || $0.contains("Modules/") }, "\(frames)")
        #expect(located.contains { $0.contains("libc_start") }, "libc's frames located: \(frames)")
        #expect(frames.contains { $0["inlined"] as? String == "yes" }, "\(frames)")

        let store = try Store(path: db, create: false)
        let ours = try Self.cumulative(store, snapshot: 1)
        let jeprof = try Self.jeprofCumulative(binary: RealPrograms.Program.python3.path, dump: dump)
        // jeprof (addr2line -i on the same debug files) against the DWARF chains from llvm-symbolizer, for functions
        // of python3 (_PyEval_EvalFrame and bytearray___init___impl exist only as inlined frames) and libc
        // (__libc_start_call_main is in libc's .symtab and DWARF only). Where names differ (jeprof keeps
        // `.constprop.1`-style clone suffixes and glibc's `__libc_start_main_impl`; profhist strips clone suffixes
        // and takes symbol-table names for outermost frames) the functions are left out here.
        let functions = [
            "Py_BytesMain", "__libc_start_call_main", "_PyEval_EvalFrame", "run_mod", "type_call", "bytearray___init___impl",
        ]
        for function in functions {
            let theirs = jeprof[function] ?? 0
            #expect(theirs > 0, "jeprof has \(function)")
            #expect(abs((ours[function] ?? 0) - theirs) <= max(theirs * 0.01, 1), "\(function): profhist \(ours[function] ?? 0), jeprof \(theirs)")
        }
    }

    /// A C program built with -g, then split as distributions do: a stripped binary that runs, and its debug file.
    static func strippedProgram(in folder: URL) throws -> (stripped: URL, full: URL, debug: URL, buildID: String) {
        let full = try Fixtures.buildLeakyC(in: folder, name: "leaky-full")
        let stripped = folder.appendingPathComponent("leaky")
        let debug = folder.appendingPathComponent("leaky.debug")
        for (tool, arguments) in [
            ("objcopy", ["--only-keep-debug", full.path, debug.path]),
            ("objcopy", ["--strip-all", full.path, stripped.path]),
        ] {
            let result = try Fixtures.run(tool, arguments)
            guard result.status == 0 else { throw FixtureError.failed("\(tool): \(result.stderr)") }
        }
        guard let id = try ELFFile(path: stripped.path).buildID else { throw FixtureError.failed("gcc wrote no build-id") }
        return (stripped, full, debug, id)
    }

    @Test(
        "a stripped program: unnamed without its debug file (one warning with build-id, bytes, paths searched, what to do); named with file:line from --debug-dir in both layouts, equal to jeprof",
        .enabled(if: RealPrograms.enabled(.jeprof)))
    func debugDirectoryLayouts() throws {
        try RealPrograms.require(.jeprof)
        let folder = try Fixtures.temporaryFolder("profhist-debug-dir")
        let program = try Self.strippedProgram(in: folder)
        let dump = try Fixtures.runLeakyC(program.stripped, prefix: folder.appendingPathComponent("run"), phases: 1)[0]
        var stored: [String: [String: Double]] = [:]

        let bare = try Fixtures.profhist(["ingest", dump.path, "--build", "b1", "--db", folder.appendingPathComponent("bare.db").path])
        #expect(bare.status == 0, "\(bare.stderr)")
        let warnings = bare.stderr.split(separator: "\n").filter { $0.contains("\(program.stripped.path) (build-id") }
        #expect(warnings.count == 1, "one warning for the module: \(bare.stderr)")
        for part in [program.stripped.path, program.buildID, "bytes)", "--debug-dir", "--binary"] {
            #expect(warnings.first?.contains(part) == true, "\(part) in: \(bare.stderr)")
        }

        // Two trees: the build-id layout, and the debuginfod client's cache.
        let tree = folder.appendingPathComponent("tree/.build-id/\(program.buildID.prefix(2))")
        let cache = folder.appendingPathComponent("debuginfod/\(program.buildID)")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: program.debug, to: tree.appendingPathComponent("\(program.buildID.dropFirst(2)).debug"))
        try FileManager.default.copyItem(at: program.debug, to: cache.appendingPathComponent("debuginfo"))
        for root in [folder.appendingPathComponent("tree"), folder.appendingPathComponent("debuginfod")] {
            let db = folder.appendingPathComponent("\(root.lastPathComponent).db").path
            let named = try Fixtures.profhist(["ingest", dump.path, "--build", "b1", "--debug-dir", root.path, "--db", db])
            #expect(named.status == 0, "\(named.stderr)")
            #expect(!named.stderr.contains("leaky+0x"), "\(named.stderr)")
            stored[root.lastPathComponent] = try JeprofAgreementTests.flatByLeaf(try Store(path: db, create: false), snapshot: 1)
            let export = try RealProgramIngestTests.json(["export"], db: db)
            let leakStack = export.first { $0["leaf"] as? String == "leaky_cache" }?["stack_id"] as? Int ?? 0
            let frames = try RealProgramIngestTests.json(["show", String(leakStack)], db: db)
            #expect(frames.contains { ($0["location"] as? String ?? "").contains("leaky.c:") }, "\(frames)")
        }
        // jeprof reads the program at the path in the dump's mappings: put the unstripped copy there (same code).
        try FileManager.default.removeItem(at: program.stripped)
        try FileManager.default.copyItem(at: program.full, to: program.stripped)
        let jeprof = try Jeprof.text(binary: program.stripped, dump: dump)
        for (layout, ours) in stored {
            for function in JeprofAgreementTests.programFunctions {
                let theirs = jeprof.flat[function] ?? 0
                #expect(theirs > 0, "jeprof has \(function)")
                #expect(abs((ours[function] ?? 0) - theirs) <= max(theirs * 0.01, 1), "\(layout) \(function): profhist \(ours[function] ?? 0), jeprof \(theirs)")
            }
        }
        #expect(stored.count == 2)
    }

    @Test(
        "a stripped library with no debug file: one warning for it, naming its build-id, the bytes, the paths searched and --debug-dir",
        .enabled(if: RealPrograms.enabled(.redisServer, .redisCLI)))
    func redisUnnamedWarning() throws {
        try RealPrograms.require(.redisServer, .redisCLI)
        let folder = try Fixtures.temporaryFolder("profhist-redis-unnamed")
        let server = try RedisServer(folder: folder)
        let dump = folder.appendingPathComponent("redis.heap")
        try server.dump(to: dump)
        server.stop()
        guard let id = try ELFFile(path: RealPrograms.Program.redisServer.path).buildID else {
            throw FixtureError.failed("redis-server has no build-id")
        }
        if RealPrograms.debugFile(buildID: id) != nil {
            print("⚠️ redis-server's debug file is installed: its frames are named, no warning to check")
            return
        }
        let result = try Fixtures.profhist(["ingest", dump.path, "--build", "b1", "--db", folder.appendingPathComponent("p.db").path])
        #expect(result.status == 0, "\(result.stderr)")
        // Debian's /usr/bin/redis-server is a symbolic link: the dump maps the file it points to.
        let mapped = URL(fileURLWithPath: RealPrograms.Program.redisServer.path).resolvingSymlinksInPath().path
        let lines = result.stderr.split(separator: "\n").filter { $0.contains("\(mapped) (build-id") }
        #expect(lines.count == 1, "\(result.stderr)")
        let warning = String(lines.first ?? "")
        for part in [id, "bytes)", "/usr/lib/debug/.build-id/\(id.prefix(2))/\(id.dropFirst(2)).debug", "--debug-dir", "-dbg", "--binary"] {
            #expect(warning.contains(part), "\(part) in: \(warning)")
        }
    }
}
