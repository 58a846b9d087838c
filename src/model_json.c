/*
 * model_json.c - the model as one readable JSON document (docs/model-format.md),
 * for inspection, hand-made test models and export from other tools. Numbers
 * are written with 9 significant digits, enough to bring every float32 back
 * bit for bit.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_NAME "attntag-model-1"

/* string_array: a JSON array of strings as a vector of pointers into it. */
static int string_array(const cJSON *a, const char ***out, size_t *n, const char *what,
                        const char *path, at_error *err)
{
    if (!cJSON_IsArray(a))
        return at_error_set(err, "%s: %s must be an array of strings", path, what);
    size_t cnt = (size_t)cJSON_GetArraySize(a), i = 0;
    const char **v = calloc(cnt ? cnt : 1, sizeof *v);
    if (!v)
        return at_error_set(err, "%s: out of memory", path);
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsString(it)) {
            free(v);
            return at_error_set(err, "%s: %s entry %zu is not a string", path, what, i);
        }
        v[i++] = it->valuestring;
    }
    *out = v;
    *n = cnt;
    return 0;
}

static int load_tensor(at_model *m, const cJSON *t, const char *path, at_error *err)
{
    const char *name = t->string;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(t, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(t, "shape");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(t, "data");
    at_dtype dtype;
    if (!cJSON_IsObject(t) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(data))
        return at_error_set(err, "%s: tensor \"%s\": expected an object with \"dtype\", "
                            "\"shape\" and \"data\"", path, name);
    if (at_dtype_parse(dt->valuestring, &dtype) || (dtype != AT_F32 && dtype != AT_F16))
        return at_error_set(err, "%s: tensor \"%s\": dtype \"%s\" is not supported (expected "
                            "F32 or F16)", path, name, dt->valuestring);
    int nd = cJSON_GetArraySize(sh);
    if (nd < 1 || nd > 4)
        return at_error_set(err, "%s: tensor \"%s\": %d dimensions, expected 1 to 4", path,
                            name, nd);
    size_t shape[4], count = 1, n_data = (size_t)cJSON_GetArraySize(data);
    for (int i = 0; i < nd; i++) {
        const cJSON *v = cJSON_GetArrayItem(sh, i);
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15 ||
            v->valuedouble != floor(v->valuedouble))
            return at_error_set(err, "%s: tensor \"%s\": shape[%d] is not a whole number >= 0",
                                path, name, i);
        shape[i] = (size_t)v->valuedouble;
        if (shape[i] && count > n_data / shape[i] + 1)
            return at_error_set(err, "%s: tensor \"%s\": shape needs more values than the %zu "
                                "given", path, name, n_data);
        count *= shape[i];
    }
    if (count != n_data)
        return at_error_set(err, "%s: tensor \"%s\": shape holds %zu values, \"data\" has %zu",
                            path, name, count, n_data);
    size_t es = (size_t)at_dtype_size(dtype);
    unsigned char *buf = malloc(count ? count * es : 1);
    if (!buf)
        return at_error_set(err, "%s: out of memory for tensor \"%s\"", path, name);
    size_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, data)
    {
        if (!cJSON_IsNumber(v)) {
            free(buf);
            return at_error_set(err, "%s: tensor \"%s\": value %zu is not a number", path, name,
                                i);
        }
        float f = (float)v->valuedouble;
        if (dtype == AT_F32) {
            memcpy(buf + 4 * i, &f, 4);
        } else {
            uint16_t h = at_float_to_half(f);
            buf[2 * i] = (unsigned char)(h & 0xFF);
            buf[2 * i + 1] = (unsigned char)(h >> 8);
        }
        i++;
    }
    return at_model_add_tensor(m, name, dtype, nd, shape, buf, count * es, buf, err);
}

static int load_doc(at_model *m, const cJSON *doc, const char *path, at_error *err)
{
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(doc, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, FORMAT_NAME) != 0)
        return at_error_set(err, "%s: not an attntag model (\"format\" must be \"%s\")", path,
                            FORMAT_NAME);
    if (at_config_from_cjson(&m->cfg, cJSON_GetObjectItemCaseSensitive(doc, "config"), err))
        return at_error_context(err, "%s", path);
    const char **v = NULL;
    size_t n = 0;
    if (string_array(cJSON_GetObjectItemCaseSensitive(doc, "vocab"), &v, &n, "\"vocab\"", path,
                     err))
        return -1;
    int rc = at_model_set_vocab(m, v, n, err);
    free(v);
    if (rc)
        return at_error_context(err, "%s", path);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(doc, "tags");
    if (!cJSON_IsObject(tags))
        return at_error_set(err, "%s: \"tags\" must be an object of tag lists", path);
    const cJSON *it;
    cJSON_ArrayForEach(it, tags)
    {
        int ts = -1;
        for (int i = 0; i < m->cfg.n_tagsets; i++)
            if (strcmp(m->cfg.tagset[i], it->string) == 0)
                ts = i;
        if (ts < 0)
            return at_error_set(err, "%s: \"tags\" has \"%s\", which the config does not name",
                                path, it->string);
        if (string_array(it, &v, &n, "a tag list", path, err))
            return -1;
        rc = at_model_set_tags(m, ts, v, n, err);
        free(v);
        if (rc)
            return at_error_context(err, "%s: tags \"%s\"", path, it->string);
    }
    const cJSON *lex = cJSON_GetObjectItemCaseSensitive(doc, "lexicon");
    if (lex) {
        size_t cnt = cJSON_IsArray(lex) ? (size_t)cJSON_GetArraySize(lex) : 0, i = 0;
        const char **w = calloc(cnt ? cnt : 1, sizeof *w);
        uint8_t *bits = malloc(cnt ? cnt : 1);
        rc = (!w || !bits) ? at_error_set(err, "%s: out of memory", path) : 0;
        if (!rc && !cJSON_IsArray(lex))
            rc = at_error_set(err, "%s: \"lexicon\" must be an array of [word, bits]", path);
        const cJSON *entries = rc ? NULL : lex;
        cJSON_ArrayForEach(it, entries)
        {
            const cJSON *a = cJSON_GetArrayItem(it, 0), *b = cJSON_GetArrayItem(it, 1);
            if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2 || !cJSON_IsString(a) ||
                !cJSON_IsNumber(b) || b->valuedouble < 0 || b->valuedouble > 255 ||
                b->valuedouble != floor(b->valuedouble)) {
                rc = at_error_set(err, "%s: lexicon entry %zu must be [word, 0..255]", path, i);
                break;
            }
            w[i] = a->valuestring;
            bits[i++] = (uint8_t)b->valuedouble;
        }
        if (!rc && at_model_set_lexicon(m, w, bits, cnt, err))
            rc = at_error_context(err, "%s", path);
        free(w);
        free(bits);
        if (rc)
            return -1;
    }
    const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(doc, "tensors");
    if (!cJSON_IsObject(tensors))
        return at_error_set(err, "%s: \"tensors\" must be an object", path);
    cJSON_ArrayForEach(it, tensors)
    if (load_tensor(m, it, path, err))
        return -1;
    return at_model_finish(m, path, err);
}

int at_json_model_load(const char *path, at_model **out, at_error *err)
{
    char *text;
    size_t len;
    if (at_read_file(path, &text, &len, err))
        return -1;
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!doc || !cJSON_IsObject(doc)) {
        size_t off = end ? (size_t)(end - text) : 0, line = 1;
        for (size_t i = 0; i < off && i < len; i++)
            line += text[i] == '\n';
        free(text);
        cJSON_Delete(doc);
        return at_error_set(err, "%s:%zu: not a JSON object (invalid JSON near byte %zu)", path,
                            line, off);
    }
    free(text);
    at_model *m = at_model_alloc();
    if (!m) {
        cJSON_Delete(doc);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    }
    int rc = load_doc(m, doc, path, err);
    cJSON_Delete(doc);
    if (rc) {
        at_model_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

/* put_json_string: s as a JSON string literal (cJSON does the escaping). */
static void put_json_string(FILE *fp, const char *s)
{
    cJSON *j = cJSON_CreateString(s);
    char *p = j ? cJSON_PrintUnformatted(j) : NULL;
    fputs(p ? p : "\"\"", fp);
    free(p);
    cJSON_Delete(j);
}

static void put_string_list(FILE *fp, char *const *s, size_t n)
{
    fputc('[', fp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(i % 16 ? ", " : ",\n  ", fp);
        put_json_string(fp, s[i]);
    }
    fputc(']', fp);
}

int at_json_model_save(const at_model *m, const char *path, at_error *err)
{
    char **lex = NULL;
    if (at_model_lexicon_words(m, &lex, err))
        return at_error_context(err, "%s", path);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    char *cfg = at_config_to_json(&m->cfg);
    if (!fp || !cfg) {
        free(lex);
        if (fp)
            fclose(fp);
        free(buf);
        free(cfg);
        return at_error_set(err, "%s: out of memory", path);
    }
    fprintf(fp, "{\"format\": \"%s\",\n\"config\": %s,\n\"vocab\": ", FORMAT_NAME, cfg);
    free(cfg);
    put_string_list(fp, m->vocab, m->n_vocab);
    fputs(",\n\"tags\": {", fp);
    for (int i = 0; i < m->cfg.n_tagsets; i++) {
        fprintf(fp, "%s\n  \"%s\": ", i ? "," : "", m->cfg.tagset[i]);
        put_string_list(fp, m->tags[i], m->n_tags[i]);
    }
    fputs("}", fp);
    if (m->n_lex) {
        fputs(",\n\"lexicon\": [", fp);
        for (size_t i = 0; i < m->n_lex; i++) {
            fputs(i ? ",\n  [" : "[", fp);
            put_json_string(fp, lex[i]);
            fprintf(fp, ", %u]", m->lex_bits[i]);
        }
        fputs("]", fp);
    }
    fputs(",\n\"tensors\": {", fp);
    for (size_t i = 0; i < m->n_t; i++) {
        const at_tensor *t = &m->t[i];
        fprintf(fp, "%s\n\"%s\": {\"dtype\": \"%s\", \"shape\": [", i ? "," : "", t->name,
                at_dtype_name(t->dtype));
        for (int k = 0; k < t->ndim; k++)
            fprintf(fp, "%s%zu", k ? ", " : "", t->shape[k]);
        fputs("], \"data\": [", fp);
        const unsigned char *p = t->data;
        for (size_t k = 0; k < t->count; k++) {
            float v;
            if (t->dtype == AT_F32)
                memcpy(&v, p + 4 * k, 4);
            else
                v = at_half_to_float((uint16_t)(p[2 * k] | p[2 * k + 1] << 8));
            fprintf(fp, "%s%.9g", k == 0 ? "" : k % 8 ? ", " : ",\n  ", (double)v);
        }
        fputs("]}", fp);
    }
    fputs("}}\n", fp);
    free(lex);
    if (fclose(fp) != 0) {
        free(buf);
        return at_error_set(err, "%s: out of memory", path);
    }
    int rc = at_write_atomic(path, buf, len, err);
    free(buf);
    return rc;
}
