import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

/// Files written by other profilers, read as jeprof reads them: pprof's own test data as Debian's
/// `golang-github-google-pprof-dev` installs it (Google's heapz with its maps after `--- Memory map: ---`, and a
/// `@ growthz` profile; nothing on this machine writes these formats, so they are read where the package put them,
/// not copied into the project).
@Suite("peer files")
struct PeerFileTests {
    static let folder = URL(fileURLWithPath: "/usr/share/gocode/src/github.com/google/pprof/profile/testdata")

    /// pprof's test file `name`; throws (under CI) or returns nil (with a note) when the package is missing.
    static func peerFile(_ name: String) throws -> URL? {
        let file = folder.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: file.path) { return file }
        let reason = "\(file.path) is missing: apt-get install golang-github-google-pprof-dev"
        if RealPrograms.isCI { throw FixtureError.failed(reason) }
        print("⚠️ skipping a peer-file test: \(reason)")
        return nil
    }

    @Test("pprof's cppbench.heap: maps after '--- Memory map: ---' in the brief form with $source, total equal to jeprof's")
    func memoryMapSection() throws {
        guard let file = try Self.peerFile("cppbench.heap") else { return }
        let parsed = try JemallocHeapParser().parse(path: file.path)
        let paths = parsed.dump.mappings.map(\.path)
        #expect(paths.first == "/home/cppbench_server_main", "\(paths)")
        #expect(paths.contains("/lib/libc-2.15.so"))
        #expect(paths.contains("[vdso]"))
        #expect(parsed.dump.mappings.count == 12)
        #expect(parsed.dump.mappings.allSatisfy { $0.isExecutable && $0.offset == 0 })
        // 31 lines, 21 distinct address lists (equal lists add up, as jeprof does).
        #expect(parsed.dump.stacks.count == 21)
        guard Fixtures.available("jeprof") else {
            if RealPrograms.isCI { throw FixtureError.failed("jeprof is missing: apt-get install libjemalloc-dev") }
            print("⚠️ skipping the jeprof comparison: jeprof is not installed")
            return
        }
        let jeprof = try Jeprof.text(binary: URL(fileURLWithPath: "/bin/true"), dump: file)
        #expect(jeprof.total > 80_000_000)
        #expect(abs(parsed.dump.total.inuseBytes - jeprof.total) <= jeprof.total * 0.001,
            "profhist \(parsed.dump.total.inuseBytes), jeprof \(jeprof.total)")
    }

    @Test("a growth profile ('@ growthz', pprof's cppbench.growth) is refused, naming the file, line and what it is")
    func growthRefused() throws {
        guard let file = try Self.peerFile("cppbench.growth") else { return }
        #expect {
            try JemallocHeapParser().parse(path: file.path)
        } throws: { error in
            let text = (error as? LocalizedError)?.errorDescription ?? ""
            return text.hasPrefix("\(file.path):1: a growth profile ('@ growthz'") && text.contains("in-use heap profiles only")
        }
        let db = try Fixtures.temporaryFolder().appendingPathComponent("p.db").path
        let result = try Fixtures.profhist(["ingest", file.path, "--build", "b1", "--db", db])
        #expect(result.status == 1)
        #expect(result.stderr.contains("a growth profile"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db), "no store made for a refused file")
    }

    @Test(
        "fragmentation profiles and the plain '@ growth' header are refused too (hand-written headers: no tool here writes them)",
        arguments: ["fragmentationz", "fragmentation", "growth"])
    func otherProfilesRefused(type: String) throws {
        let file = try Fixtures.temporaryFolder().appendingPathComponent("handwritten-\(type).heap")
        try """
            heap profile:      1:     4096 [     1:     4096] @ \(type)
                 1:     4096 [     1:     4096] @ 0x401000 0x401100

            MAPPED_LIBRARIES:
            00400000-00402000 r-xp 00000000 fe:00 1 /bin/prog

            """.write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: InputError.self) { try JemallocHeapParser().parse(path: file.path) }
    }
}
