import Foundation
import GRDB
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Where output goes, and what happens when it cannot: the store is never an output, devices and FIFOs stay what
/// they are, a write error is one message and exit 1 (check: 2), a closed pipe ends quietly, and no temporary
/// file outlives the command (issue 21, points 1, 3 and 6).
@Suite("output safety", .serialized)
struct OutputSafetyTests {
    static func store(in folder: URL) throws -> String { try HostileInputTests.storeWithOneSnapshot(in: folder) }

    @Test("export --output naming the store, a link to it, or its WAL or SHM file is refused and the store survives")
    func storeAsOutputIsRefused() throws {
        let folder = try Fixtures.temporaryFolder()
        let db = try Self.store(in: folder)
        let before = try CommandLineTests.storeBytes(db)
        let link = folder.appendingPathComponent("link.db").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: db)
        let hard = folder.appendingPathComponent("hard.db").path
        try FileManager.default.linkItem(atPath: db, toPath: hard)
        for output in [db, link, hard, "./" + URL(fileURLWithPath: db).lastPathComponent] {
            let result = try Fixtures.run(
                Fixtures.profhistExecutable.path, ["export", "--format", "csv", "--output", output, "--db", db], currentDirectory: folder)
            #expect(result.status == 1, "\(output): \(result.stderr)")
            #expect(result.stderr.contains("refusing to write output over the store"), "\(output): \(result.stderr)")
            #expect(try CommandLineTests.storeBytes(db) == before, "\(output) changed the store")
        }
        // While another connection holds the store open, its -wal and -shm files exist: neither may be overwritten.
        let queue = try DatabaseQueue(path: db)
        try queue.read { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM snapshot") }
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: db + suffix) {
            let result = try Fixtures.profhist(["export", "--output", db + suffix, "--db", db])
            #expect(result.status == 1 && result.stderr.contains("refusing"), "\(suffix): \(result.stderr)")
        }
        try queue.close()
        let after = try Fixtures.profhist(["snapshots", "--format", "csv", "--db", db])
        #expect(after.status == 0 && after.stdout.split(separator: "\n").count == 2, "\(after.stderr)")
    }

    @Test("a FIFO as --output is written directly and stays a FIFO; /proc/self/fd/1 writes to stdout")
    func fifoAndDescriptorOutputs() throws {
        let folder = try Fixtures.temporaryFolder()
        let db = try Self.store(in: folder)
        let expected = try Fixtures.profhist(["export", "--format", "csv", "--db", db]).stdout
        #expect(expected.split(separator: "\n").count > 3)
        let fifo = try Shell.run(
            #"mkfifo "$D/fifo" && { cat "$D/fifo" > "$D/got" & } && "$P" export --format csv --output "$D/fifo" --db "$D/p.db"; s=$?; wait; "#
                + #"test -p "$D/fifo" || echo "not a fifo any more"; exit $s"#, in: folder)
        #expect(fifo.status == 0 && fifo.stdout.isEmpty, "\(fifo.stdout) \(fifo.stderr)")
        #expect(try String(contentsOf: folder.appendingPathComponent("got"), encoding: .utf8) == expected)
        let proc = try Shell.run(#""$P" export --format csv --output /proc/self/fd/1 --db "$D/p.db" > "$D/out.csv""#, in: folder)
        #expect(proc.status == 0, "\(proc.stderr)")
        #expect(try String(contentsOf: folder.appendingPathComponent("out.csv"), encoding: .utf8) == expected)
        #expect(Shell.temporaryFiles(in: folder).isEmpty)
    }

    @Test("devices, symlinks to devices and /dev/stdout stay what they were (in a private mount namespace)")
    func devicesStayDevices() throws {
        guard Shell.canMount() else { return }
        let folder = try Fixtures.temporaryFolder()
        let db = try Self.store(in: folder)
        let expected = try Fixtures.profhist(["export", "--format", "csv", "--db", db]).stdout
        // A tmpfs over /dev in a private namespace: the real /dev is never touched.
        let result = try Shell.run(
            """
            set -e
            unshare --mount bash -c '
              set -e
              mount -t tmpfs none /dev
              mknod /dev/null c 1 3 && chmod 666 /dev/null
              ln -s /proc/self/fd/1 /dev/stdout
              ln -s /dev/null "$D/null-link"
              "$P" export --format csv --output /dev/null --db "$D/p.db"
              "$P" export --format csv --output "$D/null-link" --db "$D/p.db"
              "$P" export --format csv --output /dev/stdout --db "$D/p.db" > "$D/stdout.csv"
              test -c /dev/null || echo "/dev/null is no longer a device"
              test -L "$D/null-link" && test -c "$(readlink "$D/null-link")" || echo "the link changed"
              test -L /dev/stdout || echo "/dev/stdout is no longer a symlink"
              test "$(stat -c %s /dev/null)" = 0 || echo "/dev/null holds data"
            '
            """, in: folder)
        #expect(result.status == 0 && result.stdout.isEmpty, "\(result.stdout)\(result.stderr)")
        #expect(try String(contentsOf: folder.appendingPathComponent("stdout.csv"), encoding: .utf8) == expected)
    }

    @Test("every writing command on /dev/full: one error line, exit 1 (check: 2), never a crash")
    func devFull() throws {
        let folder = try Fixtures.temporaryFolder()
        _ = try Self.store(in: folder)
        let commands = [
            #"show "$P_STACK""#, "builds", "snapshots", "snapshots --format csv", "export", "export --format json", "export --format folded", "top",
            "top --format csv", "query list_snapshots", "query --list", "gc --dry-run", "diff --base v1 --target v1",
        ]
        let export = try Fixtures.profhist(["export", "--format", "csv", "--db", folder.appendingPathComponent("p.db").path])
        let stackID = export.stdout.split(separator: "\n").dropFirst().first?.split(separator: ",").dropFirst(5).first.map(String.init) ?? "1"
        for command in commands {
            let result = try Shell.run(#""$P" \#(command) --db "$D/p.db" > /dev/full"#, in: folder, environment: ["P_STACK": stackID])
            #expect(result.status == 1, "\(command): exit \(result.status) \(result.stderr)")
            #expect(Shell.errorLines(result.stderr).count == 1, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("no space left on device"), "\(command): \(result.stderr)")
        }
        let check = try Shell.run(#""$P" check --db "$D/p.db" > /dev/full"#, in: folder)
        #expect(check.status == 2, "check: exit \(check.status) \(check.stderr)")
        #expect(check.stderr.contains("no space left on device"), "\(check.stderr)")
        let summary = try Shell.run(#""$P" check --db "$D/p.db" --summary /dev/full"#, in: folder)
        #expect(summary.status == 2, "check --summary: exit \(summary.status) \(summary.stderr)")
        let output = try Shell.run(#""$P" export --output /dev/full --db "$D/p.db""#, in: folder)
        #expect(output.status == 1 && output.stderr.contains("no space left on device"), "\(output.stderr)")
    }

    @Test("a reader that closed the pipe ends the command quietly, without a crash")
    func closedPipe() throws {
        let folder = try Fixtures.temporaryFolder()
        _ = try Self.store(in: folder)
        for command in ["export", "export --format csv", "snapshots", "builds", "top", "check"] {
            // `true` exits at once; SIGPIPE is ignored (as under some CI runners), so the write fails with EPIPE.
            let result = try Shell.run(
                #"trap '' PIPE; (sleep 0.3; "$P" \#(command) --db "$D/p.db"; echo "status $?" >&2) | true"#, in: folder)
            let status = result.stderr.split(separator: "\n").last { $0.hasPrefix("status ") }
            #expect(status == "status 1" || (command == "check" && status == "status 2"), "\(command): \(result.stderr)")
            #expect(!result.stderr.contains("error") && !result.stderr.contains("Fatal"), "\(command): \(result.stderr)")
        }
        // And with SIGPIPE at its default, the command is ended by it, as any Unix tool.
        let killed = try Shell.run(#"(sleep 0.3; "$P" export --db "$D/p.db"; echo "status $?" >&2) | true"#, in: folder)
        #expect(killed.stderr.contains("status 141"), "\(killed.stderr)")
    }

    @Test("ingest with stderr closed stores the file and exits 0; a closed stdout is an error, not silence")
    func closedDescriptors() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let result = try Shell.run(
            #""$P" ingest "\#(set.dumps1[0].path)" --build v1 --binary "\#(set.program1.path)" --db "$D/p.db" 2>&-"#, in: folder)
        #expect(result.status == 0, "exit \(result.status)")
        let listed = try Fixtures.profhist(["snapshots", "--format", "csv", "--db", folder.appendingPathComponent("p.db").path])
        #expect(listed.stdout.split(separator: "\n").count == 2, "\(listed.stdout)")
        let failing = try Shell.run(#""$P" ingest /nonexistent.heap --build v1 --db "$D/p.db" 2>&-"#, in: folder)
        #expect(failing.status == 1)
        let closed = try Shell.run(#""$P" snapshots --db "$D/p.db" >&-"#, in: folder)
        #expect(closed.status == 1 && closed.stderr.contains("standard output"), "\(closed.stderr)")
    }

    @Test("a full file system: export --output and check --summary fail with one line, leave no temporary file")
    func fullFileSystem() throws {
        guard Shell.canMount() else { return }
        let folder = try Fixtures.temporaryFolder()
        _ = try Self.store(in: folder)
        let result = try Shell.run(
            """
            unshare --mount bash -c '
              mkdir -p "$D/full" && mount -t tmpfs -o size=64k none "$D/full"
              cat /dev/zero > "$D/full/pad" 2>/dev/null
              "$P" export --format csv --output "$D/full/out.csv" --db "$D/p.db"; echo "export $?"
              "$P" check --db "$D/p.db" --summary "$D/full/summary.md" > /dev/null; echo "check $?"
              "$P" snapshots --db "$D/p.db" > "$D/full/table.txt"; echo "snapshots $?"
              ls -A "$D/full"
            '
            """, in: folder)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("export 1"), "\(result.stdout) \(result.stderr)")
        #expect(lines.contains("check 2"), "\(result.stdout) \(result.stderr)")
        #expect(lines.contains("snapshots 1"), "\(result.stdout) \(result.stderr)")
        #expect(!lines.contains { $0.hasSuffix(".tmp") || $0 == "out.csv" }, "left behind: \(result.stdout)")
        #expect(Shell.errorLines(result.stderr).count == 3, "\(result.stderr)")
        #expect(result.stderr.contains("no space left on device"), "\(result.stderr)")
    }

    @Test("SIGINT, SIGTERM, SIGHUP and SIGPIPE during export --output remove its temporary file")
    func signalsRemoveTemporaryFile() throws {
        let folder = try Fixtures.temporaryFolder()
        // A store whose export takes long enough to be interrupted: 1,026 stacks.
        let program = try Fixtures.buildBranchy(in: folder)
        let dumps = try Fixtures.runBranchy(program, levels: 10, seed: 1, prefix: folder.appendingPathComponent("b"), dumps: 2)
        let db = folder.appendingPathComponent("p.db").path
        let ingest = try Fixtures.profhist(["ingest"] + dumps.map(\.path) + ["--build", "v1", "--binary", program.path, "--db", db])
        try #require(ingest.status == 0, "\(ingest.stderr)")
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] {
            var interrupted = 0
            for attempt in 0..<20 where interrupted < 2 {
                let output = folder.appendingPathComponent("out-\(signal)-\(attempt).json")
                let process = Process()
                // The test runner may leave these signals ignored, and an ignored signal stays ignored (nohup's
                // SIGHUP must): env gives profhist their default dispositions, then execs it (same pid).
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = [
                    "--default-signal=INT,TERM,HUP,PIPE", Fixtures.profhistExecutable.path,
                    "export", "--format", "json", "--output", output.path, "--db", db,
                ]
                process.standardError = FileHandle.nullDevice
                try process.run()
                let temporary = folder.appendingPathComponent(".\(output.lastPathComponent).\(process.processIdentifier).tmp").path
                // Give env a moment to exec profhist (a signal to env itself proves nothing).
                while process.isRunning && !FileManager.default.fileExists(atPath: temporary) { usleep(200) }
                usleep(20_000)
                kill(process.processIdentifier, signal)
                process.waitUntilExit()
                if process.terminationReason == .uncaughtSignal && process.terminationStatus == signal {
                    interrupted += 1
                    #expect(!FileManager.default.fileExists(atPath: output.path), "an interrupted export completed")
                }
                #expect(!FileManager.default.fileExists(atPath: temporary), "signal \(signal) left \(temporary)")
            }
            #expect(interrupted > 0, "signal \(signal) never caught an export in progress")
        }
        #expect(Shell.temporaryFiles(in: folder).isEmpty, "\(Shell.temporaryFiles(in: folder))")
    }

    @Test("--output into a missing folder, or onto a folder, says so")
    func outputFolders() throws {
        let folder = try Fixtures.temporaryFolder()
        let db = try Self.store(in: folder)
        let missing = try Fixtures.profhist(["export", "--output", folder.appendingPathComponent("nope/out.csv").path, "--db", db])
        #expect(missing.status == 1 && missing.stderr.contains("the folder") && missing.stderr.contains("does not exist"), "\(missing.stderr)")
        let directory = try Fixtures.profhist(["export", "--output", folder.path, "--db", db])
        #expect(directory.status == 1 && directory.stderr.contains("is a directory"), "\(directory.stderr)")
    }
}
