import Foundation
import ProfhistTestSupport
import Testing

@testable import ProfhistKit

@Suite("line reader")
struct LineReaderTests {
    /// The lines the reader promises: the text split at "\n", each without one trailing "\r", and a last line
    /// without a newline kept.
    static func expectedLines(_ bytes: [UInt8]) -> [[UInt8]] {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if lines.last == [] { lines.removeLast() }  // the text ends with a newline
        return lines.map { $0.last == 0x0D ? Array($0.dropLast()) : $0 }
    }

    /// Reads every line of `path` through a buffer of `bufferSize` bytes.
    static func read(_ path: String, bufferSize: Int) throws -> (lines: [[UInt8]], reader: LineReader) {
        var reader = try LineReader(path: path, bufferSize: bufferSize)
        defer { reader.close() }
        var lines: [[UInt8]] = []
        while let line = try reader.nextLine({ line, number in
            #expect(number == lines.count + 1)
            return Array(line)
        }) {
            lines.append(line)
        }
        return (lines, reader)
    }

    // The fuzzers give every parser files far smaller than the default buffer, which are read in one piece: the
    // paths that move a line to the front, grow the buffer, or find "\r" and "\n" in different reads are tested
    // here, with buffers of a few bytes.
    @Test("lines, numbers, size and digest are the same through any buffer size")
    func bufferBoundaries() throws {
        let folder = try Fixtures.temporaryFolder()
        let path = folder.appendingPathComponent("lines").path
        var random = SplitMix64(seed: 0x11AE_5EED)
        let alphabet: [UInt8] = [0x0A, 0x0D, 0x0D, UInt8(ascii: "a"), UInt8(ascii: " "), 0xE2, 0x95, 0xBC]
        for round in 0..<300 {
            let bytes = (0..<random.next(below: 48)).map { _ in alphabet[random.next(below: alphabet.count)] }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let expected = Self.expectedLines(bytes)
            var digests: Set<String> = []
            for bufferSize in [1, 2, 3, 5, 8, 1 << 20] {
                let result = try Self.read(path, bufferSize: bufferSize)
                var reader = result.reader
                #expect(result.lines == expected, "round \(round), buffer \(bufferSize), text \(bytes)")
                #expect(reader.lineNumber == expected.count)
                #expect(reader.bytesRead == bytes.count)
                #expect(reader.lastLineTerminated == ((bytes.last ?? 0x0A) == 0x0A))
                digests.insert(reader.finalizeDigest())
            }
            #expect(digests.count == 1, "round \(round): the digest depends on the buffer size")
        }
    }

    @Test("the digest is the SHA-256 of the bytes read")
    func digest() throws {
        let folder = try Fixtures.temporaryFolder()
        let path = folder.appendingPathComponent("abc").path
        try Data("abc".utf8).write(to: URL(fileURLWithPath: path))
        let result = try Self.read(path, bufferSize: 2)
        var reader = result.reader
        #expect(result.lines == [Array("abc".utf8)])
        #expect(reader.finalizeDigest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
