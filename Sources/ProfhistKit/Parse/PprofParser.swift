import Crypto
import Foundation
import SwiftProtobuf

/// Reads pprof profiles (`profile.proto`, gzipped or not): heap profiles become heap snapshots, goroutine
/// profiles task snapshots.
///
/// A heap profile whose locations carry no functions (Rust's `jemalloc_pprof`: raw addresses, one mapping per
/// binary with its build-id) becomes a `HeapDump` of addresses, symbolized by `Symbolizer` exactly as a
/// jemalloc dump is, so the same program's stacks get the same ids either way. A symbolized profile (Go) keeps
/// its names and file:line.
public struct PprofParser {
    /// What a profile holds.
    public enum Content: Sendable {
        /// A heap profile; `symbolized` is set when the profile named its own frames.
        case heap(dump: HeapDump, symbolized: SymbolizedHeap?)
        /// A goroutine profile: one task per goroutine, grouped by stack.
        case goroutines(TaskSnapshot)
    }

    public struct Result: Sendable {
        public var content: Content
        public var digest: String
        public var byteCount: Int
        /// When the profile says it was taken (`time_nanos`), epoch milliseconds.
        public var takenAt: Int64?
        public var warnings: [String]
    }

    /// Where a sample type of a heap profile is stored, or nil for a type profhist does not store.
    static func heapField(_ type: String) -> WritableKeyPath<HeapValues, Double>? {
        switch type {
        case "inuse_space": return \.inuseBytes
        case "inuse_objects": return \.inuseObjects
        case "alloc_space": return \.allocBytes
        case "alloc_objects": return \.allocObjects
        default: return nil
        }
    }

    /// The most a gzipped profile may inflate to.
    static let inflateLimit = 1 << 32

    public init() {}

    /// Whether the first bytes look like a pprof profile: gzip (the convention), or an encoded `Profile` whose
    /// first field is a `ValueType`: `sample_type` (field 1) as prost writes it, or `period_type` (field 11) as
    /// Go writes it. Checked after every text format.
    public static func recognizes(_ prefix: Data) -> Bool {
        if Gzip.isGzip(prefix) { return true }
        // 0x0A / 0x5A: field 1 / 11, length-delimited; a short length; then a ValueType's field 1 or 2 (0x08, 0x10).
        let bytes = [UInt8](prefix.prefix(3))
        return bytes.count == 3 && (bytes[0] == 0x0A || bytes[0] == 0x5A) && bytes[1] < 0x80
            && (bytes[2] == 0x08 || bytes[2] == 0x10)
    }

    /// Reads and decodes the profile at `path`.
    /// - Throws: `InputError` for a file that cannot be read, does not inflate or does not decode.
    public func parse(path: String) throws -> Result {
        let input = try InputSource.open(path: path)
        defer { input.close() }
        return try parse(input: input)
    }

    /// Reads and decodes the profile in `input` (already inflated when it was gzipped; a pipe is read once).
    /// - Throws: `InputError` for an input that cannot be read, does not inflate or does not decode.
    public func parse(input: InputSource) throws -> Result {
        let path = input.path
        let raw = try input.readAll(limit: PprofParser.inflateLimit)
        if raw.isEmpty { throw InputError.empty(path: path) }
        let profile = try PprofParser.decode(raw, path: path)
        let digest = SHA256.hash(data: raw).map { String(format: "%02x", $0) }.joined()
        let reader = try ProfileReader(profile, path: path)
        let takenAt = profile.timeNanos > 0 ? profile.timeNanos / 1_000_000 : nil
        if reader.isGoroutineProfile {
            let snapshot = try reader.goroutines()
            return Result(content: .goroutines(snapshot), digest: digest, byteCount: raw.count, takenAt: takenAt, warnings: [])
        }
        var warnings: [String] = []
        let ignored = reader.sampleTypes.filter { PprofParser.heapField($0.type) == nil }
        if !ignored.isEmpty {
            warnings.append(
                "\(path): sample types not stored (profhist stores inuse_space, inuse_objects, alloc_space, alloc_objects): "
                    + ignored.map { "\($0.type) (\($0.unit))" }.joined(separator: ", "))
        }
        guard ignored.count < reader.sampleTypes.count else {
            throw InputError.invalidProfile(
                path: path, message: "no heap sample type (inuse_space, inuse_objects, alloc_space, alloc_objects) and not a goroutine profile")
        }
        let content: Content
        if reader.isSymbolized {
            let (dump, symbolized) = try reader.symbolizedHeap()
            content = .heap(dump: dump, symbolized: symbolized)
        } else {
            let (dump, skipped) = try reader.addressHeap()
            if skipped > 0 { warnings.append("\(path): \(skipped) samples without locations left out (no address to symbolize)") }
            content = .heap(dump: dump, symbolized: nil)
        }
        return Result(content: content, digest: digest, byteCount: raw.count, takenAt: takenAt, warnings: warnings)
    }

    /// Inflates (when gzipped) and decodes a profile.
    static func decode(_ raw: Data, path: String) throws -> Perftools_Profiles_Profile {
        var bytes = raw
        if Gzip.isGzip(raw) {
            switch Gzip.decompress(raw, limit: inflateLimit) {
            case .success(let inflated): bytes = inflated
            case .failure(.tooLarge(let limit)):
                throw InputError.invalidProfile(path: path, message: "inflates to more than \(limit) bytes")
            case .failure(.outOfMemory): throw InputError.invalidProfile(path: path, message: "out of memory while inflating")
            case .failure(.corrupt): throw InputError.invalidProfile(path: path, message: "corrupt or truncated gzip data")
            }
        }
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 16
            return try Perftools_Profiles_Profile(serializedBytes: bytes, options: options)
        } catch {
            throw InputError.invalidProfile(path: path, message: "not a pprof profile.proto message (\(error))")
        }
    }
}
