// A small program that allocates through several distinct call paths and writes real jemalloc heap dumps.
// Used by profhist's tests and by the README's demo.
//
//   gcc -O1 -g -fno-omit-frame-pointer leaky.c -o leaky -ljemalloc -lpthread
//   MALLOC_CONF=prof:true,lg_prof_sample:10 ./leaky out/run PHASES LEAK_KIB [GROWTH_KIB [FROM_PHASE]]
//
// Runs PHASES phases and dumps `out/run.N.heap` after each. Phase 0 allocates steady amounts through fixed
// paths; `leaky_cache` keeps LEAK_KIB KiB more in each phase from FROM_PHASE on (default 0): a leak inside one
// run that starts at a known time. Build-time switches make a history of builds:
//   -DLEAK_SINCE_BUILD   `session_registry` keeps GROWTH_KIB KiB per phase (a leak that begins at a build)
//   -DLEGACY_POOL        `legacy_pool` keeps 1.5 MiB (a leak that a later build fixes by dropping the flag)
//   -DBIG_BUFFERS=N      `big_buffers` keeps N blocks of 64 KiB (default 40; more is a size regression)
//   -DEXTRA_CODE         code before the others, so every address moves as in a new build of the same source
// `noisy_buffers` keeps a random 200-600 KiB per run: a flat stack with real run-to-run noise.
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

// Keep every allocation reachable so the compiler cannot drop it.
void *volatile kept[1 << 20];
int kept_count;

static void keep(void *p) {
    if (kept_count < (1 << 20)) kept[kept_count++] = p;
}

#ifdef EXTRA_CODE
NOINLINE int extra_padding_function(int x) {
    volatile int sum = 0;
    for (int i = 0; i < x; i++) sum += i * 7 + (sum >> 3);
    return sum;
}
#endif

NOINLINE void small_objects(int n) {
    for (int i = 0; i < n; i++) keep(malloc(48));
}

NOINLINE void middle_layer(int n) { small_objects(n); }

#ifndef BIG_BUFFERS
#define BIG_BUFFERS 40
#endif

NOINLINE void big_buffers(int n) {
    for (int i = 0; i < n; i++) keep(calloc(1, 64 * 1024));
}

NOINLINE void grow_with_realloc(int n) {
    for (int i = 0; i < n; i++) {
        void *p = malloc(16);
        keep(realloc(p, 4000));
    }
}

NOINLINE void duplicate_strings(int n) {
    for (int i = 0; i < n; i++) keep(strdup("a string that is duplicated many times over"));
}

NOINLINE void aligned_blocks(int n) {
    for (int i = 0; i < n; i++) {
        void *p = NULL;
        if (posix_memalign(&p, 256, 2048) == 0) keep(p);
    }
}

NOINLINE void recurse_then_allocate(int depth, int n) {
    if (depth > 0) {
        recurse_then_allocate(depth - 1, n);
        __asm__ volatile("" ::: "memory");  // no tail call: keep every level on the stack
        return;
    }
    for (int i = 0; i < n; i++) keep(malloc(512));
}

NOINLINE void leaky_cache(int kib) {
    for (int i = 0; i < kib; i++) keep(malloc(1024));
}

#ifdef LEAK_SINCE_BUILD
NOINLINE void session_registry(int kib) {
    for (int i = 0; i < kib / 8; i++) keep(malloc(8192));
}
#endif

#ifdef LEGACY_POOL
NOINLINE void legacy_pool(void) {
    for (int i = 0; i < 96; i++) keep(malloc(16384));
}
#endif

NOINLINE void noisy_buffers(void) {
    // Seeded per process (or by LEAKY_SEED, for reproducible tests): each run keeps a different amount, the
    // expectation is the same in every build.
    const char *fixed = getenv("LEAKY_SEED");
    unsigned seed = fixed ? (unsigned)atoi(fixed) * 2654435761u : (unsigned)getpid() * 2654435761u;
    int kib = 200 + (int)(rand_r(&seed) % 401);
    for (int i = 0; i < kib / 4; i++) keep(malloc(4096));
}

// 64 KiB per phase (sampled even at lg_prof_sample:12), so that dumps of consecutive phases never have
// identical content (profhist skips a file whose content it has stored before).
NOINLINE void phase_marker(void) { keep(malloc(65536)); }

static void *worker_thread(void *arg) {
    int n = *(int *)arg;
    for (int i = 0; i < n; i++) keep(malloc(300));
    return NULL;
}

NOINLINE void allocate_in_thread(int n) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker_thread, &n) == 0) pthread_join(thread, NULL);
}

static int dump(const char *prefix, int phase) {
    char path[4096];
    snprintf(path, sizeof path, "%s.%d.heap", prefix, phase);
    const char *p = path;
    if (mallctl("prof.dump", NULL, NULL, &p, sizeof p) != 0) {
        fprintf(stderr, "leaky: prof.dump failed (run with MALLOC_CONF=prof:true)\n");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: leaky PREFIX PHASES LEAK_KIB [GROWTH_KIB [FROM_PHASE]]\n");
        return 64;
    }
    const char *prefix = argv[1];
    int phases = atoi(argv[2]);
    int leak_kib = atoi(argv[3]);
    int growth_kib = argc > 4 ? atoi(argv[4]) : 0;
    int from_phase = argc > 5 ? atoi(argv[5]) : 0;
    (void)growth_kib;
#ifdef EXTRA_CODE
    if (extra_padding_function(3) < 0) return 2;
#endif
    for (int phase = 0; phase < phases; phase++) {
        if (phase == 0) {
            small_objects(2000);
            middle_layer(1000);
            big_buffers(BIG_BUFFERS);
            grow_with_realloc(300);
            duplicate_strings(500);
            aligned_blocks(200);
            recurse_then_allocate(12, 200);
            allocate_in_thread(1000);
            noisy_buffers();
#ifdef LEGACY_POOL
            legacy_pool();
#endif
        }
        phase_marker();
        if (phase >= from_phase) leaky_cache(leak_kib);
#ifdef LEAK_SINCE_BUILD
        session_registry(growth_kib);
#endif
        if (dump(prefix, phase) != 0) return 1;
    }
    return 0;
}
