// A small Rust program that allocates through several distinct call paths and writes real jemalloc heap dumps.
// Used by profhist's tests (demangling, hash stripping and stack identity across builds).
//
//   rustc -O -g -C force-frame-pointers=yes -C metadata=build1 leaky.rs -o leaky-rs -ljemalloc
//   LD_PRELOAD=libjemalloc.so.2 MALLOC_CONF=prof:true,lg_prof_sample:10 ./leaky-rs out/run PHASES LEAK_KIB
//
// Dumps `out/run.N.heap` after each of PHASES phases; `Registry::leak` keeps LEAK_KIB KiB more each phase.
use std::collections::HashMap;
use std::ffi::CString;
use std::os::raw::c_char;

extern "C" {
    fn mallctl(name: *const c_char, oldp: *mut u8, oldlenp: *mut usize, newp: *mut u8, newlen: usize) -> i32;
}

trait Maker {
    fn make(&self) -> Vec<u8>;
}

impl Maker for [u8; 4] {
    #[inline(never)]
    fn make(&self) -> Vec<u8> {
        vec![self[0]; 4096]
    }
}

struct Cache {
    map: HashMap<u64, Vec<u8>>,
}

impl Default for Cache {
    fn default() -> Self {
        Cache { map: HashMap::new() }
    }
}

impl Cache {
    #[inline(never)]
    fn fill(&mut self, n: u64) {
        for i in 0..n {
            self.map.insert(i, vec![1u8; 1000]);
        }
    }
}

struct Registry {
    entries: Vec<Box<[u8; 1024]>>,
}

impl Registry {
    #[inline(never)]
    fn leak(&mut self, kib: usize) {
        for _ in 0..kib {
            self.entries.push(Box::new([7u8; 1024]));
        }
    }
}

#[inline(never)]
fn boxed<T: Copy>(n: usize, value: T) -> Vec<Box<[T; 16]>> {
    (0..n).map(|_| Box::new([value; 16])).collect()
}

#[inline(never)]
fn strings(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("string number {i} with some text")).collect()
}

fn dump(prefix: &str, phase: usize) {
    let path = CString::new(format!("{prefix}.{phase}.heap")).expect("path");
    let mut pointer = path.as_ptr();
    let result = unsafe {
        mallctl(
            b"prof.dump\0".as_ptr() as *const c_char,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut pointer as *mut _ as *mut u8,
            std::mem::size_of::<*const c_char>(),
        )
    };
    assert_eq!(result, 0, "prof.dump failed: run with LD_PRELOAD=libjemalloc.so.2 MALLOC_CONF=prof:true");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: leaky-rs PREFIX PHASES LEAK_KIB");
        std::process::exit(64);
    }
    let phases: usize = args[2].parse().expect("PHASES");
    let leak_kib: usize = args[3].parse().expect("LEAK_KIB");
    let mut cache = Cache::default();
    cache.fill(1500);
    let numbers = boxed(4000, 3u64);
    let bytes = boxed(2000, 1u8);
    let maker = [7u8; 4];
    let made: Vec<Vec<u8>> = (0..200).map(|_| maker.make()).collect();
    let texts = strings(3000);
    let mut registry = Registry { entries: Vec::new() };
    for phase in 0..phases {
        registry.leak(leak_kib);
        dump(&args[1], phase);
    }
    println!("{} {} {} {} {} {}", cache.map.len(), numbers.len(), bytes.len(), made.len(), texts.len(), registry.entries.len());
}
