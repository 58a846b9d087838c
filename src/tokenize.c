/*
 * tokenize.c - raw text to tokens and sentences (at_tokenize).
 *
 * Contract: at_tokenize(text, len, t, err) checks that text[0..len) is valid
 * UTF-8 without NUL bytes, then appends to t one byte span per token and one
 * sentence end (index one past its last token) per sentence. The last
 * sentence always ends at the end of the text, so every call leaves t with
 * whole sentences only. On failure (invalid UTF-8, NUL byte, out of memory)
 * it returns -1 with a message in err and t is left exactly as it was.
 * No global state, no fixed-size buffers: any token length works.
 *
 * Tokens follow UD English (EWT) / Penn conventions:
 *   - whitespace is any Zs/Zl/Zp code point, any control character, and the
 *     invisible separators U+200B, U+2060, U+FEFF;
 *   - words are runs of letters, marks and digits; ".", "&", "@", "'" or
 *     U+2019 between two of them, and "," or ":" between two digits, keep
 *     the word whole (3.14, 1,000, 12:30, AT&T, Rice@ENRON); a hyphen only
 *     after a bound prefix (e-mail, co-workers), inside a phone number or
 *     ZIP+4 code and in a date (01-Feb-02),
 *     and a slash only after one letter (w/o) or between digits: otherwise
 *     they split, as UD English does (search - engine, and / or);
 *   - a sign or point right before a digit starts a number (-5, +3, .5);
 *   - URLs (http://, https://, ftp://, file://, mailto:, www.) and e-mail
 *     addresses are single tokens, minus trailing punctuation;
 *   - a period stays on a known abbreviation (Mr., etc., Inc., Jan., ...),
 *     on dotted single letters (U.S., e.g., a.m.) and on a single capital
 *     letter other than "I" (J. K. Rowling);
 *   - clitics split off: do n't, ca n't, wo n't, I 'm, it 's, we 're,
 *     they 'll, I 've, he 'd, John 's (with ' or the right quote U+2019),
 *     and cannot, gonna, wanna, gotta become can not, gon na, wan na, got ta,
 *     and contractions typed without an apostrophe split as EWT splits them
 *     (do nt, ca nt, wo nt, i m, that s, there s, a lot);
 *   - every other punctuation or symbol character is its own token, except
 *     runs: of sentence-final marks (... ?! !!!), of one repeated dash,
 *     operator or dollar character (-- === ** $$$), rules of dashes and
 *     equals signs (----==), emoticons apart from words (:) :-( ;) :D), and
 *     the PTB quotes `` and '';
 *   - Han/Hiragana/Katakana runs are one token each (no segmentation).
 *
 * Sentences end after a token of final marks (. ! ? ... and the like) or an
 * emoticon when whitespace follows and the next token starts with an
 * upper-case or uncased letter, a digit, an opening bracket or quote, a
 * currency sign, a list item's dash, bullet or >, or inverted ! ?; after a
 * single . ! or ? (not an ellipsis) a lower-case word starts one too (web
 * text), unless a closing quote came between ("Stop!" he yelled). Closing
 * quotes and brackets right after the mark stay with the sentence. The CJK
 * marks 。！？ end a sentence whatever follows. A blank line (two line
 * breaks) always ends one. An abbreviation's period does not end a
 * sentence, except etc.'s, which then follows the rule for final marks.
 *
 * Units of scanning are extended grapheme clusters (utf8proc), so combining
 * marks, emoji sequences and CR LF never get split from their base.
 */
#include "attntag.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Character classes: what a grapheme cluster is, by its first code point. */
typedef enum { C_SPACE, C_WORD, C_CJK, C_PUNCT } uclass;

typedef struct unit {
    int32_t cp;          /* first code point; -1 at end of text */
    size_t end;          /* byte offset one past the cluster */
    uclass cls;
} unit;

/* Sentence state between tokens. */
enum { T_NONE = 0, T_SOFT = 1, T_HARD = 2, T_MARK = 3 };

typedef struct scanner {
    const char *s;
    size_t len;
    at_tokens *t;
    at_error *err;
    size_t sent_start;   /* index in t->tok of the current sentence's first token */
    int gap;             /* whitespace seen since the last token */
    int newlines;        /* line breaks in that whitespace */
    int pending;         /* T_SOFT/T_HARD: the last token may/must end the sentence */
} scanner;

/* Decoding (the text is validated first, so no error paths here) --------- */

static int32_t cp_at(const scanner *sc, size_t pos, size_t *next)
{
    utf8proc_int32_t c = -1;
    utf8proc_ssize_t n;
    if (pos >= sc->len) {
        if (next) *next = sc->len;
        return -1;
    }
    n = utf8proc_iterate((const utf8proc_uint8_t *)sc->s + pos,
                         (utf8proc_ssize_t)(sc->len - pos), &c);
    if (n < 1) n = 1; /* unreachable after validation; keeps progress certain */
    if (next) *next = pos + (size_t)n;
    return c;
}

static int32_t cp_before(const scanner *sc, size_t pos)
{
    size_t q;
    if (pos == 0) return -1;
    q = pos - 1;
    while (q > 0 && ((unsigned char)sc->s[q] & 0xC0) == 0x80) q--;
    return cp_at(sc, q, NULL);
}

static utf8proc_category_t cat(int32_t c)
{
    return c < 0 ? UTF8PROC_CATEGORY_CN : utf8proc_category(c);
}

static int is_space(int32_t c)
{
    switch (cat(c)) {
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP: case UTF8PROC_CATEGORY_CC:
        return 1;
    default:
        /* Zero-width space, word joiner and BOM separate nothing visible:
         * treat them as the spaces they stand for. */
        return c == 0x200B || c == 0x2060 || c == 0xFEFF;
    }
}

/* Scripts written without spaces between words. */
static int is_cjk(int32_t c)
{
    return (c >= 0x3005 && c <= 0x3007) || (c >= 0x3021 && c <= 0x3029) ||
           (c >= 0x3031 && c <= 0x3035) || (c >= 0x3038 && c <= 0x303C) ||
           (c >= 0x3041 && c <= 0x3096) || (c >= 0x3099 && c <= 0x309F) ||
           (c >= 0x30A1 && c <= 0x30FA) || (c >= 0x30FC && c <= 0x30FF) ||
           (c >= 0x31F0 && c <= 0x31FF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0xFF66 && c <= 0xFF9F) || (c >= 0x1B000 && c <= 0x1B16F) ||
           (c >= 0x20000 && c <= 0x3FFFF);
}

static uclass classify(int32_t c)
{
    if (c < 0 || is_space(c)) return C_SPACE;
    if (is_cjk(c)) return C_CJK;
    switch (cat(c)) {
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO: case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK: case UTF8PROC_CATEGORY_SO:
        return c == '_' ? C_WORD : C_PUNCT; /* snake_case stays one word */
    default:
        return C_WORD; /* letters, marks, numbers, format, private use, unassigned */
    }
}

/* The grapheme cluster starting at pos. */
static void unit_at(const scanner *sc, size_t pos, unit *u)
{
    utf8proc_int32_t state = 0;
    int32_t prev;
    size_t next;
    u->cp = cp_at(sc, pos, &next);
    u->cls = classify(u->cp);
    prev = u->cp;
    /* Whitespace stands alone (CR LF aside): a mark or emoji modifier after a
     * space would otherwise vanish into the space's cluster. */
    if (u->cls == C_SPACE) {
        if (u->cp == '\r' && next < sc->len && sc->s[next] == '\n') next++;
        u->end = next;
        return;
    }
    while (next < sc->len) {
        size_t after;
        int32_t c = cp_at(sc, next, &after);
        /* Prepend characters (U+0600...) would pull a following space in. */
        if (is_space(c) || utf8proc_grapheme_break_stateful(prev, c, &state)) break;
        prev = c;
        next = after;
    }
    u->end = next;
}

static int is_digit(int32_t c) { return cat(c) == UTF8PROC_CATEGORY_ND; }

static int is_letter(int32_t c)
{
    switch (cat(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return 1;
    default:
        return 0;
    }
}

static int is_apos(int32_t c) { return c == '\'' || c == 0x2019; }

/* CJK full stops: always end a sentence. */
static int is_hard_final(int32_t c)
{
    return c == 0x3002 || c == 0xFF01 || c == 0xFF1F || c == 0xFF61;
}

static int is_final(int32_t c)
{
    return c == '.' || c == '!' || c == '?' || c == 0x2026 /* … */ ||
           c == 0x203C || c == 0x2047 || c == 0x2048 || c == 0x2049 ||
           c == 0xFF0E || c == 0x061F || c == 0x06D4 || c == 0x0964 ||
           c == 0x0965 || is_hard_final(c);
}

/* Characters whose repetitions are one token (--, ===, **, ::, $$$). */
static int is_run_char(int32_t c)
{
    if (cat(c) == UTF8PROC_CATEGORY_PD) return 1;
    return c != 0 && c < 0x80 && strchr("~*=#+<>^|/\\:$", (int)c) != NULL;
}

/* Rules drawn with dashes and equals signs mixed (----==, =---) are one token. */
static int is_rule_char(int32_t c)
{
    return c == '-' || c == '=';
}

/* Emoticons, one token each when they stand apart from words. */
static const char *const emoticons[] = {":-)", ":-(", ":-D", ":-P", ":-p", ";-)", ":'(", ":)",
                                        ":(",  ":D",  ":P",  ":p",  ";)",  ":/",  ":?", "=)",
                                        "^_^", "<3"};

static int ascii_lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* s[a..b) equals the lower-case ASCII word w, ignoring ASCII case. */
static int eq_nocase(const scanner *sc, size_t a, size_t b, const char *w)
{
    size_t n = strlen(w), i;
    if (b - a != n) return 0;
    for (i = 0; i < n; i++)
        if (ascii_lower((unsigned char)sc->s[a + i]) != w[i]) return 0;
    return 1;
}

static int starts_nocase(const scanner *sc, size_t a, const char *w)
{
    size_t n = strlen(w);
    return sc->len - a >= n && eq_nocase(sc, a, a + n, w);
}

/* Output ------------------------------------------------------------------ */

/* Grow an array to hold need elements; NULL (array untouched) on failure. */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    size_t nc;
    void *q;
    if (need <= *cap && p) return p;
    nc = *cap ? *cap : 64;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / elem) return NULL;
        nc *= 2;
    }
    q = realloc(p, nc * elem);
    if (!q) return NULL;
    *cap = nc;
    return q;
}

static int push_sentence(scanner *sc)
{
    at_tokens *t = sc->t;
    size_t *p = grow(t->sent_end, &t->sent_cap, t->n_sent + 1, sizeof *p);
    if (!p) return at_error_set(sc->err, "tokenizer: out of memory after %zu sentences", t->n_sent);
    t->sent_end = p;
    t->sent_end[t->n_sent++] = t->n;
    sc->sent_start = t->n;
    sc->pending = T_NONE;
    return 0;
}

/* A closing quote or bracket (one cluster, or PTB ''): stays with a sentence
 * that just ended. */
static int is_closer(const scanner *sc, size_t a, size_t b)
{
    unit u;
    unit_at(sc, a, &u);
    if (u.end != b) return b - a == 2 && sc->s[a] == '\'' && sc->s[a + 1] == '\'';
    switch (cat(u.cp)) {
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PF:
        return 1;
    default:
        return u.cp == '"' || u.cp == '\'' || u.cp == 0xFF02 || u.cp == 0xFF07;
    }
}

/* Can a token starting with c begin a new sentence after a final mark? */
static int starts_sentence(int32_t c)
{
    switch (cat(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
    case UTF8PROC_CATEGORY_PS: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_SC:
        return 1;
    default:
        /* quotes, ¿ ¡, and the dashes, bullets and arrows that start list items */
        return c == '"' || c == '\'' || c == '`' || c == 0xBF /* ¿ */ || c == 0xA1 /* ¡ */ ||
               c == 0xFF02 || c == '-' || c == '*' || c == 0x2022 /* • */ || c == '>';
    }
}

/* Append token s[a..b); first decide whether a sentence ends before it.
 * final is T_SOFT/T_HARD when this token may/must end its sentence. */
static int emit(scanner *sc, size_t a, size_t b, int final)
{
    at_tokens *t = sc->t;
    at_span *p;
    int absorbed = 0;
    if (t->n > sc->sent_start) {
        int brk = 0;
        if (sc->gap && sc->newlines >= 2) {
            brk = 1;
        } else if (sc->pending) {
            if (!sc->gap && is_closer(sc, a, b))
                absorbed = 1;
            else if (sc->pending == T_HARD ||
                     (sc->gap && (starts_sentence(cp_at(sc, a, NULL)) ||
                                  (sc->pending == T_MARK &&
                                   cat(cp_at(sc, a, NULL)) == UTF8PROC_CATEGORY_LL))))
                brk = 1;
        }
        if (brk && push_sentence(sc) < 0) return -1;
    }
    p = grow(t->tok, &t->cap, t->n + 1, sizeof *p);
    if (!p) return at_error_set(sc->err, "tokenizer: out of memory after %zu tokens", t->n);
    t->tok = p;
    t->tok[t->n].start = a;
    t->tok[t->n].len = b - a;
    t->n++;
    if (!absorbed)
        sc->pending = final;
    else if (sc->pending == T_MARK) /* "Stop!" he yelled: a quote's words go on */
        sc->pending = T_SOFT;
    sc->gap = 0;
    sc->newlines = 0;
    return 0;
}

/* Words -------------------------------------------------------------------- */

/* May joiner j sit inside a word between code points l and r? */
static int joins(int32_t l, int32_t j, int32_t r)
{
    switch (j) {
    case '-': case 0x2010: case 0x2011: case '.': case '\'': case 0x2019: case '/': case '&':
    case '@': /* name@HOST, as mail systems write an address */
        return 1;
    case ',': case ':':
        return is_digit(l) && is_digit(r);
    default:
        return 0;
    }
}

static int ascii_digit_at(const scanner *sc, size_t i)
{
    return sc->s[i] >= '0' && sc->s[i] <= '9';
}

/* Prefixes that UD English keeps on their word with a hyphen (e-mail,
 * non-human, co-workers, mid-July): in EWT train each of these stays
 * joined more often than not, while other hyphenated compounds are split
 * into word - word (search - engine, 15 - year). */
static const char *const hyphen_prefixes[] = {
    "e", "non", "pre", "anti", "mid", "re", "post", "co", "over", "pro", "multi", "ex",
    "sub", "semi", "cross", "neo", "psycho", "socio", "counter", "intra", "un"};

static int all_digits(const scanner *sc, size_t a, size_t b)
{
    for (size_t i = a; i < b; i++)
        if (sc->s[i] < '0' || sc->s[i] > '9')
            return 0;
    return b > a;
}

/* Is s[i..i+3) a month's three-letter abbreviation? */
static int is_month(const scanner *sc, size_t i)
{
    static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                         "jul", "aug", "sep", "oct", "nov", "dec"};
    for (size_t k = 0; i + 3 <= sc->len && k < sizeof months / sizeof *months; k++)
        if (eq_nocase(sc, i, i + 3, months[k]))
            return 1;
    return 0;
}

/* Does the hyphen or slash j after segment s[a..b) keep the word whole?
 * Hyphens: after a known prefix, inside a phone number or ZIP+4 code
 * (713-853-3989, 3-5213, 20006-3700) and a date (01-Feb-02); slashes: after a single
 * letter (w/o, l/c) or between digits (10/20/2004). */
static int keeps(const scanner *sc, size_t a, size_t b, int32_t j, size_t next)
{
    if (j == '/')
        return (b - a == 1 && is_letter((unsigned char)sc->s[a])) ||
               (all_digits(sc, a, b) && next < sc->len && ascii_digit_at(sc, next));
    if (all_digits(sc, a, b) && b - a <= 2 && is_month(sc, next) && next + 4 < sc->len &&
        sc->s[next + 3] == '-' && ascii_digit_at(sc, next + 4))
        return 1; /* the date 01-Feb-02 */
    if (b - a == 3 && is_month(sc, a) && a >= 2 && sc->s[a - 1] == '-' &&
        ascii_digit_at(sc, a - 2) && ascii_digit_at(sc, next))
        return 1;
    if (all_digits(sc, a, b)) /* 713-853-3989, 3-5213, 20006-3700: not a range, 1990-1995 */
        return (b - a <= 3 && next + 3 <= sc->len && all_digits(sc, next, next + 3) &&
                (b - a == 3 || (next + 4 <= sc->len && all_digits(sc, next, next + 4)))) ||
               (b - a == 5 && next + 4 <= sc->len && all_digits(sc, next, next + 4));
    for (size_t i = 0; i < sizeof hyphen_prefixes / sizeof *hyphen_prefixes; i++)
        if (eq_nocase(sc, a, b, hyphen_prefixes[i]))
            return 1;
    return 0;
}

/* End of the word body starting at the WORD unit at p. */
static size_t scan_word(const scanner *sc, size_t p)
{
    unit u, n, a;
    size_t seg = p; /* where the part after the last joiner starts */
    unit_at(sc, p, &u);
    for (;;) {
        size_t one;
        unit_at(sc, u.end, &n);
        if (n.cls == C_WORD) {
            u = n;
            continue;
        }
        /* A joiner must be a bare code point (no marks on it) between words. */
        cp_at(sc, u.end, &one);
        if (n.cls == C_PUNCT && n.end == one) {
            unit_at(sc, n.end, &a);
            int hyphen = n.cp == '-' || n.cp == 0x2010 || n.cp == 0x2011;
            if (a.cls == C_WORD && joins(cp_before(sc, u.end), n.cp, a.cp) &&
                (!(hyphen || n.cp == '/') || keeps(sc, seg, u.end, n.cp, n.end))) {
                seg = n.end;
                u = a;
                continue;
            }
        }
        return u.end;
    }
}

/* Known abbreviations (without their period; case matters: "No." is one,
 * "no." ends "I said no."). may_end marks the ones that often close a
 * sentence: they end one when the next token looks like a sentence start. */
static const struct abbrev { const char *w; int may_end; } abbrevs[] = {
    {"Mr", 0},   {"Mrs", 0},  {"Ms", 0},   {"Mx", 0},   {"Dr", 0},    {"Prof", 0},
    {"Rev", 0},  {"Hon", 0},  {"St", 0},   {"Mt", 0},   {"Ft", 0},    {"Gen", 0},
    {"Col", 0},  {"Lt", 0},   {"Maj", 0},  {"Capt", 0}, {"Sgt", 0},   {"Cpl", 0},
    {"Adm", 0},  {"Gov", 0},  {"Sen", 0},  {"Rep", 0},  {"Pres", 0},  {"Messrs", 0},
    {"Mme", 0},  {"Mlle", 0}, {"Msgr", 0}, {"vs", 0},   {"cf", 0},    {"al", 0},
    {"approx", 0}, {"ca", 0}, {"dept", 0}, {"Dept", 0}, {"est", 0},   {"fig", 0},
    {"Fig", 0},  {"figs", 0}, {"eq", 0},   {"Eq", 0},   {"No", 0},
    {"Nos", 0},  {"vol", 0},  {"Vol", 0},  {"vols", 0},  {"p", 0},
    {"pp", 0},   {"ch", 0},   {"Ch", 0},   {"sec", 0},  {"Sec", 0},   {"viz", 0},
    {"misc", 0}, {"Ave", 0},  {"Blvd", 0}, {"Rd", 0},   {"Jan", 0},   {"Feb", 0},
    {"Mar", 0},  {"Apr", 0},  {"Jun", 0},  {"Jul", 0},  {"Aug", 0},   {"Sep", 0},
    {"Sept", 0}, {"ext", 0},  {"Oct", 0},  {"Nov", 0},  {"Dec", 0},  {"Ph.D", 0},
    {"etc", 1},
    {"Inc", 0},  {"Ltd", 0},  {"Corp", 0}, {"Co", 0},   {"Jr", 0},    {"Sr", 0},
};

/* Does word s[a..b) keep a following period? *may_end as in abbrevs. */
static int is_abbrev(const scanner *sc, size_t a, size_t b, int *may_end)
{
    size_t i, pos, letters = 0;
    unit u;
    *may_end = 0;
    for (i = 0; i < sizeof abbrevs / sizeof abbrevs[0]; i++) {
        if (strlen(abbrevs[i].w) == b - a && memcmp(abbrevs[i].w, sc->s + a, b - a) == 0) {
            *may_end = abbrevs[i].may_end;
            return 1;
        }
    }
    /* An initial: one capital letter. Not "I", which far more often is the
     * pronoun ending a sentence ("...than I."). */
    unit_at(sc, a, &u);
    if (u.end == b) return cat(u.cp) == UTF8PROC_CATEGORY_LU && u.cp != 'I';
    /* Dotted single letters: U.S, e.g, i.e, a.m (the last period follows). */
    for (pos = a;;) {
        unit_at(sc, pos, &u);
        if (u.end > b || !is_letter(u.cp)) return 0;
        letters++;
        pos = u.end;
        if (pos == b) return letters >= 2;
        if (sc->s[pos] != '.' || ++pos >= b) return 0;
    }
}

/* Words written as one that UD EWT writes as two, and where they part: the
 * fused forms, and contractions typed without their apostrophe. */
static const struct fused_word { const char *w; size_t cut; } fused[] = {
    {"cannot", 3}, {"gonna", 3},  {"wanna", 3},   {"gotta", 3},    {"outta", 3},
    {"dont", 2},   {"didnt", 3},  {"doesnt", 4},  {"isnt", 2},     {"wasnt", 3},
    {"arent", 3},  {"werent", 4}, {"havent", 4},  {"hasnt", 3},    {"hadnt", 3},
    {"wouldnt", 5}, {"couldnt", 5}, {"shouldnt", 6}, {"cant", 2},  {"im", 1},
    {"ive", 1},    {"thats", 4},  {"whats", 4},   {"youre", 3},    {"theyre", 4},
    {"alot", 1},   {"wont", 2},   {"theres", 5}};

/* What follows the apostrophe of 's 'm 'd 'll 're 've. */
static const char *const clitic_tails[] = {"s", "m", "d", "ll", "re", "ve"};

/* Start of the apostrophe ending at x (' or U+2019), or SIZE_MAX. */
static size_t apos_ending_at(const scanner *sc, size_t a, size_t x)
{
    if (x > a && sc->s[x - 1] == '\'') return x - 1;
    if (x - a >= 3 && memcmp(sc->s + x - 3, "\xE2\x80\x99", 3) == 0) return x - 3;
    return SIZE_MAX;
}

/* Start of a clitic ending word s[a..e), or e if there is none. The rest of
 * the word must not be empty, so a lone "n't" or "'s" stays whole. */
static size_t clitic_start(const scanner *sc, size_t a, size_t e)
{
    size_t i, ap;
    if (e - a >= 3 && ascii_lower((unsigned char)sc->s[e - 1]) == 't') {
        ap = apos_ending_at(sc, a, e - 1);
        if (ap != SIZE_MAX && ap > a + 1 && ascii_lower((unsigned char)sc->s[ap - 1]) == 'n')
            return ap - 1;
    }
    for (i = 0; i < sizeof clitic_tails / sizeof clitic_tails[0]; i++) {
        size_t k = strlen(clitic_tails[i]);
        if (e - a > k && eq_nocase(sc, e - k, e, clitic_tails[i])) {
            ap = apos_ending_at(sc, a, e - k);
            if (ap != SIZE_MAX && ap > a) return ap;
        }
    }
    return e;
}

/* Emit word s[a..e), split into its host and clitics. */
static int emit_word(scanner *sc, size_t a, size_t e)
{
    size_t cuts[8], end = e, i;
    int nc = 0;
    for (i = 0; i < sizeof fused / sizeof fused[0]; i++)
        if (eq_nocase(sc, a, e, fused[i].w))
            return emit(sc, a, a + fused[i].cut, T_NONE) < 0
                       ? -1 : emit(sc, a + fused[i].cut, e, T_NONE);
    while (nc < 8) {
        size_t c = clitic_start(sc, a, end);
        if (c == end) break;
        cuts[nc++] = c;
        end = c;
    }
    if (emit(sc, a, end, T_NONE) < 0) return -1;
    while (nc-- > 0)
        if (emit(sc, cuts[nc], nc ? cuts[nc - 1] : e, T_NONE) < 0) return -1;
    return 0;
}

static int ascii_digit(char c) { return c >= '0' && c <= '9'; }

static int ascii_alnum(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* End of a URL starting at p, or p if none starts there. */
static size_t match_url(const scanner *sc, size_t p)
{
    static const char *const prefixes[] = {"http://", "https://", "ftp://", "file://",
                                           "mailto:", "www."};
    size_t plen = 0, q, i, opens = 0, closes = 0, sq_opens = 0, sq_closes = 0;
    for (i = 0; i < sizeof prefixes / sizeof prefixes[0] && !plen; i++)
        if (starts_nocase(sc, p, prefixes[i])) plen = strlen(prefixes[i]);
    if (!plen) return p;
    for (q = p + plen; q < sc->len;) {
        size_t next;
        int32_t c = cp_at(sc, q, &next);
        if (is_space(c) || is_cjk(c)) break;
        /* Quotes and angle brackets delimit URLs in prose; so does any
         * non-ASCII punctuation (letters are fine: IRIs). */
        if (c < 0x80 ? strchr("\"<>`{}|\\^", (int)c) != NULL : classify(c) == C_PUNCT) break;
        opens += c == '(';
        closes += c == ')';
        sq_opens += c == '[';
        sq_closes += c == ']';
        q = next;
    }
    /* Sentence punctuation after a URL is not part of it; a closing bracket
     * is, when it matches one inside (Wikipedia-style paths). */
    while (q > p + plen) {
        char c = sc->s[q - 1];
        if (strchr(".,;:!?'*", c)) {
            q--;
        } else if (c == ')' && closes > opens) {
            q--;
            closes--;
        } else if (c == ']' && sq_closes > sq_opens) {
            q--;
            sq_closes--;
        } else {
            break;
        }
    }
    return q > p + plen ? q : p;
}

/* End of an e-mail address starting at p, or p. Lengths are bounded as in
 * RFC 5321, which also keeps repeated failed attempts linear. */
static size_t match_email(const scanner *sc, size_t p)
{
    const char *s = sc->s;
    size_t i = p, d, k, label, labels = 0;
    while (i < sc->len && i - p < 64 &&
           (ascii_alnum((unsigned char)s[i]) || (s[i] && strchr("._%+-", s[i]))))
        i++;
    if (i == p || i >= sc->len || s[i] != '@' || s[i - 1] == '.') return p;
    d = ++i;
    while (i < sc->len && i - d < 253 && (ascii_alnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '.'))
        i++;
    while (i > d && (s[i - 1] == '.' || s[i - 1] == '-')) i--;
    for (k = label = d; k <= i; k++) {
        if (k == i || s[k] == '.') {
            if (k == label) return p; /* empty label */
            labels++;
            if (k < i) label = k + 1;
        }
    }
    if (labels < 2 || i - label < 2) return p;
    for (k = label; k < i; k++)
        if (!((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z'))) return p;
    return i;
}

/* A token starting with the WORD unit at p. */
static int do_word(scanner *sc, size_t *pos)
{
    size_t p = *pos, q;
    int may_end;
    if ((q = match_url(sc, p)) > p || (q = match_email(sc, p)) > p) {
        *pos = q;
        return emit(sc, p, q, T_NONE);
    }
    q = scan_word(sc, p);
    /* A period right after the word (and not the start of "...") may be
     * the abbreviation's own. */
    if (q < sc->len && sc->s[q] == '.' && !(q + 1 < sc->len && sc->s[q + 1] == '.') &&
        is_abbrev(sc, p, q, &may_end)) {
        *pos = q + 1;
        return emit(sc, p, q + 1, may_end ? T_SOFT : T_NONE);
    }
    *pos = q;
    return emit_word(sc, p, q);
}

/* A token starting with the punctuation or symbol unit u at *pos. */
static int do_punct(scanner *sc, size_t *pos, const unit *u)
{
    size_t p = *pos, q = u->end, k;
    int32_t c = u->cp;
    uclass before = classify(cp_before(sc, p));
    unit n, m;
    unit_at(sc, u->end, &n);

    for (k = 0; before != C_WORD && k < sizeof emoticons / sizeof *emoticons; k++) {
        size_t el = strlen(emoticons[k]);
        if (p + el <= sc->len && memcmp(sc->s + p, emoticons[k], el) == 0) {
            unit after;
            unit_at(sc, p + el, &after);
            if (after.cls != C_WORD) { /* and may end a sentence, as a full stop */
                *pos = p + el;
                return emit(sc, p, p + el, T_SOFT);
            }
        }
    }
    /* Signed and point-first numbers: -5, +3.2, .5 */
    if ((c == '-' || c == '+' || c == 0x2212 || c == '.') && before != C_WORD &&
        n.cls == C_WORD && is_digit(n.cp)) {
        q = scan_word(sc, u->end);
    } else if (is_final(c)) {
        /* ... ?! !!! 。。。 are one token. */
        int hard = is_hard_final(c), dots = 0;
        for (;;) {
            dots += sc->s[q - 1] == '.';
            unit_at(sc, q, &m);
            if (m.cp < 0 || !is_final(m.cp)) break;
            hard |= is_hard_final(m.cp);
            q = m.end;
        }
        *pos = q;
        /* a full stop, ! or ? (not an ellipsis) ends a sentence even before
         * a lower-case word, as web text often has it */
        return emit(sc, p, q, hard ? T_HARD : dots <= 1 && c != 0x2026 ? T_MARK : T_SOFT);
    } else if ((c == '@' || (c == '#' && is_letter(n.cp))) && before != C_WORD &&
               n.cls == C_WORD) {
        q = scan_word(sc, u->end); /* @mention, #hashtag */
    } else if ((c == '\'' && n.cp == '\'') || (c == '`' && n.cp == '`')) {
        q = n.end; /* PTB quotes '' and `` */
    } else if (is_apos(c) && n.cls == C_WORD) {
        /* A detached clitic ('s 'll, as in already tokenised text) or a
         * clipped year ('90s). Otherwise the apostrophe is a quote. */
        size_t e = scan_word(sc, u->end);
        for (k = 0; k < sizeof clitic_tails / sizeof clitic_tails[0]; k++)
            if (eq_nocase(sc, u->end, e, clitic_tails[k])) q = e;
        if (before != C_WORD && e - u->end >= 2 && e - u->end <= 3 &&
            ascii_digit(sc->s[u->end]) && ascii_digit(sc->s[u->end + 1]) &&
            (e - u->end == 2 || sc->s[u->end + 2] == 's'))
            q = e;
    } else if (is_run_char(c)) {
        for (;;) {
            unit_at(sc, q, &m);
            if (m.cp != c && !(is_rule_char(c) && is_rule_char(m.cp))) break;
            q = m.end;
        }
    }
    *pos = q;
    return emit(sc, p, q, T_NONE);
}

/* Public API ------------------------------------------------------------- */

void at_tokens_init(at_tokens *t)
{
    memset(t, 0, sizeof *t);
}

void at_tokens_free(at_tokens *t)
{
    if (!t) return;
    free(t->tok);
    free(t->sent_end);
    memset(t, 0, sizeof *t);
}

int at_tokenize(const char *text, size_t len, at_tokens *t, at_error *err)
{
    scanner sc;
    size_t pos, n0, s0;
    if (!t) return at_error_set(err, "at_tokenize: no token list given");
    if (len == 0) return 0;
    if (!text) return at_error_set(err, "at_tokenize: no text given (%zu bytes expected)", len);

    /* Validate everything first so that scanning needs no error paths and a
     * bad byte late in the text leaves t untouched. */
    for (pos = 0; pos < len;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)text + pos,
                                              (utf8proc_ssize_t)(len - pos), &c);
        if (n < 1) return at_error_set(err, "invalid UTF-8 at byte offset %zu of the text", pos);
        if (c == 0) return at_error_set(err, "NUL byte at byte offset %zu of the text", pos);
        pos += (size_t)n;
    }

    memset(&sc, 0, sizeof sc);
    sc.s = text;
    sc.len = len;
    sc.t = t;
    sc.err = err;
    sc.sent_start = t->n;
    n0 = t->n;
    s0 = t->n_sent;

    for (pos = 0; pos < len;) {
        unit u;
        int rc = 0;
        unit_at(&sc, pos, &u);
        switch (u.cls) {
        case C_SPACE: {
            size_t k = pos, next;
            while (k < u.end) {
                int32_t c = cp_at(&sc, k, &next);
                /* CR LF is one break; form feed and U+2029 end a paragraph. */
                if (c == '\n' || c == 0x0B || c == 0x85 || c == 0x2028 ||
                    (c == '\r' && !(next < len && text[next] == '\n')))
                    sc.newlines++;
                else if (c == 0x0C || c == 0x2029)
                    sc.newlines += 2;
                k = next;
            }
            sc.gap = 1;
            pos = u.end;
            break;
        }
        case C_CJK: {
            size_t q = u.end;
            unit m;
            for (;;) {
                unit_at(&sc, q, &m);
                if (m.cls != C_CJK) break;
                q = m.end;
            }
            rc = emit(&sc, pos, q, T_NONE);
            pos = q;
            break;
        }
        case C_WORD:
            rc = do_word(&sc, &pos);
            break;
        case C_PUNCT:
            rc = do_punct(&sc, &pos, &u);
            break;
        }
        if (rc < 0) {
            t->n = n0;
            t->n_sent = s0;
            return -1;
        }
    }
    if (t->n > sc.sent_start && push_sentence(&sc) < 0) {
        t->n = n0;
        t->n_sent = s0;
        return -1;
    }
    return 0;
}

int at_line_space(char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

int at_line_blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!at_line_space(line[i]))
            return 0;
    return 1;
}

int at_tokenize_text(const char *text, size_t len, at_tokens *t, at_error *err)
{
    size_t n0 = t->n, s0 = t->n_sent, para = 0, end = 0, bad; /* paragraph [para, end) */
    if (len && !text)
        return at_error_set(err, "at_tokenize_text: no text given (%zu bytes expected)", len);
    if (at_utf8_check(text, len, &bad)) /* checked whole, for offsets into all of it */
        return at_error_set(err, "%s at byte offset %zu of the text",
                            text[bad] ? "invalid UTF-8" : "NUL byte", bad);
    for (size_t at = 0; at <= len;) {
        const char *nl = at < len ? memchr(text + at, '\n', len - at) : NULL;
        size_t eol = nl ? (size_t)(nl - text) : len, next = nl ? eol + 1 : len + 1;
        int blank = at_line_blank(text + at, eol - at);
        if (!blank && end == para)
            para = at;
        if (!blank)
            end = next < len ? next : len;
        if ((blank || next > len) && end > para) {
            size_t k = t->n;
            if (at_tokenize(text + para, end - para, t, err)) {
                t->n = n0;
                t->n_sent = s0;
                return -1;
            }
            for (; k < t->n; k++)
                t->tok[k].start += para;
            para = end;
        }
        at = next;
    }
    return 0;
}

static int same_nocase(const char *a, size_t alen, const char *b)
{
    size_t i = 0;
    for (; i < alen && b[i]; i++)
        if ((a[i] | 0x20) != (b[i] | 0x20))
            return 0;
    return i == alen && !b[i];
}

static int prefix_nocase(const char *a, size_t alen, const char *w)
{
    for (size_t i = 0; i < alen; i++)
        if (!w[i] || (a[i] | 0x20) != (w[i] | 0x20))
            return 0;
    return 1;
}

int at_clitic(const char *a, size_t alen, const char *b, size_t blen)
{
    static const char rq[] = "\xE2\x80\x99"; /* U+2019 */
    size_t q = blen >= 1 && b[0] == '\'' ? 1 : blen >= 3 && !memcmp(b, rq, 3) ? 3 : 0;
    if (q && blen > q && (b[q] | 0x20) >= 'a' && (b[q] | 0x20) <= 'z')
        return 1; /* 's 'm 're 'll 've 'd */
    if (same_nocase(b, blen, "n't") ||
        (blen == 5 && (b[0] | 0x20) == 'n' && !memcmp(b + 1, rq, 3) && (b[4] | 0x20) == 't'))
        return 1;
    for (size_t i = 0; i < sizeof fused / sizeof *fused; i++) {
        const char *w = fused[i].w;
        if (alen == fused[i].cut && blen == strlen(w) - alen &&
            prefix_nocase(a, alen, w) && same_nocase(b, blen, w + alen))
            return 1;
    }
    return 0;
}
