/*
 * model_strings.c - a model's string tables: the vocabulary, each tag set's
 * tags and the lexicon (words and their bits, with the hash index a file
 * may store), set from arrays or adopted from a file's bytes.
 */
#include "internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static int keep_string(at_model *m, char *s, at_error *err)
{
    char **n = realloc(m->str_owned, (m->n_str_owned + 1) * sizeof *n);
    if (!n) {
        free(s);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
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
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    char *block = malloc(total ? total : 1);
    if (!block || keep_string(m, block, err))
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
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
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    if (check_lexicon_bits(m, words, bits, n, err))
        return -1;
    memcpy(m->lex_bits, bits, n);
    m->n_lex = n;
    if (copy_strings(m, words, n, &m->lex_words, "lexicon", err))
        return -1;
    if (at_strmap_build(&m->lex_map, (const char *const *)m->lex_words, n, err))
        return at_error_context(err, "lexicon");
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
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
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
        return at_error_context(err, "lexicon");
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
            return at_error_of(err, AT_ERR_MEMORY, "out of memory");
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
