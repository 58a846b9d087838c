/*
 * cli_files.c - the files of `attntag tag`'s batch mode: which files, where each
 * output goes, and how far the run has come.
 */
#include "cli_files.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return s;
}

static int push(file_list *l, const char *path, const char *name, long long size, char *error,
                at_error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        file_entry *f = realloc(l->f, cap * sizeof *f);
        if (!f) {
            free(error);
            return at_error_of(err, AT_ERR_MEMORY, "out of memory for the list of files");
        }
        l->f = f;
        l->cap = cap;
    }
    char *p = strdup(path), *nm = strdup(name);
    if (!p || !nm) {
        free(p);
        free(nm);
        free(error);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory for the list of files");
    }
    l->f[l->n++] = (file_entry){p, nm, size, error};
    if (size > 0)
        l->bytes += size;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* walk: the files under dir, in name order, depth first; name: dir's
 * output name ("" for the output directory itself). */
static int walk(file_list *l, const char *dir, const char *name, int depth, at_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return push(l, dir, name, -1,
                    dup_printf("cannot read the directory: %s", strerror(errno)), err);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = at_error_of(err, AT_ERR_MEMORY, "out of memory for the list of files");
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            rc = at_error_of(err, AT_ERR_MEMORY, "out of memory for the list of files");
        else
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    size_t dl = strlen(dir);
    for (size_t i = 0; i < n; i++) {
        char *p = rc ? NULL : dup_printf("%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/",
                                         names[i]);
        char *nm = rc ? NULL : dup_printf("%s%s%s", name, *name ? "/" : "", names[i]);
        struct stat st;
        if (rc == 0 && (!p || !nm))
            rc = at_error_of(err, AT_ERR_MEMORY, "out of memory for the list of files");
        else if (rc == 0 && stat(p, &st) != 0)
            rc = push(l, p, nm, -1, dup_printf("cannot open: %s", strerror(errno)), err);
        else if (rc == 0 && S_ISDIR(st.st_mode) && l->skip_dir &&
                 (unsigned long long)st.st_dev == l->skip_dev &&
                 (unsigned long long)st.st_ino == l->skip_ino)
            ; /* the output directory */
        else if (rc == 0 && S_ISDIR(st.st_mode))
            rc = depth >= 256 ? push(l, p, nm, -1, strdup("directories nested too deep"), err)
                              : walk(l, p, nm, depth + 1, err);
        else if (rc == 0 && S_ISREG(st.st_mode))
            rc = push(l, p, nm, (long long)st.st_size, NULL, err);
        free(p);
        free(nm);
        free(names[i]);
    }
    free(names);
    return rc;
}

void file_list_skip(file_list *l, const char *dir)
{
    struct stat st;
    l->skip_dir = dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    if (l->skip_dir) {
        l->skip_dev = (unsigned long long)st.st_dev;
        l->skip_ino = (unsigned long long)st.st_ino;
    }
}

/* base_name: path's last component, trailing slashes left out; "" for "/",
 * "." and "..", whose files go straight into the output directory. */
static char *base_name(const char *path)
{
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    size_t n = end - start;
    if ((n == 1 && path[start] == '.') || (n == 2 && path[start] == '.' && path[start + 1] == '.') ||
        (n == 1 && path[start] == '/'))
        n = 0;
    return dup_printf("%.*s", (int)n, path + start);
}

int file_list_add(file_list *l, const char *path, int recursive, at_error *err)
{
    struct stat st;
    if (strcmp(path, "-") == 0)
        return push(l, path, path, -1,
                    strdup("standard input has no name to write an output under"), err);
    char *name = base_name(path);
    if (!name)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory for the list of files");
    int rc;
    if (stat(path, &st) != 0)
        rc = push(l, path, name, -1, dup_printf("cannot open: %s", strerror(errno)), err);
    else if (S_ISDIR(st.st_mode))
        rc = recursive ? walk(l, path, name, 0, err)
                       : push(l, path, name, -1,
                              strdup("is a directory (-r tags the files in it)"), err);
    else if (!*name)
        rc = push(l, path, name, -1, strdup("has no file name to write an output under"), err);
    else
        rc = push(l, path, name, S_ISREG(st.st_mode) ? (long long)st.st_size : -1, NULL, err);
    free(name);
    return rc;
}

int file_list_read(file_list *l, const char *list, int nul, int recursive, at_error *err)
{
    int is_stdin = strcmp(list, "-") == 0;
    FILE *fp = is_stdin ? stdin : fopen(list, "rb");
    if (!fp)
        return at_error_set(err, "%s: cannot open: %s", list, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getdelim(&line, &cap, nul ? '\0' : '\n', fp)) > 0) {
        if (line[len - 1] == (nul ? '\0' : '\n'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (strlen(line) != (size_t)len) /* a NUL inside a newline-separated name */
            rc = at_error_set(err, "%s: a path holds a NUL byte (use -0 for find -print0)",
                              is_stdin ? "<stdin>" : list);
        else
            rc = file_list_add(l, line, recursive, err);
    }
    if (rc == 0 && ferror(fp))
        rc = at_error_set(err, "%s: read error", is_stdin ? "<stdin>" : list);
    free(line);
    if (!is_stdin)
        fclose(fp);
    return rc;
}

void file_list_free(file_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->f[i].path);
        free(l->f[i].name);
        free(l->f[i].error);
    }
    free(l->f);
    memset(l, 0, sizeof *l);
}

/* make_parents: the directories above path, as mkdir -p makes them. */
static int make_parents(char *path, at_error *err)
{
    for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        int rc = mkdir(path, 0777);
        int e = errno;
        struct stat st;
        int ok = rc == 0 || (e == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode));
        if (!ok)
            at_error_set(err, "cannot make the directory %s: %s", path,
                         e == EEXIST ? "a file of that name is there" : strerror(e));
        *s = '/';
        if (!ok)
            return -1;
    }
    return 0;
}

static int by_output(const void *a, const void *b)
{
    return strcmp((*(const file_entry *const *)a)->name, (*(const file_entry *const *)b)->name);
}

int file_list_same_outputs(const file_list *l, const char *suffix, at_error *err)
{
    const file_entry **v = malloc((l->n ? l->n : 1) * sizeof *v);
    if (!v)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory for the list of files");
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (!l->f[i].error)
            v[n++] = &l->f[i];
    qsort(v, n, sizeof *v, by_output);
    int rc = 0;
    for (size_t i = 1; rc == 0 && i < n; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0) {
            /* name them in the order given */
            const file_entry *a = v[i - 1] < v[i] ? v[i - 1] : v[i], *b = a == v[i] ? v[i - 1] : v[i];
            rc = at_error_set(err, "%s and %s would both be written to %s%s in the output "
                              "directory: nothing tagged", a->path, b->path, a->name, suffix);
        }
    free(v);
    return rc;
}

char *file_output(const file_entry *f, const char *outdir, const char *suffix, at_error *err)
{
    char *out;
    if (outdir) {
        size_t ol = strlen(outdir);
        out = dup_printf("%s%s%s%s", outdir, ol && outdir[ol - 1] == '/' ? "" : "/", f->name,
                         suffix);
        if (out && make_parents(out, err)) {
            free(out);
            return NULL;
        }
    } else {
        out = dup_printf("%s%s", f->path, suffix);
    }
    if (!out) {
        at_error_of(err, AT_ERR_MEMORY, "out of memory");
        return NULL;
    }
    struct stat si, so;
    if (strcmp(out, f->path) == 0 || (stat(f->path, &si) == 0 && stat(out, &so) == 0 &&
                                      si.st_dev == so.st_dev && si.st_ino == so.st_ino)) {
        at_error_set(err, "the output would be the input itself (%s)", out);
        free(out);
        return NULL;
    }
    return out;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void files_progress_start(files_progress *p, const file_list *l)
{
    memset(p, 0, sizeof *p);
    p->tty = isatty(STDERR_FILENO);
    p->t0 = p->last = now();
    p->total_files = l->n;
    p->total_bytes = l->bytes;
}

void files_progress_show(files_progress *p, int force)
{
    double t = now();
    if (!p->tty || (!force && t - p->last < 0.2))
        return;
    p->last = t;
    double secs = t - p->t0, rate = secs > 0 ? (double)p->tokens / secs : 0;
    char eta[32] = "";
    if (p->bytes > 0 && p->total_bytes > p->bytes) {
        long left = (long)(secs * (double)(p->total_bytes - p->bytes) / (double)p->bytes);
        snprintf(eta, sizeof eta, ", ETA %ldm%02lds", left / 60, left % 60);
    }
    fprintf(stderr, "\r\033[Kfiles %zu/%zu, %lld tokens, %.0f tokens/s%s", p->files,
            p->total_files, p->tokens, rate, eta);
}

void files_progress_end(files_progress *p)
{
    double secs = now() - p->t0;
    if (p->tty)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "attntag: %zu files tagged, %zu skipped, %zu failed; %lld tokens in %.1f s\n",
            p->files - p->failed - p->skipped, p->skipped, p->failed, p->tokens, secs);
}
