import Foundation

/// A decoded pprof profile with its tables indexed and checked: every string, location, function and mapping
/// id a sample uses resolves, or the profile is refused with a message naming the bad reference.
struct ProfileReader {
    let profile: Perftools_Profiles_Profile
    let path: String
    let sampleTypes: [(type: String, unit: String)]
    private let locations: [UInt64: Perftools_Profiles_Location]
    private let functions: [UInt64: Perftools_Profiles_Function]
    private let mappings: [UInt64: Perftools_Profiles_Mapping]

    init(_ profile: Perftools_Profiles_Profile, path: String) throws {
        self.profile = profile
        self.path = path
        if let first = profile.stringTable.first, !first.isEmpty {
            throw InputError.invalidProfile(path: path, message: "string_table[0] must be the empty string")
        }
        var types: [(String, String)] = []
        for valueType in profile.sampleType {
            types.append((try ProfileReader.string(profile, valueType.type, path), try ProfileReader.string(profile, valueType.unit, path)))
        }
        sampleTypes = types
        if sampleTypes.isEmpty { throw InputError.invalidProfile(path: path, message: "no sample_type") }
        locations = Dictionary(profile.location.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        functions = Dictionary(profile.function.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        mappings = Dictionary(profile.mapping.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    static func string(_ profile: Perftools_Profiles_Profile, _ index: Int64, _ path: String) throws -> String {
        guard index >= 0, index < profile.stringTable.count else {
            throw InputError.invalidProfile(path: path, message: "string index \(index) is outside string_table (\(profile.stringTable.count) strings)")
        }
        return profile.stringTable[Int(index)]
    }

    func string(_ index: Int64) throws -> String { try ProfileReader.string(profile, index, path) }

    /// Go's goroutine profile: one sample type, `goroutine` (count).
    var isGoroutineProfile: Bool { sampleTypes.count == 1 && sampleTypes[0].type == "goroutine" }

    /// Whether every location a sample uses names its functions (Go); else the profile is symbolized here.
    var isSymbolized: Bool {
        !profile.location.isEmpty && profile.location.allSatisfy { !$0.line.isEmpty }
    }

    func location(_ id: UInt64, sample: Int) throws -> Perftools_Profiles_Location {
        guard let location = locations[id] else {
            throw InputError.invalidProfile(path: path, message: "sample \(sample) refers to location \(id), which is not in the profile")
        }
        return location
    }

    func values(of sample: Perftools_Profiles_Sample, number: Int) throws -> [Int64] {
        guard sample.value.count == sampleTypes.count else {
            throw InputError.invalidProfile(
                path: path, message: "sample \(number) has \(sample.value.count) values for \(sampleTypes.count) sample types")
        }
        return sample.value
    }

    /// The frames of a symbolized location, outermost (the caller) first: pprof lists a location's lines
    /// innermost first, each later line the caller the earlier ones were inlined into.
    func frames(of location: Perftools_Profiles_Location) throws -> [SymbolizedFrame] {
        var frames: [SymbolizedFrame] = []
        for (index, line) in location.line.reversed().enumerated() {
            guard let function = functions[line.functionID] else {
                throw InputError.invalidProfile(
                    path: path, message: "location \(location.id) refers to function \(line.functionID), which is not in the profile")
            }
            let name = try string(function.name)
            let file = try string(function.filename)
            frames.append(
                SymbolizedFrame(
                    name: FrameName.normalize(name.isEmpty ? try string(function.systemName) : name),
                    file: file.isEmpty ? nil : file, line: line.line > 0 ? Int(clamping: line.line) : nil, inlined: index > 0))
        }
        return frames
    }

    /// `drop_frames` and `keep_frames` as whole-name regular expressions (pprof's semantics: a sample loses its
    /// outermost frame that matches drop_frames and not keep_frames, and every frame it called).
    func frameFilter() throws -> (drop: NSRegularExpression?, keep: NSRegularExpression?) {
        func compile(_ index: Int64, _ field: String) throws -> NSRegularExpression? {
            let pattern = try string(index)
            guard !pattern.isEmpty else { return nil }
            do {
                return try NSRegularExpression(pattern: "^(?:" + pattern + ")$")
            } catch {
                throw InputError.invalidProfile(path: path, message: "\(field) '\(pattern)' is not a regular expression")
            }
        }
        return (try compile(profile.dropFrames, "drop_frames"), try compile(profile.keepFrames, "keep_frames"))
    }

    /// A location's frames (outermost first) after `drop_frames`, and how it cuts the samples through it.
    struct PrunedLocation {
        var frames: [SymbolizedFrame]
        /// Its outermost frame matched: samples lose it and everything it called.
        var prune = false
        /// An inlined frame matched: the location keeps only the callers of that frame, samples lose its callees.
        var pruneBeneath = false
    }

    /// pprof's `Profile.Prune`, restated: per location, the outermost line whose function matches drop_frames
    /// (and not keep_frames) is found; then each sample, scanned from the root, is cut at the first such location
    /// after its first location that matched nothing (start-up frames are never cut, so no stack is emptied).
    func prunedLocations(_ filter: (drop: NSRegularExpression?, keep: NSRegularExpression?)) throws -> [UInt64: PrunedLocation] {
        func matches(_ regex: NSRegularExpression, _ name: String) -> Bool {
            regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
        }
        var result: [UInt64: PrunedLocation] = [:]
        for location in profile.location where !location.line.isEmpty {
            var entry = PrunedLocation(frames: try frames(of: location))
            if let drop = filter.drop, let cut = entry.frames.firstIndex(where: { frame in
                matches(drop, frame.name) && !(filter.keep.map { matches($0, frame.name) } ?? false)
            }) {
                // A location cut at its outermost line is left whole (samples that keep it, before their first
                // other frame, keep all of it); one cut at an inlined line keeps only its callers, everywhere.
                if cut == 0 {
                    entry.prune = true
                } else {
                    entry.pruneBeneath = true
                    entry.frames = Array(entry.frames[..<cut])
                }
            }
            result[location.id] = entry
        }
        return result
    }

    /// A sample's frames, root first, cut as `prunedLocations` says; locations without lines become
    /// `file+0xADDRESS` frames.
    func sampleFrames(_ sample: Perftools_Profiles_Sample, number: Int, pruned: [UInt64: PrunedLocation]) throws -> [SymbolizedFrame] {
        var frames: [SymbolizedFrame] = []
        var foundUser = false
        for id in sample.locationID.reversed() {
            let location = try location(id, sample: number)
            guard let entry = pruned[id] else {
                let name = mapping(location.mappingID).flatMap { try? string($0.filename) } ?? ""
                let module = name.isEmpty ? "[unmapped]" : (name as NSString).lastPathComponent
                frames.append(SymbolizedFrame(name: module + "+0x" + String(location.address, radix: 16)))
                foundUser = true
                continue
            }
            if !entry.prune && !entry.pruneBeneath {
                foundUser = true
            } else if foundUser {
                if entry.pruneBeneath { frames.append(contentsOf: entry.frames) }
                break
            }
            frames.append(contentsOf: entry.frames)
        }
        if frames.isEmpty { frames = [SymbolizedFrame(name: ProfileReader.noFrames)] }
        return frames
    }

    func mapping(_ id: UInt64) -> Perftools_Profiles_Mapping? { id == 0 ? nil : mappings[id] }

    /// The one frame of a sample that has none.
    static let noFrames = "[no frames]"
}

// MARK: - Heap

extension ProfileReader {
    /// The heap metrics of one sample.
    func heapValues(_ values: [Int64]) -> HeapValues {
        var result = HeapValues()
        for (index, type) in sampleTypes.enumerated() {
            if let field = PprofParser.heapField(type.type) { result[keyPath: field] += Double(values[index]) }
        }
        return result
    }

    /// A symbolized heap profile as the symbolizer's output: every sample a stack of named frames, root first.
    func symbolizedHeap() throws -> (HeapDump, SymbolizedHeap) {
        let pruned = try prunedLocations(try frameFilter())
        var table: [SymbolizedFrame] = []
        var tableIndex: [SymbolizedFrame: Int32] = [:]
        var frameIndices: [Int32] = []
        var stacks: [SymbolizedHeap.Stack] = []
        for (number, sample) in profile.sample.enumerated() {
            let values = heapValues(try self.values(of: sample, number: number))
            // A sample without locations (pprof allows it) still counts, on a frame of its own.
            let frames = try sampleFrames(sample, number: number, pruned: pruned)
            let start = frameIndices.count
            for frame in frames {
                if let known = tableIndex[frame] {
                    frameIndices.append(known)
                } else {
                    tableIndex[frame] = Int32(table.count)
                    frameIndices.append(Int32(table.count))
                    table.append(frame)
                }
            }
            stacks.append(SymbolizedHeap.Stack(range: start..<frameIndices.count, values: values))
        }
        let uses = profile.mapping.compactMap { mapping -> SymbolizedHeap.MappingUse? in
            guard let name = try? string(mapping.filename), !name.isEmpty else { return nil }
            return SymbolizedHeap.MappingUse(mappingPath: name, localPath: nil, binaryKey: nil, symbolizer: nil, fileName: nil)
        }
        let dump = HeapDump(
            format: .pprof, samplePeriod: UInt64(clamping: profile.period), header: nil, stacks: [], mappings: [],
            threadNames: [:], threadLineCount: 0)
        let symbolized = SymbolizedHeap(
            frames: table, frameIndices: frameIndices, stacks: stacks, mappings: uniqueUses(uses), newSymbols: [], warnings: [])
        return (dump, symbolized)
    }

    private func uniqueUses(_ uses: [SymbolizedHeap.MappingUse]) -> [SymbolizedHeap.MappingUse] {
        var seen = Set<String>()
        return uses.filter { seen.insert($0.mappingPath).inserted }
    }

    /// An unsymbolized heap profile as a dump of addresses, leaf first, for `Symbolizer`.
    ///
    /// A mapping with a real extent (`memory_start` < `memory_limit`, not 0..max) keeps its run-time addresses
    /// and file offset, like a line of `/proc/PID/maps`. `jemalloc_pprof` writes every mapping as 0..max with
    /// file-relative addresses (the ELF virtual address of the return address minus one): each such mapping is
    /// placed at an address range of its own, and each location's address plus one becomes the return address
    /// a jemalloc dump would hold, so the symbolizer sees what it sees for the dump.
    func addressHeap() throws -> (dump: HeapDump, skipped: Int) {
        var memory: [UInt64: MemoryMapping] = [:]
        var ordered: [MemoryMapping] = []
        for (index, mapping) in profile.mapping.enumerated() {
            let name = try string(mapping.filename)
            let buildID = try string(mapping.buildID)
            var entry = MemoryMapping(
                start: mapping.memoryStart, end: mapping.memoryLimit, permissions: "r-xp", offset: mapping.fileOffset, inode: 0,
                path: name, buildID: buildID.isEmpty ? nil : buildID.lowercased())
            if mapping.memoryStart >= mapping.memoryLimit || mapping.memoryLimit == UInt64.max {
                // A range of its own, 2^40 bytes each, far above user space.
                entry.start = (UInt64(index) + 1) << 40
                entry.end = entry.start + (1 << 40) - 1
                entry.offset = 0
                entry.addressesAreVirtual = true
            }
            memory[mapping.id] = entry
            ordered.append(entry)
        }
        var stacks: [HeapStack] = []
        stacks.reserveCapacity(profile.sample.count)
        var skipped = 0
        for (number, sample) in profile.sample.enumerated() {
            let values = heapValues(try self.values(of: sample, number: number))
            // No address, nothing to symbolize: left out, and counted in a warning.
            guard !sample.locationID.isEmpty else {
                skipped += 1
                continue
            }
            var addresses: [UInt64] = []
            addresses.reserveCapacity(sample.locationID.count)
            for id in sample.locationID {
                let location = try location(id, sample: number)
                if let mapping = memory[location.mappingID], mapping.addressesAreVirtual {
                    guard location.address < (1 << 40) - 1 else {
                        throw InputError.invalidProfile(
                            path: path, message: "location \(location.id): address 0x\(String(location.address, radix: 16)) is beyond any binary")
                    }
                    addresses.append(mapping.start + location.address + 1)
                } else {
                    addresses.append(location.address &+ 1)
                }
            }
            stacks.append(HeapStack(addresses: addresses, values: values))
        }
        let dump = HeapDump(
            format: .pprof, samplePeriod: UInt64(clamping: profile.period), header: nil, stacks: stacks, mappings: ordered,
            threadNames: [:], threadLineCount: 0)
        return (dump, skipped)
    }
}

// MARK: - Goroutines

extension ProfileReader {
    /// A goroutine profile as a task snapshot: each sample (goroutines with one stack) a group of live tasks,
    /// its frames root first with file and line.
    func goroutines() throws -> TaskSnapshot {
        let pruned = try prunedLocations(try frameFilter())
        var groups: [TaskGroup] = []
        for (number, sample) in profile.sample.enumerated() {
            let count = try values(of: sample, number: number)[0]
            let frames = try sampleFrames(sample, number: number, pruned: pruned)
            var metrics = TaskMetrics()
            metrics.liveTasks = count
            groups.append(TaskGroup(frames: frames.map { TaskFrame(name: $0.name, file: $0.file, line: $0.line) }, metrics: metrics))
        }
        let takenAt = profile.timeNanos > 0 ? profile.timeNanos / 1_000_000 : nil
        return TaskSnapshot(format: .goroutineProfile, takenAt: takenAt, groups: groups)
    }
}
