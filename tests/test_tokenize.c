/*
 * test_tokenize.c - Check suite for the raw-text tokenizer (at_tokenize).
 *
 * Most cases are one table: an input text and the expected output written by
 * hand from UD English EWT / Penn conventions, tokens separated by one space
 * and sentences by " | ". The other tests cover what a table cannot: empty
 * input, errors (which must leave the token list untouched), appending, and
 * a 100 KB token. Exports tokenize_suite(); main() lives elsewhere.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "attntag.h"

/* Render t as "tok tok | tok tok", checking on the way what must hold for
 * any output: spans non-empty, inside the text, in order and disjoint;
 * sentence ends increasing, non-empty and the last one at t->n. */
static char *render(const char *text, size_t len, const at_tokens *t)
{
    size_t i, s = 0, size = 1, o = 0, prev_end = 0, prev_sent = 0;
    char *out;
    for (i = 0; i < t->n; i++) size += t->tok[i].len + 1;
    size += 2 * t->n_sent;
    out = malloc(size);
    ck_assert_ptr_nonnull(out);
    if (t->n == 0) ck_assert_uint_eq(t->n_sent, 0);
    else ck_assert_uint_eq(t->sent_end[t->n_sent - 1], t->n);
    for (s = 0; s < t->n_sent; s++) {
        ck_assert_uint_gt(t->sent_end[s], prev_sent);
        prev_sent = t->sent_end[s];
    }
    for (i = 0, s = 0; i < t->n; i++) {
        const at_span *sp = &t->tok[i];
        ck_assert_uint_gt(sp->len, 0);
        ck_assert_uint_ge(sp->start, prev_end);
        ck_assert_uint_le(sp->start + sp->len, len);
        prev_end = sp->start + sp->len;
        if (i > 0) {
            if (s < t->n_sent && t->sent_end[s] == i) {
                memcpy(out + o, " | ", 3);
                o += 3;
                s++;
            } else {
                out[o++] = ' ';
            }
        }
        memcpy(out + o, text + sp->start, sp->len);
        o += sp->len;
    }
    out[o] = '\0';
    return out;
}

static char *tokenize_render(const char *text, size_t len)
{
    at_tokens t;
    at_error err;
    char *out;
    at_tokens_init(&t);
    err.msg[0] = '\0';
    ck_assert_msg(at_tokenize(text, len, &t, &err) == 0, "at_tokenize failed: %s", err.msg);
    out = render(text, len, &t);
    at_tokens_free(&t);
    return out;
}

typedef struct tok_case {
    const char *in;
    const char *want;
} tok_case;

static const tok_case cases[] = {
    /* Sentences and plain punctuation */
    {"I can't go. He did.", "I ca n't go . | He did ."},
    {"Hello world", "Hello world"},
    {"Hello, world!", "Hello , world !"},
    {"Is it raining? Yes; take an umbrella: the big one.",
     "Is it raining ? | Yes ; take an umbrella : the big one ."},
    {"She said (quietly) [twice] {once}.", "She said ( quietly ) [ twice ] { once } ."},
    {"no punctuation at all", "no punctuation at all"},
    {"Why? because I said so.", "Why ? | because I said so ."},
    {"Great :) Next time... maybe not.", "Great :) | Next time ... maybe not ."},
    {"It ended. - Next item", "It ended . | - Next item"},
    {"Acme Inc. Phone 555", "Acme Inc. Phone 555"},
    {"He was 5. 6 was next.", "He was 5 . | 6 was next ."},
    {"Done. (Really.) Fine.", "Done . | ( Really . ) | Fine ."},
    {"(He left.) Then she came.", "( He left . ) | Then she came ."},
    {"Hola. ¿Qué tal?", "Hola . | ¿ Qué tal ?"},
    {"I said no. Then I left.", "I said no . | Then I left ."},
    {"He is taller than I. We know.", "He is taller than I . | We know ."},
    /* Quotes, ASCII and Unicode */
    {"\"Stop!\" he yelled.", "\" Stop ! \" he yelled ."},
    {"\"Stop!\" He left.", "\" Stop ! \" | He left ."},
    {"Done. \"Yes,\" he said.", "Done . | \" Yes , \" he said ."},
    {"“Hello,” she said. ‘Fine.’ He nodded.", "“ Hello , ” she said . | ‘ Fine . ’ | He nodded ."},
    {"Il a dit «bonjour» hier.", "Il a dit « bonjour » hier ."},
    {"We said ''hi'' and ``bye''.", "We said '' hi '' and `` bye '' ."},
    /* Clitics */
    {"Don't do that.", "Do n't do that ."},
    {"We won't, can't and shouldn't.", "We wo n't , ca n't and should n't ."},
    {"I'm here and it's late.", "I 'm here and it 's late ."},
    {"We're sure they'll come.", "We 're sure they 'll come ."},
    {"I've seen what he'd do.", "I 've seen what he 'd do ."},
    {"John's car is red.", "John 's car is red ."},
    {"I don’t know if it’s John’s.", "I do n’t know if it ’s John ’s ."},
    {"The students' books.", "The students ' books ."},
    {"DON'T SHOUT.", "DO N'T SHOUT ."},
    {"I cannot go, I'm gonna stay.", "I can not go , I 'm gon na stay ."},
    {"Rock'n'roll at five o'clock.", "Rock'n'roll at five o'clock ."},
    {"I'd've gone.", "I 'd 've gone ."},
    {"John 's dog ca n't bark .", "John 's dog ca n't bark ."},
    {"In the '90s it ain't so.", "In the '90s it ai n't so ."},
    /* Abbreviations */
    {"Dr. Smith met Mr. Jones and Mrs. Brown.", "Dr. Smith met Mr. Jones and Mrs. Brown ."},
    {"Use e.g. salt, i.e. NaCl.", "Use e.g. salt , i.e. NaCl ."},
    {"He moved to the U.S. in 1990.", "He moved to the U.S. in 1990 ."},
    {"I live in the U.S.", "I live in the U.S."},
    {"J. K. Rowling wrote it.", "J. K. Rowling wrote it ."},
    {"It was Jan. 5 at 3 p.m. sharp.", "It was Jan. 5 at 3 p.m. sharp ."},
    {"Apples, pears, etc. The end.", "Apples , pears , etc. | The end ."},
    {"Acme Inc. makes tools.", "Acme Inc. makes tools ."},
    {"Dr. Who is here. Mr. Smith", "Dr. Who is here . | Mr. Smith"},
    {"See No. 5 and vol. 2.", "See No. 5 and vol. 2 ."},
    {"Apples, pears etc... fine.", "Apples , pears etc ... fine ."},
    /* Hyphens, dashes, ellipses, runs */
    /* UD English splits hyphenated compounds, but not after a bound prefix */
    {"A well-known e-mail trick.", "A well - known e-mail trick ."},
    {"Non-human co-workers re-read a search-engine mid-July.",
     "Non-human co-workers re-read a search - engine mid-July ."},
    {"A 15-year-old F-16.", "A 15 - year - old F - 16 ."},
    {"Call 713-853-3989 or 646-8420 in 1990-1995.",
     "Call 713-853-3989 or 646-8420 in 1990 - 1995 ."},
    {"Call 3-5213 or ext. 25 at 10-15.", "Call 3-5213 or ext. 25 at 10 - 15 ."},
    {"Sent 01-Feb-02 to DC 20006-3700; theres more, wont stop.",
     "Sent 01-Feb-02 to DC 20006-3700 ; there s more , wo nt stop ."},
    /* contractions typed without their apostrophe, as EWT splits them */
    {"I dont know, cant say, im sure thats alot.",
     "I do nt know , ca nt say , i m sure that s a lot ."},
    /* emoticons, rules, runs of a currency sign */
    {"Great :) and sad :-( and ok;) now", "Great :) and sad :-( and ok ; ) now"},
    {"See :D", "See :D"},
    {"----==== $$$ ====----", "----==== $$$ ====----"},
    {"Wait--what?", "Wait -- what ?"},
    {"Yes -- no --- maybe.", "Yes -- no --- maybe ."},
    {"Well... maybe.", "Well ... maybe ."},
    {"Well... I don't know.", "Well ... | I do n't know ."},
    {"Wait… What?", "Wait … | What ?"},
    {"Really?! Yes!!!", "Really ?! | Yes !!!"},
    /* Numbers */
    {"Pi is 3.14 and e is 2.718.", "Pi is 3.14 and e is 2.718 ."},
    {"We sold 1,000,000 units.", "We sold 1,000,000 units ."},
    {"It was -5 degrees, then +3.5 and .5 later.",
     "It was -5 degrees , then +3.5 and .5 later ."},
    {"Temps (-5 to 10) fell.", "Temps ( -5 to 10 ) fell ."},
    {"Meet at 12:30, not 9:15.", "Meet at 12:30 , not 9:15 ."},
    {"Prices rose 50% in 2020.", "Prices rose 50 % in 2020 ."},
    {"Up 3.5% today.", "Up 3.5 % today ."},
    {"The score was 3-2.", "The score was 3 - 2 ."},
    /* Currency */
    {"It costs $5 or €4.50 or £3.", "It costs $ 5 or € 4.50 or £ 3 ."},
    {"US$5 or 5€ or 10¢.", "US $ 5 or 5 € or 10 ¢ ."},
    {"He paid $1,000.50.", "He paid $ 1,000.50 ."},
    /* URLs and e-mail */
    {"See http://example.com/path?q=1.", "See http://example.com/path?q=1 ."},
    {"Go to https://www.example.org/a/b. Then stop.", "Go to https://www.example.org/a/b . | Then stop ."},
    {"Visit www.example.com/path, now.", "Visit www.example.com/path , now ."},
    {"(See https://en.wikipedia.org/wiki/Foo_(bar).)",
     "( See https://en.wikipedia.org/wiki/Foo_(bar) . )"},
    {"Mail a.b@c.org.", "Mail a.b@c.org ."},
    {"Write to john.smith+tag@mail.example.co.uk, please.",
     "Write to john.smith+tag@mail.example.co.uk , please ."},
    {"Ask me@home now, or Rice@ENRON.", "Ask me@home now , or Rice@ENRON ."},
    /* Other word-internal punctuation */
    {"AT&T and/or R&D w/o 10/20/2004.", "AT&T and / or R&D w/o 10/20/2004 ."},
    {"Call my_func now.", "Call my_func now ."},
    {"Thanks @john_doe #winning!", "Thanks @john_doe #winning !"},
    /* Whitespace of every kind */
    {"New\u00a0York is big.", "New York is big ."},
    {"One\ttwo\nthree\r\nfour.", "One two three four ."},
    {"a\u3000b\u2003c\u202fd", "a b c d"},
    {"\ufeffHello\u200bthere.", "Hello there ."},
    {"Title\n\nFirst line here.", "Title | First line here ."},
    {"a b\n \t\nc d", "a b | c d"},
    {"a b\r\n\r\nc d", "a b | c d"},
    {"Dr.\n\nSmith", "Dr. | Smith"},
    {"This is\nlowercase. and more", "This is lowercase . | and more"},
    /* CJK */
    {"我们走吧，好吗？好的。", "我们走吧 ， 好吗 ？ | 好的 。"},
    {"「你好。」他说。", "「 你好 。 」 | 他说 。"},
    {"今天天气很好！我们去公园吧。", "今天天气很好 ！ | 我们去公园吧 。"},
    {"東京は大きいです。私は学生です。", "東京は大きいです 。 | 私は学生です 。"},
    {"我用iPhone手机。", "我用 iPhone 手机 。"},
    {"苹果、香蕉（黄色）：好吃；", "苹果 、 香蕉 （ 黄色 ） ： 好吃 ；"},
    {"コーヒーを飲む。 It is good.", "コーヒーを飲む 。 | It is good ."},
    {"He said: 你好。 Then left.", "He said : 你好 。 | Then left ."},
    /* Other scripts and combining sequences */
    {"안녕하세요. 반갑습니다.", "안녕하세요 . | 반갑습니다 ."},
    {"Cafe\u0301 au lait.", "Cafe\u0301 au lait ."},
    {"Great 👍🏽 job!", "Great 👍🏽 job !"},
    /* Nothing to tokenize */
    {"", ""},
    {"   \t\n  \u00a0\u3000", ""},
};

enum { N_CASES = sizeof cases / sizeof cases[0] };

START_TEST(test_table)
{
    const tok_case *c = &cases[_i];
    char *got = tokenize_render(c->in, strlen(c->in));
    ck_assert_msg(strcmp(got, c->want) == 0, "case %d: input [%s]\n  want [%s]\n  got  [%s]", _i,
                  c->in, c->want, got);
    free(got);
}
END_TEST

START_TEST(test_empty)
{
    at_tokens t;
    at_error err;
    at_tokens_init(&t);
    ck_assert_int_eq(at_tokenize("", 0, &t, &err), 0);
    ck_assert_int_eq(at_tokenize(NULL, 0, &t, &err), 0);
    ck_assert_int_eq(at_tokenize(" \n\n\t\r\n ", 7, &t, &err), 0);
    ck_assert_uint_eq(t.n, 0);
    ck_assert_uint_eq(t.n_sent, 0);
    at_tokens_free(&t);
    at_tokens_free(&t); /* freeing twice is harmless */
}
END_TEST

/* Bad input of each kind: -1, a message naming the offset, t untouched. */
START_TEST(test_invalid_utf8)
{
    static const struct { const char *s; size_t len; } bad[] = {
        {"abc \xff def", 9},
        {"caf\xc3", 4},                 /* truncated sequence */
        {"x\xc0\xaf", 3},               /* overlong */
        {"\xed\xa0\x80 surrogate", 13}, /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", 4},        /* above U+10FFFF */
        {"\x80 lone continuation", 19},
        {"nul\0byte", 8},               /* NUL inside the text */
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        at_tokens t;
        at_error err;
        at_tokens_init(&t);
        ck_assert_int_eq(at_tokenize("Hi there. Bye.", 14, &t, &err), 0);
        ck_assert_uint_eq(t.n, 5);
        ck_assert_uint_eq(t.n_sent, 2);
        err.msg[0] = '\0';
        ck_assert_int_eq(at_tokenize(bad[i].s, bad[i].len, &t, &err), -1);
        ck_assert_msg(strstr(err.msg, "offset") != NULL, "case %zu: message [%s]", i, err.msg);
        ck_assert_uint_eq(t.n, 5);
        ck_assert_uint_eq(t.n_sent, 2);
        at_tokens_free(&t);
    }
}
END_TEST

/* Appending: spans stay relative to each text, sentence ends continue. */
START_TEST(test_append)
{
    at_tokens t;
    at_error err;
    const char *a = "One two. Three", *b = "Four.";
    at_tokens_init(&t);
    ck_assert_int_eq(at_tokenize(a, strlen(a), &t, &err), 0);
    ck_assert_int_eq(at_tokenize(b, strlen(b), &t, &err), 0);
    ck_assert_uint_eq(t.n, 6);
    ck_assert_uint_eq(t.n_sent, 3);
    ck_assert_uint_eq(t.sent_end[0], 3);
    ck_assert_uint_eq(t.sent_end[1], 4);
    ck_assert_uint_eq(t.sent_end[2], 6);
    ck_assert_uint_eq(t.tok[3].start, 9);
    ck_assert_uint_eq(t.tok[3].len, 5);
    ck_assert_uint_eq(t.tok[4].start, 0);
    ck_assert_uint_eq(t.tok[5].start, 4);
    at_tokens_free(&t);
}
END_TEST

/* Only part of a buffer is tokenized: len, not a NUL, ends the text. */
START_TEST(test_len_bounds)
{
    char *got = tokenize_render("Hello there. More text", 12);
    ck_assert_str_eq(got, "Hello there .");
    free(got);
}
END_TEST

/* A 100 KB word is one token; a 100 KB CJK run too. */
START_TEST(test_long_token)
{
    const size_t n = 100 * 1024;
    const char *tail = ". Next one.";
    char *text = malloc(n + strlen(tail) + 1), *want = malloc(n + 32), *got;
    size_t i;
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(want);
    memset(text, 'a', n);
    strcpy(text + n, tail);
    memcpy(want, text, n);
    strcpy(want + n, " . | Next one .");
    got = tokenize_render(text, strlen(text));
    ck_assert_str_eq(got, want);
    free(got);

    /* 34133 ideographs of 3 bytes each, then a full stop. */
    for (i = 0; i + 3 <= n; i += 3) memcpy(text + i, "字", 3);
    memcpy(text + i, "。", 3);
    got = tokenize_render(text, i + 3);
    ck_assert_uint_eq(strlen(got), i + 4);
    ck_assert_int_eq(memcmp(got + i, " 。", 4), 0);
    free(got);
    free(text);
    free(want);
}
END_TEST

/* Punctuation inside a long run must not make scanning quadratic: 100 KB
 * of "a%a%..." must finish well inside the test timeout. */
START_TEST(test_long_mixed)
{
    const size_t n = 100 * 1024;
    char *text = malloc(n + 1);
    at_tokens t;
    at_error err;
    size_t i;
    ck_assert_ptr_nonnull(text);
    for (i = 0; i < n; i++) text[i] = i % 2 ? '%' : 'a';
    text[n] = '\0';
    at_tokens_init(&t);
    ck_assert_int_eq(at_tokenize(text, n, &t, &err), 0);
    ck_assert_uint_eq(t.n, n);
    ck_assert_uint_eq(t.n_sent, 1);
    at_tokens_free(&t);
    free(text);
}
END_TEST

Suite *tokenize_suite(void)
{
    Suite *s = suite_create("tokenize");
    TCase *tc = tcase_create("table");
    tcase_add_loop_test(tc, test_table, 0, N_CASES);
    suite_add_tcase(s, tc);
    tc = tcase_create("api");
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_invalid_utf8);
    tcase_add_test(tc, test_append);
    tcase_add_test(tc, test_len_bounds);
    tcase_add_test(tc, test_long_token);
    tcase_add_test(tc, test_long_mixed);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
