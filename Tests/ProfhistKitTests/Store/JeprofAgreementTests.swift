import Foundation
import GRDB
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// profhist's numbers against jeprof's on the same real dumps: totals and per-function flat bytes within 1%.
@Suite("agreement with jeprof")
struct JeprofAgreementTests {
    /// Ingests `dump` into a new store and returns it with the snapshot id.
    static func ingest(_ dump: URL, binary: URL, build: String = "b1", store: Store? = nil) throws -> (Store, Int64) {
        let store = try store ?? Store(path: try Fixtures.temporaryFolder().appendingPathComponent("p.db").path, create: true)
        let pipeline = IngestPipeline(openStore: { store }, binaries: [try BinaryCandidate(path: binary.path)], llvm: LLVMSymbolizer.locate())
        let report = try pipeline.ingest(path: dump.path, format: .auto, options: IngestOptions(build: build))
        guard case .stored(let id, _, _) = report.outcome else { throw FixtureError.failed("not stored: \(report.outcome)") }
        return (store, id)
    }

    /// Flat bytes per leaf name in one snapshot.
    static func flatByLeaf(_ store: Store, snapshot: Int64) throws -> [String: Double] {
        try store.queue.read { db in
            var result: [String: Double] = [:]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT name.value, sum(sa.inuse_space) FROM sample AS sa
                    JOIN stack AS st ON st.id = sa.stack_id JOIN frame AS f ON f.id = st.leaf_frame_id
                    JOIN string AS name ON name.id = f.name_id
                    WHERE sa.snapshot_id = ? GROUP BY name.value
                    """, arguments: [snapshot])
            for row in rows { result[row[0]] = row[1] }
            return result
        }
    }

    static func total(_ store: Store, snapshot: Int64) throws -> Double {
        try store.queue.read { db in try Double.fetchOne(db, sql: "SELECT total FROM snapshot WHERE id = ?", arguments: [snapshot]) ?? -1 }
    }

    static let programFunctions = [
        "small_objects", "big_buffers", "grow_with_realloc", "aligned_blocks", "recurse_then_allocate", "leaky_cache",
        "worker_thread",
    ]

    @Test("C dumps: totals and per-function flat bytes within 1% of jeprof --text", arguments: [0, 1])
    func cTotalsAndFunctions(phase: Int) throws {
        let set = try SharedDumps.c.get()
        let dump = set.dumps1[phase]
        let (store, id) = try Self.ingest(dump, binary: set.program1)
        let jeprof = try Jeprof.text(binary: set.program1, dump: dump)
        let total = try Self.total(store, snapshot: id)
        #expect(jeprof.total > 0)
        #expect(abs(total - jeprof.total) <= jeprof.total * 0.01, "profhist \(total) vs jeprof \(jeprof.total)")
        let ours = try Self.flatByLeaf(store, snapshot: id)
        for function in Self.programFunctions {
            let theirs = jeprof.flat[function] ?? 0
            let mine = ours[function] ?? 0
            #expect(theirs > 0, "jeprof has no flat bytes for \(function)")
            #expect(abs(mine - theirs) <= max(theirs * 0.01, 1), "\(function): profhist \(mine) vs jeprof \(theirs)")
        }
    }

    @Test("default sampling (lg_prof_sample:19): the unsampled total equals jeprof's")
    func defaultSampling() throws {
        let set = try SharedDumps.c.get()
        let (store, id) = try Self.ingest(set.defaultSampled, binary: set.program1)
        let jeprof = try Jeprof.text(binary: set.program1, dump: set.defaultSampled)
        let total = try Self.total(store, snapshot: id)
        #expect(abs(total - jeprof.total) <= jeprof.total * 0.01, "profhist \(total) vs jeprof \(jeprof.total)")
        let ours = try Self.flatByLeaf(store, snapshot: id)
        let theirs = jeprof.flat["leaky_cache"] ?? 0
        #expect(abs((ours["leaky_cache"] ?? 0) - theirs) <= theirs * 0.01)
    }

    @Test("Rust dumps: totals within 1% of jeprof, and the stacks of jeprof --collapsed end in our leaves")
    func rustTotals() throws {
        guard SharedDumps.rustAvailable else {
            print("skipped: rustc is not installed, Rust dumps cannot be produced here")
            return
        }
        let set = try SharedDumps.rust.get()
        for dump in set.dumps1 {
            let (store, id) = try Self.ingest(dump, binary: set.program1)
            let jeprof = try Jeprof.text(binary: set.program1, dump: dump)
            let total = try Self.total(store, snapshot: id)
            #expect(abs(total - jeprof.total) <= jeprof.total * 0.01, "profhist \(total) vs jeprof \(jeprof.total)")
            // Bytes per user function: jeprof's collapsed stacks that pass through it, against our stacks whose
            // leaf is that function.
            let collapsed = try Jeprof.collapsed(binary: set.program1, dump: dump)
            let ours = try Self.flatByLeaf(store, snapshot: id)
            for function in ["leaky::Registry::leak", "leaky::Cache::fill"] {
                let theirs = collapsed.filter { entry in ["<", ";", "[inline]"].contains { entry.stack.contains(function + $0) } }
                    .reduce(0) { $0 + $1.bytes }
                #expect(theirs > 0, "jeprof --collapsed has no stack through \(function)")
                #expect(abs((ours[function] ?? 0) - theirs) <= theirs * 0.01, "\(function): \(ours[function] ?? 0) vs \(theirs)")
            }
        }
    }
}
