import Foundation

/// Finds the separate debug file of a stripped binary by its GNU build-id, where distributions and tools put them:
/// `DIR/.build-id/ab/cdef….debug` (Debian's `-dbg` and `-dbgsym` packages under `/usr/lib/debug`, and any tree laid
/// out the same way), `DIR/ab/cdef….debug` (a `.build-id` folder given itself) and `DIR/abcdef…/debuginfo` (the
/// debuginfod client's cache, `~/.cache/debuginfod_client`).
///
/// The debug file carries the DWARF (file:line, inlined frames) and the full `.symtab` that the stripped file lacks;
/// llvm-symbolizer reads it directly, at the same virtual addresses.
public struct DebugFileLocator: Sendable {
    /// Folders given with `--debug-dir`, searched first, in order.
    public var directories: [String]
    /// The system's debug root, searched last.
    public var systemRoot: String

    public init(directories: [String] = [], systemRoot: String = "/usr/lib/debug") {
        self.directories = directories
        self.systemRoot = systemRoot
    }

    /// Every path where the debug file of `buildID` may be, in search order.
    public func candidatePaths(buildID: String) -> [String] {
        guard buildID.count > 2 else { return [] }
        let head = buildID.prefix(2)
        let rest = buildID.dropFirst(2)
        var paths: [String] = []
        for directory in directories {
            paths.append("\(directory)/.build-id/\(head)/\(rest).debug")
            paths.append("\(directory)/\(head)/\(rest).debug")
            paths.append("\(directory)/\(buildID)/debuginfo")
        }
        paths.append("\(systemRoot)/.build-id/\(head)/\(rest).debug")
        return paths
    }

    /// The folders searched, for messages: the `--debug-dir` folders, then the system root.
    public var searchedFolders: [String] { directories + ["\(systemRoot)/.build-id"] }

    /// The debug file of `binary`: the first candidate that is an ELF file with the same build-id.
    public func debugFile(for binary: ELFFile) -> (path: String, elf: ELFFile)? {
        guard let id = binary.buildID else { return nil }
        for path in candidatePaths(buildID: id) where FileManager.default.isReadableFile(atPath: path) {
            if let elf = try? ELFFile(path: path), elf.buildID == id { return (path, elf) }
        }
        return nil
    }
}

/// Debug files found per binary path during one symbolization (a lookup reads ELF headers; a dump asks often).
final class DebugFileCache: @unchecked Sendable {
    private let lock = NSLock()
    private var found: [String: (path: String, elf: ELFFile)?] = [:]

    func lookup(_ key: String, _ find: () -> (path: String, elf: ELFFile)?) -> (path: String, elf: ELFFile)? {
        if let known = lock.withLock({ found[key] }) { return known }
        let result = find()
        lock.withLock { found[key] = .some(result) }
        return result
    }
}
