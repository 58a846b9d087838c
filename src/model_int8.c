/*
 * model_int8.c - a model's packed matrices: the packs the products read,
 * made from the weights (rounded to 8 bits when the config says int8) or
 * taken from a file's stored 8-bit packs after checking them, and the 8-bit
 * packs given to a file writer.
 */
#include "internal.h"
#include "kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void at_packs_free(at_packs *P)
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
    return at_tensor_find(m->pk, m->n_pk, name);
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
    at_packs_free(P);
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
        at_packs_free(P);
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
    if (at_tensor_append(&m->pk, &m->n_pk, name, dt, ndim, shape, data, nbytes))
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
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
    qsort(m->pk, m->n_pk, sizeof *m->pk, at_tensor_cmp);
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
        return at_error_of(err, AT_ERR_MEMORY, "out of memory for the 8-bit weights");
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
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
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
        at_error_of(err, AT_ERR_MEMORY, "out of memory for the packed weights");
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
