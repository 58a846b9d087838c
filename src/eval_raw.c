/*
 * eval_raw.c - scoring from running text, as the CoNLL 2018 shared task
 * does: the text of a gold CoNLL-U file (each sentence's # text, or its
 * tokens and SpaceAfter=No; sentences of a paragraph joined by a space, a
 * blank line where # newpar or # newdoc starts one) is split, tokenized and
 * tagged by the model (with --sentences line, each gold sentence is a line of
 * its own), and the predicted tokens, sentences and words are
 * matched with the gold ones by their character spans in that text. A word
 * of a multiword token spans its part of the token when the words spell the
 * token (do|n't of don't), else the whole token.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* characters [start, end) of the running text (at_span is {start, len}) */
typedef struct extent {
    size_t start, end;
} extent;

typedef struct extents {
    extent *v;
    size_t n, cap;
} extents;

/* buf: a growing byte buffer (the running text) */
typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

/* room: v (cap elements of size elem, n used) with room for one more:
 * v itself, or a larger copy (*cap updated); NULL when out of memory (v is
 * then left as it was). */
static void *room(void *v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return v;
    size_t c = *cap ? 2 * *cap : 4096;
    void *p = realloc(v, c * elem);
    if (p)
        *cap = c;
    return p;
}

static int push_extent(extents *s, size_t start, size_t end)
{
    extent *v = room(s->v, &s->cap, s->n, sizeof *v);
    if (!v)
        return -1;
    s->v = v;
    s->v[s->n++] = (extent){start, end};
    return 0;
}

static int append(buf *b, const char *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *q = realloc(b->p, cap);
        if (!q)
            return -1;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

/* A gold word: its span and its tags (in the order of the tag sets scored). */
typedef struct gword {
    extent sp;
    char *tag[AT_MAX_TAGSETS];
} gword;

typedef struct gold {
    int line_per_sentence; /* --sentences line: a line break between sentences */
    buf text;
    extents tokens, sentences, paras; /* paras: where each paragraph starts and ends */
    gword *w;
    size_t n_w, cap_w;
} gold;

static int push_word(gold *g, extent sp, char *const *col, const int *gold_col, int n)
{
    gword *all = room(g->w, &g->cap_w, g->n_w, sizeof *all);
    if (!all)
        return -1;
    g->w = all;
    gword *w = &g->w[g->n_w];
    memset(w, 0, sizeof *w);
    w->sp = sp;
    for (int t = 0; t < n; t++)
        if (!(w->tag[t] = strdup(col[gold_col[t]])))
            return -1;
    g->n_w++;
    return 0;
}

static int space_after_no(const char *misc)
{
    for (const char *p = misc; (p = strstr(p, "SpaceAfter=No")) != NULL; p++)
        if ((p == misc || p[-1] == '|') && (p[13] == '\0' || p[13] == '|'))
            return 1;
    return 0;
}

/* One gold sentence into the running text and the gold spans. */
static int add_sentence(gold *g, const at_sentence *s, const char *name, const int *gold_col,
                        int n, at_error *err)
{
    int new_para = g->text.n == 0, has_text = 0;
    char *cols[AT_CONLLU_COLS];
    buf own = {0}; /* the text made from the tokens when there is no # text */
    const char *text = NULL;
    for (size_t l = 0; l < s->n_lines; l++) {
        const char *line = s->line[l];
        if (!strncmp(line, "# newpar", 8) || !strncmp(line, "# newdoc", 8))
            new_para = 1;
        if (!strncmp(line, "# text = ", 9)) {
            text = line + 9;
            has_text = 1;
        }
    }
    /* the tokens: ranges, and words outside them */
    size_t range_end = 0;
    for (size_t l = 0; !has_text && l < s->n_lines; l++) {
        if (s->line[l][0] == '#')
            continue;
        char *copy = strdup(s->line[l]);
        if (!copy || at_conllu_split(copy, cols) != AT_CONLLU_COLS) {
            free(copy);
            free(own.p);
            return at_error_set(err, "%s:%zu: not a CoNLL-U line", name, s->first_line + l);
        }
        at_conllu_id kind = at_conllu_id_kind(cols[0]);
        size_t id = strtoul(cols[0], NULL, 10);
        if (kind == AT_ID_RANGE || (kind == AT_ID_WORD && id > range_end)) {
            if (kind == AT_ID_RANGE)
                range_end = strtoul(strchr(cols[0], '-') + 1, NULL, 10);
            if (append(&own, cols[1], strlen(cols[1])) ||
                (!space_after_no(cols[9]) && append(&own, " ", 1))) {
                free(copy);
                free(own.p);
                return at_error_set(err, "out of memory");
            }
        }
        free(copy);
    }
    if (!has_text) {
        while (own.n && own.p[own.n - 1] == ' ')
            own.p[--own.n] = '\0';
        text = own.p ? own.p : "";
    }
    const char *sep = new_para ? "\n\n" : g->line_per_sentence ? "\n" : " ";
    if (g->text.n && append(&g->text, sep, strlen(sep))) {
        free(own.p);
        return at_error_set(err, "out of memory");
    }
    if (new_para) {
        if (push_extent(&g->paras, g->text.n, g->text.n)) {
            free(own.p);
            return at_error_set(err, "out of memory");
        }
    }
    size_t base = g->text.n, len = strlen(text);
    int rc = append(&g->text, text, len) ? at_error_set(err, "out of memory") : 0;
    free(own.p);
    g->paras.v[g->paras.n - 1].end = g->text.n;
    /* each token found in the text, in order */
    size_t pos = base, first = SIZE_MAX, last = 0, words_left = 0, w_at = 0;
    range_end = 0;
    for (size_t l = 0; rc == 0 && l < s->n_lines; l++) {
        if (s->line[l][0] == '#')
            continue;
        char *copy = strdup(s->line[l]);
        if (!copy || at_conllu_split(copy, cols) != AT_CONLLU_COLS) {
            free(copy);
            return at_error_set(err, "%s:%zu: not a CoNLL-U line", name, s->first_line + l);
        }
        at_conllu_id kind = at_conllu_id_kind(cols[0]);
        size_t id = strtoul(cols[0], NULL, 10);
        if (kind == AT_ID_RANGE || (kind == AT_ID_WORD && id > range_end)) {
            size_t flen = strlen(cols[1]);
            while (pos < g->text.n && g->text.p[pos] == ' ')
                pos++;
            if (pos + flen > g->text.n || memcmp(g->text.p + pos, cols[1], flen) != 0) {
                const char *at = strstr(g->text.p + pos, cols[1]);
                if (!at) {
                    rc = at_error_set(err, "%s:%zu: token \"%.100s\" is not in the sentence's "
                                      "text", name, s->first_line + l, cols[1]);
                    free(copy);
                    break;
                }
                pos = (size_t)(at - g->text.p);
            }
            first = first == SIZE_MAX ? pos : first;
            last = pos + flen;
            if (push_extent(&g->tokens, pos, pos + flen))
                rc = at_error_set(err, "out of memory");
            if (kind == AT_ID_RANGE) {
                range_end = strtoul(strchr(cols[0], '-') + 1, NULL, 10);
                words_left = range_end - id + 1;
                w_at = pos;
                /* the words' spans come with their lines; check they spell the token */
                size_t sum = 0, k = l + 1, seen = 0;
                int spells = 1;
                for (; k < s->n_lines && seen < words_left; k++) {
                    char *c2 = strdup(s->line[k]), *wc[AT_CONLLU_COLS];
                    if (c2 && at_conllu_split(c2, wc) == AT_CONLLU_COLS &&
                        at_conllu_id_kind(wc[0]) == AT_ID_WORD) {
                        size_t wl = strlen(wc[1]);
                        spells &= sum + wl <= flen && !memcmp(cols[1] + sum, wc[1], wl);
                        sum += wl;
                        seen++;
                    }
                    free(c2);
                }
                if (!spells || sum != flen)
                    w_at = SIZE_MAX; /* every word takes the whole token */
            } else if (push_word(g, (extent){pos, pos + flen}, cols, gold_col, n)) {
                rc = at_error_set(err, "out of memory");
            }
            pos += flen;
            if (kind == AT_ID_RANGE) {
                size_t tok_start = pos - flen;
                free(copy);
                /* the range's words follow */
                for (l++; rc == 0 && l < s->n_lines && words_left; l++) {
                    char *c2 = strdup(s->line[l]), *wc[AT_CONLLU_COLS];
                    if (!c2 || at_conllu_split(c2, wc) != AT_CONLLU_COLS) {
                        free(c2);
                        rc = at_error_set(err, "%s:%zu: not a CoNLL-U line", name,
                                          s->first_line + l);
                        break;
                    }
                    if (at_conllu_id_kind(wc[0]) == AT_ID_WORD) {
                        size_t wl = strlen(wc[1]);
                        extent sp = w_at == SIZE_MAX ? (extent){tok_start, pos}
                                                   : (extent){w_at, w_at + wl};
                        if (w_at != SIZE_MAX)
                            w_at += wl;
                        if (push_word(g, sp, wc, gold_col, n))
                            rc = at_error_set(err, "out of memory");
                        words_left--;
                    }
                    free(c2);
                }
                l--;
                continue;
            }
        }
        free(copy);
    }
    if (rc == 0 && first != SIZE_MAX && push_extent(&g->sentences, first, last))
        rc = at_error_set(err, "out of memory");
    return rc;
}

/* count: gold and predicted spans (each in text order), and how many match
 * exactly; for words, also how many of the matched ones have the same tag. */
static void match(const extents *gs, const extents *ps, at_raw_count *c)
{
    c->gold = gs->n;
    c->pred = ps->n;
    c->matched = 0;
    for (size_t i = 0, j = 0; i < gs->n && j < ps->n;) {
        extent a = gs->v[i], b = ps->v[j];
        if (a.start == b.start && a.end == b.end) {
            c->matched++;
            i++;
            j++;
        } else if (a.start < b.start || (a.start == b.start && a.end < b.end)) {
            i++;
        } else {
            j++;
        }
    }
}

int at_eval_raw(const at_model *m, FILE *fp, const char *name, const int *model_ts,
                const int *gold_col, int n, at_input_format split, at_raw_scores *out,
                at_error *err)
{
    memset(out, 0, sizeof *out);
    gold g;
    memset(&g, 0, sizeof g);
    extents pw = {0}, pt = {0}, psent = {0};
    at_tokens toks;
    at_tokens_init(&toks);
    at_feats f;
    at_feats_init(&f);
    at_reader *r = NULL;
    at_state *st = NULL;
    uint32_t *tags[AT_MAX_TAGSETS] = {0};
    size_t *sent = NULL;
    at_sentence s;
    at_sentence_init(&s);
    g.line_per_sentence = split == AT_IN_RAW_LINES;
    int rc = at_reader_new(fp, name, AT_IN_CONLLU, &r, err);
    while (rc == 0 && (rc = at_reader_next(r, &s, err)) == 1)
        rc = add_sentence(&g, &s, name, gold_col, n, err);
    if (rc == 0 && g.w == NULL)
        rc = at_error_set(err, "%s: no words to score", name);
    /* the model's reading of the text, paragraph by paragraph (or line by
     * line, as --sentences line reads it) */
    for (size_t p = 0; rc == 0 && p < g.paras.n; p++) {
        size_t from = g.paras.v[p].start, to = g.paras.v[p].end;
        for (size_t a = from; rc == 0 && a < to;) {
            size_t b = to;
            if (split == AT_IN_RAW_LINES) {
                const char *nl = memchr(g.text.p + a, '\n', to - a);
                b = nl ? (size_t)(nl - g.text.p) : to;
            }
            size_t t0 = toks.n;
            if (at_tokenize(g.text.p + a, b - a, &toks, err))
                rc = -1;
            for (size_t k = t0; rc == 0 && k < toks.n; k++)
                toks.tok[k].start += a;
            a = b + 1;
        }
    }
    sent = rc == 0 ? malloc((toks.n_sent + 1) * sizeof *sent) : NULL;
    if (rc == 0 && !sent)
        rc = at_error_set(err, "out of memory");
    for (size_t k = 0, si = 0; rc == 0 && k < toks.n; k++) {
        at_span t = toks.tok[k];
        if (push_extent(&pw, t.start, t.start + t.len))
            rc = at_error_set(err, "out of memory");
        /* a clitic written onto the word before it makes one token with it */
        if (rc == 0 && k > 0 && toks.tok[k - 1].start + toks.tok[k - 1].len == t.start &&
            (si == 0 || toks.sent_end[si - 1] != k) &&
            at_clitic(g.text.p + toks.tok[k - 1].start, toks.tok[k - 1].len, g.text.p + t.start,
                      t.len))
            pt.v[pt.n - 1].end = t.start + t.len;
        else if (rc == 0 && push_extent(&pt, t.start, t.start + t.len))
            rc = at_error_set(err, "out of memory");
        if (rc == 0 && at_feats_add(m, &f, g.text.p + t.start, t.len, err))
            rc = -1;
        if (rc == 0 && toks.sent_end[si] == k + 1) {
            size_t s0 = si ? toks.sent_end[si - 1] : 0;
            if (push_extent(&psent, toks.tok[s0].start, t.start + t.len))
                rc = at_error_set(err, "out of memory");
            si++;
        }
    }
    for (size_t si = 0; rc == 0 && si <= toks.n_sent; si++)
        sent[si] = si ? toks.sent_end[si - 1] : 0;
    uint32_t *by_ts[AT_MAX_TAGSETS] = {0};
    for (int t = 0; rc == 0 && t < n; t++) {
        if (!(tags[t] = malloc((toks.n ? toks.n : 1) * sizeof **tags)))
            rc = at_error_set(err, "out of memory");
        else
            by_ts[model_ts[t]] = tags[t];
    }
    if (rc == 0 && toks.n)
        rc = at_state_new_batch(m, AT_BATCH_TOKENS, &st, err) ||
             at_tag_batch(m, st, &f, sent, toks.n_sent, by_ts, NULL, err);
    if (rc && err->sentence) /* sentences as found in the text */
        at_error_set(err, "%s: sentence %zu of its running text: %.900s", name, err->sentence,
                     err->msg);
    if (rc == 0) {
        extents gw = {0};
        gw.v = malloc((g.n_w ? g.n_w : 1) * sizeof *gw.v);
        if (!gw.v)
            rc = at_error_set(err, "out of memory");
        for (size_t i = 0; gw.v && i < g.n_w; i++)
            gw.v[gw.n++] = g.w[i].sp;
        if (gw.v) {
            match(&g.tokens, &pt, &out->tokens);
            match(&g.sentences, &psent, &out->sentences);
            match(&gw, &pw, &out->words);
            out->n_tagsets = n;
            for (int t = 0; t < n; t++) {
                out->tags[t] = (at_raw_count){g.n_w, pw.n, 0};
                for (size_t i = 0, j = 0; i < g.n_w && j < pw.n;) {
                    extent a = g.w[i].sp, b = pw.v[j];
                    if (a.start == b.start && a.end == b.end) {
                        const char *pred = at_model_tag(m, model_ts[t], tags[t][j]);
                        out->tags[t].matched += strcmp(pred, g.w[i].tag[t]) == 0;
                        i++;
                        j++;
                    } else if (a.start < b.start || (a.start == b.start && a.end < b.end)) {
                        i++;
                    } else {
                        j++;
                    }
                }
            }
            out->chars = g.text.n;
        }
        free(gw.v);
    }
    for (size_t i = 0; i < g.n_w; i++)
        for (int t = 0; t < n; t++)
            free(g.w[i].tag[t]);
    for (int t = 0; t < n; t++)
        free(tags[t]);
    free(g.w);
    free(g.text.p);
    free(g.tokens.v);
    free(g.sentences.v);
    free(g.paras.v);
    free(pw.v);
    free(pt.v);
    free(psent.v);
    free(sent);
    at_state_free(st);
    at_feats_free(&f);
    at_tokens_free(&toks);
    at_sentence_free(&s);
    at_reader_free(r);
    return rc ? -1 : 0; /* rc is 1 where two failing steps were joined with || */
}
