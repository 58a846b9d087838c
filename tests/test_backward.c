/*
 * test_backward.c - the backward pass, proven two ways: against central
 * finite differences of the loss (every tensor of several configurations,
 * dropout included), and against the gradients PyTorch's autograd computed
 * for the reference fixtures (tests/fixtures/torch_reference.py).
 */
#include "tests.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_TOK = 64 };

typedef struct gc {
    at_model *m, *grads;
    at_state *st;
    at_feats f;
    uint32_t gold[AT_MAX_TAGSETS][MAX_TOK];
    float *dlogits[AT_MAX_TAGSETS];
    uint64_t seed;
} gc;

/* loss: sum over tag sets of the mean cross-entropy; fills dlogits. Runs the
 * forward pass with the same dropout stream every time. */
static double loss(gc *g)
{
    at_error err;
    const at_config *c = at_model_config(g->m);
    at_state_seed(g->st, g->seed);
    ck_assert_msg(at_forward(g->m, g->st, &g->f, 0, g->f.n, &err) == 0, "%s", err.msg);
    double L = 0;
    size_t n = g->f.n;
    for (int t = 0; t < c->n_tagsets; t++) {
        size_t T = at_model_n_tags(g->m, t);
        const float *lg = at_state_logits(g->st, t);
        for (size_t i = 0; i < n; i++) {
            double mx = -INFINITY, z = 0;
            for (size_t k = 0; k < T; k++)
                mx = fmax(mx, lg[i * T + k]);
            for (size_t k = 0; k < T; k++)
                z += exp(lg[i * T + k] - mx);
            L += (log(z) + mx - lg[i * T + g->gold[t][i]]) / (double)n;
            for (size_t k = 0; k < T; k++)
                g->dlogits[t][i * T + k] =
                    (float)((exp(lg[i * T + k] - mx) / z - (k == g->gold[t][i])) / (double)n);
        }
    }
    return L;
}

static void gc_init(gc *g, at_model *m, const char *const *tokens, size_t n, float p_drop)
{
    at_error err;
    memset(g, 0, sizeof *g);
    g->m = m;
    g->seed = 42;
    ck_assert_msg(at_model_copy(m, &g->grads, &err) == 0, "%s", err.msg);
    ck_assert(at_state_new(m, &g->st, &err) == 0);
    ck_assert_msg(at_state_set_training(g->st, p_drop, p_drop, p_drop, &err) == 0, "%s", err.msg);
    at_feats_init(&g->f);
    for (size_t i = 0; i < n; i++)
        ck_assert(at_feats_add(m, &g->f, tokens[i], strlen(tokens[i]), &err) == 0);
    const at_config *c = at_model_config(m);
    for (int t = 0; t < c->n_tagsets; t++) {
        g->dlogits[t] = calloc(n * at_model_n_tags(m, t), sizeof(float));
        for (size_t i = 0; i < n; i++)
            g->gold[t][i] = (uint32_t)((i * 7 + (size_t)t * 3 + 1) % at_model_n_tags(m, t));
    }
}

static void gc_free(gc *g)
{
    for (int t = 0; t < AT_MAX_TAGSETS; t++)
        free(g->dlogits[t]);
    at_feats_free(&g->f);
    at_state_free(g->st);
    at_model_free(g->grads);
}

static void analytic(gc *g)
{
    at_error err;
    at_model_zero(g->grads);
    loss(g);
    ck_assert_msg(at_backward(g->m, g->st, &g->f, 0, (const float *const *)g->dlogits, g->grads,
                              &err) == 0, "%s", err.msg);
}

/* check_fd: compare analytic gradients with central differences for a sample
 * of the elements of every tensor that the sentence reaches. */
static void check_fd(gc *g, const char *what)
{
    analytic(g);
    int compared = 0;
    unsigned seed = 1;
    for (size_t i = 0; i < at_model_n_tensors(g->m); i++) {
        at_tensor_info ti;
        at_model_tensor_info(g->m, i, &ti);
        size_t n;
        float *w = at_model_tensor_f32(g->m, ti.name, &n);
        const float *dw = at_model_tensor_data(g->grads, ti.name, NULL);
        /* elements with a gradient, and a few without (they must stay zero) */
        for (int s = 0; s < 12; s++) {
            size_t k = (size_t)rand_r(&seed) % n;
            if (s < 8) /* prefer elements the sentence reaches */
                for (size_t tries = 0; tries < n && dw[k] == 0.0f; tries++)
                    k = (k + 1) % n;
            float keep = w[k], h = 2e-3f * fmaxf(1.0f, fabsf(keep));
            w[k] = keep + h;
            at_model_changed(g->m);
            double lp = loss(g);
            w[k] = keep - h;
            at_model_changed(g->m);
            double lm = loss(g);
            w[k] = keep;
            at_model_changed(g->m);
            double fd = (lp - lm) / (2.0 * h), an = dw[k];
            double tol = 2e-2 * fmax(fabs(fd), fabs(an)) + 5e-4;
            ck_assert_msg(fabs(fd - an) <= tol, "%s: %s[%zu]: backward %.6g, finite difference %.6g",
                          what, ti.name, k, an, fd);
            compared++;
        }
    }
    ck_assert_int_gt(compared, 100);
}

static const char *const SENT[] = {"The", "dog", "runs", "to", "Paris", ".", "zyxw", "42",
                                   "Café", "我们", "naïve", "DOG"};

static at_model *fixture_copy(const char *name)
{
    at_model *m, *w;
    at_error err;
    ck_assert_msg(at_model_load(test_path(name), AT_FILE_AUTO, &m, &err) == 0, "%s", err.msg);
    ck_assert_msg(at_model_copy(m, &w, &err) == 0, "%s", err.msg);
    at_model_free(m);
    return w;
}

START_TEST(finite_differences_pre_ln)
{
    at_model *m = fixture_copy("tests/fixtures/ref_pre.json");
    gc g;
    gc_init(&g, m, SENT, 12, 0.0f);
    check_fd(&g, "pre-LN");
    gc_free(&g);
    at_model_free(m);
}
END_TEST

START_TEST(finite_differences_post_ln)
{
    at_model *m = fixture_copy("tests/fixtures/ref_post.json");
    gc g;
    gc_init(&g, m, SENT, 12, 0.0f);
    check_fd(&g, "post-LN");
    gc_free(&g);
    at_model_free(m);
}
END_TEST

/* Dropout masks come from the seeded stream, so the loss is a fixed function
 * of the weights and finite differences still apply. (GELU: finite
 * differences across ReLU's kink would measure the kink, not the code.) */
START_TEST(finite_differences_with_dropout)
{
    at_model *m = fixture_copy("tests/fixtures/ref_post.json");
    gc g;
    gc_init(&g, m, SENT, 12, 0.2f);
    check_fd(&g, "dropout");
    gc_free(&g);
    at_model_free(m);
}
END_TEST

/* One pre-LN GELU block, global attention, absolute and relative positions. */
START_TEST(finite_differences_single_block)
{
    at_config c;
    at_config_default(&c);
    c.dim = 8;
    c.heads = 2;
    c.layers = 1;
    c.ffn_dim = 12;
    c.window[0] = 0;
    c.rel_pos = 2;
    c.abs_pos = 1;
    c.char_buckets = 32;
    c.char_dim = 4;
    c.n_tagsets = 1;
    const char *vocab[] = {"<unk>", "the", "dog"};
    at_model *m = test_random_model(&c, vocab, 3, 3, 3, 0.5f);
    gc g;
    gc_init(&g, m, SENT, 6, 0.0f);
    check_fd(&g, "single block");
    gc_free(&g);
    gc_init(&g, m, SENT, 6, 0.3f);
    check_fd(&g, "single block, dropout");
    gc_free(&g);
    at_model_free(m);
}
END_TEST

/* Blocks that mix with a window FC (figure B) or not at all (figure A),
 * beside one that attends, pre- and post-LN, with and without dropout. */
START_TEST(finite_differences_mixers)
{
    for (int post = 0; post < 2; post++) {
        at_config c;
        at_config_default(&c);
        c.dim = 8;
        c.heads = 2;
        c.layers = 3;
        c.ffn_dim = 12;
        c.norm = post ? AT_NORM_POST : AT_NORM_PRE;
        c.mixer[0] = AT_MIX_WINDOW;
        c.window[0] = 2;
        c.mixer[1] = AT_MIX_NONE;
        c.window[1] = 0;
        c.mixer[2] = AT_MIX_ATTENTION;
        c.window[2] = 0;
        c.char_buckets = 32;
        c.char_dim = 4;
        c.n_tagsets = 1;
        const char *vocab[] = {"<unk>", "the", "dog"};
        at_model *m = test_random_model(&c, vocab, 3, 3, 5, 0.5f);
        ck_assert(at_model_tensor_data(m, "layers.0.window.weight", NULL) != NULL);
        ck_assert(at_model_tensor_data(m, "layers.1.attn_norm.weight", NULL) == NULL);
        gc g;
        gc_init(&g, m, SENT, 7, 0.0f);
        check_fd(&g, post ? "mixers, post-LN" : "mixers, pre-LN");
        gc_free(&g);
        gc_init(&g, m, SENT, 7, 0.3f);
        check_fd(&g, "mixers, dropout");
        gc_free(&g);
        at_model_free(m);
    }
}
END_TEST

/* The gradients torch's autograd computed, in float64, for the same loss. */
static void check_torch(const char *name)
{
    char mp[128], ep[128];
    snprintf(mp, sizeof mp, "tests/fixtures/ref_%s.json", name);
    snprintf(ep, sizeof ep, "tests/fixtures/ref_%s.expect.json", name);
    cJSON *exp = test_load_json(test_path(ep));
    const cJSON *gr = cJSON_GetObjectItem(exp, "grad");
    ck_assert_msg(gr != NULL, "%s has no \"grad\" object", ep);
    int si = cJSON_GetObjectItem(gr, "sentence")->valueint;
    const cJSON *sent = cJSON_GetArrayItem(cJSON_GetObjectItem(exp, "sentences"), si);
    const cJSON *toks = cJSON_GetObjectItem(sent, "tokens");
    size_t n = (size_t)cJSON_GetArraySize(toks);
    ck_assert(n <= MAX_TOK);
    const char *tokens[MAX_TOK];
    for (size_t i = 0; i < n; i++)
        tokens[i] = cJSON_GetArrayItem(toks, (int)i)->valuestring;
    at_model *m = fixture_copy(mp);
    gc g;
    gc_init(&g, m, tokens, n, 0.0f);
    const at_config *c = at_model_config(m);
    for (int t = 0; t < c->n_tagsets; t++) {
        const cJSON *gold = cJSON_GetObjectItem(cJSON_GetObjectItem(gr, "gold"), c->tagset[t]);
        for (size_t i = 0; i < n; i++)
            g.gold[t][i] = (uint32_t)cJSON_GetArrayItem(gold, (int)i)->valueint;
    }
    analytic(&g);
    double L = loss(&g);
    double want_L = cJSON_GetObjectItem(gr, "loss")->valuedouble;
    ck_assert_msg(fabs(L - want_L) <= 1e-4 * fmax(1, fabs(want_L)), "loss %.9g, torch %.9g", L,
                  want_L);
    size_t checked = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(gr, "grads"))
    {
        size_t cnt;
        const float *dw = at_model_tensor_data(g.grads, t->string, &cnt);
        ck_assert_msg(dw != NULL, "no gradient for %s", t->string);
        ck_assert_uint_eq((size_t)cJSON_GetArraySize(t), cnt);
        double scale = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, t) scale = fmax(scale, fabs(v->valuedouble));
        size_t k = 0;
        cJSON_ArrayForEach(v, t)
        {
            /* a gradient that is zero in exact arithmetic (k's bias: softmax
             * ignores what is added to every score of a row) is what the
             * floats leave over, which the order of the sums decides */
            double want = v->valuedouble, tol = 5e-4 * fmax(fabs(want), 5e-2 * scale) +
                                                (scale < 1e-12 ? 2.5e-7 : 1e-7);
            ck_assert_msg(fabs(dw[k] - want) <= tol, "%s: %s[%zu]: attntag %.9g, torch %.9g",
                          name, t->string, k, dw[k], want);
            k++;
            checked++;
        }
    }
    ck_assert_uint_eq(cJSON_GetArraySize(cJSON_GetObjectItem(gr, "grads")), at_model_n_tensors(m));
    ck_assert_uint_gt(checked, 1000);
    gc_free(&g);
    at_model_free(m);
    cJSON_Delete(exp);
}

START_TEST(torch_gradients_pre)
{
    check_torch("pre");
}
END_TEST

START_TEST(torch_gradients_post)
{
    check_torch("post");
}
END_TEST

Suite *backward_suite(void)
{
    Suite *s = suite_create("backward");
    TCase *tc = tcase_create("gradients");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, finite_differences_pre_ln);
    tcase_add_test(tc, finite_differences_post_ln);
    tcase_add_test(tc, finite_differences_with_dropout);
    tcase_add_test(tc, finite_differences_single_block);
    tcase_add_test(tc, finite_differences_mixers);
    tcase_add_test(tc, torch_gradients_pre);
    tcase_add_test(tc, torch_gradients_post);
    suite_add_tcase(s, tc);
    return s;
}
