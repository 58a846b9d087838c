/*
 * test_fileio.c - the output file (fileio.c): a regular file is replaced
 * only when the new one is complete, an abort leaves the old one and no
 * temporary behind, a symbolic link's target is replaced and the link kept,
 * and what is read back is what was written.
 */
#include "internal.h"
#include "tests.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void put(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    ck_assert(fp);
    fputs(text, fp);
    ck_assert_int_eq(fclose(fp), 0);
}

static void holds(const char *path, const char *want)
{
    char *data;
    size_t len;
    at_error err;
    ck_assert_msg(at_read_file(path, &data, &len, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(data, want, len) == 0);
    free(data);
}

/* entries: the names in dir but . and .. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

START_TEST(replaced_when_complete)
{
    char dir[4096], path[4200], link_path[4200];
    snprintf(dir, sizeof dir, "%s", test_tmp(".dir"));
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/out.txt", dir);
    put(path, "old\n");
    chmod(path, 0640);
    at_error err;
    at_outfile *o;
    ck_assert_msg(at_outfile_open(path, &o, &err) == 0, "%s", err.msg);
    fputs("new\n", at_outfile_stream(o));
    holds(path, "old\n"); /* not yet */
    ck_assert_int_eq(entries(dir), 2); /* the file and the temporary beside it */
    ck_assert_msg(at_outfile_commit(o, &err) == 0, "%s", err.msg);
    holds(path, "new\n");
    ck_assert_int_eq(entries(dir), 1);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640); /* the old file's mode kept */

    ck_assert(at_outfile_open(path, &o, &err) == 0);
    fputs("dropped\n", at_outfile_stream(o));
    at_outfile_abort(o);
    holds(path, "new\n");
    ck_assert_int_eq(entries(dir), 1);

    /* through a link: the target replaced, the link still a link */
    snprintf(link_path, sizeof link_path, "%s/link.txt", dir);
    ck_assert_int_eq(symlink("out.txt", link_path), 0);
    ck_assert(at_write_atomic(link_path, "linked\n", 7, &err) == 0);
    holds(path, "linked\n");
    ck_assert_int_eq(lstat(link_path, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    unlink(link_path);
    unlink(path);
    rmdir(dir);
}
END_TEST

Suite *fileio_suite(void)
{
    Suite *s = suite_create("fileio");
    TCase *tc = tcase_create("outfile");
    tcase_add_test(tc, replaced_when_complete);
    suite_add_tcase(s, tc);
    return s;
}
