/*
 * model.c - the in-memory model: tensors found by name and checked against the
 * config, string tables, and the weight pointers the forward pass reads.
 * Both file formats build a model through at_model_add_tensor and friends and
 * end in at_model_finish, so every check lives here once.
 */
#include "internal.h"
#include "kernels.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <utf8proc.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

/* append: a new tensor at the end of *v (n of them), described but not
 * owned; -1 when out of memory. */
static int append(at_tensor **v, size_t *n, const char *name, at_dtype dt, int ndim,
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
    if (append(&m->t, &m->n_t, name, dt, ndim, shape, data, nbytes)) {
        free(owned);
        return at_error_set(err, "out of memory");
    }
    m->t[m->n_t - 1].owned = owned;
    return 0;
}

/* The tensor called name in t[0..n), sorted by name, or NULL. */
static const at_tensor *find_sorted(const at_tensor *t, size_t n, const char *name)
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
    return find_sorted(m->t, m->n_t, name);
}

static int keep_string(at_model *m, char *s, at_error *err)
{
    char **n = realloc(m->str_owned, (m->n_str_owned + 1) * sizeof *n);
    if (!n) {
        free(s);
        return at_error_set(err, "out of memory");
    }
    m->str_owned = n;
    m->str_owned[m->n_str_owned++] = s;
    return 0;
}

/* copy_strings: n copies of w, each checked as UTF-8 without NUL bytes, in
 * one block (a lexicon has a hundred thousand of them). */
static int copy_strings(at_model *m, const char *const *w, size_t n, char ***out,
                        const char *what, at_error *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(w[i]), bad;
        if (len == 0)
            return at_error_set(err, "%s entry %zu is empty", what, i);
        if (at_utf8_check(w[i], len, &bad))
            return at_error_set(err, "%s entry %zu is not valid UTF-8 (byte %zu)", what, i, bad);
        total += len + 1;
    }
    char **v = calloc(n ? n : 1, sizeof *v);
    if (!v || keep_string(m, (char *)v, err))
        return at_error_set(err, "out of memory");
    char *block = malloc(total ? total : 1);
    if (!block || keep_string(m, block, err))
        return at_error_set(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(w[i]) + 1;
        memcpy(block, w[i], len);
        v[i] = block;
        block += len;
    }
    *out = v;
    return 0;
}

int at_model_set_vocab(at_model *m, const char *const *w, size_t n, at_error *err)
{
    if (n == 0 || strcmp(w[0], "<unk>") != 0)
        return at_error_set(err, "vocabulary must start with \"<unk>\"");
    if (n > UINT32_MAX / 2)
        return at_error_set(err, "vocabulary of %zu words is too large", n);
    m->n_vocab = n;
    return copy_strings(m, w, n, &m->vocab, "vocabulary", err);
}

int at_model_set_tags(at_model *m, int ts, const char *const *w, size_t n, at_error *err)
{
    if (ts < 0 || ts >= AT_MAX_TAGSETS)
        return at_error_set(err, "tag set index %d out of range", ts);
    if (n == 0 || n > 65535)
        return at_error_set(err, "tag set %d has %zu tags, expected 1 to 65535", ts, n);
    m->n_tags[ts] = n;
    return copy_strings(m, w, n, &m->tags[ts], "tag set", err);
}

/* words may be NULL (a lexicon found by its starts): the entry's number is
 * then all the message says */
static int check_lexicon_bits(const at_model *m, const char *const *words, const uint8_t *bits,
                              size_t n, at_error *err)
{
    int lb = m->cfg.lexicon_bits;
    uint8_t any = 0;
    for (size_t i = 0; i < n; i++)
        any |= lb < 8 ? (uint8_t)(bits[i] >> lb) : 0;
    for (size_t i = 0; any && i < n; i++)
        if (bits[i] >> lb)
            return at_error_set(err, "lexicon entry %zu%s%s%s has bits 0x%x beyond the "
                                "model's %d lexicon bits", i, words ? " (\"" : "",
                                words ? words[i] : "", words ? "\")" : "", bits[i], lb);
    return 0;
}

int at_model_set_lexicon(at_model *m, const char *const *words, const uint8_t *bits, size_t n,
                         at_error *err)
{
    at_strmap_free(&m->lex_map);
    m->lex_bits = malloc(n ? n : 1);
    if (!m->lex_bits || keep_string(m, (char *)m->lex_bits, err))
        return at_error_set(err, "out of memory");
    if (check_lexicon_bits(m, words, bits, n, err))
        return -1;
    memcpy(m->lex_bits, bits, n);
    m->n_lex = n;
    if (copy_strings(m, words, n, &m->lex_words, "lexicon", err))
        return -1;
    if (at_strmap_build(&m->lex_map, (const char *const *)m->lex_words, n, err))
        return at_error_set(err, "lexicon: %.900s", err->msg);
    return 0;
}

/* scan: find the strings of data[0..nbytes) (each ends with a NUL) and check
 * their bytes; v (n entries, or NULL to count) gets their starts. Sixteen
 * bytes at a time: a lexicon is mostly short ASCII words, and its NULs and
 * non-ASCII bytes are found by vector compares, the rest skipped. */
static int scan(const uint8_t *data, size_t nbytes, char **v, size_t n, size_t *count,
                const char *what, at_error *err)
{
    size_t k = 0, start = 0, checked = 0; /* bytes before `checked` are valid UTF-8 */
    for (size_t i = 0; i < nbytes; i += 16) {
        uint32_t zero = 0, high = 0;
        size_t len = nbytes - i < 16 ? nbytes - i : 16;
#ifdef __SSE2__
        if (len == 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(data + i));
            zero = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_setzero_si128()));
            high = (uint32_t)_mm_movemask_epi8(x);
        } else
#endif
            for (size_t j = 0; j < len; j++) {
                zero |= (uint32_t)(data[i + j] == 0) << j;
                high |= (uint32_t)(data[i + j] >> 7) << j;
            }
        for (; high; high &= high - 1) { /* each sequence starting here, checked once */
            size_t at = i + (size_t)__builtin_ctz(high);
            if (at < checked)
                continue;
            utf8proc_int32_t cp;
            utf8proc_ssize_t sl = utf8proc_iterate(data + at, (utf8proc_ssize_t)(nbytes - at), &cp);
            if (sl <= 0)
                return at_error_set(err, "%s: string %zu is not valid UTF-8 (byte %zu)", what, k,
                                    at - start);
            checked = at + (size_t)sl;
        }
        for (; zero; zero &= zero - 1) {
            size_t at = i + (size_t)__builtin_ctz(zero);
            if (at == start)
                return at_error_set(err, "%s: string %zu is empty", what, k);
            if (v && k == n)
                return at_error_set(err, "%s: more than %zu strings", what, n);
            if (v)
                v[k] = (char *)data + start;
            k++;
            start = at + 1;
        }
    }
    *count = k;
    return 0;
}

int at_split_strings(const uint8_t *data, size_t nbytes, size_t expect_n, char ***out,
                     size_t *n_out, const char *what, at_error *err)
{
    if (nbytes && data[nbytes - 1] != 0)
        return at_error_set(err, "%s: the last string is not NUL-terminated", what);
    size_t n = expect_n, k;
    if (n == (size_t)-1 && scan(data, nbytes, NULL, 0, &n, what, err))
        return -1;
    if (n > nbytes)
        return at_error_set(err, "%s: %zu strings in %zu bytes", what, n, nbytes);
    char **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return at_error_set(err, "out of memory");
    if (scan(data, nbytes, v, n, &k, what, err) ||
        (k != n && at_error_set(err, "%s: %zu strings, expected %zu", what, k, n))) {
        free(v);
        return -1;
    }
    *out = v;
    *n_out = n;
    return 0;
}

/* index_holds_each_once: the file's table has every word 1..n in exactly one
 * slot and nothing else (so an empty slot ends every probe); one pass over
 * its mask + 1 slots. A table that fails is not used: the loader builds its
 * own, so a bad table can never change a lookup. */
static bool index_holds_each_once(const unsigned char *index, size_t mask, size_t n)
{
    uint8_t *seen = calloc(n / 8 + 1, 1);
    size_t filled = 0;
    bool ok = seen != NULL;
    for (size_t h = 0; ok && h <= mask; h++) {
        uint32_t v = at_le32(index + 4 * h);
        if (v == 0)
            continue;
        ok = v <= n && !(seen[(v - 1) / 8] >> ((v - 1) % 8) & 1);
        if (ok)
            seen[(v - 1) / 8] |= (uint8_t)(1u << ((v - 1) % 8));
        filled++;
    }
    free(seen);
    return ok && filled == n;
}

int at_model_adopt_lexicon(at_model *m, char **words, const uint8_t *bits, size_t n,
                           const unsigned char *index, size_t mask, at_error *err)
{
    at_strmap_free(&m->lex_map);
    if (keep_string(m, (char *)words, err))
        return -1;
    if (check_lexicon_bits(m, (const char *const *)words, bits, n, err))
        return -1;
    m->lex_words = words;
    m->lex_bits = (uint8_t *)bits;
    m->n_lex = n;
    if (index && index_holds_each_once(index, mask, n)) {
        at_strmap_adopt(&m->lex_map, (const char *const *)words, n, index, mask);
        return 0;
    }
    if (at_strmap_build(&m->lex_map, (const char *const *)words, n, err))
        return at_error_set(err, "lexicon: %.900s", err->msg);
    return 0;
}

int at_model_adopt_lexicon_starts(at_model *m, const char *words, size_t nbytes,
                                  const unsigned char *starts, const uint8_t *bits, size_t n,
                                  const unsigned char *index, size_t mask, at_error *err)
{
    at_strmap_free(&m->lex_map);
    if (n && (nbytes == 0 || words[nbytes - 1] != '\0'))
        return at_error_set(err, "lexicon: the last word is not NUL-terminated");
    if (check_lexicon_bits(m, NULL, bits, n, err))
        return -1;
    m->lex_words = NULL;
    m->lex_bits = (uint8_t *)bits;
    m->n_lex = n;
    at_strmap_adopt_starts(&m->lex_map, words, nbytes, starts, n, index, mask);
    return 0;
}

int at_model_lexicon_words(const at_model *m, char ***out, at_error *err)
{
    const at_strmap *lm = &m->lex_map;
    if (m->lex_words || m->n_lex == 0) {
        char **v = malloc((m->n_lex ? m->n_lex : 1) * sizeof *v);
        if (!v)
            return at_error_set(err, "out of memory");
        if (m->n_lex)
            memcpy(v, m->lex_words, m->n_lex * sizeof *v);
        *out = v;
        return 0;
    }
    /* every word checked, as loading a file without starts would have, and
     * each start found where the words say */
    char **v;
    size_t n;
    if (at_split_strings((const uint8_t *)lm->base, lm->nbytes, m->n_lex, &v, &n, "lexicon",
                         err))
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t at = at_le32(lm->starts + 4 * i);
        if (v[i] != lm->base + at) {
            at_error_set(err, "lexicon: word %zu starts at byte %zu, lexicon.starts says %zu", i,
                         (size_t)(v[i] - lm->base), at);
            free(v);
            return -1;
        }
    }
    *out = v;
    return 0;
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

static int cmp_tensor(const void *a, const void *b)
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

static void packs_free(at_packs *P)
{
    at_packed_free(&P->char_proj);
    for (int l = 0; l < AT_MAX_LAYERS; l++)
        for (int i = 0; i < AT_PK_N; i++)
            at_packed_free(&P->layer[l][i]);
    for (int t = 0; t < AT_MAX_TAGSETS; t++)
        at_packed_free(&P->head[t]);
    P->valid = false;
}

/* The matrices the forward pass multiplies in 8 bits when the config says
 * int8, each named by its weight's name less ".weight" ("layers.0.attn.q",
 * "heads.upos"), with its shape and the pack at_gemm reads it from. */
typedef int (*mat_fn)(void *ctx, const at_model *m, const char *base, size_t out, size_t in,
                      at_packed *dst, at_error *err);

static int each_mat(const at_model *m, at_packs *P, mat_fn fn, void *ctx, at_error *err)
{
    const at_config *c = &m->cfg;
    size_t d = (size_t)c->dim, f = (size_t)c->ffn_dim;
    char base[96];
    for (int l = 0; l < c->layers; l++) {
        static const char *const proj[] = {"q", "k", "v", "o"};
        static const int slot[] = {AT_PK_Q, AT_PK_K, AT_PK_V, AT_PK_O};
        at_packed *p = P ? P->layer[l] : NULL;
        if (c->mixer[l] == AT_MIX_ATTENTION) {
            for (int i = 0; i < 4; i++) {
                snprintf(base, sizeof base, "layers.%d.attn.%s", l, proj[i]);
                if (fn(ctx, m, base, d, d, p ? &p[slot[i]] : NULL, err))
                    return -1;
            }
        } else if (c->mixer[l] == AT_MIX_WINDOW) {
            snprintf(base, sizeof base, "layers.%d.window", l);
            if (fn(ctx, m, base, d, (2 * (size_t)c->window[l] + 1) * d,
                   p ? &p[AT_PK_WIN] : NULL, err))
                return -1;
        }
        snprintf(base, sizeof base, "layers.%d.ffn.up", l);
        if (fn(ctx, m, base, f, d, p ? &p[AT_PK_UP] : NULL, err))
            return -1;
        snprintf(base, sizeof base, "layers.%d.ffn.down", l);
        if (fn(ctx, m, base, d, f, p ? &p[AT_PK_DOWN] : NULL, err))
            return -1;
    }
    for (int t = 0; t < c->n_tagsets; t++) {
        snprintf(base, sizeof base, "heads.%s", c->tagset[t]);
        if (fn(ctx, m, base, m->n_tags[t], d, P ? &P->head[t] : NULL, err))
            return -1;
    }
    return 0;
}

/* weights: matrix base's weights as floats: its own, or widened into tmp
 * (room for the largest block matrix). */
static const float *weights(const at_model *m, const char *base, float *tmp)
{
    char name[112];
    snprintf(name, sizeof name, "%s.weight", base);
    const at_tensor *t = at_model_find(m, name);
    if (t->f32)
        return t->f32;
    at_halves(t->data, t->count, tmp, 0);
    return tmp;
}

/* The stored layout, AT_INT8_LAYOUT: what at_pack_int8 (kernels/pack.c) makes.
 * Output o of a matrix [out, in] is lane o % 16 of panel o / 16; weight k of
 * it is byte k % 4 of group k / 4: q[((o / 16) kp / 4 + k / 4) 16 + o % 16) 4
 * + k % 4], kp = in rounded up to 4, zero where o >= out or k >= in. */
enum { I8_PANEL = 16, I8_GROUP = 4 };

static size_t int8_panels(size_t out) { return (out + I8_PANEL - 1) / I8_PANEL; }
static size_t int8_kp(size_t in) { return (in + I8_GROUP - 1) / I8_GROUP * I8_GROUP; }

static const at_tensor *find_int8(const at_model *m, const char *base, const char *suffix)
{
    char name[112];
    snprintf(name, sizeof name, "%s%s", base, suffix);
    return find_sorted(m->pk, m->n_pk, name);
}

/* stored_pack: the file's pack of matrix base (checked when loaded). */
static int stored_pack(const at_model *m, const char *base, size_t out, size_t in,
                       at_packed *P)
{
    const at_tensor *tq = find_int8(m, base, ".int8"), *ts = find_int8(m, base, ".int8_scale");
    return at_pack_int8_stored(tq->data, ts->data, out, in, P);
}

typedef struct pack_ctx {
    float *tmp;
    int mode; /* 0: floats, 1: round the weights to 8 bits, 2: the file's packs */
} pack_ctx;

static int pack_one(void *vctx, const at_model *m, const char *base, size_t out, size_t in,
                    at_packed *dst, at_error *err)
{
    (void)err;
    pack_ctx *ctx = vctx;
    if (ctx->mode == 2)
        return stored_pack(m, base, out, in, dst);
    const float *W = weights(m, base, ctx->tmp);
    return ctx->mode == 1 ? at_pack_int8(W, out, in, dst) : at_pack(W, out, in, dst);
}

/* largest: the most weights of a block matrix (the widening buffer's size). */
static size_t largest(const at_config *c)
{
    size_t d = (size_t)c->dim, f = (size_t)c->ffn_dim;
    size_t big = d > f ? d : f; /* the most inputs of a block matrix */
    for (int l = 0; l < c->layers; l++)
        if (c->mixer[l] == AT_MIX_WINDOW && (2 * (size_t)c->window[l] + 1) * d > big)
            big = (2 * (size_t)c->window[l] + 1) * d;
    return d * big;
}

static int repack(const at_model *m, at_packs *P)
{
    const at_config *c = &m->cfg;
    packs_free(P);
    pack_ctx ctx = {NULL, 0};
    if (c->int8 && !m->writable)
        ctx.mode = m->int8_ok && m->int8_gen == m->gen ? 2 : 1;
    if (ctx.mode != 2 && !(ctx.tmp = malloc(largest(c) * sizeof *ctx.tmp)))
        return -1;
    int fail = 0;
    if (c->char_buckets)
        fail |= at_pack(m->w.char_proj, (size_t)c->dim, (size_t)c->char_dim, &P->char_proj);
    at_error err;
    fail |= fail ? 0 : each_mat(m, P, pack_one, &ctx, &err);
    free(ctx.tmp);
    if (fail) {
        packs_free(P);
        return -1;
    }
    P->gen = m->gen;
    P->valid = true;
    return 0;
}

bool at_int8_name(const char *name)
{
    size_t len = strlen(name);
    return (len > 5 && strcmp(name + len - 5, ".int8") == 0) ||
           (len > 11 && strcmp(name + len - 11, ".int8_scale") == 0);
}

int at_model_add_int8(at_model *m, const char *name, at_dtype dt, int ndim, const size_t *shape,
                      const void *data, size_t nbytes, at_error *err)
{
    if (append(&m->pk, &m->n_pk, name, dt, ndim, shape, data, nbytes))
        return at_error_set(err, "out of memory");
    return 0;
}

static int shape_is(const at_tensor *t, int ndim, const size_t *shape, const char *where,
                    at_dtype dt, at_error *err)
{
    bool same = t->ndim == ndim && t->dtype == dt;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (same)
        return 0;
    char got[96] = "", want[96] = "";
    for (int i = 0; i < t->ndim; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu", i ? ", " : "", t->shape[i]);
    for (int i = 0; i < ndim; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%zu", i ? ", " : "", shape[i]);
    return at_error_set(err, "%s: tensor \"%s\" is %s [%s], the config implies %s [%s]", where,
                        t->name, at_dtype_name(t->dtype), got, at_dtype_name(dt), want);
}

/* check_int8: matrix base's two pack tensors, against its shape and the way
 * at_pack_int8 makes them: bytes -127 to 127, zero padding, scales finite
 * and >= 0, and each output with a scale above 0 has a weight of magnitude
 * 127 (its largest weight, divided by its scale). */
static int check_int8(void *vctx, const at_model *m, const char *base, size_t out, size_t in,
                      at_packed *dst, at_error *err)
{
    (void)dst;
    const char *where = vctx;
    at_tensor *tq = (at_tensor *)find_int8(m, base, ".int8");
    at_tensor *ts = (at_tensor *)find_int8(m, base, ".int8_scale");
    if (!tq || !ts)
        return at_error_set(err, "%s: tensor \"%s%s\" is missing (the file has 8-bit packs, and "
                            "then has them for every matrix)", where, base,
                            tq ? ".int8_scale" : ".int8");
    size_t panels = int8_panels(out), kp = int8_kp(in);
    size_t qs[4] = {panels, kp / I8_GROUP, I8_PANEL, I8_GROUP}, ss[1] = {out};
    if (shape_is(tq, 4, qs, where, AT_I8, err) || shape_is(ts, 1, ss, where, AT_F32, err))
        return -1;
    tq->used = ts->used = true;
    const int8_t *q = tq->data;
    const size_t G = I8_PANEL * I8_GROUP, groups = kp / I8_GROUP;
    for (size_t pn = 0; pn < panels; pn++) {
        const int8_t *p = q + pn * groups * G;
        uint8_t most[I8_PANEL * I8_GROUP] = {0}; /* the largest |q| of each byte lane */
        int bad = 0;                             /* a -128 seen */
        for (size_t g = 0; g < groups; g++)
            for (size_t i = 0; i < G; i++) {
                int v = p[g * G + i];
                uint8_t a = (uint8_t)(v < 0 ? -v : v);
                bad |= v == -128;
                most[i] = a > most[i] ? a : most[i];
            }
        for (size_t at = 0; bad && at < groups * G; at++)
            if (p[at] == -128)
                return at_error_set(err, "%s: tensor \"%s\": byte %zu (output %zu, input %zu) "
                                    "is -128; 8-bit weights are -127 to 127", where, tq->name,
                                    pn * groups * G + at, pn * I8_PANEL + at % G / I8_GROUP,
                                    at / G * I8_GROUP + at % I8_GROUP);
        for (size_t j = 0; j < I8_PANEL; j++) {
            size_t o = pn * I8_PANEL + j;
            for (size_t k = in; k < kp; k++) /* the inputs past in, in the last group */
                if (p[(groups - 1) * G + j * I8_GROUP + k % I8_GROUP] != 0)
                    return at_error_set(err, "%s: tensor \"%s\": padding of output %zu, input "
                                        "%zu (of %zu) is not 0", where, tq->name, o, k, in);
            uint8_t top = 0;
            for (size_t b = 0; b < I8_GROUP; b++)
                top = most[j * I8_GROUP + b] > top ? most[j * I8_GROUP + b] : top;
            if (o >= out) { /* a lane past the last output: all padding */
                if (top)
                    return at_error_set(err, "%s: tensor \"%s\": padding of output %zu (of "
                                        "%zu) is not 0", where, tq->name, o, out);
                continue;
            }
            float s;
            memcpy(&s, (const char *)ts->data + o * sizeof s, sizeof s);
            if (!isfinite(s) || s < 0)
                return at_error_set(err, "%s: tensor \"%s\": the scale of output %zu is %g, "
                                    "expected a finite number >= 0", where, ts->name, o,
                                    (double)s);
            if (s > 0 && top != 127)
                return at_error_set(err, "%s: tensor \"%s\": output %zu has scale %g but no "
                                    "weight of magnitude 127 (largest %d): not rounded to its "
                                    "scale", where, tq->name, o, (double)s, top);
        }
    }
    return 0;
}

int at_model_adopt_int8(at_model *m, const char *layout, const char *made_from,
                        const char *crc32c, uint32_t weights_crc32c, const char *where,
                        at_error *err)
{
    m->int8_ok = false;
    if (m->n_pk == 0 && !layout)
        return 0;
    if (!m->cfg.int8)
        return at_error_set(err, "%s: 8-bit packs (\"%s\"), but the config does not say "
                            "\"int8\": true", where, m->n_pk ? m->pk[0].name : "attntag.int8.layout");
    if (!layout || !made_from || !crc32c)
        return at_error_set(err, "%s: 8-bit packs need the metadata attntag.int8.layout, "
                            "attntag.int8.made_from and attntag.int8.crc32c", where);
    if (strcmp(layout, AT_INT8_LAYOUT) != 0)
        return 0; /* another layout (a later version's): round the weights instead */
    qsort(m->pk, m->n_pk, sizeof *m->pk, cmp_tensor);
    uint32_t crc = 0;
    for (size_t i = 0; i < m->n_pk; i++) {
        if (i && strcmp(m->pk[i - 1].name, m->pk[i].name) == 0)
            return at_error_set(err, "%s: tensor \"%s\" appears twice", where, m->pk[i].name);
        crc = at_crc32c(crc, m->pk[i].data, m->pk[i].nbytes);
    }
    char want[16];
    snprintf(want, sizeof want, "%08x", crc);
    if (strcmp(crc32c, want) != 0)
        return at_error_set(err, "%s: checksum mismatch: attntag.int8.crc32c says %s, the 8-bit "
                            "packs give %s (the file is corrupt)", where, crc32c, want);
    snprintf(want, sizeof want, "%08x", weights_crc32c);
    if (strcmp(made_from, want) != 0)
        return 0; /* made from other weights (changed since by another tool): not used */
    if (each_mat(m, NULL, check_int8, (void *)where, err))
        return -1;
    for (size_t i = 0; i < m->n_pk; i++)
        if (!m->pk[i].used)
            return at_error_set(err, "%s: unexpected tensor \"%s\" (not an 8-bit pack of a "
                                "matrix of this config)", where, m->pk[i].name);
    m->int8_ok = true;
    m->int8_gen = m->gen;
    return 0;
}

int at_model_int8_stored(const at_model *m)
{
    return m->cfg.int8 && !m->writable && m->int8_ok && m->int8_gen == m->gen;
}

typedef struct each_ctx {
    float *tmp;
    at_int8_fn fn;
    void *ctx;
} each_ctx;

static int give_int8(void *vctx, const at_model *m, const char *base, size_t out, size_t in,
                     at_packed *dst, at_error *err)
{
    (void)dst;
    each_ctx *e = vctx;
    at_packed p;
    if (at_pack_int8(weights(m, base, e->tmp), out, in, &p))
        return at_error_set(err, "out of memory for the 8-bit weights");
    char name[112];
    size_t panels = int8_panels(out), kp = int8_kp(in);
    size_t qs[4] = {panels, kp / I8_GROUP, I8_PANEL, I8_GROUP}, ss[1] = {out};
    snprintf(name, sizeof name, "%s.int8", base);
    int rc = e->fn(e->ctx, name, AT_I8, 4, qs, p.q, panels * kp * I8_PANEL, err);
    snprintf(name, sizeof name, "%s.int8_scale", base);
    rc = rc ? rc : e->fn(e->ctx, name, AT_F32, 1, ss, p.scale, out * sizeof *p.scale, err);
    at_packed_free(&p);
    return rc;
}

int at_model_each_int8(const at_model *m, at_int8_fn fn, void *ctx, at_error *err)
{
    each_ctx e = {malloc(largest(&m->cfg) * sizeof(float)), fn, ctx};
    if (!e.tmp)
        return at_error_set(err, "out of memory");
    int rc = each_mat(m, NULL, give_int8, &e, err);
    free(e.tmp);
    return rc;
}

const at_packs *at_model_packs(const at_model *m, at_error *err)
{
    at_packs *P = m->packs;
    pthread_mutex_lock(&P->lock);
    int rc = P->valid && P->gen == m->gen ? 0 : repack(m, P);
    pthread_mutex_unlock(&P->lock);
    if (rc) {
        at_error_set(err, "out of memory for the packed weights");
        return NULL;
    }
    return P;
}

int at_model_set_int8(at_model *m, int on, at_error *err)
{
    (void)err;
    m->cfg.int8 = on != 0;
    at_model_changed(m);
    return 0;
}

int at_model_set_temperature(at_model *m, int ts, double temp, at_error *err)
{
    if (ts < 0 || ts >= m->cfg.n_tagsets)
        return at_error_set(err, "no tag set %d", ts);
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
        return at_error_set(err, "%s: %.900s", where, err->msg);
    if (!m->vocab)
        return at_error_set(err, "%s: no vocabulary", where);
    for (int i = 0; i < c->n_tagsets; i++)
        if (!m->tags[i])
            return at_error_set(err, "%s: no tag names for tag set \"%s\"", where, c->tagset[i]);
    qsort(m->t, m->n_t, sizeof *m->t, cmp_tensor);
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
        return at_error_set(err, "%s: vocabulary: %.900s", where, err->msg);
    for (int i = 0; i < c->n_tagsets; i++) { /* two classes of one name: which is meant? */
        at_strmap tags;
        if (at_strmap_build(&tags, (const char *const *)m->tags[i], m->n_tags[i], err))
            return at_error_set(err, "%s: tag set \"%s\": %.900s", where, c->tagset[i], err->msg);
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
        return at_error_set(err, "out of memory for tensor \"%s\"", name);
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
        return at_error_set(err, "out of memory");
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
        packs_free(m->packs);
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
            return at_error_set(err, "out of memory");
        m->extra = ne;
        t = &m->extra[m->n_extra];
        memset(t, 0, sizeof *t);
        if (!(t->name = strdup(name)))
            return at_error_set(err, "out of memory");
        m->n_extra++;
    }
    float *w = malloc(n ? n * sizeof *w : 1);
    if (!w)
        return at_error_set(err, "out of memory");
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
        return at_error_set(err, "out of memory");
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
            return at_error_set(err, "out of memory converting \"%s\" to F16", t->name);
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
