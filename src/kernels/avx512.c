/*
 * avx512.c - the AVX-512 path with VNNI (x86-64-v4 and vpdpbusd: Intel from
 * Ice Lake and Cascade Lake, AMD from Zen 4). Compiled with those
 * instructions enabled; dispatch.c calls it only where the processor has them.
 */
#include <immintrin.h>

#define AT_VW 16
/* maxps and minps: a > b ? a : b and a < b ? a : b, as generic.h's vmax, vmin */
#define AT_VMAX(a, b) ((vf)_mm512_max_ps((__m512)(a), (__m512)(b)))
#define AT_VMIN(a, b) ((vf)_mm512_min_ps((__m512)(a), (__m512)(b)))
/* the first n < 16 lanes of v at p */
#define AT_VSTORE_PART(p, v, n) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n)) - 1), (__m512)(v))

#include "kernels/generic.h"

/* Float products: 8 rows by two panels (32 outputs). */
enum { GEMM_MR = 8, GEMM_NP = 2 };

INLINE void gemm_tile(const float *x, size_t in, const float *p0, const float *b, size_t cols,
                      const float *res, float *y, size_t out, int R, int NP)
{
    __m512 a0[GEMM_MR], a1[GEMM_MR];
    const float *p1 = p0 + in * 16;
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        a0[r] = a1[r] = _mm512_setzero_ps();
    for (size_t k = 0; k < in; k++) {
        __m512 w0 = _mm512_load_ps(p0 + k * 16);
        __m512 w1 = NP == 2 ? _mm512_load_ps(p1 + k * 16) : w0;
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512 xv = _mm512_set1_ps(x[r * in + k]);
            a0[r] = _mm512_fmadd_ps(xv, w0, a0[r]);
            if (NP == 2)
                a1[r] = _mm512_fmadd_ps(xv, w1, a1[r]);
        }
    }
    size_t c0 = cols < 16 ? cols : 16, c1 = cols - c0;
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        const float *rr = res ? res + r * out : NULL;
        out_store((vf)a0[r], b, rr, y + r * out, c0);
        if (NP == 2)
            out_store((vf)a1[r], b ? b + 16 : NULL, rr ? rr + 16 : NULL, y + r * out + 16, c1);
    }
}

/* 8-bit products: vpdpbusd adds four unsigned-by-signed byte products into
 * each 32-bit lane, 64 per instruction. This path's bytes of x are q + 128
 * (quantize_512 flips their sign bits), and 128 times each output's weight
 * sum is taken away at the end: the same exact sum. 8 rows by two panels:
 * 16 accumulators, each its own variable (in an array, GCC copied them
 * between registers and to the stack on every step). */
enum { GEMM8_MR = 8, GEMM8_NP = 2 };

/* acc += four products of x and w per lane, in place: with the intrinsic,
 * GCC 12 copies every accumulator to another register on every step */
INLINE void dpbusd(__m512i *acc, __m512i x, __m512i w)
{
    __asm__("vpdpbusd %2, %1, %0" : "+v"(*acc) : "v"(x), "v"(w));
}

/* One row's step: four inputs of row r against the panels' w0, w1. */
#define ROW8(r)                                                                   \
    if ((r) < R) {                                                                \
        int32_t four;                                                             \
        memcpy(&four, qx + (r) * kp + k, 4);                                      \
        __m512i x = _mm512_set1_epi32(four);                                      \
        dpbusd(&a##r, x, w0);                                                     \
        if (NP == 2)                                                              \
            dpbusd(&b##r, x, w1);                                                 \
    }
/* and its outputs */
#define OUT8(r)                                                                   \
    if ((r) < R) {                                                                \
        const float *rr = res ? res + (r) * out : NULL;                           \
        dequant_store((vi)_mm512_sub_epi32(a##r, cs0), sx[r], sw, bias, rr,       \
                      y + (r) * out, c0);                                         \
        if (NP == 2)                                                              \
            dequant_store((vi)_mm512_sub_epi32(b##r, cs1), sx[r], sw + 16,        \
                          bias ? bias + 16 : NULL, rr ? rr + 16 : NULL,           \
                          y + (r) * out + 16, c1);                                \
    }

INLINE void gemm8_tile(const int8_t *qx, size_t kp, const void *pw, const at_packed *W, size_t o,
                       const float *sx, const float *bias, size_t cols, const float *res,
                       float *y, size_t out, int R, int NP)
{
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
            a7 = a0;
    __m512i b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
    const int8_t *q0 = pw, *q1 = q0 + kp * 16;
    for (size_t k = 0; k < kp; k += 4) {
        __m512i w0 = _mm512_load_si512((const void *)(q0 + k * 16));
        __m512i w1 = NP == 2 ? _mm512_load_si512((const void *)(q1 + k * 16)) : w0;
        ROW8(0) ROW8(1) ROW8(2) ROW8(3) ROW8(4) ROW8(5) ROW8(6) ROW8(7)
    }
    __m512i cs0 = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(W->colsum + o)), 7);
    __m512i cs1 =
        NP == 2 ? _mm512_slli_epi32(_mm512_loadu_si512((const void *)(W->colsum + o + 16)), 7) : cs0;
    size_t c0 = cols < 16 ? cols : 16, c1 = cols - c0;
    const float *sw = W->scale + o;
    OUT8(0) OUT8(1) OUT8(2) OUT8(3) OUT8(4) OUT8(5) OUT8(6) OUT8(7)
}
#undef ROW8
#undef OUT8

#include "kernels/drivers.h"

/* Rows to bytes, 64 at a time (as avx2.c's, with 512-bit registers), then
 * 128 added (the sign bit flipped) for vpdpbusd, padding included. */
static void quantize_512(const float *x, size_t n, size_t in, size_t kp, at_qbuf *qb)
{
    int8_t *q = qb->q;
    float *scale = qb->scale;
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * in;
        int8_t *qi = q + i * kp;
        __m512 inv = _mm512_set1_ps(row_scale(xi, in, &scale[i]));
        size_t k = 0;
        for (; k + 64 <= in; k += 64) {
            __m512i a = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xi + k), inv));
            __m512i b = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xi + k + 16), inv));
            __m512i c = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xi + k + 32), inv));
            __m512i d = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xi + k + 48), inv));
            __m512i v = _mm512_packs_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
            v = _mm512_xor_si512(_mm512_permutexvar_epi32(order, v), flip);
            _mm512_storeu_si512((void *)(qi + k), v);
        }
        quantize_tail(xi, k, in, kp, qi, inv[0]);
        for (; k < kp; k++)
            qi[k] = (int8_t)(qi[k] ^ 0x80);
    }
}

static void halves_f16c(const void *src, size_t n, float *out, int add)
{
    const unsigned char *p = src;
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512 v = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(p + 2 * k)));
        if (add)
            v = _mm512_add_ps(v, _mm512_loadu_ps(out + k));
        _mm512_storeu_ps(out + k, v);
    }
    k_halves_bits(p + 2 * k, n - k, out + k, add);
}

static int avx512_runs(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("fma");
}

const at_kpath at_kpath_avx512 =
    AT_KPATH("avx512", avx512_runs, k_gemm8, quantize_512, halves_f16c);
