import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

@Suite("jemalloc heap parser")
struct JemallocHeapParserTests {
    @Test("unsampling matches the reference's worked example (R = 1024, 34: 1629)")
    func workedExample() {
        let adjusted = unsampleV2(count: 34, bytes: 1629, period: 1024)
        #expect(abs(adjusted.objects - 743.80) < 0.01)
        #expect(abs(adjusted.bytes - 35636.85) < 0.01)
        // R = 1 leaves real sizes unchanged; a zero count stays as written.
        let unsampled = unsampleV2(count: 10, bytes: 4800, period: 1)
        #expect(abs(unsampled.bytes - 4800) < 1e-6)
        #expect(unsampleV2(count: 0, bytes: 0, period: 1024) == (0, 0))
    }

    @Test("a real dump: every stack, the header, thread lines and mappings")
    func realDump() throws {
        let set = try SharedDumps.c.get()
        let path = set.dumps1[1].path
        let result = try JemallocHeapParser().parse(path: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let stackLines = text.split(separator: "\n").filter { $0.hasPrefix("@ ") }.count
        #expect(result.dump.format == .jemallocHeapV2)
        #expect(result.dump.samplePeriod == 1024)
        #expect(result.dump.stacks.count == stackLines)
        #expect(result.dump.header != nil)
        #expect(result.dump.threadLineCount >= stackLines)
        #expect(result.dump.mappings.contains { $0.path == set.program1.path && $0.isExecutable })
        #expect(result.byteCount == text.utf8.count)
        #expect(result.digest.count == 64)
        // Every stack begins (leaf first) inside libjemalloc.
        let jemalloc = result.dump.mappings.filter { $0.path.contains("libjemalloc") }
        #expect(result.dump.stacks.allSatisfy { stack in jemalloc.contains { $0.contains(stack.addresses[0]) } })
    }

    @Test("the legacy 'heap profile:' format gives jeprof's total")
    func legacyFormat() throws {
        let set = try SharedDumps.c.get()
        let folder = try Fixtures.temporaryFolder()
        // Rewrite a real heap_v2 dump in the legacy one-line-per-stack format (a converted real dump; jemalloc 4+
        // never writes this format, gperftools does).
        let lines = try String(contentsOf: set.dumps1[0], encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        var legacy = ["heap profile: 1: 1 [0: 0] @ heap_v2/1024"]
        var stack = ""
        var inMaps = false
        for line in lines {
            if inMaps { legacy.append(String(line)); continue }
            if line.hasPrefix("MAPPED_LIBRARIES:") { inMaps = true; legacy.append(""); legacy.append(String(line)); continue }
            if line.hasPrefix("@ ") { stack = String(line); continue }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("t*:"), !stack.isEmpty {
                legacy.append(String(trimmed.dropFirst(4)) + " " + stack)
                stack = ""
            }
        }
        let file = folder.appendingPathComponent("legacy.heap")
        try legacy.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let parsed = try JemallocHeapParser().parse(path: file.path)
        #expect(parsed.dump.format == .legacyHeapProfile)
        let jeprof = try Jeprof.text(binary: set.program1, dump: file)
        #expect(abs(parsed.dump.total.inuseBytes - jeprof.total) <= jeprof.total * 0.01)
        let v2 = try JemallocHeapParser().parse(path: set.dumps1[0].path)
        #expect(abs(parsed.dump.total.inuseBytes - v2.dump.total.inuseBytes) < 1)
    }

    // MARK: - Malformed input

    /// Writes `text` to a new file and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        let url = try Fixtures.temporaryFolder().appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func realDumpText() throws -> String {
        try String(contentsOf: try SharedDumps.c.get().dumps1[0], encoding: .utf8)
    }

    func expectError(_ path: String, line: Int?, containing fragment: String) {
        do {
            _ = try JemallocHeapParser().parse(path: path)
            Issue.record("expected an error for \(path)")
        } catch let error as InputError {
            let message = error.localizedDescription
            #expect(message.hasPrefix(path), "message should name the file: \(message)")
            if let line { #expect(message.hasPrefix("\(path):\(line):"), "message should name line \(line): \(message)") }
            if !fragment.isEmpty { #expect(message.contains(fragment), "message: \(message)") }
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    @Test("a dump cut before MAPPED_LIBRARIES is truncated")
    func truncatedBeforeMaps() throws {
        let text = try realDumpText()
        let cut = String(text[..<text.range(of: "MAPPED_LIBRARIES:")!.lowerBound])
        expectError(try file("cut.heap", cut), line: nil, containing: "truncated")
    }

    @Test("a dump cut inside a stack line is rejected")
    func truncatedInsideStack() throws {
        let text = try realDumpText()
        let at = text.range(of: "\n@ ")!.upperBound
        let cut = String(text[..<text.index(at, offsetBy: 7)])
        expectError(try file("cut2.heap", cut), line: nil, containing: "truncated")
    }

    @Test("a dump cut inside its last mapping line is rejected")
    func truncatedInsideMaps() throws {
        let text = try realDumpText()
        let cut = String(text.dropLast(10))
        expectError(try file("cut3.heap", cut), line: nil, containing: "")
    }

    @Test("an empty file, random bytes and an unknown header are rejected")
    func notADump() throws {
        expectError(try file("empty.heap", ""), line: nil, containing: "empty")
        var generator = SplitMix64(seed: 0x4EA9_5EED)
        let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let url = try Fixtures.temporaryFolder().appendingPathComponent("noise.heap")
        try Data(noise).write(to: url)
        #expect(throws: InputError.self) { try JemallocHeapParser().parse(path: url.path) }
        expectError(try file("other.heap", "--- symbol\nbinary=x\n"), line: 1, containing: "unknown format")
    }

    @Test("malformed numbers, bad addresses and overflow name the line")
    func malformedLines() throws {
        let text = try realDumpText()
        var lines = text.components(separatedBy: "\n")
        let stackLine = lines.firstIndex { $0.hasPrefix("@ ") }!
        let totalLine = stackLine + 1

        var badNumber = lines
        badNumber[totalLine] = "  t*: 12x: 100 [0: 0]"
        expectError(try file("number.heap", badNumber.joined(separator: "\n")), line: totalLine + 1, containing: "counts")

        var badAddress = lines
        badAddress[stackLine] = "@ 0x7f0012 0xZZZZ 0x55aa"
        expectError(try file("address.heap", badAddress.joined(separator: "\n")), line: stackLine + 1, containing: "bad address")

        var overflow = lines
        overflow[totalLine] = "  t*: 99999999999999999999999: 100 [0: 0]"
        expectError(try file("overflow.heap", overflow.joined(separator: "\n")), line: totalLine + 1, containing: "counts")

        var negative = lines
        negative[totalLine] = "  t*: -3: 100 [0: 0]"
        expectError(try file("negative.heap", negative.joined(separator: "\n")), line: totalLine + 1, containing: "counts")

        var noTotal = lines
        noTotal.remove(at: totalLine)
        noTotal.remove(at: totalLine)  // the per-thread line too, so the next line is another stack or blank
        #expect(throws: InputError.self) { try JemallocHeapParser().parse(path: try file("nototal.heap", noTotal.joined(separator: "\n"))) }

        var longAddress = lines
        longAddress[stackLine] = "@ 0x12345678901234567"
        expectError(try file("long.heap", longAddress.joined(separator: "\n")), line: stackLine + 1, containing: "bad address")

        for (name, counts, fragment) in [
            ("nobjects.heap", "  t*: 0: 267317 [0: 0]", "0 objects"),
            ("fewbytes.heap", "  t*: 10: 3 [0: 0]", "only 3 bytes"),
            ("huge.heap", "  t*: 1: 9223372036854775807 [0: 0]", "implausible"),
            ("max.heap", "  t*: 18446744073709551615: 18446744073709551615 [0: 0]", "implausible"),
        ] {
            var absurd = lines
            absurd[totalLine] = counts
            expectError(try file(name, absurd.joined(separator: "\n")), line: totalLine + 1, containing: fragment)
        }
        var periodZero = lines
        periodZero[0] = "heap_v2/0"
        expectError(try file("period.heap", periodZero.joined(separator: "\n")), line: 1, containing: "power of two")

        lines[1] = "  t*: 1: 1 [0: 0]\u{0}"
        expectError(try file("nul.heap", lines.joined(separator: "\n")), line: 2, containing: "")
    }

    @Test("a missing file and a folder are errors that name the path")
    func missingFile() throws {
        expectError("/nonexistent/dir/x.heap", line: nil, containing: "cannot read")
        expectError(try Fixtures.temporaryFolder().path, line: nil, containing: "directory")
    }

    @Test("CRLF line ends and trailing spaces are accepted, as jeprof accepts them")
    func crlf() throws {
        let text = try realDumpText()
        let crlf = text.replacingOccurrences(of: "\n", with: "\r\n")
        let parsed = try JemallocHeapParser().parse(path: try file("crlf.heap", crlf))
        let plain = try JemallocHeapParser().parse(path: try SharedDumps.c.get().dumps1[0].path)
        #expect(parsed.dump.stacks.count == plain.dump.stacks.count)
        #expect(abs(parsed.dump.total.inuseBytes - plain.dump.total.inuseBytes) < 1e-6)
    }
}
