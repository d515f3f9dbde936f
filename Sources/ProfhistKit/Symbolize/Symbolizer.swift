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
    func symbolizer(for candidate: BinaryCandidate) -> NameSource {
        llvm != nil && dwarfPath(for: candidate) != nil ? .llvmSymbolizer : .elf
    }

    /// What names a binary's addresses; the raw value is what the store's `binary.symbolizer` column holds (a
    /// binary's cached names are kept per source).
    enum NameSource: String {
        case llvmSymbolizer = "llvm-symbolizer"
        case elf
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
        var clock = PhaseClock()
        defer { clock.report("symbolize") }
        var work = SymbolizeWork(dump: dump, source: source)
        clock.lap("group")
        resolveFiles(&work)
        clock.lap("resolve")
        let named = try nameAddresses(&work, cache: cache, clock: &clock)
        clock.lap("names")
        let (table, frameIndices, stacks, unnamedModules) = assemble(work, frames: named.frames, fresh: named.fresh)
        clock.lap("stacks")
        return SymbolizedHeap(
            frames: table, frameIndices: frameIndices, stacks: stacks, mappings: work.uses(symbolizer: self),
            newSymbols: named.newSymbols, warnings: work.warnings, unnamedModules: unnamedModules)
    }

    // MARK: - 1. Addresses

    /// What the phases of `symbolize` share: the dump's distinct addresses, the mappings they fall in, and the
    /// local file chosen for each mapped path.
    struct SymbolizeWork {
        var dump: HeapDump
        var source: String
        /// Every distinct caller-adjusted address (callers' return addresses minus one).
        var pcs: [UInt64] = []
        /// Whether the address was a caller's somewhere (its return address is the address plus one).
        var pcIsCaller: [Bool] = []
        /// Each stack's pcs (leaf first, as in the dump) at stackPCs[stackStarts[i] ..< stackStarts[i + 1]].
        var stackPCs: [Int32] = []
        var stackStarts: [Int] = [0]
        /// Executable file mappings sorted by start, for binary search; /proc/PID/maps is sorted, but do not
        /// rely on it.
        var sorted: [MemoryMapping]
        /// The addresses in each mapping (by index into `sorted`), and those outside every file mapping.
        var perMapping: [Int: Set<UInt64>] = [:]
        var unmapped = Set<UInt64>()
        /// The main executable's path: the first mapping's.
        var mainPath: String?
        /// The local file of each mapped path (nil: none, or one from another build).
        var resolved: [String: BinaryCandidate?] = [:]
        var warnings: [String] = []

        init(dump: HeapDump, source: String) {
            self.dump = dump
            self.source = source
            let mappings = dump.mappings.filter { !$0.path.isEmpty }
            mainPath = mappings.first?.path
            sorted = mappings.filter(\.isExecutable).sorted { $0.start < $1.start }
            collectAddresses()
            for pc in pcs {
                if let m = Symbolizer.find(pc, in: sorted) { perMapping[m, default: []].insert(pc) } else { unmapped.insert(pc) }
            }
        }

        private mutating func collectAddresses() {
            var pcIndex = IntegerMap(capacity: 1 << 12)
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
        }

        /// The mapped paths that hold addresses of the dump, sorted.
        var mappedPaths: [String] { Set(perMapping.keys.map { sorted[$0].path }).sorted() }

        /// Which file symbolized each mapped path, for the store.
        func uses(symbolizer: Symbolizer) -> [SymbolizedHeap.MappingUse] {
            mappedPaths.map { path in
                let candidate = resolved[path] ?? nil
                return SymbolizedHeap.MappingUse(
                    mappingPath: path, localPath: candidate?.path, binaryKey: candidate?.key,
                    symbolizer: candidate.map { symbolizer.symbolizer(for: $0).rawValue }, fileName: candidate?.fileName)
            }
        }
    }

    // MARK: - 2. Files

    /// How many distinct return addresses of a mapping `mismatch` checks: enough to tell another build, few
    /// enough that the check costs nothing next to symbolization.
    static let returnAddressesChecked = 400

    /// Resolves each mapped path to a local ELF file, then refuses a file whose code does not fit the dump.
    func resolveFiles(_ work: inout SymbolizeWork) {
        let mappedNames = Set(work.perMapping.keys.map { (work.sorted[$0].path as NSString).lastPathComponent })
        var claimed = Set(binaries.filter { mappedNames.contains($0.fileName) }.map(\.path))
        var alternates: [String: BinaryCandidate] = [:]
        // Build-ids the profile gives for its mappings (pprof), to match a --binary by.
        let buildIDs = Dictionary(
            work.sorted.compactMap { m in m.buildID.map { (m.path, $0) } }, uniquingKeysWith: { first, _ in first })
        for path in work.mappedPaths {
            let (candidate, alternate, note) = resolve(
                path: path, isMain: path == work.mainPath, buildID: buildIDs[path], claimed: &claimed)
            if let note { work.warnings.append("\(work.source): \(note)") }
            work.resolved[path] = candidate
            alternates[path] = alternate
        }
        refuseOtherBuilds(&work, alternates: alternates)
    }

    /// A binary whose executable segment does not fit the mapping, or whose code has no call instruction before
    /// the dump's return addresses, is from another build: the file at the mapped path is used instead when its
    /// code fits, else the mapping's frames are stored unsymbolized.
    private func refuseOtherBuilds(_ work: inout SymbolizeWork, alternates: [String: BinaryCandidate]) {
        var alternates = alternates
        var returnAddresses: [Int: [UInt64]] = [:]
        for (pc, isCaller) in zip(work.pcs, work.pcIsCaller) where isCaller {
            let address = pc &+ 1
            guard let m = Symbolizer.find(address, in: work.sorted),
                (returnAddresses[m]?.count ?? 0) < Symbolizer.returnAddressesChecked
            else { continue }
            returnAddresses[m, default: []].append(address)
        }
        for (index, mapping) in work.sorted.enumerated() where work.perMapping[index] != nil {
            guard let candidate = work.resolved[mapping.path] ?? nil else { continue }
            let addresses = returnAddresses[index] ?? []
            // Decided once per file, even when it has several executable mappings.
            let alternate = alternates.removeValue(forKey: mapping.path)
            // The build-ids of the --binary and of the file at the mapped path differ: one is not what ran.
            let ids = alternate.map {
                " (build-id \(candidate.elf.buildID ?? "none"); the file at the mapped path has \($0.elf.buildID ?? "none"))"
            } ?? ""
            guard let mismatch = Symbolizer.mismatch(candidate, mapping: mapping, returnAddresses: addresses) else {
                if alternate != nil {
                    work.warnings.append(
                        "\(work.source): \(candidate.path)\(ids) is used for \(mapping.path): its code matches the dump's "
                            + "return addresses (the file at the mapped path was probably rebuilt after the dump)")
                }
                continue
            }
            if let alternate, Symbolizer.mismatch(alternate, mapping: mapping, returnAddresses: addresses) == nil {
                work.warnings.append(
                    "\(work.source): \(candidate.path)\(ids) does not match the code of \(mapping.path) in the dump "
                        + "(\(mismatch)): it is from another build; using \(alternate.path) at the mapped path, whose code matches")
                work.resolved[mapping.path] = .some(alternate)
                continue
            }
            work.warnings.append(
                "\(work.source): \(candidate.path)\(ids) does not match the code of \(mapping.path) in the dump "
                    + "(\(mismatch)): it is from another build; its frames are stored unsymbolized")
            work.resolved[mapping.path] = .some(nil)
        }
    }

    // MARK: - 3. Names

    /// The frames of every address, the symbols named now (for the store's cache), and the addresses named now
    /// rather than read from the cache.
    struct NamedAddresses {
        var frames: [UInt64: [SymbolizedFrame]] = [:]
        var newSymbols: [SymbolizedHeap.NewSymbols] = []
        /// An unnamed address from the cache was warned about when it was first stored, so a store hears about
        /// each module once, not with every dump.
        var fresh = Set<UInt64>()
    }

    /// A binary's addresses to name: each dump address with its ELF virtual address.
    typealias BinaryWork = (candidate: BinaryCandidate, pairs: [(pc: UInt64, vaddr: UInt64)])

    /// Names every address: the store's cache first, then llvm-symbolizer or the ELF symbol tables; addresses
    /// with no local file are `module+0xOFFSET`, those outside every file mapping `[anon:jit]` or `[unmapped]`.
    func nameAddresses(_ work: inout SymbolizeWork, cache: SymbolCache?, clock: inout PhaseClock) throws -> NamedAddresses {
        var named = NamedAddresses()
        let byBinary = binaryWork(work, named: &named)
        var known: [String: [UInt64: [SymbolizedFrame]]] = [:]
        var missing: [(binary: String, addresses: [UInt64])] = []
        for (key, (candidate, pairs)) in byBinary {
            known[key] = (try cache?.cachedSymbols(binaryKey: key, symbolizer: symbolizer(for: candidate).rawValue)) ?? [:]
            let absent = Array(Set(pairs.map(\.vaddr)).filter { known[key]?[$0] == nil }).sorted()
            if !absent.isEmpty { missing.append((candidate.path, absent)) }
            for pair in pairs where known[key]?[pair.vaddr] == nil { named.fresh.insert(pair.pc) }
        }
        clock.lap("cache")
        let found = runLLVM(byBinary, missing: missing, source: work.source, warnings: &work.warnings)
        clock.lap("llvm")
        for (key, (candidate, pairs)) in byBinary {
            if let request = missing.first(where: { $0.binary == candidate.path }) {
                let symbols = elfNames(candidate, addresses: request.addresses, found: found)
                named.newSymbols.append(
                    SymbolizedHeap.NewSymbols(
                        binaryKey: key, symbolizer: symbolizer(for: candidate).rawValue, fileName: candidate.fileName,
                        symbols: symbols))
                known[key, default: [:]].merge(symbols) { old, _ in old }
            }
            for (pc, vaddr) in pairs { named.frames[pc] = known[key]?[vaddr] }
        }
        // Outside every file mapping: JIT code in an anonymous executable mapping, or no mapping at all. Each
        // address stays its own frame, as jeprof keeps them apart; one "[unmapped]" frame would merge stacks.
        let anonymous = work.dump.mappings.filter { $0.path.isEmpty && $0.isExecutable }.sorted { $0.start < $1.start }
        for pc in work.unmapped {
            let kind = Symbolizer.find(pc, in: anonymous) != nil ? "[anon:jit]" : "[unmapped]"
            named.frames[pc] = [SymbolizedFrame(name: kind + "+0x" + String(pc, radix: 16))]
        }
        return named
    }

    /// The addresses of each local binary (by cache key, sorted), as ELF virtual addresses; addresses of a
    /// mapping without a local file, or outside the file's segments, are named `module+0xOFFSET` at once.
    private func binaryWork(_ work: SymbolizeWork, named: inout NamedAddresses) -> [(key: String, value: BinaryWork)] {
        var byBinary: [String: BinaryWork] = [:]
        for (index, pcs) in work.perMapping {
            let mapping = work.sorted[index]
            let fileName = (mapping.path as NSString).lastPathComponent
            guard let candidate = work.resolved[mapping.path] ?? nil else {
                for pc in pcs {
                    named.frames[pc] = [SymbolizedFrame(name: "\(fileName)+0x" + String(pc - mapping.start + mapping.offset, radix: 16))]
                }
                continue
            }
            for pc in pcs {
                let offset = pc - mapping.start + mapping.offset
                if mapping.addressesAreVirtual {
                    byBinary[candidate.key, default: (candidate, [])].pairs.append((pc, offset))
                } else if let vaddr = candidate.elf.virtualAddress(forFileOffset: offset) {
                    byBinary[candidate.key, default: (candidate, [])].pairs.append((pc, vaddr))
                } else {
                    named.frames[pc] = [SymbolizedFrame(name: "\(fileName)+0x" + String(offset, radix: 16))]
                    named.fresh.insert(pc)
                }
            }
        }
        return byBinary.sorted(by: { $0.key < $1.key })
    }

    /// One llvm-symbolizer process for the missing addresses of every binary with DWARF; on failure a warning,
    /// and the ELF symbol names serve.
    private func runLLVM(
        _ byBinary: [(key: String, value: BinaryWork)], missing: [(binary: String, addresses: [UInt64])],
        source: String, warnings: inout [String]
    ) -> [String: [UInt64: [SymbolizedFrame]]] {
        let forLLVM: [(binary: String, addresses: [UInt64])] = missing.compactMap { request in
            guard let candidate = byBinary.first(where: { $0.value.candidate.path == request.binary })?.value.candidate,
                symbolizer(for: candidate) == .llvmSymbolizer, let dwarf = dwarfPath(for: candidate)
            else { return nil }
            return (dwarf, request.addresses)
        }
        guard let llvm, !forLLVM.isEmpty else { return [:] }
        do {
            return try llvm.symbolize(forLLVM, using: prestarted)
        } catch {
            let names = forLLVM.map { ($0.binary as NSString).lastPathComponent }.joined(separator: ", ")
            warnings.append("\(source): \(error.localizedDescription); using ELF symbol names for \(names)")
            return [:]
        }
    }

    /// The symbols of a binary's missing addresses: llvm-symbolizer's where it named them, else the ELF symbol
    /// tables' (of the separate debug file first), else `file+0xADDRESS`.
    private func elfNames(
        _ candidate: BinaryCandidate, addresses: [UInt64], found: [String: [UInt64: [SymbolizedFrame]]]
    ) -> [UInt64: [SymbolizedFrame]] {
        var symbols = dwarfPath(for: candidate).flatMap { found[$0] } ?? [:]
        let companion = addresses.contains { symbols[$0] == nil } ? debugFile(for: candidate)?.elf : nil
        for vaddr in addresses where symbols[vaddr] == nil {
            let symbol = (companion?.symbolName(at: vaddr) ?? candidate.elf.symbolName(at: vaddr)).map(FrameName.fromSymbol)
            symbols[vaddr] = [SymbolizedFrame(name: symbol ?? "\(candidate.fileName)+0x" + String(vaddr, radix: 16))]
        }
        return symbols
    }

    // MARK: - 4. Stacks

    /// One table of distinct frames; each address becomes indices into it, each stack a run of them, root first,
    /// with one warning per module whose frames stayed unnamed above the allocator.
    func assemble(
        _ work: SymbolizeWork, frames: [UInt64: [SymbolizedFrame]], fresh: Set<UInt64>
    ) -> ([SymbolizedFrame], [Int32], [SymbolizedHeap.Stack], [(module: String, warning: String)]) {
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
        let pcFrames: [[Int32]] = work.pcs.map { pc in
            (frames[pc] ?? [SymbolizedFrame(name: "[unmapped]+0x" + String(pc, radix: 16))]).map(index)
        }
        var unnamed = UnnamedFrames(work, frames: frames, fresh: fresh)
        // Only needed when some module stayed unnamed (rarely): the common case pays nothing.
        let isAllocator: [Bool] = unnamed.modules.isEmpty ? [] : table.map { plumbing.level(of: $0.name) == .allocator }
        var stacks: [SymbolizedHeap.Stack] = []
        stacks.reserveCapacity(work.dump.stacks.count)
        var frameIndices: [Int32] = []
        frameIndices.reserveCapacity(work.stackPCs.count + work.stackPCs.count / 8)
        for (number, stack) in work.dump.stacks.enumerated() {
            let start = frameIndices.count
            unnamed.startStack()
            for position in stride(from: work.stackStarts[number + 1] - 1, through: work.stackStarts[number], by: -1) {
                let pc = Int(work.stackPCs[position])
                let chain = pcFrames[pc]
                if chain.count == 1 { frameIndices.append(chain[0]) } else { frameIndices.append(contentsOf: chain) }
                guard !unnamed.modules.isEmpty else { continue }
                unnamed.count(pc: pc, insideAllocator: chain.contains { isAllocator[Int($0)] }, bytes: stack.values.inuseBytes)
            }
            stacks.append(SymbolizedHeap.Stack(range: start..<frameIndices.count, values: stack.values))
        }
        return (table, frameIndices, stacks, unnamed.warnings(work, symbolizer: self))
    }

    /// The modules whose addresses stayed unnamed, and how many addresses and bytes of stacks each hides.
    struct UnnamedFrames {
        var modules: [String]
        /// The module of each address (index into `modules`), -1 for none.
        private var pcModule: [Int]
        private var bytes: [Double]
        private var pcs: [Set<Int>]
        private var counted = Set<Int>()
        private var insideAllocator = false

        /// Which module each address stayed unnamed in: named now (or without a local file) and still
        /// `module+0x...`.
        init(_ work: SymbolizeWork, frames: [UInt64: [SymbolizedFrame]], fresh: Set<UInt64>) {
            var unnamedModule: [UInt64: String] = [:]
            for (index, modulePCs) in work.perMapping {
                // [vdso], [vsyscall]: no file to name them.
                guard !work.sorted[index].path.hasPrefix("[") else { continue }
                let prefix = (work.sorted[index].path as NSString).lastPathComponent + "+0x"
                let cached = (work.resolved[work.sorted[index].path] ?? nil) != nil
                for pc in modulePCs where frames[pc]?.count == 1 && frames[pc]?[0].name.hasPrefix(prefix) == true
                    && (!cached || fresh.contains(pc))
                {
                    unnamedModule[pc] = work.sorted[index].path
                }
            }
            modules = Array(Set(unnamedModule.values)).sorted()
            let moduleIndex = Dictionary(uniqueKeysWithValues: modules.enumerated().map { ($1, $0) })
            pcModule = work.pcs.map { pc in unnamedModule[pc].flatMap { moduleIndex[$0] } ?? -1 }
            bytes = [Double](repeating: 0, count: modules.count)
            pcs = [Set<Int>](repeating: [], count: modules.count)
        }

        mutating func startStack() {
            counted.removeAll(keepingCapacity: true)
            insideAllocator = false
        }

        /// Counts an address of a stack, root first. Unnamed frames above the allocator (root side) are stored;
        /// a stack's bytes count once per module.
        mutating func count(pc: Int, insideAllocator allocatorFrame: Bool, bytes stackBytes: Double) {
            insideAllocator = insideAllocator || allocatorFrame
            let module = pcModule[pc]
            guard module >= 0, !insideAllocator else { return }
            pcs[module].insert(pc)
            if counted.insert(module).inserted { bytes[module] += stackBytes }
        }

        func warnings(_ work: SymbolizeWork, symbolizer: Symbolizer) -> [(module: String, warning: String)] {
            modules.enumerated().compactMap { m, module in
                guard !pcs[m].isEmpty else { return nil }
                return (
                    module,
                    "\(work.source): "
                        + symbolizer.unnamedWarning(
                            module: module, candidate: work.resolved[module] ?? nil, isMain: module == work.mainPath,
                            addresses: pcs[m].count, bytes: bytes[m])
                )
            }
        }
    }

    // MARK: - Warnings and files

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

    /// Fewer checked return addresses than this say nothing about a binary's build.
    static let fewestCallChecks = 8
    /// The share of checked return addresses that may follow no call instruction (a few are tail calls, PLT
    /// stubs or hand-written code) before the binary counts as another build.
    static let mostMissedCalls = 0.2

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
        if checks.count >= Symbolizer.fewestCallChecks, Double(misses) > Symbolizer.mostMissedCalls * Double(checks.count) {
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
            if !path.hasPrefix("["), FileManager.default.isReadableFile(atPath: path),
                let local = try? BinaryCandidate(path: path), local.elf.buildID != match.elf.buildID
            {
                alternate = local
            }
            return (match, alternate, nil)
        }
        var local: BinaryCandidate? = nil
        if !path.hasPrefix("["), FileManager.default.isReadableFile(atPath: path) {
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

    /// The mapping (index into `sorted`, ordered by start) that contains `pc`.
    static func find(_ pc: UInt64, in sorted: [MemoryMapping]) -> Int? {
        guard let index = sorted.lastIndex(atMost: pc, by: \.start) else { return nil }
        return sorted[index].contains(pc) ? index : nil
    }
}
