/*
 * forward.c - the one forward pass (the lecture's figure D), shared by tagging
 * and training: input vectors, then per layer self-attention and a
 * position-wise fully-connected layer, each with a residual connection and
 * layer normalisation, then one classifier per tag set. Every intermediate
 * is kept in the run state, so the backward pass and attention heat maps
 * read it instead of recomputing.
 */
#include "attention.h"
#include "internal.h"
#include "kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

float *at_state_alloc(at_state *s, size_t count, int *fail)
{
    void **nb = realloc(s->blocks, (s->n_blocks + 1) * sizeof *nb);
    float *p = calloc(count ? count : 1, sizeof *p);
    if (nb)
        s->blocks = nb;
    if (!nb || !p) {
        free(p);
        *fail = 1;
        return NULL;
    }
    s->blocks[s->n_blocks++] = p;
    return p;
}

int at_state_new(const at_model *m, at_state **out, at_error *err)
{
    const at_config *c = &m->cfg;
    at_state *s = calloc(1, sizeof *s);
    if (!s)
        return at_error_set(err, "out of memory for the run state");
    s->cfg = *c;
    s->model = m;
    size_t L = (size_t)c->max_len, d = (size_t)c->dim, f = (size_t)c->ffn_dim;
    size_t H = (size_t)c->heads, cd = c->char_buckets ? (size_t)c->char_dim : 0;
    int fail = 0;
    if (c->abs_pos) {
        s->pe = at_state_alloc(s, L * d, &fail);
        for (size_t p = 0; !fail && p < L; p++)
            for (size_t k = 0; k < d; k += 2) {
                double angle = (double)p * exp(-(double)k * log(10000.0) / (double)d);
                s->pe[p * d + k] = (float)sin(angle);
                s->pe[p * d + k + 1] = (float)cos(angle);
            }
    }
    s->cmean = at_state_alloc(s, L * (cd ? cd : 1), &fail);
    s->x0 = at_state_alloc(s, L * d, &fail);
    for (int l = 0; l < c->layers; l++) {
        at_layer_act *a = &s->layer[l];
        float **nd[] = {&a->h1, &a->q, &a->k, &a->v, &a->ctx, &a->att, &a->x_mid,
                        &a->h2, &a->ffn, &a->sum1, &a->sum2};
        for (size_t i = 0; i < sizeof nd / sizeof *nd; i++)
            *nd[i] = at_state_alloc(s, L * d, &fail);
        a->weights = at_state_alloc(s, H * L * L, &fail);
        a->up = at_state_alloc(s, L * f, &fail);
        a->act = at_state_alloc(s, L * f, &fail);
        a->mean1 = at_state_alloc(s, L, &fail);
        a->rstd1 = at_state_alloc(s, L, &fail);
        a->mean2 = at_state_alloc(s, L, &fail);
        a->rstd2 = at_state_alloc(s, L, &fail);
    }
    /* Block l's output is block l+1's input: one buffer, two names. */
    for (int l = 0; l < c->layers; l++)
        s->layer[l].x_in = l == 0 ? s->x0 : at_state_alloc(s, L * d, &fail);
    s->x_last = at_state_alloc(s, L * d, &fail);
    s->x_out = c->norm == AT_NORM_PRE ? at_state_alloc(s, L * d, &fail) : s->x_last;
    s->mean_f = at_state_alloc(s, L, &fail);
    s->rstd_f = at_state_alloc(s, L, &fail);
    size_t max_tags = 1;
    for (int i = 0; i < c->n_tagsets; i++) {
        s->n_tags[i] = m->n_tags[i];
        s->logits[i] = at_state_alloc(s, L * m->n_tags[i], &fail);
        if (m->n_tags[i] > max_tags)
            max_tags = m->n_tags[i];
    }
    s->row = at_state_alloc(s, d > cd ? d : cd, &fail);
    s->tag_probs = at_state_alloc(s, max_tags, &fail);
    if (fail) {
        at_state_free(s);
        return at_error_set(err, "out of memory for the run state (max_len %zu, dim %zu)", L, d);
    }
    *out = s;
    return 0;
}

float at_rand(uint64_t *rng)
{
    uint64_t x = *rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *rng = x;
    return (float)((x * 0x2545F4914F6CDD1DULL) >> 40) / 16777216.0f;
}

void at_state_seed(at_state *s, uint64_t seed)
{
    /* splitmix64 of the seed: nearby seeds give unrelated streams, never 0 */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    s->rng = (z ^ (z >> 31)) | 1;
}

int at_state_set_training(at_state *s, float p_emb, float p_att, float p_res, at_error *err)
{
    if (!(p_emb >= 0 && p_emb < 1 && p_att >= 0 && p_att < 1 && p_res >= 0 && p_res < 1))
        return at_error_set(err, "dropout probabilities must be in [0, 1)");
    s->p_emb = p_emb;
    s->p_att = p_att;
    s->p_res = p_res;
    if (s->training)
        return 0;
    const at_config *c = &s->cfg;
    size_t L = (size_t)c->max_len, d = (size_t)c->dim, f = (size_t)c->ffn_dim;
    size_t H = (size_t)c->heads, cd = c->char_buckets ? (size_t)c->char_dim : 1;
    int fail = 0;
    s->drop_emb = at_state_alloc(s, L * d, &fail);
    for (int l = 0; l < c->layers; l++) {
        s->layer[l].drop_w = at_state_alloc(s, H * L * L, &fail);
        s->layer[l].drop_att = at_state_alloc(s, L * d, &fail);
        s->layer[l].drop_ffn = at_state_alloc(s, L * d, &fail);
    }
    at_grad_scratch *g = &s->g;
    float **nd[] = {&g->dx, &g->dh, &g->dt, &g->dctx, &g->dq, &g->dk, &g->dv};
    for (size_t i = 0; i < sizeof nd / sizeof *nd; i++)
        *nd[i] = at_state_alloc(s, L * d, &fail);
    g->dup = at_state_alloc(s, L * f, &fail);
    g->dact = at_state_alloc(s, L * f, &fail);
    g->dw = at_state_alloc(s, L, &fail);
    g->dcm = at_state_alloc(s, cd, &fail);
    if (fail)
        return at_error_set(err, "out of memory for training buffers");
    s->training = true;
    at_state_seed(s, 1);
    return 0;
}

/* dropout: x[i] *= mask[i], a fresh mask of 0 or 1/(1-p) (kept for backward). */
static void dropout(float *x, float *mask, size_t n, float p, uint64_t *rng)
{
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        mask[i] = at_rand(rng) < p ? 0.0f : keep;
        x[i] *= mask[i];
    }
}

void at_state_free(at_state *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_blocks; i++)
        free(s->blocks[i]);
    free(s->blocks);
    free(s);
}

/* embed: x0[i] = word + char n-grams + shape + lexicon + position. */
static void embed(const at_model *m, at_state *s, const at_feats *f, size_t start, size_t n)
{
    const at_config *c = &m->cfg;
    const at_weights *w = &m->w;
    size_t d = (size_t)c->dim, cd = (size_t)c->char_dim;
    for (size_t i = 0; i < n; i++) {
        size_t tok = start + i;
        float *x = s->x0 + i * d;
        at_tensor_row(w->word, f->word[tok], x);
        if (c->char_buckets) {
            float *cm = s->cmean + i * cd;
            size_t g0 = f->ng_off[tok], g1 = f->ng_off[tok + 1];
            memset(cm, 0, cd * sizeof *cm);
            for (size_t g = g0; g < g1; g++) {
                at_tensor_row(w->chr, f->ng[g], s->row);
                for (size_t k = 0; k < cd; k++)
                    cm[k] += s->row[k];
            }
            if (g1 > g0)
                for (size_t k = 0; k < cd; k++)
                    cm[k] /= (float)(g1 - g0);
            for (size_t k = 0; k < d; k++)
                x[k] += at_dot(w->char_proj + k * cd, cm, cd);
        }
        if (c->shape)
            for (size_t k = 0; k < d; k++)
                x[k] += w->shape[f->shape[tok] * d + k];
        for (int b = 0; b < c->lexicon_bits; b++)
            if (f->lex[tok] >> b & 1)
                for (size_t k = 0; k < d; k++)
                    x[k] += w->lex[(size_t)b * d + k];
        if (s->pe)
            for (size_t k = 0; k < d; k++)
                x[k] += s->pe[i * d + k];
    }
    if (s->training && s->p_emb > 0)
        dropout(s->x0, s->drop_emb, n * d, s->p_emb, &s->rng);
}

static void add(const float *a, const float *b, size_t n, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

/* block: one layer: self-attention, then the position-wise FC layer. */
static void block(at_state *s, const at_layer_w *w, int window, size_t n, at_layer_act *a,
                  float *x_out)
{
    const at_config *c = &s->cfg;
    size_t d = (size_t)c->dim, f = (size_t)c->ffn_dim;
    bool pre = c->norm == AT_NORM_PRE;
    float p_res = s->training ? s->p_res : 0.0f;

    if (pre)
        at_layernorm(a->x_in, n, d, w->attn_norm_w, w->attn_norm_b, c->ln_eps, a->h1,
                     a->mean1, a->rstd1);
    else
        memcpy(a->h1, a->x_in, n * d * sizeof *a->h1);
    at_attention_forward(c, w, window, n, a, s->training ? s->p_att : 0.0f, &s->rng);
    if (p_res > 0)
        dropout(a->att, a->drop_att, n * d, p_res, &s->rng);
    if (pre) {
        add(a->x_in, a->att, n * d, a->x_mid);
        at_layernorm(a->x_mid, n, d, w->ffn_norm_w, w->ffn_norm_b, c->ln_eps, a->h2,
                     a->mean2, a->rstd2);
    } else {
        add(a->x_in, a->att, n * d, a->sum1);
        at_layernorm(a->sum1, n, d, w->attn_norm_w, w->attn_norm_b, c->ln_eps, a->x_mid,
                     a->mean1, a->rstd1);
        memcpy(a->h2, a->x_mid, n * d * sizeof *a->h2);
    }

    at_linear(a->h2, n, d, w->up_w, w->up_b, f, a->up); /* [n, f] */
    if (c->activation == AT_ACT_RELU)
        at_relu(a->up, n * f, a->act);
    else
        at_gelu(a->up, n * f, a->act);
    at_linear(a->act, n, f, w->down_w, w->down_b, d, a->ffn); /* [n, d] */
    if (p_res > 0)
        dropout(a->ffn, a->drop_ffn, n * d, p_res, &s->rng);

    if (pre) {
        add(a->x_mid, a->ffn, n * d, x_out);
    } else {
        add(a->x_mid, a->ffn, n * d, a->sum2);
        at_layernorm(a->sum2, n, d, w->ffn_norm_w, w->ffn_norm_b, c->ln_eps, x_out, a->mean2,
                     a->rstd2);
    }
}

int at_forward(const at_model *m, at_state *s, const at_feats *f, size_t start, size_t n,
               at_error *err)
{
    const at_config *c = &m->cfg;
    if (s->model != m)
        return at_error_set(err, "run state was made for another model");
    if (n == 0 || n > (size_t)c->max_len || start > f->n || n > f->n - start)
        return at_error_set(err, "forward: tokens [%zu, %zu) of %zu, at most %d at once",
                            start, start + n, f->n, c->max_len);
    for (size_t i = start; i < start + n; i++)
        if (f->word[i] >= m->n_vocab || f->shape[i] >= AT_N_SHAPES)
            return at_error_set(err, "forward: token %zu has features out of range", i);
    s->n = n;
    size_t d = (size_t)c->dim;

    embed(m, s, f, start, n);
    for (int l = 0; l < c->layers; l++) {
        float *x_out = l + 1 < c->layers ? s->layer[l + 1].x_in : s->x_last;
        block(s, &m->w.layer[l], c->window[l], n, &s->layer[l], x_out);
    }
    if (c->layers == 0)
        memcpy(s->x_last, s->x0, n * d * sizeof *s->x_last);
    if (c->norm == AT_NORM_PRE)
        at_layernorm(s->x_last, n, d, m->w.final_norm_w, m->w.final_norm_b, c->ln_eps,
                     s->x_out, s->mean_f, s->rstd_f);
    for (int t = 0; t < c->n_tagsets; t++)
        at_linear(s->x_out, n, d, m->w.head_w[t], m->w.head_b[t], m->n_tags[t], s->logits[t]);
    return 0;
}

const float *at_state_logits(const at_state *s, int ts)
{
    return ts >= 0 && ts < s->cfg.n_tagsets ? s->logits[ts] : NULL;
}

/* The weights of a chunk of n tokens are stored [H, n, n], contiguous. */
const float *at_state_attention(const at_state *s, int layer)
{
    return layer >= 0 && layer < s->cfg.layers ? s->layer[layer].weights : NULL;
}
