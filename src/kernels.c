/*
 * kernels.c - matrix product, layer norm, softmax and activations.
 */
#include "kernels.h"
#include "attntag.h"
#include "vec16.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#ifdef __x86_64__
#include <immintrin.h>
#endif

/* Helpers of the hot kernels are inlined into each clone, so that they are
 * compiled for its instruction set and their tiles stay in registers. */
#define INLINE static inline __attribute__((always_inline))

/* Eight independent partial sums let the compiler use full SIMD registers
 * without reassociating a single chain (which it may not do for floats). */
static inline float dot8(const float *a, const float *b, size_t n)
{
    float acc[8] = {0};
    size_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += a[k + j] * b[k + j];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; k < n; k++)
        s += a[k] * b[k];
    return s;
}

HOT float at_dot(const float *a, const float *b, size_t n)
{
    return dot8(a, b, n);
}

/* Eight floats as one SIMD register (GCC/clang vector extension); loads and
 * stores go through memcpy, so rows need no particular alignment. */
typedef float v8 __attribute__((vector_size(32)));

INLINE v8 load8(const float *p)
{
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE void store8(float *p, v8 v)
{
    memcpy(p, &v, sizeof v);
}

/* Sums of a row in eight lanes, then the lanes in a fixed order: the same
 * order for every row, so that a row's result does not depend on its batch. */
INLINE float sum_row(const float *x, size_t d, float shift)
{
    float acc[8] = {0};
    size_t k = 0;
    for (; k + 8 <= d; k += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += x[k + j] - shift;
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; k < d; k++)
        s += x[k] - shift;
    return s;
}

INLINE float sumsq_row(const float *x, size_t d, float mu)
{
    float acc[8] = {0};
    size_t k = 0;
    for (; k + 8 <= d; k += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += (x[k + j] - mu) * (x[k + j] - mu);
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; k < d; k++)
        s += (x[k] - mu) * (x[k] - mu);
    return s;
}

HOT static void layernorm_any(const float *x, size_t n, size_t d, const float *w,
                              const float *b, double eps, float *y, float *mean, float *rstd)
{
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * d;
        /* the mean of x - x[0] first: exact for a row of equal values, and no
         * cancellation when the values are large but close */
        float m = xi[0] + sum_row(xi, d, xi[0]) / (float)d;
        float r = 1.0f / sqrtf(sumsq_row(xi, d, m) / (float)d + (float)eps);
        float *yi = y + i * d;
        for (size_t k = 0; k < d; k++)
            yi[k] = (xi[k] - m) * r * w[k] + b[k];
        if (mean)
            mean[i] = m;
        if (rstd)
            rstd[i] = r;
    }
}

#ifdef __x86_64__
#define T512K __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define INLINE512 static inline __attribute__((always_inline, target("avx512f,avx512vl,avx2,fma")))

/* The eight lanes of sum_row, folded in its order. */
INLINE512 float fold8(__m256 v)
{
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    t = _mm_add_ps(t, _mm_shuffle_ps(t, t, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtss_f32(t) + _mm_cvtss_f32(_mm_movehl_ps(t, t));
}

/* R rows of layernorm_any's arithmetic (d a multiple of 8), their chains
 * interleaved: each row's sums are one chain of dependent additions, which
 * alone would leave the core waiting. */
INLINE512 void layernorm_rows_512(const float *x, size_t d, int R, const float *w,
                                  const float *b, double eps, float *y, float *mean,
                                  float *rstd)
{
    __m256 acc[4];
    float first[4], m[4], r[4];
    #pragma GCC unroll 4
    for (int i = 0; i < R; i++) {
        acc[i] = _mm256_setzero_ps();
        first[i] = x[i * d];
    }
    for (size_t k = 0; k < d; k += 8)
        #pragma GCC unroll 4
    for (int i = 0; i < R; i++)
            acc[i] = _mm256_add_ps(acc[i], _mm256_sub_ps(_mm256_loadu_ps(x + i * d + k),
                                                         _mm256_set1_ps(first[i])));
    #pragma GCC unroll 4
    for (int i = 0; i < R; i++) {
        m[i] = first[i] + fold8(acc[i]) / (float)d;
        acc[i] = _mm256_setzero_ps();
    }
    for (size_t k = 0; k < d; k += 8)
        #pragma GCC unroll 4
    for (int i = 0; i < R; i++) {
            __m256 v = _mm256_sub_ps(_mm256_loadu_ps(x + i * d + k), _mm256_set1_ps(m[i]));
            acc[i] = _mm256_fmadd_ps(v, v, acc[i]);
        }
    #pragma GCC unroll 4
    for (int i = 0; i < R; i++) {
        r[i] = 1.0f / sqrtf(fold8(acc[i]) / (float)d + (float)eps);
        __m256 vm = _mm256_set1_ps(m[i]), vr = _mm256_set1_ps(r[i]);
        for (size_t k = 0; k < d; k += 8) {
            __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i * d + k), vm), vr);
            _mm256_storeu_ps(y + i * d + k, _mm256_fmadd_ps(t, _mm256_loadu_ps(w + k),
                                                           _mm256_loadu_ps(b + k)));
        }
        if (mean)
            mean[i] = m[i];
        if (rstd)
            rstd[i] = r[i];
    }
}

T512K static void layernorm_512(const float *x, size_t n, size_t d, const float *w,
                                const float *b, double eps, float *y, float *mean, float *rstd)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        layernorm_rows_512(x + i * d, d, 4, w, b, eps, y + i * d, mean ? mean + i : NULL,
                           rstd ? rstd + i : NULL);
    for (; i < n; i++)
        layernorm_rows_512(x + i * d, d, 1, w, b, eps, y + i * d, mean ? mean + i : NULL,
                           rstd ? rstd + i : NULL);
}
#endif

void at_layernorm(const float *x, size_t n, size_t d, const float *w, const float *b,
                  double eps, float *y, float *mean, float *rstd)
{
#ifdef __x86_64__
    if (d % 8 == 0 && strcmp(at_kernels_name(), "avx512") == 0) {
        layernorm_512(x, n, d, w, b, eps, y, mean, rstd);
        return;
    }
#endif
    layernorm_any(x, n, d, w, b, eps, y, mean, rstd);
}

/* Sixteen lanes at a time: a sentence's row of scores is usually one vector. */
HOT void at_softmax(float *x, size_t n)
{
    at_v16 m = at_load16(x, n, -INFINITY);
    for (size_t k = 16; k < n; k += 16)
        m = at_max16(m, at_load16(x + k, n - k, -INFINITY));
    float mx = at_hmax16(m);
    if (mx == -INFINITY) { /* nothing to attend to: all weights zero */
        memset(x, 0, n * sizeof *x);
        return;
    }
    at_v16 s = {0}, zero = {0};
    for (size_t k = 0; k < n; k += 16) { /* e^-inf: exactly 0 */
        at_v16 v = at_load16(x + k, n - k, -INFINITY);
        v = at_select16(v == -INFINITY, zero, at_exp16(v - mx));
        s += v;
        at_store16(x + k, v, n - k);
    }
    float inv = 1.0f / at_sum16(s);
    for (size_t k = 0; k < n; k += 16)
        at_store16(x + k, at_load16(x + k, n - k, 0.0f) * inv, n - k);
}

HOT size_t at_argmax(const float *x, size_t n)
{
    if (n == 0 || x[0] != x[0])
        return 0;
    /* the largest value, NaN lanes left out; then its first place (no
     * branch per element that the processor would mispredict) */
    const at_v16 zero = {0}, none = zero - INFINITY;
    at_v16 m = none;
    for (size_t k = 0; k < n; k += 16) {
        at_v16 v = at_load16(x + k, n - k, -INFINITY);
        v = at_select16(v == v, v, none);
        m = at_max16(m, v);
    }
    float mx = at_hmax16(m);
    for (size_t k = 0; k < n; k++)
        if (x[k] == mx)
            return k;
    return 0;
}

void at_relu(const float *x, size_t n, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0 ? x[i] : 0;
}

HOT static void gelu_erf(const float *x, size_t n, float *y)
{
    for (size_t k = 0; k < n; k += 16) {
        at_v16 v = at_load16(x + k, n - k, 0.0f);
        at_store16(y + k, 0.5f * v * (1.0f + at_erf16(v * (float)M_SQRT1_2)), n - k);
    }
}

#ifdef __x86_64__
/* GELU with AVX-512, without a division or an exponential: [-6, 6) in 32
 * pieces, on each the Taylor polynomial of degree 5 about its centre (error
 * below 5e-7 |x|, as the erf above), the coefficients picked by a two-register
 * permutation; x below -6 gives 0 and x from 6 on gives x (both within 6e-9
 * of GELU). */
enum { GELU_PIECES = 32, GELU_DEG = 5 };
#define GELU_LO (-6.0f)
#define GELU_STEP 0.375f
static float gelu_coef[GELU_DEG + 1][GELU_PIECES];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

/* GELU(x) = x Phi(x); with phi^(k) = (-1)^k He_k phi (Hermite polynomials),
 * GELU^(k) = k phi^(k-2) + x phi^(k-1) for k >= 2. */
static void gelu_table(void)
{
    for (int p = 0; p < GELU_PIECES; p++) {
        double c = GELU_LO + (p + 0.5) * GELU_STEP, he[GELU_DEG + 1], dphi[GELU_DEG + 1];
        double phi = exp(-0.5 * c * c) / sqrt(2.0 * M_PI), Phi = 0.5 * erfc(-c / M_SQRT2);
        he[0] = 1.0;
        he[1] = c;
        for (int k = 1; k < GELU_DEG; k++)
            he[k + 1] = c * he[k] - k * he[k - 1];
        for (int k = 0; k <= GELU_DEG; k++)
            dphi[k] = (k % 2 ? -he[k] : he[k]) * phi;
        double d[GELU_DEG + 1] = {c * Phi, Phi + c * phi}, fact = 1.0;
        for (int k = 2; k <= GELU_DEG; k++)
            d[k] = k * dphi[k - 2] + c * dphi[k - 1];
        for (int k = 0; k <= GELU_DEG; k++) {
            fact *= k > 1 ? k : 1;
            gelu_coef[k][p] = (float)(d[k] / fact);
        }
    }
}

__attribute__((target("avx512f"))) static void gelu_512(const float *x, size_t n, float *y)
{
    pthread_once(&gelu_once, gelu_table);
    __m512 lo[GELU_DEG + 1], hi[GELU_DEG + 1];
    for (int k = 0; k <= GELU_DEG; k++) {
        lo[k] = _mm512_loadu_ps(gelu_coef[k]);
        hi[k] = _mm512_loadu_ps(gelu_coef[k] + 16);
    }
    const __m512 start = _mm512_set1_ps(GELU_LO), end = _mm512_set1_ps(-GELU_LO);
    const __m512 per = _mm512_set1_ps(1.0f / GELU_STEP), step = _mm512_set1_ps(GELU_STEP);
    const __m512 centre0 = _mm512_set1_ps(GELU_LO + 0.5f * GELU_STEP);
    const __m512i last = _mm512_set1_epi32(GELU_PIECES - 1), zero = _mm512_setzero_si512();
    for (size_t k = 0; k < n; k += 16) {
        __mmask16 m = n - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - k)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, x + k);
        __m512i p = _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_sub_ps(v, start), per));
        p = _mm512_min_epi32(_mm512_max_epi32(p, zero), last);
        __m512 r = _mm512_sub_ps(v, _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), step, centre0));
        __m512 acc = _mm512_permutex2var_ps(lo[GELU_DEG], p, hi[GELU_DEG]);
        for (int d = GELU_DEG - 1; d >= 0; d--)
            acc = _mm512_fmadd_ps(acc, r, _mm512_permutex2var_ps(lo[d], p, hi[d]));
        acc = _mm512_mask_mov_ps(acc, _mm512_cmp_ps_mask(v, end, _CMP_GE_OQ), v);
        acc = _mm512_mask_mov_ps(acc, _mm512_cmp_ps_mask(v, start, _CMP_LT_OQ),
                                 _mm512_setzero_ps());
        _mm512_mask_storeu_ps(y + k, m, acc);
    }
}
#endif

void at_gelu(const float *x, size_t n, float *y)
{
#ifdef __x86_64__
    if (strcmp(at_kernels_name(), "avx512") == 0) {
        gelu_512(x, n, y);
        return;
    }
#endif
    gelu_erf(x, n, y);
}

HOT void at_add(const float *a, const float *b, size_t n, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

HOT void at_axpy(size_t n, float a, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

static inline void axpy(size_t n, float a, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* dW[o..o+C)[k..k+16) += sum_i dy[i][o..o+C) x[i][k..k+16): the tile stays
 * in registers across all rows. */
INLINE void dweight_tile(const float *x, size_t n, size_t in, const float *dy,
                         size_t out, float *dW, int C)
{
    v8 acc[4][2];
    #pragma GCC unroll 4
    for (int c = 0; c < C; c++)
        #pragma GCC unroll 4
        for (int j = 0; j < 2; j++)
            acc[c][j] = load8(dW + c * in + 8 * j);
    for (size_t i = 0; i < n; i++) {
        v8 x0 = load8(x + i * in), x1 = load8(x + i * in + 8);
        #pragma GCC unroll 4
        for (int c = 0; c < C; c++) {
            float d = dy[i * out + c]; /* scalar * vector: broadcast */
            acc[c][0] += d * x0;
            acc[c][1] += d * x1;
        }
    }
    #pragma GCC unroll 4
    for (int c = 0; c < C; c++)
        #pragma GCC unroll 4
        for (int j = 0; j < 2; j++)
            store8(dW + c * in + 8 * j, acc[c][j]);
}

/* dx[i..i+R)[k..k+16) = sum_q dy[i..i+R)[q] W[q][k..k+16). */
INLINE void dinput_tile(size_t in, const float *W, const float *dy, size_t out,
                        float *dx, int R)
{
    v8 acc[4][2] = {{{0}}};
    for (size_t q = 0; q < out; q++) {
        v8 w0 = load8(W + q * in), w1 = load8(W + q * in + 8);
        #pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            float d = dy[r * out + q];
            acc[r][0] += d * w0;
            acc[r][1] += d * w1;
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        #pragma GCC unroll 4
        for (int j = 0; j < 2; j++)
            store8(dx + r * in + 8 * j, acc[r][j]);
}

HOT void at_linear_backward(const float *x, size_t n, size_t in, const float *W,
                            const float *dy, size_t out, float *dW, float *db, float *dx)
{
    if (db)
        for (size_t i = 0; i < n; i++)
            for (size_t o = 0; o < out; o++)
                db[o] += dy[i * out + o];
    if (in % 16) { /* odd widths: the plain way */
        for (size_t i = 0; i < n; i++) {
            for (size_t o = 0; o < out; o++)
                axpy(in, dy[i * out + o], x + i * in, dW + o * in);
            if (dx) {
                memset(dx + i * in, 0, in * sizeof *dx);
                for (size_t o = 0; o < out; o++)
                    axpy(in, dy[i * out + o], W + o * in, dx + i * in);
            }
        }
        return;
    }
    for (size_t k = 0; k < in; k += 16) {
        size_t o = 0;
        for (; o + 4 <= out; o += 4)
            dweight_tile(x + k, n, in, dy + o, out, dW + o * in + k, 4);
        for (; o < out; o++)
            dweight_tile(x + k, n, in, dy + o, out, dW + o * in + k, 1);
    }
    if (!dx)
        return;
    for (size_t k = 0; k < in; k += 16) {
        size_t i = 0;
        for (; i + 4 <= n; i += 4)
            dinput_tile(in, W + k, dy + i * out, out, dx + i * in + k, 4);
        for (; i < n; i++)
            dinput_tile(in, W + k, dy + i * out, out, dx + i * in + k, 1);
    }
}

void at_layernorm_backward(const float *x, size_t n, size_t d, const float *w,
                           const float *mean, const float *rstd, const float *dy, float *dw,
                           float *db, float *dx)
{
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * d, *dyi = dy + i * d;
        float *dxi = dx + i * d;
        float m = mean[i], r = rstd[i], s1 = 0, s2 = 0;
        for (size_t k = 0; k < d; k++) {
            float xhat = (xi[k] - m) * r, g = dyi[k] * w[k];
            dw[k] += dyi[k] * xhat;
            db[k] += dyi[k];
            s1 += g;
            s2 += g * xhat;
        }
        s1 /= (float)d;
        s2 /= (float)d;
        for (size_t k = 0; k < d; k++) {
            float xhat = (xi[k] - m) * r;
            dxi[k] = r * (dyi[k] * w[k] - s1 - xhat * s2);
        }
    }
}

void at_relu_backward(const float *x, const float *dy, size_t n, float *dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = x[i] > 0 ? dy[i] : 0.0f;
}

HOT void at_gelu_backward(const float *x, const float *dy, size_t n, float *dx)
{
    for (size_t k = 0; k < n; k += 16) {
        at_v16 v = at_load16(x + k, n - k, 0.0f), g = at_load16(dy + k, n - k, 0.0f);
        at_v16 cdf = 0.5f * (1.0f + at_erf16(v * (float)M_SQRT1_2));
        at_v16 pdf = at_exp16(-0.5f * v * v) * 0.3989422804014327f;
        at_store16(dx + k, g * (cdf + v * pdf), n - k);
    }
}

/* 16-bit floats widen exactly: the F16C instructions and the bit arithmetic
 * of at_half_to_float give the same values. */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0x1F)
        bits = sign | 0x7F800000u | man << 13;
    else if (exp)
        bits = sign | (exp + 112) << 23 | man << 13;
    else if (man) { /* subnormal: normalise */
        exp = 113;
        while (!(man & 0x400)) {
            man <<= 1;
            exp--;
        }
        bits = sign | exp << 23 | (man & 0x3FF) << 13;
    } else
        bits = sign;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float at_half_to_float(uint16_t h)
{
    return half_to_float(h);
}

#ifdef __x86_64__
__attribute__((target("avx,f16c"))) static void halves_f16c(const unsigned char *p, size_t n,
                                                             float *out, int add)
{
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 v = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(p + 2 * k)));
        if (add)
            v = _mm256_add_ps(v, _mm256_loadu_ps(out + k));
        _mm256_storeu_ps(out + k, v);
    }
    for (; k < n; k++) {
        float v = half_to_float((uint16_t)(p[2 * k] | p[2 * k + 1] << 8));
        out[k] = add ? out[k] + v : v;
    }
}
#endif

void at_halves(const void *src, size_t n, float *out, int add)
{
    const unsigned char *p = src;
#ifdef __x86_64__
    if (__builtin_cpu_supports("f16c")) {
        halves_f16c(p, n, out, add);
        return;
    }
#endif
    for (size_t k = 0; k < n; k++) {
        float v = half_to_float((uint16_t)(p[2 * k] | p[2 * k + 1] << 8));
        out[k] = add ? out[k] + v : v;
    }
}
