/*
 * test_train.c - training end to end on a small made-up corpus
 * (tests/fixtures/make_tiny_corpus.py): it learns, it is deterministic, a run
 * stopped and resumed ends exactly where an uninterrupted run does, and bad
 * training data is refused before any training time is spent.
 */
#include "tests.h"

#include <stdlib.h>
#include <string.h>

static void tiny_config(at_config *c, at_train_opts *o, const char *out)
{
    at_config_default(c);
    c->dim = 16;
    c->heads = 2;
    c->layers = 2;
    c->ffn_dim = 32;
    c->char_buckets = 256;
    c->char_dim = 8;
    c->rel_pos = 3;
    c->max_len = 16;
    at_train_opts_default(o);
    o->train_path = test_path("tests/fixtures/tiny_train.conllu");
    o->dev_path = test_path("tests/fixtures/tiny_dev.conllu");
    o->out_path = out;
    o->epochs = 6;
    o->batch_tokens = 120;
    o->lr = 5e-3;
    o->ema = 0.9;
    o->threads = 2;
    o->min_count = 1;
}

/* dev_accuracy: the model's UPOS accuracy on the tiny dev set, scored here. */
static double dev_accuracy(const char *model_path)
{
    at_model *m;
    at_state *st;
    at_error err;
    ck_assert_msg(at_model_load(model_path, AT_FILE_AUTO, &m, &err) == 0, "%s", err.msg);
    ck_assert(at_state_new(m, &st, &err) == 0);
    FILE *fp = fopen(test_path("tests/fixtures/tiny_dev.conllu"), "r");
    ck_assert(fp);
    char line[512];
    size_t right = 0, total = 0;
    at_feats f;
    at_feats_init(&f);
    char gold[64][16];
    uint32_t tags[64];
    uint32_t *const tv[] = {tags, NULL};
    for (;;) {
        char *got = fgets(line, sizeof line, fp);
        if (!got || line[0] == '\n') {
            if (f.n) {
                ck_assert(at_tag(m, st, &f, tv, NULL, &err) == 0);
                for (size_t i = 0; i < f.n; i++)
                    right += strcmp(at_model_tag(m, 0, tags[i]), gold[i]) == 0;
                total += f.n;
                at_feats_clear(&f);
            }
            if (!got)
                break;
            continue;
        }
        if (line[0] == '#')
            continue;
        char *form = strchr(line, '\t') + 1, *lemma = strchr(form, '\t') + 1;
        char *upos = strchr(lemma, '\t') + 1, *end = strchr(upos, '\t');
        ck_assert(at_feats_add(m, &f, form, (size_t)(strchr(form, '\t') - form), &err) == 0);
        snprintf(gold[f.n - 1], sizeof gold[0], "%.*s", (int)(end - upos), upos);
    }
    fclose(fp);
    at_feats_free(&f);
    at_state_free(st);
    at_model_free(m);
    ck_assert_uint_gt(total, 300);
    return (double)right / (double)total;
}

static uint32_t checksum_of(const char *path)
{
    at_model *m;
    at_error err;
    ck_assert_msg(at_model_load(path, AT_FILE_AUTO, &m, &err) == 0, "%s", err.msg);
    uint32_t c = at_model_checksum(m);
    at_model_free(m);
    return c;
}

START_TEST(learns_from_context)
{
    at_config c;
    at_train_opts o;
    const char *out = test_tmp(".safetensors");
    tiny_config(&c, &o, out);
    o.epochs = 12;
    at_error err;
    ck_assert_msg(at_train(&c, &o, &err) == 0, "%s", err.msg);
    double acc = dev_accuracy(out);
    /* "saw"/"run"/"walk" are nouns or verbs by context: a per-word guess
     * caps below 0.95 on this data; attention gets them right */
    ck_assert_msg(acc > 0.97, "dev accuracy %.3f", acc);
    remove(out);
}
END_TEST

typedef struct stopper {
    volatile int flag;
    long at_step;
} stopper;

static void stop_at(const at_train_progress *p, void *ctx)
{
    stopper *s = ctx;
    if (p->step >= s->at_step)
        s->flag = 1;
}

START_TEST(resume_repeats_the_uninterrupted_run)
{
    at_config c;
    at_train_opts o;
    at_error err;
    const char *a = test_tmp(".safetensors"), *b = test_tmp(".safetensors");
    const char *ck = test_tmp(".ckpt");
    tiny_config(&c, &o, a);
    ck_assert_msg(at_train(&c, &o, &err) == 0, "%s", err.msg);

    tiny_config(&c, &o, b);
    o.checkpoint_path = ck;
    stopper s = {0, 25}; /* mid-way through the third epoch */
    o.stop = &s.flag;
    o.progress = stop_at;
    o.ctx = &s;
    ck_assert_int_eq(at_train(&c, &o, &err), 1);
    at_train_opts r;
    at_train_opts_default(&r);
    r.resume_path = ck;
    r.out_path = b;
    r.checkpoint_path = ck;
    r.threads = 1; /* ignored: the checkpoint's options (and corpora) win */
    r.lr = 1.0;
    ck_assert_msg(at_train(&c, &r, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(checksum_of(a), checksum_of(b));

    /* and a different seed really is a different run */
    tiny_config(&c, &o, b);
    o.seed = 2;
    ck_assert_msg(at_train(&c, &o, &err) == 0, "%s", err.msg);
    ck_assert_uint_ne(checksum_of(a), checksum_of(b));
    remove(a);
    remove(b);
}
END_TEST

/* A lexicon given to training travels inside the model and reaches the
 * features of words the corpus never had. */
START_TEST(lexicon_travels_in_the_model)
{
    const char *lex = test_tmp(".tsv"), *out = test_tmp(".safetensors");
    FILE *fp = fopen(lex, "w");
    fputs("dog\t1\nsees\t2\nZebra\t1\nzebra\t4\nquickly\t8\n", fp);
    fclose(fp);
    at_config c;
    at_train_opts o;
    at_error err;
    tiny_config(&c, &o, out);
    o.epochs = 1;
    o.lexicon_path = lex;
    ck_assert_msg(at_train(&c, &o, &err) == 0, "%s", err.msg);
    at_model *m;
    ck_assert(at_model_load(out, AT_FILE_AUTO, &m, &err) == 0);
    ck_assert_int_eq(at_model_config(m)->lexicon_bits, 4);
    ck_assert_uint_eq(at_model_lexicon_size(m), 4); /* Zebra and zebra are one key */
    at_feats f;
    at_feats_init(&f);
    ck_assert(at_feats_add(m, &f, "ZEBRA", 5, &err) == 0);
    ck_assert(at_feats_add(m, &f, "quickly", 7, &err) == 0);
    ck_assert(at_feats_add(m, &f, "cat", 3, &err) == 0);
    ck_assert_uint_eq(f.lex[0], 5);
    ck_assert_uint_eq(f.lex[1], 8);
    ck_assert_uint_eq(f.lex[2], 0);
    at_feats_free(&f);
    at_model_free(m);
    fp = fopen(lex, "w");
    fputs("dog\tnoun\n", fp);
    fclose(fp);
    ck_assert_int_eq(at_train(&c, &o, &err), -1);
    ck_assert_msg(strstr(err.msg, ":1: expected a word, a tab and bits"), "%s", err.msg);
    remove(lex);
    remove(out);
}
END_TEST

static void refused(const char *train_text, const char *needle)
{
    const char *p = test_tmp(".conllu");
    FILE *fp = fopen(p, "w");
    fputs(train_text, fp);
    fclose(fp);
    at_config c;
    at_train_opts o;
    at_error err = {.sentence = 0};
    tiny_config(&c, &o, test_tmp(".safetensors"));
    o.train_path = p;
    ck_assert_int_eq(at_train(&c, &o, &err), -1);
    ck_assert_msg(strstr(err.msg, needle), "\"%s\" lacks \"%s\"", err.msg, needle);
    remove(p);
}

/* A network whose values overflow 32-bit floats (here the classifier's
 * weights at 1e38) fails its forward pass when training too, with the
 * message tagging gives (tests/overflow_test.py runs every command). */
START_TEST(training_forward_stops_on_overflow)
{
    at_model *ref, *m;
    at_state *st;
    at_error err;
    ck_assert(at_model_load(test_path("tests/fixtures/ref_pre.json"), AT_FILE_AUTO, &ref, &err) == 0);
    ck_assert_msg(at_model_copy(ref, &m, &err) == 0, "%s", err.msg);
    size_t n;
    float *w = at_model_tensor_f32(m, "heads.upos.weight", &n);
    ck_assert(w && n > 0);
    at_feats f;
    at_feats_init(&f);
    static const char *const words[] = {"the", "dog", "runs", "."};
    for (int i = 0; i < 4; i++)
        ck_assert(at_feats_add(m, &f, words[i], strlen(words[i]), &err) == 0);
    ck_assert_msg(at_state_new(m, &st, &err) == 0, "%s", err.msg);
    ck_assert(at_state_set_training(st, 0.1f, 0.1f, 0.1f, &err) == 0);
    ck_assert_msg(at_forward(m, st, &f, 0, 4, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < n; i++)
        w[i] *= 1e38f;
    at_model_changed(m);
    ck_assert(at_forward(m, st, &f, 0, 4, &err) != 0);
    ck_assert_msg(strstr(err.msg, "are not finite numbers: the model's weights are too large"),
                  "%s", err.msg);
    at_state_free(st);
    at_feats_free(&f);
    at_model_free(m);
    at_model_free(ref);
}
END_TEST

START_TEST(bad_training_data)
{
    refused("", "no words");
    refused("# only a comment\n\n", "no words");
    refused("1\tdog\tdog\tNOUN\t_\t_\t0\troot\t_\t_\n\n", ":1: no xpos tag (column 5 is '_')");
    refused("1\tdog\tdog\tNOUN\tNN\t_\t0\troot\n\n", ":1: expected 10 tab-separated");
    /* more distinct tags than a model holds */
    const char *p = test_tmp(".conllu");
    FILE *fp = fopen(p, "w");
    for (int i = 0; i < 70000; i++)
        fprintf(fp, "1\tw\tw\tT%d\tX\t_\t0\troot\t_\t_\n\n", i);
    fclose(fp);
    at_config c;
    at_train_opts o;
    at_error err;
    tiny_config(&c, &o, test_tmp(".safetensors"));
    o.train_path = p;
    ck_assert_int_eq(at_train(&c, &o, &err), -1);
    ck_assert_msg(strstr(err.msg, "at most 65535"), "%s", err.msg);
    remove(p);
}
END_TEST

Suite *train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, learns_from_context);
    tcase_add_test(tc, resume_repeats_the_uninterrupted_run);
    tcase_add_test(tc, bad_training_data);
    tcase_add_test(tc, training_forward_stops_on_overflow);
    tcase_add_test(tc, lexicon_travels_in_the_model);
    suite_add_tcase(s, tc);
    return s;
}
