import Foundation

/// Decides which frames are allocator or runtime plumbing, to name a stack's leaf: the innermost frame that is
/// not plumbing, "who allocated" in one name. The stored stack always keeps every frame.
///
/// Two levels, as jeprof and pprof do it:
/// - `allocator`: allocator entry points and internals. Like jeprof's RemoveUninterestingFrames, the stack is
///   cut rootward of the *outermost* such frame, wherever it is.
/// - `machinery`: code that allocates on behalf of its caller (Rust `alloc::`, `core::`, collections; C++
///   `std::` containers and allocators). Skipped only while walking from the cut towards the root.
public struct Plumbing: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case none = 0, machinery = 1, allocator = 2
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    /// A rule: names equal to `exact`, or starting with `prefix`, are of `level`.
    public struct Rule: Sendable, Equatable {
        public var pattern: String
        public var isPrefix: Bool
        public var level: Level

        public init(pattern: String, isPrefix: Bool, level: Level) {
            self.pattern = pattern
            self.isPrefix = isPrefix
            self.level = level
        }
    }

    public var rules: [Rule]
    private var exact: [String: Level] = [:]
    private var prefixes: [(String, Level)] = []

    public init(rules: [Rule] = Plumbing.defaultRules) {
        self.rules = rules
        for rule in rules {
            if rule.isPrefix { prefixes.append((rule.pattern, rule.level)) } else { exact[rule.pattern] = max(exact[rule.pattern] ?? .none, rule.level) }
        }
        prefixes.sort { $0.0.count > $1.0.count }
    }

    /// The level of a frame name. `<A as B>::f` is judged by A, then by B (a trait impl of `alloc::` is
    /// machinery); C++ names are judged without their parameter list.
    public func level(of name: String) -> Level {
        if let level = exact[name] { return level }
        let bare = name.firstIndex(of: "(").map { String(name[..<$0]) } ?? name
        if let level = exact[bare], level > .none { return level }
        var best = Level.none
        for candidate in Plumbing.judgedNames(name) {
            for (prefix, level) in prefixes where level > best && candidate.hasPrefix(prefix) {
                best = level
            }
        }
        return best
    }

    /// The index (in a root-to-leaf list) of the leaf frame.
    public func leafIndex(of levels: [Level]) -> Int {
        guard !levels.isEmpty else { return 0 }
        // Cut rootward of the outermost allocator frame.
        var end = levels.count
        if let outermost = levels.firstIndex(of: .allocator) { end = outermost }
        guard end > 0 else { return levels.count - 1 }  // nothing but allocator frames: the outermost one
        var index = end - 1
        while index > 0 && levels[index] == .machinery { index -= 1 }
        // All machinery down to the root (runtime start-up code): the innermost frame after the cut.
        if levels[index] == .machinery { return end - 1 }
        return index
    }

    static func judgedNames(_ name: String) -> [String] {
        guard name.hasPrefix("<") else { return [name] }
        let inner = name.dropFirst()
        if let asRange = inner.range(of: " as ") {
            return [String(inner[..<asRange.lowerBound]), String(inner[asRange.upperBound...])]
        }
        return [String(inner)]
    }

    // MARK: - Defaults

    /// jeprof's list of allocator entry points (jemalloc 5.3.1), tcmalloc's, and the internals of jemalloc and
    /// of prefixed builds (`je_`, tikv-jemallocator's `_rjem_`), plus frames in the allocator libraries themselves
    /// (named `libjemalloc.so.2+0x...` when the library is stripped).
    public static let allocatorNames = [
        "malloc", "calloc", "realloc", "free", "cfree", "memalign", "posix_memalign", "aligned_alloc", "valloc",
        "pvalloc", "reallocarray", "malloc_usable_size", "mallocx", "rallocx", "xallocx", "dallocx", "sdallocx",
        "sdallocx_noflags", "nallocx", "newImpl", "void* newImpl", "operator new", "operator new[]",
        "operator new(unsigned long)", "operator new[](unsigned long)", "operator delete", "__builtin_new",
        "__builtin_vec_new", "__builtin_delete", "__builtin_vec_delete", "do_malloc", "je_malloc_default",
        "imalloc", "imalloc_body", "prof_alloc_prep", "prof_backtrace_impl", "je_prof_backtrace", "je_prof_tctx_create",
        "tc_calloc", "tc_malloc", "tc_realloc", "tc_memalign", "tc_posix_memalign", "tc_new", "tc_newarray",
        "tc_new_nothrow", "tc_newarray_nothrow", "__libc_malloc", "__libc_calloc", "__libc_realloc",
        "__rust_alloc", "__rust_alloc_zeroed", "__rust_realloc", "__rdl_alloc", "__rdl_alloc_zeroed", "__rdl_realloc",
        "__rg_alloc", "__rg_alloc_zeroed", "__rg_realloc", "malloc_default", "imalloc_fastpath", "prof_backtrace",
        "fallback_alloc", "__libc_memalign",
    ]

    public static let allocatorPrefixes = [
        "je_", "_rjem_", "libjemalloc.so", "libjemalloc_", "libtcmalloc", "tcmalloc::", "TCMalloc", "prof_backtrace",
        "operator new(", "operator new[](", "__rust_alloc", "__rdl_", "__rg_", "tikv_jemallocator::",
        "<tikv_jemallocator::", "jemallocator::", "<jemallocator::", "mimalloc::", "__rustc::__rust_", "__rustc::__rdl_",
        "__rustc::__rg_",
    ]

    /// Code that allocates on behalf of its caller: skipped when naming the leaf.
    public static let machineryPrefixes = [
        "alloc::", "core::", "std::alloc::", "std::sys::alloc", "std::collections::", "hashbrown::",
        "<alloc::", "<core::", "__gnu_cxx::new_allocator", "__gnu_cxx::__new_allocator", "std::allocator",
        "std::__new_allocator", "std::allocator_traits", "std::_Vector_base", "std::vector<", "std::__cxx11::basic_string",
        "std::basic_string", "std::_Hashtable", "std::__detail::", "std::_Rb_tree", "std::map<", "std::unordered_map<",
        "std::deque<", "std::_Deque_base", "std::__shared_count", "std::__allocated_ptr", "std::make_shared",
        "std::__make_shared", "std::shared_ptr<", "std::__shared_ptr<", "std::unique_ptr<", "std::make_unique",
        "std::__cxx11::list", "std::list<", "std::_List_base", "std::__uninitialized", "std::__do_uninit",
        "std::function<", "std::_Function_base",
        // async runtimes: an await stack's innermost user frame, and heap stacks allocating inside tokio
        "tokio::", "<tokio::", "futures::", "<futures::", "futures_util::", "<futures_util::", "futures_core::",
        "<futures_core::", "tokio_util::", "<tokio_util::", "tracing::instrument::", "<tracing::instrument::",
    ]

    public static let defaultRules: [Rule] =
        allocatorNames.map { Rule(pattern: $0, isPrefix: false, level: .allocator) }
        + allocatorPrefixes.map { Rule(pattern: $0, isPrefix: true, level: .allocator) }
        + machineryPrefixes.map { Rule(pattern: $0, isPrefix: true, level: .machinery) }
}
