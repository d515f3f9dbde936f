import Foundation
import GRDB
import SwiftProtobuf

/// Writes stored snapshots as pprof profiles (`profile.proto`, gzipped), for `go tool pprof`, Pyroscope and
/// Parca: one snapshot, a build's mean, or the difference of two selections (target minus base).
///
/// Every metric of the kind is a sample type (heap: inuse_space first, the default; tasks: live_tasks first).
/// Frames carry the stored names and the file:line of the newest build that has the stack; inlined frames
/// share a location, innermost first, as pprof expects. The snapshots' mappings (file and build-id) are listed;
/// locations carry no address (profhist keeps names, not addresses), so they name no mapping.
public struct PprofExport {
    public var filter: SeriesFilter

    public init(filter: SeriesFilter) { self.filter = filter }

    /// The mean over the snapshots `filter` selects, per stack and metric.
    /// - Returns: the gzipped profile and the number of snapshots averaged.
    /// - Throws: `StoreError.noMatch` when nothing is selected; `StoreError` on a database failure.
    public func snapshot(_ db: Database) throws -> (data: Data, snapshots: Int) {
        let snapshots = try filter.select(db)
        guard !snapshots.isEmpty else {
            throw StoreError.noMatch("no \(filter.kind) snapshot matches (see 'profhist snapshots')")
        }
        let means = try PprofExport.means(db, snapshots: snapshots, metrics: metrics)
        var builder = ProfileBuilder(db: db, metrics: metrics, preferredBuild: snapshots.last?.buildID)
        try builder.addMappings(snapshots: snapshots.map(\.id))
        try builder.addSamples(means)
        builder.profile.timeNanos = snapshots.map(\.takenAt).max().map { $0 * 1_000_000 } ?? 0
        if snapshots.count == 1, let period = snapshots.first?.samplePeriod, period > 0 { builder.profile.period = period }
        return (try builder.gzipped(), snapshots.count)
    }

    /// Target minus base, per stack and metric (each side the mean of its snapshots): `go tool pprof -top`
    /// lists the growth first.
    public func diff(_ db: Database, base: DiffSelection, target: DiffSelection) throws -> Data {
        let before = try filter.select(db, side: base)
        let after = try filter.select(db, side: target)
        let baseMeans = try PprofExport.means(db, snapshots: before, metrics: metrics)
        var delta = try PprofExport.means(db, snapshots: after, metrics: metrics)
        for (stack, values) in baseMeans {
            var row = delta[stack] ?? Array(repeating: 0, count: metrics.count)
            for index in row.indices { row[index] -= values[index] }
            delta[stack] = row
        }
        var builder = ProfileBuilder(db: db, metrics: metrics, preferredBuild: after.last?.buildID)
        try builder.addMappings(snapshots: (before + after).map(\.id))
        try builder.addSamples(delta)
        builder.profile.comment = [
            builder.intern("profhist diff: \(target.description) minus \(base.description)")
        ]
        builder.profile.timeNanos = after.map(\.takenAt).max().map { $0 * 1_000_000 } ?? 0
        return try builder.gzipped()
    }

    var metrics: [Metric] { Metric.all(kind: filter.kind) }

    /// Per stack, the mean of each metric over `snapshots`, rounded to an integer as pprof stores values.
    static func means(_ db: Database, snapshots: [SeriesSnapshot], metrics: [Metric]) throws -> [Int64: [Int64]] {
        var sums: [Int64: [Double]] = [:]
        for (index, metric) in metrics.enumerated() {
            let reader = try SnapshotValueReader(db, metric: metric)
            for snapshot in snapshots {
                try reader.forEach(snapshot: snapshot.id) { stack, value in
                    sums[stack, default: Array(repeating: 0, count: metrics.count)][index] += Double(value)
                }
            }
        }
        let count = Double(snapshots.count)
        return sums.mapValues { $0.map { Int64(($0 / count).rounded()) } }
    }
}

/// Builds one `Profile`: string, function and location tables interned as samples are added.
struct ProfileBuilder {
    let db: Database
    let preferredBuild: Int64?
    var profile = Perftools_Profiles_Profile()
    private var strings: [String: Int64] = ["": 0]
    private var functions: [FunctionKey: UInt64] = [:]
    private var locations: [[LineKey]: UInt64] = [:]
    private var frameNames: [Int64: (parent: Int64?, name: String)] = [:]

    struct FunctionKey: Hashable {
        var name: String
        var file: String
    }

    struct LineKey: Hashable {
        var function: UInt64
        var line: Int64
    }

    init(db: Database, metrics: [Metric], preferredBuild: Int64?) {
        self.db = db
        self.preferredBuild = preferredBuild
        profile.stringTable = [""]
        for metric in metrics {
            var type = Perftools_Profiles_ValueType()
            type.type = intern(metric.rawValue)
            type.unit = intern(ProfileBuilder.unit(of: metric))
            profile.sampleType.append(type)
        }
        profile.defaultSampleType = profile.sampleType.first?.type ?? 0
        if metrics.first?.kind == .heap {
            var period = Perftools_Profiles_ValueType()
            period.type = intern("space")
            period.unit = intern("bytes")
            profile.periodType = period
        }
    }

    /// pprof's unit names: bytes, count, nanoseconds.
    static func unit(of metric: Metric) -> String {
        switch metric {
        case .inuseSpace, .allocSpace: return "bytes"
        case .busyNanoseconds, .scheduledNanoseconds: return "nanoseconds"
        default: return "count"
        }
    }

    mutating func intern(_ text: String) -> Int64 {
        if let known = strings[text] { return known }
        let index = Int64(profile.stringTable.count)
        profile.stringTable.append(text)
        strings[text] = index
        return index
    }

    /// The files and build-ids the snapshots were symbolized with.
    mutating func addMappings(snapshots: [Int64]) throws {
        var seen = Set<String>()
        for id in snapshots {
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT m.mapping_path, b.build_key FROM snapshot_mapping AS m LEFT JOIN binary AS b ON b.id = m.binary_id
                    WHERE m.snapshot_id = ? ORDER BY m.mapping_path
                    """, arguments: [id])
            for row in rows {
                let path: String = row[0]
                guard seen.insert(path).inserted else { continue }
                let key: String? = row[1]
                var mapping = Perftools_Profiles_Mapping()
                mapping.id = UInt64(profile.mapping.count + 1)
                mapping.filename = intern(path)
                // A build key without a build-id is `file:PATH:SIZE:MTIME`, not an id.
                if let key, !key.hasPrefix("file:") { mapping.buildID = intern(key) }
                mapping.hasFunctions_p = true
                mapping.hasFilenames_p = true
                mapping.hasLineNumbers_p = true
                mapping.hasInlineFrames_p = true
                profile.mapping.append(mapping)
            }
        }
    }

    /// One sample per stack with any nonzero value, in stack id order.
    mutating func addSamples(_ values: [Int64: [Int64]]) throws {
        for (stack, row) in values.sorted(by: { $0.key < $1.key }) where row.contains(where: { $0 != 0 }) {
            var sample = Perftools_Profiles_Sample()
            sample.locationID = try locationIDs(stack: stack)
            sample.value = row
            profile.sample.append(sample)
        }
    }

    func gzipped() throws -> Data {
        let bytes: Data = try profile.serializedBytes()
        guard let compressed = Gzip.compress(bytes) else {
            throw StoreError.badParameter("cannot gzip a pprof profile of \(bytes.count) bytes")
        }
        return compressed
    }
}

// MARK: - Stacks

extension ProfileBuilder {
    /// A stack's locations, leaf first: each location one frame with the frames inlined into it.
    mutating func locationIDs(stack: Int64) throws -> [UInt64] {
        let names = try frames(of: stack)
        let places = try locations(of: stack, count: names.count)
        // Groups of frames root first: a frame that was not inlined starts a location.
        var groups: [[LineKey]] = []
        for (index, name) in names.enumerated() {
            let place = places?[index]
            let file = place?.file ?? ""
            let key = FunctionKey(name: name, file: file)
            let function = functions[key] ?? addFunction(key)
            let line = LineKey(function: function, line: Int64(place?.line ?? 0))
            if place?.inlined == true, !groups.isEmpty { groups[groups.count - 1].append(line) } else { groups.append([line]) }
        }
        return groups.reversed().map { group in
            let lines = Array(group.reversed())
            if let known = locations[lines] { return known }
            var location = Perftools_Profiles_Location()
            location.id = UInt64(profile.location.count + 1)
            location.line = lines.map { key in
                var line = Perftools_Profiles_Line()
                line.functionID = key.function
                line.line = key.line
                return line
            }
            profile.location.append(location)
            locations[lines] = location.id
            return location.id
        }
    }

    private mutating func addFunction(_ key: FunctionKey) -> UInt64 {
        var function = Perftools_Profiles_Function()
        function.id = UInt64(profile.function.count + 1)
        function.name = intern(key.name)
        function.systemName = function.name
        function.filename = intern(key.file)
        profile.function.append(function)
        functions[key] = function.id
        return function.id
    }

    /// Frame names of a stack, root first, through the call-site tree (memoized: stacks share prefixes).
    mutating func frames(of stack: Int64) throws -> [String] {
        var chain: [String] = []
        var next: Int64? = stack
        while let id = next {
            let entry: (parent: Int64?, name: String)
            if let known = frameNames[id] {
                entry = known
            } else {
                guard
                    let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT c.parent_id, s.value FROM callsite AS c JOIN frame AS f ON f.id = c.frame_id
                            JOIN string AS s ON s.id = f.name_id WHERE c.id = ?
                            """, arguments: [id])
                else { throw StoreError.noMatch("stack \(stack): call site \(id) is missing from the store") }
                entry = (row[0], row[1])
                frameNames[id] = entry
            }
            chain.append(entry.name)
            next = entry.parent
        }
        return chain.reversed()
    }

    /// The stored file:line of each frame (root first) of the newest build with the stack, or nil when none is
    /// stored or the blob does not fit the stack.
    func locations(of stack: Int64, count: Int) throws -> [(file: String?, line: Int, inlined: Bool)]? {
        guard
            let blob = try Data.fetchOne(
                db,
                sql: """
                    SELECT l.frames FROM stack_location AS sl JOIN location_set AS l ON l.id = sl.location_set_id
                    WHERE sl.stack_id = ? ORDER BY (sl.build_id = ?) DESC, sl.build_id DESC LIMIT 1
                    """, arguments: [stack, preferredBuild ?? 0]),
            let values = LEB128.decode([UInt8](blob)), values.count == count * 3
        else { return nil }
        var result: [(file: String?, line: Int, inlined: Bool)] = []
        for index in 0..<count {
            let fileID = values[index * 3]
            let file = fileID == 0 ? nil : try String.fetchOne(db, sql: "SELECT value FROM string WHERE id = ?", arguments: [Int64(bitPattern: fileID)])
            result.append((file, Int(clamping: values[index * 3 + 1]), values[index * 3 + 2] != 0))
        }
        return result
    }
}
