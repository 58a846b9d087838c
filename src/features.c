/*
 * features.c - what the network sees of a token: its vocabulary id (after
 * Unicode normalisation), its hashed character n-grams (over code points, so
 * CJK and accented words get whole characters), its word shape and its
 * lexicon bits. Definitions: docs/model-format.md.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

int at_utf8_check(const char *s, size_t len, size_t *bad_off)
{
    size_t i = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                              (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0 || cp == 0) {
            if (bad_off)
                *bad_off = i;
            return -1;
        }
        i += (size_t)k;
    }
    return 0;
}

char *at_normalize(const char *s, size_t len, int lowercase, at_error *err)
{
    utf8proc_uint8_t *out = NULL;
    int opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    if (lowercase) /* the options of utf8proc_NFKC_Casefold, with a length */
        opt |= UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE;
    utf8proc_ssize_t n =
        utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &out, opt);
    if (n < 0) {
        at_error_set(err, "cannot normalise \"%.*s\": %s", (int)(len > 40 ? 40 : len), s,
                     utf8proc_errmsg(n));
        return NULL;
    }
    return (char *)out;
}

enum { SH_OTHER, SH_LOWER, SH_CAPITALIZED, SH_ALLCAPS, SH_MIXED, SH_DIGITS, SH_NUMBER,
       SH_ALNUM, SH_PUNCT, SH_UNCASED };

int at_word_shape(const char *token, size_t len)
{
    size_t n = 0, up = 0, low = 0, oth = 0, num = 0, punct = 0;
    int first_letter_upper = -1;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)token + i,
                                              (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0)
            break;
        i += (size_t)k;
        n++;
        int is_letter = 1, is_upper = 0;
        switch (utf8proc_category(cp)) {
        case UTF8PROC_CATEGORY_LU:
        case UTF8PROC_CATEGORY_LT: up++; is_upper = 1; break;
        case UTF8PROC_CATEGORY_LL: low++; break;
        case UTF8PROC_CATEGORY_LM:
        case UTF8PROC_CATEGORY_LO: oth++; break;
        case UTF8PROC_CATEGORY_ND:
        case UTF8PROC_CATEGORY_NL:
        case UTF8PROC_CATEGORY_NO: num++; is_letter = 0; break;
        case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
        case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
        case UTF8PROC_CATEGORY_PO: case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC:
        case UTF8PROC_CATEGORY_SK: case UTF8PROC_CATEGORY_SO: punct++; is_letter = 0; break;
        default: is_letter = 0; break;
        }
        if (is_letter && first_letter_upper < 0)
            first_letter_upper = is_upper;
    }
    size_t letters = up + low + oth;
    if (num > 0 && num == n)
        return SH_DIGITS;
    if (num > 0 && letters == 0)
        return SH_NUMBER;
    if (num > 0)
        return SH_ALNUM;
    if (letters == 0)
        return punct > 0 ? SH_PUNCT : SH_OTHER;
    if (up == 0 && low == 0)
        return SH_UNCASED;
    if (up == 0)
        return SH_LOWER;
    if (up >= 2 && low == 0)
        return SH_ALLCAPS;
    if (up == 1 && first_letter_upper == 1)
        return SH_CAPITALIZED;
    return SH_MIXED;
}

/* The features of a word depend only on its bytes and the model, and text
 * repeats its words (Zipf): the features of recent words of up to
 * CACHE_KEY bytes are kept, CACHE_SLOTS of them, one slot per hash of the
 * bytes, and copied instead of worked out again (the same values, so the
 * same tags). Each at_feats has its own, so threads share nothing. */
enum { CACHE_SLOTS = 8192, CACHE_KEY = 12, CACHE_NG = 4 * (CACHE_KEY + 2) };

typedef struct cache_entry {
    uint8_t len;          /* 0: empty */
    char key[CACHE_KEY];
    uint8_t shape, lex, n_ng;
    uint32_t word;
    uint32_t ng[CACHE_NG];
} cache_entry;

struct at_feats_cache {
    uint64_t model;       /* the serial of the model the entries were made with */
    size_t n_lex;         /* and its lexicon's size then */
    cache_entry e[CACHE_SLOTS];
};

/* The slot of word token[0..len), emptied if made with another model; NULL
 * when it is not to be cached (too long, or no memory for the cache). */
static cache_entry *cache_slot(const at_model *m, at_feats *f, const char *token, size_t len)
{
    if (len == 0 || len > CACHE_KEY)
        return NULL;
    if (!f->cache) { /* already empty: 2 MB that a short input never touches */
        if (!(f->cache = calloc(1, sizeof *f->cache)))
            return NULL;
        f->cache->model = m->serial;
        f->cache->n_lex = m->n_lex;
    }
    if (f->cache->model != m->serial || f->cache->n_lex != m->n_lex) {
        memset(f->cache, 0, sizeof *f->cache);
        f->cache->model = m->serial;
        f->cache->n_lex = m->n_lex;
    }
    return &f->cache->e[at_fnv1a(token, len) & (CACHE_SLOTS - 1)];
}

void at_feats_init(at_feats *f)
{
    memset(f, 0, sizeof *f);
}

void at_feats_clear(at_feats *f)
{
    f->n = 0;
}

void at_feats_free(at_feats *f)
{
    free(f->word);
    free(f->shape);
    free(f->lex);
    free(f->ng_off);
    free(f->ng);
    free(f->cache);
    at_feats_init(f);
}

static int grow_tokens(at_feats *f, at_error *err)
{
    size_t cap = f->cap ? 2 * f->cap : 64;
    uint32_t *w = realloc(f->word, cap * sizeof *w);
    if (w)
        f->word = w;
    uint8_t *s = realloc(f->shape, cap);
    if (s)
        f->shape = s;
    uint8_t *l = realloc(f->lex, cap);
    if (l)
        f->lex = l;
    uint32_t *o = realloc(f->ng_off, (cap + 1) * sizeof *o);
    if (o)
        f->ng_off = o;
    if (!w || !s || !l || !o)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory for token features");
    f->cap = cap;
    return 0;
}

/* room: n more n-grams fit after the token being added */
static int ngram_room(at_feats *f, size_t n, at_error *err)
{
    size_t used = f->ng_off[f->n + 1];
    while (used + n > f->ng_cap) {
        if (f->ng_cap >= UINT32_MAX / 2)
            return at_error_set(err, "too many character n-grams in one sentence");
        size_t cap = f->ng_cap ? 2 * f->ng_cap : 1024;
        uint32_t *ng = realloc(f->ng, cap * sizeof *ng);
        if (!ng)
            return at_error_of(err, AT_ERR_MEMORY, "out of memory for character n-grams");
        f->ng = ng;
        f->ng_cap = cap;
    }
    return 0;
}

static int push_ngram(at_feats *f, uint32_t b, at_error *err)
{
    if (ngram_room(f, 1, err))
        return -1;
    f->ng[f->ng_off[f->n + 1]++] = b;
    return 0;
}

/* add_ngrams: hash every n-gram of "<" key ">" (code points) into buckets. */
static int add_ngrams(const at_config *c, at_feats *f, const char *key, size_t klen,
                      at_error *err)
{
    size_t blen = klen + 2;
    char small_buf[64];
    size_t small_off[65];
    int small = blen <= sizeof small_buf; /* most words: no allocation */
    char *buf = small ? small_buf : malloc(blen);
    size_t *cp_off = small ? small_off : malloc((blen + 1) * sizeof *cp_off); /* code points */
    if (!buf || !cp_off) {
        if (!small) {
            free(buf);
            free(cp_off);
        }
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    }
    buf[0] = '<';
    memcpy(buf + 1, key, klen);
    buf[blen - 1] = '>';
    size_t ncp = 0;
    for (size_t i = 0; i < blen;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = (unsigned char)buf[i] < 0x80 ? 1 /* ASCII: one byte */
            : utf8proc_iterate((const utf8proc_uint8_t *)buf + i, (utf8proc_ssize_t)(blen - i),
                               &cp);
        cp_off[ncp++] = i;
        i += k > 0 ? (size_t)k : 1;
    }
    cp_off[ncp] = blen;
    int rc = 0;
    for (size_t n = (size_t)c->ngram_min; n <= (size_t)c->ngram_max && rc == 0; n++)
        for (size_t i = 0; i + n <= ncp && rc == 0; i++) {
            uint32_t h = at_fnv1a(buf + cp_off[i], cp_off[i + n] - cp_off[i]);
            rc = push_ngram(f, h % (uint32_t)c->char_buckets, err);
        }
    if (!small) {
        free(buf);
        free(cp_off);
    }
    return rc;
}

/* ascii_key: a token of printable ASCII is its own NFC form, and its NFKC
 * case fold is its lower case (no ASCII character is decomposed, composed or
 * ignorable): written into buf without calling utf8proc. 0 if not such a
 * token (or too long for buf). */
static int ascii_key(const char *token, size_t len, int lowercase, char *buf, size_t cap)
{
    if (len >= cap)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)token[i];
        if (c < 0x21 || c > 0x7E)
            return 0;
        buf[i] = (char)(lowercase && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    buf[len] = '\0';
    return 1;
}

int at_feats_add(const at_model *m, at_feats *f, const char *token, size_t len, at_error *err)
{
    const at_config *c = &m->cfg;
    size_t bad;
    if (f->n == f->cap && grow_tokens(f, err))
        return -1;
    if (f->n == 0)
        f->ng_off[0] = 0;
    cache_entry *ce = cache_slot(m, f, token, len);
    if (ce && ce->len == len && memcmp(ce->key, token, len) == 0) {
        f->word[f->n] = ce->word;
        f->shape[f->n] = ce->shape;
        f->lex[f->n] = ce->lex;
        f->ng_off[f->n + 1] = f->ng_off[f->n];
        if (ngram_room(f, ce->n_ng, err))
            return -1;
        if (ce->n_ng) /* a model without n-grams has no f->ng at all */
            memcpy(f->ng + f->ng_off[f->n], ce->ng, ce->n_ng * sizeof *ce->ng);
        f->ng_off[f->n + 1] += ce->n_ng;
        f->n++;
        return 0;
    }
    if (at_utf8_check(token, len, &bad))
        return at_error_set(err, "token is not valid UTF-8 (byte %zu)", bad);
    f->shape[f->n] = (uint8_t)at_word_shape(token, len);
    /* A token longer than AT_MAX_KEY bytes (a 100 MB "word" in hostile
     * text) is no vocabulary or lexicon word: it is unknown, and its n-grams
     * come from its first AT_MAX_KEY bytes (cut before a character), so that
     * what it costs is bounded whatever its length. */
    int too_long = len > AT_MAX_KEY;
    if (too_long)
        for (len = AT_MAX_KEY; ((unsigned char)token[len] & 0xC0) == 0x80; len--)
            ;
    char small[64];
    char *key = ascii_key(token, len, c->lowercase, small, sizeof small)
                    ? small : at_normalize(token, len, c->lowercase, err);
    if (!key)
        return -1;
    size_t klen = strlen(key);
    uint32_t h = at_fnv1a(key, klen); /* one hash for both tables */
    long id = too_long ? -1 : at_strmap_find_hashed(&m->vocab_map, key, klen, h);
    f->word[f->n] = id < 0 ? 0 : (uint32_t)id;
    long li = m->n_lex && !too_long ? at_strmap_find_hashed(&m->lex_map, key, klen, h) : -1;
    f->lex[f->n] = li < 0 ? 0 : m->lex_bits[li];
    f->ng_off[f->n + 1] = f->ng_off[f->n];
    int rc = c->char_buckets ? add_ngrams(c, f, key, klen, err) : 0;
    if (key != small)
        free(key);
    if (rc)
        return -1;
    size_t n_ng = f->ng_off[f->n + 1] - f->ng_off[f->n];
    if (ce && n_ng <= CACHE_NG) {
        ce->len = (uint8_t)len;
        memcpy(ce->key, token, len);
        ce->word = f->word[f->n];
        ce->shape = f->shape[f->n];
        ce->lex = f->lex[f->n];
        ce->n_ng = (uint8_t)n_ng;
        if (n_ng)
            memcpy(ce->ng, f->ng + f->ng_off[f->n], n_ng * sizeof *ce->ng);
    }
    f->n++;
    return 0;
}
