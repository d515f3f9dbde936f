import Foundation
import Testing

@testable import ProfhistKit

@Suite("frame names and leaves")
struct FrameNameTests {
    @Test("Rust legacy names: escapes decoded, hash and LLVM suffix removed")
    func rustLegacy() {
        // As llvm-symbolizer prints them (Itanium-demangled, Rust escapes left in place).
        #expect(
            FrameName.normalize("hashbrown::raw::RawTable$LT$T$C$A$GT$::reserve_rehash::h32fafac142b97ee8 (.llvm.5327965363690796227)")
                == "hashbrown::raw::RawTable<T,A>::reserve_rehash")
        #expect(
            FrameName.normalize("_$LT$u8$u20$as$u20$alloc..vec..spec_from_elem..SpecFromElem$GT$::from_elem::h0123456789abcdef")
                == "<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem")
        #expect(FrameName.normalize("leak::boxed::_$u7b$$u7b$closure$u7d$$u7d$::h0123456789abcdef") == "leak::boxed::{{closure}}")
        // Raw symbols from the ELF table.
        #expect(FrameName.fromSymbol("_ZN4core3ptr13drop_in_place17h0123456789abcdefE") == "core::ptr::drop_in_place")
        #expect(FrameName.fromSymbol("_ZN4leak5Cache4fill17hd7b8d6b3ac0e2e1fE.llvm.123") == "leak::Cache::fill")
    }

    @Test("Rust v0 closures and turbofish arguments take the legacy form, so either scheme gives one name")
    func rustSchemes() {
        #expect(FrameName.normalize("leaky2::boxed::<u64>::{closure#0}") == "leaky2::boxed::{{closure}}")
        #expect(FrameName.normalize("std::rt::lang_start_internal::{closure#0}") == "std::rt::lang_start_internal::{{closure}}")
        #expect(FrameName.normalize("<[u8; 4] as leaky::Maker>::make") == "<[u8; 4] as leaky::Maker>::make")
        #expect(FrameName.normalize("std::vector<int, std::allocator<int> >::push_back(int const&)") == "std::vector<int, std::allocator<int> >::push_back(int const&)")
    }

    @Test("C and C++ names: versions, clone suffixes and parameter lists")
    func cAndCxx() {
        #expect(FrameName.fromSymbol("memcpy@@GLIBC_2.14") == "memcpy")
        #expect(FrameName.fromSymbol("compute.constprop.0") == "compute")
        #expect(FrameName.fromSymbol("compute.cold") == "compute")
        #expect(FrameName.fromSymbol("_ZN3foo3barEi") == "foo::bar(int)")
        #expect(FrameName.normalize("foo::bar(int) [clone .isra.0]") == "foo::bar(int)")
        #expect(FrameName.normalize("run(std::function<void (...)>)") == "run(std::function<void (...)>)")
        #expect(FrameName.fromSymbol("main") == "main")
    }

    @Test("inherent impls lose their brackets, trait impls keep them")
    func inherentImpl() {
        #expect(FrameName.normalize("<hashbrown::raw::RawTableInner>::set_ctrl") == "hashbrown::raw::RawTableInner::set_ctrl")
        #expect(FrameName.normalize("<[u8; 4] as leak::Maker>::make") == "<[u8; 4] as leak::Maker>::make")
        #expect(FrameName.normalize("<alloc::vec::Vec<T> as core::clone::Clone>::clone") == "<alloc::vec::Vec<T> as core::clone::Clone>::clone")
        #expect(FrameName.normalize("<&mut W as core::fmt::Write>::write_str") == "<&mut W as core::fmt::Write>::write_str")
    }

    @Test("leaf: cut at the outermost allocator frame, then skip allocation machinery")
    func leaf() {
        let plumbing = Plumbing()
        func leaf(_ names: [String]) -> String { names[plumbing.leafIndex(of: names.map(plumbing.level(of:)))] }
        #expect(leaf(["_start", "main", "big_buffers", "libjemalloc.so.2+0x1234", "libjemalloc.so.2+0x99"]) == "big_buffers")
        #expect(leaf(["main", "load", "strdup", "malloc", "je_prof_backtrace"]) == "strdup")
        #expect(
            leaf([
                "main", "leak::main", "core::iter::traits::iterator::Iterator::collect",
                "<alloc::vec::Vec<T> as alloc::vec::spec_from_iter::SpecFromIter<T,I>>::from_iter", "alloc::alloc::alloc",
                "_rjem_je_malloc_default", "_rjem_je_prof_backtrace",
            ]) == "leak::main")
        #expect(leaf(["main", "app::run", "<[u8; 4] as app::Maker>::make", "alloc::vec::from_elem", "__rust_alloc", "malloc"]) == "<[u8; 4] as app::Maker>::make")
        #expect(leaf(["main", "Parser::parse", "std::vector<int, std::allocator<int> >::_M_realloc_insert", "operator new(unsigned long)", "malloc"]) == "Parser::parse")
        // Nothing but machinery down to the root: the innermost frame after the cut.
        #expect(leaf(["core::ops::function::FnOnce::call_once", "alloc::alloc::alloc", "malloc"]) == "alloc::alloc::alloc")
        #expect(leaf(["libjemalloc.so.2+0x1"]) == "libjemalloc.so.2+0x1")
    }
}
