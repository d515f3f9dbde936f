// The benchmark corpus: a program whose live allocations sit on 2^N distinct call stacks, each N+6 frames of
// its own code deep, and which writes real jemalloc heap dumps of them. Built and run by Benchmarks/run.sh.
//
//   gcc -O1 -g -fno-omit-frame-pointer branchy.c -o branchy -ljemalloc
//   MALLOC_CONF=prof:true,lg_prof_sample:0 ./branchy N SEED OUT_PREFIX DUMPS [GROWTH [LEAKED]]
//
// Stack of path p (0 <= p < 2^N): main -> grow -> build_forest -> plant -> l0_x -> ... -> l(N-1)_x -> twig ->
// leaf_alloc -> malloc, where level k calls l(k+1)_b when bit k+1 of p is set and l(k+1)_a otherwise: N + 6
// frames of this program per stack.
//
// Writes DUMPS dumps, OUT_PREFIX.0.heap ... OUT_PREFIX.(DUMPS-1).heap. Before dump d, every path holds
// 1 + (hash(p, SEED) % 3) objects of 32 + 16 * (hash % 8) bytes (run-to-run variation by SEED); one path in 64
// grows, holding GROWTH (default 2) more objects per dump and LEAKED (default 0) more from the start (a history
// builder raises LEAKED build by build: a leak across builds); one path in 512 gets d * 48 extra bytes once.
// N is at most 20.
#include <jemalloc/jemalloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NI __attribute__((noinline))
#define BARRIER __asm__ volatile("" ::: "memory")

static unsigned levels;
static void *volatile *sink;
static size_t sink_count, sink_capacity;

static void keep(void *p) {
    if (sink_count == sink_capacity) {
        sink_capacity = sink_capacity ? sink_capacity * 2 : 1 << 16;
        sink = realloc((void *)sink, sink_capacity * sizeof(void *));
        if (!sink) abort();
    }
    sink[sink_count++] = p;
}

NI void leaf_alloc(size_t size, unsigned count) {
    for (unsigned i = 0; i < count; i++) keep(malloc(size));
    BARRIER;
}

NI void twig(size_t size, unsigned count) {
    leaf_alloc(size, count);
    BARRIER;
}

// Level K has two functions; each calls level K+1 by bit K+1 of the path, or twig after the last level.
#define LEVEL(K, NEXT)                                                                                         \
    NI void l##NEXT##_a(unsigned, size_t, unsigned);                                                           \
    NI void l##NEXT##_b(unsigned, size_t, unsigned);                                                           \
    NI void l##K##_a(unsigned p, size_t s, unsigned c) {                                                       \
        if (NEXT >= levels) twig(s, c);                                                                        \
        else if ((p >> NEXT) & 1) l##NEXT##_b(p, s, c);                                                        \
        else l##NEXT##_a(p, s, c);                                                                             \
        BARRIER;                                                                                               \
    }                                                                                                          \
    NI void l##K##_b(unsigned p, size_t s, unsigned c) {                                                       \
        if (NEXT >= levels) twig(s, c);                                                                        \
        else if ((p >> NEXT) & 1) l##NEXT##_b(p, s, c);                                                        \
        else l##NEXT##_a(p, s, c);                                                                             \
        BARRIER;                                                                                               \
    }

LEVEL(0, 1) LEVEL(1, 2) LEVEL(2, 3) LEVEL(3, 4) LEVEL(4, 5) LEVEL(5, 6) LEVEL(6, 7) LEVEL(7, 8) LEVEL(8, 9)
LEVEL(9, 10) LEVEL(10, 11) LEVEL(11, 12) LEVEL(12, 13) LEVEL(13, 14) LEVEL(14, 15) LEVEL(15, 16)
LEVEL(16, 17) LEVEL(17, 18) LEVEL(18, 19) LEVEL(19, 20)
NI void l20_a(unsigned p, size_t s, unsigned c) { (void)p; twig(s, c); BARRIER; }
NI void l20_b(unsigned p, size_t s, unsigned c) { (void)p; twig(s, c); BARRIER; }

NI void plant(unsigned p, size_t size, unsigned count) {
    if (p & 1) l0_b(p, size, count);
    else l0_a(p, size, count);
    BARRIER;
}

static uint32_t mix(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

// Allocates what dump `d` should hold beyond what is already live.
NI void build_forest(unsigned seed, unsigned d, unsigned growth, unsigned leaked) {
    unsigned paths = 1u << levels;
    for (unsigned p = 0; p < paths; p++) {
        uint32_t h = mix(p * 2654435761U ^ seed);
        unsigned count = 0;
        size_t size = 32 + 16 * (h % 8);
        if (d == 0) count = 1 + (h >> 8) % 3 + (p % 64 == 0 ? leaked : 0);
        if (p % 64 == 0 && d > 0) count += growth;
        if (p % 512 == 7 && d > 0) {
            plant(p, 48 * d, 1);
        }
        if (count) plant(p, size, count);
    }
    BARRIER;
}

NI void grow(unsigned seed, unsigned d, unsigned growth, unsigned leaked) {
    build_forest(seed, d, growth, leaked);
    BARRIER;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s N SEED OUT_PREFIX DUMPS [GROWTH [LEAKED]]\n", argv[0]);
        return 64;
    }
    levels = (unsigned)atoi(argv[1]);
    unsigned seed = (unsigned)strtoul(argv[2], NULL, 10);
    const char *prefix = argv[3];
    unsigned dumps = (unsigned)atoi(argv[4]);
    unsigned growth = argc > 5 ? (unsigned)atoi(argv[5]) : 2;
    unsigned leaked = argc > 6 ? (unsigned)atoi(argv[6]) : 0;
    if (levels < 1 || levels > 20) {
        fprintf(stderr, "N must be 1..20\n");
        return 64;
    }
    char path[4096];
    for (unsigned d = 0; d < dumps; d++) {
        grow(seed, d, growth, leaked);
        snprintf(path, sizeof path, "%s.%u.heap", prefix, d);
        const char *name = path;
        if (mallctl("prof.dump", NULL, NULL, (void *)&name, sizeof name) != 0) {
            fprintf(stderr, "prof.dump failed (run with MALLOC_CONF=prof:true)\n");
            return 1;
        }
    }
    return 0;
}
