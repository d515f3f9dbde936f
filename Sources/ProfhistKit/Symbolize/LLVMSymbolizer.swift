import Foundation

/// One frame that an address symbolized to. An address inside inlined code yields several: the function it
/// was compiled into first (outermost), then each inlined callee down to the innermost.
public struct SymbolizedFrame: Hashable, Sendable {
    /// The normalized function name (see `FrameName`), the identity of the frame.
    public var name: String
    public var file: String?
    public var line: Int?
    /// Whether this frame was inlined into the frame before it.
    public var inlined: Bool

    public init(name: String, file: String? = nil, line: Int? = nil, inlined: Bool = false) {
        self.name = name
        self.file = file
        self.line = line
        self.inlined = inlined
    }
}

/// Runs `llvm-symbolizer` once per binary with every address of that binary, and reads its JSON output
/// (inline chains, demangled names, file and line from DWARF).
public struct LLVMSymbolizer: Sendable {
    public let executable: String

    public init(executable: String) { self.executable = executable }

    /// Finds llvm-symbolizer: `$PROFHIST_SYMBOLIZER` (a path, or `none` to disable), then `llvm-symbolizer` on
    /// `$PATH`, then versioned installs (`llvm-symbolizer-14`, `/usr/lib/llvm-*/bin`).
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> LLVMSymbolizer? {
        if let configured = environment["PROFHIST_SYMBOLIZER"], !configured.isEmpty {
            if configured == "none" { return nil }
            return FileManager.default.isExecutableFile(atPath: configured) ? LLVMSymbolizer(executable: configured) : nil
        }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        var candidates = path.split(separator: ":").map { "\($0)/llvm-symbolizer" }
        for version in (10...25).reversed() {
            candidates.append("/usr/bin/llvm-symbolizer-\(version)")
            candidates.append("/usr/lib/llvm-\(version)/bin/llvm-symbolizer")
        }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            return LLVMSymbolizer(executable: candidate)
        }
        return nil
    }

    /// An llvm-symbolizer started before its addresses are known, so that loading LLVM (20 ms, far more when
    /// the machine is busy or its pages were reclaimed) overlaps parsing the dump. Used at most once; killed
    /// when unused.
    public final class Prestarted: @unchecked Sendable {
        private var child: ChildProcess?
        private let lock = NSLock()

        fileprivate init(_ child: ChildProcess) { self.child = child }

        fileprivate func take() -> ChildProcess? { lock.withLock { defer { child = nil }; return child } }

        /// Stops the process if it was not used.
        public func cancel() { take()?.cancel() }

        deinit { cancel() }
    }

    /// Starts llvm-symbolizer now, for a later `symbolize(_:using:)`; nil if it cannot start (the later call
    /// then starts its own).
    public func prestart() -> Prestarted? {
        (try? ChildProcess(executable, LLVMSymbolizer.arguments)).map(Prestarted.init)
    }

    /// Symbolizes the ELF virtual addresses of several binaries with one llvm-symbolizer process (LLVM loads
    /// once; each input line names its file), keyed by binary path. One process measured faster than one per
    /// binary run side by side on a 2-core machine.
    /// - Returns: for each binary and address, its frames outermost first; an address llvm-symbolizer could not
    ///   name is absent from the result.
    /// - Throws: `SymbolizeError.symbolizerFailed` when the process cannot run or its output cannot be read.
    public func symbolize(
        _ requests: [(binary: String, addresses: [UInt64])], using prestarted: Prestarted? = nil
    ) throws -> [String: [UInt64: [SymbolizedFrame]]] {
        let requests = requests.filter { !$0.addresses.isEmpty }
        guard !requests.isEmpty else { return [:] }
        let label = requests.count == 1 ? requests[0].binary : "\(requests.count) binaries"
        // llvm-symbolizer reads `"FILE" ADDRESS` per line; a path with a double quote or a newline cannot be
        // written so and gets a process of its own with --obj.
        func quotable(_ path: String) -> Bool { !path.contains("\"") && !path.contains("\n") }
        var result: [String: [UInt64: [SymbolizedFrame]]] = [:]
        for request in requests where !quotable(request.binary) {
            let output = try run(arguments: ["--obj=" + request.binary], input: Self.addressLines(request.addresses), label: request.binary)
            let binaries = Array(repeating: request.binary, count: request.addresses.count)
            result[request.binary] = try parse(output, binaries: binaries, label: request.binary)[request.binary]
        }
        var text = ""
        var order: [String] = []
        for request in requests where quotable(request.binary) {
            for address in request.addresses {
                text += "\"\(request.binary)\" 0x" + String(address, radix: 16) + "\n"
                order.append(request.binary)
            }
        }
        guard !order.isEmpty else { return result }
        let output = try run(arguments: [], input: text, label: label, prestarted: prestarted)
        result.merge(try parse(output, binaries: order, label: label)) { a, _ in a }
        return result
    }

    private static func addressLines(_ addresses: [UInt64]) -> String {
        addresses.map { "0x" + String($0, radix: 16) }.joined(separator: "\n") + "\n"
    }

    /// The arguments of every run; a run for one binary adds `--obj=PATH`.
    private static let arguments = ["--output-style=JSON", "--inlining", "--demangle", "--functions=linkage"]

    /// Runs llvm-symbolizer with `input` on stdin (or hands it to `prestarted`) and returns its stdout.
    private func run(arguments: [String], input text: String, label: String, prestarted: Prestarted? = nil) throws -> Data {
        let output: ChildProcess.Output
        if arguments.isEmpty, let child = prestarted?.take() {
            output = child.finish(input: text)
        } else {
            do {
                output = try ChildProcess.run(executable, arguments + LLVMSymbolizer.arguments, input: text)
            } catch {
                throw SymbolizeError.symbolizerFailed(tool: executable, path: label, reason: "cannot start: \(error)")
            }
        }
        guard output.status == 0 else {
            let message = String(decoding: output.stderr.prefix(300), as: UTF8.self)
            throw SymbolizeError.symbolizerFailed(tool: executable, path: label, reason: "exit status \(output.status): \(message)")
        }
        let data = output.stdout
        return data
    }

    /// One line of llvm-symbolizer's JSON output (its keys are capitalised).
    private struct Entry: Decodable {
        var address: String?
        var symbol: [Symbol]?

        enum CodingKeys: String, CodingKey {
            case address = "Address"
            case symbol = "Symbol"
        }
    }

    private struct Symbol: Decodable {
        var functionName: String?
        var fileName: String?
        var line: Int?

        enum CodingKeys: String, CodingKey {
            case functionName = "FunctionName"
            case fileName = "FileName"
            case line = "Line"
        }
    }

    /// Reads the JSON lines of llvm-symbolizer: one per input line, in order, so `binaries[i]` is the file of
    /// line i.
    func parse(_ data: Data, binaries: [String], label: String) throws -> [String: [UInt64: [SymbolizedFrame]]] {
        var result: [String: [UInt64: [SymbolizedFrame]]] = [:]
        var lineIndex = 0
        let decoder = JSONDecoder()
        var lineStart = data.startIndex
        var nameCache: [String: String] = [:]
        while lineStart < data.endIndex {
            let lineEnd = data[lineStart...].firstIndex(of: 0x0A) ?? data.endIndex
            defer { lineStart = lineEnd < data.endIndex ? lineEnd + 1 : data.endIndex }
            guard lineEnd > lineStart else { continue }
            guard lineIndex < binaries.count else {
                throw SymbolizeError.symbolizerFailed(tool: executable, path: label, reason: "more output lines than addresses")
            }
            let binary = binaries[lineIndex]
            lineIndex += 1
            let entry: Entry
            do {
                entry = try decoder.decode(Entry.self, from: data[lineStart..<lineEnd])
            } catch {
                throw SymbolizeError.symbolizerFailed(tool: executable, path: label, reason: "unreadable output: \(error)")
            }
            guard let addressText = entry.address, let address = UInt64(addressText.dropFirst(2), radix: 16),
                let symbols = entry.symbol
            else { continue }
            var frames: [SymbolizedFrame] = []
            // llvm-symbolizer lists the innermost inlined frame first; we store outermost first.
            for (index, symbol) in symbols.reversed().enumerated() {
                guard let raw = symbol.functionName, !raw.isEmpty, raw != "??" else { continue }
                let name: String
                if let cached = nameCache[raw] { name = cached } else {
                    // An older llvm-symbolizer can leave a name it cannot demangle (some Rust v0 forms) as is.
                    name = raw.hasPrefix("_R") || raw.hasPrefix("_Z") ? FrameName.fromSymbol(raw) : FrameName.normalize(raw)
                    nameCache[raw] = name
                }
                let file = (symbol.fileName?.isEmpty ?? true) || symbol.fileName == "??" ? nil : symbol.fileName
                let line = (symbol.line ?? 0) > 0 ? symbol.line : nil
                frames.append(SymbolizedFrame(name: name, file: file, line: line, inlined: index > 0))
            }
            if !frames.isEmpty { result[binary, default: [:]][address] = frames }
        }
        return result
    }
}
