/*
 * generic.h - the kernels written once, for vectors of AT_VW floats. Each
 * instruction-set file (plain.c, avx2.c, avx512.c, neon.c) is compiled for
 * its instruction set, defines AT_VW (its register width in floats) and the
 * micro-kernels of the matrix products, includes this file, and fills its
 * row of the dispatch table (path.h) from the functions here and its own.
 *
 * A path file defines AT_VW, floats per vector (4, 8 or 16), includes this
 * file, then defines
 *   GEMM_MR, GEMM_NP  rows and 16-output panels of a float product's tile
 *   gemm_tile(x, in, p, b, cols, res, y, out, R, NP)
 *                     y[R][cols] = (res +) x[R] · panel^T + b, cols <= 16 NP,
 *                     each vector of sums stored by out_store below
 *   GEMM8_MR, GEMM8_NP  the same for the 8-bit products
 *   GEMM8_PANEL_COPY, gemm8_panel(W, o, cols, scratch)
 *                     optionally: a copy in scratch of the panel at output
 *                     o, as the tile reads it (else it reads W->q itself)
 *   gemm8_tile(qx, kp, pw, W, o, sx, b, cols, res, y, out, R, NP)
 *                     the exact integer sums of qx[R] · W[o .. o + cols)
 *                     (R rows, NP panels, the panel pw), each vector of them
 *                     turned into floats and stored by dequant_store below
 * and then includes drivers.h, the loops around them. The micro-kernels are
 * always inlined, so that R and NP are constants in each copy, and their
 * sums go from registers to the outputs.
 */
#ifndef AT_VW
#error "define AT_VW before including generic.h"
#endif

#include "internal.h"
#include "kernels.h"
#include "kernels/path.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

typedef float vf __attribute__((vector_size(AT_VW * 4)));
typedef int32_t vi __attribute__((vector_size(AT_VW * 4)));

/* ---- vectors: loads and stores of n <= AT_VW floats (the lanes past n read
 * as fill), lane-wise select, and folds of the lanes in one fixed order */

INLINE vf vload(const float *p, size_t n, float fill)
{
    vf v;
    if (n >= AT_VW) {
        memcpy(&v, p, sizeof v);
        return v;
    }
    for (int j = 0; j < AT_VW; j++)
        v[j] = (size_t)j < n ? p[j] : fill;
    return v;
}

/* A path with masked stores names one for n < AT_VW lanes, AT_VSTORE_PART:
 * GCC makes the loop below a call to memcpy through the stack. */
INLINE void vstore(float *p, vf v, size_t n)
{
    if (n >= AT_VW) {
        memcpy(p, &v, sizeof v);
        return;
    }
#ifdef AT_VSTORE_PART
    AT_VSTORE_PART(p, v, n);
#else
    for (size_t j = 0; j < n; j++)
        p[j] = v[j];
#endif
}

INLINE vf vsplat(float x)
{
    return (vf){0} + x;
}

INLINE vf vselect(vi mask, vf a, vf b)
{
    return (vf)((mask & (vi)a) | (~mask & (vi)b));
}

/* a > b ? a : b and a < b ? a : b, lane by lane. A path with instructions
 * that do exactly that, NaN and signed zeros included (x86's maxps and
 * minps), names them AT_VMAX and AT_VMIN: one instruction instead of the
 * select's three. */
#ifdef AT_VMAX
INLINE vf vmax(vf a, vf b)
{
    return AT_VMAX(a, b);
}

INLINE vf vmin(vf a, vf b)
{
    return AT_VMIN(a, b);
}
#else
INLINE vf vmax(vf a, vf b)
{
    return vselect(a > b, a, b);
}

INLINE vf vmin(vf a, vf b)
{
    return vselect(a < b, a, b);
}
#endif

/* The lanes folded in halves: lane j with lane j + w for w = AT_VW/2 ... 1. */
#if AT_VW == 16
#define FOLD(op, v)                                                                            \
    v = op(v, __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, \
                                      7));                                                     \
    v = op(v, __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10,  \
                                      11));                                                    \
    v = op(v, __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12,  \
                                      13));                                                    \
    v = op(v, __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15,  \
                                      14));
#elif AT_VW == 8
#define FOLD(op, v)                                                        \
    v = op(v, __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3));     \
    v = op(v, __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5));     \
    v = op(v, __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6));
#elif AT_VW == 4
#define FOLD(op, v)                                               \
    v = op(v, __builtin_shufflevector(v, v, 2, 3, 0, 1));         \
    v = op(v, __builtin_shufflevector(v, v, 1, 0, 3, 2));
#else
#error "AT_VW must be 4, 8 or 16"
#endif
#define VADD(a, b) ((a) + (b))

INLINE float vsum(vf v)
{
    FOLD(VADD, v)
    return v[0];
}

INLINE float vhmax(vf v)
{
    FOLD(vmax, v)
    return v[0];
}

/* e^x, relative error below 1e-7 (x clamped to [-87, 88], where e^x stays a
 * normal float): x = n ln 2 + r with |r| <= ln 2 / 2, e^r by its Taylor
 * series to r^7, 2^n written into the exponent bits. */
INLINE vf vexp(vf x)
{
    x = vmax(vsplat(-87.0f), x); /* x < -87 ? -87 : x, NaN kept */
    x = vmin(vsplat(88.0f), x);
    /* n = round(x / ln 2): adding 1.5 * 2^23 leaves no fraction bits */
    vf n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
    /* ln 2 in two parts; the first has 15 significant bits, so n times it is exact */
    vf r = (x - n * 0.693145752f) - n * 1.42860677e-6f;
    vf p = 1.0f + r * (1.0f + r * (1.0f / 2 + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
           r * (1.0f / 720 + r * (1.0f / 5040)))))));
    vi bits = (__builtin_convertvector(n, vi) + 127) << 23; /* n + 127 in [1, 254] */
    return p * (vf)bits;
}

/* erf(x), absolute error below 5e-7: x P(x^2) / Q(x^2) with |x| clamped to
 * 4 (erf(4) is 1 in a float), P of degree 5 and Q of degree 5 in x^2, a
 * rational function fitted here to erf over [0, 4] (weighted least squares,
 * 7e-8 in double); the quotient is held to at most 1. No exponential: half
 * the instructions of Abramowitz and Stegun's 7.1.26, which this replaced
 * (the same accuracy). */
INLINE vf verf(vf x)
{
    const vi sign = (vi){0} | (int32_t)0x80000000;
    vf ax = vmin(vsplat(4.0f), (vf)((vi)x & ~sign)), z = ax * ax;
    vf p = 1.12837899f + z * (0.192306191f + z * (0.0529815368f + z * (0.00384462997f +
           z * (0.000286188006f + z * 2.02732508e-06f))));
    vf q = 1.0f + z * (0.503758848f + z * (0.114878736f + z * (0.0151242753f +
           z * (0.00118104205f + z * 3.79289559e-05f))));
    vf y = vmin(vsplat(1.0f), ax * p / q);
    return (vf)((vi)y | ((vi)x & sign));
}

/* ---- the matrix products' outputs: the same arithmetic on every path */

/* y[0..cols) = (res +) (acc + b), cols <= AT_VW; b, res may be NULL. */
INLINE void out_store(vf acc, const float *b, const float *res, float *y, size_t cols)
{
    vf v = b ? acc + vload(b, cols, 0) : acc;
    vstore(y, res ? vload(res, cols, 0) + v : v, cols);
}

/* ROUNDED(x): x rounded as it stands, not fused into a multiply-add with
 * what follows (the kernels are built with -ffp-contract=fast; a compiler
 * without the builtin is one that contracts within an expression only).
 * On x86 and ARM64 the vector passes through an empty asm, which hides
 * what it holds and costs nothing: GCC 12 takes a 256- or 512-bit vector
 * through __builtin_assoc_barrier lane by lane (8 and 17 shuffles, 17% of
 * the AVX-512 8-bit product's time in each output's dequantising). */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__aarch64__))
#ifdef __x86_64__
#define AT_VREG "+v"
#else
#define AT_VREG "+w"
#endif
INLINE vf rounded(vf x)
{
    __asm__("" : AT_VREG(x));
    return x;
}
#define ROUNDED(x) rounded(x)
#elif defined(__has_builtin)
#if __has_builtin(__builtin_assoc_barrier)
#define ROUNDED(x) __builtin_assoc_barrier(x)
#endif
#endif
#ifndef ROUNDED
#define ROUNDED(x) (x)
#endif

/* The same from exact integer sums: y = (res +) (acc · (sx · sw) + b), each
 * operation rounded (no fused multiply-add), so that every path gives the
 * same bits from the same integers. */
INLINE void dequant_store(vi acc, float sx, const float *sw, const float *b, const float *res,
                          float *y, size_t cols)
{
    vf v = __builtin_convertvector(acc, vf) * (sx * vload(sw, cols, 0));
    out_store(ROUNDED(v), b, res, y, cols);
}

/* The rows of x as integers, for the 8-bit products: q = round(x / scale),
 * scale = max |x| / QX_MAX per row (0: the row is zero), rows kp apart and
 * zero past in, as the path's qelem (AT_QELEM: int8_t unless it says
 * otherwise). |x| <= amax and inv is QX_MAX / amax rounded, so
 * |x inv| < QX_MAX + 0.5: no value needs clamping. Rounding is to nearest
 * even, as the vector conversions do. Six bits, not eight: the AVX2 path
 * can then give vpmaddubsw x + 32 as its unsigned operand and still add two
 * groups of four inputs in 16 bits before widening (avx2.c): three
 * multiplying instructions per 64 multiply-adds and nothing else per input.
 * Tags on EWT dev hardly change: 95.15% UPOS, 94.51% XPOS, against 95.16%
 * and 94.51% with 63, 95.15% and 94.52% with 127. */
enum { QX_MAX = 31 };
#ifndef AT_QELEM
#define AT_QELEM int8_t
#endif
typedef AT_QELEM qelem;

INLINE float row_scale(const float *xi, size_t in, float *scale)
{
    const vi magnitude = (vi){0} | 0x7FFFFFFF;
    vf m0 = {0}, m1 = {0};
    size_t k = 0;
    for (; k + 2 * AT_VW <= in; k += 2 * AT_VW) {
        m0 = vmax(m0, (vf)((vi)vload(xi + k, AT_VW, 0) & magnitude));
        m1 = vmax(m1, (vf)((vi)vload(xi + k + AT_VW, AT_VW, 0) & magnitude));
    }
    float amax = vhmax(vmax(m0, m1));
    for (; k < in; k++)
        amax = fabsf(xi[k]) > amax ? fabsf(xi[k]) : amax;
    *scale = amax / (float)QX_MAX;
    return amax > 0 ? (float)QX_MAX / amax : 0.0f;
}

/* The inputs of row xi from k on, and the row's padding. */
INLINE void quantize_tail(const float *xi, size_t k, size_t in, size_t kp, qelem *qi, float inv)
{
    for (; k < in; k++)
        qi[k] = (qelem)lrintf(xi[k] * inv);
    for (; k < kp; k++)
        qi[k] = 0;
}

/* The generic form (paths with conversion instructions have their own), in
 * vectors: x inv rounded to an integer by adding and taking away 1.5 * 2^23
 * (to nearest even, as lrintf: |x inv| < 2^22), which leaves no fraction to
 * convert; lrintf one at a time took 6% of tagging on the plain path. */
typedef qelem qvec __attribute__((vector_size(sizeof(qelem) * AT_VW)));
static inline void k_quantize(const float *x, size_t n, size_t in, size_t kp, at_qbuf *qb)
{
    qelem *q = qb->q;
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * in;
        qelem *qi = q + i * kp;
        float inv = row_scale(xi, in, &qb->scale[i]);
        size_t k = 0;
        for (; k + AT_VW <= in; k += AT_VW) {
            vf v = ROUNDED(vload(xi + k, AT_VW, 0) * inv);
            v = ROUNDED(v + 12582912.0f) - 12582912.0f;
            qvec r = __builtin_convertvector(__builtin_convertvector(v, vi), qvec);
            memcpy(qi + k, &r, sizeof r);
        }
        quantize_tail(xi, k, in, kp, qi, inv);
    }
}

/* ---- element-wise and row kernels */

/* Eight independent partial sums: full vectors without reassociating one chain. */
static float k_dot(const float *a, const float *b, size_t n)
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

static void k_add(const float *a, const float *b, size_t n, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

static void k_axpy(size_t n, float a, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* The first index of the largest value, NaN lanes left out; then its first
 * place (no branch per element that the processor would mispredict). */
static size_t k_argmax(const float *x, size_t n)
{
    if (n == 0 || x[0] != x[0])
        return 0;
    const vf none = vsplat(-INFINITY);
    vf m = none;
    for (size_t k = 0; k < n; k += AT_VW) {
        vf v = vload(x + k, n - k, -INFINITY);
        m = vmax(m, vselect(v == v, v, none));
    }
    float mx = vhmax(m);
    for (size_t k = 0; k < n; k++)
        if (x[k] == mx)
            return k;
    return 0;
}

static void k_softmax(float *x, size_t n)
{
    vf m = vload(x, n, -INFINITY);
    for (size_t k = AT_VW; k < n; k += AT_VW)
        m = vmax(m, vload(x + k, n - k, -INFINITY));
    float mx = vhmax(m);
    if (mx == -INFINITY) { /* nothing to attend to: all weights zero */
        memset(x, 0, n * sizeof *x);
        return;
    }
    vf s = {0};
    for (size_t k = 0; k < n; k += AT_VW) { /* e^-inf: exactly 0 */
        vf v = vload(x + k, n - k, -INFINITY);
        v = vselect(v == -INFINITY, (vf){0}, vexp(v - mx));
        s += v;
        vstore(x + k, v, n - k);
    }
    float inv = 1.0f / vsum(s);
    for (size_t k = 0; k < n; k += AT_VW)
        vstore(x + k, vload(x + k, n - k, 0.0f) * inv, n - k);
}

/* GELU(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, the same formula on every path. */
static void k_gelu(const float *x, size_t n, float *y)
{
    for (size_t k = 0; k < n; k += AT_VW) {
        vf v = vload(x + k, n - k, 0.0f);
        vstore(y + k, 0.5f * v * (1.0f + verf(v * (float)M_SQRT1_2)), n - k);
    }
}

static void k_gelu_backward(const float *x, const float *dy, size_t n, float *dx)
{
    for (size_t k = 0; k < n; k += AT_VW) {
        vf v = vload(x + k, n - k, 0.0f), g = vload(dy + k, n - k, 0.0f);
        vf cdf = 0.5f * (1.0f + verf(v * (float)M_SQRT1_2));
        vf pdf = vexp(-0.5f * v * v) * 0.3989422804014327f;
        vstore(dx + k, g * (cdf + v * pdf), n - k);
    }
}

/* Layer norm of R rows at once, their dependent chains of sums interleaved
 * (unrolled, so that the sums stay in registers). The mean of x - x[0]
 * first: exact for a row of equal values, and no cancellation when the
 * values are large but close. */
INLINE void layernorm_rows(const float *x, size_t d, int R, const float *w, const float *b,
                           double eps, float *y, float *mean, float *rstd)
{
    vf acc[4];
    float first[4], m[4], r[4];
    size_t dv = d / AT_VW * AT_VW;
    #pragma GCC unroll 4
    for (int i = 0; i < R; i++) {
        acc[i] = (vf){0};
        first[i] = x[i * d];
    }
    for (size_t k = 0; k < dv; k += AT_VW)
        #pragma GCC unroll 4
        for (int i = 0; i < R; i++)
            acc[i] += vload(x + i * d + k, AT_VW, 0) - first[i];
    #pragma GCC unroll 4
    for (int i = 0; i < R; i++) {
        float s = vsum(acc[i]);
        for (size_t k = dv; k < d; k++)
            s += x[i * d + k] - first[i];
        m[i] = first[i] + s / (float)d;
        acc[i] = (vf){0};
    }
    for (size_t k = 0; k < dv; k += AT_VW)
        #pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            vf v = vload(x + i * d + k, AT_VW, 0) - m[i];
            acc[i] += v * v;
        }
    #pragma GCC unroll 4
    for (int i = 0; i < R; i++) {
        float s = vsum(acc[i]);
        for (size_t k = dv; k < d; k++)
            s += (x[i * d + k] - m[i]) * (x[i * d + k] - m[i]);
        r[i] = 1.0f / sqrtf(s / (float)d + (float)eps);
        for (size_t k = 0; k < d; k++)
            y[i * d + k] = (x[i * d + k] - m[i]) * r[i] * w[k] + b[k];
        if (mean)
            mean[i] = m[i];
        if (rstd)
            rstd[i] = r[i];
    }
}

static void k_layernorm(const float *x, size_t n, size_t d, const float *w, const float *b,
                        double eps, float *y, float *mean, float *rstd)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        layernorm_rows(x + i * d, d, 4, w, b, eps, y + i * d, mean ? mean + i : NULL,
                       rstd ? rstd + i : NULL);
    for (; i < n; i++)
        layernorm_rows(x + i * d, d, 1, w, b, eps, y + i * d, mean ? mean + i : NULL,
                       rstd ? rstd + i : NULL);
}

static void k_relu(const float *x, size_t n, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0 ? x[i] : 0;
}

static void k_relu_backward(const float *x, const float *dy, size_t n, float *dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = x[i] > 0 ? dy[i] : 0.0f;
}

static void k_layernorm_backward(const float *x, size_t n, size_t d, const float *w,
                                 const float *mean, const float *rstd, const float *dy,
                                 float *dw, float *db, float *dx)
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

/* ---- the backward pass's products (training) */

enum { BW = 16 }; /* floats of a row per tile: 16 / AT_VW vectors */

/* dW[o..o+C)[k..k+16) += sum_i dy[i][o..o+C) x[i][k..k+16): the tile stays
 * in registers across all rows. */
INLINE void dweight_tile(const float *x, size_t n, size_t in, const float *dy, size_t out,
                         float *dW, int C)
{
    vf acc[4][BW / AT_VW];
    for (int c = 0; c < C; c++)
        for (int j = 0; j < BW / AT_VW; j++)
            acc[c][j] = vload(dW + c * in + AT_VW * j, AT_VW, 0);
    for (size_t i = 0; i < n; i++) {
        vf xv[BW / AT_VW];
        for (int j = 0; j < BW / AT_VW; j++)
            xv[j] = vload(x + i * in + AT_VW * j, AT_VW, 0);
        for (int c = 0; c < C; c++) {
            float g = dy[i * out + c];
            for (int j = 0; j < BW / AT_VW; j++)
                acc[c][j] += g * xv[j];
        }
    }
    for (int c = 0; c < C; c++)
        for (int j = 0; j < BW / AT_VW; j++)
            vstore(dW + c * in + AT_VW * j, acc[c][j], AT_VW);
}

/* dx[i..i+R)[k..k+16) = sum_q dy[i..i+R)[q] W[q][k..k+16). */
INLINE void dinput_tile(size_t in, const float *W, const float *dy, size_t out, float *dx, int R)
{
    vf acc[4][BW / AT_VW] = {{{0}}};
    for (size_t q = 0; q < out; q++) {
        vf wv[BW / AT_VW];
        for (int j = 0; j < BW / AT_VW; j++)
            wv[j] = vload(W + q * in + AT_VW * j, AT_VW, 0);
        for (int r = 0; r < R; r++) {
            float g = dy[r * out + q];
            for (int j = 0; j < BW / AT_VW; j++)
                acc[r][j] += g * wv[j];
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < BW / AT_VW; j++)
            vstore(dx + r * in + AT_VW * j, acc[r][j], AT_VW);
}

static void k_linear_backward(const float *x, size_t n, size_t in, const float *W,
                              const float *dy, size_t out, float *dW, float *db, float *dx)
{
    if (db)
        for (size_t i = 0; i < n; i++)
            for (size_t o = 0; o < out; o++)
                db[o] += dy[i * out + o];
    if (in % BW) { /* odd widths: the plain way */
        for (size_t i = 0; i < n; i++) {
            for (size_t o = 0; o < out; o++)
                k_axpy(in, dy[i * out + o], x + i * in, dW + o * in);
            if (dx) {
                memset(dx + i * in, 0, in * sizeof *dx);
                for (size_t o = 0; o < out; o++)
                    k_axpy(in, dy[i * out + o], W + o * in, dx + i * in);
            }
        }
        return;
    }
    for (size_t k = 0; k < in; k += BW) {
        size_t o = 0;
        for (; o + 4 <= out; o += 4)
            dweight_tile(x + k, n, in, dy + o, out, dW + o * in + k, 4);
        for (; o < out; o++)
            dweight_tile(x + k, n, in, dy + o, out, dW + o * in + k, 1);
    }
    if (!dx)
        return;
    for (size_t k = 0; k < in; k += BW) {
        size_t i = 0;
        for (; i + 4 <= n; i += 4)
            dinput_tile(in, W + k, dy + i * out, out, dx + i * in + k, 4);
        for (; i < n; i++)
            dinput_tile(in, W + k, dy + i * out, out, dx + i * in + k, 1);
    }
}

/* ---- 16-bit floats, widened exactly (a path with conversion instructions
 * has its own; they give the same values) */

static void k_halves_bits(const void *src, size_t n, float *out, int add)
{
    typedef uint16_t hvec __attribute__((vector_size(2 * AT_VW)));
    typedef uint32_t vu __attribute__((vector_size(4 * AT_VW)));
    const unsigned char *p = src;
    size_t k = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ /* the halves are little-endian */
    /* in vectors: a half's exponent and fraction bits moved to a float's
     * place, times 2^112 (the exponents' bias apart), are its value exactly,
     * subnormals included; infinities and NaNs get the float's top exponent
     * (at_half_to_float one at a time took 5% of tagging on the plain path) */
    for (; k + AT_VW <= n; k += AT_VW) {
        hvec h;
        memcpy(&h, p + 2 * k, sizeof h);
        vi x = __builtin_convertvector(h, vi), em = x & 0x7FFF;
        vi special = em >= 0x7C00;
        vi bits = (vi)((vf)(em << 13) * 0x1p112f);
        bits = (bits & ~special) | (((em << 13) | 0x7F800000) & special);
        vf v = (vf)(bits | (vi)((vu)(x & 0x8000) << 16));
        vstore(out + k, add ? vload(out + k, AT_VW, 0) + v : v, AT_VW);
    }
#endif
    for (; k < n; k++) {
        float v = at_half_to_float((uint16_t)(p[2 * k] | p[2 * k + 1] << 8));
        out[k] = add ? out[k] + v : v;
    }
}

/* ---- one attention head (see attention.c for the maths) */

/* context: o[0..dh) = sum over keys j in [lo, hi) of wi[j] (times the
 * dropout mask di[j]) v_j, with even and odd keys in two chains. */
INLINE void context(const float *wi, const float *di, const float *v, size_t d, size_t dh,
                    size_t lo, size_t hi, float *o)
{
    size_t e0 = 0;
    for (; e0 + 2 * AT_VW <= dh; e0 += 2 * AT_VW) {
        vf a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
        size_t j = lo;
        for (; j + 2 <= hi; j += 2) {
            float w0 = di ? wi[j] * di[j] : wi[j];
            float w1 = di ? wi[j + 1] * di[j + 1] : wi[j + 1];
            a0 += w0 * vload(v + j * d + e0, AT_VW, 0);
            a1 += w0 * vload(v + j * d + e0 + AT_VW, AT_VW, 0);
            b0 += w1 * vload(v + (j + 1) * d + e0, AT_VW, 0);
            b1 += w1 * vload(v + (j + 1) * d + e0 + AT_VW, AT_VW, 0);
        }
        if (j < hi) {
            float w0 = di ? wi[j] * di[j] : wi[j];
            a0 += w0 * vload(v + j * d + e0, AT_VW, 0);
            a1 += w0 * vload(v + j * d + e0 + AT_VW, AT_VW, 0);
        }
        vstore(o + e0, a0 + b0, AT_VW);
        vstore(o + e0 + AT_VW, a1 + b1, AT_VW);
    }
    for (; e0 < dh; e0++) {
        float acc = 0;
        for (size_t j = lo; j < hi; j++)
            acc += (di ? wi[j] * di[j] : wi[j]) * v[j * d + e0];
        o[e0] = acc;
    }
}

/* transpose_v: r[i][j] <- r[j][i] for an AT_VW x AT_VW block, by swapping
 * the off-diagonal blocks of AT_VW / 2, then of half that, ... 1 lanes
 * between row pairs. Unrolled, so that r stays in registers (GCC otherwise
 * loops over r in memory: a store and reload per row and step). */
#define SWAP(s)                                                                 \
    _Pragma("GCC unroll 16")                                                    \
    for (int i = 0; i < AT_VW; i++)                                             \
        if (!(i & (s))) {                                                       \
            vf a = r[i], b = r[i + (s)];                                        \
            r[i] = __builtin_shufflevector(a, b, FIRST_##s);                    \
            r[i + (s)] = __builtin_shufflevector(a, b, SECOND_##s);             \
        }
#if AT_VW == 16
#define FIRST_8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define SECOND_8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define FIRST_4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define SECOND_4 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define FIRST_2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define SECOND_2 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define FIRST_1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define SECOND_1 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31
#elif AT_VW == 8
#define FIRST_4 0, 1, 2, 3, 8, 9, 10, 11
#define SECOND_4 4, 5, 6, 7, 12, 13, 14, 15
#define FIRST_2 0, 1, 8, 9, 4, 5, 12, 13
#define SECOND_2 2, 3, 10, 11, 6, 7, 14, 15
#define FIRST_1 0, 8, 2, 10, 4, 12, 6, 14
#define SECOND_1 1, 9, 3, 11, 5, 13, 7, 15
#else
#define FIRST_2 0, 1, 4, 5
#define SECOND_2 2, 3, 6, 7
#define FIRST_1 0, 4, 2, 6
#define SECOND_1 1, 5, 3, 7
#endif

INLINE void transpose_v(vf *r)
{
#if AT_VW == 16
    SWAP(8)
#endif
#if AT_VW >= 8
    SWAP(4)
#endif
    SWAP(2)
    SWAP(1)
}
#undef SWAP

/* n rows of x (d apart) transposed: xt[e][j] = x[j][e], [dh, np], zero past
 * n; in blocks of AT_VW x AT_VW in registers when dh is a whole number of
 * vectors. */
static void transpose_rows(const float *x, size_t d, size_t dh, size_t n, size_t np, float *xt)
{
    if (dh % AT_VW == 0) {
        for (size_t j0 = 0; j0 < np; j0 += AT_VW)
            for (size_t e0 = 0; e0 < dh; e0 += AT_VW) {
                vf r[AT_VW];
                #pragma GCC unroll 16
                for (size_t jj = 0; jj < AT_VW; jj++)
                    r[jj] = j0 + jj < n ? vload(x + (j0 + jj) * d + e0, AT_VW, 0) : (vf){0};
                transpose_v(r);
                #pragma GCC unroll 16
                for (size_t ee = 0; ee < AT_VW; ee++)
                    vstore(xt + (e0 + ee) * np + j0, r[ee], AT_VW);
            }
        return;
    }
    for (size_t e = 0; e < dh; e++) {
        for (size_t j = 0; j < n; j++)
            xt[e * np + j] = x[j * d + e];
        for (size_t j = n; j < np; j++)
            xt[e * np + j] = 0.0f;
    }
}

/* k_head: head t of one chunk of n tokens (at_head_args, kernels.h), AT_VW
 * queries at a time, one query per lane: the block's queries transposed
 * (qt), then for each key the block's scores in one vector, so that the
 * softmax over keys is lane by lane, with no sums across lanes, and each
 * key's scores sum the head's dimensions in order, the same on every path.
 * Four keys at a time, their sums independent chains. The weights are
 * transposed back to rows of [n, n] (the context, the dropout mask and
 * `explain` read them so). */
static void k_head(const at_head_args *h)
{
    const float *k = h->k, *v = h->v;
    size_t d = h->d, dh = h->dh, n = h->n, Lp = h->Lp;
    int window = h->window;
    float *weights = h->weights, *ctx = h->ctx;
    float *qt = h->scratch;       /* [dh, AT_VW] */
    float *st = qt + dh * AT_VW;  /* [n, AT_VW]: key j's scores, then weights, for the block */
    for (size_t i0 = 0; i0 < n; i0 += AT_VW) {
        size_t m = n - i0 < AT_VW ? n - i0 : AT_VW, lo, hi, lo_last, hi_first;
        transpose_rows(h->q + i0 * d, d, dh, m, AT_VW, qt);
        at_key_span(window, i0, n, &lo, &hi_first); /* the keys any query of the block sees */
        at_key_span(window, i0 + m - 1, n, &lo_last, &hi);
        /* bias_rev[Lp - 1 - j + i]: the position bias of key j for query i */
        const float *brev = h->bias_rev + Lp - 1 + i0;
        vf mx = vsplat(-INFINITY);
        for (size_t j = lo; j < hi; j += 4) {
            vf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
            size_t j1 = j + 1 < hi ? j + 1 : j, j2 = j + 2 < hi ? j + 2 : j;
            size_t j3 = j + 3 < hi ? j + 3 : j;
            const float *k0 = k + j * d, *k1 = k + j1 * d, *k2 = k + j2 * d, *k3 = k + j3 * d;
            for (size_t e = 0; e < dh; e++) {
                vf qe = vload(qt + e * AT_VW, AT_VW, 0);
                a0 += k0[e] * qe;
                a1 += k1[e] * qe;
                a2 += k2[e] * qe;
                a3 += k3[e] * qe;
            }
            vf sc[4] = {a0 * h->scale + vload(brev - j, AT_VW, 0),
                        a1 * h->scale + vload(brev - j1, AT_VW, 0),
                        a2 * h->scale + vload(brev - j2, AT_VW, 0),
                        a3 * h->scale + vload(brev - j3, AT_VW, 0)};
            for (size_t u = 0; u < 4 && j + u < hi; u++) {
                mx = vmax(mx, sc[u]);
                vstore(st + (j + u - lo) * AT_VW, sc[u], AT_VW);
            }
        }
        vf sum = {0};
        for (size_t j = lo; j < hi; j++) { /* e^-inf: exactly 0 */
            vf s = vload(st + (j - lo) * AT_VW, AT_VW, 0);
            vf e = vselect(s == -INFINITY, (vf){0}, vexp(s - mx));
            sum += e;
            vstore(st + (j - lo) * AT_VW, e, AT_VW);
        }
        vf inv = 1.0f / sum;
        for (size_t j0 = 0; j0 < n; j0 += AT_VW) { /* rows of weights, AT_VW keys at a time */
            vf r[AT_VW];
            #pragma GCC unroll 16
            for (size_t jj = 0; jj < AT_VW; jj++) {
                size_t j = j0 + jj;
                r[jj] = j >= lo && j < hi ? vload(st + (j - lo) * AT_VW, AT_VW, 0) * inv
                                          : (vf){0};
            }
            transpose_v(r);
            size_t cols = n - j0 < AT_VW ? n - j0 : AT_VW;
            for (size_t l = 0; l < m; l++)
                vstore(weights + (i0 + l) * n + j0, r[l], cols);
        }
        for (size_t i = i0; i < i0 + m; i++) {
            size_t lo_i, hi_i;
            at_key_span(window, i, n, &lo_i, &hi_i);
            float *di = h->drop ? h->drop + i * n : NULL;
            if (di) /* the mask is kept: weights stay as computed, for showing */
                for (size_t j = lo_i; j < hi_i; j++)
                    di[j] = at_rand(h->rng) < h->p_drop ? 0.0f : 1.0f / (1.0f - h->p_drop);
            context(weights + i * n, di, v, d, dh, lo_i, hi_i, ctx + i * d); /* [dh] */
        }
    }
}

