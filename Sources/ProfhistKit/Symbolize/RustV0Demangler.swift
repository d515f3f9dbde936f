// Rust v0 symbol demangling (RFC 2603, `-C symbol-mangling-version=v0`).
//
// profhist symbolizes heap-profile stacks straight from ELF symbol tables when llvm-symbolizer is not installed, so it
// has to turn `_R...` names into readable Rust paths on its own. No Swift package demangles Rust v0 names (the Swift
// runtime and swift-demangle only know Swift manglings, `__cxa_demangle` only knows Itanium C++), hence this
// self-contained implementation. Legacy Rust names (`_ZN...17h<hash>E`) are Itanium-shaped and handled elsewhere.
//
// The output is the non-verbose form printed by llvm-cxxfilt and by `rustc-demangle`'s `{:#}`: no crate
// disambiguators, no const type suffixes, no `.llvm.NNNN`-style suffixes. Constructs newer than LLVM's demangler
// (string/reference/array/ADT const generics, pattern types) are printed the way `rustc-demangle` prints them.

/// Demangler for Rust v0 symbol names.
enum RustV0Demangler {
    /// Demangles a Rust v0 symbol (`_R...`, also accepting the `R...` and `__R...` prefixes); nil if it is not
    /// valid v0.
    ///
    /// Output is the NON-verbose form, like `rustc-demangle`'s `{:#}` / llvm-cxxfilt: no crate disambiguators
    /// (`semi::make`, not `semi[8c9b03145d5c77fe]::make`), no hashes; closures as `{closure#0}`, shims, impl paths
    /// `<Type>::method` and `<Type as Trait>::method`, generic args `::<T>`, const generics, arrays `[u8; 4]`, slices,
    /// tuples, references/pointers, fn pointers, dyn traits with associated type bindings, backrefs, punycode
    /// identifiers, and a trailing `.llvm.NNNN` or similar `.suffix` dropped.
    static func demangle(_ symbol: String) -> String? {
        let bytes = Array(symbol.utf8)
        // `R` alone is what Windows' dbghelp leaves after stripping the underscore; `__R` is the Mach-O spelling.
        let start: Int
        if bytes.starts(with: [0x5F, 0x52]) {  // "_R"
            start = 2
        } else if bytes.starts(with: [0x52]) {  // "R"
            start = 1
        } else if bytes.starts(with: [0x5F, 0x5F, 0x52]) {  // "__R"
            start = 3
        } else {
            return nil
        }
        // Mangled characters are only [0-9A-Za-z_]; the first `.` or `$` starts a vendor suffix (`.llvm.123`, `.cold`,
        // `.0`) that carries no source-level meaning, so it is dropped rather than echoed.
        var end = start
        while end < bytes.count {
            let byte = bytes[end]
            if byte == V0Parser.dot || byte == V0Parser.dollar { break }
            guard V0Parser.isMangledChar(byte) else { return nil }
            end += 1
        }
        // A leading digit would be an encoding version; only the unversioned encoding exists, so anything else is not
        // something we can read. Paths always start with an uppercase tag.
        guard end > start, V0Parser.isUpper(bytes[start]) else { return nil }

        var parser = V0Parser(bytes: bytes, base: start, end: end)
        do {
            try parser.symbol()
        } catch {
            return nil
        }
        return String(decoding: parser.out, as: UTF8.self)
    }
}

/// The single failure mode: the input is not well-formed v0, or demangling it would exceed a safety limit.
private struct V0Invalid: Error {}

/// Recursive-descent parser that prints while it parses (the grammar is prefix-coded, so no tree is needed).
///
/// Positions index `bytes` directly; backreferences are offsets from `base`, the first byte after the `_R` prefix.
private struct V0Parser {
    /// Bound on nested recursive productions (every recursive function counts one level). Real symbols stay far
    /// below it (about 60 for deep std closure shims); it keeps hostile input from overflowing the stack. Measured
    /// worst case at this bound: under 64 KB of stack optimized and under 320 KB unoptimized, so even a 512 KB
    /// secondary thread is safe in debug builds.
    static let maxDepth = 500
    /// Backrefs can make output exponential in input length; cap it like `rustc-demangle` does (about 1 MB).
    static let maxOutput = 1 << 20
    /// Bound on parse steps, so inputs whose expansion prints little but walks a lot still finish quickly.
    static let maxSteps = 1 << 21
    /// Punycode decoding inserts code points one at a time (quadratic); identifiers are short in practice.
    static let maxPunycodeLength = 4096

    static let dot: UInt8 = 0x2E
    static let dollar: UInt8 = 0x24
    static let underscore: UInt8 = 0x5F

    let bytes: [UInt8]
    let base: Int
    let end: Int
    var pos: Int
    var out: [UInt8] = []
    /// False while walking parts the non-verbose output omits (impl paths, the instantiating crate).
    var printing = true
    var depth = 0
    var steps = 0
    /// Number of lifetimes bound by enclosing `for<...>` binders; lifetime indices are De Bruijn indices into them.
    var boundLifetimes = 0

    init(bytes: [UInt8], base: Int, end: Int) {
        self.bytes = bytes
        self.base = base
        self.end = end
        self.pos = base
        out.reserveCapacity(min(4 * (end - base) + 16, Self.maxOutput))
    }

    // MARK: Character classes

    static func isUpper(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5A }
    static func isLower(_ byte: UInt8) -> Bool { byte >= 0x61 && byte <= 0x7A }
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    static func isMangledChar(_ byte: UInt8) -> Bool {
        isUpper(byte) || isLower(byte) || isDigit(byte) || byte == underscore
    }

    // MARK: Low-level input

    mutating func next() throws -> UInt8 {
        guard pos < end else { throw V0Invalid() }
        let byte = bytes[pos]
        pos += 1
        return byte
    }

    mutating func eat(_ scalar: Unicode.Scalar) -> Bool {
        guard pos < end, bytes[pos] == UInt8(ascii: scalar) else { return false }
        pos += 1
        return true
    }

    /// Counts one level of nesting and one unit of work; every recursive production goes through here.
    mutating func enter() throws {
        depth += 1
        steps += 1
        guard depth <= Self.maxDepth, steps <= Self.maxSteps, out.count <= Self.maxOutput else { throw V0Invalid() }
    }

    mutating func leave() {
        depth -= 1
    }

    /// `<base-62-number> = {<0-9a-zA-Z>} "_"`, where `_` alone is 0 and digits encode value - 1.
    mutating func base62() throws -> UInt64 {
        if eat("_") { return 0 }
        var value: UInt64 = 0
        while true {
            let byte = try next()
            let digit: UInt64
            if byte == Self.underscore {
                break
            } else if Self.isDigit(byte) {
                digit = UInt64(byte - 0x30)
            } else if Self.isLower(byte) {
                digit = UInt64(byte - 0x61) + 10
            } else if Self.isUpper(byte) {
                digit = UInt64(byte - 0x41) + 36
            } else {
                throw V0Invalid()
            }
            let (times, overflowMul) = value.multipliedReportingOverflow(by: 62)
            let (sum, overflowAdd) = times.addingReportingOverflow(digit)
            guard !overflowMul, !overflowAdd else { throw V0Invalid() }
            value = sum
        }
        guard value < UInt64.max else { throw V0Invalid() }
        return value + 1
    }

    /// Disambiguators (`s`) and binders (`G`): absent means 0, present means the base-62 value + 1.
    mutating func optionalBase62(tag: Unicode.Scalar) throws -> UInt64 {
        guard eat(tag) else { return 0 }
        let value = try base62()
        guard value < UInt64.max else { throw V0Invalid() }
        return value + 1
    }

    /// `<decimal-number> = "0" | <1-9> {<0-9>}` (no leading zeros).
    mutating func decimal() throws -> Int {
        guard pos < end, Self.isDigit(bytes[pos]) else { throw V0Invalid() }
        if eat("0") { return 0 }
        var value = 0
        while pos < end, Self.isDigit(bytes[pos]) {
            value = value * 10 + Int(bytes[pos] - 0x30)
            // A length longer than the whole input can never be satisfied; stopping here also rules out overflow.
            guard value <= end else { throw V0Invalid() }
            pos += 1
        }
        return value
    }

    /// Hex digits terminated by `_`. Integer-like consts are canonical (`0_` or no leading zero); string bytes are
    /// just nibble pairs.
    mutating func hexDigits(canonical: Bool) throws -> Range<Int> {
        let start = pos
        while true {
            let byte = try next()
            if byte == Self.underscore { break }
            guard Self.isDigit(byte) || (byte >= 0x61 && byte <= 0x66) else { throw V0Invalid() }
        }
        let range = start..<(pos - 1)
        if canonical {
            guard !range.isEmpty else { throw V0Invalid() }
            if bytes[start] == 0x30 && range.count > 1 { throw V0Invalid() }
        }
        return range
    }

    func hexValue(_ range: Range<Int>) -> UInt64 {
        var value: UInt64 = 0
        for index in range {
            let byte = bytes[index]
            let nibble = Self.isDigit(byte) ? byte - 0x30 : byte - 0x61 + 10
            value = value << 4 | UInt64(nibble)
        }
        return value
    }

    struct Ident {
        var start: Int
        var end: Int
        var punycode: Bool
        var isEmpty: Bool { start == end }
    }

    /// `<undisambiguated-identifier> = ["u"] <decimal-number> ["_"] <bytes>`; the `_` separates the length from
    /// identifiers that themselves start with a digit or underscore.
    mutating func identifier() throws -> Ident {
        let punycode = eat("u")
        let length = try decimal()
        _ = eat("_")
        guard length <= end - pos else { throw V0Invalid() }
        let start = pos
        pos += length
        return Ident(start: start, end: pos, punycode: punycode)
    }

    // MARK: Output

    mutating func emit(_ text: StaticString) {
        guard printing else { return }
        text.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    mutating func emit(byte: UInt8) {
        guard printing else { return }
        out.append(byte)
    }

    mutating func emit(range: Range<Int>) {
        guard printing else { return }
        out.append(contentsOf: bytes[range])
    }

    mutating func emit(decimal value: UInt64) {
        guard printing else { return }
        if value == 0 {
            out.append(0x30)
            return
        }
        var digits: [UInt8] = []
        var rest = value
        while rest > 0 {
            digits.append(UInt8(rest % 10) + 0x30)
            rest /= 10
        }
        out.append(contentsOf: digits.reversed())
    }

    mutating func emit(ident: Ident) throws {
        guard printing else { return }
        if ident.punycode {
            guard let decoded = Self.decodePunycode(bytes[ident.start..<ident.end]) else { throw V0Invalid() }
            out.append(contentsOf: decoded)
        } else {
            emit(range: ident.start..<ident.end)
        }
    }

    /// Lifetime 0 is the erased `'_`; others count outward from the innermost bound lifetime, named `'a`...`'z`
    /// and then `'z1`, `'z2`, ... (LLVM's spelling).
    mutating func emit(lifetime index: UInt64) throws {
        if index == 0 {
            emit("'_")
            return
        }
        guard index - 1 < UInt64(boundLifetimes) else { throw V0Invalid() }
        let distance = UInt64(boundLifetimes) - index
        emit("'")
        if distance < 26 {
            emit(byte: 0x61 + UInt8(distance))
        } else {
            emit("z")
            emit(decimal: distance - 26 + 1)
        }
    }

    // MARK: Grammar

    /// `<symbol-name> = "_R" <path> [<instantiating-crate>]`. The instantiating crate is not part of the readable
    /// name, so it is parsed (for validation) but not printed.
    mutating func symbol() throws {
        try path(inValue: true)
        if pos < end, Self.isUpper(bytes[pos]) {
            let saved = printing
            printing = false
            defer { printing = saved }
            try path(inValue: false)
        }
        guard pos == end, out.count <= Self.maxOutput else { throw V0Invalid() }
    }

    /// Resolves `"B" <base-62-number>` whose `B` sat at `tagPosition`. Returns where to resume parsing, or nil when
    /// nothing is being printed (the target was already validated when it was first parsed, so skipping it keeps
    /// non-printing walks linear). Targets must lie strictly before the backref, which rules out cycles.
    mutating func backref(tagPosition: Int) throws -> Int? {
        let target = try base62()
        guard target < UInt64(tagPosition - base) else { throw V0Invalid() }
        guard printing else { return nil }
        return base + Int(target)
    }

    /// `<path>`. `inValue` selects `::<T>` (expression position) over `<T>` (type position). With `leaveOpen`, the
    /// closing `>` of trailing generic args is left off so dyn-trait associated type bindings can be appended;
    /// the return value says whether that happened.
    ///
    /// The recursive productions are thin dispatchers over per-case helpers: debug builds give every local of a
    /// function its own stack slot, and keeping the recursive frames small keeps hostile nesting within small
    /// thread stacks.
    @discardableResult
    mutating func path(inValue: Bool, leaveOpen: Bool = false) throws -> Bool {
        try enter()
        defer { leave() }
        let tagPosition = pos
        switch try next() {
        case UInt8(ascii: "C"):
            _ = try optionalBase62(tag: "s")
            try emit(ident: identifier())
        case UInt8(ascii: "M"):
            try implPath(traitImpl: false)
        case UInt8(ascii: "X"):
            try implPath(traitImpl: true)
        case UInt8(ascii: "Y"):
            try qualifiedPath()
        case UInt8(ascii: "N"):
            try nestedPath(inValue: inValue)
        case UInt8(ascii: "I"):
            return try genericArgsPath(inValue: inValue, leaveOpen: leaveOpen)
        case UInt8(ascii: "B"):
            return try pathBackref(tagPosition: tagPosition, inValue: inValue, leaveOpen: leaveOpen)
        default:
            throw V0Invalid()
        }
        return false
    }

    /// `"M" <impl-path> <type>` prints `<Type>`; `"X" <impl-path> <type> <path>` prints `<Type as Trait>`. The
    /// impl path names the `impl` block itself, which readable output leaves out.
    mutating func implPath(traitImpl: Bool) throws {
        try enter()
        defer { leave() }
        let saved = printing
        printing = false
        _ = try optionalBase62(tag: "s")
        try path(inValue: false)
        printing = saved
        if traitImpl {
            try qualifiedPath()
        } else {
            emit("<")
            try type()
            emit(">")
        }
    }

    /// `<type> <path>` printed as `<Type as Trait>` (the body of `Y`, and the tail of `X`).
    mutating func qualifiedPath() throws {
        try enter()
        defer { leave() }
        emit("<")
        try type()
        emit(" as ")
        try path(inValue: false)
        emit(">")
    }

    /// `"N" <namespace> <path> <identifier>`.
    mutating func nestedPath(inValue: Bool) throws {
        try enter()
        defer { leave() }
        let namespace = try next()
        guard Self.isUpper(namespace) || Self.isLower(namespace) else { throw V0Invalid() }
        try path(inValue: inValue)
        let disambiguator = try optionalBase62(tag: "s")
        let name = try identifier()
        if Self.isUpper(namespace) {
            // Special namespaces (closures, shims, ...) have no source name; show kind and index.
            emit("::{")
            switch namespace {
            case UInt8(ascii: "C"): emit("closure")
            case UInt8(ascii: "S"): emit("shim")
            default: emit(byte: namespace)
            }
            if !name.isEmpty {
                emit(":")
                try emit(ident: name)
            }
            emit("#")
            emit(decimal: disambiguator)
            emit("}")
        } else if !name.isEmpty {
            // Lowercase namespaces are ordinary items; an empty name (e.g. some anonymous items) prints nothing.
            emit("::")
            try emit(ident: name)
        }
    }

    /// `"I" <path> {<generic-arg>} "E"`.
    mutating func genericArgsPath(inValue: Bool, leaveOpen: Bool) throws -> Bool {
        try enter()
        defer { leave() }
        try path(inValue: inValue)
        emit(inValue ? "::<" : "<")
        var count = 0
        while !eat("E") {
            if count > 0 { emit(", ") }
            try genericArg()
            count += 1
        }
        if leaveOpen { return true }
        emit(">")
        return false
    }

    mutating func pathBackref(tagPosition: Int, inValue: Bool, leaveOpen: Bool) throws -> Bool {
        try enter()
        defer { leave() }
        guard let target = try backref(tagPosition: tagPosition) else { return false }
        let resume = pos
        pos = target
        defer { pos = resume }
        return try path(inValue: inValue, leaveOpen: leaveOpen)
    }

    /// `<generic-arg> = <lifetime> | <type> | "K" <const>`.
    mutating func genericArg() throws {
        try enter()
        defer { leave() }
        if eat("L") {
            try emit(lifetime: base62())
        } else if eat("K") {
            try const(inValue: false)
        } else {
            try type()
        }
    }

    static func basicTypeName(_ tag: UInt8) -> StaticString? {
        switch tag {
        case UInt8(ascii: "a"): "i8"
        case UInt8(ascii: "b"): "bool"
        case UInt8(ascii: "c"): "char"
        case UInt8(ascii: "d"): "f64"
        case UInt8(ascii: "e"): "str"
        case UInt8(ascii: "f"): "f32"
        case UInt8(ascii: "h"): "u8"
        case UInt8(ascii: "i"): "isize"
        case UInt8(ascii: "j"): "usize"
        case UInt8(ascii: "l"): "i32"
        case UInt8(ascii: "m"): "u32"
        case UInt8(ascii: "n"): "i128"
        case UInt8(ascii: "o"): "u128"
        case UInt8(ascii: "p"): "_"
        case UInt8(ascii: "s"): "i16"
        case UInt8(ascii: "t"): "u16"
        case UInt8(ascii: "u"): "()"
        case UInt8(ascii: "v"): "..."
        case UInt8(ascii: "x"): "i64"
        case UInt8(ascii: "y"): "u64"
        case UInt8(ascii: "z"): "!"
        default: nil
        }
    }

    /// `<type>`: basic types, structural types, named types (paths) and backrefs.
    mutating func type() throws {
        let tagPosition = pos
        let tag = try next()
        if let name = Self.basicTypeName(tag) {
            emit(name)
            return
        }
        try enter()
        defer { leave() }
        switch tag {
        case UInt8(ascii: "R"):
            try referenceType(mutable: false)
        case UInt8(ascii: "Q"):
            try referenceType(mutable: true)
        case UInt8(ascii: "P"):
            emit("*const ")
            try type()
        case UInt8(ascii: "O"):
            emit("*mut ")
            try type()
        case UInt8(ascii: "A"):
            try arrayType()
        case UInt8(ascii: "S"):
            emit("[")
            try type()
            emit("]")
        case UInt8(ascii: "T"):
            try tupleType()
        case UInt8(ascii: "F"):
            try fnSig()
        case UInt8(ascii: "D"):
            try dynType()
        case UInt8(ascii: "W"):
            // Pattern types (`u32 is 1..=9`), still unstable but already mangled by rustc.
            try type()
            emit(" is ")
            try pattern()
        case UInt8(ascii: "B"):
            try typeBackref(tagPosition: tagPosition)
        default:
            pos = tagPosition
            try path(inValue: false)
        }
    }

    /// `"R" [<lifetime>] <type>` / `"Q" [<lifetime>] <type>`; the erased lifetime is not printed.
    mutating func referenceType(mutable: Bool) throws {
        try enter()
        defer { leave() }
        emit("&")
        if eat("L") {
            let lifetime = try base62()
            if lifetime != 0 {
                try emit(lifetime: lifetime)
                emit(" ")
            }
        }
        if mutable { emit("mut ") }
        try type()
    }

    /// `"A" <type> <const>`.
    mutating func arrayType() throws {
        try enter()
        defer { leave() }
        emit("[")
        try type()
        emit("; ")
        try const(inValue: true)
        emit("]")
    }

    /// `"T" {<type>} "E"`; a one-element tuple keeps its trailing comma.
    mutating func tupleType() throws {
        try enter()
        defer { leave() }
        emit("(")
        var count = 0
        while !eat("E") {
            if count > 0 { emit(", ") }
            try type()
            count += 1
        }
        if count == 1 { emit(",") }
        emit(")")
    }

    /// `"D" <dyn-bounds> <lifetime>`; only a named (non-erased) lifetime bound is printed.
    mutating func dynType() throws {
        try enter()
        defer { leave() }
        try dynBounds()
        guard eat("L") else { throw V0Invalid() }
        let lifetime = try base62()
        if lifetime != 0 {
            emit(" + ")
            try emit(lifetime: lifetime)
        }
    }

    mutating func typeBackref(tagPosition: Int) throws {
        try enter()
        defer { leave() }
        guard let target = try backref(tagPosition: tagPosition) else { return }
        let resume = pos
        pos = target
        defer { pos = resume }
        try type()
    }

    /// `<binder> = "G" <base-62-number>`, printed as `for<'a, 'b> `. The caller restores `boundLifetimes`.
    mutating func optionalBinder() throws {
        let count = try optionalBase62(tag: "G")
        guard count > 0 else { return }
        // Every bound lifetime must be referenced later by at least one byte, so a binder larger than the rest of the
        // input is bogus; rejecting it stops a few bytes from printing billions of lifetime names.
        guard count < UInt64(end - base - boundLifetimes) else { throw V0Invalid() }
        emit("for<")
        for index in 0..<Int(count) {
            if index > 0 { emit(", ") }
            boundLifetimes += 1
            try emit(lifetime: 1)
        }
        emit("> ")
    }

    /// `<fn-sig> = [<binder>] ["U"] ["K" <abi>] {<type>} "E" <type>`.
    mutating func fnSig() throws {
        try enter()
        defer { leave() }
        let savedLifetimes = boundLifetimes
        defer { boundLifetimes = savedLifetimes }
        try optionalBinder()
        if eat("U") { emit("unsafe ") }
        if eat("K") {
            emit("extern \"")
            if eat("C") {
                emit("C")
            } else {
                let abi = try identifier()
                guard !abi.punycode, !abi.isEmpty else { throw V0Invalid() }
                // The mangler spells `-` as `_` (e.g. `C-unwind` becomes `C_unwind`).
                for index in abi.start..<abi.end {
                    emit(byte: bytes[index] == Self.underscore ? 0x2D : bytes[index])
                }
            }
            emit("\" ")
        }
        emit("fn(")
        var count = 0
        while !eat("E") {
            if count > 0 { emit(", ") }
            try type()
            count += 1
        }
        emit(")")
        // A unit return type is implicit in Rust syntax.
        if !eat("u") {
            emit(" -> ")
            try type()
        }
    }

    /// `<dyn-bounds> = [<binder>] {<dyn-trait>} "E"`.
    mutating func dynBounds() throws {
        try enter()
        defer { leave() }
        let savedLifetimes = boundLifetimes
        defer { boundLifetimes = savedLifetimes }
        emit("dyn ")
        try optionalBinder()
        var count = 0
        while !eat("E") {
            if count > 0 { emit(" + ") }
            try dynTrait()
            count += 1
        }
    }

    /// `<dyn-trait> = <path> {"p" <undisambiguated-identifier> <type>}`: associated type bindings join the trait's
    /// own generic args, as in `Fn<(u8,), Output = u8>`.
    mutating func dynTrait() throws {
        try enter()
        defer { leave() }
        var open = try path(inValue: false, leaveOpen: true)
        while eat("p") {
            emit(open ? ", " : "<")
            open = true
            try emit(ident: identifier())
            emit(" = ")
            try type()
        }
        if open { emit(">") }
    }

    /// `<const>`: integers, bools, chars and placeholders (all LLVM knows), plus the structural consts of
    /// `adt_const_params` (`&str` literals, references, arrays, tuples, enum variants and structs).
    /// `inValue` is false in generic-argument position, where a bare `str` value needs a `*` to be well-typed.
    mutating func const(inValue: Bool) throws {
        try enter()
        defer { leave() }
        let tagPosition = pos
        let tag = try next()
        switch tag {
        case UInt8(ascii: "p"):
            emit("_")
        case UInt8(ascii: "h"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "y"), UInt8(ascii: "o"),
            UInt8(ascii: "j"):
            try constInteger()
        case UInt8(ascii: "a"), UInt8(ascii: "s"), UInt8(ascii: "l"), UInt8(ascii: "x"), UInt8(ascii: "n"),
            UInt8(ascii: "i"):
            if eat("n") { emit("-") }
            try constInteger()
        case UInt8(ascii: "b"):
            try constBool()
        case UInt8(ascii: "c"):
            try constChar()
        case UInt8(ascii: "e"):
            if !inValue { emit("*") }
            try constStringLiteral()
        case UInt8(ascii: "R"):
            // `&"..."` is printed as the literal itself.
            if eat("e") {
                try constStringLiteral()
            } else {
                emit("&")
                try const(inValue: true)
            }
        case UInt8(ascii: "Q"):
            emit("&mut ")
            try const(inValue: true)
        case UInt8(ascii: "A"):
            emit("[")
            try constList()
            emit("]")
        case UInt8(ascii: "T"):
            emit("(")
            if try constList() == 1 { emit(",") }
            emit(")")
        case UInt8(ascii: "V"):
            try constVariant()
        case UInt8(ascii: "B"):
            try constBackref(tagPosition: tagPosition, inValue: inValue)
        default:
            throw V0Invalid()
        }
    }

    /// `"b" <hex>`: only `0_` and `1_` are booleans.
    mutating func constBool() throws {
        let digits = try hexDigits(canonical: true)
        guard digits.count == 1 else { throw V0Invalid() }
        switch bytes[digits.lowerBound] {
        case UInt8(ascii: "0"): emit("false")
        case UInt8(ascii: "1"): emit("true")
        default: throw V0Invalid()
        }
    }

    /// `"V" <path> ("U" | "T" {<const>} "E" | "S" {<identifier> <const>} "E")`: unit, tuple-like and struct-like
    /// enum variants or structs.
    mutating func constVariant() throws {
        try enter()
        defer { leave() }
        try path(inValue: true)
        switch try next() {
        case UInt8(ascii: "U"):
            break
        case UInt8(ascii: "T"):
            emit("(")
            try constList()
            emit(")")
        case UInt8(ascii: "S"):
            emit(" { ")
            var count = 0
            while !eat("E") {
                if count > 0 { emit(", ") }
                _ = try optionalBase62(tag: "s")
                try emit(ident: identifier())
                emit(": ")
                try const(inValue: true)
                count += 1
            }
            emit(" }")
        default:
            throw V0Invalid()
        }
    }

    mutating func constBackref(tagPosition: Int, inValue: Bool) throws {
        try enter()
        defer { leave() }
        guard let target = try backref(tagPosition: tagPosition) else { return }
        let resume = pos
        pos = target
        defer { pos = resume }
        try const(inValue: inValue)
    }

    /// Comma-separated consts up to `E`; returns how many there were.
    @discardableResult
    mutating func constList() throws -> Int {
        try enter()
        defer { leave() }
        var count = 0
        while !eat("E") {
            if count > 0 { emit(", ") }
            try const(inValue: true)
            count += 1
        }
        return count
    }

    /// Integers print in decimal when they fit in 64 bits and as raw hex otherwise (both demanglers agree).
    mutating func constInteger() throws {
        let digits = try hexDigits(canonical: true)
        if digits.count <= 16 {
            emit(decimal: hexValue(digits))
        } else {
            emit("0x")
            emit(range: digits)
        }
    }

    /// Char consts follow LLVM's spelling: a few backslash escapes, printable ASCII as is, anything else `\u{..}`.
    mutating func constChar() throws {
        let digits = try hexDigits(canonical: true)
        guard digits.count <= 6 else { throw V0Invalid() }
        let value = hexValue(digits)
        guard value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else { throw V0Invalid() }
        emit("'")
        switch value {
        case 0x09: emit("\\t")
        case 0x0D: emit("\\r")
        case 0x0A: emit("\\n")
        case 0x5C: emit("\\\\")
        case 0x27: emit("\\'")
        case 0x20...0x7E: emit(byte: UInt8(value))
        default:
            emit("\\u{")
            emit(range: digits)
            emit("}")
        }
        emit("'")
    }

    /// A `str` const: hex-encoded UTF-8 bytes, printed as a quoted, escaped literal.
    mutating func constStringLiteral() throws {
        let digits = try hexDigits(canonical: false)
        guard digits.count % 2 == 0 else { throw V0Invalid() }
        guard printing else { return }
        var utf8: [UInt8] = []
        utf8.reserveCapacity(digits.count / 2)
        var index = digits.lowerBound
        while index < digits.upperBound {
            utf8.append(UInt8(hexValue(index..<(index + 2))))
            index += 2
        }
        let text = String(decoding: utf8, as: UTF8.self)
        // `String(decoding:)` repairs invalid UTF-8; a mismatch means the bytes were not a valid `str`.
        guard text.utf8.elementsEqual(utf8) else { throw V0Invalid() }
        emit("\"")
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x09: emit("\\t")
            case 0x0D: emit("\\r")
            case 0x0A: emit("\\n")
            case 0x5C: emit("\\\\")
            case 0x22: emit("\\\"")
            case 0x00: emit("\\0")
            case 0x20...0x7E: emit(byte: UInt8(scalar.value))
            case 0x01..<0x20, 0x7F..<0xA0:
                emit("\\u{")
                out.append(contentsOf: String(scalar.value, radix: 16).utf8)
                emit("}")
            default:
                out.append(contentsOf: String(scalar).utf8)
            }
        }
        emit("\"")
    }

    /// Pattern of a pattern type: `R <const> <const>` (inclusive range), `O {<pattern>} E` (or-pattern),
    /// `N` (non-null).
    mutating func pattern() throws {
        try enter()
        defer { leave() }
        switch try next() {
        case UInt8(ascii: "R"):
            try const(inValue: false)
            emit("..=")
            try const(inValue: false)
        case UInt8(ascii: "O"):
            var count = 0
            while !eat("E") {
                if count > 0 { emit(" | ") }
                try pattern()
                count += 1
            }
        case UInt8(ascii: "N"):
            emit("!null")
        default:
            throw V0Invalid()
        }
    }

    // MARK: Punycode

    /// Decodes a v0 punycode identifier (RFC 3492 with `_` instead of `-` as the delimiter) to UTF-8; nil if malformed.
    /// Everything before the last `_` is literal ASCII, everything after it encodes the insertions.
    static func decodePunycode(_ input: ArraySlice<UInt8>) -> [UInt8]? {
        guard input.count <= maxPunycodeLength else { return nil }
        var scalars: [UInt32] = []
        var index = input.startIndex
        if let delimiter = input.lastIndex(of: underscore) {
            for byte in input[input.startIndex..<delimiter] {
                scalars.append(UInt32(byte))
            }
            index = delimiter + 1
        }

        let base = 36
        let tMin = 1
        let tMax = 26
        let skew = 38
        var damp = 700
        var bias = 72
        var codePoint = 0x80
        var position = 0

        func adapt(_ delta: Int, _ numPoints: Int) -> Int {
            var delta = delta / damp
            damp = 2
            delta += delta / numPoints
            var k = 0
            while delta > ((base - tMin) * tMax) / 2 {
                delta /= base - tMin
                k += base
            }
            return k + ((base - tMin + 1) * delta) / (delta + skew)
        }

        // Values stay far below Int.max because the input length is capped, but guard against overflow anyway.
        let limit = Int(Int32.max)
        while index < input.endIndex {
            let oldPosition = position
            var weight = 1
            var k = base
            while true {
                guard index < input.endIndex else { return nil }
                let byte = input[index]
                index += 1
                let digit: Int
                if isLower(byte) {
                    digit = Int(byte - 0x61)
                } else if isDigit(byte) {
                    digit = Int(byte - 0x30) + 26
                } else {
                    return nil
                }
                guard digit <= (limit - position) / weight else { return nil }
                position += digit * weight
                let threshold = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                if digit < threshold { break }
                guard weight <= limit / (base - threshold) else { return nil }
                weight *= base - threshold
                k += base
            }
            let numPoints = scalars.count + 1
            bias = adapt(position - oldPosition, numPoints)
            guard position / numPoints <= limit - codePoint else { return nil }
            codePoint += position / numPoints
            position %= numPoints
            guard codePoint <= 0x10FFFF, !(0xD800...0xDFFF).contains(codePoint) else { return nil }
            scalars.insert(UInt32(codePoint), at: position)
            position += 1
        }

        var utf8: [UInt8] = []
        utf8.reserveCapacity(scalars.count * 2)
        for value in scalars {
            guard let scalar = Unicode.Scalar(value) else { return nil }
            utf8.append(contentsOf: String(scalar).utf8)
        }
        return utf8
    }
}
