/*
 * backward.c - the backward pass: dLoss/dW for every weight, from the
 * activations the forward pass kept in the run state (nothing is recomputed
 * but layer-norm's normalised inputs). It mirrors forward.c step by step, in
 * reverse: classifier, final norm, blocks from last to first (FC layer, then
 * the mixing sub-layer: self-attention, see attention.c, or a window FC, see
 * window.c), input vectors.
 */
#include "attention.h"
#include "internal.h"
#include "kernels.h"
#include "window.h"

#include <string.h>

/* W: the gradient tensor that pairs with a weight (same name, writable). */
#define W(p) ((float *)(p))

/* embed_backward: dx0 [n, d] into the embedding tables and projections. */
static void embed_backward(const at_model *m, const at_state *s, const at_feats *f, size_t start,
                           size_t n, const float *dx0, const at_weights *gw)
{
    const at_config *c = &m->cfg;
    size_t d = (size_t)c->dim, cd = (size_t)c->char_dim;
    float *dword = W(gw->word->f32), *dchar = c->char_buckets ? W(gw->chr->f32) : NULL;
    for (size_t i = 0; i < n; i++) {
        size_t tok = start + i;
        const float *dx = dx0 + i * d;
        at_axpy(d, 1.0f, dx, dword + (size_t)f->word[tok] * d);
        if (c->char_buckets) {
            /* x += char_proj · cmean, cmean = mean of the n-grams' rows */
            const float *cm = s->cmean + i * cd;
            float *dcm = s->g.dcm;
            memset(dcm, 0, cd * sizeof *dcm);
            for (size_t k = 0; k < d; k++) {
                at_axpy(cd, dx[k], cm, W(gw->char_proj) + k * cd);
                at_axpy(cd, dx[k], m->w.char_proj + k * cd, dcm);
            }
            size_t g0 = f->ng_off[tok], g1 = f->ng_off[tok + 1];
            for (size_t g = g0; g < g1; g++)
                at_axpy(cd, 1.0f / (float)(g1 - g0), dcm, dchar + (size_t)f->ng[g] * cd);
        }
        if (c->shape)
            at_axpy(d, 1.0f, dx, W(gw->shape) + (size_t)f->shape[tok] * d);
        for (int b = 0; b < c->lexicon_bits; b++)
            if (f->lex[tok] >> b & 1)
                at_axpy(d, 1.0f, dx, W(gw->lex) + (size_t)b * d);
    }
}

static void mul(float *x, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= mask[i];
}

/* block_backward: g->dx holds dLoss/d(x_out) on entry, dLoss/d(x_in) on exit. */
static void block_backward(at_state *s, const at_layer_w *w, const at_layer_w *gw, int window,
                           at_mixer mixer, size_t n, at_layer_act *a)
{
    const at_config *c = &s->cfg;
    at_grad_scratch *g = &s->g;
    size_t d = (size_t)c->dim, f = (size_t)c->ffn_dim;
    bool pre = c->norm == AT_NORM_PRE;
    float p_res = s->p_res, *dffn = g->dt;

    /* the FC sub-layer: x_out = x_mid + ffn (pre) or LN(x_mid + ffn) (post) */
    if (pre) {
        memcpy(dffn, g->dx, n * d * sizeof *dffn); /* g->dx stays: dLoss/d(x_mid) so far */
    } else {
        at_layernorm_backward(a->sum2, n, d, w->ffn_norm_w, a->mean2, a->rstd2, g->dx,
                              W(gw->ffn_norm_w), W(gw->ffn_norm_b), dffn);
        memcpy(g->dx, dffn, n * d * sizeof *dffn);
    }
    if (p_res > 0)
        mul(dffn, a->drop_ffn, n * d);
    at_linear_backward(a->act, n, f, w->down_w, dffn, d, W(gw->down_w), W(gw->down_b), g->dact);
    if (c->activation == AT_ACT_RELU)
        at_relu_backward(a->up, g->dact, n * f, g->dup);
    else
        at_gelu_backward(a->up, g->dact, n * f, g->dup);
    at_linear_backward(a->h2, n, d, w->up_w, g->dup, f, W(gw->up_w), W(gw->up_b), g->dh);
    if (pre) { /* h2 = LN(x_mid) */
        at_layernorm_backward(a->x_mid, n, d, w->ffn_norm_w, a->mean2, a->rstd2, g->dh,
                              W(gw->ffn_norm_w), W(gw->ffn_norm_b), g->dt);
        at_axpy(n * d, 1.0f, g->dt, g->dx);
    } else { /* h2 = x_mid */
        at_axpy(n * d, 1.0f, g->dh, g->dx);
    }

    if (mixer == AT_MIX_NONE) /* x_mid = x_in: g->dx passes through */
        return;
    /* the mixing sub-layer: x_mid = x_in + att (pre) or LN(x_in + att) (post) */
    float *datt = g->dt;
    if (pre) {
        memcpy(datt, g->dx, n * d * sizeof *datt);
    } else {
        at_layernorm_backward(a->sum1, n, d, w->attn_norm_w, a->mean1, a->rstd1, g->dx,
                              W(gw->attn_norm_w), W(gw->attn_norm_b), datt);
        memcpy(g->dx, datt, n * d * sizeof *datt);
    }
    if (p_res > 0)
        mul(datt, a->drop_att, n * d);
    /* datt (in g->dt) is used up before attention backward reuses g->dt */
    if (mixer == AT_MIX_ATTENTION)
        at_attention_backward(c, w, gw, window, n, a, s->p_att, datt, g, g->dh);
    else
        at_window_backward(d, window, n, a->cat, w->win_w, datt, W(gw->win_w), W(gw->win_b),
                           g->dcat, g->dh);
    if (pre) { /* h1 = LN(x_in) */
        at_layernorm_backward(a->x_in, n, d, w->attn_norm_w, a->mean1, a->rstd1, g->dh,
                              W(gw->attn_norm_w), W(gw->attn_norm_b), g->dt);
        at_axpy(n * d, 1.0f, g->dt, g->dx);
    } else { /* h1 = x_in */
        at_axpy(n * d, 1.0f, g->dh, g->dx);
    }
}

int at_backward(const at_model *m, at_state *s, const at_feats *f, size_t start,
                const float *const *dlogits, at_model *grads, at_error *err)
{
    const at_config *c = &m->cfg;
    if (!s->training || !s->forward_trained)
        return at_error_set(err, "backward: the last forward pass was not run for training "
                            "(at_state_set_training first)");
    if (!m->writable)
        return at_error_set(err, "backward: the model must be made by at_model_new (a loaded "
                            "model keeps some weights in 16 bits only)");
    if (s->model != m || !grads->writable || grads->n_vocab != m->n_vocab ||
        memcmp(&grads->cfg, c, sizeof *c) != 0)
        return at_error_set(err, "backward: gradients must be a new model shaped like the model");
    size_t n = s->n, d = (size_t)c->dim;
    const at_weights *gw = &grads->w;
    at_grad_scratch *g = &s->g;

    /* classifiers: logits = x_out · W^T + b, summed over tag sets */
    memset(g->dx, 0, n * d * sizeof *g->dx);
    for (int t = 0; t < c->n_tagsets; t++) {
        at_linear_backward(s->x_out, n, d, m->w.head_w[t], dlogits[t], m->n_tags[t],
                           W(gw->head_w[t]), W(gw->head_b[t]), g->dt);
        at_axpy(n * d, 1.0f, g->dt, g->dx);
    }
    if (c->norm == AT_NORM_PRE) {
        at_layernorm_backward(s->x_last, n, d, m->w.final_norm_w, s->mean_f, s->rstd_f, g->dx,
                              W(gw->final_norm_w), W(gw->final_norm_b), g->dt);
        memcpy(g->dx, g->dt, n * d * sizeof *g->dx);
    }
    for (int l = c->layers - 1; l >= 0; l--)
        block_backward(s, &m->w.layer[l], &gw->layer[l], c->window[l], c->mixer[l], n,
                       &s->layer[l]);
    if (s->p_emb > 0)
        mul(g->dx, s->drop_emb, n * d);
    embed_backward(m, s, f, start, n, g->dx, gw);
    return 0;
}
