/*
 * test_reference.c - the engine against an independent PyTorch computation.
 * tests/fixtures/torch_reference.py builds small random models with the semantics of
 * docs/model-format.md (nn.TransformerEncoderLayer, EmbeddingBag, ...), and
 * writes them with token features, logits and attention weights computed in
 * float64 (and cross-checked there against plain numpy). Here attntag loads
 * the same model and must agree to 1e-4 relative.
 */
#include "tests.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void close_enough(double got, double want, const char *what, int a, int b, int c)
{
    double tol = 1e-4 * fmax(1.0, fabs(want));
    ck_assert_msg(fabs(got - want) <= tol, "%s [%d][%d][%d]: attntag %.9g, reference %.9g", what,
                  a, b, c, got, want);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void check_fixture(const char *name, const char *model_file)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/ref_%s.expect.json", name);
    cJSON *exp = test_load_json(test_path(path));
    at_model *m;
    at_state *st;
    at_error err;
    ck_assert_msg(at_model_load(model_file, AT_FILE_AUTO, &m, &err) == 0, "%s", err.msg);
    ck_assert_msg(at_state_new(m, &st, &err) == 0, "%s", err.msg);
    const at_config *c = at_model_config(m);
    at_feats f;
    at_feats_init(&f);
    int si = 0, checked = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(exp, "sentences"))
    {
        at_feats_clear(&f);
        const cJSON *tok;
        cJSON_ArrayForEach(tok, cJSON_GetObjectItem(s, "tokens"))
        ck_assert_msg(at_feats_add(m, &f, tok->valuestring, strlen(tok->valuestring), &err) == 0,
                      "%s", err.msg);
        size_t n = f.n;
        for (size_t i = 0; i < n; i++) {
            int wid = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "word_ids"), (int)i)->valueint;
            int shp = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "shapes"), (int)i)->valueint;
            ck_assert_msg(f.word[i] == (uint32_t)wid, "%s s%d t%zu word id %u, want %d", name,
                          si, i, f.word[i], wid);
            ck_assert_msg(f.shape[i] == shp, "%s s%d t%zu shape %d, want %d", name, si, i,
                          f.shape[i], shp);
            const cJSON *ng = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "ngrams"), (int)i);
            size_t k = (size_t)cJSON_GetArraySize(ng);
            ck_assert_uint_eq(f.ng_off[i + 1] - f.ng_off[i], k);
            uint32_t *want = malloc(k * sizeof *want + 1), *got = f.ng + f.ng_off[i];
            for (size_t g = 0; g < k; g++)
                want[g] = (uint32_t)cJSON_GetArrayItem(ng, (int)g)->valueint;
            qsort(want, k, sizeof *want, cmp_u32);
            uint32_t *sorted = malloc(k * sizeof *sorted + 1);
            memcpy(sorted, got, k * sizeof *sorted);
            qsort(sorted, k, sizeof *sorted, cmp_u32);
            ck_assert_msg(k == 0 || memcmp(want, sorted, k * sizeof *want) == 0,
                          "%s s%d t%zu: n-gram buckets differ", name, si, i);
            free(want);
            free(sorted);
        }
        ck_assert_msg(at_forward(m, st, &f, 0, n, &err) == 0, "%s", err.msg);
        for (int t = 0; t < c->n_tagsets; t++) {
            const cJSON *lg = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "logits"), c->tagset[t]);
            ck_assert_msg(lg != NULL, "no logits for %s", c->tagset[t]);
            size_t T = at_model_n_tags(m, t);
            const float *out = at_state_logits(st, t);
            for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < T; k++) {
                    double want = cJSON_GetArrayItem(cJSON_GetArrayItem(lg, (int)i), (int)k)
                                      ->valuedouble;
                    close_enough(out[i * T + k], want, "logits", si, (int)i, (int)k);
                    checked++;
                }
        }
        const cJSON *att = cJSON_GetObjectItem(s, "attention");
        for (int l = 0; l < c->layers; l++) {
            const float *w = at_state_attention(st, l);
            const cJSON *al = cJSON_GetArrayItem(att, l);
            for (int h = 0; h < c->heads; h++)
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < n; j++) {
                        double want = cJSON_GetArrayItem(
                                          cJSON_GetArrayItem(cJSON_GetArrayItem(al, h), (int)i),
                                          (int)j)->valuedouble;
                        close_enough(w[((size_t)h * n + i) * n + j], want, "attention", l,
                                     (int)i, (int)j);
                    }
        }
        si++;
    }
    ck_assert_int_ge(si, 4);
    ck_assert_int_gt(checked, 100);
    at_feats_free(&f);
    at_state_free(st);
    at_model_free(m);
    cJSON_Delete(exp);
}

START_TEST(pre_ln_json)
{
    check_fixture("pre", test_path("tests/fixtures/ref_pre.json"));
}
END_TEST

START_TEST(post_ln_json)
{
    check_fixture("post", test_path("tests/fixtures/ref_post.json"));
}
END_TEST

/* The same models through the binary format: what is saved is what runs. */
START_TEST(through_safetensors)
{
    const char *names[] = {"pre", "post"};
    for (int i = 0; i < 2; i++) {
        char src[128];
        snprintf(src, sizeof src, "tests/fixtures/ref_%s.json", names[i]);
        at_model *m;
        at_error err;
        ck_assert_msg(at_model_load(test_path(src), AT_FILE_AUTO, &m, &err) == 0, "%s", err.msg);
        const char *bin = test_tmp(".safetensors");
        ck_assert_msg(at_model_save(m, bin, AT_FILE_SAFETENSORS, &err) == 0, "%s", err.msg);
        at_model_free(m);
        check_fixture(names[i], bin);
        remove(bin);
    }
}
END_TEST

Suite *reference_suite(void)
{
    Suite *s = suite_create("reference");
    TCase *tc = tcase_create("torch");
    tcase_add_test(tc, pre_ln_json);
    tcase_add_test(tc, post_ln_json);
    tcase_add_test(tc, through_safetensors);
    suite_add_tcase(s, tc);
    return s;
}
