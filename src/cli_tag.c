/*
 * cli_tag.c - `attntag [tag]`: read sentences, tag them, write them.
 */
#include "cli.h"
#include "cli_batch.h"

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

typedef struct batch_opts {
    const char *outdir, *suffix, *files_from;
    int recursive, nul, skip_existing;
} batch_opts;

/* tag_file: one input of a batch into its own output, which appears under
 * its final name only when the whole file is tagged. */
static int tag_file(at_tagger *t, const char *in_path, const char *out_path, long long *tokens,
                    at_error *err)
{
    FILE *in = fopen(in_path, "rb");
    if (!in)
        return at_error_set(err, "%s: cannot open: %s", in_path, strerror(errno));
    at_output *o;
    if (at_output_open(out_path, &o, err)) {
        fclose(in);
        return -1;
    }
    long long n = 0;
    int rc = at_tagger_run(t, in, in_path, at_output_stream(o), &n, err);
    long_lines_note(t, in_path);
    if (rc == 0 && ferror(in))
        rc = at_error_set(err, "%s: read error", in_path);
    fclose(in);
    if (rc) {
        at_output_abort(o);
        return -1;
    }
    *tokens += n;
    return at_output_commit(o, err);
}

/* tag_batch: every file named into its own output; a file that fails is
 * reported and the others are still tagged. */
static int tag_batch(at_tagger *t, const batch_opts *b, char **paths, int n_paths,
                     const char *ext)
{
    at_error err;
    batch_list l = {0};
    int rc = 0;
    batch_list_skip(&l, b->outdir);
    for (int i = 0; rc == 0 && i < n_paths; i++)
        rc = batch_list_add(&l, paths[i], b->recursive, &err);
    if (rc == 0 && b->files_from)
        rc = batch_list_read(&l, b->files_from, b->nul, b->recursive, &err);
    if (rc == 0 && b->outdir)
        rc = batch_same_outputs(&l, ext, &err);
    if (rc) {
        batch_list_free(&l);
        return cli_fail(&err);
    }
    batch_progress p;
    batch_progress_start(&p, &l);
    for (size_t i = 0; i < l.n; i++) {
        const batch_file *f = &l.f[i];
        char *out = NULL;
        int ok = 1;
        if (f->error) {
            at_error_set(&err, "%s: %s", f->path, f->error);
            ok = 0;
        } else if (!(out = batch_output(f, b->outdir, b->outdir ? ext : b->suffix, &err))) {
            at_error_set(&err, "%s: %.900s", f->path, err.msg);
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
        batch_progress_show(&p, i + 1 == l.n); /* the last state always shown */
    }
    batch_progress_end(&p);
    size_t failed = p.failed;
    batch_list_free(&l);
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
        return at_error_set(err, "out of memory");
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

int cli_tag(int argc, char **argv)
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
    const char *model_path = NULL, *tagsets = NULL;
    batch_opts b = {0};
    at_input_format in_fmt = AT_IN_LINES;
    int out_fmt = -1, line_buffered = 0, probs = 0, top = 0, c;
    double min_prob = 0;
    const char *sentences = NULL;
    int threads = cli_default_threads();
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:i:tf:s:hVo:r0j:", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'i':
            if (cli_input_format("", optarg, &in_fmt))
                return EXIT_USAGE;
            break;
        case 't': in_fmt = AT_IN_RAW; break;
        case 'L':
            if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "line") != 0)
                return cli_usage_error("", "--sentences: expected auto or line, got '%s'",
                                       optarg);
            sentences = optarg;
            break;
        case 'f': {
            at_output_format f;
            if (cli_output_format("", optarg, &f))
                return EXIT_USAGE;
            out_fmt = (int)f;
            break;
        }
        case 's': tagsets = optarg; break;
        case 'p': probs = 1; break;
        case 'P': {
            char *end;
            errno = 0;
            min_prob = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(min_prob > 0 && min_prob <= 1))
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
            top = (int)k;
            break;
        }
        case 'l': line_buffered = 1; break;
        case 'o': b.outdir = optarg; break;
        case 'S': b.suffix = optarg; break;
        case 'r': b.recursive = 1; break;
        case 'F': b.files_from = optarg; break;
        case '0': b.nul = 1; break;
        case 'E': b.skip_existing = 1; break;
        case 'j':
            if ((threads = cli_threads(optarg)) < 1)
                return cli_usage_error("", "--threads: expected a number from 1 to %d, got '%s'",
                                       AT_MAX_THREADS, optarg);
            break;
        case 'h': tag_help(); return EXIT_OK;
        case 'V': printf("attntag %s\n", ATTNTAG_VERSION); return EXIT_OK;
        default: return cli_usage_error("", "invalid option");
        }
    }
    if (sentences && in_fmt != AT_IN_RAW)
        return cli_usage_error("", "--sentences is for raw text (--tokenize)");
    if (sentences && strcmp(sentences, "line") == 0)
        in_fmt = AT_IN_RAW_LINES;
    if (out_fmt < 0)
        out_fmt = in_fmt == AT_IN_CONLLU ? AT_OUT_CONLLU : AT_OUT_WORDTAG;
    if (top && out_fmt != AT_OUT_JSON)
        return cli_usage_error("", "--top needs --format json");
    if (probs && out_fmt != AT_OUT_JSON && out_fmt != AT_OUT_TSV)
        return cli_usage_error("", "--probs needs --format json or tsv");
    int batch = b.outdir || b.suffix;
    if (b.outdir && b.suffix)
        return cli_usage_error("", "--output-dir and --suffix: choose one");
    if (b.suffix && !*b.suffix)
        return cli_usage_error("", "--suffix: an empty suffix would write over the inputs");
    if (!batch && (b.recursive || b.files_from || b.skip_existing))
        return cli_usage_error("", "-r, --files-from and --skip-existing need --output-dir "
                               "or --suffix");
    if (b.nul && !b.files_from)
        return cli_usage_error("", "-0 needs --files-from");
    if (batch && line_buffered)
        return cli_usage_error("", "--line-buffered is for a stream, not for batch mode");
    if (batch && !b.files_from && optind == argc)
        return cli_usage_error("", "batch mode needs files (or --files-from)");

    at_error err;
    at_tagger_opts to;
    memset(&to, 0, sizeof to);
    to.in = in_fmt;
    to.threads = line_buffered ? 1 : threads;
    to.line_buffered = line_buffered;
    at_write_opts *wo = &to.wo;
    wo->format = (at_output_format)out_fmt;
    wo->probs = probs;
    wo->top = top;
    wo->min_prob = min_prob;
    int status = EXIT_OK;
    at_model *m = NULL;
    if (cli_load_model(model_path, &m, &err))
        return cli_fail(&err);
    const char *deflt = out_fmt == AT_OUT_CONLLU || out_fmt == AT_OUT_JSON ? "all" : NULL;
    if (out_fmt == AT_OUT_CONLLU && !tagsets) { /* the tag sets CoNLL-U has columns for */
        for (int i = 0; i < at_model_config(m)->n_tagsets; i++)
            if (!strcmp(at_model_config(m)->tagset[i], "upos") ||
                !strcmp(at_model_config(m)->tagset[i], "xpos"))
                wo->sel[wo->n_sel++] = i;
    } else if (tagsets || deflt) {
        if (parse_tagsets(m, tagsets ? tagsets : deflt, wo, &err)) {
            at_model_free(m);
            return cli_usage_error("", "%s", err.msg);
        }
    } else {
        wo->n_sel = 1;
    }
    at_tagger *t = NULL;
    if (wo->n_sel == 0 || at_tagger_new(m, &to, &t, &err)) {
        if (wo->n_sel == 0)
            at_error_set(&err, "the model has no upos or xpos tag set for CoNLL-U output");
        at_model_free(m);
        return cli_fail(&err);
    }
    if (line_buffered)
        setvbuf(stdout, NULL, _IOLBF, 0);

    if (batch) {
        static const char *const ext[] = {".tag", ".tsv", ".conllu", ".jsonl"};
        status = tag_batch(t, &b, argv + optind, argc - optind, ext[out_fmt]);
        goto done;
    }

    int n_files = argc - optind;
    long long tokens = 0;
    for (int i = 0; status == EXIT_OK && i < (n_files ? n_files : 1); i++) {
        const char *path = n_files ? argv[optind + i] : "-";
        int is_stdin = strcmp(path, "-") == 0;
        FILE *in = is_stdin ? stdin : fopen(path, "rb");
        if (!in) {
            at_error_set(&err, "%s: cannot open: %s", path, strerror(errno));
            status = cli_fail(&err);
            break;
        }
        if (at_tagger_run(t, in, is_stdin ? "<stdin>" : path, stdout, &tokens, &err))
            status = cli_fail(&err);
        long_lines_note(t, is_stdin ? "<stdin>" : path);
        if (!is_stdin)
            fclose(in);
    }
done:
    if (fflush(stdout) != 0 && status == EXIT_OK) {
        at_error_set(&err, "write error on standard output: %s", strerror(errno));
        status = cli_fail(&err);
    }
    at_tagger_free(t);
    at_model_free(m);
    return status;
}
