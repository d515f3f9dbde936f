import Foundation
import GRDB
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Input that no well-behaved program writes, and places a store cannot be written: each is either accepted and
/// stored correctly, or refused with one message naming the file, exit status 1, and the store as it was.
///
/// The malformed dumps here are real dumps edited by hand, each named for its edit; everything else is real.
@Suite("hostile input")
struct HostileInputTests {
    /// A store holding one real snapshot, checkpointed so its bytes can be compared.
    static func storeWithOneSnapshot(in folder: URL) throws -> String {
        let set = try SharedDumps.c.get()
        let db = folder.appendingPathComponent("p.db").path
        let result = try Fixtures.profhist(["ingest", set.dumps1[0].path, "--build", "v1", "--binary", set.program1.path, "--db", db])
        try #require(result.status == 0, "\(result.stderr)")
        return db
    }

    /// Runs profhist, as another user when `user` is a command prefix (setpriv ...).
    static func profhist(_ arguments: [String], as user: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        guard let command = user.first else { return try Fixtures.profhist(arguments, environment: environment) }
        return try Fixtures.run(command, Array(user.dropFirst()) + [Fixtures.profhistExecutable.path] + arguments, environment: environment)
    }

    /// Runs profhist and checks the refusal: exit 1, one error line naming `names`, the store byte-for-byte unchanged.
    static func expectRefused(
        _ arguments: [String], db: String, naming names: [String], saying phrase: String, environment: [String: String] = [:],
        as user: [String] = [], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let before = try CommandLineTests.storeBytes(db)
        let result = try profhist(arguments + ["--db", db], as: user, environment: environment)
        #expect(result.status == 1, "\(arguments): exit \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
        let errors = result.stderr.split(separator: "\n").filter { $0.contains("error:") }
        #expect(errors.count == 1, "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        for name in names { #expect(errors.first?.contains(name) == true, "\(arguments): \(result.stderr) does not name \(name)", sourceLocation: sourceLocation) }
        #expect(errors.first?.contains(phrase) == true, "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(try CommandLineTests.storeBytes(db) == before, "\(arguments) changed the store", sourceLocation: sourceLocation)
    }

    /// A real dump edited by a function of its lines, written as `name`.
    static func edited(_ dump: URL, as name: String, in folder: URL, _ edit: (inout [Data]) -> Void) throws -> URL {
        var lines = try Data(contentsOf: dump).split(separator: 0x0A, omittingEmptySubsequences: false).map { Data($0) }
        edit(&lines)
        let file = folder.appendingPathComponent(name)
        try Data(lines.joined(separator: [0x0A])).write(to: file)
        return file
    }

    @Test("numbers beyond 64 bits, negative counts and NUL bytes are refused, naming file and line")
    func impossibleNumbersAndBytes() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let db = try Self.storeWithOneSnapshot(in: folder)
        let dump = set.dumps1[1]
        let firstTotal = { (lines: [Data]) in lines.firstIndex { $0.starts(with: Data("@ ".utf8)) }! + 1 }
        let cases: [(String, String, (inout [Data]) -> Void)] = [
            ("count-2^64.hand-edited.heap", "number 18446744073709551616 in the counts does not fit in 64 bits", { $0[firstTotal($0)] = Data("  t*: 18446744073709551616: 4096 [0: 0]".utf8) }),
            ("bytes-2^70.hand-edited.heap", "does not fit in 64 bits", { $0[firstTotal($0)] = Data("  t*: 1: 1180591620717411303424 [0: 0]".utf8) }),
            ("period-2^64.hand-edited.heap", "expected 'heap_v2/PERIOD'", { $0[0] = Data("heap_v2/18446744073709551616".utf8) }),
            ("negative-count.hand-edited.heap", "negative number -3 in the counts", { $0[firstTotal($0)] = Data("  t*: -3: 4096 [0: 0]".utf8) }),
            ("negative-header.hand-edited.heap", "negative number -1 in the counts", { $0[1] = Data("  t*: -1: 100 [0: 0]".utf8) }),
            ("nul-thread-name.hand-edited.heap", "NUL byte", { $0[2].append(contentsOf: Data(" worker\0pool".utf8)) }),
            ("nul-mapping-path.hand-edited.heap", "NUL byte", { lines in
                let last = lines.lastIndex { $0.contains(0x2F) }!
                lines[last].insert(0, at: lines[last].count - 2)
            }),
        ]
        for (name, phrase, edit) in cases {
            let file = try Self.edited(dump, as: name, in: folder, edit)
            try Self.expectRefused(["ingest", file.path, "--build", "v2", "--binary", set.program1.path], db: db, naming: [file.path], saying: phrase)
        }
        // The line is named too.
        let negative = try Fixtures.profhist(["ingest", folder.appendingPathComponent("negative-count.hand-edited.heap").path, "--build", "v2", "--db", db])
        #expect(negative.stderr.range(of: #"negative-count.hand-edited.heap:\d+: negative number"#, options: .regularExpression) != nil, "\(negative.stderr)")
    }

    @Test("invalid UTF-8 in thread names, mapping paths and symbol names is accepted; NUL in task frame names too")
    func invalidUTF8() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let db = folder.appendingPathComponent("p.db").path
        // Thread names are bytes (prctl PR_SET_NAME), and so are file names.
        let threadName = try Self.edited(set.dumps1[0], as: "latin1-thread-name.hand-edited.heap", in: folder) { lines in
            lines[2].append(contentsOf: [0x20, 0x77, 0xE9, 0xFF, 0xFE])
        }
        let mappingPath = try Self.edited(set.dumps1[1], as: "latin1-mapping-path.hand-edited.heap", in: folder) { lines in
            for index in lines.indices where lines[index].contains(0x2F) {
                if let range = lines[index].range(of: Data("/leaky".utf8)) { lines[index].replaceSubrange(range, with: Data("/le".utf8) + [0xFF] + Data("aky".utf8)) }
            }
        }
        for file in [threadName, mappingPath] {
            let result = try Fixtures.profhist(["ingest", file.path, "--build", "v1", "--binary", set.program1.path, "--db", db])
            #expect(result.status == 0, "\(file.lastPathComponent): \(result.stderr)")
        }
        let export = try Fixtures.profhist(["export", "--format", "csv", "--db", db])
        #expect(export.stdout.components(separatedBy: ",leaky_cache,").count - 1 == 4, "both dumps symbolized: \(export.stdout)")

        // A real program whose function's symbol is not UTF-8 (an assembler label with bytes 0xFF 0xFE).
        let source = folder.appendingPathComponent("odd-symbol.c")
        try """
            #include <jemalloc/jemalloc.h>
            #include <stdlib.h>
            void *volatile kept[64];
            __attribute__((noinline)) void odd_name(int i) __asm__("odd\\xff\\xfename");
            __attribute__((noinline)) void odd_name(int i) { kept[i] = malloc(4096); }
            int main(int argc, char **argv) {
                for (int i = 0; i < 64; i++) odd_name(i);
                const char *name = argv[1];
                return mallctl("prof.dump", NULL, NULL, (void *)&name, sizeof name);
            }
            """.write(to: source, atomically: true, encoding: .utf8)
        let program = folder.appendingPathComponent("odd-symbol")
        let compiled = try Fixtures.run("gcc", ["-O1", "-g", "-fno-omit-frame-pointer", source.path, "-o", program.path, "-ljemalloc"])
        try #require(compiled.status == 0, "\(compiled.stderr)")
        let dump = folder.appendingPathComponent("odd.heap")
        try #require(try Fixtures.run(program.path, [dump.path], environment: ["MALLOC_CONF": "prof:true,lg_prof_sample:0"]).status == 0)
        let odd = try Fixtures.profhist(["ingest", dump.path, "--build", "v1", "--binary", program.path, "--db", db])
        #expect(odd.status == 0, "\(odd.stderr)")
        let leaves = try Fixtures.profhist(["export", "--format", "csv", "--snapshot", "3", "--db", db])
        #expect(leaves.stdout.contains(",odd\u{FFFD}\u{FFFD}name,"), "the name, with U+FFFD for the bytes that are not UTF-8: \(leaves.stdout)")

        // Task dumps carry frame names as text: two that differ only after a NUL stay two stacks (SQLite's C
        // string API would cut them to one name, and their call sites would collide).
        let fixture = Fixtures.sourceFolder.appendingPathComponent("tasks/taskdump.tokio-1.53.1.txt")
        var text = try Data(contentsOf: fixture)
        for replacement in ["dumpdemo::b\0x at", "dumpdemo::b\0y at"] {
            let range = try #require(text.range(of: Data("dumpdemo::bb at".utf8)))
            text.replaceSubrange(range, with: Data(replacement.utf8))
        }
        let tasks = folder.appendingPathComponent("nul-frame-names.hand-edited.txt")
        try text.write(to: tasks)
        let ingested = try Fixtures.profhist(["ingest", tasks.path, "--build", "v1", "--db", db])
        #expect(ingested.status == 0, "\(ingested.stderr)")
        let taskExport = try Fixtures.profhist(["export", "--kind", "tasks", "--format", "csv", "--db", db])
        #expect(taskExport.stdout.contains(";dumpdemo::b\u{FFFD}x;") && taskExport.stdout.contains(";dumpdemo::b\u{FFFD}y;"), "\(taskExport.stdout)")
        #expect(try StoreAudit.inspect(db) { db in try StoreAudit.problems(db) }.isEmpty)
    }

    @Test("a 10,000-frame stack is stored whole: every frame, in order, with the dump's bytes")
    func deepStack() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        // jemalloc records at most 128 frames (PROF_BT_MAX), so no real dump has a deeper stack: this one is the real
        // dump of leaky.c with its recursion (recurse_then_allocate, 13 levels) extended by hand to 10,000 frames,
        // repeating the recursion's real return address.
        let original = set.exact1[0]
        var extra = 0
        let deep = try Self.edited(original, as: "deep-10000-frames.hand-extended.heap", in: folder) { lines in
            for index in lines.indices where lines[index].starts(with: Data("@ ".utf8)) {
                let addresses = String(decoding: lines[index].dropFirst(2), as: UTF8.self).split(separator: " ").map(String.init)
                guard let repeated = addresses.first(where: { address in addresses.filter { $0 == address }.count >= 10 }) else { continue }
                let first = addresses.firstIndex(of: repeated)!
                let run = addresses[first...].prefix { $0 == repeated }.count
                extra = 10_000 - addresses.count
                let longer = Array(addresses[..<first]) + Array(repeating: repeated, count: run + extra) + Array(addresses[(first + run)...])
                lines[index] = Data(("@ " + longer.joined(separator: " ")).utf8)
            }
        }
        try #require(extra > 9_000)
        let db = folder.appendingPathComponent("p.db").path
        let reference = folder.appendingPathComponent("reference.db").path
        for (file, store) in [(deep, db), (original, reference)] {
            let result = try Fixtures.profhist(["ingest", file.path, "--build", "v1", "--binary", set.program1.path, "--db", store])
            #expect(result.status == 0, "\(result.stderr)")
        }
        // The folded stack is the original's with `extra` more recursion frames; its bytes are the original's.
        let rows: (String) throws -> [String: String] = { store in
            let export = try Fixtures.profhist(["export", "--format", "csv", "--metric", "inuse_space", "--db", store])
            var byStack: [String: String] = [:]
            for line in export.stdout.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                byStack[String(fields[7])] = String(fields[9])
            }
            return byStack
        }
        let deepRows = try rows(db)
        let referenceRows = try rows(reference)
        let recursion = try #require(referenceRows.keys.first { $0.components(separatedBy: "recurse_then_allocate").count > 10 })
        let depth = recursion.split(separator: ";").count
        let extended = recursion.replacingOccurrences(of: ";recurse_then_allocate", with: ";recurse_then_allocate" + String(repeating: ";recurse_then_allocate", count: extra), options: [], range: recursion.range(of: ";recurse_then_allocate"))
        #expect(extended.split(separator: ";").count == depth + extra)
        #expect(deepRows[extended] == referenceRows[recursion], "the deep stack's row")
        #expect(deepRows.count == referenceRows.count)
        for (stack, value) in referenceRows where stack != recursion { #expect(deepRows[stack] == value) }
        // show walks it root to leaf.
        let stackID = try StoreAudit.inspect(db) { db in
            try Int64.fetchOne(db, sql: "SELECT id FROM callsite ORDER BY depth DESC LIMIT 1")
        }
        let show = try Fixtures.profhist(["show", String(stackID ?? 0), "--format", "csv", "--db", db])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.split(separator: "\n").count == depth + extra + 1)
        #expect(try StoreAudit.inspect(db) { db in try StoreAudit.problems(db) }.isEmpty)
    }

    @Test("a million-line dump is read in memory that does not grow with the file, in sane time")
    func millionLines() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        // Generated: the real stacks of a leaky.c dump (every allocation sampled) repeated to 500,000 stack lines,
        // each with its `t*:` line, 1,000,000 lines in all. jemalloc writes a stack once; a generator or a
        // concatenation need not, and the parser adds repeats up.
        let text = try String(contentsOf: set.exact1[0], encoding: .utf8)
        let body = try #require(text.range(of: "\n@ ").map { text[$0.lowerBound...] })
        let header = String(text[..<body.startIndex])
        let stacksText = try #require(body.range(of: "\nMAPPED_LIBRARIES:").map { body[..<$0.lowerBound] })
        let maps = String(body[stacksText.endIndex...])
        var stacks: [(String, String, Double)] = []
        var lines = stacksText.split(separator: "\n")[...]
        while let line = lines.popFirst() {
            guard line.hasPrefix("@ "), let total = lines.first(where: { $0.hasPrefix("  t*: ") }) else { continue }
            let bytes = Double(total.split(separator: " ")[2]) ?? 0
            stacks.append((String(line), String(total), bytes))
        }
        let file = folder.appendingPathComponent("million-lines.generated.heap")
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        try handle.write(contentsOf: Data(header.utf8))
        let stackLines = 500_000
        var chunk = Data()
        var expectedBytes = 0.0
        for index in 0..<stackLines {
            let stack = stacks[index % stacks.count]
            chunk.append(contentsOf: "\n\(stack.0)\n\(stack.1)".utf8)
            expectedBytes += stack.2
            if chunk.count > 1 << 20 {
                try handle.write(contentsOf: chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: chunk + Data(maps.utf8))
        try handle.close()
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int)
        #expect(size > 80_000_000)

        // Peak memory of the profhist process itself (VmHWM), polled until it exits.
        let db = folder.appendingPathComponent("p.db").path
        let process = Process()
        process.executableURL = Fixtures.profhistExecutable
        process.arguments = ["ingest", file.path, "--build", "v1", "--binary", set.program1.path, "--db", db]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let started = Date()
        try process.run()
        var peakKiB = 0
        while process.isRunning {
            if let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                let value = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
            {
                peakKiB = max(peakKiB, value)
            }
            usleep(20_000)
        }
        let seconds = Date().timeIntervalSince(started)
        print("hostile input: \(stackLines * 2) lines, \(size / 1_000_000) MB: ingest \(String(format: "%.1f", seconds)) s, peak RSS \(peakKiB / 1024) MiB")
        #expect(process.terminationStatus == 0)
        // Well below the file's size: the file is streamed, and memory follows distinct stacks, not lines.
        #expect(peakKiB > 0 && peakKiB < 64 * 1024, "peak RSS \(peakKiB) KiB")
        #expect(seconds < 120)
        let total = try StoreAudit.inspect(db) { db in try Double.fetchOne(db, sql: "SELECT total FROM snapshot") } ?? 0
        // Every line was added up (lg_prof_sample:0: unsampling scales by 1/(1-e^-size), 1 to 7 digits).
        #expect(abs(total - expectedBytes) / expectedBytes < 1e-6, "\(total) vs \(expectedBytes)")
    }

    @Test("paths with spaces and non-ASCII letters: the program, its dump, the binary and the store")
    func unusualPaths() throws {
        let folder = try Fixtures.temporaryFolder().appendingPathComponent("a folder/ünïcödé 日本")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // The program itself lives there, so the dump's MAPPED_LIBRARIES line has the spaces and letters too.
        let program = try Fixtures.buildLeakyC(in: folder, name: "lea ky")
        let dumps = try Fixtures.runLeakyC(program, prefix: folder.appendingPathComponent("du mp é"), phases: 1)
        #expect(try String(contentsOf: dumps[0], encoding: .utf8).contains("/ünïcödé 日本/lea ky\n"))
        let db = folder.appendingPathComponent("st ore ü.db").path
        let withBinary = try Fixtures.profhist(
            ["ingest", dumps[0].path, "--build", "v 1 ü", "--run", "r ü", "--binary", program.path, "--db", db])
        #expect(withBinary.status == 0, "\(withBinary.stderr)")
        // No warning about the paths. (Debian's libstdc++ has no debug file: its start-up pool's frame stays
        // unnamed, and the one warning for that module is expected; it names a /usr/lib path, not ours.)
        let warnings = withBinary.stderr.split(separator: "\n").filter { $0.contains("warning") }
        #expect(warnings.allSatisfy { $0.contains(": /usr/lib/x86_64-linux-gnu/libstdc++") }, "\(withBinary.stderr)")
        // Without --binary, the program is found at its mapped path.
        let other = folder.appendingPathComponent("other ü.db").path
        let mapped = try Fixtures.profhist(["ingest", dumps[0].path, "--build", "v1", "--db", other])
        #expect(mapped.status == 0, "\(mapped.stderr)")
        for store in [db, other] {
            let export = try Fixtures.profhist(["export", "--format", "csv", "--db", store])
            #expect(export.stdout.contains(",leaky_cache,"), "\(store): \(export.stdout)")
        }
        let snapshots = try Fixtures.profhist(["snapshots", "--format", "csv", "--db", db])
        #expect(snapshots.stdout.contains(",v 1 ü,") && snapshots.stdout.contains(dumps[0].path), "\(snapshots.stdout)")
    }

    @Test("a read-only store file, and a store in a read-only folder: refused with the reason, store unchanged")
    func readOnlyStore() throws {
        let set = try SharedDumps.c.get()
        // Root writes through file modes, so as root profhist runs as nobody (setpriv) for this test.
        var user: [String] = []
        if getuid() == 0 {
            let probe = try? Fixtures.run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", Fixtures.profhistExecutable.path, "--version"])
            guard probe?.status == 0 else {
                print("skipped: running as root, and profhist cannot be run as nobody here (setpriv, or the build folder's modes)")
                return
            }
            user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        }
        let folder = try Fixtures.temporaryFolder()
        let dump = folder.appendingPathComponent("dump.heap")
        try FileManager.default.copyItem(at: set.dumps1[1], to: dump)

        // chmod 444 on the store, in a folder the user may write.
        let db = try Self.storeWithOneSnapshot(in: folder)
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: db)
        if !user.isEmpty { try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: folder.path) }
        try Self.expectRefused(["ingest", dump.path, "--build", "v2"], db: db, naming: [dump.path, db], saying: "read-only for this user", as: user)
        // Reading still works.
        let read = try Self.profhist(["export", "--format", "csv", "--db", db], as: user)
        #expect(read.status == 0 && read.stdout.contains(",leaky_cache,"), "\(read.stderr)")

        // A writable store in a folder the user may not write: SQLite cannot create the WAL beside it.
        let locked = folder.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        let inside = try Self.storeWithOneSnapshot(in: locked)
        if user.isEmpty {
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: locked.path)
        } else {
            try FileManager.default.setAttributes([.ownerAccountID: 65534], ofItemAtPath: inside)
        }
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: locked.path) }
        try Self.expectRefused(["ingest", dump.path, "--build", "v2"], db: inside, naming: [inside, locked.path], saying: "is not writable by this user", as: user)
        #expect(try FileManager.default.contentsOfDirectory(atPath: locked.path) == ["p.db"])
        // A new store there fails the same way and creates nothing.
        let fresh = locked.appendingPathComponent("new.db").path
        let created = try Self.profhist(["ingest", dump.path, "--build", "v2", "--db", fresh], as: user)
        #expect(created.status == 1 && created.stderr.contains(fresh) && created.stderr.contains("not writable"), "\(created.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fresh))
    }

    @Test("a full disk (a 2 MiB tmpfs): refused as disk full, the store unchanged and sound")
    func fullDisk() throws {
        let folder = try Fixtures.temporaryFolder()
        let disk = folder.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        let mounted = try Fixtures.run("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", disk.path])
        guard mounted.status == 0 else {
            print("skipped: cannot mount a small tmpfs here (\(mounted.stderr.trimmingCharacters(in: .whitespacesAndNewlines)))")
            return
        }
        defer { _ = try? Fixtures.run("umount", [disk.path]) }
        let db = try Self.storeWithOneSnapshot(in: disk)
        // 16,386 stacks (14 levels): a transaction of several MiB, more than the disk has left.
        let program = try Fixtures.buildBranchy(in: folder)
        let big = try Fixtures.runBranchy(program, levels: 14, seed: 1, prefix: folder.appendingPathComponent("big"))[0]
        let before = try StoreAudit.inspect(db) { db in try StoreAudit.tableCounts(db) }
        try Self.expectRefused(["ingest", big.path, "--build", "v2", "--binary", program.path], db: db, naming: [big.path, db], saying: "disk is full")
        let (problems, after) = try StoreAudit.inspect(db) { db in (try StoreAudit.problems(db), try StoreAudit.tableCounts(db)) }
        #expect(problems.isEmpty, "\(problems)")
        #expect(after == before)
        // With room again (a larger disk), the same file goes in.
        let remount = try Fixtures.run("mount", ["-o", "remount,size=64m", disk.path])
        #expect(remount.status == 0, "\(remount.stderr)")
        let retried = try Fixtures.profhist(["ingest", big.path, "--build", "v2", "--binary", program.path, "--db", db])
        #expect(retried.status == 0 && retried.stderr.contains("stored as snapshot 2"), "\(retried.stderr)")
    }

    @Test("a --binary that is not ELF, or an ELF cut short, is refused naming it; the store unchanged")
    func notELF() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let db = try Self.storeWithOneSnapshot(in: folder)
        let program = try Data(contentsOf: set.program1)
        let cases: [(String, Data, String)] = [
            ("script.sh", Data("#!/bin/sh\necho hello\n".utf8), "no ELF magic number"),
            ("elf-10-bytes", program.prefix(10), "no ELF magic number"),
            ("elf-header-only", program.prefix(64), "truncated"),
            ("elf-100-bytes", program.prefix(100), "truncated"),
        ]
        for (name, bytes, phrase) in cases {
            let binary = folder.appendingPathComponent(name)
            try bytes.write(to: binary)
            try Self.expectRefused(["ingest", set.dumps1[1].path, "--build", "v2", "--binary", binary.path], db: db, naming: [binary.path], saying: phrase)
        }
    }
}
