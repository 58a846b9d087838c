/*
 * test_eval_raw.c - scoring from running text (eval_raw.c): the gold text
 * rebuilt from # text or from the tokens, multiword tokens' words found in
 * it, and the counts of tokens, words and sentences, worked out by hand for
 * a small treebank.
 */
#include "tests.h"

#include <stdio.h>
#include <string.h>

/* Three sentences: one with # text and a multiword token whose words spell
 * it, one with # text, one without (its text made from its tokens). */
static const char GOLD[] =
    "# newdoc\n"
    "# text = I don't know.\n"
    "1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_\n"
    "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_\n"
    "4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No\n"
    "5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_\n"
    "\n"
    "# text = Dogs bark!\n"
    "1\tDogs\tdog\tNOUN\tNNS\t_\t2\tnsubj\t_\t_\n"
    "2\tbark\tbark\tVERB\tVBP\t_\t0\troot\t_\tSpaceAfter=No\n"
    "3\t!\t!\tPUNCT\t.\t_\t2\tpunct\t_\t_\n"
    "\n"
    "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\tSpaceAfter=No\n"
    "2\t!\t!\tPUNCT\t.\t_\t1\tpunct\t_\t_\n"
    "\n";

START_TEST(counts_from_running_text)
{
    at_config c;
    at_config_default(&c);
    c.dim = 8;
    c.heads = 2;
    c.layers = 1;
    c.ffn_dim = 8;
    c.n_tagsets = 1;
    const char *vocab[] = {"<unk>", "i", "do", "know"};
    at_model *m = test_random_model(&c, vocab, 4, 5, 3, 0.5f);
    FILE *fp = fmemopen((void *)GOLD, sizeof GOLD - 1, "r");
    ck_assert(fp);
    int model_ts[] = {0}, gold_col[] = {3};
    at_raw_scores sc;
    at_error err;
    ck_assert_msg(at_eval_raw(m, fp, "gold", model_ts, gold_col, 1, AT_IN_RAW, &sc, &err) == 0,
                  "%s", err.msg);
    fclose(fp);
    /* "I don't know. Dogs bark! Hi!" */
    ck_assert_uint_eq(sc.chars, 13 + 1 + 10 + 1 + 3);
    /* tokens: I don't know . Dogs bark ! Hi ! (don't one token, do|n't joined back) */
    ck_assert_uint_eq(sc.tokens.gold, 9);
    ck_assert_uint_eq(sc.tokens.pred, 9);
    ck_assert_uint_eq(sc.tokens.matched, 9);
    /* words: do and n't each at their own span, as they spell don't */
    ck_assert_uint_eq(sc.words.gold, 10);
    ck_assert_uint_eq(sc.words.pred, 10);
    ck_assert_uint_eq(sc.words.matched, 10);
    ck_assert_uint_eq(sc.sentences.gold, 3);
    ck_assert_uint_eq(sc.sentences.pred, 3);
    ck_assert_uint_eq(sc.sentences.matched, 3);
    ck_assert_int_eq(sc.n_tagsets, 1);
    ck_assert_uint_eq(sc.tags[0].gold, 10);
    ck_assert_uint_eq(sc.tags[0].pred, 10);
    at_model_free(m);
}
END_TEST

/* A token the text does not have is named with its line. */
START_TEST(token_not_in_text)
{
    static const char bad[] = "# text = a b\n"
                              "1\ta\ta\tX\tX\t_\t0\troot\t_\t_\n"
                              "2\tc\tc\tX\tX\t_\t1\tdep\t_\t_\n\n";
    at_config c;
    at_config_default(&c);
    c.dim = 8;
    c.heads = 2;
    c.layers = 0;
    c.ffn_dim = 8;
    c.n_tagsets = 1;
    const char *vocab[] = {"<unk>"};
    at_model *m = test_random_model(&c, vocab, 1, 2, 3, 0.5f);
    FILE *fp = fmemopen((void *)bad, sizeof bad - 1, "r");
    ck_assert(fp);
    int model_ts[] = {0}, gold_col[] = {3};
    at_raw_scores sc;
    at_error err;
    ck_assert_int_eq(at_eval_raw(m, fp, "gold", model_ts, gold_col, 1, AT_IN_RAW, &sc, &err), -1);
    ck_assert_str_eq(err.msg, "gold:3: token \"c\" is not in the sentence's text");
    fclose(fp);
    at_model_free(m);
}
END_TEST

Suite *eval_raw_suite(void)
{
    Suite *s = suite_create("eval_raw");
    TCase *tc = tcase_create("counts");
    tcase_add_test(tc, counts_from_running_text);
    tcase_add_test(tc, token_not_in_text);
    suite_add_tcase(s, tc);
    return s;
}
