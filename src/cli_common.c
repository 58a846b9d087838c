/*
 * cli_common.c - what every subcommand shares: messages, exit status, and
 * finding the model (-m, then $ATTNTAG_MODEL, then the bundled model next to
 * the binary or in the install's data directory).
 */
#define _GNU_SOURCE /* sched_getaffinity */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ATTNTAG_DATADIR
#define ATTNTAG_DATADIR "/usr/local/share/attntag"
#endif
#ifndef ATTNTAG_MODEL_NAME
#define ATTNTAG_MODEL_NAME "en-ewt.safetensors"
#endif

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("attntag: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'attntag %s--help' for more information.\n", cmd);
    return EXIT_USAGE;
}

int cli_fail(const at_error *err)
{
    fprintf(stderr, "attntag: %s\n", err->msg);
    return err->kind == AT_ERR_USAGE ? EXIT_USAGE : EXIT_DATA;
}

static int exists(const char *p)
{
    return access(p, R_OK) == 0;
}

int cli_load_model(const char *path, at_model **m, at_error *err)
{
    if (path)
        return at_model_load(path, AT_FILE_AUTO, m, err);
    const char *env = getenv("ATTNTAG_MODEL");
    if (env && *env)
        return at_model_load(env, AT_FILE_AUTO, m, err);
    /* Beside the binary first (a build tree, or a relocated install), then
     * the data directory it was installed with. */
    char exe[PATH_MAX], cand[3][PATH_MAX + 64];
    int n_cand = 0;
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(cand[n_cand++], sizeof cand[0], "%s/models/%s", exe, ATTNTAG_MODEL_NAME);
            snprintf(cand[n_cand++], sizeof cand[0], "%s/../share/attntag/%s", exe,
                     ATTNTAG_MODEL_NAME);
        }
    }
    snprintf(cand[n_cand++], sizeof cand[0], "%s/%s", ATTNTAG_DATADIR, ATTNTAG_MODEL_NAME);
    for (int i = 0; i < n_cand; i++)
        if (exists(cand[i]))
            return at_model_load(cand[i], AT_FILE_AUTO, m, err);
    return at_error_set(err, "no model: give -m MODEL or set ATTNTAG_MODEL (the bundled model "
                        "was not found at %s)", cand[n_cand - 1]);
}

int cli_default_threads(void)
{
    cpu_set_t set; /* the cores this process may run on (taskset, cgroups' cpusets) */
    long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                          : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > AT_MAX_THREADS ? AT_MAX_THREADS : (int)n;
}

int cli_threads(const char *arg)
{
    char *end;
    errno = 0;
    long n = strtol(arg, &end, 10);
    return errno || end == arg || *end || n < 1 || n > AT_MAX_THREADS ? -1 : (int)n;
}

int cli_tagsets(const char *cmd, const char *list, const at_config *cfg,
                char names[][AT_MAX_NAME], int *cols, int *n)
{
    *n = 0;
    if (!list) {
        for (int t = 0; t < cfg->n_tagsets; t++)
            if (!strcmp(cfg->tagset[t], "upos") || !strcmp(cfg->tagset[t], "xpos")) {
                snprintf(names[*n], AT_MAX_NAME, "%s", cfg->tagset[t]);
                cols[(*n)++] = cfg->tagset[t][0] == 'u' ? 3 : 4;
            }
        return 0;
    }
    char *copy = strdup(list), *save = NULL;
    if (!copy) {
        cli_usage_error(cmd, "out of memory");
        return -1;
    }
    for (char *it = strtok_r(copy, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(it, ':'), *end = NULL;
        long col = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || colon == it || colon - it >= AT_MAX_NAME || col < 3 || col > 10 ||
            *end != '\0' || *n == AT_MAX_TAGSETS) {
            free(copy);
            cli_usage_error(cmd, "--tagsets: expected NAME:COLUMN pairs, columns 3 to 10, got "
                            "'%s'", list);
            return -1;
        }
        *colon = '\0';
        snprintf(names[*n], AT_MAX_NAME, "%s", it);
        cols[(*n)++] = (int)col - 1;
    }
    free(copy);
    return 0;
}

/* The value of arg in a table of names, or EXIT_USAGE with a usage error naming the
 * option and every name. */
typedef struct named { const char *name; int value; } named;
static int pick(const char *cmd, const char *option, const char *arg, const named *t, size_t n,
                int *out)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(arg, t[i].name) == 0) {
            *out = t[i].value;
            return 0;
        }
    char names[128] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", t[i].name,
                 i + 2 < n ? ", " : i + 1 < n ? " or " : "");
    return cli_usage_error(cmd, "%s: unknown format '%s' (%s)", option, arg, names);
}

int cli_input_format(const char *cmd, const char *arg, at_input_format *out)
{
    static const named fmts[] = {{"lines", AT_IN_LINES}, {"vertical", AT_IN_VERTICAL},
                                 {"conllu", AT_IN_CONLLU}, {"raw", AT_IN_RAW}};
    int v;
    if (pick(cmd, "--input", arg, fmts, sizeof fmts / sizeof *fmts, &v))
        return EXIT_USAGE;
    *out = (at_input_format)v;
    return 0;
}

int cli_output_format(const char *cmd, const char *arg, at_output_format *out)
{
    static const named fmts[] = {{"wordtag", AT_OUT_WORDTAG}, {"tsv", AT_OUT_TSV},
                                 {"conllu", AT_OUT_CONLLU}, {"json", AT_OUT_JSON}};
    int v;
    if (pick(cmd, "--format", arg, fmts, sizeof fmts / sizeof *fmts, &v))
        return EXIT_USAGE;
    *out = (at_output_format)v;
    return 0;
}
