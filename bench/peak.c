/*
 * peak.c - the arithmetic peak of one core, for bench/speed.sh: independent
 * chains of 32-bit float multiply-adds (AVX-512 and AVX2 + FMA), and of
 * 8-bit integer dot products (AVX-512 VNNI: 4 multiply-adds per 32-bit lane),
 * where the processor has them. Prints "name value" lines in giga
 * multiply-adds per second.
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

enum { CHAINS = 12 };
static const long ITERS = 50000000;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

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
    fprintf(stderr, "%g\n", (double)s); /* keeps the chains alive */
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
    fprintf(stderr, "%g\n", (double)s);
    return (double)ITERS * CHAINS * 8 / t / 1e9;
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
    fprintf(stderr, "%d\n", s);
    return (double)ITERS * CHAINS * 64 / t / 1e9;
}

int main(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        printf("fp32-fma-avx2 %.1f\n", fma256());
    if (__builtin_cpu_supports("avx512f"))
        printf("fp32-fma-avx512 %.1f\n", fma512());
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"))
        printf("int8-vnni-avx512 %.1f\n", vnni512());
    return 0;
}
