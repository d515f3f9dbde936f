import CDemangle
import Foundation

/// Turns a symbol into the function name that identifies a frame in every build: demangled, with Rust's
/// per-build hashes, LLVM's `.llvm.N` and GCC's clone suffixes removed.
///
/// Both symbolization paths end here (llvm-symbolizer's already demangled names, and raw ELF symbols), so the
/// same function gets the same name whichever path found it.
public enum FrameName {
    /// Demangles a raw symbol (Itanium C++, Rust legacy or Rust v0) and normalizes it.
    public static func fromSymbol(_ symbol: String) -> String {
        var raw = symbol
        // `foo@@GLIBC_2.2.5` and `foo@plt` versions and PLT stubs from .dynsym.
        if let at = raw.firstIndex(of: "@"), at != raw.startIndex { raw = String(raw[..<at]) }
        raw = stripCloneSuffixes(raw)
        if raw.hasPrefix("_R") || raw.hasPrefix("__R") {
            if let name = RustV0Demangler.demangle(raw) { return normalize(name) }
        } else if raw.hasPrefix("_Z") {
            if let name = cxaDemangle(raw) { return normalize(name) }
        }
        return normalize(raw)
    }

    /// Normalizes an already demangled name (as llvm-symbolizer prints it).
    public static func normalize(_ name: String) -> String {
        var text = stripCloneSuffixes(name)
        if looksLikeRustLegacy(text) { text = decodeRustLegacy(text) }
        text = stripRustHash(text)
        text = unifyRustSchemes(text)
        text = unwrapInherentImpl(text)
        return text.isEmpty ? "[unnamed]" : text
    }

    // MARK: - Pieces

    static func cxaDemangle(_ symbol: String) -> String? {
        guard let pointer = profhist_cxa_demangle(symbol) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// Removes ` (.llvm.123)`, `.llvm.123`, ` [clone .constprop.0]`, `.cold`, `.isra.0`, `.part.1`, ... which
    /// compilers append to copies of a function and which change from build to build.
    static func stripCloneSuffixes(_ name: String) -> String {
        var text = name
        // Suffixes as demanglers print them: ` (.llvm.123)`, ` (.cold)`, ` [clone .constprop.0]`.
        while true {
            if text.hasSuffix(")"), let open = text.range(of: " (.", options: .backwards),
                text[open.upperBound..<text.index(before: text.endIndex)].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" })
            {
                text = String(text[..<open.lowerBound])
            } else if text.hasSuffix("]"), let open = text.range(of: " [clone .", options: .backwards),
                !text[open.upperBound...].contains(" ")
            {
                text = String(text[..<open.lowerBound])
            } else {
                break
            }
        }
        // ELF symbol versions (`__libc_start_main@GLIBC_2.2.5`, `memcpy@@GLIBC_2.14`): llvm-symbolizer prints them
        // from a debug file's .symtab; the function is the same whatever version an executable bound to.
        if let at = text.firstIndex(of: "@"), at != text.startIndex,
            text[at...].allSatisfy({ $0 == "@" || $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" })
        {
            text = String(text[..<at])
        }
        // Raw suffixes on symbols: `.llvm.NNN`, `.cold`, `.cold.N`, `.isra.N`, `.constprop.N`, `.part.N`,
        // `.lto_priv.N`; only when what precedes looks like a symbol (no spaces to cut through).
        let markers = [".llvm.", ".cold", ".isra.", ".constprop.", ".part.", ".lto_priv."]
        var changed = true
        while changed {
            changed = false
            for marker in markers {
                if let range = text.range(of: marker, options: .backwards), range.lowerBound != text.startIndex {
                    let tail = text[range.upperBound...]
                    if tail.allSatisfy({ $0.isNumber || $0 == "." }) {
                        text = String(text[..<range.lowerBound])
                        changed = true
                    }
                }
            }
        }
        return text
    }

    /// Rust's v0 names say `{closure#0}` and carry turbofish arguments (`boxed::<u64>::{closure#0}`) where
    /// legacy names say `{{closure}}` and have none; builds of one crate can use either scheme, so both become
    /// the legacy form (`boxed::{{closure}}`). `::<` never occurs in C++ names.
    static func unifyRustSchemes(_ name: String) -> String {
        guard name.contains("{closure#") || name.contains("::<") else { return name }
        var text = name
        // `::<...>` path arguments, balanced.
        while let start = text.range(of: "::<") {
            var depth = 0
            var index = text.index(start.lowerBound, offsetBy: 2)
            var end: String.Index? = nil
            while index < text.endIndex {
                if text[index] == "<" { depth += 1 } else if text[index] == ">" {
                    depth -= 1
                    if depth == 0 { end = text.index(after: index); break }
                }
                index = text.index(after: index)
            }
            guard let end else { break }
            text.removeSubrange(start.lowerBound..<end)
        }
        // `{closure#N}` → `{{closure}}`.
        while let range = text.range(of: "{closure#") {
            guard let close = text[range.upperBound...].firstIndex(of: "}") else { break }
            text.replaceSubrange(range.lowerBound...close, with: "{{closure}}")
        }
        return text
    }

    static func looksLikeRustLegacy(_ name: String) -> Bool {
        name.contains("$LT$") || name.contains("$GT$") || name.contains("$u") || name.contains("$C$")
            || name.contains("$RF$") || name.contains("$BP$") || name.contains("$SP$") || name.contains("..")
            && hasRustHash(name)
    }

    /// Decodes the escapes of Rust's legacy mangling that an Itanium demangler leaves in place.
    static func decodeRustLegacy(_ name: String) -> String {
        let escapes: [String: String] = [
            "SP": "@", "BP": "*", "RF": "&", "LT": "<", "GT": ">", "LP": "(", "RP": ")", "C": ",",
        ]
        var result = ""
        result.reserveCapacity(name.utf8.count)
        var chars = Array(name.unicodeScalars)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            // rustc prefixes `_` to a path segment that starts with an escape (`_$LT$...`): drop it.
            if c == "_", i + 1 < chars.count, chars[i + 1] == "$", i == 0 || (i >= 2 && chars[i - 1] == ":" && chars[i - 2] == ":") {
                i += 1
                continue
            }
            if c == "$", let close = chars[(i + 1)...].firstIndex(of: "$") {
                let code = String(String.UnicodeScalarView(chars[(i + 1)..<close]))
                if let replacement = escapes[code] {
                    result += replacement
                    i = close + 1
                    continue
                }
                if code.hasPrefix("u"), let value = UInt32(code.dropFirst(), radix: 16), let scalar = Unicode.Scalar(value) {
                    result.unicodeScalars.append(scalar)
                    i = close + 1
                    continue
                }
            }
            if c == ".", i + 1 < chars.count, chars[i + 1] == "." {
                result += "::"
                i += 2
                continue
            }
            result.unicodeScalars.append(c)
            i += 1
        }
        chars.removeAll()
        return result
    }

    static func hasRustHash(_ name: String) -> Bool {
        guard let range = name.range(of: "::h", options: .backwards) else { return false }
        let hash = name[range.upperBound...]
        return hash.count == 16 && hash.allSatisfy(\.isHexDigit)
    }

    /// Removes the trailing `::h0123456789abcdef` of Rust legacy names (it changes with crate metadata).
    static func stripRustHash(_ name: String) -> String {
        guard hasRustHash(name), let range = name.range(of: "::h", options: .backwards) else { return name }
        return String(name[..<range.lowerBound])
    }

    /// `<hashbrown::raw::RawTableInner>::f` (DWARF and v0 style) becomes `hashbrown::raw::RawTableInner::f`
    /// (legacy style), so a function has one name whether or not it was inlined. `<T as Trait>::f` stays.
    static func unwrapInherentImpl(_ name: String) -> String {
        guard name.hasPrefix("<") else { return name }
        var depth = 0
        var index = name.startIndex
        while index < name.endIndex {
            let c = name[index]
            if c == "<" { depth += 1 } else if c == ">" {
                depth -= 1
                if depth == 0 { break }
            }
            index = name.index(after: index)
        }
        guard index < name.endIndex else { return name }
        let inner = name[name.index(after: name.startIndex)..<index]
        let rest = name[name.index(after: index)...]
        guard rest.hasPrefix("::"), !containsTopLevel(" as ", in: inner), !inner.hasPrefix("["), !inner.hasPrefix("("),
            !inner.hasPrefix("&"), !inner.hasPrefix("*"), !inner.hasPrefix("dyn ")
        else { return name }
        return String(inner) + rest
    }

    private static func containsTopLevel(_ needle: String, in text: Substring) -> Bool {
        var depth = 0
        let chars = Array(text)
        let pattern = Array(needle)
        var i = 0
        while i < chars.count {
            if chars[i] == "<" { depth += 1 } else if chars[i] == ">" { depth -= 1 }
            if depth == 0 && i + pattern.count <= chars.count && Array(chars[i..<(i + pattern.count)]) == pattern {
                return true
            }
            i += 1
        }
        return false
    }
}
