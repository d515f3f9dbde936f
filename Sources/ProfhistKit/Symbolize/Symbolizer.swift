import Foundation

/// Where symbols of a binary were looked up before: lets the second dump of a binary cost nothing.
public protocol SymbolCache {
    /// Every cached address of the binary (ELF virtual address → frames, outermost first).
    func cachedSymbols(binaryKey: String, symbolizer: String) throws -> [UInt64: [SymbolizedFrame]]
}

/// A binary given with `--binary`, or found at a mapped path.
public struct BinaryCandidate: Sendable {
    public var path: String
    public var elf: ELFFile

    public var fileName: String { (path as NSString).lastPathComponent }
    /// The cache key: the GNU build-id, or the path, size and modification time when there is none.
    public var key: String {
        if let id = elf.buildID { return id }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? NSNumber)?.int64Value ?? 0
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return "file:\(path):\(size):\(Int64(modified))"
    }

    /// Opens a binary. - Throws: `SymbolizeError` when it cannot be read or is not ELF.
    public init(path: String) throws {
        self.path = path
        self.elf = try ELFFile(path: path)
    }
}

/// A dump whose stacks are lists of named frames, root first.
public struct SymbolizedHeap: Sendable {
    public struct Stack: Sendable {
        /// Where the stack's frames are in `frameIndices`.
        public var range: Range<Int>
        public var values: HeapValues
    }

    /// Which file symbolized a mapping of the process.
    public struct MappingUse: Sendable {
        public var mappingPath: String
        public var localPath: String?
        public var binaryKey: String?
        public var symbolizer: String?
        public var fileName: String?
    }

    /// Addresses newly symbolized for a binary, to store in the cache.
    public struct NewSymbols: Sendable {
        public var binaryKey: String
        public var symbolizer: String
        public var fileName: String
        public var symbols: [UInt64: [SymbolizedFrame]]
    }

    /// Every distinct frame (name and location) of the dump; stacks point into it.
    public var frames: [SymbolizedFrame]
    /// The stacks' frames, each stack's a run of indices into `frames` from the root (`_start`) to the innermost
    /// (the allocator); one array for all, not one per stack, for speed.
    public var frameIndices: [Int32]
    public var stacks: [Stack]
    public var mappings: [MappingUse]
    public var newSymbols: [NewSymbols]
    public var warnings: [String]
    /// One warning per module whose stored frames stayed unnamed, keyed by the module's path, so an ingest of
    /// many dumps can say it once.
    public var unnamedModules: [(module: String, warning: String)] = []

}

/// Maps a dump's addresses to named frames: through `MAPPED_LIBRARIES` to (file, offset), through the ELF
/// segments to virtual addresses, then to names by llvm-symbolizer (DWARF) or the ELF symbol tables.
public struct Symbolizer {
    public var binaries: [BinaryCandidate]
    public var llvm: LLVMSymbolizer?
    /// Whether shared libraries at their mapped paths may be read (they are, when present).
    public var useMappedFiles = true
    /// An llvm-symbolizer started while the dump was parsed, used instead of starting one.
    public var prestarted: LLVMSymbolizer.Prestarted?
    /// Tells allocator frames: a stored stack ends where the allocator begins, so unnamed frames inside it
    /// (jemalloc's hidden functions) hide nothing and get no warning.
    public var plumbing = Plumbing()
    /// Where separate debug files are looked for (`--debug-dir`, then `/usr/lib/debug`).
    public var debugFiles = DebugFileLocator() {
        didSet { debugCache = DebugFileCache() }
    }
    private var debugCache = DebugFileCache()

    public init(binaries: [BinaryCandidate], llvm: LLVMSymbolizer? = LLVMSymbolizer.locate()) {
        self.binaries = binaries
        self.llvm = llvm
    }

    /// How a binary's addresses are named: llvm-symbolizer when the file or its separate debug file has DWARF
    /// (inlined frames, file:line), else its ELF symbols (and those of its separate debug file). A library
    /// without DWARF would get the same names from llvm-symbolizer, which costs a process and tens of
    /// milliseconds per ingest.
    func symbolizer(for candidate: BinaryCandidate) -> String {
        llvm != nil && dwarfPath(for: candidate) != nil ? "llvm-symbolizer" : "elf"
    }

    /// The file whose DWARF names the candidate's addresses: the candidate itself, else its separate debug file
    /// (same virtual addresses); nil when neither has DWARF.
    func dwarfPath(for candidate: BinaryCandidate) -> String? {
        if candidate.elf.hasDebugInfo { return candidate.path }
        guard let debug = debugFile(for: candidate), debug.elf.hasDebugInfo else { return nil }
        return debug.path
    }

    /// The separate debug file of a candidate, looked up once per symbolizer.
    func debugFile(for candidate: BinaryCandidate) -> (path: String, elf: ELFFile)? {
        debugCache.lookup(candidate.path) { debugFiles.debugFile(for: candidate.elf) }
    }

    /// Symbolizes every stack of `dump`.
    /// - Parameters:
    ///   - source: the dump's file name, for warnings.
    ///   - cache: previously symbolized addresses, by binary.
    public func symbolize(_ dump: HeapDump, source: String, cache: SymbolCache?) throws -> SymbolizedHeap {
        var warnings: [String] = []
        var clock = PhaseClock()
        defer { clock.report("symbolize") }
        let mappings = dump.mappings.enumerated().filter { !$0.element.path.isEmpty }
        let executable = mappings.filter { $0.element.isExecutable }
        // Sorted executable mappings for binary search; /proc/PID/maps is sorted, but do not rely on it.
        let sorted = executable.map(\.element).sorted { $0.start < $1.start }

        // 1. Every distinct caller-adjusted address (callers' return addresses minus one), each stack as indices
        // into that list, and the addresses grouped by the mapping they fall in.
        var pcIndex = IntegerMap(capacity: 1 << 12)
        var pcs: [UInt64] = []
        var pcIsCaller: [Bool] = []
        // Each stack's pcs (leaf first, as in the dump) at stackPCs[stackStarts[i] ..< stackStarts[i + 1]].
        var stackPCs: [Int32] = []
        var stackStarts: [Int] = [0]
        stackStarts.reserveCapacity(dump.stacks.count + 1)
        for stack in dump.stacks {
            for (index, address) in stack.addresses.enumerated() {
                let pc = index == 0 ? address : address &- 1
                let unique = pcIndex.value(for: pc) {
                    pcs.append(pc)
                    pcIsCaller.append(false)
                    return Int32(pcs.count - 1)
                }
                if index > 0 { pcIsCaller[Int(unique)] = true }
                stackPCs.append(unique)
            }
            stackStarts.append(stackPCs.count)
        }
        var perMapping: [Int: Set<UInt64>] = [:]
        var unmapped = Set<UInt64>()
        for pc in pcs {
            if let m = Symbolizer.find(pc, in: sorted) { perMapping[m, default: []].insert(pc) } else { unmapped.insert(pc) }
        }

        clock.lap("group")
        // 2. Resolve each mapped file to a local ELF.
        var resolved: [String: BinaryCandidate?] = [:]
        var uses: [SymbolizedHeap.MappingUse] = []
        let mainPath = mappings.first?.element.path
        let mappedNames = Set(perMapping.keys.map { (sorted[$0].path as NSString).lastPathComponent })
        var claimed = Set(binaries.filter { mappedNames.contains($0.fileName) }.map(\.path))
        var alternates: [String: BinaryCandidate] = [:]
        // Build-ids the profile gives for its mappings (pprof), to match a --binary by.
        let buildIDs = Dictionary(sorted.compactMap { m in m.buildID.map { (m.path, $0) } }, uniquingKeysWith: { first, _ in first })
        for path in Set(perMapping.keys.map { sorted[$0].path }).sorted() {
            let (candidate, alternate, note) = resolve(path: path, isMain: path == mainPath, buildID: buildIDs[path], claimed: &claimed)
            if let note { warnings.append("\(source): \(note)") }
            resolved[path] = candidate
            alternates[path] = alternate
        }
        // A binary whose executable segment does not fit the mapping, or whose code has no call instruction
        // before the dump's return addresses, is from another build: refuse it.
        // Up to 400 distinct return addresses per mapping (a caller's pc is its return address minus one).
        var returnAddresses: [Int: [UInt64]] = [:]
        for (pc, isCaller) in zip(pcs, pcIsCaller) where isCaller {
            let address = pc &+ 1
            guard let m = Symbolizer.find(address, in: sorted), (returnAddresses[m]?.count ?? 0) < 400 else { continue }
            returnAddresses[m, default: []].append(address)
        }
        for (index, mapping) in sorted.enumerated() where perMapping[index] != nil {
            guard let candidate = resolved[mapping.path] ?? nil else { continue }
            let addresses = returnAddresses[index] ?? []
            // Decided once per file, even when it has several executable mappings.
            let alternate = alternates.removeValue(forKey: mapping.path)
            // The build-ids of the --binary and of the file at the mapped path differ: one is not what ran.
            let ids = alternate.map { " (build-id \(candidate.elf.buildID ?? "none"); the file at the mapped path has \($0.elf.buildID ?? "none"))" } ?? ""
            guard let mismatch = Symbolizer.mismatch(candidate, mapping: mapping, returnAddresses: addresses) else {
                if alternate != nil {
                    warnings.append(
                        "\(source): \(candidate.path)\(ids) is used for \(mapping.path): its code matches the dump's return "
                            + "addresses (the file at the mapped path was probably rebuilt after the dump)")
                }
                continue
            }
            if let alternate, Symbolizer.mismatch(alternate, mapping: mapping, returnAddresses: addresses) == nil {
                warnings.append(
                    "\(source): \(candidate.path)\(ids) does not match the code of \(mapping.path) in the dump "
                        + "(\(mismatch)): it is from another build; using \(alternate.path) at the mapped path, whose code matches")
                resolved[mapping.path] = .some(alternate)
                continue
            }
            warnings.append(
                "\(source): \(candidate.path)\(ids) does not match the code of \(mapping.path) in the dump (\(mismatch)): "
                    + "it is from another build; its frames are stored unsymbolized")
            resolved[mapping.path] = .some(nil)
        }
        for path in Set(perMapping.keys.map { sorted[$0].path }).sorted() {
            let candidate = resolved[path] ?? nil
            uses.append(
                SymbolizedHeap.MappingUse(
                    mappingPath: path, localPath: candidate?.path, binaryKey: candidate?.key,
                    symbolizer: candidate.map(symbolizer(for:)), fileName: candidate?.fileName))
        }

        clock.lap("resolve")
        // 3. Symbolize per binary: cache first, then llvm-symbolizer or the ELF symbol tables.
        var frames: [UInt64: [SymbolizedFrame]] = [:]
        var newSymbols: [SymbolizedHeap.NewSymbols] = []
        var byBinary: [String: (BinaryCandidate, [(pc: UInt64, vaddr: UInt64)])] = [:]
        // Addresses named now, not from the store's cache: an unnamed one from the cache was warned about when
        // it was first stored, so a store hears about each module once, not with every dump.
        var fresh = Set<UInt64>()
        for (index, pcs) in perMapping {
            let mapping = sorted[index]
            let fileName = (mapping.path as NSString).lastPathComponent
            guard let candidate = resolved[mapping.path] ?? nil else {
                for pc in pcs {
                    frames[pc] = [SymbolizedFrame(name: "\(fileName)+0x" + String(pc - mapping.start + mapping.offset, radix: 16))]
                }
                continue
            }
            for pc in pcs {
                let offset = pc - mapping.start + mapping.offset
                if mapping.addressesAreVirtual {
                    byBinary[candidate.key, default: (candidate, [])].1.append((pc, offset))
                } else if let vaddr = candidate.elf.virtualAddress(forFileOffset: offset) {
                    byBinary[candidate.key, default: (candidate, [])].1.append((pc, vaddr))
                } else {
                    frames[pc] = [SymbolizedFrame(name: "\(fileName)+0x" + String(offset, radix: 16))]
                    fresh.insert(pc)
                }
            }
        }
        let work = byBinary.sorted(by: { $0.key < $1.key })
        var known: [String: [UInt64: [SymbolizedFrame]]] = [:]
        var missing: [(binary: String, addresses: [UInt64])] = []
        for (key, (candidate, pairs)) in work {
            known[key] = (try cache?.cachedSymbols(binaryKey: key, symbolizer: symbolizer(for: candidate))) ?? [:]
            let absent = Array(Set(pairs.map(\.vaddr)).filter { known[key]?[$0] == nil }).sorted()
            if !absent.isEmpty { missing.append((candidate.path, absent)) }
            for pair in pairs where known[key]?[pair.vaddr] == nil { fresh.insert(pair.pc) }
        }
        clock.lap("cache")
        // One llvm-symbolizer process for the missing addresses of every binary with DWARF.
        var found: [String: [UInt64: [SymbolizedFrame]]] = [:]
        let forLLVM: [(binary: String, addresses: [UInt64])] = missing.compactMap { request in
            guard let candidate = work.first(where: { $0.value.0.path == request.binary })?.value.0,
                symbolizer(for: candidate) == "llvm-symbolizer", let dwarf = dwarfPath(for: candidate)
            else { return nil }
            return (dwarf, request.addresses)
        }
        if let llvm, !forLLVM.isEmpty {
            do {
                found = try llvm.symbolize(forLLVM, using: prestarted)
            } catch {
                let names = forLLVM.map { ($0.binary as NSString).lastPathComponent }.joined(separator: ", ")
                warnings.append("\(source): \(error.localizedDescription); using ELF symbol names for \(names)")
            }
        }
        clock.lap("llvm")
        for (key, (candidate, pairs)) in work {
            guard let request = missing.first(where: { $0.binary == candidate.path }) else {
                for (pc, vaddr) in pairs { frames[pc] = known[key]?[vaddr] }
                continue
            }
            var symbols = dwarfPath(for: candidate).flatMap { found[$0] } ?? [:]
            let companion = request.addresses.contains { symbols[$0] == nil } ? debugFile(for: candidate)?.elf : nil
            for vaddr in request.addresses where symbols[vaddr] == nil {
                let symbol = (companion?.symbolName(at: vaddr) ?? candidate.elf.symbolName(at: vaddr)).map(FrameName.fromSymbol)
                symbols[vaddr] = [SymbolizedFrame(name: symbol ?? "\(candidate.fileName)+0x" + String(vaddr, radix: 16))]
            }
            newSymbols.append(
                SymbolizedHeap.NewSymbols(
                    binaryKey: key, symbolizer: symbolizer(for: candidate), fileName: candidate.fileName, symbols: symbols))
            known[key, default: [:]].merge(symbols) { old, _ in old }
            for (pc, vaddr) in pairs { frames[pc] = known[key]?[vaddr] }
        }
        // Outside every file mapping: JIT code in an anonymous executable mapping, or no mapping at all. Each
        // address stays its own frame, as jeprof keeps them apart; one "[unmapped]" frame would merge stacks.
        let anonymous = dump.mappings.filter { $0.path.isEmpty && $0.isExecutable }.sorted { $0.start < $1.start }
        for pc in unmapped {
            let kind = Symbolizer.find(pc, in: anonymous) != nil ? "[anon:jit]" : "[unmapped]"
            frames[pc] = [SymbolizedFrame(name: kind + "+0x" + String(pc, radix: 16))]
        }
        // Which module each address stayed unnamed in, for one warning per module.
        var unnamedModule: [UInt64: String] = [:]
        for (index, modulePCs) in perMapping {
            guard !sorted[index].path.hasPrefix("[") else { continue }  // [vdso], [vsyscall]: no file to name them
            let prefix = (sorted[index].path as NSString).lastPathComponent + "+0x"
            let cached = (resolved[sorted[index].path] ?? nil) != nil
            for pc in modulePCs where frames[pc]?.count == 1 && frames[pc]?[0].name.hasPrefix(prefix) == true
                && (!cached || fresh.contains(pc))
            {
                unnamedModule[pc] = sorted[index].path
            }
        }

        clock.lap("names")
        // 4. One table of distinct frames; each address becomes indices into it, each stack a list of them.
        var table: [SymbolizedFrame] = []
        var tableIndex: [SymbolizedFrame: Int32] = [:]
        func index(_ frame: SymbolizedFrame) -> Int32 {
            if let known = tableIndex[frame] { return known }
            let position = Int32(table.count)
            table.append(frame)
            tableIndex[frame] = position
            return position
        }
        // Inline chains are stored outermost first, as the stack is root first.
        let pcFrames: [[Int32]] = pcs.map { pc in
            (frames[pc] ?? [SymbolizedFrame(name: "[unmapped]+0x" + String(pc, radix: 16))]).map(index)
        }
        let modules = Array(Set(unnamedModule.values)).sorted()
        let moduleIndex = Dictionary(uniqueKeysWithValues: modules.enumerated().map { ($1, $0) })
        let pcModule: [Int] = pcs.map { pc in unnamedModule[pc].flatMap { moduleIndex[$0] } ?? -1 }
        var unnamedBytes = [Double](repeating: 0, count: modules.count)
        var unnamedPCs = [Set<Int>](repeating: [], count: modules.count)
        // Only needed when some module stayed unnamed (rarely): the common case pays nothing.
        let isAllocator: [Bool] = modules.isEmpty ? [] : table.map { plumbing.level(of: $0.name) == .allocator }
        var stacks: [SymbolizedHeap.Stack] = []
        stacks.reserveCapacity(dump.stacks.count)
        var frameIndices: [Int32] = []
        frameIndices.reserveCapacity(stackPCs.count + stackPCs.count / 8)
        for (number, stack) in dump.stacks.enumerated() {
            let start = frameIndices.count
            var counted = Set<Int>()
            var insideAllocator = false
            for position in stride(from: stackStarts[number + 1] - 1, through: stackStarts[number], by: -1) {
                let pc = Int(stackPCs[position])
                let chain = pcFrames[pc]
                if chain.count == 1 { frameIndices.append(chain[0]) } else { frameIndices.append(contentsOf: chain) }
                // Unnamed frames above the allocator (root side) are stored; a stack's bytes count once per module.
                guard !modules.isEmpty else { continue }
                insideAllocator = insideAllocator || chain.contains { isAllocator[Int($0)] }
                let module = pcModule[pc]
                guard module >= 0, !insideAllocator else { continue }
                unnamedPCs[module].insert(pc)
                if counted.insert(module).inserted { unnamedBytes[module] += stack.values.inuseBytes }
            }
            stacks.append(SymbolizedHeap.Stack(range: start..<frameIndices.count, values: stack.values))
        }
        clock.lap("stacks")
        var unnamedModules: [(module: String, warning: String)] = []
        for (m, module) in modules.enumerated() where !unnamedPCs[m].isEmpty {
            unnamedModules.append(
                (module, "\(source): " + unnamedWarning(
                    module: module, candidate: resolved[module] ?? nil, isMain: module == mainPath, addresses: unnamedPCs[m].count,
                    bytes: unnamedBytes[m])))
        }
        return SymbolizedHeap(
            frames: table, frameIndices: frameIndices, stacks: stacks, mappings: uses, newSymbols: newSymbols, warnings: warnings,
            unnamedModules: unnamedModules)
    }

    /// The one warning for a module whose frames stayed unnamed: how much memory it hides, its build-id, where
    /// names were looked for, and what would name them.
    func unnamedWarning(module: String, candidate: BinaryCandidate?, isMain: Bool, addresses: Int, bytes: Double) -> String {
        let name = (module as NSString).lastPathComponent
        let hidden = "\(addresses) address\(addresses == 1 ? "" : "es") in stacks holding \(ByteCount.human(bytes)) (\(Int64(bytes.rounded())) bytes) "
            + "are stored as \(name)+0xOFFSET"
        guard let candidate else {
            let what = isMain ? "no symbols for the main executable \(module)" : "\(module) was not found (build-id unknown)"
            return "\(what): \(hidden); pass --binary PATH to \(isMain ? "the program" : "a copy of \(name)") "
                + "(a copy or the same build elsewhere is fine)"
        }
        let id = candidate.elf.buildID
        var searched = [candidate.path]
        if let id { searched += debugFiles.candidatePaths(buildID: id) }
        let debug = debugFile(for: candidate)
        let advice: String
        if let debug {
            advice = "its debug file \(debug.path) does not name them either; pass --binary PATH to an unstripped copy"
        } else if let id {
            advice = "install its debug symbols (Debian: the -dbg or -dbgsym package of the package that ships it, "
                + "see dpkg -S \(candidate.path)), pass --debug-dir DIR holding DIR/.build-id/\(id.prefix(2))/\(id.dropFirst(2)).debug "
                + "or a debuginfod cache DIR/\(id)/debuginfo, or --binary PATH to an unstripped copy"
        } else {
            advice = "it has no build-id, so no debug file can be matched: pass --binary PATH to an unstripped copy"
        }
        let file = candidate.path == module ? "" : ", read from \(candidate.path)"
        return "\(module) (build-id \(id ?? "none")\(file)) has no names for its frames: \(hidden). Searched: "
            + searched.joined(separator: ", ") + ". To name them: " + advice
    }

    /// Why `candidate` is not the binary that was mapped, or nil when it fits: a binary whose code has no call
    /// instruction before the dump's return addresses, or whose executable segment does not fit the mapping, is
    /// from another build.
    static func mismatch(_ candidate: BinaryCandidate, mapping: MemoryMapping, returnAddresses: [UInt64]) -> String? {
        if let wanted = mapping.buildID, let id = candidate.elf.buildID, wanted != id {
            return "the profile gives build-id \(wanted)"
        }
        let checks = returnAddresses.compactMap { address -> Bool? in
            let offset = address - mapping.start + mapping.offset
            // A virtual address (pprof) is turned back into the file offset the call check reads.
            guard mapping.addressesAreVirtual else { return candidate.elf.followsCall(returnOffset: offset) }
            return candidate.elf.fileOffset(forVirtualAddress: offset).flatMap { candidate.elf.followsCall(returnOffset: $0) }
        }
        let misses = checks.filter { !$0 }.count
        if checks.count >= 8, Double(misses) > 0.2 * Double(checks.count) {
            return "\(misses) of \(checks.count) return addresses follow no call instruction"
        }
        // A pprof mapping with virtual addresses has no run-time extent to compare.
        if !mapping.addressesAreVirtual, !candidate.elf.matches(mappingOffset: mapping.offset, length: mapping.end - mapping.start) {
            return "executable segment at file offset 0x\(String(mapping.offset, radix: 16)) differs"
        }
        return nil
    }

    /// Picks the local file for a mapped path: a `--binary` with the build-id the profile gives (pprof), else a
    /// `--binary` with the same file name, else the file at the
    /// mapped path (and a `--binary` with its build-id, if any), else for the main executable the only
    /// `--binary` left. The alternate is the file at the mapped path when it is there with another build-id than
    /// the `--binary` chosen by name: the dump's code decides between them.
    func resolve(
        path: String, isMain: Bool, buildID: String? = nil, claimed: inout Set<String>
    ) -> (BinaryCandidate?, alternate: BinaryCandidate?, String?) {
        // A profile that names the build-id (pprof) is matched by it first: file names may differ.
        if let buildID, let match = binaries.first(where: { $0.elf.buildID == buildID }) {
            claimed.insert(match.path)
            return (match, nil, nil)
        }
        let name = (path as NSString).lastPathComponent
        if let match = binaries.first(where: { $0.fileName == name }) {
            claimed.insert(match.path)
            var alternate: BinaryCandidate? = nil
            if useMappedFiles, !path.hasPrefix("["), FileManager.default.isReadableFile(atPath: path),
                let local = try? BinaryCandidate(path: path), local.elf.buildID != match.elf.buildID
            {
                alternate = local
            }
            return (match, alternate, nil)
        }
        var local: BinaryCandidate? = nil
        if useMappedFiles, !path.hasPrefix("["), FileManager.default.isReadableFile(atPath: path) {
            local = try? BinaryCandidate(path: path)
        }
        if let id = local?.elf.buildID, let match = binaries.first(where: { $0.elf.buildID == id }) {
            claimed.insert(match.path)
            return (match, nil, nil)
        }
        if isMain {
            // The program was renamed or moved: the one --binary that matched no mapping by name is for it.
            let unclaimed = binaries.filter { !claimed.contains($0.path) }
            if unclaimed.count == 1, let only = unclaimed.first {
                claimed.insert(only.path)
                return (only, local, "using \(only.path) for the main executable \(path) (file names differ)")
            }
        }
        return (local, nil, nil)
    }

    static func find(_ pc: UInt64, in sorted: [MemoryMapping]) -> Int? {
        var low = 0
        var high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid].start <= pc { low = mid + 1 } else { high = mid }
        }
        let index = low - 1
        return index >= 0 && sorted[index].contains(pc) ? index : nil
    }
}
