/*
 * kernels.h - the few numeric kernels the network is made of, small enough to
 * verify at a glance. Matrices are row-major; a linear map W is [out, in].
 * Each has a form per instruction-set path (src/kernels/: plain.c, avx2.c,
 * avx512.c, neon.c), chosen at run time through one table (dispatch.c).
 */
#ifndef ATTNTAG_KERNELS_H
#define ATTNTAG_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* W [out, in] packed for at_gemm: panels of 16 outputs, each [in][16], the
 * last padded with zeros (64-byte aligned). */
typedef struct at_packed {
    float *p;           /* 32-bit weights, or NULL */
    int8_t *q;          /* or 8-bit ones: [panels][kp / 4][16][4] */
    float *scale;       /* [out] 8-bit: each output's weight scale */
    int32_t *colsum;    /* [out] 8-bit: each output's sum of weights */
    size_t in, out, kp; /* kp: in rounded up to 4 */
} at_packed;

/* Scratch for the 8-bit products: the rows of x as the chosen path's
 * integers (signed bytes, or 16-bit numbers on the plain path: at most
 * AT_QBUF_ELEM bytes each), their scales, and room for one panel of weights
 * widened to 16 bits (the plain path's, rows padded to 8 weights: at least
 * AT_PANEL_BYTES(max kp) bytes, 16-byte aligned, as malloc gives). */
enum { AT_QBUF_ELEM = 2 };
#define AT_PANEL_BYTES(kp) (16 * (((size_t)(kp) + 7) & ~(size_t)7) * AT_QBUF_ELEM)
typedef struct at_qbuf {
    void *q;            /* [rows, max kp] */
    float *scale;       /* [rows] */
    void *panel;        /* AT_PANEL_BYTES(max kp) */
} at_qbuf;

/* at_pack, at_pack_int8: 0, or -1 when out of memory. */
int at_pack(const float *W, size_t out, size_t in, at_packed *P);
int at_pack_int8(const float *W, size_t out, size_t in, at_packed *P);
/* at_pack_int8_stored: a pack made before, as at_pack_int8 lays it out (q
 * [panels][kp / 4][16][4], scale [out]), copied in: 0, or -1 out of memory. */
int at_pack_int8_stored(const int8_t *q, const void *scale, size_t out, size_t in,
                        at_packed *P);
void at_packed_free(at_packed *P);
/* y[n, out] = x[n, in] · W^T + b (b may be NULL), W packed: the forward pass's
 * product, for many rows at once (kernels/drivers.h). An 8-bit W takes each row of x
 * to bytes first, in qb. */
void at_gemm(const float *x, size_t n, const at_packed *W, const float *b, float *y,
             at_qbuf *qb);
/* at_gemm_add: y = res + (x · W^T + b), each sum rounded as at_add rounds it
 * after at_gemm (y may be res). */
void at_gemm_add(const float *x, size_t n, const at_packed *W, const float *b,
                 const float *res, float *y, at_qbuf *qb);
/* at_gemm_shared: y[i] = x · W[i]^T + b[i] for `count` matrices on the same
 * x, which the 8-bit products take to bytes once. */
void at_gemm_shared(const float *x, size_t n, const at_packed *const *W, const float *const *b,
                    float *const *y, int count, at_qbuf *qb);
/* Backward of y[n, out] = x[n, in] · W^T + b (at_gemm): dW[out, in] += dy^T · x,
 * db[out] += sum of dy rows, dx[n, in] = dy · W (overwritten; NULL to skip). */
void at_linear_backward(const float *x, size_t n, size_t in, const float *W, const float *dy,
                        size_t out, float *dW, float *db, float *dx);
/* y[n, d] = LN(x) · w + b per row; mean and rstd [n] kept for the backward pass. */
void at_layernorm(const float *x, size_t n, size_t d, const float *w, const float *b,
                  double eps, float *y, float *mean, float *rstd);
/* Backward of at_layernorm: dw, db accumulate; dx[n, d] is overwritten. */
void at_layernorm_backward(const float *x, size_t n, size_t d, const float *w,
                           const float *mean, const float *rstd, const float *dy, float *dw,
                           float *db, float *dx);
/* The first index of the largest of x[0..n), as `if (x[k] > x[best]) best = k`
 * from best = 0 finds it (NaN is never larger; 0 for n = 0). */
size_t at_argmax(const float *x, size_t n);
/* x[0..n) <- softmax(x); -INFINITY entries get weight 0. */
void at_softmax(float *x, size_t n);
float at_dot(const float *a, const float *b, size_t n);
void at_relu(const float *x, size_t n, float *y);
void at_gelu(const float *x, size_t n, float *y);
/* dx[i] = dy[i] · act'(x[i]) (x: the activation's input) */
void at_relu_backward(const float *x, const float *dy, size_t n, float *dx);
void at_gelu_backward(const float *x, const float *dy, size_t n, float *dx);
/* out[0..n) = (add ? out + : ) the 16-bit little-endian floats at src. */
void at_halves(const void *src, size_t n, float *out, int add);
/* One attention head over one chunk of n tokens (attention.c): q, k, v, ctx
 * are [n, d] with the head's slice at column 0 (rows d apart); weights
 * [n, n]; scratch of 16 (dh + Lp) floats, Lp >= n a multiple of 16;
 * bias_rev: the head's position bias (-inf outside the window) of key j for
 * query i at Lp - 1 - j + i; drop: the dropout mask [n, n] to make (with
 * p_drop and rng), or NULL. */
typedef struct at_head_args {
    const float *q, *k, *v;
    size_t d, dh, n, Lp;
    int window;
    const float *bias_rev;
    float scale;
    float *weights, *ctx, *scratch, *drop;
    float p_drop;
    uint64_t *rng;
} at_head_args;
void at_head_forward(const at_head_args *h);
/* The scratch at_attention_forward takes, in floats: the heads' (above) and
 * each head's position bias, [H, 2 Lp]. */
#define AT_ATTENTION_SCRATCH(Lp, dh, H) (16 * ((dh) + (Lp)) + 2 * (H) * (Lp))
/* The keys j in [lo, hi) that query i of n may attend to (window 0: all). */
static inline void at_key_span(int window, size_t i, size_t n, size_t *lo, size_t *hi)
{
    *lo = 0;
    *hi = n;
    if (window > 0) {
        *lo = i > (size_t)window ? i - (size_t)window : 0;
        *hi = i + (size_t)window + 1 < n ? i + (size_t)window + 1 : n;
    }
}
/* y[i] = a[i] + b[i] (y may be a or b) */
void at_add(const float *a, const float *b, size_t n, float *y);
/* y[i] += a · x[i] */
void at_axpy(size_t n, float a, const float *x, float *y);


#endif
