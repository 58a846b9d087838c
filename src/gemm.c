/*
 * gemm.c - the forward pass's matrix product y = x · W^T + b over many rows
 * at once, with W packed in the layout the kernels stream, and one code path
 * per instruction set (AVX-512, AVX2 + FMA, plain x86-64) picked at run time.
 *
 * Every output is b[o] + (sum over k, in order, of x[i][k] W[o][k]): a row's
 * result does not depend on the other rows of the product, nor on the tile
 * that computed it. The AVX-512 and AVX2 paths fuse each multiply-add and so
 * give the same bits; the plain path rounds each product first.
 */
#include "attntag.h"
#include "kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AT_X86 1
#define T512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))
#define TAVX2 __attribute__((target("avx2,fma")))
#endif
#define INLINE static inline __attribute__((always_inline))

enum { PANEL = 16 }; /* outputs per packed panel */

int at_pack(const float *W, size_t out, size_t in, at_packed *P)
{
    size_t panels = (out + PANEL - 1) / PANEL, bytes = panels * in * PANEL * sizeof(float);
    float *p = NULL;
    memset(P, 0, sizeof *P);
    P->in = in;
    P->out = out;
    if (bytes && posix_memalign((void **)&p, 64, bytes))
        return -1;
    for (size_t pn = 0; pn < panels; pn++)
        for (size_t k = 0; k < in; k++)
            for (size_t j = 0; j < PANEL; j++) {
                size_t o = pn * PANEL + j;
                p[(pn * in + k) * PANEL + j] = o < out ? W[o * in + k] : 0.0f;
            }
    P->p = p;
    return 0;
}

void at_packed_free(at_packed *P)
{
    free(P->p);
    free(P->q);
    free(P->scale);
    free(P->colsum);
    P->p = NULL;
    P->q = NULL;
    P->scale = NULL;
    P->colsum = NULL;
}

/* 8-bit: each output's weights scaled by their largest magnitude to
 * [-127, 127] and rounded; packed [panel][in/4][16][4] (in padded to 4), the
 * order in which a 4-way integer dot product instruction takes them. */
int at_pack_int8(const float *W, size_t out, size_t in, at_packed *P)
{
    size_t panels = (out + PANEL - 1) / PANEL, kp = (in + 3) / 4 * 4;
    memset(P, 0, sizeof *P);
    P->in = in;
    P->out = out;
    P->kp = kp;
    if (posix_memalign((void **)&P->q, 64, panels * kp * PANEL + 1) ||
        !(P->scale = calloc(panels * PANEL, sizeof *P->scale)) ||
        !(P->colsum = calloc(panels * PANEL, sizeof *P->colsum))) {
        at_packed_free(P);
        return -1;
    }
    memset(P->q, 0, panels * kp * PANEL);
    for (size_t o = 0; o < out; o++) {
        float amax = 0;
        for (size_t k = 0; k < in; k++)
            amax = fabsf(W[o * in + k]) > amax ? fabsf(W[o * in + k]) : amax;
        float inv = amax > 0 ? 127.0f / amax : 0.0f;
        P->scale[o] = amax / 127.0f;
        size_t pn = o / PANEL, j = o % PANEL;
        int32_t sum = 0;
        for (size_t k = 0; k < in; k++) {
            long q = lrintf(W[o * in + k] * inv);
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            P->q[((pn * kp + k / 4 * 4) * PANEL) + j * 4 + k % 4] = (int8_t)q;
            sum += (int32_t)q;
        }
        P->colsum[o] = sum;
    }
    return 0;
}

/* quantize: rows of x to unsigned bytes u = round(x / scale) + 128 with
 * scale = max |x| / 127 per row (0: the row is zero); rows kp bytes apart. */
static void quantize_plain(const float *x, size_t n, size_t in, size_t kp, uint8_t *u,
                           float *scale)
{
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * in;
        float amax = 0;
        for (size_t k = 0; k < in; k++)
            amax = fabsf(xi[k]) > amax ? fabsf(xi[k]) : amax;
        float inv = amax > 0 ? 127.0f / amax : 0.0f;
        scale[i] = amax / 127.0f;
        for (size_t k = 0; k < in; k++) {
            long q = lrintf(xi[k] * inv);
            u[i * kp + k] = (uint8_t)((q > 127 ? 127 : q < -127 ? -127 : q) + 128);
        }
        memset(u + i * kp + in, 128, kp - in);
    }
}

/* The integer sum of row i against output o, back to floats: the same
 * operations, in the same order, on every path. */
static inline float dequant(int32_t acc, int32_t colsum, float sx, float sw, float b)
{
    float s = sx * sw;
    return (float)(acc - 128 * colsum) * s + b;
}

static void gemm8_plain(const uint8_t *u, const float *sx, size_t n, const at_packed *W,
                        const float *b, const float *res, float *y)
{
    size_t kp = W->kp, out = W->out;
    for (size_t i = 0; i < n; i++)
        for (size_t o = 0; o < out; o++) {
            const int8_t *w = W->q + (o / PANEL) * kp * PANEL + (o % PANEL) * 4;
            int32_t acc = 0;
            for (size_t k = 0; k < kp; k += 4)
                for (size_t e = 0; e < 4; e++)
                    acc += (int32_t)u[i * kp + k + e] * w[k * PANEL + e];
            float v = dequant(acc, W->colsum[o], sx[i], W->scale[o], b ? b[o] : 0.0f);
            y[i * out + o] = res ? res[i * out + o] + v : v;
        }
}

/* ---- plain x86-64: R rows by one panel, element-wise (SSE2 vectorises it) */

INLINE void tile_plain(const float *x, size_t in, const float *p, const float *b, size_t cols,
                       const float *res, float *y, size_t out, int R)
{
    float acc[4][PANEL] = {{0}};
    for (size_t k = 0; k < in; k++)
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            float xv = x[r * in + k];
            for (int j = 0; j < PANEL; j++)
                acc[r][j] = acc[r][j] + xv * p[k * PANEL + j];
        }
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        for (size_t j = 0; j < cols; j++) {
            float v = acc[r][j] + (b ? b[j] : 0.0f);
            y[r * out + j] = res ? res[r * out + j] + v : v;
        }
}

static void gemm_plain(const float *x, size_t n, const at_packed *W, const float *b,
                       const float *res, float *y)
{
    size_t in = W->in, out = W->out;
    for (size_t i = 0; i < n; i += 4) {
        int R = n - i < 4 ? (int)(n - i) : 4;
        for (size_t o = 0; o < out; o += PANEL) {
            size_t cols = out - o < PANEL ? out - o : PANEL;
            const float *p = W->p + o * in, *bo = b ? b + o : NULL;
            float *yo = y + i * out + o;
            const float *xi = x + i * in, *ro = res ? res + i * out + o : NULL;
            switch (R) {
            case 4: tile_plain(xi, in, p, bo, cols, ro, yo, out, 4); break;
            case 3: tile_plain(xi, in, p, bo, cols, ro, yo, out, 3); break;
            case 2: tile_plain(xi, in, p, bo, cols, ro, yo, out, 2); break;
            default: tile_plain(xi, in, p, bo, cols, ro, yo, out, 1); break;
            }
        }
    }
}

#ifdef AT_X86
/* ---- AVX2 + FMA: up to 6 rows by one panel (two 8-float halves) */

TAVX2 INLINE void tile_avx2(const float *x, size_t in, const float *p, const float *b,
                            size_t cols, const float *res, float *y, size_t out, int R)
{
    __m256 lo[6], hi[6];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        lo[r] = hi[r] = _mm256_setzero_ps();
    for (size_t k = 0; k < in; k++) {
        __m256 w0 = _mm256_load_ps(p + k * PANEL), w1 = _mm256_load_ps(p + k * PANEL + 8);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m256 xv = _mm256_broadcast_ss(x + r * in + k);
            lo[r] = _mm256_fmadd_ps(xv, w0, lo[r]);
            hi[r] = _mm256_fmadd_ps(xv, w1, hi[r]);
        }
    }
    float bias[PANEL] = {0};
    if (b)
        memcpy(bias, b, cols * sizeof *bias);
    __m256 b0 = _mm256_loadu_ps(bias), b1 = _mm256_loadu_ps(bias + 8);
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        __m256 y0 = _mm256_add_ps(lo[r], b0), y1 = _mm256_add_ps(hi[r], b1);
        if (res) {
            float t[PANEL] = {0};
            memcpy(t, res + r * out, cols * sizeof *t);
            y0 = _mm256_add_ps(_mm256_loadu_ps(t), y0);
            y1 = _mm256_add_ps(_mm256_loadu_ps(t + 8), y1);
        }
        if (cols == PANEL) {
            _mm256_storeu_ps(y + r * out, y0);
            _mm256_storeu_ps(y + r * out + 8, y1);
        } else {
            float t[PANEL];
            _mm256_storeu_ps(t, y0);
            _mm256_storeu_ps(t + 8, y1);
            memcpy(y + r * out, t, cols * sizeof *t);
        }
    }
}

TAVX2 static void gemm_avx2(const float *x, size_t n, const at_packed *W, const float *b,
                            const float *res, float *y)
{
    size_t in = W->in, out = W->out;
    for (size_t i = 0; i < n; i += 6) {
        int R = n - i < 6 ? (int)(n - i) : 6;
        for (size_t o = 0; o < out; o += PANEL) {
            size_t cols = out - o < PANEL ? out - o : PANEL;
            const float *p = W->p + o * in, *bo = b ? b + o : NULL;
            float *yo = y + i * out + o;
            const float *ro = res ? res + i * out + o : NULL;
            const float *xi = x + i * in;
            switch (R) {
            case 6: tile_avx2(xi, in, p, bo, cols, ro, yo, out, 6); break;
            case 5: tile_avx2(xi, in, p, bo, cols, ro, yo, out, 5); break;
            case 4: tile_avx2(xi, in, p, bo, cols, ro, yo, out, 4); break;
            case 3: tile_avx2(xi, in, p, bo, cols, ro, yo, out, 3); break;
            case 2: tile_avx2(xi, in, p, bo, cols, ro, yo, out, 2); break;
            default: tile_avx2(xi, in, p, bo, cols, ro, yo, out, 1); break;
            }
        }
    }
}

/* ---- AVX-512: up to 8 rows by two panels (32 outputs) */

T512 INLINE void tile_512(const float *x, size_t in, const float *p0, const float *b,
                          size_t cols, const float *res, float *y, size_t out, int R, int two)
{
    __m512 a0[8], a1[8];
    const float *p1 = p0 + in * PANEL;
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        a0[r] = a1[r] = _mm512_setzero_ps();
    for (size_t k = 0; k < in; k++) {
        __m512 w0 = _mm512_load_ps(p0 + k * PANEL);
        __m512 w1 = two ? _mm512_load_ps(p1 + k * PANEL) : w0;
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512 xv = _mm512_set1_ps(x[r * in + k]);
            a0[r] = _mm512_fmadd_ps(xv, w0, a0[r]);
            if (two)
                a1[r] = _mm512_fmadd_ps(xv, w1, a1[r]);
        }
    }
    size_t c0 = cols < PANEL ? cols : PANEL, c1 = cols - c0;
    __mmask16 m0 = (__mmask16)((1u << c0) - 1), m1 = (__mmask16)((1u << c1) - 1);
    __m512 b0 = b ? _mm512_maskz_loadu_ps(m0, b) : _mm512_setzero_ps();
    __m512 b1 = b && two ? _mm512_maskz_loadu_ps(m1, b + PANEL) : _mm512_setzero_ps();
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        __m512 y0 = _mm512_add_ps(a0[r], b0);
        if (res)
            y0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, res + r * out), y0);
        _mm512_mask_storeu_ps(y + r * out, m0, y0);
        if (two) {
            __m512 y1 = _mm512_add_ps(a1[r], b1);
            if (res)
                y1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, res + r * out + PANEL), y1);
            _mm512_mask_storeu_ps(y + r * out + PANEL, m1, y1);
        }
    }
}

T512 INLINE void rows_512(const float *x, size_t in, const float *p, const float *b,
                          size_t cols, const float *res, float *y, size_t out, int R)
{
    if (cols > PANEL)
        tile_512(x, in, p, b, cols, res, y, out, R, 1);
    else
        tile_512(x, in, p, b, cols, res, y, out, R, 0);
}

T512 static void gemm_512(const float *x, size_t n, const at_packed *W, const float *b,
                          const float *res, float *y)
{
    size_t in = W->in, out = W->out;
    for (size_t i = 0; i < n; i += 8) {
        int R = n - i < 8 ? (int)(n - i) : 8;
        for (size_t o = 0; o < out; o += 2 * PANEL) {
            size_t cols = out - o < 2 * PANEL ? out - o : 2 * PANEL;
            const float *p = W->p + o * in, *bo = b ? b + o : NULL;
            float *yo = y + i * out + o;
            const float *ro = res ? res + i * out + o : NULL;
            const float *xi = x + i * in;
            switch (R) {
            case 8: rows_512(xi, in, p, bo, cols, ro, yo, out, 8); break;
            case 7: rows_512(xi, in, p, bo, cols, ro, yo, out, 7); break;
            case 6: rows_512(xi, in, p, bo, cols, ro, yo, out, 6); break;
            case 5: rows_512(xi, in, p, bo, cols, ro, yo, out, 5); break;
            case 4: rows_512(xi, in, p, bo, cols, ro, yo, out, 4); break;
            case 3: rows_512(xi, in, p, bo, cols, ro, yo, out, 3); break;
            case 2: rows_512(xi, in, p, bo, cols, ro, yo, out, 2); break;
            default: rows_512(xi, in, p, bo, cols, ro, yo, out, 1); break;
            }
        }
    }
}
#endif

#ifdef AT_X86
/* ---- 8-bit products. AVX2: bytes widened to 16 bits, pairs multiplied and
 * added into 32-bit sums (exact, unlike the saturating byte instruction). */

/* The vector conversion rounds to nearest even, as lrintf does. */
TAVX2 static void quantize_avx2(const float *x, size_t n, size_t in, size_t kp, uint8_t *u,
                                float *scale)
{
    if (in % 8) {
        quantize_plain(x, n, in, kp, u, scale);
        return;
    }
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * in;
        __m256 m = _mm256_setzero_ps();
        for (size_t k = 0; k < in; k += 8)
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(xi + k)));
        float t[8], amax = 0;
        _mm256_storeu_ps(t, m);
        for (int j = 0; j < 8; j++)
            amax = t[j] > amax ? t[j] : amax;
        float inv = amax > 0 ? 127.0f / amax : 0.0f;
        scale[i] = amax / 127.0f;
        __m256 vinv = _mm256_set1_ps(inv);
        __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
        __m256i off = _mm256_set1_epi32(128);
        for (size_t k = 0; k < in; k += 8) {
            __m256i q = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xi + k), vinv));
            q = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(q, lo), hi), off);
            int32_t b[8];
            _mm256_storeu_si256((__m256i *)(void *)b, q);
            for (int j = 0; j < 8; j++)
                u[i * kp + k + j] = (uint8_t)b[j];
        }
        memset(u + i * kp + in, 128, kp - in);
    }
}

/* widen8: 16 signed bytes to 16-bit values */
TAVX2 INLINE __m256i widen8(const int8_t *p)
{
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)p));
}

TAVX2 INLINE void tile8_avx2(const uint8_t *u, size_t kp, const int8_t *q, int32_t *acc, int R)
{
    __m256i lo[4], hi[4];
    #pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        lo[r] = hi[r] = _mm256_setzero_si256();
    for (size_t k = 0; k < kp; k += 4) {
        /* 16 outputs x 4 inputs, as 16-bit values, four outputs per vector */
        const int8_t *qk = q + k * PANEL;
        __m256i w0 = widen8(qk), w0b = widen8(qk + 16), w1 = widen8(qk + 32), w1b = widen8(qk + 48);
        #pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            int32_t four;
            memcpy(&four, u + r * kp + k, 4);
            __m256i x = _mm256_cvtepu8_epi16(_mm_set1_epi32(four));
            /* x holds the 4 inputs repeated: 16-bit lanes [x0 x1 x2 x3 x0 ...] */
            __m256i p0 = _mm256_madd_epi16(x, w0), p0b = _mm256_madd_epi16(x, w0b);
            __m256i p1 = _mm256_madd_epi16(x, w1), p1b = _mm256_madd_epi16(x, w1b);
            /* pairs (x0w0 + x1w1, x2w2 + x3w3) per output: add neighbours */
            lo[r] = _mm256_add_epi32(lo[r], _mm256_hadd_epi32(p0, p0b));
            hi[r] = _mm256_add_epi32(hi[r], _mm256_hadd_epi32(p1, p1b));
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        /* hadd interleaves 128-bit halves: put outputs back in order */
        __m256i l = _mm256_permute4x64_epi64(lo[r], 0xD8);
        __m256i h = _mm256_permute4x64_epi64(hi[r], 0xD8);
        _mm256_storeu_si256((__m256i *)(void *)(acc + r * PANEL), l);
        _mm256_storeu_si256((__m256i *)(void *)(acc + r * PANEL + 8), h);
    }
}

TAVX2 static void gemm8_avx2(const uint8_t *u, const float *sx, size_t n, const at_packed *W,
                             const float *b, const float *res, float *y)
{
    size_t kp = W->kp, out = W->out;
    int32_t acc[4 * PANEL];
    for (size_t i = 0; i < n; i += 4) {
        int R = n - i < 4 ? (int)(n - i) : 4;
        for (size_t o = 0; o < out; o += PANEL) {
            const int8_t *q = W->q + o * kp;
            switch (R) {
            case 4: tile8_avx2(u + i * kp, kp, q, acc, 4); break;
            case 3: tile8_avx2(u + i * kp, kp, q, acc, 3); break;
            case 2: tile8_avx2(u + i * kp, kp, q, acc, 2); break;
            default: tile8_avx2(u + i * kp, kp, q, acc, 1); break;
            }
            size_t cols = out - o < PANEL ? out - o : PANEL;
            for (int r = 0; r < R; r++)
                for (size_t j = 0; j < cols; j++) {
                    size_t at = (i + r) * out + o + j;
                    float v = dequant(acc[r * PANEL + j], W->colsum[o + j], sx[i + r],
                                      W->scale[o + j], b ? b[o + j] : 0.0f);
                    y[at] = res ? res[at] + v : v;
                }
        }
    }
}

/* ---- AVX-512 VNNI: 64 byte products per instruction, 8 rows by 32 outputs */

#define TVNNI __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx512vnni,avx2,fma")))

TVNNI INLINE void tile8_vnni(const uint8_t *u, size_t kp, const int8_t *q0, const at_packed *W,
                             size_t o, const float *sx, const float *b, size_t cols,
                             const float *res, float *y, size_t out, int R, int two)
{
    __m512i a0[8], a1[8];
    const int8_t *q1 = q0 + kp * PANEL;
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        a0[r] = a1[r] = _mm512_setzero_si512();
    for (size_t k = 0; k < kp; k += 4) {
        __m512i w0 = _mm512_load_si512((const void *)(q0 + k * PANEL));
        __m512i w1 = two ? _mm512_load_si512((const void *)(q1 + k * PANEL)) : w0;
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            int32_t four;
            memcpy(&four, u + r * kp + k, 4);
            __m512i x = _mm512_set1_epi32(four);
            a0[r] = _mm512_dpbusd_epi32(a0[r], x, w0);
            if (two)
                a1[r] = _mm512_dpbusd_epi32(a1[r], x, w1);
        }
    }
    size_t c0 = cols < PANEL ? cols : PANEL, c1 = cols - c0;
    __mmask16 m0 = (__mmask16)((1u << c0) - 1), m1 = (__mmask16)((1u << c1) - 1);
    __m512i k128 = _mm512_set1_epi32(128);
    __m512i cs0 = _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(m0, W->colsum + o), k128);
    __m512i cs1 = _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(m1, W->colsum + o + PANEL), k128);
    __m512 sw0 = _mm512_maskz_loadu_ps(m0, W->scale + o);
    __m512 sw1 = _mm512_maskz_loadu_ps(m1, W->scale + o + PANEL);
    __m512 b0 = b ? _mm512_maskz_loadu_ps(m0, b + o) : _mm512_setzero_ps();
    __m512 b1 = b ? _mm512_maskz_loadu_ps(m1, b + o + PANEL) : _mm512_setzero_ps();
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        __m512 s = _mm512_set1_ps(sx[r]);
        __m512 t0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(a0[r], cs0));
        __m512 y0 = _mm512_add_ps(_mm512_mul_ps(t0, _mm512_mul_ps(s, sw0)), b0);
        if (res)
            y0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, res + r * out), y0);
        _mm512_mask_storeu_ps(y + r * out, m0, y0);
        if (two) {
            __m512 t1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(a1[r], cs1));
            __m512 y1 = _mm512_add_ps(_mm512_mul_ps(t1, _mm512_mul_ps(s, sw1)), b1);
            if (res)
                y1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, res + r * out + PANEL), y1);
            _mm512_mask_storeu_ps(y + r * out + PANEL, m1, y1);
        }
    }
}

TVNNI INLINE void rows8_vnni(const uint8_t *u, size_t kp, const at_packed *W, size_t o,
                             const float *sx, const float *b, size_t cols, const float *res,
                             float *y, size_t out, int R)
{
    const int8_t *q = W->q + o * kp;
    if (cols > PANEL)
        tile8_vnni(u, kp, q, W, o, sx, b, cols, res, y, out, R, 1);
    else
        tile8_vnni(u, kp, q, W, o, sx, b, cols, res, y, out, R, 0);
}

TVNNI static void gemm8_vnni(const uint8_t *u, const float *sx, size_t n, const at_packed *W,
                             const float *b, const float *res, float *y)
{
    size_t kp = W->kp, out = W->out;
    for (size_t i = 0; i < n; i += 8) {
        int R = n - i < 8 ? (int)(n - i) : 8;
        for (size_t o = 0; o < out; o += 2 * PANEL) {
            size_t cols = out - o < 2 * PANEL ? out - o : 2 * PANEL;
            const uint8_t *ui = u + i * kp;
            float *yo = y + i * out + o;
            const float *ro = res ? res + i * out + o : NULL;
            switch (R) {
            case 8: rows8_vnni(ui, kp, W, o, sx + i, b, cols, ro, yo, out, 8); break;
            case 7: rows8_vnni(ui, kp, W, o, sx + i, b, cols, ro, yo, out, 7); break;
            case 6: rows8_vnni(ui, kp, W, o, sx + i, b, cols, ro, yo, out, 6); break;
            case 5: rows8_vnni(ui, kp, W, o, sx + i, b, cols, ro, yo, out, 5); break;
            case 4: rows8_vnni(ui, kp, W, o, sx + i, b, cols, ro, yo, out, 4); break;
            case 3: rows8_vnni(ui, kp, W, o, sx + i, b, cols, ro, yo, out, 3); break;
            case 2: rows8_vnni(ui, kp, W, o, sx + i, b, cols, ro, yo, out, 2); break;
            default: rows8_vnni(ui, kp, W, o, sx + i, b, cols, ro, yo, out, 1); break;
            }
        }
    }
}

T512 static void quantize_512(const float *x, size_t n, size_t in, size_t kp, uint8_t *u,
                              float *scale)
{
    if (in % 16) {
        quantize_plain(x, n, in, kp, u, scale);
        return;
    }
    enum { G = 8 };
    float invs[G];
    for (size_t i = 0; i < n; i++) {
        /* the scales of G rows first: their chains are short and independent
         * (a maximum is exact in any order: two running ones per row) */
        if (i % G == 0)
            for (size_t g = i; g < i + G && g < n; g++) {
                const float *xg = x + g * in;
                __m512 m0 = _mm512_setzero_ps(), m1 = _mm512_setzero_ps();
                size_t k = 0;
                for (; k + 32 <= in; k += 32) {
                    m0 = _mm512_max_ps(m0, _mm512_abs_ps(_mm512_loadu_ps(xg + k)));
                    m1 = _mm512_max_ps(m1, _mm512_abs_ps(_mm512_loadu_ps(xg + k + 16)));
                }
                if (k < in)
                    m0 = _mm512_max_ps(m0, _mm512_abs_ps(_mm512_loadu_ps(xg + k)));
                float amax = _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
                invs[g - i] = amax > 0 ? 127.0f / amax : 0.0f;
                scale[g] = amax / 127.0f;
            }
        const float *xi = x + i * in;
        __m512 vinv = _mm512_set1_ps(invs[i % G]);
        /* |x| <= amax and inv is 127 / amax rounded, so |x inv| < 127.5: every
         * value rounds into [-127, 127] and the packing never saturates. Four
         * vectors are packed to bytes at once (the packs interleave 128-bit
         * lanes; the permutation puts them back in order), then moved to
         * [1, 255] by flipping the sign bit (+128). */
        const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7,
                                                11, 15);
        const __m512i flip = _mm512_set1_epi8((char)0x80);
        size_t k = 0;
        for (; k + 64 <= in; k += 64) {
            __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xi + k), vinv));
            __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xi + k + 16), vinv));
            __m512i q2 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xi + k + 32), vinv));
            __m512i q3 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xi + k + 48), vinv));
            __m512i b = _mm512_packs_epi16(_mm512_packs_epi32(q0, q1), _mm512_packs_epi32(q2, q3));
            b = _mm512_xor_si512(_mm512_permutexvar_epi32(order, b), flip);
            _mm512_storeu_si512((void *)(u + i * kp + k), b);
        }
        for (; k < in; k += 16) {
            __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xi + k), vinv));
            q = _mm512_add_epi32(q, _mm512_set1_epi32(128));
            _mm_storeu_si128((__m128i *)(void *)(u + i * kp + k), _mm512_cvtepi32_epi8(q));
        }
        if (kp > in)
            memset(u + i * kp + in, 128, kp - in);
    }
}
#endif

/* ---- choosing the path */

typedef void gemm_fn(const float *, size_t, const at_packed *, const float *, const float *,
                     float *);
typedef void gemm8_fn(const uint8_t *, const float *, size_t, const at_packed *, const float *,
                      const float *, float *);
typedef void quantize_fn(const float *, size_t, size_t, size_t, uint8_t *, float *);

static const struct path {
    const char *name;
    gemm_fn *gemm;
    gemm8_fn *gemm8;
    quantize_fn *quantize;
} paths[] = {
    {"plain", gemm_plain, gemm8_plain, quantize_plain},
#ifdef AT_X86
    {"avx2", gemm_avx2, gemm8_avx2, quantize_avx2},
    {"avx512", gemm_512, gemm8_vnni, quantize_512},
#endif
};

static int cpu_has(int path)
{
#ifdef AT_X86
    __builtin_cpu_init();
    if (path == 1)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (path == 2)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni");
#endif
    return path == 0;
}

static int current = -1;
static pthread_once_t chosen = PTHREAD_ONCE_INIT;

/* The best path the processor runs, unless ATTNTAG_KERNELS names another it
 * runs (to compare the paths on one machine). */
static void choose(void)
{
    int n = (int)(sizeof paths / sizeof *paths);
    current = 0;
    for (int i = n - 1; i > 0; i--)
        if (cpu_has(i)) {
            current = i;
            break;
        }
    const char *want = getenv("ATTNTAG_KERNELS");
    for (int i = 0; want && i < n; i++)
        if (strcmp(want, paths[i].name) == 0 && cpu_has(i))
            current = i;
}

const char *at_kernels_name(void)
{
    pthread_once(&chosen, choose);
    return paths[current].name;
}

int at_kernels_available(const char *name)
{
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (strcmp(name, paths[i].name) == 0)
            return cpu_has((int)i);
    return 0;
}

int at_kernels_use(const char *name)
{
    pthread_once(&chosen, choose);
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (strcmp(name, paths[i].name) == 0 && cpu_has((int)i)) {
            current = (int)i;
            return 0;
        }
    return -1;
}

void at_gemm_shared(const float *x, size_t n, const at_packed *const *W, const float *const *b,
                    float *const *y, int count, at_qbuf *qb)
{
    pthread_once(&chosen, choose);
    if (!n)
        return;
    int quantized = 0;
    for (int i = 0; i < count; i++) {
        if (!W[i]->out)
            continue;
        if (!W[i]->q) {
            paths[current].gemm(x, n, W[i], b[i], NULL, y[i]);
            continue;
        }
        /* the bytes of x serve every 8-bit product of the same width */
        if (!quantized || W[i]->kp != W[quantized - 1]->kp) {
            paths[current].quantize(x, n, W[i]->in, W[i]->kp, qb->u, qb->scale);
            quantized = i + 1;
        }
        paths[current].gemm8(qb->u, qb->scale, n, W[i], b[i], NULL, y[i]);
    }
}

void at_gemm_add(const float *x, size_t n, const at_packed *W, const float *b,
                 const float *res, float *y, at_qbuf *qb)
{
    pthread_once(&chosen, choose);
    if (!n || !W->out)
        return;
    if (!W->q) {
        paths[current].gemm(x, n, W, b, res, y);
        return;
    }
    paths[current].quantize(x, n, W->in, W->kp, qb->u, qb->scale);
    paths[current].gemm8(qb->u, qb->scale, n, W, b, res, y);
}

void at_gemm(const float *x, size_t n, const at_packed *W, const float *b, float *y,
             at_qbuf *qb)
{
    at_gemm_add(x, n, W, b, NULL, y, qb);
}
