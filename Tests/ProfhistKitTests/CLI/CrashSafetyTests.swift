import Foundation
import GRDB
import ProfhistTestSupport
import Testing

/// `profhist ingest` killed with SIGKILL (the OOM killer, a CI timeout, a crash) at moments spread over its whole
/// run: the store must stay sound and hold either nothing of the file or all of it.
@Suite("crash safety")
struct CrashSafetyTests {
    /// One ingest process, watched from outside: when it reported the end of symbolization (PROFHIST_TIMINGS),
    /// when its commit wrote the first WAL byte, when it exited. Times in seconds from launch.
    final class WatchedIngest {
        let process = Process()
        let errors: URL
        let store: String
        let launched: Date
        var symbolized: Double?
        var firstWrite: Double?

        init(arguments: [String], store: String, errors: URL) throws {
            self.errors = errors
            self.store = store
            process.executableURL = Fixtures.profhistExecutable
            process.arguments = arguments + ["--db", store]
            process.environment = ProcessInfo.processInfo.environment.merging(["PROFHIST_TIMINGS": "1"]) { $1 }
            _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: errors)
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            launched = Date()
        }

        var elapsed: Double { Date().timeIntervalSince(launched) }
        var printed: String { (try? String(contentsOf: errors, encoding: .utf8)) ?? "" }

        /// Polls (every 0.2 ms) until `until` holds, the process exits, or a minute passes; records the events seen.
        func watch(until: (WatchedIngest) -> Bool) {
            var polls = 0
            while process.isRunning && !until(self) && elapsed < 60 {
                if firstWrite == nil && CrashSafetyTests.fileSize(store + "-wal") > 0 { firstWrite = elapsed }
                // The stderr file is read less often than the WAL is stat'ed: it is the slower probe.
                if symbolized == nil && polls % 5 == 0 && printed.contains("timings: symbolize:") { symbolized = elapsed }
                polls += 1
                usleep(200)
            }
        }

        /// SIGKILL, no chance to clean up; returns whether the process was still running when killed.
        func kill() -> Bool {
            let running = process.isRunning
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return running
        }
    }

    /// One killed ingest.
    struct Trial {
        var trigger: String
        var delay: Double
        /// Where the kill landed, from what the process printed (PROFHIST_TIMINGS) and left on disk.
        var phase: String
        var snapshotStored: Bool
    }

    @Test("an ingest killed at any moment leaves the store sound, holding none or all of the dump; the same ingest then stores it whole")
    func killedIngest() throws {
        let folder = try Fixtures.temporaryFolder("profhist-crash")
        let program = try Fixtures.buildBranchy(in: folder)
        // Earlier snapshots of another build (1,026 stacks each, sharing the tree's upper levels), and the big dump:
        // 16,386 stacks, about 7 MB, a 10 to 20 MB transaction.
        let earlier = try Fixtures.runBranchy(program, levels: 10, seed: 1, prefix: folder.appendingPathComponent("early"), dumps: 2)
        let big = try Fixtures.runBranchy(program, levels: 14, seed: 7, prefix: folder.appendingPathComponent("big"))[0]
        let base = folder.appendingPathComponent("base.db").path
        let seeded = try Fixtures.profhist(["ingest"] + earlier.map(\.path) + ["--build", "b0", "--binary", program.path, "--db", base])
        try #require(seeded.status == 0, "\(seeded.stderr)")
        let (baseSnapshots, baseCounts) = try StoreAudit.inspect(base) { db in (try StoreAudit.snapshots(db), try StoreAudit.tableCounts(db)) }
        try #require(baseSnapshots.count == 2)
        let ingest = ["ingest", big.path, "--build", "b1", "--binary", program.path]

        // Calibration: one whole ingest, watched, gives the reference content and the windows the kills spread over.
        let reference = folder.appendingPathComponent("reference.db").path
        try Self.copyStore(base, to: reference)
        let calibration = try WatchedIngest(arguments: ingest, store: reference, errors: folder.appendingPathComponent("calibration.err"))
        calibration.watch { _ in false }
        let wall = calibration.elapsed
        try #require(calibration.process.terminationStatus == 0, "\(calibration.printed)")
        let symbolized = try #require(calibration.symbolized)
        let firstWrite = try #require(calibration.firstWrite)
        let expected = try #require(try StoreAudit.inspect(reference) { db in
            try StoreAudit.content(db, snapshotID: try Int64.fetchOne(db, sql: "SELECT max(id) FROM snapshot") ?? 0)
        })
        try #require(expected.isWhole && expected.stackCount == 16_386, "\(expected)")
        // Where parsing ended, by the time symbolization reported it took (the kills before the end of symbolization
        // are placed by time alone).
        let parsed = symbolized - (Self.phaseTime("symbolize", in: calibration.printed, path: big.path) ?? 0) / 1000
        let timings = calibration.printed.split(separator: "\n").filter { $0.hasPrefix("timings") }
            .map { $0.replacingOccurrences(of: big.path, with: "big.0.heap") }
        print("crash safety: calibration: exit at \(Self.seconds(wall)), parse done ~\(Self.seconds(parsed)), symbolization done at \(Self.seconds(symbolized)), first WAL write at \(Self.seconds(firstWrite)); \(timings.joined(separator: " | "))")

        // Three kinds of kill, eight each, each at a random point of its own eighth of a window measured above:
        // of the whole run (from launch); of the store phase, which opens the write transaction (from the end of
        // symbolization to exit); of the file write (from the commit's first WAL byte to exit: the commit and the
        // checkpoint at close). The first two stop short of the calibrated exit (8%) so that a trial running a
        // little faster than the calibration is still killed, not found finished.
        let kinds: [(trigger: String, window: Double, ready: (WatchedIngest) -> Bool)] = [
            ("launch", 0.92 * wall, { _ in true }),
            ("end of symbolization", 0.92 * (wall - symbolized), { $0.symbolized != nil }),
            ("first WAL write", wall - firstWrite, { $0.firstWrite != nil }),
        ]
        let perKind = 8
        // One store through every trial: each ingest starts on the store the previous kill left (recovering it),
        // so each crash state is also the start of the next attempt. Reset only when an ingest got its commit
        // through, so the next one has work to do.
        let store = folder.appendingPathComponent("trial.db").path
        try Self.copyStore(base, to: store)
        var trials: [Trial] = []
        for index in 0..<(kinds.count * perKind) {
            let kind = kinds[index / perKind]
            var delay = kind.window * (Double(index % perKind) + Double.random(in: 0..<1)) / Double(perKind)
            var trial: WatchedIngest
            var killedRunning: Bool
            var attempt = 0
            repeat {
                // A run faster than the calibration (a loaded machine slowed that one) can finish before its kill,
                // having stored the snapshot whole. Up to three times, such a trial is repeated from the base
                // store with its delay cut by a quarter, so the kills keep landing inside runs; the last attempt
                // is checked below like any trial.
                if attempt > 0 {
                    try Self.copyStore(base, to: store)
                    delay *= 0.75
                }
                attempt += 1
                trial = try WatchedIngest(arguments: ingest, store: store, errors: folder.appendingPathComponent("trial\(index).err"))
                trial.watch(until: kind.ready)
                usleep(UInt32(delay * 1e6))
                killedRunning = trial.kill()
            } while !killedRunning && attempt < 4
            let printed = trial.printed
            let walBytes = Self.fileSize(store + "-wal")

            let (problems, snapshots, counts) = try StoreAudit.inspect(store) { db in
                (try StoreAudit.problems(db), try StoreAudit.snapshots(db), try StoreAudit.tableCounts(db))
            }
            let context = "trial \(index) (\(kind.trigger) + \(Self.seconds(delay)))"
            #expect(problems.isEmpty, "\(context): \(problems)")
            // Earlier snapshots are exactly as they were.
            for (id, content) in baseSnapshots { #expect(snapshots[id] == content, "\(context): snapshot \(id) changed") }
            let new = snapshots.filter { baseSnapshots[$0.key] == nil }
            #expect(new.count <= 1, "\(context): \(new.count) new snapshots")
            if let (_, content) = new.first {
                #expect(content.isWhole, "\(context): torn snapshot \(content)")
                #expect(content == expected, "\(context): the stored snapshot differs from the reference")
            } else {
                // No trace: every table has the rows it had before.
                #expect(counts == baseCounts, "\(context): rows left behind: \(counts.filter { baseCounts[$0.key] != $0.value })")
            }

            let phase: String
            if !killedRunning {
                phase = printed.contains("stored as snapshot") ? "after exit" : "failed before the kill: \(printed)"
            } else if !printed.contains("timings: symbolize:") {
                phase = delay < parsed ? "start and parse (by time)" : "symbolize (by time)"
            } else if !printed.contains("timings: stacks:") {
                phase = "store: merge and stack inserts"
            } else if !printed.contains("timings: \(big.path): merge") {
                phase = walBytes > 0 ? "store: commit writing the WAL" : "store: sample inserts"
            } else {
                phase = walBytes > 0 ? "after commit: checkpoint at close" : "after commit: exiting"
            }
            #expect(!phase.hasPrefix("failed"), "\(context): \(phase)")
            trials.append(Trial(trigger: kind.trigger, delay: delay, phase: phase, snapshotStored: !new.isEmpty))
            if !new.isEmpty { try Self.copyStore(base, to: store) }
        }

        // After the last crash, the same ingest runs to the end and stores the whole dump.
        let rerun = try Fixtures.profhist(ingest + ["--db", store])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stderr.contains("stored as snapshot 3"), "\(rerun.stderr)")
        let (problems, after) = try StoreAudit.inspect(store) { db in (try StoreAudit.problems(db), try StoreAudit.snapshots(db)) }
        #expect(problems.isEmpty, "\(problems)")
        #expect(after[3] == expected)
        for (id, content) in baseSnapshots { #expect(after[id] == content) }

        var landed: [String: Int] = [:]
        for trial in trials { landed[trial.phase, default: 0] += 1 }
        let spans = kinds.map { kind in
            let delays = trials.filter { $0.trigger == kind.trigger }.map(\.delay)
            return "\(Self.seconds(delays.min() ?? 0))-\(Self.seconds(delays.max() ?? 0)) after \(kind.trigger)"
        }
        print("crash safety: \(trials.count) kills (\(spans.joined(separator: "; "))); landed: \(landed.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); whole snapshot after \(trials.filter(\.snapshotStored).count)")
        // The kills covered the run: before the store phase, inside its transaction, and while it wrote the file.
        #expect(trials.filter { $0.phase != "after exit" }.count >= 20)
        #expect(trials.contains { $0.phase.hasSuffix("(by time)") })
        #expect(trials.contains { $0.phase == "store: merge and stack inserts" || $0.phase == "store: sample inserts" })
        #expect(trials.contains { $0.phase == "store: commit writing the WAL" || $0.phase == "after commit: checkpoint at close" })
    }

    // MARK: - Helpers

    /// Copies a closed store (no WAL beside it) over `destination`, removing the destination's WAL and index.
    static func copyStore(_ source: String, to destination: String) throws {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: destination + suffix) }
        #expect(!FileManager.default.fileExists(atPath: source + "-wal"), "copy of a store with a WAL beside it")
        try FileManager.default.copyItem(atPath: source, toPath: destination)
    }

    static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// A phase time (ms) from the PROFHIST_TIMINGS line `timings: PATH: parse X ms, symbolize Y ms, store Z ms`.
    static func phaseTime(_ name: String, in stderr: String, path: String) -> Double? {
        for line in stderr.split(separator: "\n") where line.hasPrefix("timings: \(path): parse") {
            for part in line.components(separatedBy: ", ") {
                let fields = part.split(separator: " ")
                if fields.count >= 2, fields[fields.count - 3] == name { return Double(fields[fields.count - 2]) }
            }
        }
        return nil
    }

    static func seconds(_ value: Double) -> String { String(format: "%.3f s", value) }
}
