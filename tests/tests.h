/*
 * tests.h - the test suites run by run_tests.c, and shared helpers.
 */
#ifndef ATTNTAG_TESTS_H
#define ATTNTAG_TESTS_H

#include <check.h>

#include "attntag.h"

Suite *reference_suite(void);
Suite *model_io_suite(void);
Suite *features_suite(void);
Suite *tokenize_suite(void);
Suite *reader_suite(void);
Suite *kernels_suite(void);
Suite *gemm_suite(void);
Suite *backward_suite(void);
Suite *train_suite(void);
Suite *calibrate_suite(void);
Suite *mixers_suite(void);
Suite *int8_file_suite(void);
Suite *pipeline_suite(void);
Suite *writer_suite(void);
Suite *eval_raw_suite(void);
Suite *explain_suite(void);
Suite *fileio_suite(void);
Suite *files_suite(void);
Suite *session_suite(void);

/* A path under the source tree (tests/fixtures/...), in a static buffer. */
const char *test_path(const char *rel);
/* A whole file, NUL-terminated, its length in *len (the test fails if it
 * cannot be read); free() it. */
char *test_slurp(const char *path, size_t *len);
/* A JSON file, parsed (the test fails if it cannot be). */
struct cJSON *test_load_json(const char *path);
/* test_random_model: a model of config c with one tag set of n_tags tags
 * and the given vocabulary, its weights moved by up to +-spread from their
 * starting values by a seeded generator (asserts on failure). */
struct at_model *test_random_model(const struct at_config *c, const char *const *vocab,
                                   size_t n_vocab, size_t n_tags, unsigned seed, float spread);
/* A fresh temporary file path (unique per call), in a static ring of buffers. */
const char *test_tmp(const char *suffix);

#endif
