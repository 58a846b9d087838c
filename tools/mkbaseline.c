/*
 * mkbaseline.c - build the lecture's "figure A" tagger (one label per token
 * from the token alone, no context) from counts in a CoNLL-U training file,
 * written as an ordinary attntag model. It gives attntag a meaningful bundled
 * model before a trained one exists, and a floor any trained model must beat.
 *
 *     mkbaseline TRAIN.conllu OUT.safetensors
 *
 * The model has no layers and no layer norm, so for token i
 *     logits = heads.W (embed.word[w_i] + embed.shape[s_i]) + b.
 * Dims [0, n_upos) carry UPOS, [n_upos, n_upos + n_xpos) XPOS; the heads pick
 * out their slice. embed.word[w] = 10 * log P(tag | w) for words seen at least
 * twice (the factor 10 lets the word row decide); embed.shape[s] = log P(tag |
 * s) estimated on words seen once, which stand in for unknown words (whose
 * word row, <unk>, is zero). Both add-0.1 smoothed. Errors exit with status 2.
 */
#include "attntag.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N_TS = 2 }; /* tag sets: 0 = upos, 1 = xpos */
static const float SMOOTH = 0.1f, WORD_SCALE = 10.0f;
static const size_t MIN_COUNT = 2;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mkbaseline: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

/* A string interner: open addressing, ids in order of first appearance. */
typedef struct strset {
    char **str;
    size_t *count;
    size_t n, cap_ids;
    uint32_t *slot; /* id + 1, 0 = empty */
    size_t n_slots;
} strset;

static uint32_t strset_add(strset *s, const char *k)
{
    if (2 * (s->n + 1) > s->n_slots) {
        size_t ns = s->n_slots ? 2 * s->n_slots : 1024;
        uint32_t *sl = xrealloc(NULL, ns * sizeof *sl);
        memset(sl, 0, ns * sizeof *sl);
        for (size_t i = 0; i < s->n; i++) {
            size_t h = at_fnv1a(s->str[i], strlen(s->str[i])) & (ns - 1);
            while (sl[h])
                h = (h + 1) & (ns - 1);
            sl[h] = (uint32_t)i + 1;
        }
        free(s->slot);
        s->slot = sl;
        s->n_slots = ns;
    }
    size_t h = at_fnv1a(k, strlen(k)) & (s->n_slots - 1);
    for (; s->slot[h]; h = (h + 1) & (s->n_slots - 1))
        if (strcmp(s->str[s->slot[h] - 1], k) == 0) {
            s->count[s->slot[h] - 1]++;
            return s->slot[h] - 1;
        }
    if (s->n == s->cap_ids) {
        s->cap_ids = s->cap_ids ? 2 * s->cap_ids : 1024;
        s->str = xrealloc(s->str, s->cap_ids * sizeof *s->str);
        s->count = xrealloc(s->count, s->cap_ids * sizeof *s->count);
    }
    s->str[s->n] = strdup(k);
    if (!s->str[s->n])
        die("out of memory");
    s->count[s->n] = 1;
    s->slot[h] = (uint32_t)s->n + 1;
    return (uint32_t)s->n++;
}

/* One word of the corpus, by interned ids. */
typedef struct word {
    uint32_t key, tag[N_TS];
    uint8_t shape;
} word;

static const strset *sort_set; /* qsort has no context argument */

static int by_freq(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    size_t cx = sort_set->count[x], cy = sort_set->count[y];
    if (cx != cy)
        return cx > cy ? -1 : 1;
    return strcmp(sort_set->str[x], sort_set->str[y]);
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(sort_set->str[*(const uint32_t *)a], sort_set->str[*(const uint32_t *)b]);
}

/* log((c + SMOOTH) / (total + SMOOTH * n)) for each of the n counts. */
static void log_probs(const size_t *c, size_t n, float scale, float *out)
{
    double total = 0;
    for (size_t t = 0; t < n; t++)
        total += (double)c[t];
    for (size_t t = 0; t < n; t++)
        out[t] = (float)(scale * log((c[t] + SMOOTH) / (total + SMOOTH * (double)n)));
}

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage: mkbaseline TRAIN.conllu OUT.safetensors");
    const char *in_path = argv[1], *out_path = argv[2];
    at_error err;

    /* 1. Read the corpus: every word's key, tags and shape. */
    FILE *fp = fopen(in_path, "rb");
    if (!fp)
        die("%s: cannot open: %s", in_path, strerror(errno));
    at_reader *rd;
    if (at_reader_new(fp, in_path, AT_IN_CONLLU, &rd, &err))
        die("%s", err.msg);
    strset keys = {0}, tags[N_TS] = {{0}};
    word *words = NULL;
    size_t n_words = 0, cap_words = 0;
    at_sentence s;
    at_sentence_init(&s);
    int rc;
    while ((rc = at_reader_next(rd, &s, &err)) == 1) {
        for (size_t j = 0; j < s.n_lines; j++) {
            if (s.line_tok[j] < 0)
                continue;
            size_t line_no = s.first_line + j;
            char *copy = strdup(s.line[j]), *col[AT_CONLLU_COLS];
            if (!copy)
                die("out of memory");
            if (at_conllu_split(copy, col) != AT_CONLLU_COLS)
                die("%s:%zu: expected 10 tab-separated columns", in_path, line_no);
            const char *form = col[1];
            word w;
            for (int t = 0; t < N_TS; t++) {
                const char *tag = col[3 + t];
                if (!tag[0])
                    die("%s:%zu: empty %s column", in_path, line_no, t ? "XPOS" : "UPOS");
                w.tag[t] = strset_add(&tags[t], tag);
            }
            char *key = at_normalize(form, strlen(form), 1, &err);
            if (!key)
                die("%s:%zu: %s", in_path, line_no, err.msg);
            w.key = strset_add(&keys, key);
            free(key);
            int sh = at_word_shape(form, strlen(form));
            if (sh < 0 || sh >= AT_N_SHAPES)
                die("%s:%zu: word shape %d out of range", in_path, line_no, sh);
            w.shape = (uint8_t)sh;
            free(copy);
            if (n_words == cap_words) {
                cap_words = cap_words ? 2 * cap_words : 65536;
                words = xrealloc(words, cap_words * sizeof *words);
            }
            words[n_words++] = w;
        }
    }
    if (rc < 0)
        die("%s", err.msg);
    at_sentence_free(&s);
    at_reader_free(rd);
    if (ferror(fp))
        die("%s: read error", in_path);
    fclose(fp);
    if (!n_words)
        die("%s: no word lines found", in_path);

    /* 2. Tag lists sorted bytewise; map[t][id] = position in the sorted list. */
    const char **tag_names[N_TS];
    size_t n_tags[N_TS], off[N_TS + 1] = {0};
    uint32_t *tag_pos[N_TS];
    for (int t = 0; t < N_TS; t++) {
        size_t n = n_tags[t] = tags[t].n;
        uint32_t *order = xrealloc(NULL, n * sizeof *order);
        for (size_t i = 0; i < n; i++)
            order[i] = (uint32_t)i;
        sort_set = &tags[t];
        qsort(order, n, sizeof *order, by_bytes);
        tag_names[t] = xrealloc(NULL, n * sizeof *tag_names[t]);
        tag_pos[t] = xrealloc(NULL, n * sizeof *tag_pos[t]);
        for (size_t i = 0; i < n; i++) {
            tag_names[t][i] = tags[t].str[order[i]];
            tag_pos[t][order[i]] = (uint32_t)i;
        }
        off[t + 1] = off[t] + n;
        free(order);
    }
    size_t n_all = off[N_TS]; /* UPOS dims then XPOS dims */

    /* 3. Vocabulary: <unk>, then keys seen >= MIN_COUNT times by descending
     * frequency, then bytewise. A literal "<unk>" key is left to row 0. */
    uint32_t *order = xrealloc(NULL, keys.n * sizeof *order);
    size_t n_known = 0;
    for (size_t i = 0; i < keys.n; i++)
        if (keys.count[i] >= MIN_COUNT && strcmp(keys.str[i], "<unk>") != 0)
            order[n_known++] = (uint32_t)i;
    sort_set = &keys;
    qsort(order, n_known, sizeof *order, by_freq);
    size_t n_vocab = n_known + 1;
    const char **vocab = xrealloc(NULL, n_vocab * sizeof *vocab);
    uint32_t *vid = xrealloc(NULL, keys.n * sizeof *vid); /* key id -> row, 0 = none */
    memset(vid, 0, keys.n * sizeof *vid);
    vocab[0] = "<unk>";
    for (size_t i = 0; i < n_known; i++) {
        vocab[i + 1] = keys.str[order[i]];
        vid[order[i]] = (uint32_t)(i + 1);
    }
    free(order);

    /* 4. Counts: per vocabulary word, and per shape over words seen once. */
    size_t *wc = xrealloc(NULL, n_vocab * n_all * sizeof *wc);
    size_t *shc = xrealloc(NULL, AT_N_SHAPES * n_all * sizeof *shc);
    memset(wc, 0, n_vocab * n_all * sizeof *wc);
    memset(shc, 0, AT_N_SHAPES * n_all * sizeof *shc);
    for (size_t i = 0; i < n_words; i++) {
        const word *w = &words[i];
        size_t *row = NULL;
        if (vid[w->key])
            row = wc + (size_t)vid[w->key] * n_all;
        else if (keys.count[w->key] == 1)
            row = shc + (size_t)w->shape * n_all;
        for (int t = 0; row && t < N_TS; t++)
            row[off[t] + tag_pos[t][w->tag[t]]]++;
    }

    /* 5. The model. */
    at_config c;
    at_config_default(&c);
    c.layers = 0;
    c.norm = AT_NORM_POST;
    c.abs_pos = 0;
    c.rel_pos = 0;
    c.char_buckets = 0;
    c.lexicon_bits = 0;
    c.shape = 1;
    c.lowercase = 1;
    c.heads = 1;
    c.max_len = 128;
    c.ffn_dim = 1;
    c.n_tagsets = N_TS;
    strcpy(c.tagset[0], "upos");
    strcpy(c.tagset[1], "xpos");
    c.dim = (int)((n_all + 1) / 2 * 2);
    size_t d = (size_t)c.dim;
    const char *const *tag_lists[N_TS] = {tag_names[0], tag_names[1]};
    at_model *m;
    if (at_model_new(&c, vocab, n_vocab, tag_lists, n_tags, &m, &err))
        die("%s: %s", out_path, err.msg);

    size_t n;
    float *ew = at_model_tensor_f32(m, "embed.word", &n);
    float *es = at_model_tensor_f32(m, "embed.shape", &n);
    if (!ew || !es)
        die("new model lacks embed.word or embed.shape");
    for (size_t v = 1; v < n_vocab; v++) /* row 0 (<unk>) stays zero */
        for (int t = 0; t < N_TS; t++)
            log_probs(wc + v * n_all + off[t], n_tags[t], WORD_SCALE, ew + v * d + off[t]);
    for (size_t sh = 0; sh < AT_N_SHAPES; sh++)
        for (int t = 0; t < N_TS; t++)
            log_probs(shc + sh * n_all + off[t], n_tags[t], 1.0f, es + sh * d + off[t]);
    for (int t = 0; t < N_TS; t++) {
        char name[64];
        snprintf(name, sizeof name, "heads.%s.weight", c.tagset[t]);
        float *hw = at_model_tensor_f32(m, name, &n);
        if (!hw || n != n_tags[t] * d)
            die("new model: tensor %s missing or of the wrong size", name);
        for (size_t i = 0; i < n_tags[t]; i++) /* biases stay zero */
            hw[i * d + off[t] + i] = 1.0f;
    }
    if (at_model_save(m, out_path, AT_FILE_AUTO, &err))
        die("%s", err.msg);
    fprintf(stderr, "mkbaseline: %zu words, %zu in vocabulary (+<unk>), %zu UPOS, %zu XPOS, "
            "dim %zu -> %s\n", n_words, n_known, n_tags[0], n_tags[1], d, out_path);

    at_model_free(m);
    free(wc);
    free(shc);
    free(vid);
    free(vocab);
    for (int t = 0; t < N_TS; t++) {
        free(tag_names[t]);
        free(tag_pos[t]);
        for (size_t i = 0; i < tags[t].n; i++)
            free(tags[t].str[i]);
        free(tags[t].str);
        free(tags[t].count);
        free(tags[t].slot);
    }
    for (size_t i = 0; i < keys.n; i++)
        free(keys.str[i]);
    free(keys.str);
    free(keys.count);
    free(keys.slot);
    free(words);
    return 0;
}
