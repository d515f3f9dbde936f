import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

@Suite("ELF reader")
struct ELFFileTests {
    @Test("build-id equals readelf's; function symbols equal nm's")
    func buildIDAndSymbols() throws {
        let set = try SharedDumps.c.get()
        let elf = try ELFFile(path: set.program1.path)
        let readelf = try Fixtures.run("readelf", ["-n", set.program1.path]).stdout
        let id = try #require(elf.buildID)
        #expect(readelf.contains("Build ID: \(id)"))
        // nm -S: "0000000000001189 0000000000000022 T small_objects"
        let nm = try Fixtures.run("nm", ["-S", "--defined-only", set.program1.path]).stdout
        var checked = 0
        for line in nm.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 4, fields[2] == "T" || fields[2] == "t", let address = UInt64(fields[0], radix: 16),
                let size = UInt64(fields[1], radix: 16), size > 0
            else { continue }
            let name = String(fields[3])
            #expect(elf.symbolName(at: address) == name, "start of \(name)")
            #expect(elf.symbolName(at: address + size - 1) == name, "end of \(name)")
            checked += 1
        }
        #expect(checked >= 8)
    }

    @Test("DWARF is seen in a -g binary and not after strip; a separate debug file is found by build-id")
    func debugInfo() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        let withDebug = try ELFFile(path: set.program1.path)
        #expect(withDebug.hasDebugInfo)
        let stripped = folder.appendingPathComponent("stripped")
        _ = try Fixtures.run("strip", ["--strip-debug", set.program1.path, "-o", stripped.path])
        let strippedELF = try ELFFile(path: stripped.path)
        #expect(!strippedELF.hasDebugInfo)
        #expect(strippedELF.buildID == withDebug.buildID)
        // Its debug part, where a distribution's -dbg package would put it (here a folder of the test's own).
        let id = try #require(withDebug.buildID)
        let root = folder.appendingPathComponent("build-id")
        let sub = root.appendingPathComponent(String(id.prefix(2)))
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let debugFile = sub.appendingPathComponent(String(id.dropFirst(2)) + ".debug")
        _ = try Fixtures.run("objcopy", ["--only-keep-debug", set.program1.path, debugFile.path])
        _ = try Fixtures.run("strip", ["--strip-all", set.program1.path, "-o", stripped.path + "-all"])
        let bare = try ELFFile(path: stripped.path + "-all")
        let companion = try #require(bare.debugCompanion(root: root.path))
        // The stripped file has no local function names; its debug file has them all, at the same addresses.
        let nm = try Fixtures.run("nm", ["--defined-only", set.program1.path]).stdout
        let line = try #require(nm.split(separator: "\n").first { $0.hasSuffix(" T leaky_cache") })
        let address = try #require(UInt64(line.split(separator: " ")[0], radix: 16))
        #expect(companion.symbolName(at: address) == "leaky_cache")
        #expect(bare.debugCompanion(root: folder.path) == nil)
    }

    @Test("file offsets of the executable mapping become the ELF's virtual addresses")
    func segments() throws {
        let set = try SharedDumps.c.get()
        let elf = try ELFFile(path: set.program1.path)
        let text = try #require(elf.segments.first { $0.isExecutable })
        #expect(elf.virtualAddress(forFileOffset: text.fileOffset + 0x10) == text.virtualAddress + 0x10)
        let start = text.fileOffset & ~0xFFF
        let end = (text.fileOffset + text.fileSize + 0xFFF) & ~0xFFF
        #expect(elf.matches(mappingOffset: start, length: end - start))
        #expect(!elf.matches(mappingOffset: start, length: end - start + 0x3000))
        #expect(!elf.matches(mappingOffset: 0x7000000, length: 0x1000))
    }

    @Test("a file that is not ELF, or truncated ELF, is a clear error")
    func notELF() throws {
        let folder = try Fixtures.temporaryFolder()
        let text = folder.appendingPathComponent("script.sh")
        try Data("#!/bin/sh\necho hi\n".utf8).write(to: text)
        #expect(throws: SymbolizeError.self) { try ELFFile(path: text.path) }
        let set = try SharedDumps.c.get()
        let head = try Data(contentsOf: set.program1).prefix(40)
        let cut = folder.appendingPathComponent("cut")
        try head.write(to: cut)
        #expect(throws: SymbolizeError.self) { try ELFFile(path: cut.path) }
        #expect(throws: SymbolizeError.self) { try ELFFile(path: folder.appendingPathComponent("missing").path) }
        // Random bytes after a valid header never crash the symbol reader.
        var bytes = [UInt8](try Data(contentsOf: set.program1))
        var generator = SplitMix64(seed: 0xE1F_5EED)
        for i in stride(from: 64, to: bytes.count, by: 7) { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        let damaged = folder.appendingPathComponent("damaged")
        try Data(bytes).write(to: damaged)
        if let elf = try? ELFFile(path: damaged.path) {
            _ = elf.symbolName(at: 0x1189)
            _ = elf.symbolCount
        }
    }
}
