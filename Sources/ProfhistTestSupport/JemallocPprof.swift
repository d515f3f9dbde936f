import Foundation
import ProfhistKit
import SwiftProtobuf

/// Converts a jemalloc heap dump into a pprof profile the way the Rust crate `jemalloc_pprof` (Polar Signals;
/// GreptimeDB's `/debug/prof/mem?output=proto`) does, so the tests can feed profhist what such a service serves.
///
/// Written in Swift as test support, not by running the crate: the crate needs crates.io (not reachable here)
/// and a Rust process of its own; what it does to a dump is small and is restated here from its source
/// (`util/src/lib.rs`: `parse_jeheap`, `to_pprof_proto`; `mappings/src/lib.rs`):
/// - one sample type, `inuse_space`/`bytes`; period type `space`/`bytes`, period not set (0);
/// - one sample per `@` stack, its value the `t*:` line's bytes unsampled as jeprof does
///   (bytes / (1 - exp(-(bytes/count)/R))), truncated to an integer; per-thread lines are ignored;
/// - one mapping per `PT_LOAD` segment of each loaded object (main program first, as `dl_iterate_phdr` lists
///   them), written as memory 0..u64::MAX, file offset 0, the object's path and hex build-id;
/// - every address minus one, made file-relative (`address - 1 - load bias`, the ELF virtual address), one
///   location per distinct such address (ids from 1, no lines), pointing at the first segment containing it.
public enum JemallocPprof {
    struct Segment {
        var start: UInt64
        var end: UInt64
        var virtualAddress: UInt64
        var path: String
        var buildID: String?
    }

    /// Converts the dump at `dump` into a gzipped pprof profile at `output`.
    /// - Parameters:
    ///   - timeNanos: the profile's `time_nanos` (the crate writes the current time; here the dump's time).
    public static func convert(dump: URL, to output: URL, timeNanos: Int64) throws {
        let text = try String(contentsOf: dump, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let first = lines.first, first.hasPrefix("heap_v2/"), let rate = Double(first.dropFirst("heap_v2/".count)) else {
            throw FixtureError.failed("\(dump.path): not a heap_v2 dump")
        }
        lines.removeFirst()
        let segments = try loadedSegments(lines)
        var stacks: [(addresses: [UInt64], weight: Double)] = []
        var current: [UInt64]? = nil
        for line in lines {
            let words = line.trimmingCharacters(in: .whitespaces).split(separator: " ", omittingEmptySubsequences: true)
            if words.first == "@" {
                current = words.dropFirst().compactMap { UInt64($0.dropFirst(2), radix: 16) }
            }
            if words.count > 2, words[0] == "t*:", let addresses = current {
                current = nil
                let count = Double(words[1].dropLast()) ?? 0
                let bytes = Double(words[2]) ?? 0
                let ratio = (bytes / count) / rate
                // count 0 makes the crate's weight NaN (and its cast panic); jemalloc does not write such stacks
                // without prof_accum.
                let weight = count > 0 ? bytes / (1 - exp(-ratio)) : 0
                stacks.append((addresses, weight))
            }
        }
        let profile = makeProfile(stacks: stacks, segments: segments, timeNanos: timeNanos)
        let bytes: Data = try profile.serializedBytes()
        guard let gzipped = Gzip.compress(bytes) else { throw FixtureError.failed("gzip failed") }
        try gzipped.write(to: output)
    }

    /// The `PT_LOAD` segments of every file-backed object of `MAPPED_LIBRARIES`, placed where the process had
    /// them: load bias = the first mapping's start minus the virtual address of its file offset.
    static func loadedSegments(_ lines: [String]) throws -> [Segment] {
        guard let header = lines.firstIndex(of: "MAPPED_LIBRARIES:") else { throw FixtureError.failed("no MAPPED_LIBRARIES") }
        var seen = Set<String>()
        var result: [Segment] = []
        for line in lines[(header + 1)...] {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, let path = fields.last.map(String.init), path.hasPrefix("/"), !seen.contains(path) else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt64(range[0], radix: 16), let offset = UInt64(fields[2], radix: 16) else { continue }
            seen.insert(path)
            guard let elf = try? ELFFile(path: path), let vaddr = elf.virtualAddress(forFileOffset: offset) else { continue }
            let bias = start &- vaddr
            for segment in elf.segments {
                let memoryStart = bias &+ segment.virtualAddress
                result.append(
                    Segment(
                        start: memoryStart, end: memoryStart + segment.memorySize, virtualAddress: segment.virtualAddress, path: path,
                        buildID: elf.buildID))
            }
        }
        return result
    }

    static func makeProfile(stacks: [(addresses: [UInt64], weight: Double)], segments: [Segment], timeNanos: Int64) -> Perftools_Profiles_Profile {
        var profile = Perftools_Profiles_Profile()
        var strings: [String: Int64] = ["": 0]
        var table = [""]
        func intern(_ text: String) -> Int64 {
            if let known = strings[text] { return known }
            strings[text] = Int64(table.count)
            table.append(text)
            return Int64(table.count - 1)
        }
        var sampleType = Perftools_Profiles_ValueType()
        sampleType.type = intern("inuse_space")
        sampleType.unit = intern("bytes")
        profile.sampleType = [sampleType]
        var periodType = Perftools_Profiles_ValueType()
        periodType.type = intern("space")
        periodType.unit = intern("bytes")
        profile.periodType = periodType
        profile.timeNanos = timeNanos
        for (index, segment) in segments.enumerated() {
            var mapping = Perftools_Profiles_Mapping()
            mapping.id = UInt64(index + 1)
            mapping.memoryStart = 0
            mapping.memoryLimit = UInt64.max
            mapping.fileOffset = 0
            mapping.filename = intern(segment.path)
            mapping.buildID = segment.buildID.map { intern($0) } ?? 0
            profile.mapping.append(mapping)
        }
        var locationIDs: [UInt64: UInt64] = [:]
        for stack in stacks {
            var sample = Perftools_Profiles_Sample()
            sample.value = [Int64(stack.weight.rounded(.towardZero))]
            for address in stack.addresses {
                let pc = address - 1
                let found = segments.firstIndex { $0.start <= pc && $0.end > pc }
                let relative = found.map { pc - segments[$0].start + segments[$0].virtualAddress } ?? pc
                if let known = locationIDs[relative] {
                    sample.locationID.append(known)
                    continue
                }
                var location = Perftools_Profiles_Location()
                location.id = UInt64(profile.location.count + 1)
                location.mappingID = found.map { UInt64($0 + 1) } ?? 0
                location.address = relative
                profile.location.append(location)
                locationIDs[relative] = location.id
                sample.locationID.append(location.id)
            }
            profile.sample.append(sample)
        }
        profile.stringTable = table
        return profile
    }
}
