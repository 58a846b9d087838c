/*
 * avx2.c - the AVX2 + FMA path (x86-64-v3: Intel from Haswell, AMD from
 * Excavator and every Zen). Compiled with -mavx2 -mfma -mf16c; dispatch.c
 * calls it only where the processor has them.
 */
#include <immintrin.h>

#define AT_VW 8
/* maxps and minps: a > b ? a : b and a < b ? a : b, as generic.h's vmax, vmin */
#define AT_VMAX(a, b) ((vf)_mm256_max_ps((__m256)(a), (__m256)(b)))
#define AT_VMIN(a, b) ((vf)_mm256_min_ps((__m256)(a), (__m256)(b)))

#include "kernels/generic.h"

/* Float products: 6 rows by one panel (two 8-float halves): 12 accumulators,
 * two weight vectors and the broadcast input in the 16 registers. */
enum { GEMM_MR = 6, GEMM_NP = 1 };

INLINE void gemm_tile(const float *x, size_t in, const float *p, const float *b, size_t cols,
                      const float *res, float *y, size_t out, int R, int NP)
{
    __m256 lo[GEMM_MR], hi[GEMM_MR];
    (void)NP;
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        lo[r] = hi[r] = _mm256_setzero_ps();
    for (size_t k = 0; k < in; k++) {
        __m256 w0 = _mm256_load_ps(p + k * 16), w1 = _mm256_load_ps(p + k * 16 + 8);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m256 xv = _mm256_broadcast_ss(x + r * in + k);
            lo[r] = _mm256_fmadd_ps(xv, w0, lo[r]);
            hi[r] = _mm256_fmadd_ps(xv, w1, hi[r]);
        }
    }
    size_t c0 = cols < 8 ? cols : 8, c1 = cols - c0;
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        const float *rr = res ? res + r * out : NULL;
        out_store((vf)lo[r], b, rr, y + r * out, c0);
        out_store((vf)hi[r], b ? b + 8 : NULL, rr ? rr + 8 : NULL, y + r * out + 8, c1);
    }
}

/* 8-bit products. vpmaddubsw multiplies unsigned by signed bytes and adds
 * pairs into 16 bits, saturating. Activations are quantised to |x| <= 31
 * (generic.h) and stored as x + 32, from 1 to 63 (quantize_avx2): the
 * unsigned operand as it stands, no per-panel vpsignb. Weights are at most
 * 127 in size: a pair is at most 2 * 63 * 127 = 16002, and two pairs' sums,
 * of inputs k..k+3 and k+4..k+7, at most 32004, which a 16-bit lane holds.
 * So: pairs for two groups of four inputs, added (vpaddw), then vpmaddwd
 * against ones adds neighbours into 32-bit lanes: three multiplies for
 * eight inputs of eight outputs where one group at a time takes four, and
 * the multiplies are what bounds this loop; 32 times each output's weight
 * sum is taken away at the end, the same exact sum. The panel's own order
 * [16 outputs][4 inputs], no shuffles. R rows by one panel: 2 R
 * accumulators, four weight vectors, the ones and the row's temporaries. */
enum { GEMM8_MR = 4, GEMM8_NP = 1 };

/* acc += t in place: with the intrinsic, GCC 12 adds into another register
 * and copies it back to the accumulator's on every step (avx512.c's dpbusd) */
INLINE void add_to(__m256i *acc, __m256i t)
{
    __asm__("vpaddd %1, %0, %0" : "+x"(*acc) : "x"(t));
}

INLINE __m256i four_inputs(const int8_t *q)
{
    int32_t four;
    memcpy(&four, q, 4);
    return _mm256_set1_epi32(four);
}

/* One row's step: inputs k..k+7 of row r against the panel's w0, w1 (inputs
 * k..k+3) and v0, v1 (k+4..k+7). */
#define ROW8(r)                                                                          \
    if ((r) < R) {                                                                       \
        __m256i xa = four_inputs(qx + (r) * kp + k), xb = four_inputs(qx + (r) * kp + k + 4); \
        __m256i p0 = _mm256_add_epi16(_mm256_maddubs_epi16(xa, w0), _mm256_maddubs_epi16(xb, v0)); \
        __m256i p1 = _mm256_add_epi16(_mm256_maddubs_epi16(xa, w1), _mm256_maddubs_epi16(xb, v1)); \
        add_to(&lo##r, _mm256_madd_epi16(p0, ones));                                     \
        add_to(&hi##r, _mm256_madd_epi16(p1, ones));                                     \
    }
/* and a last group of four inputs (kp a multiple of four, not of eight) */
#define ROW4(r)                                                                          \
    if ((r) < R) {                                                                       \
        __m256i xa = four_inputs(qx + (r) * kp + k);                                     \
        lo##r = _mm256_add_epi32(lo##r, _mm256_madd_epi16(_mm256_maddubs_epi16(xa, w0), ones)); \
        hi##r = _mm256_add_epi32(hi##r, _mm256_madd_epi16(_mm256_maddubs_epi16(xa, w1), ones)); \
    }
/* and its outputs */
#define OUT8(r)                                                                      \
    if ((r) < R) {                                                                   \
        const float *rr = res ? res + (r) * out : NULL;                              \
        dequant_store((vi)_mm256_sub_epi32(lo##r, cs0), sx[r], sw, b, rr, y + (r) * out, c0); \
        dequant_store((vi)_mm256_sub_epi32(hi##r, cs1), sx[r], sw + 8, b ? b + 8 : NULL, \
                      rr ? rr + 8 : NULL, y + (r) * out + 8, c1);                    \
    }

INLINE void gemm8_tile(const int8_t *qx, size_t kp, const void *pw, const at_packed *W, size_t o,
                       const float *sx, const float *b, size_t cols, const float *res, float *y,
                       size_t out, int R, int NP)
{
    __m256i lo0 = _mm256_setzero_si256(), lo1 = lo0, lo2 = lo0, lo3 = lo0;
    __m256i hi0 = lo0, hi1 = lo0, hi2 = lo0, hi3 = lo0;
    const __m256i ones = _mm256_set1_epi16(1);
    const int8_t *w = pw;
    (void)NP;
    size_t k = 0;
    for (; k + 8 <= kp; k += 8) {
        const __m256i *wk = (const __m256i *)(const void *)(w + k * 16);
        __m256i w0 = _mm256_load_si256(wk), w1 = _mm256_load_si256(wk + 1);
        __m256i v0 = _mm256_load_si256(wk + 2), v1 = _mm256_load_si256(wk + 3);
        ROW8(0) ROW8(1) ROW8(2) ROW8(3)
    }
    if (k < kp) {
        const __m256i *wk = (const __m256i *)(const void *)(w + k * 16);
        __m256i w0 = _mm256_load_si256(wk), w1 = _mm256_load_si256(wk + 1);
        ROW4(0) ROW4(1) ROW4(2) ROW4(3)
    }
    const __m256i *cs = (const __m256i *)(const void *)(W->colsum + o);
    __m256i cs0 = _mm256_slli_epi32(_mm256_loadu_si256(cs), 5);
    __m256i cs1 = _mm256_slli_epi32(_mm256_loadu_si256(cs + 1), 5);
    size_t c0 = cols < 8 ? cols : 8, c1 = cols - c0;
    const float *sw = W->scale + o;
    OUT8(0) OUT8(1) OUT8(2) OUT8(3)
}
#undef ROW8
#undef ROW4
#undef OUT8

#include "kernels/drivers.h"

/* Rows to bytes, 32 at a time: four conversions packed to bytes (the packs
 * interleave 128-bit lanes; the permutation puts them back in order), then
 * 32 added for the product, padding included. */
static void quantize_avx2(const float *x, size_t n, size_t in, size_t kp, at_qbuf *qb)
{
    int8_t *q = qb->q;
    float *scale = qb->scale;
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256i offset = _mm256_set1_epi8(32);
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * in;
        int8_t *qi = q + i * kp;
        __m256 inv = _mm256_set1_ps(row_scale(xi, in, &scale[i]));
        size_t k = 0;
        for (; k + 32 <= in; k += 32) {
            __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xi + k), inv));
            __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xi + k + 8), inv));
            __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xi + k + 16), inv));
            __m256i d = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xi + k + 24), inv));
            __m256i v = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
            v = _mm256_add_epi8(_mm256_permutevar8x32_epi32(v, order), offset);
            _mm256_storeu_si256((__m256i *)(void *)(qi + k), v);
        }
        quantize_tail(xi, k, in, kp, qi, inv[0]);
        for (; k < kp; k++)
            qi[k] = (int8_t)(qi[k] + 32);
    }
}

static void halves_f16c(const void *src, size_t n, float *out, int add)
{
    const unsigned char *p = src;
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 v = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(p + 2 * k)));
        if (add)
            v = _mm256_add_ps(v, _mm256_loadu_ps(out + k));
        _mm256_storeu_ps(out + k, v);
    }
    k_halves_bits(p + 2 * k, n - k, out + k, add);
}

static int avx2_runs(void)
{
    __builtin_cpu_init();
    /* F16C too: every processor with AVX2 and FMA has it (x86-64-v3) */
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const at_kpath at_kpath_avx2 = AT_KPATH("avx2", avx2_runs, k_gemm8, quantize_avx2, halves_f16c);
