/*
 * attention.c - multi-head self-attention, as in the notes:
 *   q = W^Q h, k = W^K h, v = W^V h
 *   scores[t][i][j] = q_i . k_j / sqrt(dh) + rel_bias[t][clip(j - i)]
 *   weights = softmax_j(scores), outside the window masked out
 *   o_i = sum_j weights[t][i][j] v_j, concatenated over heads, then W^O.
 * A window of k tokens is the lecture's CNN: self-attention with a hand-set
 * receptive field. window 0 is the whole sentence.
 */
#include "attention.h"

#include "kernels.h"
#include "vec16.h"

#include <math.h>
#include <string.h>

/* span: the keys j in [lo, hi) that query i may attend to. */
static void span(int window, size_t i, size_t n, size_t *lo, size_t *hi)
{
    *lo = 0;
    *hi = n;
    if (window > 0) {
        *lo = i > (size_t)window ? i - (size_t)window : 0;
        *hi = i + (size_t)window + 1 < n ? i + (size_t)window + 1 : n;
    }
}

static long clip(long dist, long R)
{
    return dist < -R ? -R : dist > R ? R : dist;
}

#define INLINE static inline __attribute__((always_inline))

/* scores16: query qi against keys j0 .. j0+15 (transposed in kt, rows np
 * apart), scaled, plus bias[np + j - i] (the position bias, -inf outside the
 * window) and pad[j] (-inf past the chunk's last key). Four chains over the
 * head's dimensions, so that the multiply-adds overlap. */
INLINE at_v16 scores16(const float *qi, const float *kt, size_t np, size_t dh, size_t j0,
                       size_t i, float scale, const float *bias, const float *pad)
{
    const at_v16 zero = {0};
    at_v16 a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    const float *kj = kt + j0;
    size_t e = 0;
    for (; e + 4 <= dh; e += 4) {
        a0 += qi[e] * at_load16(kj + e * np, 16, 0);
        a1 += qi[e + 1] * at_load16(kj + (e + 1) * np, 16, 0);
        a2 += qi[e + 2] * at_load16(kj + (e + 2) * np, 16, 0);
        a3 += qi[e + 3] * at_load16(kj + (e + 3) * np, 16, 0);
    }
    for (; e < dh; e++)
        a0 += qi[e] * at_load16(kj + e * np, 16, 0);
    at_v16 row = ((a0 + a1) + (a2 + a3)) * scale + at_load16(bias + np - i + j0, 16, 0);
    return row + at_load16(pad + j0, 16, 0);
}

/* softmax16: the weights of one row of at most 16 scores. */
INLINE at_v16 softmax16(at_v16 row)
{
    const at_v16 zero = {0};
    at_v16 ex = at_select16(row == -INFINITY, zero, at_exp16(row - at_hmax16(row)));
    return ex * (1.0f / at_sum16(ex));
}

/* near: where the block of sixteen keys around query i starts, when the
 * window fits in it (the other keys' weights are 0): any chunk length then
 * costs one block of scores per query. */
INLINE size_t near(size_t i, int window, size_t np)
{
    size_t j0 = i > (size_t)window ? i - (size_t)window : 0;
    return j0 < np - 16 ? j0 : np - 16;
}

/* softmax32: the weights of a row of 17 to 32 scores, r0 then r1, in place:
 * the same operations as at_softmax on them in memory. */
INLINE void softmax32(at_v16 *r0, at_v16 *r1)
{
    const at_v16 zero = {0};
    float mx = at_hmax16(at_max16(*r0, *r1));
    at_v16 e0 = at_select16(*r0 == -INFINITY, zero, at_exp16(*r0 - mx));
    at_v16 e1 = at_select16(*r1 == -INFINITY, zero, at_exp16(*r1 - mx));
    float inv = 1.0f / at_sum16(e0 + e1);
    *r0 = e0 * inv;
    *r1 = e1 * inv;
}

/* context: o[0..dh) = sum over keys j in [lo, hi) of wi[j] (times the
 * dropout mask di[j]) v_j, with even and odd keys in two chains. */
INLINE void context(const float *wi, const float *di, const float *v, size_t d, size_t dh,
                    size_t lo, size_t hi, float *o)
{
    const at_v16 zero = {0};
    size_t e0 = 0;
    for (; e0 + 32 <= dh; e0 += 32) {
        at_v16 a0 = zero, a1 = zero, b0 = zero, b1 = zero;
        size_t j = lo;
        for (; j + 2 <= hi; j += 2) {
            float w0 = di ? wi[j] * di[j] : wi[j];
            float w1 = di ? wi[j + 1] * di[j + 1] : wi[j + 1];
            a0 += w0 * at_load16(v + j * d + e0, 16, 0);
            a1 += w0 * at_load16(v + j * d + e0 + 16, 16, 0);
            b0 += w1 * at_load16(v + (j + 1) * d + e0, 16, 0);
            b1 += w1 * at_load16(v + (j + 1) * d + e0 + 16, 16, 0);
        }
        if (j < hi) {
            float w0 = di ? wi[j] * di[j] : wi[j];
            a0 += w0 * at_load16(v + j * d + e0, 16, 0);
            a1 += w0 * at_load16(v + j * d + e0 + 16, 16, 0);
        }
        at_store16(o + e0, a0 + b0, 16);
        at_store16(o + e0 + 16, a1 + b1, 16);
    }
    for (; e0 < dh; e0++) {
        float acc = 0;
        for (size_t j = lo; j < hi; j++)
            acc += (di ? wi[j] * di[j] : wi[j]) * v[j * d + e0];
        o[e0] = acc;
    }
}

/* head_forward: head t of one chunk of n tokens: q, k, v, ctx are [n, d] with
 * the head's slice at column 0 (rows d apart); weights [n, n]; kt
 * [dh + 2, np] scratch, np = n rounded up to 16; bias: the head's position
 * bias (-inf outside the window) of key j for query i at Lp + j - i; pad: 0
 * before Lp, -inf from it. The scores of a query are computed for 16 keys at
 * a time from the keys transposed, and the context kept in registers. A
 * chunk of up to 16 tokens (most sentences), and a window of at most 7 keys
 * each side in a chunk of any length, has its softmax in one vector; rows are
 * taken two at a time, so that their dependent steps overlap. */
HOT static void head_forward(const float *q, const float *k, const float *v, size_t d, size_t dh,
                             size_t n, int window, const float *bias_row, const float *pad_row,
                             size_t Lp, float scale, float *weights, float *ctx, float *kt,
                             float *drop, float p_drop, uint64_t *rng)
{
    size_t np = (n + 15) / 16 * 16;
    if (dh % 16 == 0) { /* 16 x 16 blocks in registers: whole-vector stores */
        for (size_t j0 = 0; j0 < np; j0 += 16)
            for (size_t e0 = 0; e0 < dh; e0 += 16) {
                at_v16 r[16];
                for (size_t jj = 0; jj < 16; jj++)
                    r[jj] = j0 + jj < n ? at_load16(k + (j0 + jj) * d + e0, 16, 0)
                                        : (at_v16){0};
                at_transpose16(r);
                for (size_t ee = 0; ee < 16; ee++)
                    at_store16(kt + (e0 + ee) * np + j0, r[ee], 16);
            }
    } else {
        for (size_t e = 0; e < dh; e++) {
            for (size_t j = 0; j < n; j++)
                kt[e * np + j] = k[j * d + e];
            for (size_t j = n; j < np; j++)
                kt[e * np + j] = 0.0f;
        }
    }
    float *sc = kt + dh * np;                   /* [np] one row of scores */
    float *sc2 = sc + np;                       /* [np] a second row of scores */
    const float *bias = bias_row + Lp - np;     /* bias[np + j - i]: key j, query i */
    const float *pad = pad_row + Lp - n;        /* [np] 0 for the chunk's keys, then -inf */
    bool small = window > 0 && 2 * (size_t)window < 16;
    size_t i = 0;
    if (!drop)
        for (; i + 2 <= n; i += 2) {
            size_t lo0, hi0, lo1, hi1;
            span(window, i, n, &lo0, &hi0);
            span(window, i + 1, n, &lo1, &hi1);
            const float *q0 = q + i * d, *q1 = q + (i + 1) * d;
            if (np == 16) {
                at_v16 w0 = softmax16(scores16(q0, kt, np, dh, 0, i, scale, bias, pad));
                at_v16 w1 = softmax16(scores16(q1, kt, np, dh, 0, i + 1, scale, bias, pad));
                at_store16(weights + i * n, w0, n);
                at_store16(weights + (i + 1) * n, w1, n);
            } else if (small) {
                size_t a0 = near(i, window, np), a1 = near(i + 1, window, np);
                at_v16 w0 = softmax16(scores16(q0, kt, np, dh, a0, i, scale, bias, pad));
                at_v16 w1 = softmax16(scores16(q1, kt, np, dh, a1, i + 1, scale, bias, pad));
                memset(weights + i * n, 0, 2 * n * sizeof *weights);
                at_store16(weights + i * n + a0, w0, n - a0);
                at_store16(weights + (i + 1) * n + a1, w1, n - a1);
            } else if (np == 32) {
                at_v16 r0 = scores16(q0, kt, np, dh, 0, i, scale, bias, pad);
                at_v16 r1 = scores16(q0, kt, np, dh, 16, i, scale, bias, pad);
                at_v16 s0 = scores16(q1, kt, np, dh, 0, i + 1, scale, bias, pad);
                at_v16 s1 = scores16(q1, kt, np, dh, 16, i + 1, scale, bias, pad);
                softmax32(&r0, &r1);
                softmax32(&s0, &s1);
                at_store16(weights + i * n, r0, 16);
                at_store16(weights + i * n + 16, r1, n - 16);
                at_store16(weights + (i + 1) * n, s0, 16);
                at_store16(weights + (i + 1) * n + 16, s1, n - 16);
            } else {
                for (size_t j0 = 0; j0 < np; j0 += 16) {
                    at_store16(sc + j0, scores16(q0, kt, np, dh, j0, i, scale, bias, pad), 16);
                    at_store16(sc2 + j0, scores16(q1, kt, np, dh, j0, i + 1, scale, bias, pad),
                               16);
                }
                at_softmax(sc, np);
                at_softmax(sc2, np);
                memcpy(weights + i * n, sc, n * sizeof *weights);
                memcpy(weights + (i + 1) * n, sc2, n * sizeof *weights);
            }
            context(weights + i * n, NULL, v, d, dh, lo0, hi0, ctx + i * d);
            context(weights + (i + 1) * n, NULL, v, d, dh, lo1, hi1, ctx + (i + 1) * d);
        }
    for (; i < n; i++) {
        float *wi = weights + i * n; /* row i: [n] */
        size_t lo, hi;
        span(window, i, n, &lo, &hi);
        if (np == 16) {
            at_store16(wi, softmax16(scores16(q + i * d, kt, np, dh, 0, i, scale, bias, pad)),
                       n);
        } else if (small) {
            size_t a = near(i, window, np);
            memset(wi, 0, n * sizeof *wi);
            at_store16(wi + a, softmax16(scores16(q + i * d, kt, np, dh, a, i, scale, bias, pad)),
                       n - a);
        } else {
            for (size_t j0 = 0; j0 < np; j0 += 16)
                at_store16(sc + j0, scores16(q + i * d, kt, np, dh, j0, i, scale, bias, pad),
                           16);
            at_softmax(sc, np);
            memcpy(wi, sc, n * sizeof *wi);
        }
        float *di = drop ? drop + i * n : NULL;
        if (di) /* the mask is kept: weights stay as computed, for showing */
            for (size_t j = lo; j < hi; j++)
                di[j] = at_rand(rng) < p_drop ? 0.0f : 1.0f / (1.0f - p_drop);
        context(wi, di, v, d, dh, lo, hi, ctx + i * d); /* head t's slice of o_i: [dh] */
    }
}

void at_attention_forward(const at_config *c, const at_layer_w *w, const at_packed *P,
                          int window, const at_chunk *chunks, size_t n_chunks, size_t rows,
                          at_layer_act *a, const float *res, float *out, float *kt,
                          at_qbuf *qb, float p_drop, uint64_t *rng)
{
    size_t d = (size_t)c->dim, H = (size_t)c->heads, dh = d / H;
    long R = c->rel_pos;
    float scale = 1.0f / sqrtf((float)dh);

    const at_packed *Wqkv[3] = {&P[AT_PK_Q], &P[AT_PK_K], &P[AT_PK_V]};
    const float *bqkv[3] = {w->bq, w->bk, w->bv};
    float *qkv[3] = {a->q, a->k, a->v}; /* each [rows, d] */
    at_gemm_shared(a->h1, rows, Wqkv, bqkv, qkv, 3, qb);

    /* each head's position bias by distance, made once for every chunk */
    size_t Lp = ((size_t)c->max_len + 15) / 16 * 16;
    float *bias = kt + Lp * (dh + 2); /* [H, 2 Lp]: j - i at Lp + j - i */
    float *pad = bias + H * 2 * Lp;   /* [2 Lp] */
    for (size_t t = 0; t < H; t++) {
        const float *rel = R ? w->rel_bias + t * (size_t)(2 * R + 1) : NULL;
        for (size_t x = 0; x < 2 * Lp; x++) {
            long dist = (long)x - (long)Lp;
            bias[t * 2 * Lp + x] = window > 0 && (dist > window || dist < -window) ? -INFINITY
                                   : rel ? rel[clip(dist, R) + R] : 0.0f;
        }
    }
    for (size_t x = 0; x < 2 * Lp; x++)
        pad[x] = x < Lp ? 0.0f : -INFINITY;

    for (size_t ch = 0; ch < n_chunks; ch++) { /* each chunk attends within itself */
        size_t n = chunks[ch].len, r0 = chunks[ch].row * d;
        for (size_t t = 0; t < H; t++)
            head_forward(a->q + r0 + t * dh, a->k + r0 + t * dh, a->v + r0 + t * dh, d, dh, n,
                         window, bias + t * 2 * Lp, pad, Lp, scale,
                         a->weights + chunks[ch].wo + t * n * n, a->ctx + r0 + t * dh, kt,
                         p_drop > 0 ? a->drop_w + t * n * n : NULL, p_drop, rng);
    }
    at_gemm_add(a->ctx, rows, &P[AT_PK_O], w->bo, res, out, qb);
}

/* Backward, in reverse order of the forward steps. gw's pointers are the
 * gradient tensors (writable memory of a model made by at_model_new). datt
 * may be g->dt: it is read only by the first step. */
void at_attention_backward(const at_config *c, const at_layer_w *w, const at_layer_w *gw,
                           int window, size_t n, const at_layer_act *a, float p_drop,
                           const float *datt, at_grad_scratch *g, float *dh1)
{
    size_t d = (size_t)c->dim, H = (size_t)c->heads, dh = d / H;
    long R = c->rel_pos;
    float scale = 1.0f / sqrtf((float)dh);

    /* att = ctx · Wo^T + bo */
    at_linear_backward(a->ctx, n, d, w->wo, datt, d, (float *)gw->wo, (float *)gw->bo, g->dctx);

    memset(g->dq, 0, n * d * sizeof *g->dq);
    memset(g->dk, 0, n * d * sizeof *g->dk);
    memset(g->dv, 0, n * d * sizeof *g->dv);
    for (size_t t = 0; t < H; t++) {
        float *drel = R ? (float *)gw->rel_bias + t * (size_t)(2 * R + 1) : NULL;
        for (size_t i = 0; i < n; i++) {
            const float *weights = a->weights + (t * n + i) * n;
            const float *drop = p_drop > 0 ? a->drop_w + (t * n + i) * n : NULL;
            const float *dout = g->dctx + i * d + t * dh; /* dLoss/d o_i, head t: [dh] */
            size_t lo, hi;
            span(window, i, n, &lo, &hi);
            /* o_i = sum_j weights_ij drop_ij v_j */
            float dot = 0; /* sum_j weights_ij dweights_ij, for the softmax */
            for (size_t j = lo; j < hi; j++) {
                const float *v = a->v + j * d + t * dh;
                float *dv = g->dv + j * d + t * dh;
                float m = drop ? drop[j] : 1.0f;
                g->dw[j] = at_dot(dout, v, dh) * m;
                for (size_t e = 0; e < dh; e++)
                    dv[e] += weights[j] * m * dout[e];
                dot += weights[j] * g->dw[j];
            }
            /* weights = softmax(scores): dscores_ij = weights_ij (dweights_ij - dot) */
            const float *q = a->q + i * d + t * dh;
            float *dq = g->dq + i * d + t * dh;
            for (size_t j = lo; j < hi; j++) {
                float ds = weights[j] * (g->dw[j] - dot);
                if (drel)
                    drel[clip((long)j - (long)i, R) + R] += ds;
                ds *= scale;
                const float *k = a->k + j * d + t * dh;
                float *dk = g->dk + j * d + t * dh;
                for (size_t e = 0; e < dh; e++) {
                    dq[e] += ds * k[e];
                    dk[e] += ds * q[e];
                }
            }
        }
    }
    /* q, k, v = h1 · W^T + b: their input gradients add up in dh1 */
    at_linear_backward(a->h1, n, d, w->wq, g->dq, d, (float *)gw->wq, (float *)gw->bq, dh1);
    at_linear_backward(a->h1, n, d, w->wk, g->dk, d, (float *)gw->wk, (float *)gw->bk, g->dt);
    for (size_t i = 0; i < n * d; i++)
        dh1[i] += g->dt[i];
    at_linear_backward(a->h1, n, d, w->wv, g->dv, d, (float *)gw->wv, (float *)gw->bv, g->dt);
    for (size_t i = 0; i < n * d; i++)
        dh1[i] += g->dt[i];
}
