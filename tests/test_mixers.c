/*
 * test_mixers.c - the lecture's figures as configurations of one engine:
 * what each block mixes (self-attention, a window FC, nothing) decides which
 * tokens a token's scores can depend on; the config names the figure and
 * survives its JSON form. (Their gradients: test_backward.c.)
 */
#include "tests.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 9 };

static const char *const WORDS[N] = {"the", "dog", "saw", "a", "cat", "on", "the", "mat", "."};

/* logits of the first tag set for WORDS with word `change` replaced */
static void logits(at_model *m, int change, float *out)
{
    at_state *st;
    at_feats f;
    at_error err;
    at_feats_init(&f);
    ck_assert(at_state_new(m, &st, &err) == 0);
    for (int i = 0; i < N; i++) {
        const char *w = i == change ? "zebra" : WORDS[i];
        ck_assert(at_feats_add(m, &f, w, strlen(w), &err) == 0);
    }
    ck_assert_msg(at_forward(m, st, &f, 0, N, &err) == 0, "%s", err.msg);
    memcpy(out, at_state_logits(st, 0), N * at_model_n_tags(m, 0) * sizeof *out);
    at_state_free(st);
    at_feats_free(&f);
}

static at_model *model(int layers, at_mixer mixer, int window)
{
    at_config c;
    at_config_default(&c);
    c.dim = 16;
    c.heads = 2;
    c.layers = layers;
    c.ffn_dim = 24;
    c.n_tagsets = 1;
    for (int l = 0; l < layers; l++) {
        c.mixer[l] = mixer;
        c.window[l] = window;
    }
    const char *vocab[] = {"<unk>", "the", "dog", "cat"};
    return test_random_model(&c, vocab, 4, 5, 11, 0.5f);
}

/* reach: how far a change to token 4 moves the others' scores, the farthest
 * token whose scores move */
static int reach(at_model *m)
{
    size_t T = at_model_n_tags(m, 0);
    float a[N * 8], b[N * 8];
    ck_assert(T <= 8);
    logits(m, -1, a);
    logits(m, 4, b);
    int far = 0;
    for (int i = 0; i < N; i++) {
        float diff = 0;
        for (size_t k = 0; k < T; k++)
            diff = fmaxf(diff, fabsf(a[i * T + k] - b[i * T + k]));
        if (diff > 1e-6f && abs(i - 4) > far)
            far = abs(i - 4);
    }
    ck_assert_msg(a[4 * T] != b[4 * T], "changing token 4 did not change its own scores");
    return far;
}

/* A: no token sees another; B: each layer widens the field by k; C, D with
 * global attention: every token sees every other at once. */
START_TEST(receptive_fields)
{
    struct { int layers; at_mixer mixer; int window, reach; const char *figure; } cases[] = {
        {2, AT_MIX_NONE, 0, 0, "fc"},      {1, AT_MIX_WINDOW, 1, 1, "window"},
        {2, AT_MIX_WINDOW, 1, 2, "window"}, {1, AT_MIX_WINDOW, 2, 2, "window"},
        {1, AT_MIX_ATTENTION, 0, 4, "attn"}, {2, AT_MIX_ATTENTION, 1, 2, "stacked"},
        {2, AT_MIX_ATTENTION, 0, 4, "stacked"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        at_model *m = model(cases[i].layers, cases[i].mixer, cases[i].window);
        ck_assert_str_eq(at_config_figure(at_model_config(m)), cases[i].figure);
        ck_assert_msg(reach(m) == cases[i].reach, "case %zu: reach %d, expected %d", i,
                      reach(m), cases[i].reach);
        at_model_free(m);
    }
}
END_TEST

START_TEST(config_json)
{
    at_config c, back;
    at_error err;
    at_config_default(&c);
    c.layers = 3;
    c.mixer[0] = AT_MIX_WINDOW;
    c.window[0] = 2;
    c.mixer[1] = AT_MIX_NONE;
    c.window[1] = 0;
    c.mixer[2] = AT_MIX_ATTENTION;
    c.window[2] = 0;
    ck_assert_str_eq(at_config_figure(&c), "mixed");
    char *js = at_config_to_json(&c);
    ck_assert(strstr(js, "\"mixer\":[\"window\",\"none\",\"attention\"]"));
    ck_assert_msg(at_config_from_json(&back, js, strlen(js), &err) == 0, "%s", err.msg);
    ck_assert_int_eq(memcmp(&c, &back, sizeof c), 0);
    free(js);
    at_config_default(&c); /* every block attends: no "mixer", as in older files */
    js = at_config_to_json(&c);
    ck_assert(!strstr(js, "mixer"));
    free(js);
    const char *bad[] = {
        "\"mixer\":[\"window\",\"conv\"]",  /* no such mixer */
        "\"mixer\":[\"window\"]",           /* one per layer */
        "\"mixer\":[\"attention\",\"window\"]", /* window[1] is 0: a window FC needs >= 1 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char doc[512];
        snprintf(doc, sizeof doc,
                 "{\"dim\":8,\"heads\":2,\"layers\":2,\"ffn_dim\":8,\"max_len\":16,\"norm\":\"pre\","
                 "\"activation\":\"gelu\",\"window\":[1,0],%s,\"rel_pos\":0,\"abs_pos\":false,"
                 "\"lowercase\":true,\"char_buckets\":0,\"char_dim\":0,\"ngram_min\":0,"
                 "\"ngram_max\":0,\"shape\":true,\"lexicon_bits\":0,\"ln_eps\":1e-5,"
                 "\"tagsets\":[\"upos\"]}", bad[i]);
        ck_assert_msg(at_config_from_json(&back, doc, strlen(doc), &err) != 0, "accepted %s",
                      bad[i]);
        ck_assert(strstr(err.msg, "mixer") || strstr(err.msg, "window"));
    }
}
END_TEST

Suite *mixers_suite(void)
{
    Suite *s = suite_create("mixers");
    TCase *tc = tcase_create("figures");
    tcase_add_test(tc, receptive_fields);
    tcase_add_test(tc, config_json);
    suite_add_tcase(s, tc);
    return s;
}
