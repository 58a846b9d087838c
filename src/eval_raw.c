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

static int push_word(gold *g, extent sp, const char *const *col, const int *gold_col, int n)
{
    gword *all = room(g->w, &g->cap_w, g->n_w, sizeof *all);
    if (!all)
        return -1;
    g->w = all;
    gword *w = &g->w[g->n_w];
    memset(w, 0, sizeof *w);
    w->sp = sp;
    for (int t = 0; t < n; t++)
        if (!(w->tag[t] = strdup(col[gold_col[t]]))) {
            while (t--)
                free(w->tag[t]);
            return -1;
        }
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

/* tokens_text: the text of a sentence without # text, made from its tokens
 * (each multiword token's FORM, or a word's outside one), with a space after
 * each unless SpaceAfter=No. */
static int tokens_text(const at_sentence *s, buf *own)
{
    size_t range_end = 0;
    for (size_t l = 0; l < s->n_lines; l++) {
        const char *const *col = at_sentence_fields(s, l);
        if (!col)
            continue;
        at_conllu_id kind = at_conllu_id_kind(col[0]);
        if (kind == AT_ID_RANGE)
            range_end = strtoul(strchr(col[0], '-') + 1, NULL, 10);
        else if (kind != AT_ID_WORD || strtoul(col[0], NULL, 10) <= range_end)
            continue;
        if (append(own, col[1], strlen(col[1])) ||
            (!space_after_no(col[9]) && append(own, " ", 1)))
            return -1;
    }
    while (own->n && own->p[own->n - 1] == ' ')
        own->p[--own->n] = '\0';
    return 0;
}

/* range_words: the `words` words after the multiword token at line *l,
 * which is at tok in the text: each at its own span when their FORMs spell
 * the token's, else each over the whole token; *l left at the last. */
static int range_words(gold *g, const at_sentence *s, size_t *l, size_t words, extent tok,
                       const int *gold_col, int n)
{
    const char *form = at_sentence_fields(s, *l)[1];
    size_t flen = tok.end - tok.start, sum = 0, seen = 0;
    int spells = 1;
    for (size_t k = *l + 1; k < s->n_lines && seen < words; k++) {
        const char *const *wc = at_sentence_fields(s, k);
        if (!wc || at_conllu_id_kind(wc[0]) != AT_ID_WORD)
            continue;
        size_t wl = strlen(wc[1]);
        spells &= sum + wl <= flen && !memcmp(form + sum, wc[1], wl);
        sum += wl;
        seen++;
    }
    size_t at = spells && sum == flen ? tok.start : SIZE_MAX, k = *l + 1;
    for (; k < s->n_lines && words; k++) {
        const char *const *wc = at_sentence_fields(s, k);
        if (!wc || at_conllu_id_kind(wc[0]) != AT_ID_WORD)
            continue;
        size_t wl = strlen(wc[1]);
        extent sp = at == SIZE_MAX ? tok : (extent){at, at + wl};
        if (at != SIZE_MAX)
            at += wl;
        if (push_word(g, sp, wc, gold_col, n))
            return -1;
        words--;
    }
    *l = k - 1;
    return 0;
}

/* One gold sentence into the running text and the gold spans. */
static int add_sentence(gold *g, const at_sentence *s, const char *name, const int *gold_col,
                        int n, at_error *err)
{
    int new_para = g->text.n == 0;
    buf own = {0}; /* the text made from the tokens when there is no # text */
    const char *text = NULL;
    for (size_t l = 0; l < s->n_lines; l++) {
        const char *line = s->line[l];
        if (!strncmp(line, "# newpar", 8) || !strncmp(line, "# newdoc", 8))
            new_para = 1;
        if (!strncmp(line, "# text = ", 9))
            text = line + 9;
    }
    if (!text && tokens_text(s, &own)) {
        free(own.p);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    }
    if (!text)
        text = own.p ? own.p : "";
    const char *sep = new_para ? "\n\n" : g->line_per_sentence ? "\n" : " ";
    if ((g->text.n && append(&g->text, sep, strlen(sep))) ||
        (new_para && push_extent(&g->paras, g->text.n, g->text.n))) {
        free(own.p);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    }
    size_t base = g->text.n, len = strlen(text);
    int rc = append(&g->text, text, len) ? at_error_of(err, AT_ERR_MEMORY, "out of memory") : 0;
    free(own.p);
    g->paras.v[g->paras.n - 1].end = g->text.n;
    /* each token found in the text, in order */
    size_t pos = base, first = SIZE_MAX, last = 0, range_end = 0;
    for (size_t l = 0; rc == 0 && l < s->n_lines; l++) {
        const char *const *col = at_sentence_fields(s, l);
        if (!col)
            continue;
        at_conllu_id kind = at_conllu_id_kind(col[0]);
        size_t id = strtoul(col[0], NULL, 10);
        if (kind != AT_ID_RANGE && (kind != AT_ID_WORD || id <= range_end))
            continue;
        size_t flen = strlen(col[1]);
        while (pos < g->text.n && g->text.p[pos] == ' ')
            pos++;
        if (pos + flen > g->text.n || memcmp(g->text.p + pos, col[1], flen) != 0) {
            const char *at = strstr(g->text.p + pos, col[1]);
            if (!at) {
                rc = at_error_set(err, "%s:%zu: token \"%.100s\" is not in the sentence's text",
                                  name, s->first_line + l, col[1]);
                break;
            }
            pos = (size_t)(at - g->text.p);
        }
        extent tok = {pos, pos + flen};
        first = first == SIZE_MAX ? pos : first;
        last = pos = tok.end;
        if (push_extent(&g->tokens, tok.start, tok.end)) {
            rc = at_error_of(err, AT_ERR_MEMORY, "out of memory");
        } else if (kind == AT_ID_RANGE) {
            range_end = strtoul(strchr(col[0], '-') + 1, NULL, 10);
            if (range_words(g, s, &l, range_end - id + 1, tok, gold_col, n))
                rc = at_error_of(err, AT_ERR_MEMORY, "out of memory");
        } else if (push_word(g, tok, col, gold_col, n)) {
            rc = at_error_of(err, AT_ERR_MEMORY, "out of memory");
        }
    }
    if (rc == 0 && first != SIZE_MAX && push_extent(&g->sentences, first, last))
        rc = at_error_of(err, AT_ERR_MEMORY, "out of memory");
    return rc;
}

/* match: gold and predicted spans (each in text order), and how many match
 * exactly; pred_of (or NULL): for each gold span, the predicted one it
 * matches, or SIZE_MAX. */
static void match(const extents *gs, const extents *ps, at_raw_count *c, size_t *pred_of)
{
    c->gold = gs->n;
    c->pred = ps->n;
    c->matched = 0;
    for (size_t i = 0; pred_of && i < gs->n; i++)
        pred_of[i] = SIZE_MAX;
    for (size_t i = 0, j = 0; i < gs->n && j < ps->n;) {
        extent a = gs->v[i], b = ps->v[j];
        if (a.start == b.start && a.end == b.end) {
            c->matched++;
            if (pred_of)
                pred_of[i] = j;
            i++;
            j++;
        } else if (a.start < b.start || (a.start == b.start && a.end < b.end)) {
            i++;
        } else {
            j++;
        }
    }
}

/* tokenize_text: the model's reading of the gold text, paragraph by
 * paragraph (or line by line, as --sentences line reads it). */
static int tokenize_text(const gold *g, at_input_format split, at_tokens *toks, at_error *err)
{
    for (size_t p = 0; p < g->paras.n; p++) {
        size_t from = g->paras.v[p].start, to = g->paras.v[p].end;
        for (size_t a = from; a < to;) {
            size_t b = to;
            if (split == AT_IN_RAW_LINES) {
                const char *nl = memchr(g->text.p + a, '\n', to - a);
                b = nl ? (size_t)(nl - g->text.p) : to;
            }
            size_t t0 = toks->n;
            if (at_tokenize(g->text.p + a, b - a, toks, err))
                return -1;
            for (size_t k = t0; k < toks->n; k++)
                toks->tok[k].start += a;
            a = b + 1;
        }
    }
    return 0;
}

/* score: the gold tokens, sentences and words against the model's (pt,
 * psent, pw), and each tag set's tags of the words found exactly. */
static int score(const at_model *m, const gold *g, const extents *pt, const extents *psent,
                 const extents *pw, uint32_t *const *tags, const int *model_ts, int n,
                 at_raw_scores *out, at_error *err)
{
    extents gw = {0};
    size_t *pred_of = malloc((g->n_w ? g->n_w : 1) * sizeof *pred_of);
    gw.v = malloc((g->n_w ? g->n_w : 1) * sizeof *gw.v);
    if (!gw.v || !pred_of) {
        free(gw.v);
        free(pred_of);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < g->n_w; i++)
        gw.v[gw.n++] = g->w[i].sp;
    match(&g->tokens, pt, &out->tokens, NULL);
    match(&g->sentences, psent, &out->sentences, NULL);
    match(&gw, pw, &out->words, pred_of);
    out->n_tagsets = n;
    for (int t = 0; t < n; t++) {
        out->tags[t] = (at_raw_count){g->n_w, pw->n, 0};
        for (size_t i = 0; i < g->n_w; i++)
            if (pred_of[i] != SIZE_MAX)
                out->tags[t].matched +=
                    strcmp(at_model_tag(m, model_ts[t], tags[t][pred_of[i]]), g->w[i].tag[t]) == 0;
    }
    out->chars = g->text.n;
    free(gw.v);
    free(pred_of);
    return 0;
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
    if (rc == 0)
        rc = tokenize_text(&g, split, &toks, err);
    sent = rc == 0 ? malloc((toks.n_sent + 1) * sizeof *sent) : NULL;
    if (rc == 0 && !sent)
        rc = at_error_of(err, AT_ERR_MEMORY, "out of memory");
    for (size_t k = 0, si = 0; rc == 0 && k < toks.n; k++) {
        at_span t = toks.tok[k];
        if (push_extent(&pw, t.start, t.start + t.len))
            rc = at_error_of(err, AT_ERR_MEMORY, "out of memory");
        /* a clitic written onto the word before it makes one token with it */
        if (rc == 0 && k > 0 && toks.tok[k - 1].start + toks.tok[k - 1].len == t.start &&
            (si == 0 || toks.sent_end[si - 1] != k) &&
            at_clitic(g.text.p + toks.tok[k - 1].start, toks.tok[k - 1].len, g.text.p + t.start,
                      t.len))
            pt.v[pt.n - 1].end = t.start + t.len;
        else if (rc == 0 && push_extent(&pt, t.start, t.start + t.len))
            rc = at_error_of(err, AT_ERR_MEMORY, "out of memory");
        if (rc == 0 && at_feats_add(m, &f, g.text.p + t.start, t.len, err))
            rc = -1;
        if (rc == 0 && toks.sent_end[si] == k + 1) {
            size_t s0 = si ? toks.sent_end[si - 1] : 0;
            if (push_extent(&psent, toks.tok[s0].start, t.start + t.len))
                rc = at_error_of(err, AT_ERR_MEMORY, "out of memory");
            si++;
        }
    }
    for (size_t si = 0; rc == 0 && si <= toks.n_sent; si++)
        sent[si] = si ? toks.sent_end[si - 1] : 0;
    uint32_t *by_ts[AT_MAX_TAGSETS] = {0};
    for (int t = 0; rc == 0 && t < n; t++) {
        if (!(tags[t] = malloc((toks.n ? toks.n : 1) * sizeof **tags)))
            rc = at_error_of(err, AT_ERR_MEMORY, "out of memory");
        else
            by_ts[model_ts[t]] = tags[t];
    }
    if (rc == 0 && toks.n && !(rc = at_state_new_batch(m, AT_BATCH_TOKENS, &st, err)) &&
        (rc = at_tag_batch(m, st, &f, sent, toks.n_sent, by_ts, NULL, err)) && err->sentence)
        at_error_context(err, "%s: sentence %zu of its running text", name, err->sentence);
    if (rc == 0)
        rc = score(m, &g, &pt, &psent, &pw, tags, model_ts, n, out, err);
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
    return rc ? -1 : 0;
}
