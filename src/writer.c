/*
 * writer.c - a tagged sentence in one of four output formats:
 *   wordtag  word_TAG tokens on one line per input sentence (line-aligned);
 *   tsv      token<TAB>tag[<TAB>tag...], a blank line after each sentence;
 *   conllu   CoNLL-U: with CoNLL-U input every byte is kept but the UPOS and
 *            XPOS columns of word lines (from tag sets named "upos"/"xpos");
 *            raw text gets # sent_id and # text, a multiword-token line
 *            over a word and the clitics split from it, and SpaceAfter=No,
 *            so that the words spell the text again; other input gets
 *            minimal word lines;
 *   json     JSON Lines: tokens, tags, and optionally probabilities.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *tag_of(const at_model *m, int ts, uint32_t *const *tags, size_t i)
{
    return at_model_tag(m, ts, tags[ts][i]);
}

/* review: --min-prob: token i's chosen tag, in some tag set printed, has a
 * probability below o->min_prob. */
static int review(const at_model *m, const at_write_opts *o, uint32_t *const *tags,
                  float *const *probs, size_t i)
{
    for (int k = 0; o->min_prob > 0 && probs && k < o->n_sel; k++) {
        int ts = o->sel[k];
        if (probs[ts] && probs[ts][i * m->n_tags[ts] + tags[ts][i]] < o->min_prob)
            return 1;
    }
    return 0;
}

static void write_wordtag(FILE *out, const at_model *m, const at_write_opts *o,
                          const at_sentence *s, uint32_t *const *tags, float *const *probs)
{
    for (size_t i = 0; i < s->n; i++) {
        if (i)
            fputc(' ', out);
        fwrite(s->tok[i], 1, s->tok_len[i], out);
        for (int k = 0; k < o->n_sel; k++) {
            fputc('_', out);
            fputs(tag_of(m, o->sel[k], tags, i), out);
        }
        if (review(m, o, tags, probs, i))
            fputc('?', out);
    }
    if (!s->cont) /* a piece of a long line: the next piece goes on on this line */
        fputc('\n', out);
    else if (s->n)
        fputc(' ', out);
}

static void write_tsv(FILE *out, const at_model *m, const at_write_opts *o,
                      const at_sentence *s, uint32_t *const *tags, float *const *probs)
{
    for (size_t i = 0; i < s->n; i++) {
        fwrite(s->tok[i], 1, s->tok_len[i], out);
        for (int k = 0; k < o->n_sel; k++) {
            fputc('\t', out);
            fputs(tag_of(m, o->sel[k], tags, i), out);
        }
        for (int k = 0; o->probs && probs && k < o->n_sel; k++) { /* after all the tags */
            int ts = o->sel[k];
            fprintf(out, "\t%.6f", probs[ts] ? (double)probs[ts][i * m->n_tags[ts] + tags[ts][i]]
                                            : 0.0);
        }
        if (o->min_prob > 0) /* last: ? to review, else empty */
            fputs(review(m, o, tags, probs, i) ? "\t?" : "\t", out);
        fputc('\n', out);
    }
    if (!s->cont)
        fputc('\n', out);
}

/* conllu_column: 3 (UPOS) or 4 (XPOS) for a tag set of that name, else -1. */
static int conllu_column(const at_model *m, int ts)
{
    const char *name = m->cfg.tagset[ts];
    return strcmp(name, "upos") == 0 ? 3 : strcmp(name, "xpos") == 0 ? 4 : -1;
}

/* The raw-text token i ends where token i + 1 starts. */
static int joined(const at_sentence *s, size_t i)
{
    return i + 1 < s->n && s->tok_off[i] + s->tok_len[i] == s->tok_off[i + 1];
}

/* clitic: token i + 1 was split from token i as a clitic, with nothing
 * between them: the two are one multiword token. */
static int clitic(const at_sentence *s, size_t i)
{
    return joined(s, i) && at_clitic(s->tok[i], s->tok_len[i], s->tok[i + 1], s->tok_len[i + 1]);
}

/* put_misc: a MISC column, with Review=Yes first when rev (--min-prob). */
static void put_misc(FILE *out, const char *misc, int rev)
{
    if (rev)
        fputs(strcmp(misc, "_") == 0 ? "Review=Yes" : "Review=Yes|", out);
    if (!rev || strcmp(misc, "_") != 0)
        fputs(misc, out);
}

static void write_word(FILE *out, const at_model *m, const at_write_opts *o, const at_sentence *s,
                       uint32_t *const *tags, float *const *probs, size_t i, const char *misc)
{
    const char *fill[AT_CONLLU_COLS];
    for (int c = 0; c < AT_CONLLU_COLS; c++)
        fill[c] = "_";
    for (int k = 0; k < o->n_sel; k++)
        fill[conllu_column(m, o->sel[k])] = tag_of(m, o->sel[k], tags, i);
    fprintf(out, "%zu\t%s", i + 1, s->tok[i]);
    for (int c = 2; c < AT_CONLLU_COLS - 1; c++)
        fprintf(out, "\t%s", fill[c]);
    fputc('\t', out);
    put_misc(out, misc, review(m, o, tags, probs, i));
    fputc('\n', out);
}

static int write_conllu(FILE *out, const at_model *m, const at_write_opts *o,
                        const at_sentence *s, uint32_t *const *tags, float *const *probs,
                        at_error *err)
{
    if (s->n_lines == 0 && s->text_len == 0) { /* tokens only: minimal word lines */
        for (size_t i = 0; i < s->n; i++)
            write_word(out, m, o, s, tags, probs, i, "_");
        fputc('\n', out);
        return 0;
    }
    if (s->n_lines == 0) { /* raw text */
        fprintf(out, "# sent_id = %zu\n# text = %s\n", s->number, s->text);
        for (size_t i = 0; i < s->n;) {
            size_t j = i; /* the multiword token i..j */
            while (clitic(s, j))
                j++;
            const char *space = joined(s, j) ? "SpaceAfter=No" : "_";
            if (j > i) {
                size_t from = s->tok_off[i], to = s->tok_off[j] + s->tok_len[j];
                fprintf(out, "%zu-%zu\t%.*s\t_\t_\t_\t_\t_\t_\t_\t%s\n", i + 1, j + 1,
                        (int)(to - from), s->text + from, space);
            }
            for (size_t k = i; k <= j; k++)
                write_word(out, m, o, s, tags, probs, k, j > i ? "_" : space);
            i = j + 1;
        }
        fputc('\n', out);
        return 0;
    }
    for (size_t l = 0; l < s->n_lines; l++) {
        long t = s->line_tok[l];
        if (t < 0) {
            fputs(s->line[l], out);
            fputc('\n', out);
            continue;
        }
        const char *const *field = at_sentence_fields(s, l), *col[AT_CONLLU_COLS];
        if (!field)
            return at_error_set(err, "word line %zu of the sentence has no CoNLL-U fields",
                                l + 1);
        memcpy(col, field, sizeof col);
        for (int k = 0; k < o->n_sel; k++)
            col[conllu_column(m, o->sel[k])] = tag_of(m, o->sel[k], tags, (size_t)t);
        for (int c = 0; c < AT_CONLLU_COLS - 1; c++) {
            fputs(col[c], out);
            fputc('\t', out);
        }
        put_misc(out, col[AT_CONLLU_COLS - 1], review(m, o, tags, probs, (size_t)t));
        fputc('\n', out);
    }
    fputc('\n', out);
    return 0;
}

static int write_json(FILE *out, const at_model *m, const at_write_opts *o,
                      const at_sentence *s, uint32_t *const *tags, float *const *probs,
                      at_error *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *toks = cJSON_AddArrayToObject(root, "tokens");
    cJSON *tg = cJSON_AddObjectToObject(root, "tags");
    cJSON *pr = o->probs ? cJSON_AddObjectToObject(root, "probs") : NULL;
    cJSON *top = o->top > 0 ? cJSON_AddObjectToObject(root, "top") : NULL;
    for (size_t i = 0; toks && i < s->n; i++)
        cJSON_AddItemToArray(toks, cJSON_CreateString(s->tok[i]));
    for (int k = 0; tg && k < o->n_sel; k++) {
        int ts = o->sel[k];
        size_t T = m->n_tags[ts];
        const char *name = m->cfg.tagset[ts];
        cJSON *a = cJSON_AddArrayToObject(tg, name);
        cJSON *p = pr ? cJSON_AddArrayToObject(pr, name) : NULL;
        cJSON *tp = top ? cJSON_AddArrayToObject(top, name) : NULL;
        for (size_t i = 0; a && i < s->n; i++) {
            cJSON_AddItemToArray(a, cJSON_CreateString(tag_of(m, ts, tags, i)));
            const float *pi = probs && probs[ts] ? probs[ts] + i * T : NULL;
            if (p && pi)
                cJSON_AddItemToArray(p, cJSON_CreateNumber((double)pi[tags[ts][i]]));
            if (tp && pi) {
                cJSON *best = cJSON_CreateArray();
                size_t K = (size_t)o->top < T ? (size_t)o->top : T;
                size_t *order = malloc(K * sizeof *order);
                for (size_t r = 0; order && r < K; r++) { /* K is small: selection */
                    size_t b = (size_t)-1;
                    for (size_t c = 0; c < T; c++) {
                        int taken = 0;
                        for (size_t q = 0; q < r; q++)
                            taken |= order[q] == c;
                        if (!taken && (b == (size_t)-1 || pi[c] > pi[b]))
                            b = c;
                    }
                    order[r] = b;
                    cJSON *pair = cJSON_CreateArray();
                    cJSON_AddItemToArray(pair, cJSON_CreateString(at_model_tag(m, ts, b)));
                    cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)pi[b]));
                    cJSON_AddItemToArray(best, pair);
                }
                free(order);
                cJSON_AddItemToArray(tp, best);
            }
        }
    }
    cJSON *rv = o->min_prob > 0 ? cJSON_AddArrayToObject(root, "review") : NULL;
    for (size_t i = 0; rv && i < s->n; i++)
        cJSON_AddItemToArray(rv, cJSON_CreateBool(review(m, o, tags, probs, i)));
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    fputs(text, out);
    fputc('\n', out);
    free(text);
    return 0;
}

int at_write_sentence(FILE *out, const at_model *m, const at_write_opts *o,
                      const at_sentence *s, uint32_t *const *tags, float *const *probs,
                      at_error *err)
{
    for (int k = 0; k < o->n_sel; k++)
        if (o->sel[k] < 0 || o->sel[k] >= m->cfg.n_tagsets)
            return at_error_set(err, "tag set %d is not in the model", o->sel[k]);
    switch (o->format) {
    case AT_OUT_WORDTAG: write_wordtag(out, m, o, s, tags, probs); break;
    case AT_OUT_TSV: write_tsv(out, m, o, s, tags, probs); break;
    case AT_OUT_CONLLU:
        for (int k = 0; k < o->n_sel; k++)
            if (conllu_column(m, o->sel[k]) < 0)
                return at_error_set(err, "tag set \"%s\" has no CoNLL-U column (only \"upos\" "
                                    "and \"xpos\" do)", m->cfg.tagset[o->sel[k]]);
        if (write_conllu(out, m, o, s, tags, probs, err))
            return -1;
        break;
    case AT_OUT_JSON:
        if (write_json(out, m, o, s, tags, probs, err))
            return -1;
        break;
    }
    if (ferror(out)) /* errno: from the write that failed, as stdio keeps no other record */
        return at_error_of(err, AT_ERR_OUTPUT, "write error on output: %s", strerror(errno));
    return 0;
}
