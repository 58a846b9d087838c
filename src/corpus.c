/*
 * corpus.c - labelled CoNLL-U corpora: read the words and the tag columns a
 * model is trained on, refuse bad data before any training time is spent,
 * and featurise every token once for the epochs to come.
 */
#include "corpus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int grow_tok(at_raw_corpus *r, at_error *err)
{
    size_t cap = r->cap ? 2 * r->cap : 4096;
    char **t = realloc(r->tok, cap * sizeof *t);
    if (t)
        r->tok = t;
    size_t *l = realloc(r->line, cap * sizeof *l);
    if (l)
        r->line = l;
    int ok = t && l;
    for (int ts = 0; ok && ts < r->n_tagsets; ts++) {
        uint32_t *g = realloc(r->tag[ts], cap * sizeof *g);
        if (g)
            r->tag[ts] = g;
        ok = g != NULL;
    }
    if (!ok)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory reading %s", r->path);
    r->cap = cap;
    return 0;
}

static int end_sentence(at_raw_corpus *r, at_error *err)
{
    if (r->n_sent == r->sent_cap) {
        size_t cap = r->sent_cap ? 2 * r->sent_cap : 1024;
        size_t *e = realloc(r->sent_end, cap * sizeof *e);
        if (!e)
            return at_error_of(err, AT_ERR_MEMORY, "out of memory reading %s", r->path);
        r->sent_end = e;
        r->sent_cap = cap;
    }
    r->sent_end[r->n_sent++] = r->n_tok;
    return 0;
}

/* open_reader: path opened and read in format fmt; both closed by the caller. */
static int open_reader(const char *path, at_input_format fmt, FILE **fp, at_reader **rd,
                       at_error *err)
{
    if (!(*fp = fopen(path, "rb")))
        return at_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    if (at_reader_new(*fp, path, fmt, rd, err)) {
        fclose(*fp);
        return -1;
    }
    return 0;
}

int at_raw_read(const char *path, const int *column, const char *const *names, int n_tagsets,
                at_raw_corpus *r, at_error *err)
{
    memset(r, 0, sizeof *r);
    r->n_tagsets = n_tagsets;
    FILE *fp;
    at_reader *rd;
    if (open_reader(path, AT_IN_CONLLU, &fp, &rd, err))
        return -1;
    if (!(r->path = strdup(path))) {
        at_reader_free(rd);
        fclose(fp);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    }
    at_sentence s;
    at_sentence_init(&s);
    int rc;
    while ((rc = at_reader_next(rd, &s, err)) == 1) {
        for (size_t l = 0; l < s.n_lines && rc == 1; l++) {
            if (s.line_tok[l] < 0)
                continue;
            const char *const *col = at_sentence_fields(&s, l);
            if (r->n_tok == r->cap && grow_tok(r, err)) {
                rc = -1;
                break;
            }
            size_t line = s.first_line + l;
            for (int ts = 0; ts < n_tagsets && rc == 1; ts++) {
                const char *tag = col[column[ts]];
                if (strcmp(tag, "_") == 0 || tag[0] == '\0') {
                    rc = at_error_set(err, "%s:%zu: no %s tag (column %d is '%s'); every word "
                                      "needs one to train on", path, line, names[ts],
                                      column[ts] + 1, tag);
                    break;
                }
                if (at_strcount_add(&r->tags[ts], tag, strlen(tag), &r->tag[ts][r->n_tok], err))
                    rc = -1;
            }
            if (rc == 1) {
                r->line[r->n_tok] = line;
                r->tok[r->n_tok] = strdup(col[1]);
                rc = r->tok[r->n_tok] ? 1 : at_error_of(err, AT_ERR_MEMORY, "out of memory");
                r->n_tok += r->tok[r->n_tok] != NULL;
            }
        }
        if (rc == 1 && s.n && end_sentence(r, err))
            rc = -1;
        if (rc != 1)
            break;
    }
    at_sentence_free(&s);
    at_reader_free(rd);
    fclose(fp);
    if (rc == 0 && r->n_tok == 0)
        rc = at_error_set(err, "%s: no words (expected CoNLL-U sentences)", path);
    if (rc < 0) { /* the caller gets nothing to free */
        at_raw_free(r);
        return -1;
    }
    return 0;
}

void at_raw_free(at_raw_corpus *r)
{
    for (size_t i = 0; i < r->n_tok; i++)
        free(r->tok[i]);
    free(r->tok);
    free(r->line);
    for (int ts = 0; ts < AT_MAX_TAGSETS; ts++) {
        free(r->tag[ts]);
        at_strcount_free(&r->tags[ts]);
    }
    free(r->sent_end);
    free(r->path);
    memset(r, 0, sizeof *r);
}

typedef struct counted {
    const char *s;
    size_t count;
} counted;

static int by_count(const void *a, const void *b)
{
    const counted *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->s, y->s);
}

void at_strings_free(char **s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}

int at_vocab_from_raw(const at_raw_corpus *raw, int lowercase, int min_count, char ***words,
                      size_t *n, at_error *err)
{
    at_strcount keys = {0};
    int rc = -1;
    counted *v = NULL;
    char **out = NULL;
    for (size_t i = 0; i < raw->n_tok; i++) {
        char *k = at_normalize(raw->tok[i], strlen(raw->tok[i]), lowercase, err);
        uint32_t id;
        if (!k || at_strcount_add(&keys, k, strlen(k), &id, err)) {
            free(k);
            goto out;
        }
        free(k);
    }
    v = malloc((keys.n + 1) * sizeof *v);
    out = calloc(keys.n + 1, sizeof *out);
    if (!v || !out) {
        at_error_of(err, AT_ERR_MEMORY, "out of memory");
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < keys.n; i++)
        if (keys.count[i] >= (size_t)min_count && strcmp(keys.str[i], "<unk>") != 0 &&
            keys.str[i][0] != '\0')
            v[k++] = (counted){keys.str[i], keys.count[i]};
    qsort(v, k, sizeof *v, by_count);
    out[0] = strdup("<unk>");
    for (size_t i = 0; i < k; i++)
        out[i + 1] = strdup(v[i].s);
    for (size_t i = 0; i <= k; i++)
        if (!out[i]) {
            at_error_of(err, AT_ERR_MEMORY, "out of memory");
            goto out;
        }
    *words = out;
    *n = k + 1;
    out = NULL;
    rc = 0;
out:
    if (out)
        at_strings_free(out, keys.n + 1);
    free(v);
    at_strcount_free(&keys);
    return rc;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int at_tags_from_raw(const at_raw_corpus *raw, int ts, const char ***tags, size_t *n,
                     at_error *err)
{
    const at_strcount *c = &raw->tags[ts];
    if (c->n > 65535)
        return at_error_set(err, "%s: %zu different tags in one tag set; a model holds at most "
                            "65535", raw->path, c->n);
    const char **t = malloc((c->n ? c->n : 1) * sizeof *t);
    if (!t)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    memcpy(t, c->str, c->n * sizeof *t);
    qsort(t, c->n, sizeof *t, by_string);
    *tags = t;
    *n = c->n;
    return 0;
}

int at_corpus_make(const at_model *m, const at_raw_corpus *raw, at_corpus *c, at_error *err)
{
    memset(c, 0, sizeof *c);
    at_feats_init(&c->f);
    c->n_tagsets = m->cfg.n_tagsets;
    c->n_sent = raw->n_sent;
    c->start = malloc((raw->n_sent + 1) * sizeof *c->start);
    if (!c->start)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    c->start[0] = 0;
    for (size_t s = 0; s < raw->n_sent; s++)
        c->start[s + 1] = raw->sent_end[s];
    for (size_t i = 0; i < raw->n_tok; i++)
        if (at_feats_add(m, &c->f, raw->tok[i], strlen(raw->tok[i]), err))
            return at_error_context(err, "%s:%zu", raw->path, raw->line[i]);
    for (int ts = 0; ts < c->n_tagsets; ts++) {
        /* the raw tag ids of this file -> the model's ids, by name */
        at_strmap names = {0};
        const at_strcount *rt = &raw->tags[ts];
        uint32_t *map = malloc((rt->n ? rt->n : 1) * sizeof *map);
        c->gold[ts] = malloc((raw->n_tok ? raw->n_tok : 1) * sizeof *c->gold[ts]);
        if (!map || !c->gold[ts] ||
            at_strmap_build(&names, (const char *const *)m->tags[ts], m->n_tags[ts], err)) {
            free(map);
            return at_error_of(err, AT_ERR_MEMORY, "out of memory");
        }
        for (size_t k = 0; k < rt->n; k++) {
            long id = at_strmap_find(&names, rt->str[k], strlen(rt->str[k]));
            map[k] = id < 0 ? AT_NO_TAG : (uint32_t)id;
        }
        for (size_t i = 0; i < raw->n_tok; i++)
            c->gold[ts][i] = map[raw->tag[ts][i]];
        free(map);
        at_strmap_free(&names);
    }
    return 0;
}

void at_corpus_free(at_corpus *c)
{
    at_feats_free(&c->f);
    free(c->start);
    for (int ts = 0; ts < AT_MAX_TAGSETS; ts++)
        free(c->gold[ts]);
    memset(c, 0, sizeof *c);
}

int at_lexicon_read(const char *path, int lowercase, char ***words, uint8_t **bits, size_t *n,
                    int *n_bits, at_error *err)
{
    FILE *fp;
    at_reader *rd;
    if (open_reader(path, AT_IN_LINES, &fp, &rd, err))
        return -1;
    at_sentence s;
    at_sentence_init(&s);
    at_strcount keys = {0};
    uint8_t *b = NULL;
    size_t cap = 0;
    int rc, all = 0;
    while ((rc = at_reader_next(rd, &s, err)) == 1) {
        if (s.n == 0)
            continue;
        char *end;
        long v = s.n == 2 ? strtol(s.tok[1], &end, 10) : -1;
        if (s.n != 2 || *end || v < 1 || v > 255) {
            rc = at_error_set(err, "%s:%zu: expected a word, a tab and bits from 1 to 255",
                              path, s.first_line);
            break;
        }
        char *k = at_normalize(s.tok[0], s.tok_len[0], lowercase, err);
        uint32_t id;
        if (!k || at_strcount_add(&keys, k, strlen(k), &id, err)) {
            free(k);
            rc = -1;
            break;
        }
        free(k);
        if (id >= cap) {
            size_t nc = cap ? 2 * cap : 4096;
            uint8_t *nb = realloc(b, nc);
            if (!nb) {
                rc = at_error_of(err, AT_ERR_MEMORY, "out of memory");
                break;
            }
            memset(nb + cap, 0, nc - cap);
            b = nb;
            cap = nc;
        }
        b[id] |= (uint8_t)v;
        all |= (int)v;
    }
    at_sentence_free(&s);
    at_reader_free(rd);
    fclose(fp);
    if (rc == 0 && keys.n == 0)
        rc = at_error_set(err, "%s: no entries", path);
    if (rc < 0) {
        at_strcount_free(&keys);
        free(b);
        return -1;
    }
    *n_bits = 0;
    while (all >> *n_bits)
        (*n_bits)++;
    *words = keys.str; /* the strings move to the caller */
    *bits = b;
    *n = keys.n;
    keys.str = NULL;
    keys.n = 0;
    at_strcount_free(&keys);
    return 0;
}
