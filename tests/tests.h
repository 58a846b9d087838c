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

/* A path under the source tree (tests/fixtures/...), in a static buffer. */
const char *test_path(const char *rel);
/* A JSON file, parsed (the test fails if it cannot be). */
struct cJSON *test_load_json(const char *path);
/* A fresh temporary file path (unique per call), in a static ring of buffers. */
const char *test_tmp(const char *suffix);

#endif
