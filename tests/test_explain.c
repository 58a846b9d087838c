/*
 * test_explain.c - what `explain` shows (explain.c), read back from its JSON:
 * the tags and probabilities at_tag gives the same tokens, and per layer
 * and head a matrix of attention weights whose rows are distributions.
 */
#include "tests.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(json_is_the_forward_pass)
{
    at_config c;
    at_config_default(&c);
    c.dim = 16;
    c.heads = 2;
    c.layers = 2;
    c.ffn_dim = 24;
    c.n_tagsets = 1;
    const char *vocab[] = {"<unk>", "the", "dog", "runs"};
    at_model *m = test_random_model(&c, vocab, 4, 5, 9, 0.5f);
    const char *words[] = {"the", "dog", "runs", "fast", "."};
    size_t n = 5, T = at_model_n_tags(m, 0);
    at_sentence s;
    at_sentence_init(&s);
    at_error err;
    for (size_t i = 0; i < n; i++)
        ck_assert(at_sentence_add_token(&s, words[i], strlen(words[i]), &err) == 0);
    char *buf = NULL;
    size_t len;
    FILE *fp = open_memstream(&buf, &len);
    at_explainer *x;
    ck_assert_msg(at_explain_new(m, fp, AT_EXPLAIN_JSON, "test", &x, &err) == 0, "%s", err.msg);
    ck_assert_msg(at_explain_add(x, &s, &err) == 0, "%s", err.msg);
    ck_assert_msg(at_explain_finish(x, &err) == 0, "%s", err.msg);
    fclose(fp);
    /* the same tokens through at_tag */
    at_feats f;
    at_feats_init(&f);
    for (size_t i = 0; i < n; i++)
        ck_assert(at_feats_add(m, &f, words[i], strlen(words[i]), &err) == 0);
    at_state *st;
    ck_assert(at_state_new(m, &st, &err) == 0);
    uint32_t tags[5];
    float probs[5 * 8];
    uint32_t *tg[] = {tags};
    float *pr[] = {probs};
    ck_assert_msg(at_tag(m, st, &f, tg, pr, &err) == 0, "%s", err.msg);

    cJSON *j = cJSON_Parse(buf);
    ck_assert_msg(j, "not JSON: %s", buf);
    const cJSON *toks = cJSON_GetObjectItem(j, "tokens");
    ck_assert_int_eq(cJSON_GetArraySize(toks), (int)n);
    const char *name = at_model_config(m)->tagset[0];
    const cJSON *jt = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "tags"), name);
    const cJSON *jp = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "probs"), name);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(cJSON_GetArrayItem(toks, (int)i)->valuestring, words[i]);
        ck_assert_str_eq(cJSON_GetArrayItem(jt, (int)i)->valuestring, at_model_tag(m, 0, tags[i]));
        ck_assert_double_eq_tol(cJSON_GetArrayItem(jp, (int)i)->valuedouble,
                                probs[i * T + tags[i]], 1e-6);
    }
    const cJSON *layers = cJSON_GetObjectItem(j, "layers");
    ck_assert_int_eq(cJSON_GetArraySize(layers), c.layers);
    const cJSON *layer;
    cJSON_ArrayForEach(layer, layers)
    {
        const cJSON *heads = cJSON_GetObjectItem(layer, "weights");
        ck_assert_int_eq(cJSON_GetArraySize(heads), c.heads);
        const cJSON *h, *row, *w;
        cJSON_ArrayForEach(h, heads)
        {
            ck_assert_int_eq(cJSON_GetArraySize(h), (int)n);
            cJSON_ArrayForEach(row, h)
            {
                ck_assert_int_eq(cJSON_GetArraySize(row), (int)n);
                double sum = 0;
                cJSON_ArrayForEach(w, row)
                {
                    ck_assert(w->valuedouble >= 0 && w->valuedouble <= 1);
                    sum += w->valuedouble;
                }
                ck_assert_double_eq_tol(sum, 1.0, 1e-5); /* six printed decimals each */
            }
        }
    }
    cJSON_Delete(j);
    free(buf);
    at_state_free(st);
    at_feats_free(&f);
    at_sentence_free(&s);
    at_model_free(m);
}
END_TEST

Suite *explain_suite(void)
{
    Suite *s = suite_create("explain");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, json_is_the_forward_pass);
    suite_add_tcase(s, tc);
    return s;
}
