import Foundation
import GRDB
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Addresses outside every file mapping stay distinct frames, as jeprof keeps them apart.
@Suite("unmapped and JIT frames")
struct UnmappedFrameTests {
    /// A real dump of leaky.c, edited (so named: nothing here writes JIT code into a heap profile): its biggest
    /// stack is copied three times, and in the four copies a caller address near the root becomes two addresses in
    /// an anonymous executable mapping (added to the maps, as a JIT's code would be) and two outside every mapping.
    static func editedDump(in folder: URL) throws -> URL {
        let set = try SharedDumps.c.get()
        let text = try String(contentsOf: set.dumps1[0], encoding: .utf8)
        var lines = text.components(separatedBy: "\n")
        guard let stackStart = lines.firstIndex(where: { $0.hasPrefix("@ ") }) else { throw FixtureError.failed("no stack") }
        var stackEnd = stackStart + 1
        while stackEnd < lines.count, !lines[stackEnd].hasPrefix("@ "), !lines[stackEnd].hasPrefix("MAPPED_LIBRARIES") { stackEnd += 1 }
        let block = Array(lines[stackStart..<stackEnd])
        var addresses = block[0].dropFirst(2).split(separator: " ").map(String.init)
        var copies: [String] = []
        for replacement in ["0x7ff000000100", "0x7ff000000200", "0x10000100", "0x10000200"] {
            addresses[addresses.count - 2] = replacement  // root side: above the allocator, so it is stored
            copies += ["@ " + addresses.joined(separator: " ")] + block.dropFirst()
        }
        lines.replaceSubrange(stackStart..<stackEnd, with: copies)
        guard let maps = lines.firstIndex(of: "MAPPED_LIBRARIES:") else { throw FixtureError.failed("no maps") }
        lines.insert("7ff000000000-7ff000010000 r-xp 00000000 00:00 0 ", at: maps + 1)
        let file = folder.appendingPathComponent("edited-jit-and-unmapped.heap")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test("two JIT addresses and two unmapped addresses give four frames and four stacks, not one merged stack")
    func distinctFrames() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let dump = try Self.editedDump(in: folder)
        let store = try Store(path: folder.appendingPathComponent("p.db").path, create: true)
        let pipeline = IngestPipeline(openStore: { store }, binaries: [try BinaryCandidate(path: set.program1.path)], llvm: LLVMSymbolizer.locate())
        _ = try pipeline.ingest(path: dump.path, format: .auto, options: IngestOptions(build: "b1", run: "r"))
        let names = try store.queue.read { db in
            try String.fetchAll(db, sql: "SELECT s.value FROM frame AS f JOIN string AS s ON s.id = f.name_id")
        }
        let special = Set(names.filter { $0.hasPrefix("[") })
        #expect(special == ["[anon:jit]+0x7ff0000000ff", "[anon:jit]+0x7ff0000001ff", "[unmapped]+0x100000ff", "[unmapped]+0x100001ff"])
        let stacks = try store.queue.read { db in
            let catalog = StackCatalog(db: db)
            return try Int64.fetchAll(db, sql: "SELECT DISTINCT stack_id FROM sample").filter { stack in
                try catalog.names(of: stack).contains { $0.hasPrefix("[") }
            }.count
        }
        #expect(stacks == 4)
        // The same values as jeprof would give them: every copy keeps its line's bytes; the total is the dump's.
        let parsed = try JemallocHeapParser().parse(path: dump.path)
        let total = try store.queue.read { db in try Double.fetchOne(db, sql: "SELECT total FROM snapshot") ?? 0 }
        #expect(abs(total - parsed.dump.total.inuseBytes) <= 8)
    }
}
