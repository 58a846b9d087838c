/*
 * reader.c - sentences from a stream, in one of four input formats:
 *   lines     one sentence per line, tokens separated by white space (a blank
 *             line is an empty sentence, so output stays line-aligned);
 *   vertical  one token per line, a blank line between sentences;
 *   conllu    CoNLL-U blocks; every line is kept for byte-exact output;
 *   raw       running text, split into sentences and tokens (tokenize.c),
 *             one paragraph (up to a blank line) at a time.
 * Memory is bounded by the longest line / sentence / paragraph, never by the
 * input. Every line is checked: valid UTF-8, no NUL bytes. A byte-order mark
 * at the start and a CR before each newline are dropped.
 */
#include "attntag.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct at_reader {
    FILE *fp;
    char *name;
    at_input_format fmt;
    size_t line_no;     /* of the line in buf */
    char *buf;          /* the current line, NUL-terminated, without newline */
    size_t buf_cap;
    size_t len;
    int more;           /* buf holds a piece of a long line, which goes on */
    size_t rest, rest_len; /* its rest, at buf + rest, starts the next piece */
    size_t long_lines;  /* lines read in pieces */
    /* raw text: the current paragraph and its sentences */
    char *para;
    size_t para_len, para_cap, para_line;
    at_tokens toks;
    size_t next_sent, next_tok;
    size_t raw_sentences;     /* sentences read so far, for their numbers */
};

void at_sentence_init(at_sentence *s)
{
    memset(s, 0, sizeof *s);
}

void at_sentence_clear(at_sentence *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->tok[i]);
    for (size_t i = 0; i < s->n_lines; i++) {
        free(s->line[i]);
        free(s->col[i * AT_CONLLU_COLS]); /* the split copy the fields point into */
    }
    s->n = 0;
    s->n_lines = 0;
    s->cont = 0;
    s->text_len = 0;
    s->number = 0;
}

void at_sentence_free(at_sentence *s)
{
    at_sentence_clear(s);
    free(s->tok);
    free(s->tok_len);
    free(s->line);
    free(s->line_tok);
    free(s->col);
    free(s->text);
    free(s->tok_off);
    at_sentence_init(s);
}

static char *dup_n(const char *p, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, p, len);
        d[len] = '\0';
    }
    return d;
}

int at_sentence_add_token(at_sentence *s, const char *tok, size_t len, at_error *err)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 32;
        char **t = realloc(s->tok, cap * sizeof *t);
        if (t)
            s->tok = t;
        size_t *l = realloc(s->tok_len, cap * sizeof *l);
        if (l)
            s->tok_len = l;
        if (!t || !l)
            return at_error_of(err, AT_ERR_MEMORY, "out of memory");
        s->cap = cap;
    }
    if (!(s->tok[s->n] = dup_n(tok, len)))
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    s->tok_len[s->n++] = len;
    return 0;
}

const char *const *at_sentence_fields(const at_sentence *s, size_t l)
{
    if (l >= s->n_lines || !s->col || !s->col[l * AT_CONLLU_COLS])
        return NULL;
    return (const char *const *)&s->col[l * AT_CONLLU_COLS];
}

/* add_line: line l of the block, with its fields (a split copy of it, which
 * the sentence then owns; NULL for a comment). */
static int add_line(at_sentence *s, const char *line, size_t len, long tok, char **fields,
                    at_error *err)
{
    if (s->n_lines == s->lines_cap) {
        size_t cap = s->lines_cap ? 2 * s->lines_cap : 32;
        char **l = realloc(s->line, cap * sizeof *l);
        if (l)
            s->line = l;
        long *t = realloc(s->line_tok, cap * sizeof *t);
        if (t)
            s->line_tok = t;
        char **c = realloc(s->col, cap * AT_CONLLU_COLS * sizeof *c);
        if (c)
            s->col = c;
        if (!l || !t || !c)
            return at_error_of(err, AT_ERR_MEMORY, "out of memory");
        s->lines_cap = cap;
    }
    if (!(s->line[s->n_lines] = dup_n(line, len)))
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    for (int k = 0; k < AT_CONLLU_COLS; k++)
        s->col[s->n_lines * AT_CONLLU_COLS + k] = fields ? fields[k] : NULL;
    s->line_tok[s->n_lines++] = tok;
    return 0;
}

int at_reader_new(FILE *fp, const char *name, at_input_format fmt, at_reader **out,
                  at_error *err)
{
    at_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(name))) {
        free(r);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    }
    r->fp = fp;
    r->fmt = fmt;
    at_tokens_init(&r->toks);
    *out = r;
    return 0;
}

size_t at_reader_long_lines(const at_reader *r)
{
    return r->long_lines;
}

void at_reader_free(at_reader *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->buf);
    free(r->para);
    at_tokens_free(&r->toks);
    free(r);
}

/* next_line: 1 = a line is in r->buf, 0 = end of input, -1 = error. A line
 * longer than max bytes comes in pieces of at most max bytes, each cut after
 * its last white space (within a token only if it has none), with r->more
 * set while the line goes on: reading a line of any length takes bounded
 * memory. */
static int next_line(at_reader *r, size_t max, at_error *err)
{
    int piece = r->more, got = piece;
    size_t len = 0;
    if (r->rest_len) { /* the rest of the last piece starts this one */
        memmove(r->buf, r->buf + r->rest, r->rest_len);
        len = r->rest_len;
        r->rest_len = 0;
    }
    r->more = 0;
    /* a character at a time (stdio buffers them): a pipe's line is returned
     * as soon as it is complete, as a coprocess needs */
    int c = 0;
    while (len < max && (c = getc_unlocked(r->fp)) != EOF && c != '\n') {
        if (len + 2 > r->buf_cap) {
            size_t cap = r->buf_cap ? 2 * r->buf_cap : 256;
            char *nb = realloc(r->buf, cap);
            if (!nb)
                return at_error_set(err, "%s:%zu: out of memory for a line", r->name,
                                    r->line_no + 1);
            r->buf = nb;
            r->buf_cap = cap;
        }
        r->buf[len++] = (char)c;
        got = 1;
    }
    if (c == EOF && ferror(r->fp))
        return at_error_set(err, "%s:%zu: read error", r->name, r->line_no + 1);
    if (c == '\n')
        got = 1;
    if (!got && len == 0)
        return 0;
    if (!r->buf) { /* an empty first line */
        if (!(r->buf = malloc(256)))
            return at_error_of(err, AT_ERR_MEMORY, "out of memory");
        r->buf_cap = 256;
    }
    if (len == max && c != '\n') { /* more of the line, unless the input ends here */
        int next = getc_unlocked(r->fp);
        if (next != EOF && next != '\n') {
            ungetc(next, r->fp);
            size_t cut = len;
            while (cut > 0 && !at_line_space(r->buf[cut - 1]))
                cut--;
            if (cut == 0 && (next & 0xC0) == 0x80) { /* one token: cut before a character */
                cut = len;
                while (cut > 0 && ((unsigned char)r->buf[cut - 1] & 0xC0) == 0x80)
                    cut--;
                cut = cut > 0 ? cut - 1 : 0;
            }
            if (cut == 0)
                cut = len;
            r->rest = cut;
            r->rest_len = len - cut;
            len = cut;
            r->more = 1;
            r->long_lines += !piece;
        }
    }
    if (!piece)
        r->line_no++;
    if (!r->more && len && r->buf[len - 1] == '\r')
        len--;
    char *p = r->buf;
    if (r->line_no == 1 && !piece && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        memmove(p, p + 3, len - 3);
        len -= 3;
        if (r->more)
            r->rest -= 3;
    }
    size_t bad;
    if (at_utf8_check(p, len, &bad))
        return at_error_set(err, "%s:%zu: %s at byte %zu of the line (expected UTF-8 text)",
                            r->name, r->line_no, p[bad] ? "invalid UTF-8" : "NUL byte", bad + 1);
    if (!r->more) /* else buf[len] starts the rest, which the next piece takes */
        p[len] = '\0';
    r->len = len;
    return 1;
}

static int read_lines(at_reader *r, at_sentence *s, at_error *err)
{
    int rc = next_line(r, AT_MAX_LINE, err);
    if (rc <= 0)
        return rc;
    s->first_line = r->line_no;
    s->cont = r->more; /* a piece of a long line: the next sentence goes on with it */
    const char *p = r->buf, *end = r->buf + r->len;
    while (p < end) {
        while (p < end && at_line_space(*p))
            p++;
        const char *t = p;
        while (p < end && !at_line_space(*p))
            p++;
        if (p > t && at_sentence_add_token(s, t, (size_t)(p - t), err))
            return -1;
    }
    return 1;
}

static int read_vertical(at_reader *r, at_sentence *s, at_error *err)
{
    int rc;
    while ((rc = next_line(r, SIZE_MAX, err)) == 1) {
        const char *p = r->buf, *end = r->buf + r->len;
        while (p < end && at_line_space(*p))
            p++;
        while (end > p && at_line_space(end[-1]))
            end--;
        if (p == end) {
            if (s->n)
                return 1;
            continue;
        }
        if (!s->n)
            s->first_line = r->line_no;
        if (at_sentence_add_token(s, p, (size_t)(end - p), err))
            return -1;
    }
    return rc < 0 ? -1 : s->n > 0;
}

/* check_id: the ID of a word line, range or empty node follows the ones
 * before it in the sentence, as CoNLL-U has them: words 1, 2, 3...; a range
 * a-b just before word a, with b > a, not overlapping the range before; an
 * empty node i.k after word i (or 0.k first), k counting up. *range_end
 * keeps the last range's end, checked against the words at the sentence's
 * end; *empty the last empty node's (i, k). */
static int check_id(const at_reader *r, const char *id, at_conllu_id kind, size_t words,
                    size_t *range_end, size_t *range_line, size_t empty[2], at_error *err)
{
    char *end;
    size_t a = strtoul(id, &end, 10), b = *end ? strtoul(end + 1, NULL, 10) : 0;
    if (kind == AT_ID_WORD && a != words + 1)
        return at_error_set(err, "%s:%zu: word ID %s, expected %zu (IDs count 1, 2, 3... in "
                            "each sentence)", r->name, r->line_no, id, words + 1);
    if (kind == AT_ID_RANGE && (a != words + 1 || b <= a || a <= *range_end))
        return at_error_set(err, "%s:%zu: range %s, expected %zu-N with N > %zu, not "
                            "overlapping the range before", r->name, r->line_no, id, words + 1,
                            words + 1);
    if (kind == AT_ID_RANGE) {
        *range_end = b;
        *range_line = r->line_no;
    }
    if (kind == AT_ID_EMPTY) {
        if (a != words || (empty[0] == a && b <= empty[1]) || (empty[0] != a && b != 1))
            return at_error_set(err, "%s:%zu: empty node %s, expected %zu.%zu", r->name,
                                r->line_no, id, words, empty[0] == words ? empty[1] + 1 : 1);
        empty[0] = a;
        empty[1] = b;
    }
    return 0;
}

static int read_conllu(at_reader *r, at_sentence *s, at_error *err)
{
    int rc;
    size_t range_end = 0, range_line = 0, empty[2] = {SIZE_MAX, 0};
    while ((rc = next_line(r, SIZE_MAX, err)) == 1) {
        if (r->len == 0) {
            if (s->n_lines)
                break;
            continue;
        }
        if (!s->n_lines)
            s->first_line = r->line_no;
        long tok = -1;
        char *copy = NULL, *col[AT_CONLLU_COLS];
        if (r->buf[0] != '#') {
            copy = dup_n(r->buf, r->len);
            if (!copy)
                return at_error_of(err, AT_ERR_MEMORY, "out of memory");
            int nc = at_conllu_split(copy, col);
            at_conllu_id kind = nc == AT_CONLLU_COLS ? at_conllu_id_kind(col[0]) : AT_ID_BAD;
            if (nc != AT_CONLLU_COLS || kind == AT_ID_BAD || col[1][0] == '\0') {
                if (nc != AT_CONLLU_COLS)
                    at_error_set(err, "%s:%zu: expected 10 tab-separated CoNLL-U columns, "
                                 "found %d", r->name, r->line_no, nc);
                else
                    at_error_set(err, "%s:%zu: expected a word ID (1, 2-3 or 1.1) and a FORM, "
                                 "found ID \"%.40s\" and FORM \"%.40s\"", r->name, r->line_no,
                                 col[0], col[1]);
                free(copy);
                return -1;
            }
            if (check_id(r, col[0], kind, s->n, &range_end, &range_line, empty, err)) {
                free(copy);
                return -1;
            }
            if (kind == AT_ID_WORD) {
                tok = (long)s->n;
                if (at_sentence_add_token(s, col[1], strlen(col[1]), err)) {
                    free(copy);
                    return -1;
                }
            }
        }
        if (add_line(s, r->buf, r->len, tok, copy ? col : NULL, err)) {
            free(copy);
            return -1;
        }
    }
    if (rc >= 0 && range_end > s->n)
        return at_error_set(err, "%s:%zu: the range ends at word %zu, but the sentence ends at "
                            "word %zu", r->name, range_line, range_end, s->n);
    return rc < 0 ? -1 : s->n_lines > 0;
}

/* read_paragraph: text up to a blank line (or the end) into r->para. */
static int read_paragraph(at_reader *r, at_error *err)
{
    int rc;
    r->para_len = 0;
    r->para_line = 0;
    while ((rc = next_line(r, SIZE_MAX, err)) == 1) {
        if (at_line_blank(r->buf, r->len)) {
            if (r->para_len)
                break;
            continue;
        }
        if (!r->para_line)
            r->para_line = r->line_no;
        if (r->para_len + r->len + 2 > r->para_cap) {
            size_t cap = (r->para_len + r->len + 2) * 2;
            char *np = realloc(r->para, cap);
            if (!np)
                return at_error_of(err, AT_ERR_MEMORY, "out of memory");
            r->para = np;
            r->para_cap = cap;
        }
        memcpy(r->para + r->para_len, r->buf, r->len);
        r->para_len += r->len;
        r->para[r->para_len++] = '\n';
        if (r->fmt == AT_IN_RAW_LINES) /* a line is a paragraph of its own */
            break;
    }
    return rc < 0 ? -1 : r->para_len > 0;
}

static int read_raw(at_reader *r, at_sentence *s, at_error *err)
{
    while (r->next_sent >= r->toks.n_sent) {
        int rc = read_paragraph(r, err);
        if (rc <= 0)
            return rc;
        r->toks.n = r->toks.n_sent = 0;
        r->next_sent = r->next_tok = 0;
        if (at_tokenize(r->para, r->para_len, &r->toks, err))
            return at_error_context(err, "%s:%zu", r->name, r->para_line);
    }
    s->first_line = r->para_line;
    s->number = ++r->raw_sentences;
    size_t end = r->toks.sent_end[r->next_sent++], first = r->next_tok;
    if (end == first)
        return 1;
    /* the text from the first token to the last, for CoNLL-U's # text */
    size_t from = r->toks.tok[first].start;
    size_t to = r->toks.tok[end - 1].start + r->toks.tok[end - 1].len;
    if (to - from + 1 > s->text_cap) {
        char *t = realloc(s->text, to - from + 1);
        if (!t)
            return at_error_of(err, AT_ERR_MEMORY, "out of memory");
        s->text = t;
        s->text_cap = to - from + 1;
    }
    for (size_t i = from; i < to; i++) {
        char c = r->para[i];
        s->text[i - from] = c == '\n' || c == '\r' || c == '\t' ? ' ' : c;
    }
    s->text[to - from] = '\0';
    s->text_len = to - from;
    if (end - first > s->off_cap) {
        size_t *o = realloc(s->tok_off, (end - first) * sizeof *o);
        if (!o)
            return at_error_of(err, AT_ERR_MEMORY, "out of memory");
        s->tok_off = o;
        s->off_cap = end - first;
    }
    for (; r->next_tok < end; r->next_tok++) {
        at_span sp = r->toks.tok[r->next_tok];
        s->tok_off[r->next_tok - first] = sp.start - from;
        if (at_sentence_add_token(s, r->para + sp.start, sp.len, err))
            return -1;
    }
    return 1;
}

int at_reader_next(at_reader *r, at_sentence *s, at_error *err)
{
    at_sentence_clear(s);
    switch (r->fmt) {
    case AT_IN_LINES: return read_lines(r, s, err);
    case AT_IN_VERTICAL: return read_vertical(r, s, err);
    case AT_IN_CONLLU: return read_conllu(r, s, err);
    case AT_IN_RAW:
    case AT_IN_RAW_LINES: return read_raw(r, s, err);
    }
    return at_error_set(err, "unknown input format");
}
