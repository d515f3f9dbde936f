import Foundation

/// A problem with a binary given for symbolization, or with the symbolizer process.
public enum SymbolizeError: LocalizedError, Equatable {
    case cannotRead(path: String, reason: String)
    case notELF(path: String, reason: String)
    case symbolizerFailed(tool: String, path: String, reason: String)
    /// A stack with no frames left to store.
    case emptyStack

    public var errorDescription: String? {
        switch self {
        case .cannotRead(let path, let reason): return "\(path): cannot read binary: \(reason)"
        case .notELF(let path, let reason): return "\(path): not an ELF binary: \(reason)"
        case .symbolizerFailed(let tool, let path, let reason): return "\(path): \(tool) failed: \(reason)"
        case .emptyStack: return "empty stack"
        }
    }
}
