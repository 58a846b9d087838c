/*
 * test_pipeline.c - the tagger over a stream (pipeline.c): what `each` is
 * given is what would have been written, in input order, on any number of
 * threads, and its error stops the run.
 */
#include "tests.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static at_model *model(void)
{
    at_config c;
    at_config_default(&c);
    c.dim = 16;
    c.heads = 2;
    c.layers = 1;
    c.ffn_dim = 24;
    c.n_tagsets = 1;
    const char *vocab[] = {"<unk>", "the", "dog", "cat", "runs"};
    return test_random_model(&c, vocab, 5, 5, 7, 0.5f);
}

/* words: sentence k of the input, k % 7 + 1 words from a fixed list */
static const char *word(size_t k, size_t i)
{
    static const char *const w[] = {"the", "dog", "runs", "cat", "zebra", "the", "quickly"};
    return w[(k * 3 + i) % 7];
}

/* The input, as vertical text: enough sentences for several shares. */
static char *input(size_t n_sent, size_t *len)
{
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);
    ck_assert(fp);
    for (size_t k = 0; k < n_sent; k++) {
        for (size_t i = 0; i < k % 7 + 1; i++)
            fprintf(fp, "%s\n", word(k, i));
        fputc('\n', fp);
    }
    ck_assert_int_eq(fclose(fp), 0);
    return buf;
}

typedef struct seen {
    const at_model *m;
    FILE *fp;        /* token<TAB>tag<TAB>probability lines, as the TSV writer's */
    size_t sentences, stop_at;
    pthread_t caller; /* each is called on the thread that runs the tagger */
} seen;

static int each(void *ctx, const at_sentence *s, uint32_t *const *tags, float *const *probs,
                at_error *err)
{
    seen *sn = ctx;
    ck_assert(pthread_equal(pthread_self(), sn->caller));
    if (++sn->sentences == sn->stop_at)
        return at_error_set(err, "stopped at sentence %zu", sn->sentences);
    for (size_t i = 0; i < s->n; i++) {
        uint32_t t = tags[0][i];
        ck_assert_uint_lt(t, at_model_n_tags(sn->m, 0));
        float p = probs[0][i * at_model_n_tags(sn->m, 0) + t];
        ck_assert(p > 0 && p <= 1);
        fprintf(sn->fp, "%s\t%s\t%.6f\n", s->tok[i], at_model_tag(sn->m, 0, t), (double)p);
    }
    fputc('\n', sn->fp);
    return 0;
}

/* run: the input through a tagger; its output text, or (with sn) what each
 * was given, written out the same way. */
static char *run(const at_model *m, const char *in, size_t len, int threads, seen *sn,
                 int *rc, at_error *err)
{
    at_tagger_opts o;
    memset(&o, 0, sizeof o);
    o.in = AT_IN_VERTICAL;
    o.threads = threads;
    o.wo.format = AT_OUT_TSV;
    o.wo.probs = 1;
    o.wo.n_sel = 1;
    if (sn) {
        o.each = each;
        o.ctx = sn;
    }
    char *out = NULL;
    size_t out_len;
    FILE *fo = open_memstream(&out, &out_len), *fi = fmemopen((void *)in, len, "r");
    ck_assert(fo && fi);
    if (sn)
        sn->fp = fo;
    at_tagger *t;
    long long tokens = 0;
    ck_assert_msg(at_tagger_new(m, &o, &t, err) == 0, "%s", err->msg);
    *rc = at_tagger_run(t, fi, "mem", sn ? NULL : fo, &tokens, err);
    at_tagger_free(t);
    fclose(fi);
    ck_assert_int_eq(fclose(fo), 0);
    return out;
}

START_TEST(each_is_given_what_would_be_written)
{
    at_model *m = model();
    size_t len;
    char *in = input(900, &len); /* 3,600 tokens: four shares */
    at_error err;
    int rc;
    char *want = run(m, in, len, 1, NULL, &rc, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    for (int threads = 1; threads <= 3; threads++) {
        seen sn = {m, NULL, 0, 0, pthread_self()};
        char *got = run(m, in, len, threads, &sn, &rc, &err);
        ck_assert_msg(rc == 0, "%s", err.msg);
        ck_assert_uint_eq(sn.sentences, 900);
        ck_assert_str_eq(got, want);
        free(got);
    }
    free(want);
    free(in);
    at_model_free(m);
}
END_TEST

START_TEST(each_stops_the_run)
{
    at_model *m = model();
    size_t len;
    char *in = input(900, &len);
    at_error err;
    int rc;
    for (int threads = 1; threads <= 2; threads++) {
        seen sn = {m, NULL, 0, 500, pthread_self()};
        char *got = run(m, in, len, threads, &sn, &rc, &err);
        ck_assert_int_eq(rc, -1);
        ck_assert_str_eq(err.msg, "stopped at sentence 500");
        ck_assert_uint_eq(sn.sentences, 500); /* none given after it */
        free(got);
    }
    free(in);
    at_model_free(m);
}
END_TEST

Suite *pipeline_suite(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("each");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, each_is_given_what_would_be_written);
    tcase_add_test(tc, each_stops_the_run);
    suite_add_tcase(s, tc);
    return s;
}
