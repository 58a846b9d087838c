/*
 * test_files.c - batch mode's files (src/cli_files.c): each file's output
 * named as `cp FILE... DIR` and `cp -r` name theirs, two inputs with one
 * output refused before any work, and an output that would be its input.
 */
#include "cli_files.h"
#include "tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void touch(const char *path)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_msg(fp, "%s", path);
    fputs("w\n", fp);
    fclose(fp);
}

START_TEST(outputs_named_as_cp_names_copies)
{
    char root[4096], p[4200], q[4200], out[4200];
    snprintf(root, sizeof root, "%s", test_tmp(".files"));
    ck_assert_int_eq(mkdir(root, 0700), 0);
    snprintf(p, sizeof p, "%s/in", root);
    ck_assert_int_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/in/sub", root);
    ck_assert_int_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/in/a.txt", root);
    touch(p);
    snprintf(q, sizeof q, "%s/in/sub/b.txt", root);
    touch(q);
    snprintf(out, sizeof out, "%s/out", root);
    at_error err;
    file_list l = {0};
    /* a file: its base name under the output directory */
    ck_assert(file_list_add(&l, p, 0, &err) == 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.f[0].name, "a.txt");
    char *o = file_output(&l.f[0], out, ".tag", &err);
    ck_assert_msg(o, "%s", err.msg);
    char want[4300];
    snprintf(want, sizeof want, "%s/out/a.txt.tag", root);
    ck_assert_str_eq(o, want);
    free(o);
    /* with no output directory: beside the input */
    o = file_output(&l.f[0], NULL, ".tag", &err);
    snprintf(want, sizeof want, "%s.tag", p);
    ck_assert_str_eq(o, want);
    free(o);
    ck_assert_ptr_null(file_output(&l.f[0], NULL, "", &err)); /* the input itself */
    ck_assert_msg(strstr(err.msg, "would be the input itself"), "%s", err.msg);
    file_list_free(&l);
    /* a directory with -r: under its own name, then the path below it */
    memset(&l, 0, sizeof l);
    snprintf(p, sizeof p, "%s/in/", root);
    ck_assert(file_list_add(&l, p, 1, &err) == 0);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_str_eq(l.f[0].name, "in/a.txt");
    ck_assert_str_eq(l.f[1].name, "in/sub/b.txt");
    ck_assert_ptr_null(l.f[0].error);
    /* without -r: refused with a reason, not walked */
    file_list_free(&l);
    memset(&l, 0, sizeof l);
    ck_assert(file_list_add(&l, p, 0, &err) == 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_ptr_nonnull(l.f[0].error);
    file_list_free(&l);
    /* two files of one base name: refused, both named */
    memset(&l, 0, sizeof l);
    snprintf(p, sizeof p, "%s/in/sub/a.txt", root);
    touch(p);
    snprintf(q, sizeof q, "%s/in/a.txt", root);
    ck_assert(file_list_add(&l, q, 0, &err) == 0);
    ck_assert(file_list_add(&l, p, 0, &err) == 0);
    ck_assert_int_eq(file_list_same_outputs(&l, ".tag", &err), -1);
    ck_assert_msg(strstr(err.msg, q) && strstr(err.msg, p) && strstr(err.msg, "a.txt.tag"), "%s",
                  err.msg);
    file_list_free(&l);
}
END_TEST

Suite *files_suite(void)
{
    Suite *s = suite_create("files");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, outputs_named_as_cp_names_copies);
    suite_add_tcase(s, tc);
    return s;
}
