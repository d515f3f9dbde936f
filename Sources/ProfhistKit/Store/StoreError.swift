import Foundation

/// A problem with the store file itself.
public enum StoreError: LocalizedError, Equatable {
    /// No store at the path, for a command that only reads.
    case missing(path: String)
    /// The store was written by a newer profhist.
    case newerSchema(path: String, storeVersion: Int, knownVersion: Int)
    /// The file is not a SQLite database, or is damaged.
    case unreadable(path: String, reason: String)
    /// A failure while writing (disk full, read-only file, ...): nothing was written.
    case writeFailed(path: String, source: String, reason: String)
    /// `ingest` into a store on a network file system, where SQLite's WAL mode cannot keep writers apart.
    case networkFileSystem(path: String, fileSystem: String)
    /// A named query does not exist.
    case unknownQuery(name: String, known: [String])
    /// A query parameter is missing or unknown.
    case badParameter(String)
    /// A selection (build name, snapshot id) matches nothing.
    case noMatch(String)
    /// Upgrading the schema failed; the store stays at `version` (every migration is its own transaction).
    case upgradeFailed(path: String, version: Int, migration: String, reason: String)
    /// `gc` failed before its commit: nothing was removed.
    case gcFailed(path: String, reason: String)
    /// `gc` removed what it planned but could not compact the file (VACUUM needs the write lock and free disk
    /// space about the size of the store).
    case compactFailed(path: String, reason: String, removedRows: Bool = true)

    public var errorDescription: String? {
        switch self {
        case .missing(let path):
            return "\(path): no store here (create one with 'profhist ingest', or pass --db / set PROFHIST_DB)"
        case .newerSchema(let path, let storeVersion, let knownVersion):
            return "\(path): store schema version \(storeVersion) is newer than this profhist knows (\(knownVersion)); "
                + "upgrade profhist to read it"
        case .unreadable(let path, let reason):
            return "\(path): cannot open store: \(reason)"
        case .upgradeFailed(let path, let version, let migration, let reason):
            return "\(path): cannot upgrade the store past schema version \(version) (migration \(migration)): \(reason); "
                + "the store is unchanged at version \(version)"
        case .writeFailed(let path, let source, let reason):
            return "\(source): not stored, \(path) is unchanged: \(reason)"
        case .networkFileSystem(let path, let fileSystem):
            return "\(path): the store is on \(fileSystem), a network file system: SQLite's WAL mode keeps its locks in "
                + "shared memory that other machines cannot see, so two hosts ingesting at once corrupt it; keep the "
                + "store on a local disk (copy it for readers elsewhere), or set \(Store.allowNetworkFileSystemVariable)=1 "
                + "if only this machine ever opens it"
        case .unknownQuery(let name, let known):
            return "no query named '\(name)'; known: \(known.joined(separator: ", "))"
        case .badParameter(let message):
            return message
        case .noMatch(let message):
            return message
        case .gcFailed(let path, let reason):
            return "\(path): gc failed, the store is unchanged: \(reason)"
        case .compactFailed(let path, let reason, let removedRows):
            return "\(path): gc \(removedRows ? "removed the rows" : "had no rows to remove") but could not compact the file: "
                + "\(reason) (run 'profhist gc' again to compact)"
        }
    }
}
