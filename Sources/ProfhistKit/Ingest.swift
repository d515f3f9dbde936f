import Foundation

/// Input formats `ingest` reads; `auto` looks at the first bytes.
public enum InputFormat: String, CaseIterable, Sendable {
    case auto
    /// jemalloc heap dumps (heap_v2, or the legacy `heap profile:`).
    case jemalloc
    /// tokio-console's `WatchUpdates` stream as protobuf JSON (grpcurl's output).
    case console
    /// tokio `Handle::dump()` output.
    case taskdump
    /// console-subscriber recordings (`TOKIO_CONSOLE_RECORD_PATH`).
    case recording
    /// pprof `profile.proto`, gzipped or not: heap profiles (Go, `jemalloc_pprof`) and Go goroutine profiles.
    case pprof

    /// Detects the format of the file at `path` from its first bytes.
    /// - Throws: `InputError` when the file cannot be read, is empty, or is in no known format.
    public static func detect(path: String) throws -> InputFormat {
        try detect(InputSource.open(path: path))
    }

    /// Detects the format of `input` from its first bytes, which stay in `input` for the parser: a pipe is read once.
    /// - Throws: `InputError` when the input cannot be read, is empty, or is in no known format.
    public static func detect(_ input: InputSource) throws -> InputFormat {
        let path = input.path
        let prefix = Data(try input.peek(4096))
        if prefix.isEmpty { throw InputError.empty(path: path) }
        if JemallocHeapParser.recognizes(prefix) { return .jemalloc }
        if ConsoleRecordingParser.recognizes(prefix) { return .recording }
        if TokioConsoleParser.recognizes(prefix) { return .console }
        if TaskDumpParser.recognizes(prefix) { return .taskdump }
        if PprofParser.recognizes(prefix) { return .pprof }
        let firstLine = prefix.prefix { $0 != 0x0A }
        let quoted = firstLine.withUnsafeBytes { InputError.quote($0.bindMemory(to: UInt8.self)) }
        throw InputError.unknownFormat(path: path, firstLine: quoted)
    }
}

/// Runs one file through parse, symbolize and store.
public struct IngestPipeline {
    /// Opens the store on first use, so a run whose every file is bad never creates one.
    public let openStore: () throws -> Store
    public var binaries: [BinaryCandidate]
    public var llvm: LLVMSymbolizer?
    public var plumbing = Plumbing()
    /// Where separate debug files are looked for (`--debug-dir`, then `/usr/lib/debug`).
    public var debugFiles = DebugFileLocator()
    /// Modules already warned about (unnamed frames): one warning per module for all the files of a pipeline.
    private let warnedModules = WarnedModules()
    /// Told what the ingest is doing (for a progress line on a terminal).
    public var progress: (@Sendable (String) -> Void)?

    public init(openStore: @escaping () throws -> Store, binaries: [BinaryCandidate], llvm: LLVMSymbolizer?) {
        self.openStore = openStore
        self.binaries = binaries
        self.llvm = llvm
    }

    /// The result of one file, with the warnings to show the user.
    public struct Report: Sendable {
        public var outcome: IngestOutcome
        public var warnings: [String]
        public var seconds: Double
        public var format: SnapshotFormat
        public var kind: SnapshotKind { format.kind }
        /// The run, time and order the snapshot was given.
        public var placement: SnapshotPlacement
    }

    /// Ingests the file at `path`.
    /// - Throws: `InputError` for a bad file (nothing written), `StoreError` for a store failure (nothing written).
    public func ingest(path: String, format: InputFormat, options: IngestOptions) throws -> Report {
        let started = Date()
        let input = try InputSource.open(path: path)
        defer { input.close() }
        let detected = format == .auto ? try InputFormat.detect(input) : format
        var options = options
        if options.takenAt == nil {
            // The file's time: refused when far in the future (a wrong clock would make it the newest snapshot for good).
            let time = input.modificationTime ?? Int64(Date().timeIntervalSince1970 * 1000)
            try TimeCheck.refuseFuture(time, path: path, source: "modification time")
            options.takenAt = time
            options.takenAtIsDefault = true
        }
        switch detected {
        case .auto, .jemalloc:
            progress?("\(path): parsing")
            var clock = PhaseClock()
            // A --binary with DWARF will need llvm-symbolizer: start it now, so loading LLVM overlaps the parse.
            let prestarted = binaries.contains { $0.elf.hasDebugInfo } ? llvm?.prestart() : nil
            defer { prestarted?.cancel() }
            let parsed = try JemallocHeapParser().parse(input: input)
            clock.lap("parse")
            let store = try openStore()
            let ingestor = HeapIngestor(store: store, plumbing: plumbing)
            let placement = SnapshotPlacement.of(path: path, options: options)
            if let existing = try ingestor.existingSnapshot(digest: parsed.digest, build: options.build, placement: placement) {
                return Report(
                    outcome: .skipped(existingSnapshotID: existing), warnings: [], seconds: 0,
                    format: .heap(parsed.dump.format), placement: placement)
            }
            var symbolizer = Symbolizer(binaries: binaries, llvm: llvm)
            symbolizer.debugFiles = debugFiles
            symbolizer.plumbing = plumbing
            symbolizer.prestarted = prestarted
            progress?("\(path): symbolizing \(parsed.dump.stacks.count) stacks")
            let symbolized = try symbolizer.symbolize(parsed.dump, source: path, cache: store)
            clock.lap("symbolize")
            progress?("\(path): storing")
            let outcome = try ingestor.store(parsed, symbolized: symbolized, path: path, options: options)
            clock.lap("store")
            clock.report(path)
            return Report(
                outcome: outcome,
                warnings: symbolized.warnings + symbolized.unnamedModules.filter { warnedModules.first($0.module) }.map(\.warning),
                seconds: Date().timeIntervalSince(started),
                format: .heap(parsed.dump.format), placement: placement)
        case .console:
            progress?("\(path): reading the console stream")
            let parsed = try TokioConsoleParser().parse(input: input)
            return try storeTasks(parsed.snapshot, digest: parsed.digest, byteCount: parsed.byteCount, path: path, options: options, started: started)
        case .taskdump:
            progress?("\(path): reading the task dump")
            let parsed = try TaskDumpParser().parse(input: input)
            return try storeTasks(parsed.snapshot, digest: parsed.digest, byteCount: parsed.byteCount, path: path, options: options, started: started)
        case .recording:
            progress?("\(path): replaying the recording")
            let parsed = try ConsoleRecordingParser().parse(input: input)
            return try storeTasks(parsed.snapshot, digest: parsed.digest, byteCount: parsed.byteCount, path: path, options: options, started: started)
        case .pprof:
            progress?("\(path): reading the pprof profile")
            return try ingestPprof(input: input, options: options, started: started)
        }
    }

    /// A pprof profile: a goroutine profile is stored as a task snapshot; a heap profile goes through the heap
    /// path (symbolized first when the profile has only addresses).
    private func ingestPprof(input: InputSource, options: IngestOptions, started: Date) throws -> Report {
        let path = input.path
        let parsed = try PprofParser().parse(input: input)
        var options = options
        if options.takenAtIsDefault, let time = parsed.takenAt {
            // The profile's own time (time_nanos) beats the file's modification time, with the same future check.
            try TimeCheck.refuseFuture(time, path: path, source: "time in the profile")
            options.takenAt = time
        }
        // pprof carries no process id: without --run, each file is its own run, as for task snapshots.
        if options.run == nil {
            options.run = "file-" + ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        }
        switch parsed.content {
        case .goroutines(var snapshot):
            snapshot.warnings += parsed.warnings
            return try storeTasks(snapshot, digest: parsed.digest, byteCount: parsed.byteCount, path: path, options: options, started: started)
        case .heap(let dump, let named):
            let store = try openStore()
            let ingestor = HeapIngestor(store: store, plumbing: plumbing)
            let placement = SnapshotPlacement.of(path: path, options: options)
            if let existing = try ingestor.existingSnapshot(digest: parsed.digest, build: options.build, placement: placement) {
                return Report(
                    outcome: .skipped(existingSnapshotID: existing), warnings: [], seconds: 0, format: .heap(.pprof),
                    placement: placement)
            }
            var symbolized: SymbolizedHeap
            var unnamed: [String] = []
            if let named {
                symbolized = named
            } else {
                progress?("\(path): symbolizing \(dump.stacks.count) stacks")
                var symbolizer = Symbolizer(binaries: binaries, llvm: llvm)
                symbolizer.debugFiles = debugFiles
                symbolizer.plumbing = plumbing
                symbolized = try symbolizer.symbolize(dump, source: path, cache: store)
                unnamed = symbolized.unnamedModules.filter { warnedModules.first($0.module) }.map(\.warning)
            }
            symbolized.warnings = parsed.warnings + symbolized.warnings
            let result = JemallocHeapParser.Result(dump: dump, digest: parsed.digest, byteCount: parsed.byteCount)
            let outcome = try ingestor.store(result, symbolized: symbolized, path: path, options: options)
            return Report(
                outcome: outcome, warnings: symbolized.warnings + unnamed, seconds: Date().timeIntervalSince(started),
                format: .heap(.pprof), placement: placement)
        }
    }

    private func storeTasks(
        _ snapshot: TaskSnapshot, digest: String, byteCount: Int, path: String, options: IngestOptions, started: Date
    ) throws -> Report {
        if options.takenAtIsDefault, let time = snapshot.takenAt {
            try TimeCheck.refuseFuture(time, path: path, source: "time in the data")
        }
        let store = try openStore()
        let ingestor = TaskIngestor(store: store, plumbing: plumbing)
        let outcome = try ingestor.store(snapshot, digest: digest, byteCount: byteCount, path: path, options: options)
        return Report(
            outcome: outcome, warnings: snapshot.warnings.map { "\(path): \($0)" }, seconds: Date().timeIntervalSince(started),
            format: .tasks(snapshot.format),
            placement: ingestor.placement(of: snapshot, path: path, options: options))
    }
}

/// The format of an ingested file, by the kind of snapshot it made.
public enum SnapshotFormat: Sendable, Equatable {
    case heap(HeapDump.Format)
    case tasks(TaskSnapshot.Format)

    public var kind: SnapshotKind {
        switch self {
        case .heap: return .heap
        case .tasks: return .tasks
        }
    }

    /// The name the store's `snapshot.format` column holds.
    public var name: String {
        switch self {
        case .heap(let format): return format.rawValue
        case .tasks(let format): return format.rawValue
        }
    }

    /// What a stored snapshot holds, for the line `ingest` prints: "120 stacks, 3.2 MiB in use", or
    /// "7 await stacks, 9 live tasks" (task dumps group by await stack, the other task formats by location).
    public func summary(stacks: Int, total: Double) -> String {
        switch self {
        case .heap: return "\(stacks) stacks, \(ByteCount.human(total)) in use"
        case .tasks(let format):
            return "\(stacks) \(format == .taskDump ? "await stacks" : "locations"), \(Int64(total)) live tasks"
        }
    }
}

/// Phase times of one ingest, printed to stderr when `PROFHIST_TIMINGS` is set (for benchmarks and profiling).
struct PhaseClock {
    private static let enabled = ProcessInfo.processInfo.environment["PROFHIST_TIMINGS"] != nil
    private var last = DispatchTime.now().uptimeNanoseconds
    private var laps: [(String, Double)] = []

    mutating func lap(_ name: String) {
        guard PhaseClock.enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        laps.append((name, Double(now - last) / 1e6))
        last = now
    }

    func report(_ path: String) {
        guard PhaseClock.enabled else { return }
        let text = laps.map { "\($0.0) \(String(format: "%.1f", $0.1)) ms" }.joined(separator: ", ")
        StandardStreams.writeError("timings: \(path): \(text)")
    }
}

/// The modules a pipeline has warned about, shared by its copies.
final class WarnedModules: @unchecked Sendable {
    private let lock = NSLock()
    private var seen = Set<String>()

    /// Whether `module` is new (and remembers it).
    func first(_ module: String) -> Bool { lock.withLock { seen.insert(module).inserted } }
}
