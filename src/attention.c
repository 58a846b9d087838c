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

#include <math.h>
#include <string.h>

static long clip(long dist, long R)
{
    return dist < -R ? -R : dist > R ? R : dist;
}

void at_attention_forward(const at_config *c, const at_layer_w *w, const at_packed *P,
                          int window, const at_chunk *chunks, size_t n_chunks, size_t rows,
                          at_layer_act *a, const float *res, float *out, float *scratch,
                          at_qbuf *qb, float p_drop, uint64_t *rng)
{
    size_t d = (size_t)c->dim, H = (size_t)c->heads, dh = d / H;
    long R = c->rel_pos;
    float scale = 1.0f / sqrtf((float)dh);

    const at_packed *Wqkv[3] = {&P[AT_PK_Q], &P[AT_PK_K], &P[AT_PK_V]};
    const float *bqkv[3] = {w->bq, w->bk, w->bv};
    float *qkv[3] = {a->q, a->k, a->v}; /* each [rows, d] */
    at_gemm_shared(a->h1, rows, Wqkv, bqkv, qkv, 3, qb);

    /* each head's position bias by distance j - i, made once for every
     * chunk, at Lp - 1 - (j - i): the head's kernel reads the biases of one
     * key for consecutive queries */
    size_t Lp = ((size_t)c->max_len + 15) / 16 * 16;
    float *bias_rev = scratch + 16 * (dh + Lp); /* [H, 2 Lp] */
    for (size_t t = 0; t < H; t++) {
        const float *rel = R ? w->rel_bias + t * (size_t)(2 * R + 1) : NULL;
        for (size_t x = 0; x < 2 * Lp; x++) {
            long dist = (long)Lp - 1 - (long)x;
            bias_rev[t * 2 * Lp + x] = window > 0 && (dist > window || dist < -window)
                                           ? -INFINITY
                                           : rel ? rel[clip(dist, R) + R] : 0.0f;
        }
    }

    for (size_t ch = 0; ch < n_chunks; ch++) { /* each chunk attends within itself */
        size_t n = chunks[ch].len, r0 = chunks[ch].row * d;
        for (size_t t = 0; t < H; t++) /* head t: weights [n, n], its slice of o [n, dh] */
            at_head_forward(&(at_head_args){
                .q = a->q + r0 + t * dh, .k = a->k + r0 + t * dh, .v = a->v + r0 + t * dh,
                .d = d, .dh = dh, .n = n, .Lp = Lp, .window = window,
                .bias_rev = bias_rev + t * 2 * Lp, .scale = scale,
                .weights = a->weights + chunks[ch].wo + t * n * n, .ctx = a->ctx + r0 + t * dh,
                .scratch = scratch, .drop = p_drop > 0 ? a->drop_w + t * n * n : NULL, .p_drop = p_drop,
                .rng = rng});
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
            at_key_span(window, i, n, &lo, &hi);
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
