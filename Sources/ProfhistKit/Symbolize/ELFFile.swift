import Foundation

/// The parts of an ELF file that symbolization needs: the GNU build-id, the loadable segments (to turn a file
/// offset from `/proc/PID/maps` into a virtual address) and the function symbols of `.symtab` and `.dynsym`.
///
/// Read natively, so function names are always available and fast, even where llvm-symbolizer and binutils
/// are not installed. Only 64-bit little-endian ELF (x86_64, aarch64, riscv64) is read; the file is mapped,
/// not copied.
public final class ELFFile: @unchecked Sendable {
    /// One `PT_LOAD` program header.
    public struct Segment: Sendable, Equatable {
        public var fileOffset: UInt64
        public var virtualAddress: UInt64
        public var fileSize: UInt64
        public var memorySize: UInt64
        public var isExecutable: Bool
    }

    public let path: String
    /// The GNU build-id as lower-case hex, if the file has a `.note.gnu.build-id`.
    public let buildID: String?
    public let segments: [Segment]
    /// ET_DYN (PIE executables and shared objects) or ET_EXEC.
    public let isSharedObject: Bool
    /// e_machine: 62 x86_64, 183 aarch64.
    public let machine: UInt16
    /// Whether the file carries DWARF (`.debug_info` or `.zdebug_info` with contents): only then can
    /// llvm-symbolizer tell more than the symbol table (inlined frames, file:line) from the file itself.
    public let hasDebugInfo: Bool

    private let data: Data
    private let sections: [Section]
    private var symbolTable: [Symbol]?
    private let lock = NSLock()

    private struct Section {
        var type: UInt32
        var offset: UInt64
        var size: UInt64
        var link: UInt32
        var entrySize: UInt64
    }

    /// A function symbol; the name is read from the string table only when asked for.
    private struct Symbol {
        var address: UInt64
        var size: UInt64
        var nameOffset: UInt64
        var stringTable: Int  // index into sections
        var fromSymtab: Bool
        /// 0 GLOBAL, 1 WEAK, 2 LOCAL: among aliases at one address the exported name wins
        /// (`__libc_start_main`, not the local `__libc_start_main_alias_2` of libc's debug file).
        var bindingRank: UInt8
    }

    /// Opens and validates the ELF headers of `path`.
    /// - Throws: `SymbolizeError.cannotRead` or `.notELF` with a message naming the file.
    public init(path: String) throws {
        self.path = path
        let data = try ELFFile.read(path)
        self.data = data
        guard data.count >= 64, data[0] == 0x7F, data[1] == 0x45, data[2] == 0x4C, data[3] == 0x46 else {
            throw SymbolizeError.notELF(path: path, reason: "no ELF magic number")
        }
        guard data[4] == 2 else { throw SymbolizeError.notELF(path: path, reason: "32-bit ELF is not supported") }
        guard data[5] == 1 else { throw SymbolizeError.notELF(path: path, reason: "big-endian ELF is not supported") }
        let reader = ByteReader(data: data)
        let type = reader.u16(16) ?? 0
        isSharedObject = type == 3
        machine = reader.u16(18) ?? 0
        guard type == 2 || type == 3 else {
            throw SymbolizeError.notELF(path: path, reason: "not an executable or shared object (e_type \(type))")
        }
        guard let phoff = reader.u64(32), let shoff = reader.u64(40), let phentsize = reader.u16(54),
            let phnum = reader.u16(56), let shentsize = reader.u16(58), let shnum = reader.u16(60)
        else { throw SymbolizeError.notELF(path: path, reason: "truncated ELF header") }
        let program = try ELFFile.programHeaders(reader, path: path, offset: phoff, entrySize: phentsize, count: phnum)
        segments = program.segments
        let table = ELFFile.sectionHeaders(reader, offset: shoff, entrySize: shentsize, count: shnum)
        sections = table.sections
        buildID = ELFFile.findBuildID(reader, notes: program.notes + table.notes)
        hasDebugInfo = ELFFile.hasDebugSections(reader, sections: table.sections, nameOffsets: table.nameOffsets)
    }

    /// The file's bytes, mapped. Named causes before Foundation's: it says "error 256" for a folder and
    /// "permission" for /dev/zero.
    private static func read(_ path: String) throws -> Data {
        var info = stat()
        if stat(path, &info) != 0 {
            throw SymbolizeError.cannotRead(path: path, reason: InputSource.reason(errno: errno))
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: throw SymbolizeError.cannotRead(path: path, reason: "is a directory, expected an ELF binary")
        case S_IFREG: break
        default: throw SymbolizeError.cannotRead(path: path, reason: "not a regular file (a device or a pipe), expected an ELF binary")
        }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SymbolizeError.cannotRead(path: path, reason: (error as NSError).localizedDescription)
        }
    }

    /// The loadable segments (PT_LOAD) and the note segments (PT_NOTE: offset, size).
    private static func programHeaders(
        _ reader: ByteReader, path: String, offset phoff: UInt64, entrySize: UInt16, count: UInt16
    ) throws -> (segments: [Segment], notes: [(UInt64, UInt64)]) {
        var segments: [Segment] = []
        var notes: [(UInt64, UInt64)] = []
        for i in 0..<UInt64(count) {
            let base = phoff &+ i &* UInt64(entrySize)
            guard let pType = reader.u32(base), let flags = reader.u32(base + 4), let offset = reader.u64(base + 8),
                let vaddr = reader.u64(base + 16), let filesz = reader.u64(base + 32),
                let memsz = reader.u64(base + 40)
            else { throw SymbolizeError.notELF(path: path, reason: "truncated program headers") }
            if pType == 1 {
                segments.append(
                    Segment(
                        fileOffset: offset, virtualAddress: vaddr, fileSize: filesz, memorySize: memsz,
                        isExecutable: flags & 1 != 0))
            } else if pType == 4 {
                notes.append((offset, filesz))
            }
        }
        return (segments, notes)
    }

    /// The section table, each section's name offset, and the note sections (SHT_NOTE: offset, size). A
    /// stripped or damaged section table ends early: segments still work.
    private static func sectionHeaders(
        _ reader: ByteReader, offset shoff: UInt64, entrySize: UInt16, count: UInt16
    ) -> (sections: [Section], nameOffsets: [UInt32], notes: [(UInt64, UInt64)]) {
        var sections: [Section] = []
        var nameOffsets: [UInt32] = []
        var notes: [(UInt64, UInt64)] = []
        guard shoff != 0 && entrySize >= 64 else { return (sections, nameOffsets, notes) }
        for i in 0..<UInt64(count) {
            let base = shoff &+ i &* UInt64(entrySize)
            guard let nameOffset = reader.u32(base), let sType = reader.u32(base + 4), let offset = reader.u64(base + 24),
                let size = reader.u64(base + 32), let link = reader.u32(base + 40),
                let entsize = reader.u64(base + 56)
            else { break }
            sections.append(Section(type: sType, offset: offset, size: size, link: link, entrySize: entsize))
            nameOffsets.append(nameOffset)
            if sType == 7 { notes.append((offset, size)) }
        }
        return (sections, nameOffsets, notes)
    }

    /// Whether a section named `.debug_info` or `.zdebug_info` has contents. Section names live in the string
    /// table section e_shstrndx; SHT_NOBITS (8) sections have no bytes.
    private static func hasDebugSections(_ reader: ByteReader, sections: [Section], nameOffsets: [UInt32]) -> Bool {
        guard let index = reader.u16(62), Int(index) < sections.count else { return false }
        let names = sections[Int(index)]
        for (section, nameOffset) in zip(sections, nameOffsets) where section.type != 8 && section.size > 0 {
            guard UInt64(nameOffset) < names.size,
                let bytes = reader.bytes(names.offset &+ UInt64(nameOffset), Int(min(13, names.size - UInt64(nameOffset))))
            else { continue }
            let name = bytes.prefix { $0 != 0 }
            if name.elementsEqual(".debug_info".utf8) || name.elementsEqual(".zdebug_info".utf8) { return true }
        }
        return false
    }

    /// Turns an offset in the file (as `/proc/PID/maps` gives it) into the ELF virtual address the symbol
    /// tables and DWARF use.
    public func virtualAddress(forFileOffset offset: UInt64) -> UInt64? {
        for segment in segments where offset >= segment.fileOffset && offset < segment.fileOffset + max(segment.fileSize, 1) {
            return offset - segment.fileOffset + segment.virtualAddress
        }
        return nil
    }

    /// Turns an ELF virtual address into its offset in the file: the inverse of `virtualAddress(forFileOffset:)`,
    /// for profiles that give virtual addresses (pprof's `jemalloc_pprof`).
    public func fileOffset(forVirtualAddress address: UInt64) -> UInt64? {
        for segment in segments where address >= segment.virtualAddress && address < segment.virtualAddress + max(segment.fileSize, 1) {
            return address - segment.virtualAddress + segment.fileOffset
        }
        return nil
    }

    /// Whether an executable mapping of `/proc/PID/maps` (its file offset and length) fits one of this file's
    /// executable segments: a cheap check that the binary is the one the process ran.
    public func matches(mappingOffset: UInt64, length: UInt64) -> Bool {
        // The kernel maps each PT_LOAD segment from its page-aligned offset to its page-rounded end; try the
        // common page sizes (4 KiB; 16 and 64 KiB on some arm64 kernels).
        for page: UInt64 in [0x1000, 0x4000, 0x10000] {
            for segment in segments where segment.isExecutable {
                let start = segment.fileOffset & ~(page - 1)
                let end = (segment.fileOffset + segment.fileSize + page - 1) & ~(page - 1)
                if mappingOffset == start && length == end - start { return true }
            }
        }
        return false
    }

    /// Whether the instruction just before `returnOffset` (a file offset) is a call: a return address of a
    /// stack must follow one. nil when the architecture is not checked (only x86_64 and aarch64 are).
    public func followsCall(returnOffset: UInt64) -> Bool? {
        let reader = ByteReader(data: data)
        switch machine {
        case 62:
            guard returnOffset >= 7, let bytes = reader.bytes(returnOffset - 7, 7) else { return false }
            if bytes[2] == 0xE8 { return true }  // call rel32
            // call r/m (FF /2), 2 to 7 bytes long with prefixes, SIB and displacement.
            for length in 2...7 {
                let start = 7 - length
                if bytes[start] == 0xFF && (bytes[start + 1] >> 3) & 7 == 2 { return true }
                if start > 0 && bytes[start - 1] & 0xF0 == 0x40 && bytes[start] == 0xFF && (bytes[start + 1] >> 3) & 7 == 2 { return true }
            }
            return false
        case 183:
            guard returnOffset >= 4, let word = reader.u32(returnOffset - 4) else { return false }
            return word & 0xFC00_0000 == 0x9400_0000 || word & 0xFFFF_FC1F == 0xD63F_0000 || word & 0xFFFF_FC1F == 0xD63F_0800
        default:
            return nil
        }
    }

    /// The function containing `address` (an ELF virtual address), from `.symtab` or else `.dynsym`.
    ///
    /// A sized symbol covers `[address, address + size)`; an unsized one (hand-written assembly) covers up to
    /// the next symbol. Returns the raw, mangled name.
    public func symbolName(at address: UInt64) -> String? {
        let table = symbols()
        guard let index = table.lastIndex(atMost: address, by: \.address) else { return nil }
        let symbol = table[index]
        if symbol.size > 0 {
            return address < symbol.address + symbol.size ? name(of: symbol) : nil
        }
        let nextAddress = index + 1 < table.count ? table[index + 1].address : UInt64.max
        return address < nextAddress ? name(of: symbol) : nil
    }

    /// The separate debug file of this binary, found by build-id where distributions install them
    /// (`/usr/lib/debug/.build-id/ab/cdef….debug`, e.g. Debian's libc6-dbg): its `.symtab` names the
    /// internal functions that a stripped library's `.dynsym` lacks.
    public func debugCompanion(root: String = "/usr/lib/debug/.build-id") -> ELFFile? {
        guard let id = buildID, id.count > 2 else { return nil }
        let path = "\(root)/\(id.prefix(2))/\(id.dropFirst(2)).debug"
        guard FileManager.default.isReadableFile(atPath: path), let companion = try? ELFFile(path: path),
            companion.buildID == id
        else { return nil }
        return companion
    }

    /// The number of function symbols read from `.symtab` and `.dynsym` together.
    public var symbolCount: Int { symbols().count }

    // MARK: - Private

    private func symbols() -> [Symbol] {
        lock.lock()
        defer { lock.unlock() }
        if let symbolTable { return symbolTable }
        var result: [Symbol] = []
        let reader = ByteReader(data: data)
        for section in sections where section.type == 2 || section.type == 11 {
            guard section.entrySize >= 24, Int(section.link) < sections.count else { continue }
            let count = section.size / section.entrySize
            result.reserveCapacity(result.count + Int(min(count, 1 << 24)))
            for i in 0..<count {
                let base = section.offset &+ i &* section.entrySize
                guard let nameOffset = reader.u32(base), let info = reader.u8(base + 4),
                    let sectionIndex = reader.u16(base + 6), let value = reader.u64(base + 8),
                    let size = reader.u64(base + 16)
                else { break }
                let symbolType = info & 0xF
                // FUNC and GNU_IFUNC symbols that are defined in this file.
                guard symbolType == 2 || symbolType == 10, sectionIndex != 0, value != 0 else { continue }
                result.append(
                    Symbol(
                        address: value, size: size, nameOffset: UInt64(nameOffset), stringTable: Int(section.link),
                        fromSymtab: section.type == 2, bindingRank: [2, 0, 1][Int(min(info >> 4, 2))]))
            }
        }
        // Sort by address; among aliases prefer global, then .symtab and sized symbols; keep one per address.
        result.sort {
            if $0.address != $1.address { return $0.address < $1.address }
            if $0.bindingRank != $1.bindingRank { return $0.bindingRank < $1.bindingRank }
            if $0.fromSymtab != $1.fromSymtab { return $0.fromSymtab }
            return $0.size > $1.size
        }
        var unique: [Symbol] = []
        unique.reserveCapacity(result.count)
        for symbol in result where unique.last?.address != symbol.address { unique.append(symbol) }
        symbolTable = unique
        return unique
    }

    private func name(of symbol: Symbol) -> String? {
        let table = sections[symbol.stringTable]
        let start = table.offset &+ symbol.nameOffset
        guard symbol.nameOffset < table.size, start < UInt64(data.count) else { return nil }
        let limit = min(UInt64(data.count), table.offset &+ table.size)
        return data.withUnsafeBytes { raw -> String? in
            guard let base = raw.baseAddress else { return nil }
            var end = start
            while end < limit && raw[Int(end)] != 0 { end += 1 }
            let bytes = UnsafeRawBufferPointer(start: base + Int(start), count: Int(end - start))
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func findBuildID(_ reader: ByteReader, notes: [(UInt64, UInt64)]) -> String? {
        for (offset, size) in notes {
            var cursor = offset
            let end = offset &+ size
            while cursor &+ 12 <= end {
                guard let nameSize = reader.u32(cursor), let descSize = reader.u32(cursor + 4),
                    let type = reader.u32(cursor + 8)
                else { break }
                let nameStart = cursor + 12
                let descStart = nameStart + ((UInt64(nameSize) + 3) & ~3)
                let next = descStart + ((UInt64(descSize) + 3) & ~3)
                if type == 3 && nameSize == 4 && reader.bytes(nameStart, 4) == [0x47, 0x4E, 0x55, 0],
                    let desc = reader.bytes(descStart, Int(descSize)), !desc.isEmpty
                {
                    return desc.map { String(format: "%02x", $0) }.joined()
                }
                guard next > cursor else { break }
                cursor = next
            }
        }
        return nil
    }
}

/// Bounds-checked little-endian reads from a mapped file: a damaged ELF yields nil, never a crash.
private struct ByteReader {
    let data: Data

    func bytes(_ offset: UInt64, _ count: Int) -> [UInt8]? {
        guard count >= 0, offset <= UInt64(data.count), UInt64(count) <= UInt64(data.count) - offset else { return nil }
        let start = data.startIndex + Int(offset)
        return [UInt8](data[start..<(start + count)])
    }

    private func load<T: FixedWidthInteger>(_ offset: UInt64, as: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard offset <= UInt64(data.count), UInt64(size) <= UInt64(data.count) - offset else { return nil }
        return data.withUnsafeBytes { raw in
            T(littleEndian: raw.loadUnaligned(fromByteOffset: Int(offset), as: T.self))
        }
    }

    func u8(_ offset: UInt64) -> UInt8? { load(offset, as: UInt8.self) }
    func u16(_ offset: UInt64) -> UInt16? { load(offset, as: UInt16.self) }
    func u32(_ offset: UInt64) -> UInt32? { load(offset, as: UInt32.self) }
    func u64(_ offset: UInt64) -> UInt64? { load(offset, as: UInt64.self) }
}
