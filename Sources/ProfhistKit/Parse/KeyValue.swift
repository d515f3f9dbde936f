/// A `key=value` pair as the command line gives labels (`--label test=soak`) and query parameters
/// (`--param build=v1.5.0`): split at the first `=`, so a value may hold more.
public struct KeyValue: Sendable, Equatable {
    public var key: String
    public var value: String

    /// Nil when the text has no `=`.
    public init?(_ text: String) {
        guard let equals = text.firstIndex(of: "=") else { return nil }
        key = String(text[..<equals])
        value = String(text[text.index(after: equals)...])
    }
}
