import CFileSystem
import Foundation

/// The file system under a store, where it matters to SQLite's WAL mode.
///
/// WAL keeps its index (who reads which version, who writes) in shared memory, a memory-mapped `-shm` file
/// beside the store, and serializes writers with file locks. On a network file system another machine cannot
/// see that memory and locks are unreliable, so two hosts writing at once corrupt the store silently
/// (SQLite's documentation: "WAL does not work over a network filesystem"). Detected on Linux by `statfs`'s
/// `f_type`, which costs one system call; elsewhere nothing is detected.
public struct StoreFileSystem: Sendable, Equatable {
    public enum Risk: Sendable, Equatable {
        /// Shared by several machines: WAL's shared memory does not reach them; concurrent writers corrupt the store.
        case network
        /// FUSE, 9p and shared folders: local or remote depending on what serves them; some lack the shared
        /// memory or locks WAL needs.
        case uncertain
    }

    /// The file system's name, as users know it ("NFS", "SMB/CIFS", "FUSE").
    public var name: String
    public var risk: Risk

    /// `f_type` magic numbers (linux/magic.h and the file systems' own headers) of the file systems to warn about;
    /// any other is taken as local.
    static let known: [UInt32: StoreFileSystem] = [
        0x6969: .init(name: "NFS", risk: .network),
        0x517B: .init(name: "SMB", risk: .network),
        0xFF53_4D42: .init(name: "SMB/CIFS", risk: .network),
        0xFE53_4D42: .init(name: "SMB2", risk: .network),
        0x5346_414F: .init(name: "AFS", risk: .network),
        0x6B41_4653: .init(name: "AFS", risk: .network),
        0x00C3_6400: .init(name: "Ceph", risk: .network),
        0x7375_7245: .init(name: "Coda", risk: .network),
        0x564C: .init(name: "NCP", risk: .network),
        0x0BD0_0BD0: .init(name: "Lustre", risk: .network),
        0x4750_4653: .init(name: "GPFS", risk: .network),
        0x0116_1970: .init(name: "GFS2", risk: .network),
        0x7461_636F: .init(name: "OCFS2", risk: .network),
        0x1983_0326: .init(name: "OrangeFS", risk: .network),
        0x6573_5546: .init(name: "FUSE", risk: .uncertain),
        0x0102_1997: .init(name: "9p", risk: .uncertain),
        0x786F_4256: .init(name: "VirtualBox shared folder", risk: .uncertain),
    ]

    /// The file system of a `statfs` magic number, when it is one to warn about.
    public static func classify(magic: UInt32) -> StoreFileSystem? { known[magic] }

    /// The file system holding `path` (or, while the store does not exist yet, the folder it will be created in),
    /// when it is one to warn about; nil for local file systems, paths that cannot be examined, and other systems.
    public static func of(path: String) -> StoreFileSystem? {
        var target = path
        if !FileManager.default.fileExists(atPath: target) {
            target = (path as NSString).deletingLastPathComponent
            if target.isEmpty { target = "." }
        }
        var magic: UInt = 0
        guard profhist_statfs_type(target, &magic) == 0 else { return nil }
        return classify(magic: UInt32(truncatingIfNeeded: magic))
    }
}

extension Store {
    /// The environment variable that lets `ingest` write to a store on a network file system anyway.
    public static let allowNetworkFileSystemVariable = "PROFHIST_ALLOW_NETWORK_FS"

    /// Checks the file system under a store before it is opened.
    ///
    /// Writing to a store on a network file system is refused: the store is the whole history, and the failure
    /// (two CI hosts ingesting at once) corrupts it silently, long after a warning has scrolled by in a CI log.
    /// Reading is only warned about (a reader cannot corrupt the store). FUSE and 9p, as often local (rootless
    /// containers, virtiofs, WSL) as remote, get a warning when writing and nothing when reading.
    /// - Parameters:
    ///   - writing: whether the caller is about to write (ingest); readers pass false.
    ///   - allowNetwork: the user's override (`PROFHIST_ALLOW_NETWORK_FS=1`): the refusal becomes a warning.
    ///   - fileSystem: the file system found under the path (`StoreFileSystem.of(path:)` unless a test says).
    /// - Returns: a warning to show, or nil.
    /// - Throws: `StoreError.networkFileSystem` when writing to a network file system without the override.
    public static func checkFileSystem(
        path: String, writing: Bool, allowNetwork: Bool, fileSystem: StoreFileSystem?
    ) throws -> String? {
        guard let fileSystem else { return nil }
        switch fileSystem.risk {
        case .network:
            if writing && !allowNetwork { throw StoreError.networkFileSystem(path: path, fileSystem: fileSystem.name) }
            return "\(path) is on \(fileSystem.name), a network file system: SQLite's WAL mode needs shared memory "
                + "that other machines cannot see, so writers on two hosts corrupt the store; keep it on a local disk"
        case .uncertain:
            guard writing else { return nil }
            return "\(path) is on \(fileSystem.name): if that is a network mount, writers on two hosts corrupt the "
                + "store (SQLite's WAL mode needs shared memory); keep it on a local disk"
        }
    }
}
