import Foundation
import ProfhistKit
import SwiftProtobuf

/// Builds and runs the tests' Go program (`Fixtures/leakygo/main.go`, standard library only) with Debian's
/// golang-go, and reads profiles through `go tool pprof -raw`: the oracle for every pprof number.
public enum GoFixtures {
    /// Whether `go` is on PATH.
    public static var goAvailable: Bool { Fixtures.available("go") }

    /// Whether the Go tests run: when go is installed, and always under CI (where a missing go must fail).
    public static var shouldRun: Bool { goAvailable || ProcessInfo.processInfo.environment["CI"] != nil }

    /// A private GOCACHE and GOPATH in `folder`, no module proxy: the build needs no network.
    static func environment(_ folder: URL) -> [String: String] {
        [
            "GOCACHE": folder.appendingPathComponent("gocache").path, "GOPATH": folder.appendingPathComponent("gopath").path,
            "GOPROXY": "off", "GO111MODULE": "off", "GOFLAGS": "", "CGO_ENABLED": "0",
            "PPROF_TMPDIR": folder.path, "HOME": folder.path,
        ]
    }

    static func requireGo() throws {
        guard goAvailable else {
            throw FixtureError.failed("go not found on PATH: install golang-go and golang-github-google-pprof-dev")
        }
    }

    /// Compiles `leakygo` into `folder/name`.
    public static func buildLeakyGo(in folder: URL, name: String = "leakygo") throws -> URL {
        try requireGo()
        let source = folder.appendingPathComponent("\(name)-src")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        let main = source.appendingPathComponent("main.go")
        if !FileManager.default.fileExists(atPath: main.path) {
            try FileManager.default.copyItem(at: Fixtures.sourceFolder.appendingPathComponent("leakygo/main.go"), to: main)
        }
        let output = folder.appendingPathComponent(name)
        let result = try Fixtures.run(
            "go", ["build", "-o", output.path, "main.go"], environment: environment(folder), currentDirectory: source)
        guard result.status == 0 else { throw FixtureError.failed("go build: \(result.stderr)") }
        return output
    }

    /// Runs the program once: its heap and goroutine profiles (`prefix.heap.pb.gz`, `prefix.goroutine.pb.gz`).
    public static func runLeakyGo(
        _ program: URL, prefix: URL, small: Int, big: Int, waiters: Int, seed: Int = 0
    ) throws -> (heap: URL, goroutines: URL) {
        let heap = URL(fileURLWithPath: prefix.path + ".heap.pb.gz")
        let goroutines = URL(fileURLWithPath: prefix.path + ".goroutine.pb.gz")
        let result = try Fixtures.run(
            program.path, [heap.path, goroutines.path, String(small), String(big), String(waiters), String(seed)])
        guard result.status == 0 else { throw FixtureError.failed("\(program.lastPathComponent): \(result.stderr)") }
        return (heap, goroutines)
    }

    /// `go tool pprof ARGS FILE`'s standard output.
    public static func pprof(_ arguments: [String], file: URL) throws -> String {
        try requireGo()
        let folder = file.deletingLastPathComponent()
        let result = try Fixtures.run("go", ["tool", "pprof"] + arguments + [file.path], environment: environment(folder))
        guard result.status == 0 else { throw FixtureError.failed("go tool pprof \(arguments.joined(separator: " ")): \(result.stderr)") }
        return result.stdout
    }
}

/// A profile as `go tool pprof -raw` prints it: sample types, and each sample's values and frames.
public struct PprofRaw: Sendable {
    /// `type/unit`, in the profile's order.
    public var sampleTypes: [String]
    /// Each sample's frames (function names, root first, inlined frames included) and values.
    public var samples: [(frames: [String], values: [Int64])]

    /// Runs `go tool pprof -raw` on `file` and reads its output.
    public static func read(_ file: URL) throws -> PprofRaw {
        try parse(try GoFixtures.pprof(["-raw"], file: file))
    }

    /// Reads `-raw` output: `Samples:` (a types line, then `values: location ids` lines, label lines between),
    /// then `Locations` (`id: 0xADDR M=n NAME FILE:LINE s=N`, each inlined caller on an indented line after).
    public static func parse(_ text: String) throws -> PprofRaw {
        var types: [String] = []
        var rawSamples: [([Int64], [Int])] = []
        var locations: [Int: [String]] = [:]
        var section = ""
        var current: Int? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("Samples:") || line.hasPrefix("Locations") || line.hasPrefix("Mappings") {
                section = String(line.prefix { $0 != ":" && $0 != " " })
                continue
            }
            if section == "Samples", types.isEmpty, !trimmed.isEmpty {
                types = trimmed.split(separator: " ").map(String.init)
            } else if section == "Samples", let colon = trimmed.firstIndex(of: ":") {
                let values = trimmed[..<colon].split(separator: " ").compactMap { Int64($0) }
                guard values.count == types.count, !values.isEmpty else { continue }  // a label line
                rawSamples.append((values, trimmed[trimmed.index(after: colon)...].split(separator: " ").compactMap { Int($0) }))
            } else if section == "Locations", !trimmed.isEmpty {
                // A location's first line starts `ID:`; its inlined callers follow on lines of their own.
                if let colon = trimmed.firstIndex(of: ":"), let id = Int(trimmed[..<colon]) {
                    current = id
                    // `0xADDR`, `M=n` (when mapped) and `[F]` (when folded), then the first line's function.
                    var rest = trimmed[trimmed.index(after: colon)...].split(separator: " ").map(String.init)
                    if rest.first?.hasPrefix("0x") == true { rest.removeFirst() }
                    if rest.first?.hasPrefix("M=") == true { rest.removeFirst() }
                    if rest.first == "[F]" { rest.removeFirst() }
                    locations[id] = rest.isEmpty ? [] : [functionName(rest.joined(separator: " "))]
                } else if let current {
                    locations[current, default: []].append(functionName(trimmed))
                }
            }
        }
        let samples = try rawSamples.map { values, ids -> ([String], [Int64]) in
            var frames: [String] = []
            for id in ids.reversed() {
                guard let names = locations[id] else { throw FixtureError.failed("pprof -raw: no location \(id)") }
                frames.append(contentsOf: names.reversed())
            }
            return (frames, values)
        }
        return PprofRaw(sampleTypes: types, samples: samples)
    }

    /// `NAME FILE:LINE s=N` → NAME (names may hold spaces; the file:line and s= fields are the last two).
    static func functionName(_ text: String) -> String {
        var parts = text.split(separator: " ").map(String.init)
        if parts.last?.hasPrefix("s=") == true { parts.removeLast() }
        if parts.count > 1, let last = parts.last, last.contains(":"), Int(last.split(separator: ":").last ?? "") != nil {
            parts.removeLast()
        }
        return parts.joined(separator: " ")
    }

    /// Values summed per stack (frames joined by `;`, root first), as profhist merges samples.
    public func byStack() -> [String: [Int64]] {
        var result: [String: [Int64]] = [:]
        for sample in samples {
            let key = sample.frames.joined(separator: ";")
            var row = result[key] ?? Array(repeating: 0, count: sampleTypes.count)
            for index in row.indices { row[index] += sample.values[index] }
            result[key] = row
        }
        return result
    }

    /// The total of one sample type.
    public func total(_ type: String) -> Int64 {
        guard let index = sampleTypes.firstIndex(where: { $0.hasPrefix(type + "/") }) else { return 0 }
        return samples.reduce(0) { $0 + $1.values[index] }
    }
}

/// Rewrites a real pprof profile (decode, change, encode, gzip): for fields a program cannot be made to write,
/// such as `drop_frames`, which Go leaves empty.
public enum PprofRewrite {
    public static func rewrite(_ input: URL, to output: URL, _ change: (inout Perftools_Profiles_Profile) -> Void) throws {
        let raw = try Data(contentsOf: input)
        guard case .success(let bytes) = Gzip.decompress(raw) else { throw FixtureError.failed("\(input.path): not gzip") }
        var profile = try Perftools_Profiles_Profile(serializedBytes: bytes)
        change(&profile)
        let encoded: Data = try profile.serializedBytes()
        guard let gzipped = Gzip.compress(encoded) else { throw FixtureError.failed("gzip failed") }
        try gzipped.write(to: output)
    }

    /// Appends `text` to the string table and returns its index.
    public static func intern(_ text: String, in profile: inout Perftools_Profiles_Profile) -> Int64 {
        if let index = profile.stringTable.firstIndex(of: text) { return Int64(index) }
        profile.stringTable.append(text)
        return Int64(profile.stringTable.count - 1)
    }
}
