/*
 * model.c - the in-memory model: tensors found by name and checked against the
 * config, and the weight pointers the forward pass reads (its string tables
 * are model_strings.c's, its packed matrices model_int8.c's). Both file
 * formats build a model through at_model_add_tensor and friends and end in
 * at_model_finish, so every check lives here once.
 */
#include "internal.h"
#include "kernels.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

at_model *at_model_alloc(void)
{
    static _Atomic uint64_t made;
    at_model *m = calloc(1, sizeof(at_model));
    if (m)
        m->serial = ++made; /* what token features were made with (features.c) */
    return m;
}

int at_dtype_size(at_dtype dt)
{
    return dt == AT_F32 ? 4 : dt == AT_F16 ? 2 : 1;
}

const char *at_dtype_name(at_dtype dt)
{
    return dt == AT_F32 ? "F32" : dt == AT_F16 ? "F16" : dt == AT_I8 ? "I8" : "U8";
}

int at_dtype_parse(const char *s, at_dtype *dt)
{
    if (strcmp(s, "F32") == 0)
        *dt = AT_F32;
    else if (strcmp(s, "F16") == 0)
        *dt = AT_F16;
    else if (strcmp(s, "U8") == 0)
        *dt = AT_U8;
    else if (strcmp(s, "I8") == 0)
        *dt = AT_I8;
    else
        return -1;
    return 0;
}

/* Round to nearest even; values beyond the half range become infinity. */
uint16_t at_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax >= 0x7F800000u)
        return sign | 0x7C00 | (ax > 0x7F800000u ? 0x200 : 0);
    if (ax >= 0x477FF000u) /* rounds to >= 65520 */
        return sign | 0x7C00;
    if (ax < 0x38800000u) { /* subnormal half */
        float a;
        memcpy(&a, &ax, 4);
        return sign | (uint16_t)lrintf(a * 16777216.0f); /* a / 2^-24 */
    }
    uint32_t r = ax + 0xFFF + ((ax >> 13) & 1);
    return sign | (uint16_t)((r - 0x38000000u) >> 13);
}

void at_tensor_row(const at_tensor *t, size_t i, float *out)
{
    size_t w = t->shape[1];
    if (t->f32) {
        memcpy(out, t->f32 + i * w, w * sizeof *out);
        return;
    }
    at_halves((const unsigned char *)t->data + i * w * 2, w, out, 0);
}

void at_tensor_row_prefetch(const at_tensor *t, size_t i)
{
    size_t bytes = t->shape[1] * (t->f32 ? 4 : 2);
    const char *p = t->f32 ? (const char *)(t->f32 + i * t->shape[1])
                           : (const char *)t->data + i * bytes;
    for (size_t o = 0; o < bytes; o += 64)
        __builtin_prefetch(p + o);
    __builtin_prefetch(p + bytes - 1);
}

void at_tensor_row_add(const at_tensor *t, size_t i, float *acc)
{
    size_t w = t->shape[1];
    if (t->f32) {
        for (size_t k = 0; k < w; k++)
            acc[k] += t->f32[i * w + k];
        return;
    }
    at_halves((const unsigned char *)t->data + i * w * 2, w, acc, 1);
}

int at_tensor_append(at_tensor **v, size_t *n, const char *name, at_dtype dt, int ndim,
                     const size_t *shape, const void *data, size_t nbytes)
{
    at_tensor *nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    *v = nv;
    at_tensor *t = &nv[*n];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name)))
        return -1;
    (*n)++;
    t->dtype = dt;
    t->ndim = ndim;
    t->count = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->count *= shape[i];
    }
    t->data = data;
    t->nbytes = nbytes;
    return 0;
}

int at_model_add_tensor(at_model *m, const char *name, at_dtype dt, int ndim,
                        const size_t *shape, const void *data, size_t nbytes, void *owned,
                        at_error *err)
{
    if (at_tensor_append(&m->t, &m->n_t, name, dt, ndim, shape, data, nbytes)) {
        free(owned);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    }
    m->t[m->n_t - 1].owned = owned;
    return 0;
}

const at_tensor *at_tensor_find(const at_tensor *t, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(t[mid].name, name);
        if (c == 0)
            return &t[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const at_tensor *at_model_find(const at_model *m, const char *name)
{
    return at_tensor_find(m->t, m->n_t, name);
}

/* The tensors a config calls for, with their shapes: the single source of truth
 * used both to allocate a new model and to validate a loaded one. */
typedef int (*tensor_fn)(void *ctx, const char *name, int ndim, const size_t *shape,
                         at_error *err);

static int each_expected(const at_config *c, size_t n_vocab, const size_t *n_tags,
                         tensor_fn fn, void *ctx, at_error *err)
{
    size_t d = (size_t)c->dim, f = (size_t)c->ffn_dim;
    char name[96];
#define T1(nm, a) do { size_t s_[1] = {(a)}; if (fn(ctx, nm, 1, s_, err)) return -1; } while (0)
#define T2(nm, a, b) do { size_t s_[2] = {(a), (b)}; if (fn(ctx, nm, 2, s_, err)) return -1; } while (0)
    T2("embed.word", n_vocab, d);
    if (c->char_buckets) {
        T2("embed.char", (size_t)c->char_buckets, (size_t)c->char_dim);
        T2("embed.char_proj", d, (size_t)c->char_dim);
    }
    if (c->shape)
        T2("embed.shape", AT_N_SHAPES, d);
    if (c->lexicon_bits)
        T2("embed.lex", (size_t)c->lexicon_bits, d);
    for (int l = 0; l < c->layers; l++) {
        static const char *const proj[] = {"q", "k", "v", "o"};
#define LN(x, ...) (snprintf(name, sizeof name, "layers.%d." x, l, __VA_ARGS__), name)
        if (c->mixer[l] != AT_MIX_NONE) { /* the mixing sub-layer's normalisation */
            T1(LN("attn_norm.weight%s", ""), d);
            T1(LN("attn_norm.bias%s", ""), d);
        }
        if (c->mixer[l] == AT_MIX_ATTENTION) {
            for (int p = 0; p < 4; p++) {
                T2(LN("attn.%s.weight", proj[p]), d, d);
                T1(LN("attn.%s.bias", proj[p]), d);
            }
            if (c->rel_pos)
                T2(LN("attn.rel_bias%s", ""), (size_t)c->heads, 2 * (size_t)c->rel_pos + 1);
        } else if (c->mixer[l] == AT_MIX_WINDOW) { /* [d, (2 window + 1) d] */
            T2(LN("window.weight%s", ""), d, (2 * (size_t)c->window[l] + 1) * d);
            T1(LN("window.bias%s", ""), d);
        }
        T1(LN("ffn_norm.weight%s", ""), d);
        T1(LN("ffn_norm.bias%s", ""), d);
        T2(LN("ffn.up.weight%s", ""), f, d);
        T1(LN("ffn.up.bias%s", ""), f);
        T2(LN("ffn.down.weight%s", ""), d, f);
        T1(LN("ffn.down.bias%s", ""), d);
#undef LN
    }
    if (c->norm == AT_NORM_PRE) {
        T1("final_norm.weight", d);
        T1("final_norm.bias", d);
    }
    for (int i = 0; i < c->n_tagsets; i++) {
        snprintf(name, sizeof name, "heads.%s.weight", c->tagset[i]);
        T2(name, n_tags[i], d);
        snprintf(name, sizeof name, "heads.%s.bias", c->tagset[i]);
        T1(name, n_tags[i]);
    }
#undef T1
#undef T2
    return 0;
}

int at_tensor_cmp(const void *a, const void *b)
{
    return strcmp(((const at_tensor *)a)->name, ((const at_tensor *)b)->name);
}

/* The blocks' matrices: "layers.N.attn.{q,k,v,o}.weight", "layers.N.window.weight",
 * "layers.N.ffn.{up,down}.weight". */
static bool is_block_matrix(const char *name)
{
    size_t len = strlen(name);
    return strncmp(name, "layers.", 7) == 0 && len > 7 &&
           strcmp(name + len - 7, ".weight") == 0 && !strstr(name, "norm");
}

static bool is_string_table(const char *name)
{
    return strcmp(name, "vocab") == 0 || strncmp(name, "tags.", 5) == 0 ||
           strcmp(name, "lexicon.words") == 0 || strcmp(name, "lexicon.bits") == 0 ||
           strcmp(name, "lexicon.index") == 0;
}

typedef struct check_ctx {
    at_model *m;
    const char *where;
} check_ctx;

static int check_one(void *vctx, const char *name, int ndim, const size_t *shape, at_error *err)
{
    check_ctx *ctx = vctx;
    at_tensor *t = (at_tensor *)at_model_find(ctx->m, name);
    if (!t)
        return at_error_set(err, "%s: tensor \"%s\" is missing", ctx->where, name);
    bool same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char got[96] = "", want[96] = "";
        for (int i = 0; i < t->ndim; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu", i ? ", " : "",
                     t->shape[i]);
        for (int i = 0; i < ndim; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%zu", i ? ", " : "",
                     shape[i]);
        return at_error_set(err, "%s: tensor \"%s\" has shape [%s], the config implies [%s]",
                            ctx->where, name, got, want);
    }
    if (t->dtype != AT_F32 && t->dtype != AT_F16)
        return at_error_set(err, "%s: tensor \"%s\" has dtype %s, expected F32 or F16",
                            ctx->where, name, at_dtype_name(t->dtype));
    /* Widen small 16-bit weights once; embedding tables stay 16-bit and are
     * widened per row, the blocks' matrices when packed (see repack).
     * Unaligned F32 data (from another writer) is copied. */
    bool table = strcmp(name, "embed.word") == 0 || strcmp(name, "embed.char") == 0 ||
                 is_block_matrix(name);
    t->used = true;
    if (t->dtype == AT_F32 && ((uintptr_t)t->data % 4) == 0) {
        t->f32 = t->data;
    } else if (t->dtype == AT_F32 || !table) {
        float *w = malloc(t->count ? t->count * sizeof *w : 1);
        if (!w)
            return at_error_set(err, "%s: out of memory for \"%s\"", ctx->where, name);
        if (t->dtype == AT_F32)
            memcpy(w, t->data, t->count * sizeof *w);
        else
            at_halves(t->data, t->count, w, 0);
        free(t->wide);
        t->wide = w;
        t->f32 = w;
    }
    /* Finite values only: a NaN would silently poison every tag. A 16-bit
     * table is checked by its exponent bits, without widening it; the loop
     * only ORs, so that it vectorises, and the element is found on failure. */
    const unsigned char *p = t->data;
    int bad = 0;
    if (t->f32) {
        for (size_t i = 0; i < t->count; i++) {
            uint32_t bits;
            memcpy(&bits, t->f32 + i, 4);
            bad |= (bits & 0x7F800000u) == 0x7F800000u;
        }
    } else { /* 8 little-endian halves at a time: an odd byte whose exponent bits are all set */
        typedef unsigned char bytes16 __attribute__((vector_size(16)));
        const bytes16 top = {0, 0x7C, 0, 0x7C, 0, 0x7C, 0, 0x7C, 0, 0x7C, 0, 0x7C, 0, 0x7C, 0, 0x7C};
        const bytes16 odd = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
        bytes16 any = {0};
        size_t i = 0;
        for (; i + 8 <= t->count; i += 8) { /* 4x the 64-bit form's speed: 0.5 ms of start-up */
            bytes16 v;
            memcpy(&v, p + 2 * i, 16);
            any |= (bytes16)((v & top) == top) & odd;
        }
        for (int l = 0; l < 16; l++)
            bad |= any[l];
        for (; i < t->count; i++)
            bad |= (p[2 * i + 1] & 0x7C) == 0x7C;
    }
    for (size_t i = 0; bad && i < t->count; i++) {
        bool finite = t->f32 ? isfinite(t->f32[i]) : (p[2 * i + 1] & 0x7C) != 0x7C;
        if (!finite)
            return at_error_set(err, "%s: tensor \"%s\" holds a non-finite value at element "
                                "%zu", ctx->where, name, i);
    }
    return 0;
}

static const float *F(const at_model *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const float *F(const at_model *m, const char *fmt, ...)
{
    char name[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const at_tensor *t = at_model_find(m, name);
    return t ? t->f32 : NULL;
}

static void bind(at_model *m)
{
    at_weights *w = &m->w;
    const at_config *c = &m->cfg;
    memset(w, 0, sizeof *w);
    w->word = at_model_find(m, "embed.word");
    w->chr = at_model_find(m, "embed.char");
    w->char_proj = F(m, "embed.char_proj");
    w->shape = F(m, "embed.shape");
    w->lex = F(m, "embed.lex");
    for (int l = 0; l < c->layers; l++) {
        at_layer_w *L = &w->layer[l];
        L->attn_norm_w = F(m, "layers.%d.attn_norm.weight", l);
        L->attn_norm_b = F(m, "layers.%d.attn_norm.bias", l);
        L->wq = F(m, "layers.%d.attn.q.weight", l);
        L->bq = F(m, "layers.%d.attn.q.bias", l);
        L->wk = F(m, "layers.%d.attn.k.weight", l);
        L->bk = F(m, "layers.%d.attn.k.bias", l);
        L->wv = F(m, "layers.%d.attn.v.weight", l);
        L->bv = F(m, "layers.%d.attn.v.bias", l);
        L->wo = F(m, "layers.%d.attn.o.weight", l);
        L->bo = F(m, "layers.%d.attn.o.bias", l);
        L->rel_bias = F(m, "layers.%d.attn.rel_bias", l);
        L->win_w = F(m, "layers.%d.window.weight", l);
        L->win_b = F(m, "layers.%d.window.bias", l);
        L->ffn_norm_w = F(m, "layers.%d.ffn_norm.weight", l);
        L->ffn_norm_b = F(m, "layers.%d.ffn_norm.bias", l);
        L->up_w = F(m, "layers.%d.ffn.up.weight", l);
        L->up_b = F(m, "layers.%d.ffn.up.bias", l);
        L->down_w = F(m, "layers.%d.ffn.down.weight", l);
        L->down_b = F(m, "layers.%d.ffn.down.bias", l);
    }
    w->final_norm_w = F(m, "final_norm.weight");
    w->final_norm_b = F(m, "final_norm.bias");
    for (int i = 0; i < c->n_tagsets; i++) {
        w->head_w[i] = F(m, "heads.%s.weight", c->tagset[i]);
        w->head_b[i] = F(m, "heads.%s.bias", c->tagset[i]);
    }
}

int at_model_set_temperature(at_model *m, int ts, double temp, at_error *err)
{
    if (ts < 0 || ts >= m->cfg.n_tagsets)
        return at_error_of(err, AT_ERR_USAGE, "no tag set %d", ts);
    if (temp != 0 && !(temp >= 0.01 && temp <= 100))
        return at_error_set(err, "temperature %g: expected 0.01 to 100", temp);
    m->cfg.temperature[ts] = temp;
    return 0;
}

void at_model_changed(at_model *m)
{
    m->gen++;
}

static uint32_t weights_checksum(const at_model *m, uint32_t (*fn)(uint32_t, const void *, size_t))
{
    uint32_t crc = 0;
    for (size_t i = 0; i < m->n_t; i++)
        if (!is_string_table(m->t[i].name))
            crc = fn(crc, m->t[i].data, m->t[i].nbytes);
    return crc;
}

uint32_t at_model_crc32c(const at_model *m)
{
    return weights_checksum(m, at_crc32c);
}

int at_model_finish(at_model *m, const char *where, at_error *err)
{
    const at_config *c = &m->cfg;
    if (at_config_check(c, err))
        return at_error_context(err, "%s", where);
    if (!m->vocab)
        return at_error_set(err, "%s: no vocabulary", where);
    for (int i = 0; i < c->n_tagsets; i++)
        if (!m->tags[i])
            return at_error_set(err, "%s: no tag names for tag set \"%s\"", where, c->tagset[i]);
    qsort(m->t, m->n_t, sizeof *m->t, at_tensor_cmp);
    for (size_t i = 1; i < m->n_t; i++)
        if (strcmp(m->t[i - 1].name, m->t[i].name) == 0)
            return at_error_set(err, "%s: tensor \"%s\" appears twice", where, m->t[i].name);
    check_ctx ctx = {m, where};
    if (each_expected(c, m->n_vocab, m->n_tags, check_one, &ctx, err))
        return -1;
    for (size_t i = 0; i < m->n_t; i++)
        if (!m->t[i].used && !is_string_table(m->t[i].name))
            return at_error_set(err, "%s: unexpected tensor \"%s\" (not called for by the "
                                "config)", where, m->t[i].name);
    at_strmap_free(&m->vocab_map);
    if (at_strmap_build(&m->vocab_map, (const char *const *)m->vocab, m->n_vocab, err))
        return at_error_context(err, "%s: vocabulary", where);
    for (int i = 0; i < c->n_tagsets; i++) { /* two classes of one name: which is meant? */
        at_strmap tags;
        if (at_strmap_build(&tags, (const char *const *)m->tags[i], m->n_tags[i], err))
            return at_error_context(err, "%s: tag set \"%s\"", where, c->tagset[i]);
        at_strmap_free(&tags);
    }
    if (c->lexicon_bits == 0 && m->n_lex)
        return at_error_set(err, "%s: a lexicon is present but lexicon_bits is 0", where);
    bind(m);
    if (!m->packs) {
        if (!(m->packs = calloc(1, sizeof *m->packs)))
            return at_error_set(err, "%s: out of memory", where);
        pthread_mutex_init(&m->packs->lock, NULL);
    }
    at_model_changed(m);
    return 0;
}

typedef struct alloc_ctx {
    at_model *m;
} alloc_ctx;

static int alloc_one(void *vctx, const char *name, int ndim, const size_t *shape,
                     at_error *err)
{
    alloc_ctx *ctx = vctx;
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] && count > SIZE_MAX / 4 / shape[i])
            return at_error_set(err, "tensor \"%s\" is too large", name);
        count *= shape[i];
    }
    float *w = calloc(count ? count : 1, sizeof *w);
    if (!w)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory for tensor \"%s\"", name);
    /* Layer-norm scales start at one, the identity. */
    size_t len = strlen(name);
    if (len > 7 && strcmp(name + len - 7, ".weight") == 0 && strstr(name, "norm"))
        for (size_t i = 0; i < count; i++)
            w[i] = 1.0f;
    return at_model_add_tensor(ctx->m, name, AT_F32, ndim, shape, w, count * sizeof *w, w, err);
}

int at_model_new(const at_config *c, const char *const *vocab, size_t n_vocab,
                 const char *const *const *tags, const size_t *n_tags, at_model **out,
                 at_error *err)
{
    if (at_config_check(c, err))
        return -1;
    at_model *m = at_model_alloc();
    if (!m)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    m->cfg = *c;
    m->writable = true;
    alloc_ctx ctx = {m};
    if (at_model_set_vocab(m, vocab, n_vocab, err))
        goto fail;
    for (int i = 0; i < c->n_tagsets; i++)
        if (at_model_set_tags(m, i, tags[i], n_tags[i], err))
            goto fail;
    if (each_expected(c, m->n_vocab, m->n_tags, alloc_one, &ctx, err) ||
        at_model_finish(m, "new model", err))
        goto fail;
    *out = m;
    return 0;
fail:
    at_model_free(m);
    return -1;
}

void at_model_free(at_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_t; i++) {
        free(m->t[i].name);
        free(m->t[i].owned);
        free(m->t[i].wide);
    }
    free(m->t);
    for (size_t i = 0; i < m->n_extra; i++) {
        free(m->extra[i].name);
        free(m->extra[i].owned);
    }
    free(m->extra);
    for (size_t i = 0; i < m->n_pk; i++)
        free(m->pk[i].name);
    free(m->pk);
    free(m->note);
    free(m->path);
    for (size_t i = 0; i < m->n_str_owned; i++)
        free(m->str_owned[i]);
    free(m->str_owned);
    at_strmap_free(&m->vocab_map);
    at_strmap_free(&m->lex_map);
    if (m->packs) {
        at_packs_free(m->packs);
        pthread_mutex_destroy(&m->packs->lock);
        free(m->packs);
    }
    if (m->map)
        munmap(m->map, m->map_len);
    free(m);
}

const at_config *at_model_config(const at_model *m) { return &m->cfg; }
size_t at_model_vocab_size(const at_model *m) { return m->n_vocab; }
const char *at_model_vocab_word(const at_model *m, size_t i)
{
    return i < m->n_vocab ? m->vocab[i] : NULL;
}
size_t at_model_lexicon_size(const at_model *m) { return m->n_lex; }
uint32_t at_model_checksum(const at_model *m)
{
    return weights_checksum(m, at_crc32);
}

size_t at_model_n_tags(const at_model *m, int ts)
{
    return ts >= 0 && ts < m->cfg.n_tagsets ? m->n_tags[ts] : 0;
}

const char *at_model_tag(const at_model *m, int ts, size_t i)
{
    return i < at_model_n_tags(m, ts) ? m->tags[ts][i] : NULL;
}

int at_model_tagset_index(const at_model *m, const char *name)
{
    for (int i = 0; i < m->cfg.n_tagsets; i++)
        if (strcmp(m->cfg.tagset[i], name) == 0)
            return i;
    return -1;
}

size_t at_model_param_count(const at_model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_t; i++)
        if (!is_string_table(m->t[i].name))
            n += m->t[i].count;
    return n;
}

int at_model_set_extra(at_model *m, const char *name, const float *data, size_t n,
                       at_error *err)
{
    if (strncmp(name, "train.", 6) != 0)
        return at_error_set(err, "extra tensor \"%s\": names must start with \"train.\"", name);
    at_tensor *t = NULL;
    for (size_t i = 0; i < m->n_extra; i++)
        if (strcmp(m->extra[i].name, name) == 0)
            t = &m->extra[i];
    if (!t) {
        at_tensor *ne = realloc(m->extra, (m->n_extra + 1) * sizeof *ne);
        if (!ne)
            return at_error_of(err, AT_ERR_MEMORY, "out of memory");
        m->extra = ne;
        t = &m->extra[m->n_extra];
        memset(t, 0, sizeof *t);
        if (!(t->name = strdup(name)))
            return at_error_of(err, AT_ERR_MEMORY, "out of memory");
        m->n_extra++;
    }
    float *w = malloc(n ? n * sizeof *w : 1);
    if (!w)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    memcpy(w, data, n * sizeof *w);
    free(t->owned);
    t->owned = w;
    t->data = w;
    t->f32 = w;
    t->dtype = AT_F32;
    t->ndim = 1;
    t->shape[0] = t->count = n;
    t->nbytes = n * sizeof *w;
    return 0;
}

const float *at_model_extra(const at_model *m, const char *name, size_t *n)
{
    for (size_t i = 0; i < m->n_extra; i++)
        if (strcmp(m->extra[i].name, name) == 0) {
            if (n)
                *n = m->extra[i].count;
            return m->extra[i].f32;
        }
    return NULL;
}

int at_model_set_note(at_model *m, const char *json, at_error *err)
{
    char *c = json ? strdup(json) : NULL;
    if (json && !c)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    free(m->note);
    m->note = c;
    return 0;
}

const char *at_model_note(const at_model *m)
{
    return m->note;
}

int at_model_copy(const at_model *src, at_model **out, at_error *err)
{
    at_model *m;
    if (at_model_new(&src->cfg, (const char *const *)src->vocab, src->n_vocab,
                     (const char *const *const *)src->tags, src->n_tags, &m, err))
        return -1;
    char **words = NULL;
    int rc = src->n_lex ? at_model_lexicon_words(src, &words, err) : 0;
    if (rc == 0 && src->n_lex)
        rc = at_model_set_lexicon(m, (const char *const *)words, src->lex_bits, src->n_lex, err);
    free(words);
    if (rc) {
        at_model_free(m);
        return -1;
    }
    for (size_t i = 0; i < m->n_t; i++) {
        at_tensor *t = &m->t[i];
        const at_tensor *st = at_model_find(src, t->name);
        float *w = (float *)t->f32;
        const unsigned char *p = st->data;
        for (size_t k = 0; k < t->count; k++)
            w[k] = st->f32 ? st->f32[k]
                           : at_half_to_float((uint16_t)(p[2 * k] | p[2 * k + 1] << 8));
    }
    at_model_changed(m);
    *out = m;
    return 0;
}

const float *at_model_tensor_data(const at_model *m, const char *name, size_t *n)
{
    const at_tensor *t = at_model_find(m, name);
    if (!t || !t->f32)
        return NULL;
    if (n)
        *n = t->count;
    return t->f32;
}

int at_model_to_f16(at_model *m, at_error *err)
{
    for (size_t i = 0; i < m->n_t; i++) {
        at_tensor *t = &m->t[i];
        if (t->dtype != AT_F32)
            continue;
        unsigned char *h = malloc(t->count ? 2 * t->count : 1);
        float *w = malloc(t->count ? t->count * sizeof *w : 1);
        if (!h || !w) {
            free(h);
            free(w);
            return at_error_of(err, AT_ERR_MEMORY, "out of memory converting \"%s\" to F16",
                               t->name);
        }
        for (size_t k = 0; k < t->count; k++) {
            uint16_t v = at_float_to_half(t->f32[k]);
            if ((v & 0x7C00) == 0x7C00) {
                free(h);
                free(w);
                return at_error_set(err, "tensor \"%s\" holds %g, beyond the F16 range",
                                    t->name, (double)t->f32[k]);
            }
            h[2 * k] = (unsigned char)(v & 0xFF);
            h[2 * k + 1] = (unsigned char)(v >> 8);
            w[k] = at_half_to_float(v); /* run with exactly what a reload gives */
        }
        free(t->owned);
        free(t->wide);
        t->owned = h;
        t->data = h;
        t->nbytes = 2 * t->count;
        t->dtype = AT_F16;
        t->wide = w;
        t->f32 = w;
    }
    m->writable = false; /* the weights are now what the 16-bit data says */
    bind(m);
    at_model_changed(m);
    return 0;
}

size_t at_model_n_tensors(const at_model *m) { return m->n_t; }

int at_model_tensor_info(const at_model *m, size_t i, at_tensor_info *out)
{
    if (i >= m->n_t)
        return -1;
    const at_tensor *t = &m->t[i];
    out->name = t->name;
    out->dtype = t->dtype;
    out->ndim = t->ndim;
    memcpy(out->shape, t->shape, sizeof out->shape);
    return 0;
}

void at_model_zero(at_model *m)
{
    at_model_changed(m);
    for (size_t i = 0; m->writable && i < m->n_t; i++)
        memset((float *)m->t[i].f32, 0, m->t[i].count * sizeof(float));
}

float *at_model_tensor_f32(at_model *m, const char *name, size_t *n)
{
    const at_tensor *t = at_model_find(m, name);
    if (!t || !m->writable || !t->f32)
        return NULL;
    if (n)
        *n = t->count;
    at_model_changed(m); /* the caller may write */
    return (float *)t->f32;
}
