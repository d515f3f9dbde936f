import Foundation

/// A heap profile as read from a jemalloc dump: every distinct stack with its unsampled values, and the
/// process's memory map, before symbolization.
public struct HeapDump: Sendable {
    /// The text format the dump was written in.
    public enum Format: String, Sendable {
        /// jemalloc 4.0 to 5.3.x: `heap_v2/R`, per-thread lines, `MAPPED_LIBRARIES`.
        case jemallocHeapV2 = "jemalloc_heap_v2"
        /// gperftools and jemalloc 3.x: `heap profile: ...` and one line per stack.
        case legacyHeapProfile = "heap_profile"
        /// pprof's `profile.proto` heap profile (Go's `/debug/pprof/heap`, Rust's `jemalloc_pprof`).
        case pprof = "pprof"
    }

    public var format: Format
    /// The mean sampling interval R in bytes (`2^lg_prof_sample`); 0 when the values are not sampled.
    public var samplePeriod: UInt64
    /// The dump's own process totals (the header's `t*:` line), unsampled; nil for the legacy format.
    public var header: HeapValues?
    /// Distinct address stacks, in order of first appearance.
    public var stacks: [HeapStack]
    /// The executable and library mappings of the process (from `MAPPED_LIBRARIES`).
    public var mappings: [MemoryMapping]
    /// Names that the header gave to jemalloc's thread ids.
    public var threadNames: [Int: String]
    /// How many per-thread lines the stacks carried (they repeat the `t*:` values split by thread).
    public var threadLineCount: Int

    /// The sum of all stacks' unsampled in-use values: jeprof's "Total".
    public var total: HeapValues {
        stacks.reduce(into: HeapValues()) { $0 += $1.values }
    }
}

/// Unsampled memory of one stack, or of a process: in-use objects and bytes, and (with `prof_accum:true`)
/// cumulative allocated objects and bytes.
public struct HeapValues: Sendable, Equatable {
    public var inuseObjects: Double = 0
    public var inuseBytes: Double = 0
    public var allocObjects: Double = 0
    public var allocBytes: Double = 0

    public init(inuseObjects: Double = 0, inuseBytes: Double = 0, allocObjects: Double = 0, allocBytes: Double = 0) {
        self.inuseObjects = inuseObjects
        self.inuseBytes = inuseBytes
        self.allocObjects = allocObjects
        self.allocBytes = allocBytes
    }

    public static func += (lhs: inout HeapValues, rhs: HeapValues) {
        lhs.inuseObjects += rhs.inuseObjects
        lhs.inuseBytes += rhs.inuseBytes
        lhs.allocObjects += rhs.allocObjects
        lhs.allocBytes += rhs.allocBytes
    }
}

/// One stack of a dump: return addresses exactly as written (leaf first) and its unsampled values.
public struct HeapStack: Sendable {
    public var addresses: [UInt64]
    public var values: HeapValues
}

/// One line of `/proc/PID/maps`, as copied into the dump.
public struct MemoryMapping: Sendable, Equatable {
    public var start: UInt64
    public var end: UInt64
    public var permissions: String
    public var offset: UInt64
    public var inode: UInt64
    /// The mapped file, or a pseudo-name such as `[vdso]`; empty for anonymous memory.
    public var path: String
    /// The file's GNU build-id (hex), when the profile says (pprof mappings do; `/proc/PID/maps` does not).
    public var buildID: String? = nil
    /// Whether an address minus `start` is already the file's ELF virtual address (pprof profiles written by
    /// `jemalloc_pprof` give file-relative addresses), rather than a run-time address mapped from `offset`.
    public var addressesAreVirtual = false

    public var isExecutable: Bool { permissions.contains("x") }

    public func contains(_ address: UInt64) -> Bool { address >= start && address < end }
}

/// jeprof's unsampling (AdjustSamples, remote-heap version 2), applied to one count/bytes pair.
///
/// jemalloc samples allocations as a Poisson process with mean interval `period` bytes, so an allocation of
/// size s is seen with probability 1 - exp(-s/period); dividing by that probability unbiases the estimate.
/// Since jemalloc 5.3 the pairs in a dump are pre-biased so that this formula yields jemalloc's own estimate.
/// A pair with count 0 stays as written.
@inlinable
public func unsampleV2(count: UInt64, bytes: UInt64, period: UInt64) -> (objects: Double, bytes: Double) {
    let n = Double(count)
    let s = Double(bytes)
    guard count != 0, period != 0 else { return (n, s) }
    let ratio = (s / n) / Double(period)
    // -expm1(-r) is 1 - exp(-r) without cancellation for tiny r.
    let probability = -expm1(-ratio)
    guard probability > 0 else { return (n, s) }
    return (n / probability, s / probability)
}

/// jeprof's remote-heap version 1 adjustment (legacy `heap/P` profiles): scale up when the mean object is
/// smaller than the (halved) sampling period.
@inlinable
public func unsampleV1(count: UInt64, bytes: UInt64, period: UInt64) -> (objects: Double, bytes: Double) {
    let n = Double(count)
    let s = Double(bytes)
    guard count != 0, period != 0 else { return (n, s) }
    let ratio = (s / n) / Double(period)
    guard ratio < 1, ratio > 0 else { return (n, s) }
    return (n / ratio, s / ratio)
}
