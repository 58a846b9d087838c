/*
 * run_tests.c - runs every Check suite; the exit status is the verdict.
 */
#include "tests.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef ATTNTAG_SRCDIR
#define ATTNTAG_SRCDIR "."
#endif

const char *test_path(const char *rel)
{
    static char buf[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", ATTNTAG_SRCDIR, rel);
    return buf[k];
}

const char *test_tmp(const char *suffix)
{
    static char buf[8][256];
    static int k, serial;
    k = (k + 1) % 8;
    const char *dir = getenv("TMPDIR");
    snprintf(buf[k], sizeof buf[k], "%s/attntag-test-%ld-%d%s", dir && *dir ? dir : "/tmp",
             (long)getpid(), serial++, suffix);
    return buf[k];
}

char *test_slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc(*len + 1);
    ck_assert(buf && fread(buf, 1, *len, fp) == *len);
    buf[*len] = 0;
    fclose(fp);
    return buf;
}

cJSON *test_load_json(const char *path)
{
    size_t len;
    char *buf = test_slurp(path, &len);
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    ck_assert_msg(j != NULL, "%s: bad JSON", path);
    return j;
}

at_model *test_random_model(const at_config *c, const char *const *vocab, size_t n_vocab,
                            size_t n_tags, unsigned seed, float spread)
{
    static const char *const names[] = {"A", "B", "C", "D", "E", "F", "G", "H"};
    ck_assert(n_tags >= 1 && n_tags <= sizeof names / sizeof *names);
    const char *const *tags[] = {names};
    at_model *m;
    at_error err;
    ck_assert_msg(at_model_new(c, vocab, n_vocab, tags, &n_tags, &m, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < at_model_n_tensors(m); i++) {
        at_tensor_info ti;
        at_model_tensor_info(m, i, &ti);
        size_t n;
        float *w = at_model_tensor_f32(m, ti.name, &n);
        for (size_t k = 0; k < n; k++)
            w[k] += spread * (float)(rand_r(&seed) % 2001 - 1000) / 1000.0f;
    }
    return m;
}

int main(void)
{
    SRunner *sr = srunner_create(reference_suite());
    srunner_add_suite(sr, model_io_suite());
    srunner_add_suite(sr, features_suite());
    srunner_add_suite(sr, tokenize_suite());
    srunner_add_suite(sr, reader_suite());
    srunner_add_suite(sr, kernels_suite());
    srunner_add_suite(sr, gemm_suite());
    srunner_add_suite(sr, backward_suite());
    srunner_add_suite(sr, train_suite());
    srunner_add_suite(sr, calibrate_suite());
    srunner_add_suite(sr, mixers_suite());
    srunner_add_suite(sr, int8_file_suite());
    srunner_add_suite(sr, pipeline_suite());
    srunner_add_suite(sr, writer_suite());
    srunner_add_suite(sr, eval_raw_suite());
    srunner_add_suite(sr, explain_suite());
    srunner_add_suite(sr, fileio_suite());
    srunner_add_suite(sr, files_suite());
    srunner_add_suite(sr, session_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
