/*
 * test_writer.c - one tagged sentence in each output format (writer.c),
 * from tags and probabilities given here: the expected text is written out
 * by hand from the formats' definitions (attntag(1), FORMATS).
 */
#include "tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A model with tag sets upos and xpos of five tags each, A to E. */
static at_model *model(void)
{
    at_config c;
    at_config_default(&c);
    c.dim = 8;
    c.heads = 2;
    c.layers = 0;
    c.ffn_dim = 8;
    c.n_tagsets = 2;
    strcpy(c.tagset[0], "upos");
    strcpy(c.tagset[1], "xpos");
    static const char *const names[] = {"A", "B", "C", "D", "E"};
    const char *const *tags[] = {names, names};
    size_t n_tags[] = {5, 5};
    const char *vocab[] = {"<unk>", "the", "dog"};
    at_model *m;
    at_error err;
    ck_assert_msg(at_model_new(&c, vocab, 3, tags, n_tags, &m, &err) == 0, "%s", err.msg);
    return m;
}

/* A CoNLL-U sentence read as the reader reads it. */
static void read_one(const char *text, at_sentence *s)
{
    FILE *fp = fmemopen((void *)text, strlen(text), "r");
    ck_assert(fp);
    at_reader *r;
    at_error err;
    ck_assert(at_reader_new(fp, "mem", AT_IN_CONLLU, &r, &err) == 0);
    ck_assert_int_eq(at_reader_next(r, s, &err), 1);
    at_reader_free(r);
    fclose(fp);
}

/* The sentence written with o: upos tags B, A and xpos tags E, C; the
 * chosen tags' probabilities 0.25, 0.75 (upos) and 0.5, 1 (xpos). */
static char *written(const at_model *m, const at_write_opts *o, const at_sentence *s)
{
    static uint32_t up[] = {1, 0}, xp[] = {4, 2};
    static float pu[10], px[10];
    memset(pu, 0, sizeof pu);
    memset(px, 0, sizeof px);
    pu[0 * 5 + 1] = 0.25f;
    pu[1 * 5 + 0] = 0.75f;
    px[0 * 5 + 4] = 0.5f;
    px[1 * 5 + 2] = 1.0f;
    uint32_t *tags[] = {up, xp};
    float *probs[] = {pu, px};
    char *buf = NULL;
    size_t len;
    FILE *fp = open_memstream(&buf, &len);
    at_error err;
    ck_assert_msg(at_write_sentence(fp, m, o, s, tags, probs, &err) == 0, "%s", err.msg);
    fclose(fp);
    return buf;
}

#define WRITES(o, s, want)                             \
    do {                                               \
        char *got_ = written(m, &(o), &(s));           \
        ck_assert_str_eq(got_, want);                  \
        free(got_);                                    \
    } while (0)

START_TEST(formats)
{
    at_model *m = model();
    at_sentence s;
    at_sentence_init(&s);
    at_error err;
    ck_assert(at_sentence_add_token(&s, "the", 3, &err) == 0);
    ck_assert(at_sentence_add_token(&s, "dog", 3, &err) == 0);
    at_write_opts o = {.format = AT_OUT_WORDTAG, .n_sel = 1, .sel = {0}};
    WRITES(o, s, "the_B dog_A\n");
    o.n_sel = 2;
    o.sel[1] = 1;
    WRITES(o, s, "the_B_E dog_A_C\n");
    o.min_prob = 0.6; /* the: upos 0.25 -> to review */
    WRITES(o, s, "the_B_E? dog_A_C\n");
    o = (at_write_opts){.format = AT_OUT_TSV, .n_sel = 2, .sel = {1, 0}, .probs = 1};
    WRITES(o, s, "the\tE\tB\t0.500000\t0.250000\ndog\tC\tA\t1.000000\t0.750000\n\n");
    o.min_prob = 0.6;
    WRITES(o, s, "the\tE\tB\t0.500000\t0.250000\t?\ndog\tC\tA\t1.000000\t0.750000\t\n\n");
    at_sentence_free(&s);
    at_model_free(m);
}
END_TEST

START_TEST(conllu_changes_only_the_tag_columns)
{
    at_model *m = model();
    at_sentence s;
    at_sentence_init(&s);
    read_one("# text = the dog\n"
             "1\tthe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n"
             "2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\tSpaceAfter=No\n\n",
             &s);
    at_write_opts o = {.format = AT_OUT_CONLLU, .n_sel = 2, .sel = {0, 1}};
    WRITES(o, s, "# text = the dog\n"
                 "1\tthe\tthe\tB\tE\t_\t2\tdet\t_\t_\n"
                 "2\tdog\tdog\tA\tC\t_\t0\troot\t_\tSpaceAfter=No\n\n");
    o.n_sel = 1; /* upos alone: xpos as it was */
    o.min_prob = 0.6;
    WRITES(o, s, "# text = the dog\n"
                 "1\tthe\tthe\tB\tDT\t_\t2\tdet\t_\tReview=Yes\n"
                 "2\tdog\tdog\tA\tNN\t_\t0\troot\t_\tSpaceAfter=No\n\n");
    at_sentence_free(&s);
    at_model_free(m);
}
END_TEST

Suite *writer_suite(void)
{
    Suite *s = suite_create("writer");
    TCase *tc = tcase_create("formats");
    tcase_add_test(tc, formats);
    tcase_add_test(tc, conllu_changes_only_the_tag_columns);
    suite_add_tcase(s, tc);
    return s;
}
