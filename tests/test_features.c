/*
 * test_features.c - what the network sees of a token: shapes, hashing,
 * normalisation and n-grams over code points (CJK included).
 */
#include "tests.h"

#include <stdlib.h>
#include <string.h>

START_TEST(shapes)
{
    /* Expected classes written by hand from the rules in docs/model-format.md. */
    static const struct { const char *tok; int shape; } cases[] = {
        {"dog", 1},    {"Dog", 2},      {"DOG", 3},    {"iPhone", 4}, {"McDonald", 4},
        {"1984", 5},   {"3.14", 6},     {"1,000", 6},  {"B2B", 7},    {"4th", 7},
        {".", 8},      {"$", 8},        {"--", 8},     {"我们", 9},    {"Straße", 2},
        {"ÉCOLE", 3},  {"naïve", 1},    {"I", 2},      {"A.", 2},     {"U.S.", 3},
        {"e-mail", 1}, {"\xcc\x81", 0}, {"½", 5},      {"ǅungla", 2}, {"٣", 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        ck_assert_msg(at_word_shape(cases[i].tok, strlen(cases[i].tok)) == cases[i].shape,
                      "shape of \"%s\" is %d, expected %d", cases[i].tok,
                      at_word_shape(cases[i].tok, strlen(cases[i].tok)), cases[i].shape);
}
END_TEST

START_TEST(fnv1a_published_vectors)
{
    ck_assert_uint_eq(at_fnv1a("", 0), 0x811c9dc5u);
    ck_assert_uint_eq(at_fnv1a("a", 1), 0xe40c292cu);
    ck_assert_uint_eq(at_fnv1a("foobar", 6), 0xbf9cf968u);
}
END_TEST

START_TEST(normalisation)
{
    static const struct { const char *in; int lower; const char *out; } cases[] = {
        {"Cafe\xcc\x81", 0, "Caf\xc3\xa9"}, /* NFC composes */
        {"Café", 1, "café"},
        {"Straße", 1, "strasse"},           /* case folding, not just lowercasing */
        {"ＡＢＣ", 1, "abc"},                  /* NFKC folds full-width forms */
        {"ﬁne", 1, "fine"},
        {"我们", 1, "我们"},
        {"DOG", 0, "DOG"},
    };
    at_error err;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *k = at_normalize(cases[i].in, strlen(cases[i].in), cases[i].lower, &err);
        ck_assert_msg(k != NULL, "%s", err.msg);
        ck_assert_str_eq(k, cases[i].out);
        free(k);
    }
}
END_TEST

START_TEST(utf8_validation)
{
    size_t bad = 0;
    ck_assert_int_eq(at_utf8_check("abc", 3, &bad), 0);
    ck_assert_int_eq(at_utf8_check("我们", strlen("我们"), &bad), 0);
    ck_assert_int_eq(at_utf8_check("ab\xff", 3, &bad), -1);
    ck_assert_uint_eq(bad, 2);
    ck_assert_int_eq(at_utf8_check("a\0b", 3, &bad), -1);
    ck_assert_uint_eq(bad, 1);
    ck_assert_int_eq(at_utf8_check("\xc3", 1, &bad), -1);          /* truncated */
    ck_assert_int_eq(at_utf8_check("\xed\xa0\x80", 3, &bad), -1);  /* surrogate */
    ck_assert_int_eq(at_utf8_check("\xc0\xaf", 2, &bad), -1);      /* overlong */
}
END_TEST

/* A model whose only job is to hold a vocabulary and a feature config. */
static at_model *feature_model(int buckets, int nmin, int nmax)
{
    at_config c;
    at_config_default(&c);
    c.dim = 4;
    c.heads = 1;
    c.ffn_dim = 2;
    c.layers = 0;
    c.char_buckets = buckets;
    c.char_dim = 2;
    c.ngram_min = nmin;
    c.ngram_max = nmax;
    c.n_tagsets = 1;
    const char *vocab[] = {"<unk>", "the", "我们"}, *t0[] = {"X", "Y", "Z"};
    const char *const *tags[] = {t0};
    size_t nt[] = {3};
    at_model *m;
    at_error err;
    ck_assert_msg(at_model_new(&c, vocab, 3, tags, nt, &m, &err) == 0, "%s", err.msg);
    return m;
}

START_TEST(ngrams_over_code_points)
{
    at_model *m = feature_model(1 << 20, 2, 4);
    at_feats f;
    at_error err;
    at_feats_init(&f);
    ck_assert(at_feats_add(m, &f, "我们", strlen("我们"), &err) == 0);
    ck_assert(at_feats_add(m, &f, "The", 3, &err) == 0);
    ck_assert(at_feats_add(m, &f, "zebra", 5, &err) == 0);
    /* "<我们>" is 4 code points: 3 bigrams + 2 trigrams + 1 four-gram */
    ck_assert_uint_eq(f.ng_off[1] - f.ng_off[0], 6);
    /* its first bigram is "<我", hashed over its 4 UTF-8 bytes */
    uint32_t want = at_fnv1a("<我", strlen("<我")) % (1u << 20);
    int found = 0;
    for (uint32_t g = f.ng_off[0]; g < f.ng_off[1]; g++)
        found |= f.ng[g] == want;
    ck_assert(found);
    /* "<the>": 4 + 3 + 2 */
    ck_assert_uint_eq(f.ng_off[2] - f.ng_off[1], 9);
    ck_assert_uint_eq(f.word[0], 2);
    ck_assert_uint_eq(f.word[1], 1); /* "The" is folded to "the" */
    ck_assert_uint_eq(f.word[2], 0); /* unknown */
    ck_assert_uint_eq(f.shape[1], 2);
    ck_assert_int_eq(at_feats_add(m, &f, "a\xff", 2, &err), -1);
    ck_assert(strstr(err.msg, "UTF-8"));
    at_feats_free(&f);
    at_model_free(m);
}
END_TEST

/* Sentences longer than max_len are tagged in chunks, never refused. With no
 * layers a token's tag depends on the token alone, so the chunked result must
 * equal tagging each token by itself: any slip in the chunk bookkeeping shows. */
START_TEST(long_sentence_chunks)
{
    at_model *m = feature_model(0, 2, 4);
    const char *names[] = {"embed.word", "embed.shape", "heads.upos.weight"};
    unsigned seed = 7;
    for (int t = 0; t < 3; t++) {
        size_t cnt;
        float *w = at_model_tensor_f32(m, names[t], &cnt);
        ck_assert(w);
        for (size_t i = 0; i < cnt; i++)
            w[i] = (float)(rand_r(&seed) % 2001 - 1000) / 1000.0f;
    }
    at_state *st;
    at_feats f, one;
    at_error err;
    at_feats_init(&f);
    at_feats_init(&one);
    ck_assert(at_state_new(m, &st, &err) == 0);
    static const char *const words[] = {"the", "The", "x", "我们", "42", "!"};
    size_t n = 1000; /* > max_len 128 */
    for (size_t i = 0; i < n; i++) {
        const char *w = words[(i * 7 + i / 3) % 6];
        ck_assert(at_feats_add(m, &f, w, strlen(w), &err) == 0);
    }
    uint32_t *tags = malloc(n * sizeof *tags);
    uint32_t *const tv[] = {tags};
    ck_assert_msg(at_tag(m, st, &f, tv, NULL, &err) == 0, "%s", err.msg);
    int differ = 0;
    for (size_t i = 0; i < n; i++) {
        const char *w = words[(i * 7 + i / 3) % 6];
        at_feats_clear(&one);
        ck_assert(at_feats_add(m, &one, w, strlen(w), &err) == 0);
        uint32_t alone;
        uint32_t *const av[] = {&alone};
        ck_assert(at_tag(m, st, &one, av, NULL, &err) == 0);
        ck_assert_msg(tags[i] == alone, "token %zu: %u in the long sentence, %u alone", i,
                      tags[i], alone);
        differ |= alone != tags[0];
    }
    ck_assert_msg(differ, "all tags equal: the test would not see a slip");
    ck_assert_int_eq(at_forward(m, st, &f, 0, 129, &err), -1); /* one chunk is bounded */
    free(tags);
    at_feats_free(&f);
    at_feats_free(&one);
    at_state_free(st);
    at_model_free(m);
}
END_TEST

/* probs of `words` tagged as one sentence by state st, into p [n, 3] */
static void tag_probs(at_model *m, at_state *st, const char *const *words, size_t n, float *p)
{
    at_feats f;
    at_error err;
    at_feats_init(&f);
    for (size_t i = 0; i < n; i++)
        ck_assert(at_feats_add(m, &f, words[i], strlen(words[i]), &err) == 0);
    float *const pv[] = {p};
    ck_assert_msg(at_tag(m, st, &f, NULL, pv, &err) == 0, "%s", err.msg);
    at_feats_free(&f);
}

/* A run state keeps the embeddings of the word forms it has seen (forward.c):
 * a sentence tagged after many others gives the bits a new state gives it,
 * and after the weights change, the new weights' bits, not the old. */
START_TEST(embedding_cache_gives_a_new_states_bits)
{
    at_model *m = feature_model(1 << 10, 2, 4);
    static const char *const names[] = {"embed.word", "embed.char", "embed.char_proj",
                                        "heads.upos.weight"};
    unsigned seed = 11;
    for (int t = 0; t < 4; t++) {
        size_t cnt;
        float *w = at_model_tensor_f32(m, names[t], &cnt);
        ck_assert_msg(w, "%s", names[t]);
        for (size_t i = 0; i < cnt; i++)
            w[i] = (float)(rand_r(&seed) % 2001 - 1000) / 1000.0f;
    }
    static const char *const s[] = {"the", "cats", "我们", "sat", "the", "mats", "."};
    enum { N = sizeof s / sizeof *s };
    float fresh[N * 3], warm[N * 3], other[4 * 3], changed[N * 3], other40[40 * 3];
    at_state *st, *st2;
    at_error err;
    ck_assert(at_state_new(m, &st, &err) == 0);
    tag_probs(m, st, s, N, fresh);
    at_state_free(st);

    ck_assert(at_state_new(m, &st, &err) == 0);
    for (int r = 0; r < 50; r++) { /* every form of s, in other sentences */
        const char *const o[] = {s[(r + 1) % N], "dogs", s[r % N], s[(r + 3) % N]};
        tag_probs(m, st, o, 4, other);
    }
    tag_probs(m, st, s, N, warm);
    ck_assert(memcmp(fresh, warm, sizeof fresh) == 0);
    /* 20,000 forms of five letters, more than the cache has slots: forms of
     * the same length and word id (unknown) meet in a slot, and only their
     * n-grams tell them apart */
    static char words[20000][6];
    const char *ptr[20000];
    for (size_t i = 0; i < 20000; i++) {
        for (int c = 0; c < 5; c++)
            words[i][c] = (char)('a' + rand_r(&seed) % 26);
        ptr[i] = words[i];
    }
    float first[40 * 3], again[40 * 3];
    at_state *st0;
    ck_assert(at_state_new(m, &st0, &err) == 0);
    tag_probs(m, st0, ptr, 40, first);
    at_state_free(st0);
    for (size_t i = 40; i + 40 <= 20000; i += 40)
        tag_probs(m, st, ptr + i, 40, other40);
    tag_probs(m, st, ptr, 40, again);
    ck_assert(memcmp(first, again, sizeof first) == 0);

    size_t cnt;
    float *w = at_model_tensor_f32(m, "embed.char", &cnt);
    for (size_t i = 0; i < cnt; i++)
        w[i] = -w[i];
    tag_probs(m, st, s, N, warm);
    ck_assert(at_state_new(m, &st2, &err) == 0);
    tag_probs(m, st2, s, N, changed);
    ck_assert(memcmp(changed, warm, sizeof warm) == 0);
    ck_assert_msg(memcmp(changed, fresh, sizeof fresh) != 0, "the change did not matter");
    at_state_free(st);
    at_state_free(st2);
    at_model_free(m);
}
END_TEST

/* at_feats_add takes printable ASCII tokens to their key without utf8proc:
 * lower case for NFKC case folding, unchanged for NFC. That holds only if
 * utf8proc agrees, character by character and for whole words. */
START_TEST(ascii_keys_are_what_utf8proc_gives)
{
    at_error err;
    char word[96 + 1];
    for (int c = 0x21; c <= 0x7E; c++) {
        char s[2] = {(char)c, 0};
        word[c - 0x21] = (char)c;
        for (int lower = 0; lower < 2; lower++) {
            char *k = at_normalize(s, 1, lower, &err);
            ck_assert(k != NULL);
            char want = (char)(lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
            ck_assert_msg(k[0] == want && k[1] == 0, "0x%02x (lowercase %d) -> \"%s\"", c,
                          lower, k);
            free(k);
        }
    }
    word[0x7E - 0x21 + 1] = 0;
    char *k = at_normalize(word, strlen(word), 1, &err);
    ck_assert_uint_eq(strlen(k), strlen(word));
    for (size_t i = 0; word[i]; i++)
        ck_assert(k[i] == (word[i] >= 'A' && word[i] <= 'Z' ? word[i] + 32 : word[i]));
    free(k);
}
END_TEST

/* The features of a word met again (kept in the at_feats, keyed by the
 * model) are those worked out afresh: each token added to one at_feats that
 * has seen many words, with two models in turn, equals the same token added
 * alone to a fresh at_feats. */
START_TEST(repeated_words_get_the_same_features)
{
    at_model *ma = NULL, *mb = NULL;
    at_error err;
    ck_assert_msg(at_model_load(test_path("tests/fixtures/ref_pre.json"), AT_FILE_AUTO, &ma,
                                &err) == 0, "%s", err.msg);
    ck_assert_msg(at_model_load(test_path("tests/fixtures/ref_post.json"), AT_FILE_AUTO, &mb,
                                &err) == 0, "%s", err.msg);
    static const char *const words[] = {"the", "dog", "The", "DOG", "Paris", "café", "a",
                                        "runs", "12", "x", "naïve", "abcdefghijkl",
                                        "abcdefghijklm", "dogs", "the"};
    enum { NW = sizeof words / sizeof *words };
    at_feats many;
    at_feats_init(&many);
    for (int round = 0; round < 3; round++)
        for (size_t w = 0; w < NW; w++) {
            const at_model *m = (w + (size_t)round) % 2 ? ma : mb;
            at_feats_clear(&many);
            ck_assert(at_feats_add(m, &many, words[w], strlen(words[w]), &err) == 0);
            at_feats one;
            at_feats_init(&one);
            ck_assert(at_feats_add(m, &one, words[w], strlen(words[w]), &err) == 0);
            ck_assert_uint_eq(many.word[0], one.word[0]);
            ck_assert_uint_eq(many.shape[0], one.shape[0]);
            ck_assert_uint_eq(many.lex[0], one.lex[0]);
            ck_assert_uint_eq(many.ng_off[1], one.ng_off[1]);
            ck_assert(memcmp(many.ng, one.ng, one.ng_off[1] * sizeof *one.ng) == 0);
            at_feats_free(&one);
        }
    at_feats_free(&many);
    at_model_free(ma);
    at_model_free(mb);
}
END_TEST

/* A token past AT_MAX_KEY bytes is unknown, and its n-grams are those of its
 * first AT_MAX_KEY bytes, cut before a character: the hostile 100 MB token
 * costs what a 1 KB one does. */
START_TEST(long_tokens_are_bounded)
{
    at_model *m = feature_model(1 << 20, 2, 4);
    at_feats f;
    at_error err;
    at_feats_init(&f);
    size_t n = 5 * AT_MAX_KEY;
    char *tok = malloc(n + 1);
    ck_assert(tok != NULL);
    /* "the" (a vocabulary word) then 3-byte characters, one of them across
     * the cut at AT_MAX_KEY bytes */
    memcpy(tok, "the", 3);
    for (size_t i = 3; i + 3 <= n; i += 3)
        memcpy(tok + i, "我", 3);
    tok[n - n % 3] = '\0';
    size_t len = strlen(tok);
    ck_assert(at_feats_add(m, &f, tok, len, &err) == 0);
    size_t cut = 3 + (AT_MAX_KEY - 3) / 3 * 3; /* whole characters within the limit */
    ck_assert(at_feats_add(m, &f, tok, cut, &err) == 0);
    ck_assert_uint_eq(f.word[0], 0);
    /* "<" + the code points of the first cut bytes + ">": as for the cut token */
    size_t cps = 3 + (cut - 3) / 3 + 2, want = 0;
    for (size_t k = 2; k <= 4; k++)
        want += cps - k + 1;
    ck_assert_uint_eq(f.ng_off[1] - f.ng_off[0], want);
    ck_assert_uint_eq(f.ng_off[2] - f.ng_off[1], want);
    for (size_t g = 0; g < want; g++)
        ck_assert_uint_eq(f.ng[f.ng_off[0] + g], f.ng[f.ng_off[1] + g]);
    free(tok);
    at_feats_free(&f);
    at_model_free(m);
}
END_TEST

Suite *features_suite(void)
{
    Suite *s = suite_create("features");
    TCase *tc = tcase_create("tokens");
    tcase_add_test(tc, shapes);
    tcase_add_test(tc, fnv1a_published_vectors);
    tcase_add_test(tc, normalisation);
    tcase_add_test(tc, utf8_validation);
    tcase_add_test(tc, ngrams_over_code_points);
    tcase_add_test(tc, long_sentence_chunks);
    tcase_add_test(tc, embedding_cache_gives_a_new_states_bits);
    tcase_add_test(tc, ascii_keys_are_what_utf8proc_gives);
    tcase_add_test(tc, long_tokens_are_bounded);
    tcase_add_test(tc, repeated_words_get_the_same_features);
    suite_add_tcase(s, tc);
    return s;
}
