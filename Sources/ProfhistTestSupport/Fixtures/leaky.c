// A small program that allocates through several distinct call paths and writes real jemalloc heap dumps.
// Used by profhist's tests and by the README's demo.
//
//   gcc -O1 -g -fno-omit-frame-pointer leaky.c -o leaky -ljemalloc -lpthread
//   MALLOC_CONF=prof:true,lg_prof_sample:10 ./leaky out/run PHASES LEAK_KIB [GROWTH_KIB]
//
// Runs PHASES phases and dumps `out/run.N.heap` after each. Every phase allocates the same steady amounts
// through fixed paths, and `leaky_cache` keeps LEAK_KIB KiB more each phase (a leak inside one run). With
// -DLEAK_SINCE_BUILD the program also keeps GROWTH_KIB KiB in `session_registry`, a leak that only builds
// compiled with that flag have. -DEXTRA_CODE adds code before the others so that every address moves, as in
// a new build of the same source.
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        fprintf(stderr, "usage: leaky PREFIX PHASES LEAK_KIB [GROWTH_KIB]\n");
        return 64;
    }
    const char *prefix = argv[1];
    int phases = atoi(argv[2]);
    int leak_kib = atoi(argv[3]);
    int growth_kib = argc > 4 ? atoi(argv[4]) : 0;
    (void)growth_kib;
#ifdef EXTRA_CODE
    if (extra_padding_function(3) < 0) return 2;
#endif
    for (int phase = 0; phase < phases; phase++) {
        if (phase == 0) {
            small_objects(2000);
            middle_layer(1000);
            big_buffers(40);
            grow_with_realloc(300);
            duplicate_strings(500);
            aligned_blocks(200);
            recurse_then_allocate(12, 200);
            allocate_in_thread(1000);
        }
        leaky_cache(leak_kib);
#ifdef LEAK_SINCE_BUILD
        session_registry(growth_kib);
#endif
        if (dump(prefix, phase) != 0) return 1;
    }
    return 0;
}
