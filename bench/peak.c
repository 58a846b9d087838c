/*
 * peak.c - the arithmetic peak of one core for each kernel path's instruction
 * mix, for bench/speed.sh. Each mix is timed in independent chains (enough of
 * them to hide the latencies), three times, and the best time is kept.
 *
 * Prints one line per mix the processor runs: "NAME GMACs", giga
 * multiply-adds per second. NAME is KIND-INSTRUCTIONS-PATH: KIND is int8 or
 * fp32, PATH the attntag kernel path (as `attntag info` names it) whose inner
 * loop the mix stands for, so that speed.sh can pick a path's mix by name:
 *
 *   int8-vnni-avx512      vpdpbusd: 64 multiply-adds per instruction
 *   int8-maddubs-avx2     per 64 multiply-adds: two vpmaddubsw (unsigned
 *                         x + 32 times signed weights, pairs into 16 bits),
 *                         vpaddw (two groups of four inputs), vpmaddwd
 *                         against 16-bit ones (into 32 bits), vpaddd
 *   int8-pmaddwd-plain    SSE2 pmaddwd on 16-bit values (8 multiply-adds per
 *                         instruction) and paddd: what C compiled for baseline
 *                         x86-64 (or -march=x86-64-v2) does with 8-bit products
 *   fp32-fma-avx512       vfmadd on 16 floats
 *   fp32-fma-avx2         vfmadd on 8 floats
 *   fp32-mul-add-plain    SSE mulps then addps: 4 multiply-adds per pair
 *
 * Elsewhere than on x86-64 it prints nothing (no mix measured there yet).
 * Build: cc -O2 -o peak bench/peak.c
 */
#include <stdio.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>

static const long ITERS = 50000000;
static volatile long sink; /* keeps the results alive */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* eight independent chains, named a0 ... a7 */
#define EIGHT(G) G(a0) G(a1) G(a2) G(a3) G(a4) G(a5) G(a6) G(a7)
#define SUM8(f) (f(a0) + f(a1) + f(a2) + f(a3) + f(a4) + f(a5) + f(a6) + f(a7))

enum { CHAINS = 12 };

__attribute__((target("avx512f,fma"))) static double fma512(void)
{
    __m512 a[CHAINS], b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        a[i] = _mm512_set1_ps((float)i);
    double t0 = now();
    for (long it = 0; it < ITERS; it++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++)
            a[i] = _mm512_fmadd_ps(a[i], b, c);
    double t = now() - t0;
    float s = 0;
    for (int i = 0; i < CHAINS; i++)
        s += _mm512_reduce_add_ps(a[i]);
    sink += (long)s;
    return (double)ITERS * CHAINS * 16 / t / 1e9;
}

__attribute__((target("avx2,fma"))) static double fma256(void)
{
    __m256 a[CHAINS], b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        a[i] = _mm256_set1_ps((float)i);
    double t0 = now();
    for (long it = 0; it < ITERS; it++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++)
            a[i] = _mm256_fmadd_ps(a[i], b, c);
    double t = now() - t0;
    float s = 0, v[8];
    for (int i = 0; i < CHAINS; i++) {
        _mm256_storeu_ps(v, a[i]);
        s += v[0];
    }
    sink += (long)s;
    return (double)ITERS * CHAINS * 8 / t / 1e9;
}

/* SSE only (no FMA before AVX2): a multiply, then an add into the chain, in
 * eight chains (see maddubs256 below for why in assembly). */
__attribute__((target("sse2"))) static double muladd128(void)
{
    __m128 b = _mm_set1_ps(0.999999f), c = _mm_set1_ps(1e-7f), t;
    __m128 a0, a1, a2, a3, a4, a5, a6, a7;
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = _mm_setzero_ps();
#define MULADD128(a)                                                                     \
    __asm__ volatile("movaps %[b], %[t]\n\t"                                            \
                     "mulps %[c], %[t]\n\t"                                             \
                     "addps %[t], %[acc]"                                                \
                     : [acc] "+x"(a), [t] "=&x"(t)                                       \
                     : [b] "x"(b), [c] "x"(c));
    double t0 = now();
    for (long it = 0; it < ITERS; it++) {
        EIGHT(MULADD128)
    }
    double t1 = now() - t0;
    sink += (long)SUM8(_mm_cvtss_f32);
    return (double)ITERS * 8 * 4 / t1 / 1e9;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double vnni512(void)
{
    __m512i a[CHAINS], b = _mm512_set1_epi8(3), c = _mm512_set1_epi8(5);
    for (int i = 0; i < CHAINS; i++)
        a[i] = _mm512_set1_epi32(i);
    double t0 = now();
    for (long it = 0; it < ITERS; it++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++)
            a[i] = _mm512_dpbusd_epi32(a[i], b, c);
    double t = now() - t0;
    int s = 0;
    for (int i = 0; i < CHAINS; i++)
        s += _mm512_reduce_add_epi32(a[i]);
    sink += s;
    return (double)ITERS * CHAINS * 64 / t / 1e9;
}

/* The AVX2 8-bit group, 64 multiply-adds: t = maddubs(x, w), u the same for
 * the next four inputs; t = madd(t + u, ones); acc += t, in eight
 * independent accumulators. Written in
 * assembly, one statement per group, since compilers keep some of eight
 * intrinsic accumulators in memory (a store and a load in the chain) or
 * compute the products of loop-invariant operands once. */

__attribute__((target("avx2"))) static double maddubs256(void)
{
    __m256i x = _mm256_set1_epi8(29), v = _mm256_set1_epi8(35);
    __m256i w = _mm256_set1_epi8(5), ones = _mm256_set1_epi16(1), t, u;
    __m256i a0, a1, a2, a3, a4, a5, a6, a7;
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = _mm256_setzero_si256();
#define GROUP256(a)                                                                      \
    __asm__ volatile("vpmaddubsw %[w], %[x], %[t]\n\t"                                 \
                     "vpmaddubsw %[w], %[v], %[u]\n\t"                                 \
                     "vpaddw %[u], %[t], %[t]\n\t"                                      \
                     "vpmaddwd %[ones], %[t], %[t]\n\t"                                 \
                     "vpaddd %[t], %[acc], %[acc]"                                       \
                     : [acc] "+x"(a), [t] "=&x"(t), [u] "=&x"(u)                         \
                     : [x] "x"(x), [v] "x"(v), [w] "x"(w), [ones] "x"(ones));
    double t0 = now();
    for (long it = 0; it < ITERS; it++) {
        EIGHT(GROUP256)
    }
    double t1 = now() - t0;
#define LANE256(a) _mm256_extract_epi32(a, 0)
    sink += SUM8(LANE256);
    return (double)ITERS * 8 * 64 / t1 / 1e9;
}

/* SSE2 pmaddwd on 16-bit values (8 multiply-adds) and paddd, in eight chains,
 * with the copy a two-operand instruction set needs to keep x. */
__attribute__((target("sse2"))) static double pmaddwd128(void)
{
    __m128i x = _mm_set1_epi16(-3), w = _mm_set1_epi16(5), t;
    __m128i a0, a1, a2, a3, a4, a5, a6, a7;
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = _mm_setzero_si128();
#define GROUP128(a)                                                                      \
    __asm__ volatile("movdqa %[x], %[t]\n\t"                                            \
                     "pmaddwd %[w], %[t]\n\t"                                           \
                     "paddd %[t], %[acc]"                                                \
                     : [acc] "+x"(a), [t] "=&x"(t)                                       \
                     : [x] "x"(x), [w] "x"(w));
    double t0 = now();
    for (long it = 0; it < ITERS; it++) {
        EIGHT(GROUP128)
    }
    double t1 = now() - t0;
    sink += SUM8(_mm_cvtsi128_si32);
    return (double)ITERS * 8 * 8 / t1 / 1e9;
}

/* the best of three timings (the first may find the clock still rising) */
static void report(const char *name, double (*f)(void))
{
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double g = f();
        if (g > best)
            best = g;
    }
    printf("%s %.1f\n", name, best);
    fflush(stdout);
}

int main(void)
{
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f");
    if (avx512 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni"))
        report("int8-vnni-avx512", vnni512);
    if (__builtin_cpu_supports("avx2"))
        report("int8-maddubs-avx2", maddubs256);
    report("int8-pmaddwd-plain", pmaddwd128);
    if (avx512)
        report("fp32-fma-avx512", fma512);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        report("fp32-fma-avx2", fma256);
    report("fp32-mul-add-plain", muladd128);
    return 0;
}

#else

int main(void)
{
    fprintf(stderr, "peak: no instruction mix is measured on this architecture\n");
    return 0;
}

#endif
