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
        var generator = SystemRandomNumberGenerator()
        for i in stride(from: 64, to: bytes.count, by: 7) { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        let damaged = folder.appendingPathComponent("damaged")
        try Data(bytes).write(to: damaged)
        if let elf = try? ELFFile(path: damaged.path) {
            _ = elf.symbolName(at: 0x1189)
            _ = elf.symbolCount
        }
    }
}
