import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// jemalloc's file names (`prefix.PID.SEQ.{f,i,m,u}N.heap`, `prof.c` in jemalloc 3.x to 5.3) and the forms
/// without a process id. The names are typed out here; the real-program tests make them with jemalloc itself.
@Suite("dump file names")
struct DumpFileNameTests {
    @Test(
        "every jemalloc form gives the pid and the sequence; a dotted prefix is read from the end",
        arguments: [
            ("out/app.4242.0.f.heap", 4242, 0, DumpFileName.Trigger.final),
            ("/tmp/py.11376.17.i17.heap", 11376, 17, .interval),
            ("redis.9.3.m2.heap", 9, 3, .manual),
            ("jeprof.77.12.u4.heap", 77, 12, .gdump),
            ("app.v1.2.4242.5.i3.heap", 4242, 5, .interval),
            ("old.313.8.i.heap", 313, 8, .interval),
        ])
    func jemallocForms(name: String, pid: Int, sequence: Int64, trigger: DumpFileName.Trigger) {
        let parsed = DumpFileName(path: name)
        #expect(parsed.pid == pid)
        #expect(parsed.sequence == sequence)
        #expect(parsed.trigger == trigger)
    }

    @Test(
        "names without a process id: a counter orders them, and no pid is guessed",
        arguments: [
            ("run0.3.heap", Int64?.some(3)), ("prefix.0012.heap", 12), ("soak.10.heap", 10), ("cppbench.heap", nil),
            ("4242.0.f.heap", nil), ("app.x.1.i2.heap", nil), ("app.1.2.z3.heap", nil), ("notes.txt", nil),
        ])
    func withoutPID(name: String, sequence: Int64?) {
        // 4242.0.f.heap has no prefix, app.x... a non-numeric pid, app.1.2.z3 an unknown trigger: not jemalloc's.
        let parsed = DumpFileName(path: name)
        #expect(parsed.pid == nil)
        #expect(parsed.trigger == nil)
        #expect(parsed.sequence == sequence)
    }

    @Test("the run and order of an ingest: --run wins, else pid-PID, else the file's own run")
    func placement() {
        let options = IngestOptions(build: "b", takenAt: 5)
        #expect(SnapshotPlacement.of(path: "a/py.12.3.m1.heap", options: options)
            == SnapshotPlacement(run: "pid-12", takenAt: 5, sequence: 3, runIsTheFile: false))
        #expect(SnapshotPlacement.of(path: "a/soak.7.heap", options: options)
            == SnapshotPlacement(run: "file-soak.7", takenAt: 5, sequence: 7, runIsTheFile: true))
        var named = options
        named.run = "soak"
        #expect(SnapshotPlacement.of(path: "a/soak.7.heap", options: named)
            == SnapshotPlacement(run: "soak", takenAt: 5, sequence: 7, runIsTheFile: false))
    }
}
