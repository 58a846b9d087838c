/*
 * safetensors.c - the binary model file: an 8-byte little-endian header
 * length, a JSON header naming each tensor's dtype, shape and byte range, then
 * the raw data (docs/model-format.md). Loading maps the file and points the
 * weights into it without copying. Nothing read from the file is trusted:
 * every length, offset and shape is checked before it is used.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT_NAME "attntag-model-1"
enum { MAX_HEADER = 100 << 20 }; /* as the reference implementation */

typedef struct entry {
    const char *name;
    at_dtype dtype;
    int ndim;
    size_t shape[4];
    size_t begin, end;
} entry;

static int cmp_begin(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

static int whole(const cJSON *v, double max, size_t *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max ||
        v->valuedouble != floor(v->valuedouble))
        return -1;
    *out = (size_t)v->valuedouble;
    return 0;
}

/* parse_entry: one tensor of the header, checked against the data length. */
static int parse_entry(const cJSON *it, size_t data_len, entry *e, const char *path,
                       at_error *err)
{
    e->name = it->string;
    if (strlen(e->name) == 0 || strlen(e->name) > 200)
        return at_error_set(err, "%s: tensor name of %zu bytes, expected 1 to 200", path,
                            strlen(e->name));
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
    if (!cJSON_IsObject(it) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) ||
        !cJSON_IsArray(off))
        return at_error_set(err, "%s: tensor \"%s\": expected an object with \"dtype\", "
                            "\"shape\" and \"data_offsets\"", path, e->name);
    if (at_dtype_parse(dt->valuestring, &e->dtype))
        return at_error_set(err, "%s: tensor \"%s\": dtype \"%s\" is not supported (expected "
                            "F32, F16, U8 or I8)", path, e->name, dt->valuestring);
    int nd = cJSON_GetArraySize(sh);
    if (nd < 1 || nd > 4)
        return at_error_set(err, "%s: tensor \"%s\": %d dimensions, expected 1 to 4", path,
                            e->name, nd);
    e->ndim = nd;
    size_t count = 1;
    for (int i = 0; i < nd; i++) {
        if (whole(cJSON_GetArrayItem(sh, i), 9007199254740992.0, &e->shape[i]))
            return at_error_set(err, "%s: tensor \"%s\": shape[%d] is not a whole number >= 0",
                                path, e->name, i);
        if (e->shape[i] && count > data_len / e->shape[i])
            return at_error_set(err, "%s: tensor \"%s\": shape is larger than the file's %zu "
                                "data bytes", path, e->name, data_len);
        count *= e->shape[i];
    }
    if (cJSON_GetArraySize(off) != 2 || whole(cJSON_GetArrayItem(off, 0), 9007199254740992.0,
                                              &e->begin) ||
        whole(cJSON_GetArrayItem(off, 1), 9007199254740992.0, &e->end))
        return at_error_set(err, "%s: tensor \"%s\": data_offsets must be two whole numbers",
                            path, e->name);
    if (e->begin > e->end || e->end > data_len)
        return at_error_set(err, "%s: tensor \"%s\": data_offsets [%zu, %zu] out of range (the "
                            "data is %zu bytes)", path, e->name, e->begin, e->end, data_len);
    size_t sz = (size_t)at_dtype_size(e->dtype);
    if (count > data_len / sz || count * sz != e->end - e->begin)
        return at_error_set(err, "%s: tensor \"%s\": %zu elements of %s need %zu bytes, "
                            "data_offsets give %zu", path, e->name, count,
                            at_dtype_name(e->dtype), count * sz, e->end - e->begin);
    return 0;
}

static const char *meta_string(const cJSON *meta, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* load_strings: a string table tensor into the model. */
static int load_strings(at_model *m, const entry *e, const uint8_t *data, const char *path,
                        at_error *err)
{
    const char *nm = e->name;
    if (e->dtype != AT_U8 || e->ndim != 1)
        return at_error_set(err, "%s: \"%s\" must be a 1-D U8 tensor", path, nm);
    const uint8_t *p = data + e->begin;
    size_t len = e->end - e->begin;
    if (strncmp(nm, "lexicon.", 8) == 0)
        return 0; /* read by load_lexicon */
    char **v = NULL;
    size_t n = 0;
    int rc;
    char what[256];
    snprintf(what, sizeof what, "%s: \"%s\"", path, nm);
    if (at_split_strings(p, len, (size_t)-1, &v, &n, what, err))
        return -1;
    if (strcmp(nm, "vocab") == 0) {
        rc = at_model_set_vocab(m, (const char *const *)v, n, err);
    } else if (strncmp(nm, "tags.", 5) == 0) {
        int ts = -1;
        for (int i = 0; i < m->cfg.n_tagsets; i++)
            if (strcmp(m->cfg.tagset[i], nm + 5) == 0)
                ts = i;
        rc = ts < 0 ? at_error_set(err, "no tag set \"%s\" in the config", nm + 5)
                    : at_model_set_tags(m, ts, (const char *const *)v, n, err);
    } else {
        rc = at_error_set(err, "unexpected string table");
    }
    free(v);
    if (rc)
        return at_error_context(err, "%s: \"%s\"", path, nm);
    return 0;
}

/* load_lexicon: lexicon.words, .bits, and the tables attntag writes with
 * them: .starts (each word's first byte) and .index (the hash table), which
 * spare loading any work per word; crc: attntag.lexicon.crc32c, over the
 * four in that order, required with the starts. */
static int load_lexicon(at_model *m, const entry *const lex[4], const char *crc,
                        const uint8_t *data, const char *path, at_error *err)
{
    const entry *words = lex[0], *bits = lex[1], *starts = lex[2], *index = lex[3];
    if (!words && !bits && !index && !starts)
        return 0;
    if (!words || !bits)
        return at_error_set(err, "%s: lexicon.words and lexicon.bits must come together", path);
    for (int i = 0; i < 4; i++)
        if (lex[i] && (lex[i]->dtype != AT_U8 || lex[i]->ndim != 1))
            return at_error_set(err, "%s: \"%s\" must be a 1-D U8 tensor", path, lex[i]->name);
    size_t n = bits->shape[0];
    /* the hash table the loader would build, made when the file was written:
     * (mask + 1) 32-bit slots, a power of two above the number of words */
    size_t slots = index ? (index->end - index->begin) / 4 : 0;
    if (index && ((index->end - index->begin) % 4 || slots <= n || (slots & (slots - 1))))
        return at_error_set(err, "%s: \"lexicon.index\" must be a 1-D U8 tensor of 4 bytes "
                            "times a power of two above the %zu lexicon words", path, n);
    if (starts && (!index || !crc || starts->end - starts->begin != 4 * n))
        return at_error_set(err, "%s: \"lexicon.starts\" must hold 4 bytes for each of the %zu "
                            "lexicon words, with \"lexicon.index\" and the metadata "
                            "attntag.lexicon.crc32c", path, n);
    if (crc) {
        uint32_t c = 0;
        for (int i = 0; i < 4; i++)
            if (lex[i])
                c = at_crc32c(c, data + lex[i]->begin, lex[i]->end - lex[i]->begin);
        char want[16];
        snprintf(want, sizeof want, "%08x", c);
        if (strcmp(crc, want) != 0)
            return at_error_set(err, "%s: checksum mismatch: attntag.lexicon.crc32c says %s, "
                                "the lexicon gives %s (the file is corrupt)", path, crc, want);
    }
    int rc;
    if (starts) {
        rc = at_model_adopt_lexicon_starts(m, (const char *)data + words->begin,
                                           words->end - words->begin, data + starts->begin,
                                           data + bits->begin, n, data + index->begin,
                                           slots - 1, err);
    } else {
        char **v = NULL;
        char what[256];
        snprintf(what, sizeof what, "%s: \"lexicon.words\"", path);
        if (at_split_strings(data + words->begin, words->end - words->begin, n, &v, &n, what,
                             err))
            return -1;
        rc = at_model_adopt_lexicon(m, v, data + bits->begin, n,
                                    index ? data + index->begin : NULL, slots - 1, err);
    }
    if (rc)
        return at_error_context(err, "%s", path);
    return 0;
}

/* load_extra: a checkpoint's "train.*" tensor, copied (it is small and
 * must be writable); checked like any weight. */
static int load_extra(at_model *m, const entry *e, const uint8_t *data, const char *path,
                      at_error *err)
{
    if (e->dtype != AT_F32 || e->ndim != 1)
        return at_error_set(err, "%s: \"%s\" must be a 1-D F32 tensor", path, e->name);
    size_t n = e->shape[0];
    float *w = malloc(n ? n * sizeof *w : 1);
    if (!w)
        return at_error_set(err, "%s: out of memory", path);
    memcpy(w, data + e->begin, n * sizeof *w);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(w[i])) {
            free(w);
            return at_error_set(err, "%s: tensor \"%s\" holds a non-finite value at element %zu",
                                path, e->name, i);
        }
    int rc = at_model_set_extra(m, e->name, w, n, err);
    free(w);
    return rc;
}

/* tile: the entries, sorted by where they begin, cover the data exactly:
 * no overlaps, no holes. */
static int tile(entry *ent, int n_ent, size_t data_len, const char *path, at_error *err)
{
    qsort(ent, (size_t)n_ent, sizeof *ent, cmp_begin);
    size_t pos = 0;
    for (int i = 0; i < n_ent; i++) {
        if (ent[i].begin != pos)
            return at_error_set(err, "%s: tensor \"%s\" starts at byte %zu, expected %zu (%s)",
                                path, ent[i].name, ent[i].begin, pos,
                                ent[i].begin < pos ? "it overlaps the tensor before it"
                                                   : "a hole in the data");
        pos = ent[i].end;
    }
    if (pos != data_len)
        return at_error_set(err, "%s: the tensors cover %zu of %zu data bytes", path, pos,
                            data_len);
    return 0;
}

/* load_entries: each tensor into m as its name says; the lexicon's four
 * (words, bits, starts, index; NULL if absent) left in lex, to be loaded
 * with their checksum. */
static int load_entries(at_model *m, const entry *ent, int n_ent, const uint8_t *data,
                        const char *path, const entry *lex[4], at_error *err)
{
    lex[0] = lex[1] = lex[2] = lex[3] = NULL;
    for (int i = 0; i < n_ent; i++) {
        const entry *e = &ent[i];
        if (strcmp(e->name, "lexicon.words") == 0)
            lex[0] = e;
        if (strcmp(e->name, "lexicon.bits") == 0)
            lex[1] = e;
        if (strcmp(e->name, "lexicon.index") == 0 || strcmp(e->name, "lexicon.starts") == 0) {
            lex[e->name[8] == 'i' ? 3 : 2] = e;
            continue;
        }
        if (!strncmp(e->name, "train.", 6)) {
            if (load_extra(m, e, data, path, err))
                return -1;
        } else if (at_int8_name(e->name)) {
            if (at_model_add_int8(m, e->name, e->dtype, e->ndim, e->shape, data + e->begin,
                                  e->end - e->begin, err))
                return -1;
        } else if (!strcmp(e->name, "vocab") || !strncmp(e->name, "tags.", 5) ||
                   !strncmp(e->name, "lexicon.", 8)) {
            if (!strncmp(e->name, "lexicon.", 8) && !lex[0] && !lex[1])
                return at_error_set(err, "%s: unexpected tensor \"%s\"", path, e->name);
            if (load_strings(m, e, data, path, err))
                return -1;
        } else if (at_model_add_tensor(m, e->name, e->dtype, e->ndim, e->shape,
                                       data + e->begin, e->end - e->begin, NULL, err)) {
            return -1;
        }
    }
    return 0;
}

static int load_header(at_model *m, const char *path, const uint8_t *base, size_t size,
                       at_error *err)
{
    if (size < 8)
        return at_error_set(err, "%s: %zu bytes, too short for a safetensors header (8-byte "
                            "length expected)", path, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | base[i];
    if (hlen == 0 || hlen > size - 8 || hlen > MAX_HEADER)
        return at_error_set(err, "%s: header length %llu does not fit the file (%zu bytes after "
                            "the length field)", path, (unsigned long long)hlen, size - 8);
    const uint8_t *data = base + 8 + hlen;
    size_t data_len = size - 8 - (size_t)hlen;
    cJSON *h = cJSON_ParseWithLength((const char *)base + 8, (size_t)hlen);
    if (!h || !cJSON_IsObject(h)) {
        cJSON_Delete(h);
        return at_error_set(err, "%s: the header is not a JSON object", path);
    }
    int rc = -1, n_ent = 0;
    entry *ent = calloc((size_t)cJSON_GetArraySize(h) + 1, sizeof *ent);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
    const char *fmt = meta_string(meta, "format"), *cfg = meta_string(meta, "attntag.config");
    const char *sum = meta_string(meta, "attntag.checksum");
    const char *sum_c = meta_string(meta, "attntag.crc32c");
    const char *note = meta_string(meta, "attntag.train_state");
    const char *i8_layout = meta_string(meta, "attntag.int8.layout");
    const char *i8_from = meta_string(meta, "attntag.int8.made_from");
    const char *i8_crc = meta_string(meta, "attntag.int8.crc32c");
    if (!ent) {
        at_error_set(err, "%s: out of memory", path);
        goto out;
    }
    if (!fmt || strcmp(fmt, FORMAT_NAME) != 0 || !cfg) {
        at_error_set(err, "%s: not an attntag model (metadata \"format\" must be \"%s\", with "
                     "\"attntag.config\")", path, FORMAT_NAME);
        goto out;
    }
    if (at_config_from_json(&m->cfg, cfg, strlen(cfg), err)) {
        at_error_context(err, "%s", path);
        goto out;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, h)
    {
        if (strcmp(it->string, "__metadata__") == 0)
            continue;
        if (parse_entry(it, data_len, &ent[n_ent], path, err))
            goto out;
        n_ent++;
    }
    const entry *lex[4]; /* words, bits, starts, index */
    if (tile(ent, n_ent, data_len, path, err) || load_entries(m, ent, n_ent, data, path, lex, err))
        goto out;
    if (load_lexicon(m, lex, meta_string(meta, "attntag.lexicon.crc32c"), data, path, err) ||
        at_model_finish(m, path, err) ||
        (note && at_model_set_note(m, note, err)))
        goto out;
    /* the CRC-32C when there is one: the processor computes it in a fraction
     * of a millisecond; files written before it have the CRC-32 alone */
    uint32_t crc_c = 0;
    bool have_crc_c = false;
    if (sum_c || sum) {
        char want[16];
        if (sum_c) {
            crc_c = at_model_crc32c(m);
            have_crc_c = true;
        }
        snprintf(want, sizeof want, "%08x", sum_c ? crc_c : at_model_checksum(m));
        if (strcmp(sum_c ? sum_c : sum, want) != 0) {
            at_error_set(err, "%s: checksum mismatch: the header says %s %s, the weights give "
                         "%s (the file is corrupt)", path, sum_c ? "CRC-32C" : "CRC-32",
                         sum_c ? sum_c : sum, want);
            goto out;
        }
    }
    /* the 8-bit packs, used only if made from these very weights */
    if ((m->n_pk || i8_layout) &&
        at_model_adopt_int8(m, i8_layout, i8_from, i8_crc,
                            have_crc_c ? crc_c : at_model_crc32c(m), path, err))
        goto out;
    rc = 0;
out:
    free(ent);
    cJSON_Delete(h);
    return rc;
}

int at_safetensors_load(const char *path, at_model **out, at_error *err)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return at_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return at_error_set(err, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    void *map = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : NULL;
    close(fd);
    if (size && map == MAP_FAILED)
        return at_error_set(err, "%s: cannot map: %s", path, strerror(errno));
    at_model *m = at_model_alloc();
    if (!m) {
        if (map)
            munmap(map, size);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    }
    m->map = map;
    m->map_len = size;
    if (load_header(m, path, map, size, err)) {
        at_model_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

/* Output buffer that grows; errors are sticky. */
typedef struct outbuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} outbuf;

static void put(outbuf *b, const void *data, size_t len)
{
    if (b->oom)
        return;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
}

static void put_le32(outbuf *b, uint32_t v)
{
    unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24)};
    put(b, le, 4);
}

static void put_strings(outbuf *b, char *const *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(b, s[i], strlen(s[i]) + 1);
}

static cJSON *add_entry(cJSON *h, const char *name, at_dtype dt, int ndim, const size_t *shape,
                        size_t begin, size_t end)
{
    cJSON *e = cJSON_AddObjectToObject(h, name);
    if (!e)
        return NULL;
    cJSON_AddStringToObject(e, "dtype", at_dtype_name(dt));
    cJSON *sh = cJSON_AddArrayToObject(e, "shape");
    for (int i = 0; sh && i < ndim; i++)
        cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)shape[i]));
    cJSON *off = cJSON_AddArrayToObject(e, "data_offsets");
    if (off) {
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)begin));
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)end));
    }
    return e;
}

/* The 8-bit packs of an int8 model, made from its weights to be written. */
typedef struct pack_out {
    char *name;
    at_dtype dtype;
    int ndim;
    size_t shape[4];
    void *data;
    size_t nbytes;
} pack_out;

typedef struct pack_list {
    pack_out *v;
    size_t n;
} pack_list;

static int keep_pack(void *ctx, const char *name, at_dtype dt, int ndim, const size_t *shape,
                     const void *data, size_t nbytes, at_error *err)
{
    pack_list *l = ctx;
    pack_out *nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    l->v = nv;
    pack_out *p = &l->v[l->n];
    memset(p, 0, sizeof *p);
    p->name = strdup(name);
    p->data = malloc(nbytes ? nbytes : 1);
    if (!p->name || !p->data) {
        free(p->name);
        free(p->data);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    }
    l->n++;
    memcpy(p->data, data, nbytes);
    p->dtype = dt;
    p->ndim = ndim;
    memcpy(p->shape, shape, (size_t)ndim * sizeof *shape);
    p->nbytes = nbytes;
    return 0;
}

static int cmp_pack(const void *a, const void *b)
{
    return strcmp(((const pack_out *)a)->name, ((const pack_out *)b)->name);
}

static void packs_done(pack_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].data);
    }
    free(l->v);
}

/* put_tensors: the weights, the training extras and the 8-bit packs. F32
 * first, then F16, then bytes: every tensor stays aligned to its size when
 * the data section starts 8-aligned. */
static void put_tensors(cJSON *h, outbuf *out, const at_model *m, const pack_list *pk)
{
    static const at_dtype order[] = {AT_F32, AT_F16};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < m->n_t; i++) {
            const at_tensor *t = &m->t[i];
            if (t->dtype != order[k])
                continue;
            size_t b0 = out->len;
            put(out, t->data, t->nbytes);
            add_entry(h, t->name, t->dtype, t->ndim, t->shape, b0, out->len);
        }
        for (size_t i = 0; k == 0 && i < pk->n; i++)
            if (pk->v[i].dtype == AT_F32) {
                size_t b0 = out->len;
                put(out, pk->v[i].data, pk->v[i].nbytes);
                add_entry(h, pk->v[i].name, AT_F32, pk->v[i].ndim, pk->v[i].shape, b0, out->len);
            }
    }
    for (size_t i = 0; i < m->n_extra; i++) {
        size_t b0 = out->len;
        put(out, m->extra[i].data, m->extra[i].nbytes);
        add_entry(h, m->extra[i].name, AT_F32, 1, m->extra[i].shape, b0, out->len);
    }
    for (size_t i = 0; i < pk->n; i++)
        if (pk->v[i].dtype != AT_F32) {
            size_t b0 = out->len;
            put(out, pk->v[i].data, pk->v[i].nbytes);
            add_entry(h, pk->v[i].name, pk->v[i].dtype, pk->v[i].ndim, pk->v[i].shape, b0,
                      out->len);
        }
}

/* put_words: the vocabulary and each tag set's tags. */
static void put_words(cJSON *h, outbuf *out, const at_model *m)
{
    size_t b0 = out->len, one[1];
    put_strings(out, m->vocab, m->n_vocab);
    one[0] = out->len - b0;
    add_entry(h, "vocab", AT_U8, 1, one, b0, out->len);
    for (int i = 0; i < m->cfg.n_tagsets; i++) {
        char name[64];
        snprintf(name, sizeof name, "tags.%s", m->cfg.tagset[i]);
        b0 = out->len;
        put_strings(out, m->tags[i], m->n_tags[i]);
        one[0] = out->len - b0;
        add_entry(h, name, AT_U8, 1, one, b0, out->len);
    }
}

/* put_lexicon: words, bits, starts, index, and one checksum over the four
 * in meta (if any). */
static void put_lexicon(cJSON *h, cJSON *meta, outbuf *out, const at_model *m, char **lex)
{
    size_t lex0 = out->len, b0 = out->len, at = 0, one[1];
    put_strings(out, lex, m->n_lex);
    one[0] = out->len - b0;
    add_entry(h, "lexicon.words", AT_U8, 1, one, b0, out->len);
    b0 = out->len;
    put(out, m->lex_bits, m->n_lex);
    one[0] = m->n_lex;
    add_entry(h, "lexicon.bits", AT_U8, 1, one, b0, out->len);
    b0 = out->len;
    for (size_t i = 0; i < m->n_lex; i++) {
        put_le32(out, (uint32_t)at);
        at += strlen(lex[i]) + 1;
    }
    one[0] = out->len - b0;
    add_entry(h, "lexicon.starts", AT_U8, 1, one, b0, out->len);
    b0 = out->len;
    for (size_t i = 0; i <= m->lex_map.mask; i++)
        put_le32(out, at_strmap_slot(&m->lex_map, i));
    one[0] = out->len - b0;
    add_entry(h, "lexicon.index", AT_U8, 1, one, b0, out->len);
    char lex_crc[16];
    snprintf(lex_crc, sizeof lex_crc, "%08x",
             out->oom ? 0 : at_crc32c(0, out->p + lex0, out->len - lex0));
    if (meta)
        cJSON_AddStringToObject(meta, "attntag.lexicon.crc32c", lex_crc);
}

int at_safetensors_save(const at_model *m, const char *path, at_error *err)
{
    /* an int8 model stores its weights rounded and packed as tagging reads
     * them, so that loading it does not round them (docs/model-format.md) */
    pack_list pk = {NULL, 0};
    char pk_crc[16], **lex = NULL;
    if (at_model_lexicon_words(m, &lex, err))
        return at_error_context(err, "%s", path);
    size_t lex_bytes = 0;
    for (size_t i = 0; i < m->n_lex; i++)
        lex_bytes += strlen(lex[i]) + 1;
    if (lex_bytes > UINT32_MAX) { /* lexicon.starts holds 32-bit starts */
        free(lex);
        return at_error_set(err, "%s: the lexicon's words take %zu bytes, more than 4 GiB",
                            path, lex_bytes);
    }
    if (m->cfg.int8) {
        if (at_model_each_int8(m, keep_pack, &pk, err)) {
            packs_done(&pk);
            free(lex);
            return at_error_context(err, "%s", path);
        }
        qsort(pk.v, pk.n, sizeof *pk.v, cmp_pack);
        uint32_t crc = 0;
        for (size_t i = 0; i < pk.n; i++)
            crc = at_crc32c(crc, pk.v[i].data, pk.v[i].nbytes);
        snprintf(pk_crc, sizeof pk_crc, "%08x", crc);
    }
    cJSON *h = cJSON_CreateObject();
    outbuf data = {0};
    char *cfg = at_config_to_json(&m->cfg), sum[16], sum_c[16];
    snprintf(sum, sizeof sum, "%08x", at_model_checksum(m));
    snprintf(sum_c, sizeof sum_c, "%08x", at_model_crc32c(m));
    cJSON *meta = h ? cJSON_AddObjectToObject(h, "__metadata__") : NULL;
    if (meta && cfg) {
        cJSON_AddStringToObject(meta, "format", FORMAT_NAME);
        cJSON_AddStringToObject(meta, "attntag.config", cfg);
        cJSON_AddStringToObject(meta, "attntag.checksum", sum);
        cJSON_AddStringToObject(meta, "attntag.crc32c", sum_c);
        if (m->note)
            cJSON_AddStringToObject(meta, "attntag.train_state", m->note);
        if (m->cfg.int8) {
            cJSON_AddStringToObject(meta, "attntag.int8.layout", AT_INT8_LAYOUT);
            cJSON_AddStringToObject(meta, "attntag.int8.made_from", sum_c);
            cJSON_AddStringToObject(meta, "attntag.int8.crc32c", pk_crc);
        }
    }
    put_tensors(h, &data, m, &pk);
    put_words(h, &data, m);
    if (m->n_lex)
        put_lexicon(h, meta, &data, m, lex);
    char *hs = h ? cJSON_PrintUnformatted(h) : NULL;
    int rc = -1;
    if (!hs || !cfg || data.oom) {
        at_error_set(err, "%s: out of memory", path);
        goto out;
    }
    size_t hl = strlen(hs), padded = (hl + 7) / 8 * 8;
    outbuf file = {0};
    uint8_t len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    put(&file, len8, 8);
    put(&file, hs, hl);
    put(&file, "        ", padded - hl);
    put(&file, data.p, data.len);
    if (file.oom)
        at_error_set(err, "%s: out of memory", path);
    else
        rc = at_write_atomic(path, file.p, file.len, err);
    free(file.p);
out:
    free(hs);
    free(cfg);
    free(data.p);
    free(lex);
    cJSON_Delete(h);
    packs_done(&pk);
    return rc;
}
