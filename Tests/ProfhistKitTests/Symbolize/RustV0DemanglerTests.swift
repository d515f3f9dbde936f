import Testing

@testable import ProfhistKit

/// One ground-truth pair: a symbol rustc 1.95 emitted with `-C symbol-mangling-version=v0`, and what LLVM 21's
/// demangler (`llvm-nm -C`, same output as llvm-cxxfilt) printed for it.
struct V0Case: Sendable, CustomTestStringConvertible {
    let mangled: String
    let expected: String

    init(_ mangled: String, _ expected: String) {
        self.mangled = mangled
        self.expected = expected
    }

    var testDescription: String { expected }
}

@Suite("Rust v0 demangling")
struct RustV0DemanglerTests {
    /// Real symbols from small programs exercising the features profiles actually show: trait impls on arrays,
    /// slices and references, inherent impls, closures, vtable shims, const generics of every scalar kind, tuples,
    /// fn pointers with binders and ABIs, dyn traits with associated type bindings, punycode identifiers, deep
    /// std generics full of backrefs, and a ThinLTO `.llvm.` suffix.
    static let realSymbols: [V0Case] = [
        V0Case("_RNvXCsc4rgPbzihrK_4semiAhj4_NtB2_5Maker4make", "<[u8; 4] as semi::Maker>::make"),
        V0Case("_RNvXs_Csc4rgPbzihrK_4semiReNtB4_5Maker4make", "<&str as semi::Maker>::make"),
        V0Case("_RNvXs_Cs8t6fv6YXsKh_6exoticQShNtB4_7Greeter4nameB4_", "<&mut [u8] as exotic::Greeter>::name"),
        V0Case(
            "_RNvYNtCs8t6fv6YXsKh_6exoticu13ncd_ska2e7a5dNtB4_7Greeter5greetB4_",
            "<exotic::Ünïcødé as exotic::Greeter>::greet"
        ),
        V0Case("_RNvMNtNtCsc4rgPbzihrK_4semi5inner6deeperNtB2_5Thing5total", "<semi::inner::deeper::Thing>::total"),
        V0Case(
            "_RNCNvMNtNtCsc4rgPbzihrK_4semi5inner6deeperNtB4_5Thing5total0B8_",
            "<semi::inner::deeper::Thing>::total::{closure#0}"
        ),
        V0Case("_RNvCsc4rgPbzihrK_4semiu9gre_6ka8l", "semi::grüße"),
        V0Case(
            "_RINvCsc4rgPbzihrK_4semiu10wgv71a119eINtNtCslNYArtu3iFV_5alloc3vec3VecaEEB2_",
            "semi::日本語::<alloc::vec::Vec<i8>>"
        ),
        V0Case(
            "_RNvMNtCs8t6fv6YXsKh_6exoticu9and_6ma2cINtB2_u5bca4cjE3dupB4_",
            "<exotic::ñandú::Çà<usize>>::dup"
        ),
        V0Case("_RINvCsc4rgPbzihrK_4semi5applyNCNvB2_4mains1_0EB2_", "semi::apply::<semi::main::{closure#3}>"),
        V0Case("_RNCNKNvCsc4rgPbzihrK_4semi2TL00B5_", "semi::TL::{K#0}::{closure#0}"),
        V0Case(
            "_RNSNvYNCNvCsc4rgPbzihrK_4semi4mains3_0INtNtNtCsgEmfK2I1SDS_4core3ops8function6FnOnceTlEE9call_once"
                + "6vtableB8_",
            "<semi::main::{closure#5} as core::ops::function::FnOnce<(i32,)>>::call_once::{shim:vtable#0}"
        ),
        V0Case("_RNvMs1_Csc4rgPbzihrK_4semiINtB5_6SignedKln5_E3getB5_", "<semi::Signed<-5>>::get"),
        V0Case("_RNvMs2_Csc4rgPbzihrK_4semiINtB5_4FlagKb1_Kcdf_E4showB5_", "<semi::Flag<true, '\\u{df}'>>::show"),
        V0Case("_RINvCs8t6fv6YXsKh_6exotic5charsKc27_Kc20ac_EB2_", "exotic::chars::<'\\'', '\\u{20ac}'>"),
        V0Case(
            "_RINvCs8t6fv6YXsKh_6exotic4intsKan80_Kyffffffffffffffff_Knn80000000000000000000000000000000_Ki0_EB2_",
            "exotic::ints::<-128, 18446744073709551615, -0x80000000000000000000000000000000, 0>"
        ),
        V0Case(
            "_RINvCsc4rgPbzihrK_4semi9big_constKofffffffffffffffffffffffffffffffc_EB2_",
            "semi::big_const::<0xfffffffffffffffffffffffffffffffc>"
        ),
        V0Case("_RNvMs1_Cs8t6fv6YXsKh_6exoticINtB5_6MatrixKj2_Kj3_E5traceB5_", "<exotic::Matrix<2, 3>>::trace"),
        V0Case("_RINvCsc4rgPbzihrK_4semi11tuple_thinguAtj2_EB2_", "semi::tuple_thing::<(), [u16; 2]>"),
        V0Case("_RINvCs4u4lSCC4rDD_5types2tnThEEB2_", "types::tn::<(u8,)>"),
        V0Case(
            "_RINvCs4u4lSCC4rDD_5types2tnTuTasEAdj0_AAfj2_j3_EEB2_",
            "types::tn::<((), (i8, i16), [f64; 0], [[f32; 2]; 3])>"
        ),
        V0Case(
            "_RINvCs4u4lSCC4rDD_5types2tnQSPOINtNtCsgEmfK2I1SDS_4core6option6OptionyEEB2_",
            "types::tn::<&mut [*const *mut core::option::Option<u64>]>"
        ),
        V0Case(
            "_RINvCs4u4lSCC4rDD_5types2tnFG0_RL1_hQL0_tERL1_hEB2_",
            "types::tn::<for<'a, 'b> fn(&'a u8, &'b mut u16) -> &'a u8>"
        ),
        V0Case(
            "_RINvCs4u4lSCC4rDD_5types2tnFG_UK8C_unwindRL0_ShvEORL0_eEB2_",
            "types::tn::<for<'a> unsafe extern \"C-unwind\" fn(&'a [u8], ...) -> *mut &'a str>"
        ),
        V0Case(
            "_RINvCs4u4lSCC4rDD_5types2tnFK6systemnoiEuEB2_",
            "types::tn::<extern \"system\" fn(i128, u128, isize)>"
        ),
        V0Case("_RINvCs4u4lSCC4rDD_5types2tnFUEzEB2_", "types::tn::<unsafe fn() -> !>"),
        V0Case(
            "_RNvMs3_NtCslNYArtu3iFV_5alloc7raw_vecINtB5_6RawVecTOhFUKCBN_EuENtNtCsjrHSEGnQ3l9_3std5alloc6SystemE"
                + "8grow_oneB13_",
            "<alloc::raw_vec::RawVec<(*mut u8, unsafe extern \"C\" fn(*mut u8)), std::alloc::System>>::grow_one"
        ),
        V0Case(
            "_RINvCs4u4lSCC4rDD_5types2tnDG_INtB2_2TrL0_Ep1BRL0_ep1AhEL_EB2_",
            "types::tn::<dyn for<'a> types::Tr<'a, B = &'a str, A = u8>>"
        ),
        V0Case(
            "_RINvCs4u4lSCC4rDD_5types2tnINtNtCslNYArtu3iFV_5alloc5boxed3BoxDNtNtNtNtCsgEmfK2I1SDS_4core4iter6traits"
                + "8iterator8Iteratorp4ItemTcbEEL_EEB2_",
            "types::tn::<alloc::boxed::Box<dyn core::iter::traits::iterator::Iterator<Item = (char, bool)>>>"
        ),
        V0Case(
            "_RNvXsv_NtCslNYArtu3iFV_5alloc5boxedINtB5_3BoxDG_INtNtNtCsgEmfK2I1SDS_4core3ops8function2FnTRL0_eEE"
                + "p6OutputNtNtB7_6string6StringNtNtBR_6marker4SendEL_EIBL_TReEE4callCsc4rgPbzihrK_4semi",
            "<alloc::boxed::Box<dyn for<'a> core::ops::function::Fn<(&'a str,), Output = alloc::string::String>"
                + " + core::marker::Send> as core::ops::function::Fn<(&str,)>>::call"
        ),
        V0Case(
            "_RNCINvMs0_NtNtCsjrHSEGnQ3l9_3std4sync4onceNtB8_4Once9call_onceNCNvNtBc_2rt7cleanup0E0Bc_",
            "<std::sync::once::Once>::call_once::<std::rt::cleanup::{closure#0}>::{closure#0}"
        ),
        V0Case(
            "_RNSNvYNCINvMs0_NtNtCsjrHSEGnQ3l9_3std4sync4onceNtBd_4Once15call_once_forceNCINvMNtBf_9once_lock"
                + "INtB1g_8OnceLockINtNtBf_14reentrant_lock13ReentrantLockINtNtCsgEmfK2I1SDS_4core4cell7RefCell"
                + "INtNtNtNtBh_2io8buffered10linewriter10LineWriterNtNtB36_5stdio9StdoutRawEEEE10initialize"
                + "NCINvB1f_11get_or_initNCNvB3N_6stdout0E0zE0E0INtNtNtB2t_3ops8function6FnOnceTRNtBd_9OnceStateEE"
                + "9call_once6vtableBh_",
            "<<std::sync::once::Once>::call_once_force<<std::sync::once_lock::OnceLock<"
                + "std::sync::reentrant_lock::ReentrantLock<core::cell::RefCell<"
                + "std::io::buffered::linewriter::LineWriter<std::io::stdio::StdoutRaw>>>>>::initialize<"
                + "<std::sync::once_lock::OnceLock<std::sync::reentrant_lock::ReentrantLock<core::cell::RefCell<"
                + "std::io::buffered::linewriter::LineWriter<std::io::stdio::StdoutRaw>>>>>::get_or_init<"
                + "std::io::stdio::stdout::{closure#0}>::{closure#0}, !>::{closure#0}>::{closure#0} as "
                + "core::ops::function::FnOnce<(&std::sync::once::OnceState,)>>::call_once::{shim:vtable#0}"
        ),
        V0Case(
            "_RNSNvYNCINvNtCsjrHSEGnQ3l9_3std2rt10lang_startuE0INtNtNtCsgEmfK2I1SDS_4core3ops8function6FnOnceuE"
                + "9call_once6vtableCsc4rgPbzihrK_4semi.llvm.5250148563856054844",
            "<std::rt::lang_start<()>::{closure#0} as core::ops::function::FnOnce<()>>::call_once::{shim:vtable#0}"
        ),
    ]

    @Test("real rustc symbols match llvm-cxxfilt", arguments: realSymbols)
    func realSymbol(_ sample: V0Case) {
        #expect(RustV0Demangler.demangle(sample.mangled) == sample.expected)
    }

    @Test("the R and __R spellings of the prefix demangle like _R")
    func prefixSpellings() {
        let body = "NvCsc4rgPbzihrK_4semiu9gre_6ka8l"
        #expect(RustV0Demangler.demangle("_R" + body) == "semi::grüße")
        #expect(RustV0Demangler.demangle("R" + body) == "semi::grüße")
        #expect(RustV0Demangler.demangle("__R" + body) == "semi::grüße")
        #expect(RustV0Demangler.demangle("___R" + body) == nil)
    }

    @Test("vendor suffixes are dropped", arguments: [".llvm.9D1C9369", ".llvm.123@@16", ".cold", ".0.0", "$tail"])
    func vendorSuffix(_ suffix: String) {
        #expect(RustV0Demangler.demangle("_RNvC9backtrace3foo" + suffix) == "backtrace::foo")
    }

    static let notV0Names = [
        "", "_R", "R", "__R", "main", "Rust", "_ZN3foo3barE", "_ZN4core3ptr13drop_in_place17h0123456789abcdefE",
        "_R0NvC3foo3bar",  // encoding versions other than the implicit one
        "_RNvC3foo3barX",  // trailing garbage that is not a path
        "_RNvC3foo3bar ",  // byte outside the mangling alphabet
        "_RNvC3foo3bär",  // non-ASCII inside the mangled part
        "_Rnope",
    ]

    @Test("names that are not v0 are rejected", arguments: notV0Names)
    func notV0(_ symbol: String) {
        #expect(RustV0Demangler.demangle(symbol) == nil)
    }

    @Test("const generics newer than LLVM's demangler print like rustc-demangle")
    func structuralConsts() {
        #expect(RustV0Demangler.demangle("_RINvC7mycrate3fooKRe616263_E") == "mycrate::foo::<\"abc\">")
        #expect(RustV0Demangler.demangle("_RINvC7mycrate3fooKe616263_E") == "mycrate::foo::<*\"abc\">")
        #expect(RustV0Demangler.demangle("_RINvC7mycrate3fooKAh1_h2_EE") == "mycrate::foo::<[1, 2]>")
        #expect(RustV0Demangler.demangle("_RINvC7mycrate3fooKTh1_b0_EE") == "mycrate::foo::<(1, false)>")
        #expect(
            RustV0Demangler.demangle("_RINvC7mycrate3fooKVNtC7mycrate3FooS1xh1_1yb1_EE")
                == "mycrate::foo::<mycrate::Foo { x: 1, y: true }>"
        )
        #expect(
            RustV0Demangler.demangle("_RINvC7mycrate3fooKVNtC7mycrate3FooTh1_EE") == "mycrate::foo::<mycrate::Foo(1)>"
        )
        // Pattern types (unstable `pattern_type!`), as in rustc's own codegen test.
        #expect(
            RustV0Demangler.demangle("_RINvC7mycrate3fooWmRm0_m3b9ac9ff_E") == "mycrate::foo::<u32 is 0..=999999999>"
        )
    }

    @Test("hand-written edge cases")
    func edgeCases() {
        // Identifiers starting with a digit carry a `_` separator after their length.
        #expect(RustV0Demangler.demangle("_RNvC6_123foo3bar") == "123foo::bar")
        // Punycode with a literal ASCII prefix before the last `_`.
        #expect(
            RustV0Demangler.demangle("_RNqCs4fqI2P2rA04_11utf8_identsu30____7hkackfecea1cbdathfdh9hlq6y")
                == "utf8_idents::საჭმელად_გემრიელი_სადილი"
        )
        // Backrefs may expand to far more text than the input: 6 nested self-references give 2^6 placeholders.
        let exploded = RustV0Demangler.demangle("_RMC0TTTTTTpB8_EB7_EB6_EB5_EB4_EB3_E")
        #expect(exploded?.filter { $0 == "_" }.count == 64)
        // More than 26 bound lifetimes continue as 'z1, 'z2, ... (the padded crate name keeps the binder plausible:
        // a binder may not bind more lifetimes than there are bytes left to use them).
        #expect(
            RustV0Demangler.demangle("_RMC30aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaFGq_RLr_hEu")
                == "<for<'a, 'b, 'c, 'd, 'e, 'f, 'g, 'h, 'i, 'j, 'k, 'l, 'm, 'n, 'o, 'p, 'q, 'r, 's, 't, 'u, 'v, 'w, "
                + "'x, 'y, 'z, 'z1, 'z2> fn(&'a u8)>"
        )
    }

    @Test("hostile inputs are rejected quickly instead of crashing or looping")
    func hostileInputs() {
        let hostile = [
            "_RMC0" + String(repeating: "S", count: 100_000) + "u",  // nesting far past the depth bound
            "_RNvC1a" + String(repeating: "Nv", count: 50_000),
            "_R" + String(repeating: "X", count: 50_000),
            "_RNvB_3foo",  // backref to itself
            "_RNvB0_3foo",  // backref forward
            "_RMC0B1_",
            "_RMC0FGzzzzzzzzzz_Eu",  // binder with billions of lifetimes
            "_RMC0RL0_u",  // lifetime index not bound by any binder
            "_RNvC3foou" + String(repeating: "9", count: 30) + "_a",  // identifier length overflows
            "_RNvC3foou2AB",  // punycode digits outside [a-z0-9]
            "_RMC0FGq_RLr_hEu",  // binder larger than the rest of the input
            "_RINvC1a1bKc110000_E",  // char beyond U+10FFFF
            "_RINvC1a1bKcd800_E",  // surrogate char
            "_RINvC1a1bKj00_E",  // non-canonical integer
            "_RINvC1a1bKb2_E",  // bool that is neither 0 nor 1
            "_RNvCs" + String(repeating: "z", count: 40) + "_3foo3bar",  // base-62 overflow
        ]
        for symbol in hostile {
            #expect(RustV0Demangler.demangle(symbol) == nil, "\(symbol.prefix(40))")
        }
        // Forty nested self-referencing tuples would print 2^40 placeholders; the output cap stops it.
        var exponential = "_RMC0" + String(repeating: "T", count: 40) + "p"
        for offset in (3..<43).reversed() {
            exponential += "B" + Self.base62(offset) + "E"
        }
        #expect(RustV0Demangler.demangle(exponential) == nil)
    }

    @Test("every strict prefix of a symbol that ends in its own identifier is rejected")
    func truncatedSymbols() {
        let symbols = [
            "_RNvCsc4rgPbzihrK_4semiu9gre_6ka8l",
            "_RNvXCsc4rgPbzihrK_4semiAhj4_NtB2_5Maker4make",
            "_RNvMNtNtCsc4rgPbzihrK_4semi5inner6deeperNtB2_5Thing5total",
        ]
        for symbol in symbols {
            #expect(RustV0Demangler.demangle(symbol) != nil)
            for length in 0..<symbol.utf8.count {
                let prefix = String(decoding: symbol.utf8.prefix(length), as: UTF8.self)
                #expect(RustV0Demangler.demangle(prefix) == nil, "\(prefix)")
            }
        }
    }

    @Test("prefixes, mutations and random strings never crash")
    func fuzz() {
        var random = SplitMix64(seed: 0x5EED_0F_4A11)
        let alphabet = Array("_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        var accepted = 0
        for sample in Self.realSymbols {
            let bytes = Array(sample.mangled.utf8)
            // Every prefix: some are valid symbols in their own right (e.g. cut before the instantiating crate).
            for length in 0...bytes.count {
                if RustV0Demangler.demangle(String(decoding: bytes[..<length], as: UTF8.self)) != nil { accepted += 1 }
            }
            // Point mutations: replace, delete or insert a few bytes past the `_R`.
            for _ in 0..<200 {
                var mutated = bytes
                for _ in 0..<(1 + random.next(below: 3)) where mutated.count > 2 {
                    let index = 2 + random.next(below: mutated.count - 2)
                    switch random.next(below: 3) {
                    case 0: mutated[index] = alphabet[random.next(below: alphabet.count)]
                    case 1: mutated.remove(at: index)
                    default: mutated.insert(alphabet[random.next(below: alphabet.count)], at: index)
                    }
                }
                if RustV0Demangler.demangle(String(decoding: mutated, as: UTF8.self)) != nil { accepted += 1 }
            }
        }
        // Random strings over the mangling alphabet, and random bytes (including invalid UTF-8 after repair).
        for round in 0..<20_000 {
            var bytes: [UInt8] = Array("_R".utf8)
            for _ in 0..<random.next(below: 64) {
                if round % 2 == 0 {
                    bytes.append(alphabet[random.next(below: alphabet.count)])
                } else {
                    bytes.append(UInt8(random.next(below: 256)))
                }
            }
            if RustV0Demangler.demangle(String(decoding: bytes, as: UTF8.self)) != nil { accepted += 1 }
        }
        #expect(accepted > 0)
    }

    /// Encodes a backref target the way rustc does (`_` is 0, otherwise base-62 of value - 1, then `_`).
    static func base62(_ value: Int) -> String {
        guard value > 0 else { return "_" }
        let digits = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var rest = value - 1
        var text = ""
        repeat {
            text.insert(digits[rest % 62], at: text.startIndex)
            rest /= 62
        } while rest > 0
        return text + "_"
    }
}
