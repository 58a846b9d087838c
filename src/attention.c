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

void at_attention_forward(const at_config *c, const at_layer_w *w, const at_packed *P,
                          int window, const at_chunk *chunks, size_t n_chunks, size_t rows,
                          at_layer_act *a, float p_drop, uint64_t *rng)
{
    size_t d = (size_t)c->dim, H = (size_t)c->heads, dh = d / H;
    long R = c->rel_pos;
    float scale = 1.0f / sqrtf((float)dh);

    at_gemm(a->h1, rows, &P[AT_PK_Q], w->bq, a->q); /* [rows, d] */
    at_gemm(a->h1, rows, &P[AT_PK_K], w->bk, a->k);
    at_gemm(a->h1, rows, &P[AT_PK_V], w->bv, a->v);

    for (size_t ch = 0; ch < n_chunks; ch++) { /* each chunk attends within itself */
        size_t n = chunks[ch].len;
        const float *q0 = a->q + chunks[ch].row * d, *k0 = a->k + chunks[ch].row * d;
        const float *v0 = a->v + chunks[ch].row * d;
        float *w0 = a->weights + chunks[ch].wo, *ctx0 = a->ctx + chunks[ch].row * d;
        for (size_t t = 0; t < H; t++) {
            const float *rel = R ? w->rel_bias + t * (size_t)(2 * R + 1) : NULL;
            for (size_t i = 0; i < n; i++) {
                float *weights = w0 + (t * n + i) * n; /* row i of head t: [n] */
                size_t lo, hi;
                span(window, i, n, &lo, &hi);
                const float *q = q0 + i * d + t * dh;
                for (size_t j = lo; j < hi; j++) {
                    float score = at_dot(q, k0 + j * d + t * dh, dh) * scale;
                    if (rel)
                        score += rel[clip((long)j - (long)i, R) + R];
                    weights[j] = score;
                }
                at_softmax(weights + lo, hi - lo);
                memset(weights, 0, lo * sizeof *weights);
                memset(weights + hi, 0, (n - hi) * sizeof *weights);

                float *drop = p_drop > 0 ? a->drop_w + (t * n + i) * n : NULL;
                if (drop) /* the mask is kept: weights stay as computed, for showing */
                    for (size_t j = lo; j < hi; j++)
                        drop[j] = at_rand(rng) < p_drop ? 0.0f : 1.0f / (1.0f - p_drop);

                float *o = ctx0 + i * d + t * dh; /* head t's slice of o_i: [dh] */
                memset(o, 0, dh * sizeof *o);
                for (size_t j = lo; j < hi; j++) {
                    const float *v = v0 + j * d + t * dh;
                    float wij = drop ? weights[j] * drop[j] : weights[j];
                    for (size_t e = 0; e < dh; e++)
                        o[e] += wij * v[e];
                }
            }
        }
    }
    at_gemm(a->ctx, rows, &P[AT_PK_O], w->bo, a->att);
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
