/*
 * cli_tag.c - `attntag [tag]`: read sentences, tag them, write them.
 */
#include "cli.h"
#include "cli_files.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void tag_help(void)
{
    fputs("Usage: attntag [tag] [OPTION]... [FILE]...\n"
          "Tag each FILE (standard input when none, or for '-') and write the result to\n"
          "standard output.\n"
          "\n"
          "  -m, --model FILE     model file (.safetensors or .json); default $ATTNTAG_MODEL,\n"
          "                       else the bundled English model\n"
          "  -i, --input FORMAT   lines     one sentence per line, tokens separated by\n"
          "                                 white space (default)\n"
          "                       vertical  one token per line, blank line between sentences\n"
          "                       conllu    CoNLL-U; multiword ranges and empty nodes are\n"
          "                                 kept but not tagged\n"
          "                       raw       running text: split into sentences and tokens\n"
          "  -t, --tokenize       the same as --input raw\n"
          "      --sentences HOW  raw text: auto (default: a blank line ends a paragraph,\n"
          "                       a sentence may go on across a line break) or line\n"
          "                       (each line is one or more sentences of its own)\n"
          "  -f, --format FORMAT  wordtag   word_TAG per token, one line per sentence\n"
          "                                 (default, except for CoNLL-U input)\n"
          "                       tsv       token<TAB>tag, blank line after each sentence\n"
          "                       conllu    fill UPOS/XPOS, keep every other byte\n"
          "                                 (default for CoNLL-U input)\n"
          "                       json      JSON Lines: tokens and tags per sentence\n"
          "  -s, --tagset LIST    tag sets to print, comma-separated, or 'all' (default:\n"
          "                       the first for wordtag and tsv, all for conllu and json)\n"
          "      --probs          json, tsv: the probability of each chosen tag (tsv:\n"
          "                       a column per tag set, after the tags)\n"
          "      --min-prob P     mark each token whose chosen tag (in any tag set\n"
          "                       printed) has a probability below P, for review:\n"
          "                       wordtag word_TAG?, tsv a last column ?, conllu\n"
          "                       Review=Yes in MISC, json \"review\": true\n"
          "      --top K          json: the K most probable tags of each token\n"
          "  -j, --threads N      tag on N threads (default: one per core it may use); the\n"
          "                       output is the same for any N\n"
          "      --line-buffered  tag and write each sentence as soon as it is read, and\n"
          "                       flush (for use as a coprocess); otherwise sentences are\n"
          "                       tagged in batches, with the same results\n"
          "\n"
          "Many files, one output each (batch mode):\n"
          "  -o, --output-dir DIR write each FILE's output to DIR/NAME.EXT, NAME its base\n"
          "                       name (with -r, the directory's name and the path\n"
          "                       below it, as cp -r), EXT .tag, .tsv, .conllu or\n"
          "                       .jsonl as --format says; two files with one NAME\n"
          "                       are refused (DIR and the directories under it are\n"
          "                       made)\n"
          "      --suffix SUF     write each FILE's output beside it, as FILE + SUF\n"
          "  -r, --recursive      tag the files in directories named, at any depth\n"
          "      --files-from F   also tag the files named in F ('-': standard input),\n"
          "                       one per line\n"
          "  -0, --null           names in F end with NUL bytes (find -print0)\n"
          "      --skip-existing  leave a file whose output is already there (to resume)\n"
          "Each output is written to a temporary file and renamed into place when\n"
          "complete. A file that cannot be read or tagged is reported and has no output;\n"
          "the others are tagged, and the exit status is then 2.\n"
          "\n"
          "  -h, --help           show this help\n"
          "  -V, --version        show the version\n"
          "\n"
          "Exit status: 0 success, 1 usage error, 2 bad input or model.\n",
          stdout);
}

/* long_lines_note: said once per input that has lines past AT_MAX_LINE. */
static void long_lines_note(const at_tagger *t, const char *name)
{
    size_t n = at_tagger_long_lines(t);
    if (n)
        fprintf(stderr, "attntag: %s: %zu line%s longer than %d bytes tagged in pieces cut at "
                "white space (tags near the cuts may differ)\n", name, n, n == 1 ? "" : "s",
                AT_MAX_LINE);
}

typedef struct files_opts {
    const char *outdir, *suffix, *files_from;
    int recursive, nul, skip_existing;
} files_opts;

/* tag_file: one input of batch mode into its own output, which appears under
 * its final name only when the whole file is tagged. */
static int tag_file(at_tagger *t, const char *in_path, const char *out_path, long long *tokens,
                    at_error *err)
{
    FILE *in = fopen(in_path, "rb");
    if (!in)
        return at_error_set(err, "%s: cannot open: %s", in_path, strerror(errno));
    at_outfile *o;
    if (at_outfile_open(out_path, &o, err)) {
        fclose(in);
        return -1;
    }
    long long n = 0;
    int rc = at_tagger_run(t, in, in_path, at_outfile_stream(o), &n, err);
    long_lines_note(t, in_path);
    if (rc == 0 && ferror(in))
        rc = at_error_set(err, "%s: read error", in_path);
    fclose(in);
    if (rc) {
        at_outfile_abort(o);
        return -1;
    }
    *tokens += n;
    return at_outfile_commit(o, err);
}

/* tag_files: every file named into its own output; a file that fails is
 * reported and the others are still tagged. */
static int tag_files(at_tagger *t, const files_opts *b, char **paths, int n_paths,
                     const char *ext)
{
    at_error err;
    file_list l = {0};
    int rc = 0;
    file_list_skip(&l, b->outdir);
    for (int i = 0; rc == 0 && i < n_paths; i++)
        rc = file_list_add(&l, paths[i], b->recursive, &err);
    if (rc == 0 && b->files_from)
        rc = file_list_read(&l, b->files_from, b->nul, b->recursive, &err);
    if (rc == 0 && b->outdir)
        rc = file_list_same_outputs(&l, ext, &err);
    if (rc) {
        file_list_free(&l);
        return cli_fail(&err);
    }
    files_progress p;
    files_progress_start(&p, &l);
    for (size_t i = 0; i < l.n; i++) {
        const file_entry *f = &l.f[i];
        char *out = NULL;
        int ok = 1;
        if (f->error) {
            at_error_set(&err, "%s: %s", f->path, f->error);
            ok = 0;
        } else if (!(out = file_output(f, b->outdir, b->outdir ? ext : b->suffix, &err))) {
            at_error_context(&err, "%s", f->path);
            ok = 0;
        } else if (b->skip_existing && access(out, F_OK) == 0) {
            p.skipped++;
        } else if (tag_file(t, f->path, out, &p.tokens, &err)) {
            ok = 0;
        }
        if (!ok) {
            if (p.tty)
                fputs("\r\033[K", stderr);
            cli_fail(&err);
            p.failed++;
        }
        free(out);
        p.files++;
        p.bytes += f->size > 0 ? f->size : 0;
        files_progress_show(&p, i + 1 == l.n); /* the last state always shown */
    }
    files_progress_end(&p);
    size_t failed = p.failed;
    file_list_free(&l);
    return failed ? EXIT_DATA : EXIT_OK;
}

static int parse_tagsets(const at_model *m, const char *list, at_write_opts *wo, at_error *err)
{
    const at_config *c = at_model_config(m);
    wo->n_sel = 0;
    if (strcmp(list, "all") == 0) {
        for (int i = 0; i < c->n_tagsets; i++)
            wo->sel[wo->n_sel++] = i;
        return 0;
    }
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        int ts = at_model_tagset_index(m, name);
        if (ts < 0 || wo->n_sel == AT_MAX_TAGSETS) {
            char names[AT_MAX_TAGSETS * (AT_MAX_NAME + 1)] = "";
            for (int i = 0; i < c->n_tagsets; i++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         i ? "," : "", c->tagset[i]);
            at_error_set(err, "--tagset: the model has no tag set \"%s\" (it has: %s)", name,
                         names);
            free(copy);
            return -1;
        }
        wo->sel[wo->n_sel++] = ts;
    }
    free(copy);
    if (wo->n_sel == 0)
        return at_error_set(err, "--tagset: no tag set named");
    return 0;
}

/* What the command line asks of `attntag tag`. */
typedef struct tag_args {
    const char *model_path, *tagsets, *sentences;
    files_opts files;
    at_input_format in;
    int out_fmt, line_buffered, probs, top, threads;
    double min_prob;
} tag_args;

/* check_args: whether the options go together, with the output format's
 * default filled in; -1 when they do, else the exit status. */
static int check_args(tag_args *a, int n_files)
{
    const files_opts *b = &a->files;
    int many = b->outdir || b->suffix; /* batch mode: an output file per input */
    if (a->sentences && a->in != AT_IN_RAW)
        return cli_usage_error("", "--sentences is for raw text (--tokenize)");
    if (a->sentences && strcmp(a->sentences, "line") == 0)
        a->in = AT_IN_RAW_LINES;
    if (a->out_fmt < 0)
        a->out_fmt = a->in == AT_IN_CONLLU ? AT_OUT_CONLLU : AT_OUT_WORDTAG;
    if (a->top && a->out_fmt != AT_OUT_JSON)
        return cli_usage_error("", "--top needs --format json");
    if (a->probs && a->out_fmt != AT_OUT_JSON && a->out_fmt != AT_OUT_TSV)
        return cli_usage_error("", "--probs needs --format json or tsv");
    if (b->outdir && b->suffix)
        return cli_usage_error("", "--output-dir and --suffix: choose one");
    if (b->suffix && !*b->suffix)
        return cli_usage_error("", "--suffix: an empty suffix would write over the inputs");
    if (!many && (b->recursive || b->files_from || b->skip_existing))
        return cli_usage_error("", "-r, --files-from and --skip-existing need --output-dir "
                               "or --suffix");
    if (b->nul && !b->files_from)
        return cli_usage_error("", "-0 needs --files-from");
    if (many && a->line_buffered)
        return cli_usage_error("", "--line-buffered is for a stream, not for batch mode");
    if (many && !b->files_from && n_files == 0)
        return cli_usage_error("", "batch mode needs files (or --files-from)");
    return -1;
}

/* parse_args: the options into a, the files left from optind; -1 to go on,
 * else the exit status (--help, --version, a usage error). */
static int parse_args(int argc, char **argv, tag_args *a)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},  {"input", required_argument, NULL, 'i'},
        {"tokenize", no_argument, NULL, 't'},     {"format", required_argument, NULL, 'f'},
        {"tagset", required_argument, NULL, 's'}, {"probs", no_argument, NULL, 'p'},
        {"top", required_argument, NULL, 'k'},    {"line-buffered", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {"output-dir", required_argument, NULL, 'o'}, {"suffix", required_argument, NULL, 'S'},
        {"recursive", no_argument, NULL, 'r'},    {"files-from", required_argument, NULL, 'F'},
        {"null", no_argument, NULL, '0'},         {"skip-existing", no_argument, NULL, 'E'},
        {"threads", required_argument, NULL, 'j'}, {"min-prob", required_argument, NULL, 'P'},
        {"sentences", required_argument, NULL, 'L'},
        {NULL, 0, NULL, 0}};
    int c;
    memset(a, 0, sizeof *a);
    a->in = AT_IN_LINES;
    a->out_fmt = -1;
    a->threads = cli_default_threads();
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:i:tf:s:hVo:r0j:", opts, NULL)) != -1) {
        switch (c) {
        case 'm': a->model_path = optarg; break;
        case 'i':
            if (cli_input_format("", optarg, &a->in))
                return EXIT_USAGE;
            break;
        case 't': a->in = AT_IN_RAW; break;
        case 'L':
            if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "line") != 0)
                return cli_usage_error("", "--sentences: expected auto or line, got '%s'",
                                       optarg);
            a->sentences = optarg;
            break;
        case 'f': {
            at_output_format f;
            if (cli_output_format("", optarg, &f))
                return EXIT_USAGE;
            a->out_fmt = (int)f;
            break;
        }
        case 's': a->tagsets = optarg; break;
        case 'p': a->probs = 1; break;
        case 'P': {
            char *end;
            errno = 0;
            a->min_prob = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(a->min_prob > 0 && a->min_prob <= 1))
                return cli_usage_error("", "--min-prob: expected a probability above 0 and at "
                                       "most 1, got '%s'", optarg);
            break;
        }
        case 'k': {
            char *end;
            errno = 0;
            long k = strtol(optarg, &end, 10);
            if (errno || *end || k < 1 || k > 1000)
                return cli_usage_error("", "--top: expected a number from 1 to 1000, got '%s'",
                                       optarg);
            a->top = (int)k;
            break;
        }
        case 'l': a->line_buffered = 1; break;
        case 'o': a->files.outdir = optarg; break;
        case 'S': a->files.suffix = optarg; break;
        case 'r': a->files.recursive = 1; break;
        case 'F': a->files.files_from = optarg; break;
        case '0': a->files.nul = 1; break;
        case 'E': a->files.skip_existing = 1; break;
        case 'j':
            if ((a->threads = cli_threads(optarg)) < 1)
                return cli_usage_error("", "--threads: expected a number from 1 to %d, got '%s'",
                                       AT_MAX_THREADS, optarg);
            break;
        case 'h': tag_help(); return EXIT_OK;
        case 'V': printf("attntag %s\n", ATTNTAG_VERSION); return EXIT_OK;
        default: return cli_usage_error("", "invalid option");
        }
    }
    return check_args(a, argc - optind);
}

/* select_tagsets: the tag sets written, into wo: --tagset's, else the ones
 * the format has room for; -1 to go on, else the exit status. */
static int select_tagsets(const at_model *m, const tag_args *a, at_write_opts *wo)
{
    at_error err;
    const at_config *c = at_model_config(m);
    const char *deflt = a->out_fmt == AT_OUT_CONLLU || a->out_fmt == AT_OUT_JSON ? "all" : NULL;
    if (a->out_fmt == AT_OUT_CONLLU && !a->tagsets) { /* the tag sets CoNLL-U has columns for */
        for (int i = 0; i < c->n_tagsets; i++)
            if (!strcmp(c->tagset[i], "upos") || !strcmp(c->tagset[i], "xpos"))
                wo->sel[wo->n_sel++] = i;
        if (wo->n_sel == 0) {
            at_error_set(&err, "the model has no upos or xpos tag set for CoNLL-U output");
            return cli_fail(&err);
        }
    } else if (a->tagsets || deflt) {
        if (parse_tagsets(m, a->tagsets ? a->tagsets : deflt, wo, &err))
            return cli_usage_error("", "%s", err.msg);
    } else {
        wo->n_sel = 1;
    }
    return -1;
}

/* tag_streams: standard input, or each file named in turn, to standard output. */
static int tag_streams(at_tagger *t, char **paths, int n_files)
{
    at_error err;
    long long tokens = 0;
    for (int i = 0; i < (n_files ? n_files : 1); i++) {
        const char *path = n_files ? paths[i] : "-";
        int is_stdin = strcmp(path, "-") == 0;
        FILE *in = is_stdin ? stdin : fopen(path, "rb");
        if (!in) {
            at_error_set(&err, "%s: cannot open: %s", path, strerror(errno));
            return cli_fail(&err);
        }
        int status = at_tagger_run(t, in, is_stdin ? "<stdin>" : path, stdout, &tokens, &err)
                         ? cli_fail(&err) : EXIT_OK;
        long_lines_note(t, is_stdin ? "<stdin>" : path);
        if (!is_stdin)
            fclose(in);
        if (status != EXIT_OK)
            return status;
    }
    return EXIT_OK;
}

int cli_tag(int argc, char **argv)
{
    tag_args a;
    int status = parse_args(argc, argv, &a);
    if (status >= 0)
        return status;
    at_error err;
    at_tagger_opts to;
    memset(&to, 0, sizeof to);
    to.in = a.in;
    to.threads = a.line_buffered ? 1 : a.threads;
    to.line_buffered = a.line_buffered;
    to.wo.format = (at_output_format)a.out_fmt;
    to.wo.probs = a.probs;
    to.wo.top = a.top;
    to.wo.min_prob = a.min_prob;
    at_model *m = NULL;
    at_tagger *t = NULL;
    if (cli_load_model(a.model_path, &m, &err))
        return cli_fail(&err);
    if ((status = select_tagsets(m, &a, &to.wo)) < 0 && at_tagger_new(m, &to, &t, &err))
        status = cli_fail(&err);
    if (status >= 0) {
        at_model_free(m);
        return status;
    }
    if (a.line_buffered)
        setvbuf(stdout, NULL, _IOLBF, 0);
    if (a.files.outdir || a.files.suffix) {
        static const char *const ext[] = {".tag", ".tsv", ".conllu", ".jsonl"};
        status = tag_files(t, &a.files, argv + optind, argc - optind, ext[a.out_fmt]);
    } else {
        status = tag_streams(t, argv + optind, argc - optind);
    }
    if (fflush(stdout) != 0 && status == EXIT_OK) {
        at_error_of(&err, AT_ERR_OUTPUT, "write error on standard output: %s", strerror(errno));
        status = cli_fail(&err);
    }
    at_tagger_free(t);
    at_model_free(m);
    return status;
}
