// Placeholder: being replaced by the real v0 demangler.
enum RustV0Demangler {
    static func demangle(_ symbol: String) -> String? { nil }
}
