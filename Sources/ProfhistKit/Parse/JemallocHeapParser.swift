import Foundation

/// Reads jemalloc heap dumps: `heap_v2` (jemalloc 4.0 to 5.3.x) and the legacy one-line-per-stack
/// `heap profile:` format (gperftools, jemalloc 3.x), unsampling every line as jeprof does.
///
/// The file is read once through a fixed buffer; memory grows only with the number of distinct stacks.
/// A dump without its `MAPPED_LIBRARIES:` section is truncated (jemalloc writes it last) and rejected.
public struct JemallocHeapParser {
    /// The result of parsing one file: the dump, and the SHA-256 and size of the bytes it was read from.
    public struct Result: Sendable {
        public var dump: HeapDump
        public var digest: String
        public var byteCount: Int
    }

    /// Whether the first bytes of a file look like a heap dump this parser reads.
    public static func recognizes(_ prefix: Data) -> Bool {
        let text = String(decoding: prefix.prefix(32), as: UTF8.self)
        return text.hasPrefix("heap_v2/") || text.hasPrefix("heap profile:")
    }

    public init() {}

    /// Parses the dump at `path`.
    /// - Throws: `InputError` naming the file and line of the first problem.
    public func parse(path: String) throws -> Result {
        try parse(input: InputSource.open(path: path))
    }

    /// Parses `input` from where it stands (bytes peeked for format detection are read again from memory).
    public func parse(input: InputSource) throws -> Result {
        let path = input.path
        var reader = LineReader(input: input)
        defer { reader.close() }
        var state = State(path: path)
        while let _ = try reader.nextLine({ line, number in try state.consume(line, number: number) }) {}
        if reader.lineNumber == 0 { throw InputError.empty(path: path) }
        try state.finish(lastLine: reader.lineNumber, terminated: reader.lastLineTerminated)
        return Result(dump: state.dump, digest: reader.finalizeDigest(), byteCount: reader.bytesRead)
    }

    // MARK: - State machine

    private enum Section {
        case start, header, stacks, maps
    }

    private enum Sampling {
        case none, v1, v2
    }

    private struct State {
        let path: String
        var section = Section.start
        var sampling = Sampling.v2
        var dump = HeapDump(
            format: .jemallocHeapV2, samplePeriod: 0, header: nil, stacks: [], mappings: [], threadNames: [:],
            threadLineCount: 0)
        /// Index in `dump.stacks` of each distinct address stack, by a 64-bit hash of its addresses; stacks
        /// whose hash was taken by another stack go to `collidedStacks`.
        var stackIndex = IntegerMap(capacity: 1 << 12)
        var collidedStacks: [[UInt64]: Int] = [:]
        /// The stack whose `t*:` line is expected next (heap_v2), or whose thread lines may follow.
        var pendingStack: [UInt64]? = nil
        var pendingStackLine = 0
        var currentStack: Int? = nil
        /// `name=value` lines of a '--- Memory map: ---' section, in order.
        var mapVariables: [(String, String)] = []

        init(path: String) { self.path = path }

        func malformed(_ number: Int, _ message: String) -> InputError {
            InputError.malformed(path: path, line: number, message: message)
        }

        mutating func consume(_ line: UnsafeBufferPointer<UInt8>, number: Int) throws {
            // jemalloc writes text without NUL bytes; one would also cut a name short in SQLite's C-string API.
            if let base = line.baseAddress, memchr(base, 0, line.count) != nil {
                throw malformed(number, "NUL byte in the line (jemalloc never writes one: the file is damaged or not a heap dump)")
            }
            switch section {
            case .start:
                try readFirstLine(line, number: number)
            case .header, .stacks:
                try readBody(line, number: number)
            case .maps:
                try readMapping(line, number: number)
            }
        }

        mutating func finish(lastLine: Int, terminated: Bool) throws {
            guard section == .maps else {
                if let _ = pendingStack {
                    throw InputError.truncated(
                        path: path, line: lastLine,
                        message: "stack at line \(pendingStackLine) has no 't*:' line, and no MAPPED_LIBRARIES section follows")
                }
                throw InputError.truncated(
                    path: path, line: lastLine,
                    message: "no MAPPED_LIBRARIES section (jemalloc writes it last; the dump was cut short)")
            }
            guard terminated else {
                throw InputError.truncated(path: path, line: lastLine, message: "the last mapping line has no newline")
            }
            guard !dump.mappings.isEmpty else {
                throw InputError.truncated(path: path, line: lastLine, message: "MAPPED_LIBRARIES section is empty")
            }
        }

        // MARK: First line

        mutating func readFirstLine(_ line: UnsafeBufferPointer<UInt8>, number: Int) throws {
            var scanner = ByteScanner(line)
            if scanner.skip("heap_v2/") {
                guard let period = scanner.unsigned(), scanner.atEnd else {
                    throw malformed(number, "expected 'heap_v2/PERIOD', got '\(InputError.quote(line))'")
                }
                guard period > 0, period & (period - 1) == 0 else {
                    throw malformed(number, "sampling period \(period) is not a power of two (jemalloc writes 2^lg_prof_sample)")
                }
                dump.format = .jemallocHeapV2
                dump.samplePeriod = period
                sampling = .v2
                section = .header
                return
            }
            if scanner.skip("heap profile:") {
                // heap profile: N: B [N: B] @ heap_v2/524288   (the '@ type/period' part is optional)
                guard let counts = scanner.countPair(), scanner.atEnd || scanner.peek(UInt8(ascii: "@")) else {
                    throw malformed(number, "expected 'heap profile: N: B [N: B] @ TYPE/PERIOD', got '\(InputError.quote(line))'")
                }
                dump.format = .legacyHeapProfile
                sampling = .none
                if scanner.skip("@") {
                    scanner.skipSpaces()
                    let type = scanner.takeWhile { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: " ") }
                    var period: UInt64? = nil
                    if scanner.skip("/") {
                        guard let p = scanner.unsigned() else { throw malformed(number, "bad sampling period") }
                        period = p
                    }
                    try refuseNonHeap(type: type, number: number)
                    if type == "heapprofile" || !type.contains("heap") {
                        sampling = .none
                    } else if type.contains("_v2") {
                        sampling = .v2
                        dump.samplePeriod = period ?? 0
                    } else {
                        sampling = .v1
                        dump.samplePeriod = (period ?? 0) / 2
                    }
                } else if counts.0 == counts.2 && counts.1 == counts.3 {
                    sampling = .v1  // jeprof: so old it is remote-heap version 1
                }
                if sampling != .none && dump.samplePeriod == 0 { dump.samplePeriod = 128 * 1024 }
                section = .stacks
                return
            }
            throw InputError.unknownFormat(path: path, firstLine: InputError.quote(line))
        }

        /// Growth (`@ growth`, `@ growthz`: every stack that grew the heap, with the bytes it added, freed or
        /// not) and fragmentation profiles (`@ fragmentationz`) share the legacy grammar, but their numbers are
        /// not memory in use: stored as a heap snapshot they would count as live memory in every ranking. They
        /// are refused rather than stored as a metric of their own, because no ranking, diff or check reads such
        /// a metric, and a history that mixes them with in-use dumps would only mislead.
        func refuseNonHeap(type: String, number: Int) throws {
            let kind: String
            if type.hasPrefix("growth") {
                kind = "a growth profile ('@ \(type)': the stacks that grew the heap, with every byte they added, freed or not)"
            } else if type.hasPrefix("fragmentation") {
                kind = "a fragmentation profile ('@ \(type)': bytes lost to fragmentation per stack)"
            } else {
                return
            }
            throw InputError.unsupported(
                path: path, line: number,
                message: "\(kind), not memory in use: profhist stores in-use heap profiles only (jemalloc's "
                    + "prof.dump, lg_prof_interval or prof_final dumps; gperftools' heap profiles)")
        }

        // MARK: Stacks

        /// Rejects pairs that no jemalloc writes: bytes without objects (jeprof divides by zero), fewer bytes
        /// than objects, or sizes beyond any real heap (2^56 bytes, 64 PiB).
        func validate(_ counts: (UInt64, UInt64, UInt64, UInt64), number: Int) throws {
            let limit: UInt64 = 1 << 56
            for (count, bytes) in [(counts.0, counts.1), (counts.2, counts.3)] {
                if count == 0 && bytes > 0 {
                    throw malformed(number, "\(bytes) bytes in 0 objects")
                }
                if bytes < count {
                    throw malformed(number, "\(count) objects in only \(bytes) bytes")
                }
                if bytes > limit || count > limit {
                    throw malformed(number, "implausible size \(bytes) bytes in \(count) objects (more than 64 PiB)")
                }
            }
        }

        func adjust(_ counts: (UInt64, UInt64, UInt64, UInt64)) -> HeapValues {
            let period = dump.samplePeriod
            let live: (objects: Double, bytes: Double)
            let accumulated: (objects: Double, bytes: Double)
            switch sampling {
            case .none:
                live = (Double(counts.0), Double(counts.1))
                accumulated = (Double(counts.2), Double(counts.3))
            case .v1:
                live = unsampleV1(count: counts.0, bytes: counts.1, period: period)
                accumulated = unsampleV1(count: counts.2, bytes: counts.3, period: period)
            case .v2:
                live = unsampleV2(count: counts.0, bytes: counts.1, period: period)
                accumulated = unsampleV2(count: counts.2, bytes: counts.3, period: period)
            }
            return HeapValues(
                inuseObjects: live.objects, inuseBytes: live.bytes, allocObjects: accumulated.objects,
                allocBytes: accumulated.bytes)
        }

        mutating func addStack(_ addresses: [UInt64], values: HeapValues) {
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for address in addresses {
                hash = (hash ^ address) &* 0x0000_0100_0000_01B3
                hash ^= hash >> 29
            }
            let next = dump.stacks.count
            var index = Int(stackIndex.value(for: hash) { Int32(next) })
            if index != next && dump.stacks[index].addresses != addresses {
                // Another stack has this hash: look this one up by its addresses.
                index = collidedStacks[addresses] ?? next
                if index == next { collidedStacks[addresses] = next }
            }
            if index == next {
                dump.stacks.append(HeapStack(addresses: addresses, values: values))
            } else {
                dump.stacks[index].values += values
            }
            currentStack = index
        }

        mutating func readBody(_ line: UnsafeBufferPointer<UInt8>, number: Int) throws {
            var scanner = ByteScanner(line)
            scanner.skipSpaces()
            if scanner.atEnd {
                if let _ = pendingStack {
                    throw malformed(number, "stack at line \(pendingStackLine) has no 't*:' line")
                }
                return
            }
            // gperftools and Google's heapz write their maps after '--- Memory map: ---' (pprof's cppbench.heap),
            // jemalloc after 'MAPPED_LIBRARIES:'; jeprof reads both.
            if scanner.skip("MAPPED_LIBRARIES:") || scanner.skip("--- Memory map: ---") {
                if let _ = pendingStack {
                    throw malformed(number, "stack at line \(pendingStackLine) has no 't*:' line")
                }
                section = .maps
                return
            }
            if dump.format == .legacyHeapProfile {
                try readLegacyStack(&scanner, line: line, number: number)
                return
            }
            if scanner.skip("@") {
                if let _ = pendingStack {
                    throw malformed(number, "stack at line \(pendingStackLine) has no 't*:' line")
                }
                pendingStack = try addresses(&scanner, line: line, number: number)
                pendingStackLine = number
                currentStack = nil
                section = .stacks
                return
            }
            if scanner.skip("t") {
                try readThreadLine(&scanner, line: line, number: number)
                return
            }
            throw malformed(number, "expected '@ ADDRESSES', 't*: N: B [N: B]' or 'MAPPED_LIBRARIES:', got '\(InputError.quote(line))'")
        }

        mutating func readThreadLine(_ scanner: inout ByteScanner, line: UnsafeBufferPointer<UInt8>, number: Int) throws {
            let isTotal = scanner.skip("*")
            var thread = 0
            if !isTotal {
                guard let id = scanner.unsigned(), id <= UInt64(Int32.max) else {
                    throw malformed(number, "expected 't*:' or 'tN:' thread line, got '\(InputError.quote(line))'")
                }
                thread = Int(id)
            }
            guard scanner.skip(":") else {
                throw malformed(number, "expected ':' after thread id, got '\(InputError.quote(line))'")
            }
            guard let counts = scanner.countPair() else {
                throw malformed(number, ByteScanner.countProblem(line) ?? "expected 'N: B [N: B]' counts, got '\(InputError.quote(line))'")
            }
            switch section {
            case .header:
                // Process totals and per-thread totals; a per-thread line may name its thread.
                if isTotal {
                    guard dump.header == nil else { throw malformed(number, "second 't*:' line in the header") }
                    guard scanner.atEnd else {
                        throw malformed(number, "unexpected text after the counts: '\(InputError.quote(line))'")
                    }
                    dump.header = adjust(counts)
                } else {
                    scanner.skipSpaces()
                    if !scanner.atEnd { dump.threadNames[thread] = scanner.rest() }
                }
            case .stacks:
                if isTotal {
                    guard let addresses = pendingStack else {
                        throw malformed(number, "'t*:' line without a stack ('@ ...') before it")
                    }
                    guard scanner.atEnd else {
                        throw malformed(number, "unexpected text after the counts: '\(InputError.quote(line))'")
                    }
                    try validate(counts, number: number)
                    addStack(addresses, values: adjust(counts))
                    pendingStack = nil
                } else {
                    guard currentStack != nil else {
                        throw malformed(number, "per-thread line before the stack's 't*:' line")
                    }
                    dump.threadLineCount += 1
                }
            default:
                break
            }
        }

        mutating func readLegacyStack(_ scanner: inout ByteScanner, line: UnsafeBufferPointer<UInt8>, number: Int) throws {
            guard let counts = scanner.countPair(), scanner.skip("@") else {
                throw malformed(number, ByteScanner.countProblem(line) ?? "expected 'N: B [N: B] @ ADDRESSES', got '\(InputError.quote(line))'")
            }
            let stack = try addresses(&scanner, line: line, number: number)
            try validate(counts, number: number)
            addStack(stack, values: adjust(counts))
        }

        func addresses(_ scanner: inout ByteScanner, line: UnsafeBufferPointer<UInt8>, number: Int) throws -> [UInt64] {
            var result: [UInt64] = []
            result.reserveCapacity(32)
            while true {
                scanner.skipSpaces()
                if scanner.atEnd { break }
                guard let address = scanner.hexAddress() else {
                    throw malformed(number, "bad address '\(scanner.restQuoted())' (expected 0x followed by up to 16 hex digits)")
                }
                result.append(address)
            }
            guard !result.isEmpty else { throw malformed(number, "stack with no addresses") }
            return result
        }

        // MARK: Mappings

        /// A 'name=value' line of a memory map (`build=/dir`, pprof's `source=/home`): later paths say `$name`.
        /// - Returns: whether the line was one.
        mutating func readMapVariable(_ line: UnsafeBufferPointer<UInt8>, number: Int) throws -> Bool {
            guard line.contains(UInt8(ascii: "=")) else { return false }
            let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            guard let equals = text.firstIndex(of: "="), !text.contains(" "),
                text[..<equals].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), equals != text.startIndex
            else { return false }
            mapVariables.append(("$" + text[..<equals], String(text[text.index(after: equals)...])))
            return true
        }

        /// Expands `$name` in a mapped path, longest names first so `$build` is not cut by `$b`.
        func expand(_ path: String) -> String {
            guard path.contains("$") else { return path }
            var result = path
            for (name, value) in mapVariables.sorted(by: { $0.0.count > $1.0.count }) {
                result = result.replacingOccurrences(of: name, with: value)
            }
            return result
        }

        mutating func readMapping(_ line: UnsafeBufferPointer<UInt8>, number: Int) throws {
            // 5560b715c000-5560b715d000 r--p 00000000 fe:00 16229080     /path/to/prog
            var scanner = ByteScanner(line)
            scanner.skipSpaces()
            if scanner.atEnd { return }
            func bad() -> InputError {
                malformed(number, "expected a /proc/PID/maps line 'START-END PERMS OFFSET DEV INODE PATH', got '\(InputError.quote(line))'")
            }
            if try readMapVariable(line, number: number) { return }
            guard let start = scanner.hex(), scanner.skip("-"), let end = scanner.hex(), start <= end else { throw bad() }
            if scanner.skip(":") {
                // The brief form of '--- Memory map: ---' (gperftools' DumpAddressMap): 'START-END: PATH', file
                // offset 0, executable, with $variables from earlier 'name=value' lines expanded as jeprof does.
                scanner.skipSpaces()
                guard !scanner.atEnd else { throw bad() }
                dump.mappings.append(
                    MemoryMapping(start: start, end: end, permissions: "r-xp", offset: 0, inode: 0, path: expand(scanner.rest())))
                return
            }
            scanner.skipSpaces()
            let permissions = scanner.takeWhile { $0 != UInt8(ascii: " ") }
            guard permissions.count == 4 else { throw bad() }
            scanner.skipSpaces()
            guard let offset = scanner.hex() else { throw bad() }
            scanner.skipSpaces()
            let device = scanner.takeWhile { $0 != UInt8(ascii: " ") }
            guard device.contains(":") else { throw bad() }
            scanner.skipSpaces()
            guard let inode = scanner.unsigned() else { throw bad() }
            scanner.skipSpaces()
            let path = scanner.atEnd ? "" : scanner.rest()
            dump.mappings.append(
                MemoryMapping(start: start, end: end, permissions: permissions, offset: offset, inode: inode, path: path))
        }
    }
}

// MARK: - Byte scanning

/// A cursor over one line's bytes with the few token readers the dump grammar needs; no allocation except for
/// the strings it returns.
struct ByteScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var atEnd: Bool { index >= bytes.count }

    func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

    mutating func skipSpaces() {
        while index < bytes.count && (bytes[index] == 0x20 || bytes[index] == 0x09) { index += 1 }
    }

    /// Consumes `literal` if the bytes at the cursor start with it.
    mutating func skip(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        let p = literal.utf8Start
        for k in 0..<count where bytes[index + k] != p[k] { return false }
        index += count
        return true
    }

    /// A decimal integer that fits in 64 bits; nil on no digits or overflow.
    mutating func unsigned() -> UInt64? {
        var value: UInt64 = 0
        let begin = index
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(bytes[index] - 0x30))
            if o1 || o2 { return nil }
            value = sum
            index += 1
        }
        return index > begin ? value : nil
    }

    /// Hex digits (no prefix) that fit in 64 bits.
    mutating func hex() -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        while index < bytes.count, let digit = hexValue(bytes[index]) {
            digits += 1
            if digits > 16 { return nil }
            value = value << 4 | UInt64(digit)
            index += 1
        }
        return digits > 0 ? value : nil
    }

    /// `0x` followed by 1 to 16 hex digits, ending at a space or the end of the line.
    mutating func hexAddress() -> UInt64? {
        let begin = index
        guard skip("0x") || skip("0X"), let value = hex(), atEnd || bytes[index] == 0x20 || bytes[index] == 0x09 else {
            index = begin
            return nil
        }
        return value
    }

    /// `N: B [N: B]` with any spacing jeprof accepts.
    mutating func countPair() -> (UInt64, UInt64, UInt64, UInt64)? {
        skipSpaces()
        guard let n1 = unsigned(), skip(":") else { return nil }
        skipSpaces()
        guard let s1 = unsigned() else { return nil }
        skipSpaces()
        guard skip("[") else { return nil }
        skipSpaces()
        guard let n2 = unsigned(), skip(":") else { return nil }
        skipSpaces()
        guard let s2 = unsigned() else { return nil }
        skipSpaces()
        guard skip("]") else { return nil }
        skipSpaces()
        return (n1, s1, n2, s2)
    }

    /// Why a line's counts could not be read, when the reason is a number jemalloc cannot write: a negative
    /// one, or one beyond 64 bits. Nil when the line is malformed in some other way.
    static func countProblem(_ line: UnsafeBufferPointer<UInt8>) -> String? {
        var index = 0
        while index < line.count {
            guard line[index] >= 0x30 && line[index] <= 0x39 else {
                index += 1
                continue
            }
            let begin = index
            while index < line.count && line[index] >= 0x30 && line[index] <= 0x39 { index += 1 }
            let digits = UnsafeBufferPointer(rebasing: line[begin..<index])
            let text = InputError.quote(digits, limit: 40)
            if begin > 0 && line[begin - 1] == UInt8(ascii: "-") { return "negative number -\(text) in the counts (they are unsigned)" }
            var scanner = ByteScanner(digits)
            if scanner.unsigned() == nil { return "number \(text) in the counts does not fit in 64 bits" }
        }
        return nil
    }

    mutating func takeWhile(_ predicate: (UInt8) -> Bool) -> String {
        let begin = index
        while index < bytes.count && predicate(bytes[index]) { index += 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[begin..<index]), as: UTF8.self)
    }

    /// The rest of the line, trailing spaces removed.
    mutating func rest() -> String {
        var last = bytes.count
        while last > index && (bytes[last - 1] == 0x20 || bytes[last - 1] == 0x09) { last -= 1 }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<last]), as: UTF8.self)
        index = bytes.count
        return text
    }

    func restQuoted() -> String {
        var end = index
        while end < bytes.count && bytes[end] != 0x20 { end += 1 }
        return InputError.quote(UnsafeBufferPointer(rebasing: bytes[index..<end]), limit: 40)
    }

    private func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x61...0x66: return byte - 0x61 + 10
        case 0x41...0x46: return byte - 0x41 + 10
        default: return nil
        }
    }
}
