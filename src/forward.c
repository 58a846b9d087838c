/*
 * forward.c - the one forward pass (the lecture's figure D), shared by tagging
 * and training: input vectors, then per layer self-attention and a
 * position-wise fully-connected layer, each with a residual connection and
 * layer normalisation, then one classifier per tag set. A block may mix its
 * tokens with a window FC instead (figure B) or not at all (figure A). Every
 * intermediate is kept in the run state, so the backward pass and attention
 * heat maps read it instead of recomputing.
 */
#include "attention.h"
#include "internal.h"
#include "kernels.h"
#include "window.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { EMB_SLOTS = 8192, EMB_MAX_NG = 40 };
typedef struct at_emb_cache at_emb_cache;

/* The embeddings of recent word forms, word row + the n-grams'
 * projection (what depends on the features alone), for tagging: a form
 * repeats (EWT test: 5,629 forms in 25,094 words), and its rows, one of the
 * word table and one of the n-gram table per n-gram, are scattered reads.
 * A slot is found by a hash of the word's id and n-gram ids and holds them,
 * so a hit is an exact match; a form with more n-grams is not kept. The
 * cache belongs to one model's weights of one generation. */
struct at_emb_cache {
    uint64_t model;
    size_t gen;
    bool used; /* a slot has been filled: a fresh cache is zero and needs no clearing */
    struct {
        uint32_t word, n_ng; /* n_ng + 1; 0: the slot is empty */
        uint32_t ng[EMB_MAX_NG];
    } key[EMB_SLOTS];
    float x[]; /* [EMB_SLOTS, d] */
};

/* The slot for token tok's features, and whether it holds them; -1 when the
 * token has too many n-grams to be kept. */
static int32_t emb_find(const at_emb_cache *ec, const at_feats *f, size_t tok, bool *hit)
{
    uint32_t g0 = f->ng_off[tok], n_ng = f->ng_off[tok + 1] - g0;
    *hit = false;
    if (n_ng > EMB_MAX_NG)
        return -1;
    uint32_t h = f->word[tok] * 0x9E3779B1u;
    for (uint32_t g = 0; g < n_ng; g++) /* multiply and rotate, a word at a time */
        h = (h ^ f->ng[g0 + g]) * 0x85EBCA6Bu, h = h << 13 | h >> 19;
    int32_t slot = (int32_t)((h ^ h >> 16) % EMB_SLOTS);
    *hit = ec->key[slot].n_ng == n_ng + 1 && ec->key[slot].word == f->word[tok] &&
           (n_ng == 0 || memcmp(ec->key[slot].ng, &f->ng[g0], n_ng * sizeof *f->ng) == 0);
    return slot;
}

/* Large buffers are fresh anonymous mappings: zero, like calloc's, but a
 * page is only made when first written, so a batch-sized state costs a short
 * input nothing (calloc may clear reused heap memory instead). */
enum { MAP_MIN = 64 * 1024 };

float *at_state_alloc(at_state *s, size_t count, int *fail)
{
    void **nb = realloc(s->blocks, (s->n_blocks + 1) * sizeof *nb);
    size_t *ns = realloc(s->block_bytes, (s->n_blocks + 1) * sizeof *ns);
    size_t bytes = (count ? count : 1) * sizeof(float);
    if (nb)
        s->blocks = nb;
    if (ns)
        s->block_bytes = ns;
    float *p = NULL;
    if (nb && ns && count <= SIZE_MAX / sizeof(float)) {
        if (bytes < MAP_MIN) {
            p = calloc(1, bytes);
        } else {
            void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            p = m == MAP_FAILED ? NULL : m;
        }
    }
    if (!p) {
        *fail = 1;
        return NULL;
    }
    s->block_bytes[s->n_blocks] = bytes;
    s->blocks[s->n_blocks++] = p;
    return p;
}

/* The inputs of the widest window FC, (2k + 1) d, or 0 if no block has one. */
static size_t window_inputs(const at_config *c)
{
    size_t w = 0;
    for (int l = 0; l < c->layers; l++)
        if (c->mixer[l] == AT_MIX_WINDOW && (2 * (size_t)c->window[l] + 1) * (size_t)c->dim > w)
            w = (2 * (size_t)c->window[l] + 1) * (size_t)c->dim;
    return w;
}

/* The per-layer buffers of layer l ([rows, d] unless said otherwise). */
static void layer_alloc(at_state *s, at_layer_act *a, size_t rows, int *fail)
{
    size_t d = (size_t)s->cfg.dim, f = (size_t)s->cfg.ffn_dim, cw = window_inputs(&s->cfg);
    float **nd[] = {&a->h1, &a->q, &a->k, &a->v, &a->ctx, &a->att, &a->x_mid,
                    &a->h2, &a->ffn, &a->sum1, &a->sum2};
    for (size_t i = 0; i < sizeof nd / sizeof *nd; i++)
        *nd[i] = at_state_alloc(s, rows * d, fail);
    a->up = at_state_alloc(s, rows * f, fail);
    a->act = at_state_alloc(s, rows * f, fail);
    a->cat = cw ? at_state_alloc(s, rows * cw, fail) : NULL;
    float **nr[] = {&a->mean1, &a->rstd1, &a->mean2, &a->rstd2};
    for (size_t i = 0; i < sizeof nr / sizeof *nr; i++)
        *nr[i] = at_state_alloc(s, rows, fail);
}

int at_state_new_batch(const at_model *m, size_t tokens, at_state **out, at_error *err)
{
    const at_config *c = &m->cfg;
    size_t L = (size_t)c->max_len, d = (size_t)c->dim;
    size_t H = (size_t)c->heads, cd = c->char_buckets ? (size_t)c->char_dim : 0;
    size_t T = tokens > L ? tokens : L;
    /* What the buffers below take, in floats, bounded before anything is
     * allocated: a model file of a few kilobytes may ask for sentences of
     * 4096 tokens in 64 layers of 4096 heads. */
    size_t f = (size_t)c->ffn_dim, cw = window_inputs(c), tags = 0;
    size_t widest = d > f ? d : f; /* the most inputs of a product (8-bit rows in qb) */
    widest = cw > widest ? cw : widest;
    size_t kp4 = ((widest + 3) / 4 + 1) * AT_QBUF_ELEM; /* floats a row of qb takes */
    for (int i = 0; i < c->n_tagsets; i++)
        tags += m->n_tags[i];
    double floats = (double)T * (double)(20 * d + 2 * f + cw + cd + 8 + kp4 + tags) +
                    (double)T * (double)(L * H) * (double)c->layers + (double)(L * d) +
                    (double)AT_ATTENTION_SCRATCH(L + 16, d / H, H) + 8.0 * (double)kp4 +
                    (double)EMB_SLOTS * (double)(d + EMB_MAX_NG + 2);
    if (floats * sizeof(float) > (double)AT_STATE_MAX_MB * (1 << 20))
        return at_error_set(err, "running this model on %zu tokens at once needs %.0f MiB, "
                            "more than attntag allows (%d MiB): max_len %zu, heads %zu and "
                            "layers %d ask too much", T, floats * sizeof(float) / (1 << 20),
                            AT_STATE_MAX_MB, L, H, c->layers);
    at_state *s = calloc(1, sizeof *s);
    if (!s)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory for the run state");
    s->cfg = *c;
    s->model = m;
    s->cap = T;
    int fail = 0;
    s->chunk = calloc(T, sizeof *s->chunk);
    fail |= !s->chunk;
    if (c->abs_pos) {
        s->pe = at_state_alloc(s, L * d, &fail);
        for (size_t p = 0; !fail && p < L; p++)
            for (size_t k = 0; k < d; k += 2) {
                double angle = (double)p * exp(-(double)k * log(10000.0) / (double)d);
                s->pe[p * d + k] = (float)sin(angle);
                s->pe[p * d + k + 1] = (float)cos(angle);
            }
    }
    s->cmean = at_state_alloc(s, T * (cd ? cd : 1), &fail);
    s->att_scratch = at_state_alloc(s, AT_ATTENTION_SCRATCH((L + 15) / 16 * 16, d / H, H), &fail);
    size_t kp = (widest + 3) / 4 * 4;
    s->qb.q = at_state_alloc(s, T * kp * AT_QBUF_ELEM / sizeof(float), &fail);
    s->qb.scale = at_state_alloc(s, T, &fail);
    s->qb.panel = at_state_alloc(s, AT_PANEL_BYTES(kp) / sizeof(float), &fail);
    s->x0 = at_state_alloc(s, T * d, &fail);
    s->emb = (struct at_emb_cache *)at_state_alloc(
        s, (sizeof(struct at_emb_cache) + EMB_SLOTS * d * sizeof(float)) / sizeof(float) + 1, &fail);
    s->emb_slot = (int32_t *)at_state_alloc(s, T, &fail);
    /* Tagging keeps only layer 0's buffers and two for the residual stream,
     * used in turn; at_state_set_training gives every layer its own. */
    if (c->layers > 0)
        layer_alloc(s, &s->layer[0], T, &fail);
    float *stream[2] = {at_state_alloc(s, T * d, &fail), at_state_alloc(s, T * d, &fail)};
    for (int l = 0; l < c->layers; l++) {
        at_layer_act *a = &s->layer[l];
        if (l > 0)
            *a = s->layer[0];
        /* a chunk of m <= L tokens keeps H m^2 <= H L m weights */
        a->weights = at_state_alloc(s, H * L * T, &fail);
        a->x_in = l == 0 ? s->x0 : stream[l % 2];
    }
    s->x_last = at_state_alloc(s, T * d, &fail);
    s->x_out = c->norm == AT_NORM_PRE ? at_state_alloc(s, T * d, &fail) : s->x_last;
    s->mean_f = at_state_alloc(s, T, &fail);
    s->rstd_f = at_state_alloc(s, T, &fail);
    for (int i = 0; i < c->n_tagsets; i++) {
        s->n_tags[i] = m->n_tags[i];
        s->logits[i] = at_state_alloc(s, T * m->n_tags[i], &fail);
    }
    if (fail) {
        at_state_free(s);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory for the run state (%zu tokens, dim "
                           "%zu)", T, d);
    }
    *out = s;
    return 0;
}

int at_state_new(const at_model *m, at_state **out, at_error *err)
{
    return at_state_new_batch(m, (size_t)m->cfg.max_len, out, err);
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
    /* the backward pass reads every layer's activations: no more sharing */
    for (int l = 1; l < c->layers; l++) {
        layer_alloc(s, &s->layer[l], s->cap, &fail);
        s->layer[l].x_in = at_state_alloc(s, s->cap * d, &fail);
    }
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
    size_t cw = window_inputs(c);
    g->dcat = cw ? at_state_alloc(s, L * cw, &fail) : NULL;
    g->dup = at_state_alloc(s, L * f, &fail);
    g->dact = at_state_alloc(s, L * f, &fail);
    g->dw = at_state_alloc(s, L, &fail);
    g->dcm = at_state_alloc(s, cd, &fail);
    if (fail)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory for training buffers");
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
    for (size_t i = 0; i < s->n_blocks; i++) {
        if (s->block_bytes[i] < MAP_MIN)
            free(s->blocks[i]);
        else
            munmap(s->blocks[i], s->block_bytes[i]);
    }
    free(s->block_bytes);
    free(s->chunk);
    free(s->blocks);
    free(s);
}

/* embed: x0[i] = word + char n-grams + shape + lexicon + position, for every
 * token of every chunk. */
static void embed(const at_model *m, const at_packs *P, at_state *s, const at_feats *f)
{
    const at_config *c = &m->cfg;
    const at_weights *w = &m->w;
    size_t d = (size_t)c->dim, cd = (size_t)c->char_dim, n = s->n;
    at_emb_cache *ec = s->training ? NULL : s->emb; /* training changes the weights */
    if (ec && (ec->model != m->serial || ec->gen != m->gen)) {
        if (ec->used) /* clearing untouched pages would make the kernel map them all */
            memset(ec->key, 0, sizeof ec->key);
        ec->used = false;
        ec->model = m->serial;
        ec->gen = m->gen;
    }
    /* the rows of forms not in the cache are scattered: ask for all of them
     * first, so that the memory fetches overlap instead of waiting one after
     * another */
    for (size_t ch = 0; ch < s->n_chunks; ch++)
        for (size_t i = 0; i < s->chunk[ch].len; i++) {
            size_t tok = s->chunk[ch].start + i, row = s->chunk[ch].row + i;
            bool hit = false;
            s->emb_slot[row] = ec ? emb_find(ec, f, tok, &hit) : -1;
            if (hit) {
                memcpy(s->x0 + row * d, ec->x + (size_t)s->emb_slot[row] * d, d * sizeof *s->x0);
                s->emb_slot[row] = -2;
                continue;
            }
            at_tensor_row_prefetch(w->word, f->word[tok]);
            for (size_t g = f->ng_off[tok]; c->char_buckets && g < f->ng_off[tok + 1]; g++)
                at_tensor_row_prefetch(w->chr, f->ng[g]);
        }
    for (size_t ch = 0; ch < s->n_chunks; ch++) {
        const at_chunk *k = &s->chunk[ch];
        for (size_t i = 0; i < k->len; i++) {
            size_t tok = k->start + i, row = k->row + i;
            float *cm = s->cmean + row * cd; /* the mean of the n-grams' rows: [cd] */
            if (c->char_buckets)
                memset(cm, 0, cd * sizeof *cm);
            if (s->emb_slot[row] == -2) /* from the cache: its n-grams add zero below */
                continue;
            at_tensor_row(w->word, f->word[tok], s->x0 + row * d);
            if (!c->char_buckets)
                continue;
            size_t g0 = f->ng_off[tok], g1 = f->ng_off[tok + 1];
            for (size_t g = g0; g < g1; g++)
                at_tensor_row_add(w->chr, f->ng[g], cm);
            if (g1 > g0)
                for (size_t e = 0; e < cd; e++)
                    cm[e] /= (float)(g1 - g0);
        }
    }
    if (c->char_buckets) {
        at_gemm_add(s->cmean, n, &P->char_proj, NULL, s->x0, s->x0, &s->qb); /* [n, d] */
    }
    for (size_t ch = 0; ec && ch < s->n_chunks; ch++)
        for (size_t i = 0; i < s->chunk[ch].len; i++) {
            size_t tok = s->chunk[ch].start + i, row = s->chunk[ch].row + i;
            int32_t slot = s->emb_slot[row];
            if (slot < 0)
                continue;
            uint32_t g0 = f->ng_off[tok], n_ng = f->ng_off[tok + 1] - g0;
            ec->key[slot].word = f->word[tok];
            ec->used = true;
            ec->key[slot].n_ng = n_ng + 1;
            if (n_ng) /* f->ng is NULL for a model without n-grams */
                memcpy(ec->key[slot].ng, &f->ng[g0], n_ng * sizeof *f->ng);
            memcpy(ec->x + (size_t)slot * d, s->x0 + row * d, d * sizeof *s->x0);
        }
    for (size_t ch = 0; ch < s->n_chunks; ch++) {
        const at_chunk *k = &s->chunk[ch];
        for (size_t i = 0; i < k->len; i++) {
            size_t tok = k->start + i;
            float *x = s->x0 + (k->row + i) * d;
            if (c->shape)
                at_add(x, w->shape + f->shape[tok] * d, d, x);
            for (int b = 0; b < c->lexicon_bits; b++)
                if (f->lex[tok] >> b & 1)
                    at_add(x, w->lex + (size_t)b * d, d, x);
            if (s->pe) /* position i within the chunk */
                at_add(x, s->pe + i * d, d, x);
        }
    }
    if (s->training && s->p_emb > 0)
        dropout(s->x0, s->drop_emb, n * d, s->p_emb, &s->rng);
}

/* mix: a block's first sub-layer, where tokens see each other: x_mid from
 * x_in through self-attention (or a window FC), residual and layer norm. */
static void mix(at_state *s, const at_layer_w *w, const at_packed *P, int window,
                at_mixer mixer, at_layer_act *a)
{
    const at_config *c = &s->cfg;
    size_t d = (size_t)c->dim, n = s->n;
    bool pre = c->norm == AT_NORM_PRE;
    float p_res = s->training ? s->p_res : 0.0f;

    if (pre)
        at_layernorm(a->x_in, n, d, w->attn_norm_w, w->attn_norm_b, c->ln_eps, a->h1,
                     a->mean1, a->rstd1);
    else
        memcpy(a->h1, a->x_in, n * d * sizeof *a->h1);
    /* x_in + att, the residual added as the product is stored, unless the
     * attention output is dropped out first */
    float *sum1 = pre ? a->x_mid : a->sum1;
    if (mixer == AT_MIX_ATTENTION)
        at_attention_forward(c, w, P, window, s->chunk, s->n_chunks, n, a,
                             p_res > 0 ? NULL : a->x_in, p_res > 0 ? a->att : sum1, s->att_scratch,
                             &s->qb, s->training ? s->p_att : 0.0f, &s->rng);
    else
        at_window_forward(d, window, &P[AT_PK_WIN], w->win_b, s->chunk, s->n_chunks, n, a->h1,
                          a->cat, p_res > 0 ? NULL : a->x_in, p_res > 0 ? a->att : sum1,
                          &s->qb);
    if (p_res > 0) {
        dropout(a->att, a->drop_att, n * d, p_res, &s->rng);
        at_add(a->x_in, a->att, n * d, sum1);
    }
    if (!pre)
        at_layernorm(a->sum1, n, d, w->attn_norm_w, w->attn_norm_b, c->ln_eps, a->x_mid,
                     a->mean1, a->rstd1);
}

/* block: one layer: self-attention (or what the layer mixes with), then the
 * position-wise FC layer. */
static void block(at_state *s, const at_layer_w *w, const at_packed *P, int window,
                  at_mixer mixer, at_layer_act *a, float *x_out)
{
    const at_config *c = &s->cfg;
    size_t d = (size_t)c->dim, f = (size_t)c->ffn_dim, n = s->n;
    bool pre = c->norm == AT_NORM_PRE;
    float p_res = s->training ? s->p_res : 0.0f;

    if (mixer == AT_MIX_NONE) /* figure A: each token alone */
        memcpy(a->x_mid, a->x_in, n * d * sizeof *a->x_mid);
    else
        mix(s, w, P, window, mixer, a);
    if (pre)
        at_layernorm(a->x_mid, n, d, w->ffn_norm_w, w->ffn_norm_b, c->ln_eps, a->h2,
                     a->mean2, a->rstd2);
    else
        memcpy(a->h2, a->x_mid, n * d * sizeof *a->h2);

    at_gemm(a->h2, n, &P[AT_PK_UP], w->up_b, a->up, &s->qb); /* [n, f] */
    if (c->activation == AT_ACT_RELU)
        at_relu(a->up, n * f, a->act);
    else
        at_gelu(a->up, n * f, a->act);
    float *sum2 = pre ? x_out : a->sum2; /* x_mid + ffn, as sum1 above */
    at_gemm_add(a->act, n, &P[AT_PK_DOWN], w->down_b, p_res > 0 ? NULL : a->x_mid,
                p_res > 0 ? a->ffn : sum2, &s->qb); /* [n, d] */
    if (p_res > 0) {
        dropout(a->ffn, a->drop_ffn, n * d, p_res, &s->rng);
        at_add(a->x_mid, a->ffn, n * d, sum2);
    }
    if (!pre)
        at_layernorm(a->sum2, n, d, w->ffn_norm_w, w->ffn_norm_b, c->ln_eps, x_out, a->mean2,
                     a->rstd2);
}

/* overflow: row's values are not finite numbers: finite weights can still
 * overflow 32-bit floats on the way (large enough ones, or an input that
 * meets them). The tags would then be whatever a NaN compares to, or the
 * biases alone where a layer norm turns an infinite variance into zeros,
 * silently; so the forward pass fails instead, and keeps the row's token for
 * the caller (at_tag_batch names its sentence). */
static int overflow(const at_model *m, at_state *s, size_t row, const char *where, at_error *err)
{
    const at_chunk *k = s->chunk;
    while (row >= k->row + k->len)
        k++;
    s->overflow_token = k->start + (row - k->row);
    return at_error_set(err, "%s%s%sthe network's values %s are not finite numbers: the model's "
                        "weights are too large for 32-bit floats", m->path ? "model " : "",
                        m->path ? m->path : "", m->path ? ": " : "", where);
}

/* check_norm: a layer norm's statistics, row by row: a mean that is not
 * finite, or a variance too large for a float (rstd 0), is an overflow in
 * block `block` (1-based; 0: the norm after the last block). */
static int check_norm(const at_model *m, at_state *s, const float *mean, const float *rstd,
                      int block, at_error *err)
{
    int bad = 0;
    for (size_t i = 0; i < s->n; i++) /* ORs only, so that it vectorises */
        bad |= !isfinite(mean[i]) | !(rstd[i] > 0);
    for (size_t i = 0; bad && i < s->n; i++)
        if (!isfinite(mean[i]) || !(rstd[i] > 0)) {
            char where[64];
            snprintf(where, sizeof where, block ? "in block %d" : "after the last block", block);
            return overflow(m, s, i, where, err);
        }
    return 0;
}

/* check_scores: every tag's score finite (see overflow). */
static int check_scores(const at_model *m, at_state *s, at_error *err)
{
    for (int t = 0; t < m->cfg.n_tagsets; t++) {
        const float *lg = s->logits[t];
        size_t T = s->n_tags[t], count = s->n * T;
        int bad = 0;
        for (size_t i = 0; i < count; i++)
            bad |= !isfinite(lg[i]);
        for (size_t i = 0; bad && i < count; i++)
            if (!isfinite(lg[i])) {
                char where[64];
                snprintf(where, sizeof where, "(the %s scores)", m->cfg.tagset[t]);
                return overflow(m, s, i / T, where, err);
            }
    }
    return 0;
}

int at_forward_chunks(const at_model *m, at_state *s, const at_feats *f, const at_chunk *chunks,
                      size_t n_chunks, at_error *err)
{
    const at_config *c = &m->cfg;
    size_t L = (size_t)c->max_len, H = (size_t)c->heads, rows = 0, wo = 0;
    s->overflow_token = SIZE_MAX;
    if (s->model != m)
        return at_error_set(err, "run state was made for another model");
    if (n_chunks == 0 || n_chunks > s->cap || (s->training && n_chunks > 1))
        return at_error_set(err, "forward: %zu chunks (1 to %zu%s)", n_chunks, s->cap,
                            s->training ? ", one when training" : "");
    for (size_t ch = 0; ch < n_chunks; ch++) {
        size_t start = chunks[ch].start, n = chunks[ch].len;
        if (n == 0 || n > L || start > f->n || n > f->n - start || n > s->cap - rows)
            return at_error_set(err, "forward: tokens [%zu, %zu) of %zu, at most %zu at once "
                                "and %zu in all", start, start + n, f->n, L, s->cap);
        for (size_t i = start; i < start + n; i++)
            if (f->word[i] >= m->n_vocab || f->shape[i] >= AT_N_SHAPES)
                return at_error_set(err, "forward: token %zu has features out of range", i);
        s->chunk[ch] = (at_chunk){start, n, rows, wo};
        rows += n;
        wo += H * n * n;
    }
    const at_packs *P = at_model_packs(m, err);
    if (!P)
        return -1;
    s->n = rows;
    s->n_chunks = n_chunks;
    s->forward_trained = s->training; /* one chunk of at most max_len, checked above */
    size_t d = (size_t)c->dim, n = rows;

    embed(m, P, s, f);
    for (int l = 0; l < c->layers; l++) {
        float *x_out = l + 1 < c->layers ? s->layer[l + 1].x_in : s->x_last;
        at_layer_act *a = &s->layer[l];
        block(s, &m->w.layer[l], P->layer[l], c->window[l], c->mixer[l], a, x_out);
        if ((c->mixer[l] != AT_MIX_NONE && check_norm(m, s, a->mean1, a->rstd1, l + 1, err)) ||
            check_norm(m, s, a->mean2, a->rstd2, l + 1, err))
            return -1;
    }
    if (c->layers == 0)
        memcpy(s->x_last, s->x0, n * d * sizeof *s->x_last);
    if (c->norm == AT_NORM_PRE) {
        at_layernorm(s->x_last, n, d, m->w.final_norm_w, m->w.final_norm_b, c->ln_eps,
                     s->x_out, s->mean_f, s->rstd_f);
        if (check_norm(m, s, s->mean_f, s->rstd_f, 0, err))
            return -1;
    }
    /* one classifier per tag set, [n, tags] each, from x_out quantised once */
    const at_packed *heads[AT_MAX_TAGSETS];
    for (int t = 0; t < c->n_tagsets; t++)
        heads[t] = &P->head[t];
    at_gemm_shared(s->x_out, n, heads, m->w.head_b, s->logits, c->n_tagsets, &s->qb);
    return check_scores(m, s, err);
}

int at_forward(const at_model *m, at_state *s, const at_feats *f, size_t start, size_t n,
               at_error *err)
{
    at_chunk one = {start, n, 0, 0};
    return at_forward_chunks(m, s, f, &one, 1, err);
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
