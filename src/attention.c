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

void at_attention_forward(const at_config *c, const at_layer_w *w, int window, size_t n,
                          at_layer_act *a)
{
    size_t d = (size_t)c->dim, H = (size_t)c->heads, dh = d / H;
    long R = c->rel_pos;
    float scale = 1.0f / sqrtf((float)dh);

    at_linear(a->h1, n, d, w->wq, w->bq, d, a->q); /* [n, d] */
    at_linear(a->h1, n, d, w->wk, w->bk, d, a->k);
    at_linear(a->h1, n, d, w->wv, w->bv, d, a->v);

    for (size_t t = 0; t < H; t++) {
        const float *rel = R ? w->rel_bias + t * (size_t)(2 * R + 1) : NULL;
        for (size_t i = 0; i < n; i++) {
            float *weights = a->weights + (t * n + i) * n; /* row i of head t: [n] */
            size_t lo = 0, hi = n;                         /* attended j in [lo, hi) */
            if (window > 0) {
                lo = i > (size_t)window ? i - (size_t)window : 0;
                hi = i + (size_t)window + 1 < n ? i + (size_t)window + 1 : n;
            }
            const float *q = a->q + i * d + t * dh;
            for (size_t j = lo; j < hi; j++) {
                float score = at_dot(q, a->k + j * d + t * dh, dh) * scale;
                if (rel) {
                    long dist = (long)j - (long)i;
                    dist = dist < -R ? -R : dist > R ? R : dist;
                    score += rel[dist + R];
                }
                weights[j] = score;
            }
            at_softmax(weights + lo, hi - lo);
            memset(weights, 0, lo * sizeof *weights);
            memset(weights + hi, 0, (n - hi) * sizeof *weights);

            float *o = a->ctx + i * d + t * dh; /* head t's slice of o_i: [dh] */
            memset(o, 0, dh * sizeof *o);
            for (size_t j = lo; j < hi; j++) {
                const float *v = a->v + j * d + t * dh;
                for (size_t e = 0; e < dh; e++)
                    o[e] += weights[j] * v[e];
            }
        }
    }
    at_linear(a->ctx, n, d, w->wo, w->bo, d, a->att);
}
