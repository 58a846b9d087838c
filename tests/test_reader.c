/*
 * test_reader.c - input formats, and text that is broken in the usual ways.
 */
#include "tests.h"

#include <stdlib.h>
#include <string.h>

/* read_all: every sentence of text as "tok tok | tok" (lines: "|" ends each). */
static int read_all(const char *text, size_t len, at_input_format fmt, char *out, size_t cap,
                    at_error *err)
{
    FILE *fp = fmemopen((void *)text, len, "r");
    ck_assert(fp);
    at_reader *r;
    at_sentence s;
    at_sentence_init(&s);
    ck_assert(at_reader_new(fp, "mem", fmt, &r, err) == 0);
    out[0] = 0;
    int rc;
    while ((rc = at_reader_next(r, &s, err)) == 1) {
        for (size_t i = 0; i < s.n; i++) {
            strncat(out, s.tok[i], cap - strlen(out) - 1);
            strncat(out, " ", cap - strlen(out) - 1);
        }
        strncat(out, "|", cap - strlen(out) - 1);
    }
    at_sentence_free(&s);
    at_reader_free(r);
    fclose(fp);
    return rc;
}

#define READS(text, fmt, want)                                                             \
    do {                                                                                   \
        char got_[4096];                                                                   \
        at_error e_;                                                                       \
        ck_assert_msg(read_all(text, sizeof(text) - 1, fmt, got_, sizeof got_, &e_) == 0, \
                      "%s", e_.msg);                                                       \
        ck_assert_str_eq(got_, want);                                                      \
    } while (0)

START_TEST(lines)
{
    READS("a b  c\n\nd\te\n", AT_IN_LINES, "a b c ||d e |");
    READS("no newline", AT_IN_LINES, "no newline |");
    READS("crlf line\r\nx\r\n", AT_IN_LINES, "crlf line |x |");
    READS("\xEF\xBB\xBF" "bom first\n", AT_IN_LINES, "bom first |");
    READS("", AT_IN_LINES, "");
}
END_TEST

START_TEST(vertical)
{
    READS("a\nb\n\n\n c \n", AT_IN_VERTICAL, "a b |c |");
    READS("\n\n", AT_IN_VERTICAL, "");
}
END_TEST

START_TEST(conllu_keeps_every_line)
{
    static const char text[] =
        "# sent_id = 1\n"
        "1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
        "1\tdo\tdo\tAUX\tVBP\t_\t0\troot\t_\t_\n"
        "2\tn't\tnot\tPART\tRB\t_\t1\tadvmod\t_\t_\n"
        "2.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t1:x\t_\n"
        "\n"
        "1\tdogs\tdog\tNOUN\tNNS\t_\t0\troot\t_\t_\n"
        "\n";
    FILE *fp = fmemopen((void *)text, sizeof text - 1, "r");
    at_reader *r;
    at_sentence s;
    at_error err;
    at_sentence_init(&s);
    ck_assert(at_reader_new(fp, "mem", AT_IN_CONLLU, &r, &err) == 0);
    ck_assert_int_eq(at_reader_next(r, &s, &err), 1);
    ck_assert_uint_eq(s.n, 2); /* the range and the empty node are not tagged */
    ck_assert_str_eq(s.tok[0], "do");
    ck_assert_str_eq(s.tok[1], "n't");
    ck_assert_uint_eq(s.n_lines, 5);
    ck_assert_int_eq(s.line_tok[0], -1);
    ck_assert_int_eq(s.line_tok[1], -1);
    ck_assert_int_eq(s.line_tok[2], 0);
    ck_assert_int_eq(s.line_tok[4], -1);
    ck_assert_str_eq(s.line[4], "2.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t1:x\t_");
    /* the fields of each line but the comment, every column in place */
    ck_assert_ptr_null(at_sentence_fields(&s, 0));
    ck_assert_ptr_null(at_sentence_fields(&s, 5));
    const char *const *f = at_sentence_fields(&s, 1);
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f[0], "1-2");
    ck_assert_str_eq(f[1], "don't");
    f = at_sentence_fields(&s, 3);
    const char *want[] = {"2", "n't", "not", "PART", "RB", "_", "1", "advmod", "_", "_"};
    for (int c = 0; c < AT_CONLLU_COLS; c++)
        ck_assert_str_eq(f[c], want[c]);
    ck_assert_str_eq(at_sentence_fields(&s, 4)[8], "1:x");
    ck_assert_int_eq(at_reader_next(r, &s, &err), 1); /* the next sentence's own fields */
    ck_assert_uint_eq(s.n_lines, 1);
    ck_assert_str_eq(at_sentence_fields(&s, 0)[3], "NOUN");
    ck_assert_ptr_null(at_sentence_fields(&s, 1));
    ck_assert_int_eq(at_reader_next(r, &s, &err), 0);
    at_sentence_free(&s);
    at_reader_free(r);
    fclose(fp);
}
END_TEST

static void refused(const char *text, size_t len, at_input_format fmt, const char *needle)
{
    char got[256];
    at_error err = {.sentence = 0};
    ck_assert_int_eq(read_all(text, len, fmt, got, sizeof got, &err), -1);
    ck_assert_msg(strstr(err.msg, needle), "\"%s\" lacks \"%s\"", err.msg, needle);
}

START_TEST(bad_text)
{
    refused("ok\nbad \xff byte\n", 15, AT_IN_LINES, "mem:2: invalid UTF-8 at byte 5");
    refused("nul\0byte\n", 9, AT_IN_LINES, "mem:1: NUL byte at byte 4");
    refused("1\tonly three\tcols\n", 18, AT_IN_CONLLU, "mem:1: expected 10 tab-separated");
    refused("x\ta\tb\tc\td\te\tf\tg\th\ti\n", 20, AT_IN_CONLLU, "mem:1: expected a word ID");
}
END_TEST

/* read_pieces: the sentences of one line of lines input, joined: the pieces
 * of a long line are cut at white space (or before a character), each at
 * most AT_MAX_LINE bytes, all but the last marked cont. Returns the tokens
 * joined by spaces, or with join_tokens 0 simply concatenated. */
static char *read_pieces(const char *text, size_t len, int join_tokens, size_t *pieces)
{
    FILE *fp = fmemopen((void *)text, len, "r");
    at_reader *r;
    at_sentence s;
    at_error err;
    at_sentence_init(&s);
    ck_assert(at_reader_new(fp, "mem", AT_IN_LINES, &r, &err) == 0);
    char *all = calloc(2 * len + 1, 1);
    size_t used = 0;
    *pieces = 0;
    int cont = 1;
    while (cont) {
        at_sentence_clear(&s);
        ck_assert_int_eq(at_reader_next(r, &s, &err), 1);
        ck_assert_uint_eq(s.first_line, 1);
        size_t bytes = 0;
        for (size_t i = 0; i < s.n; i++) {
            if (join_tokens && used)
                all[used++] = ' ';
            memcpy(all + used, s.tok[i], s.tok_len[i]);
            used += s.tok_len[i];
            bytes += s.tok_len[i] + 1;
        }
        ck_assert_uint_le(bytes, AT_MAX_LINE + 1);
        cont = s.cont;
        ++*pieces;
    }
    ck_assert_int_eq(at_reader_next(r, &s, &err), 0);
    ck_assert_uint_eq(at_reader_long_lines(r), *pieces > 1);
    at_sentence_free(&s);
    at_reader_free(r);
    fclose(fp);
    return all;
}

START_TEST(megabyte_line)
{
    size_t n = 1 << 20;
    char *text = malloc(n + 1), *want = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        text[i] = i % 5 == 4 ? ' ' : 'a';
    text[n] = '\n';
    memcpy(want, text, n);
    want[n] = '\0'; /* the tokens joined by one space: the line itself (no space at its ends) */
    size_t pieces;
    char *got = read_pieces(text, n + 1, 1, &pieces);
    ck_assert_uint_ge(pieces, n / AT_MAX_LINE);
    ck_assert_msg(strcmp(got, want) == 0, "the tokens of the pieces are not the line's");
    free(got);
    /* one token of two-byte characters: cut before a character, nothing lost */
    for (size_t i = 0; i + 1 < n; i += 2)
        memcpy(text + i, "\xc3\xa9", 2);
    text[n] = '\n';
    memcpy(want, text, n);
    want[n] = '\0';
    got = read_pieces(text, n + 1, 0, &pieces);
    ck_assert_uint_ge(pieces, n / AT_MAX_LINE);
    size_t diff = 0;
    while (got[diff] && got[diff] == want[diff])
        diff++;
    ck_assert_msg(got[diff] == want[diff], "pieces differ from the line at byte %zu of %zu", diff,
                  strlen(want));
    free(got);
    free(text);
    free(want);
}
END_TEST

START_TEST(raw_text)
{
    READS("Hello world. It works!\n\nNew paragraph here\n", AT_IN_RAW,
          "Hello world . |It works ! |New paragraph here |");
}
END_TEST

Suite *reader_suite(void)
{
    Suite *s = suite_create("reader");
    TCase *tc = tcase_create("formats");
    tcase_add_test(tc, lines);
    tcase_add_test(tc, vertical);
    tcase_add_test(tc, conllu_keeps_every_line);
    tcase_add_test(tc, bad_text);
    tcase_add_test(tc, megabyte_line);
    tcase_add_test(tc, raw_text);
    suite_add_tcase(s, tc);
    return s;
}
