/*
 * test_session.c - tagging tokens held in memory (session.c): the tags and
 * probabilities at_tag gives each sentence alone, whatever else is in the
 * call; malformed token buffers refused with their place; running text
 * tokenized as the raw-text reader (`--tokenize`) reads it.
 */
#include "tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static at_model *model(void)
{
    at_config c;
    at_config_default(&c);
    c.dim = 16;
    c.heads = 2;
    c.layers = 2;
    c.ffn_dim = 24;
    c.max_len = 8; /* sentences past it are tagged in chunks */
    c.n_tagsets = 1;
    const char *vocab[] = {"<unk>", "the", "dog", "cat", "runs"};
    return test_random_model(&c, vocab, 5, 5, 7, 0.5f);
}

static const char *const words[] = {"the", "dog", "runs", "Zebra", "quickly", "cat", "!", "42"};

/* Sentence k: k % 13 words (0: an empty sentence; 9 to 12: longer than max_len). */
static size_t sentence_len(size_t k) { return k % 13; }
static const char *word(size_t k, size_t i) { return words[(k * 5 + i * 3) % 8]; }

START_TEST(same_as_each_sentence_alone)
{
    at_model *m = model();
    at_error err;
    at_session *s;
    ck_assert_int_eq(at_session_new(m, &s, &err), 0);
    enum { N = 60 };
    uint32_t len[N];
    size_t total = 0, bytes = 0;
    for (size_t k = 0; k < N; k++) {
        len[k] = (uint32_t)sentence_len(k);
        for (size_t i = 0; i < len[k]; i++)
            bytes += strlen(word(k, i)) + 1;
        total += len[k];
    }
    char *buf = malloc(bytes), *p = buf;
    for (size_t k = 0; k < N; k++)
        for (size_t i = 0; i < len[k]; i++) {
            size_t l = strlen(word(k, i)) + 1;
            memcpy(p, word(k, i), l);
            p += l;
        }
    size_t T = at_model_n_tags(m, 0);
    uint32_t *tags = malloc(total * sizeof *tags);
    float *probs = malloc(total * T * sizeof *probs);
    ck_assert_int_eq(at_session_tag(s, buf, bytes, len, N, tags, probs, &err), 0);

    /* each sentence alone, through the features and at_tag */
    at_state *st;
    ck_assert_int_eq(at_state_new(m, &st, &err), 0);
    at_feats f;
    at_feats_init(&f);
    size_t first = 0;
    for (size_t k = 0; k < N; k++) {
        at_feats_clear(&f);
        for (size_t i = 0; i < len[k]; i++)
            ck_assert_int_eq(at_feats_add(m, &f, word(k, i), strlen(word(k, i)), &err), 0);
        uint32_t t0[16];
        float p0[16 * 8];
        uint32_t *tg[1] = {t0};
        float *pr[1] = {p0};
        if (len[k])
            ck_assert_int_eq(at_tag(m, st, &f, tg, pr, &err), 0);
        for (size_t i = 0; i < len[k]; i++) {
            ck_assert_uint_eq(tags[first + i], t0[i]);
            ck_assert_mem_eq(probs + (first + i) * T, p0 + i * T, T * sizeof *p0);
        }
        first += len[k];
    }
    /* tags alone, no probabilities: the same tags */
    uint32_t *again = malloc(total * sizeof *again);
    ck_assert_int_eq(at_session_tag(s, buf, bytes, len, N, again, NULL, &err), 0);
    ck_assert_mem_eq(again, tags, total * sizeof *tags);
    free(again);
    at_feats_free(&f);
    at_state_free(st);
    free(tags);
    free(probs);
    free(buf);
    at_session_free(s);
    at_model_free(m);
}
END_TEST

/* A call larger than what a session featurises at once (16,384 tokens):
 * tagged in windows, each sentence as at_tag gives it alone, and an error in
 * a later window names its sentence by its place in the call. */
START_TEST(large_calls_in_windows)
{
    at_model *m = model();
    at_error err;
    at_session *s;
    ck_assert_int_eq(at_session_new(m, &s, &err), 0);
    enum { N = 7 };
    uint32_t len[N] = {9000, 3, 9000, 20000, 0, 1, 5000};
    size_t total = 0;
    for (size_t k = 0; k < N; k++)
        total += len[k];
    char *buf = malloc(total * 8), *p = buf;
    for (size_t k = 0; k < N; k++)
        for (size_t i = 0; i < len[k]; i++)
            p += sprintf(p, "%s", word(k, i)) + 1;
    size_t bytes = (size_t)(p - buf);
    uint32_t *tags = malloc(total * sizeof *tags);
    ck_assert_int_eq(at_session_tag(s, buf, bytes, len, N, tags, NULL, &err), 0);
    at_state *st;
    ck_assert_int_eq(at_state_new(m, &st, &err), 0);
    at_feats f;
    at_feats_init(&f);
    uint32_t *alone = malloc(20000 * sizeof *alone);
    size_t first = 0;
    for (size_t k = 0; k < N; k++) {
        at_feats_clear(&f);
        for (size_t i = 0; i < len[k]; i++)
            ck_assert_int_eq(at_feats_add(m, &f, word(k, i), strlen(word(k, i)), &err), 0);
        uint32_t *tg[1] = {alone};
        if (len[k])
            ck_assert_int_eq(at_tag(m, st, &f, tg, NULL, &err), 0);
        ck_assert_mem_eq(tags + first, alone, len[k] * sizeof *alone);
        first += len[k];
    }
    /* the last sentence's last token made empty: sentence 7 */
    char *last = buf + bytes - 1;
    while (last[-1] != '\0')
        last--;
    *last = '\0';
    ck_assert_int_eq(at_session_tag(s, buf, bytes, len, N, tags, NULL, &err), -1);
    ck_assert_uint_eq(err.sentence, 7);
    ck_assert_str_eq(err.msg, "token 5000: an empty token");
    at_feats_free(&f);
    at_state_free(st);
    free(alone);
    free(tags);
    free(buf);
    at_session_free(s);
    at_model_free(m);
}
END_TEST

/* A buffer of tokens that does not match the sentence lengths, or holds a
 * token the features refuse: an error naming the place; the session then
 * tags again. */
START_TEST(malformed_tokens_refused)
{
    at_model *m = model();
    at_error err;
    at_session *s;
    ck_assert_int_eq(at_session_new(m, &s, &err), 0);
    uint32_t tags[8];
    uint32_t two[] = {2}, three[] = {1, 2}, one[] = {1};
    ck_assert_int_eq(at_session_tag(s, "the\0dog", 7, two, 1, tags, NULL, &err), -1);
    ck_assert_str_eq(err.msg, "token 2: the tokens end before it (each token ends with a NUL "
                              "byte)");
    ck_assert_uint_eq(err.sentence, 1);
    ck_assert_int_eq(at_session_tag(s, "the\0dog\0", 8, three, 2, tags, NULL, &err), -1);
    ck_assert_str_eq(err.msg, "token 2: the tokens end before it (each token ends with a NUL "
                              "byte)");
    ck_assert_uint_eq(err.sentence, 2);
    ck_assert_int_eq(at_session_tag(s, "the\0dog\0", 8, one, 1, tags, NULL, &err), -1);
    ck_assert_str_eq(err.msg, "4 bytes after the last token of the 1 sentences");
    ck_assert_uint_eq(err.sentence, 0);
    ck_assert_int_eq(at_session_tag(s, "the\0\0", 5, two, 1, tags, NULL, &err), -1);
    ck_assert_str_eq(err.msg, "token 2: an empty token");
    ck_assert_int_eq(at_session_tag(s, "the\0d\xff\0", 7, two, 1, tags, NULL, &err), -1);
    ck_assert_str_eq(err.msg, "token 2: token is not valid UTF-8 (byte 1)");
    ck_assert_uint_eq(err.sentence, 1);
    ck_assert_int_eq(at_session_tag(s, "the\0dog\0", 8, two, 1, tags, NULL, &err), 0);
    /* what a binding may pass by mistake: refused, never followed */
    ck_assert_int_eq(at_session_tag(s, NULL, 8, two, 1, tags, NULL, &err), -1);
    ck_assert_str_eq(err.msg, "at_session_tag: no tokens given");
    ck_assert_int_eq(err.kind, AT_ERR_USAGE);
    ck_assert_int_eq(at_session_tag(s, "the\0dog\0", 8, NULL, 1, tags, NULL, &err), -1);
    ck_assert_str_eq(err.msg, "at_session_tag: no sentence lengths given");
    ck_assert_int_eq(at_session_tag(NULL, "the\0", 4, one, 1, tags, NULL, &err), -1);
    ck_assert_str_eq(err.msg, "at_session_tag: no session given");
    ck_assert_int_eq(at_session_tag(s, NULL, 0, NULL, 0, tags, NULL, &err), 0);
    const at_tokens *t;
    ck_assert_int_eq(at_session_tokenize(s, NULL, 3, &t, &err), -1);
    ck_assert_str_eq(err.msg, "at_session_tokenize: no text given");
    ck_assert_int_eq(at_session_tokenize(s, NULL, 0, &t, &err), 0);
    ck_assert_uint_eq(t->n, 0);
    at_session *none;
    ck_assert_int_eq(at_session_new(NULL, &none, &err), -1);
    ck_assert_str_eq(err.msg, "at_session_new: no model given");
    at_session_free(s);
    at_model_free(m);
}
END_TEST

/* The tokens and sentences of running text, against what the raw-text
 * reader gives for the same text (paragraphs, blank lines of spaces, CR LF,
 * a sentence that goes on across a line break). */
START_TEST(tokenize_as_the_reader_does)
{
    static const char text[] =
        "  Mr. Smith went to Washington. He didn't stay\nlong!\n"
        " \t \n\nA new paragraph, with no end\r\n\r\n"
        "Third one: 3.14 and AT&T.\n  \nLast line without a newline";
    at_model *m = model();
    at_error err;
    at_session *s;
    ck_assert_int_eq(at_session_new(m, &s, &err), 0);
    const at_tokens *t;
    ck_assert_int_eq(at_session_tokenize(s, text, sizeof text - 1, &t, &err), 0);

    FILE *fp = fmemopen((void *)text, sizeof text - 1, "r");
    at_reader *r;
    ck_assert_int_eq(at_reader_new(fp, "text", AT_IN_RAW, &r, &err), 0);
    at_sentence sent;
    at_sentence_init(&sent);
    size_t tok = 0, si = 0;
    int rc;
    while ((rc = at_reader_next(r, &sent, &err)) == 1) {
        ck_assert_uint_lt(si, t->n_sent);
        ck_assert_uint_eq(t->sent_end[si] - (si ? t->sent_end[si - 1] : 0), sent.n);
        for (size_t i = 0; i < sent.n; i++, tok++) {
            ck_assert_uint_eq(t->tok[tok].len, sent.tok_len[i]);
            ck_assert_mem_eq(text + t->tok[tok].start, sent.tok[i], sent.tok_len[i]);
        }
        si++;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(si, t->n_sent);
    ck_assert_uint_eq(tok, t->n);
    ck_assert_uint_ge(t->n_sent, 5); /* the paragraphs keep their sentences apart */
    at_sentence_free(&sent);
    at_reader_free(r);
    fclose(fp);

    /* a bad byte: an error, and the tokens of the text before are not kept */
    ck_assert_int_eq(at_session_tokenize(s, "Fine.\n\nBad \xc3.", 13, &t, &err), -1);
    ck_assert_str_eq(err.msg, "invalid UTF-8 at byte offset 11 of the text");
    ck_assert_uint_eq(t->n, 0);
    ck_assert_int_eq(at_session_tokenize(s, "One.\n\nTwo\0.", 10, &t, &err), -1);
    ck_assert_str_eq(err.msg, "NUL byte at byte offset 9 of the text");
    ck_assert_int_eq(at_session_tokenize(s, "", 0, &t, &err), 0);
    ck_assert_uint_eq(t->n, 0);
    at_session_free(s);
    at_model_free(m);
}
END_TEST

Suite *session_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("tokens");
    tcase_add_test(tc, same_as_each_sentence_alone);
    tcase_add_test(tc, large_calls_in_windows);
    tcase_add_test(tc, malformed_tokens_refused);
    tcase_add_test(tc, tokenize_as_the_reader_does);
    suite_add_tcase(s, tc);
    return s;
}
