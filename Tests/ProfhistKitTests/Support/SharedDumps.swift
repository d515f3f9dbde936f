import Foundation
import ProfhistTestSupport

/// Real dumps shared by the tests of one process: the programs are compiled and run once, lazily.
enum SharedDumps {
    struct CSet {
        var folder: URL
        /// Build 1 and build 2 (compiled with EXTRA_CODE: every address moves).
        var program1: URL
        var program2: URL
        /// Dumps at lg_prof_sample:10 (two phases each).
        var dumps1: [URL]
        var dumps2: [URL]
        /// A dump at jemalloc's default sampling (lg_prof_sample:19).
        var defaultSampled: URL
        /// Dumps of both builds with every allocation sampled (lg_prof_sample:0): the same stacks every run,
        /// for identity tests (sampling can catch a small allocation in one run and miss it in another).
        var exact1: [URL]
        var exact2: [URL]
    }

    struct RustSet {
        var folder: URL
        var program1: URL
        var program2: URL
        /// lg_prof_sample:10, two phases each.
        var dumps1: [URL]
        var dumps2: [URL]
        /// lg_prof_sample:0: deterministic stacks, for identity tests.
        var exact1: [URL]
        var exact2: [URL]
    }

    static let c: Result<CSet, Error> = Result {
        let folder = try Fixtures.temporaryFolder("profhist-c")
        let program1 = try Fixtures.buildLeakyC(in: folder, name: "leaky")
        let build2 = folder.appendingPathComponent("build2")
        try FileManager.default.createDirectory(at: build2, withIntermediateDirectories: true)
        let program2 = try Fixtures.buildLeakyC(in: build2, name: "leaky", defines: ["EXTRA_CODE"])
        let dumps1 = try Fixtures.runLeakyC(program1, prefix: folder.appendingPathComponent("b1"), phases: 2)
        let dumps2 = try Fixtures.runLeakyC(program2, prefix: folder.appendingPathComponent("b2"), phases: 2)
        let sampled = try Fixtures.runLeakyC(
            program1, prefix: folder.appendingPathComponent("default"), phases: 1, leakKiB: 4096, lgSample: 19)
        let exact1 = try Fixtures.runLeakyC(program1, prefix: folder.appendingPathComponent("e1"), phases: 2, lgSample: 0)
        let exact2 = try Fixtures.runLeakyC(program2, prefix: folder.appendingPathComponent("e2"), phases: 2, lgSample: 0)
        return CSet(
            folder: folder, program1: program1, program2: program2, dumps1: dumps1, dumps2: dumps2,
            defaultSampled: sampled[0], exact1: exact1, exact2: exact2)
    }

    static let rust: Result<RustSet, Error> = Result {
        let folder = try Fixtures.temporaryFolder("profhist-rust")
        let program1 = try Fixtures.buildLeakyRust(in: folder, name: "leaky-rs", metadata: "build-one")
        let build2 = folder.appendingPathComponent("build2")
        try FileManager.default.createDirectory(at: build2, withIntermediateDirectories: true)
        let program2 = try Fixtures.buildLeakyRust(in: build2, name: "leaky-rs", metadata: "build-two")
        let dumps1 = try Fixtures.runLeakyRust(program1, prefix: folder.appendingPathComponent("r1"), phases: 2)
        let dumps2 = try Fixtures.runLeakyRust(program2, prefix: folder.appendingPathComponent("r2"), phases: 2)
        let exact1 = try Fixtures.runLeakyRust(program1, prefix: folder.appendingPathComponent("e1"), phases: 1, lgSample: 0)
        let exact2 = try Fixtures.runLeakyRust(program2, prefix: folder.appendingPathComponent("e2"), phases: 1, lgSample: 0)
        return RustSet(
            folder: folder, program1: program1, program2: program2, dumps1: dumps1, dumps2: dumps2, exact1: exact1,
            exact2: exact2)
    }

    static var rustAvailable: Bool { Fixtures.available("rustc") }
}
