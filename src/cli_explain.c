/*
 * cli_explain.c - `attntag explain`: the attention heat maps of a model on
 * sentences, as an HTML page, one SVG picture or JSON Lines (explain.c).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void explain_help(void)
{
    fputs("Usage: attntag explain [-m MODEL] [OPTION]... [FILE]\n"
          "Draw what the model attends to: for every sentence of FILE (or standard\n"
          "input), every layer and head, a heat map of its attention weights with the\n"
          "words on both axes (a row is a word: how much it draws from each word),\n"
          "with the tags and their probabilities. Blocks that do not attend show the\n"
          "receptive field their architecture fixes. Sentences of at most the model's\n"
          "max_len tokens.\n"
          "\n"
          "  -m, --model FILE     the model (default: as for tagging)\n"
          "  -i, --input FORMAT   lines (one sentence per line, tokens separated by\n"
          "                       spaces; the default), vertical, conllu, or raw\n"
          "  -t, --tokenize       the same as --input raw\n"
          "  -n, --sentence N     only the Nth sentence (from 1)\n"
          "  -l, --layer N        only layer N (from 1)\n"
          "  -f, --format FORMAT  html (a self-contained page: inline SVG, no scripts,\n"
          "                       nothing fetched; the default), svg (one sentence's\n"
          "                       maps as one picture), or json (one object per\n"
          "                       sentence: tokens, tags, probabilities, and per layer\n"
          "                       the weights [head][row][column])\n"
          "  -o, --output FILE    write there (default: standard output)\n"
          "  -h, --help           show this help\n"
          "\n"
          "Exit status: 0 written, 1 usage error, 2 bad input or model.\n",
          stdout);
}

/* explain_sentences: the sentences read from r (the only-th alone, if only)
 * added to x; in_name for the message when there are fewer. */
static int explain_sentences(at_explainer *x, at_reader *r, size_t only, const char *in_name,
                             at_error *err)
{
    at_sentence s;
    at_sentence_init(&s);
    size_t seen = 0;
    int rc;
    while ((rc = at_reader_next(r, &s, err)) == 1) {
        rc = 0;
        if (s.n == 0)
            continue;
        seen++;
        if (!s.number) /* readers that do not count: the sentence's place here */
            s.number = seen;
        if (only && seen != only)
            continue;
        if ((rc = at_explain_add(x, &s, err)) != 0 || only)
            break;
    }
    at_sentence_free(&s);
    if (rc == 0 && only && seen < only)
        rc = at_error_set(err, "%s: has %zu sentences, not %zu", in_name, seen, only);
    return rc;
}

int cli_explain(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},  {"input", required_argument, NULL, 'i'},
        {"tokenize", no_argument, NULL, 't'},     {"sentence", required_argument, NULL, 'n'},
        {"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
        {"layer", required_argument, NULL, 'l'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *model_path = NULL, *out_path = NULL;
    at_input_format in_fmt = AT_IN_LINES;
    at_explain_format fmt = AT_EXPLAIN_HTML;
    size_t only = 0;
    int c, layer = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:i:tn:l:f:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 't': in_fmt = AT_IN_RAW; break;
        case 'i':
            if (cli_input_format("explain ", optarg, &in_fmt))
                return EXIT_USAGE;
            break;
        case 'f':
            if (!strcmp(optarg, "html")) fmt = AT_EXPLAIN_HTML;
            else if (!strcmp(optarg, "svg")) fmt = AT_EXPLAIN_SVG;
            else if (!strcmp(optarg, "json")) fmt = AT_EXPLAIN_JSON;
            else
                return cli_usage_error("explain ", "--format: unknown format '%s' (html, svg, "
                                       "json)", optarg);
            break;
        case 'n':
        case 'l': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || end == optarg || v == 0 || optarg[0] == '-' || v > 1u << 30)
                return cli_usage_error("explain ", "--%s: expected a number from 1, got '%s'",
                                       c == 'n' ? "sentence" : "layer", optarg);
            if (c == 'n')
                only = (size_t)v;
            else
                layer = (int)v;
            break;
        }
        case 'h': explain_help(); return EXIT_OK;
        default: return cli_usage_error("explain ", "invalid option");
        }
    }
    if (argc - optind > 1)
        return cli_usage_error("explain ", "explain reads one file (or standard input)");
    const char *in_path = optind < argc && strcmp(argv[optind], "-") ? argv[optind] : NULL;
    at_error err;
    at_model *m;
    if (cli_load_model(model_path, &m, &err))
        return cli_fail(&err);
    FILE *in = in_path ? fopen(in_path, "rb") : stdin;
    if (!in) {
        fprintf(stderr, "attntag: %s: cannot open: %s\n", in_path, strerror(errno));
        at_model_free(m);
        return EXIT_DATA;
    }
    at_outfile *out = NULL;
    at_reader *r = NULL;
    at_explainer *x = NULL;
    const char *title = model_path ? model_path : "the default model";
    int rc = out_path ? at_outfile_open(out_path, &out, &err) : 0;
    FILE *fp = out ? at_outfile_stream(out) : stdout;
    if (rc == 0)
        rc = at_reader_new(in, in_path ? in_path : "<stdin>", in_fmt, &r, &err);
    if (rc == 0)
        rc = at_explain_new(m, fp, fmt, title, &x, &err);
    if (rc == 0 && layer)
        rc = at_explain_layer(x, layer, &err);
    if (rc == 0)
        rc = explain_sentences(x, r, only, in_path ? in_path : "<stdin>", &err);
    if (x) {
        int frc = rc == 0 ? at_explain_finish(x, &err) : (at_explain_free(x), 0);
        rc = rc ? rc : frc;
    }
    if (rc == 0 && out)
        rc = at_outfile_commit(out, &err);
    else if (out)
        at_outfile_abort(out);
    else if (rc == 0 && (fflush(stdout) || ferror(stdout)))
        rc = at_error_of(&err, AT_ERR_OUTPUT, "standard output: cannot write: %s", strerror(errno));
    at_reader_free(r);
    if (in != stdin)
        fclose(in);
    at_model_free(m);
    return rc ? cli_fail(&err) : EXIT_OK;
}
