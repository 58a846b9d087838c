/*
 * cli_calibrate.c - `attntag calibrate`: fit each tag set's temperature on a
 * held-out CoNLL-U corpus, so that the probabilities the model prints match
 * how often its tags are right there, and write the model with them.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void calibrate_help(void)
{
    fputs("Usage: attntag calibrate [-m MODEL] --dev DEV.conllu -o OUT\n"
          "Fit one temperature per tag set on DEV (the T of softmax(logits / T) that\n"
          "makes DEV's gold tags most likely), so that a tag printed with probability p\n"
          "is right about p of the time, and write the model with it to OUT. The tags\n"
          "do not change; probabilities (--probs, --top) and `attntag eval`'s\n"
          "calibration error do. Use a corpus the model was not trained on.\n"
          "\n"
          "  -m, --model FILE    the model (default: as for tagging)\n"
          "      --dev FILE      held-out CoNLL-U with gold tags\n"
          "  -o, --output FILE   the calibrated model (.safetensors or .json)\n"
          "      --tagsets LIST  tag sets as NAME:COLUMN (DEV's 1-based column);\n"
          "                      default: the model's upos:4 and xpos:5\n"
          "  -h, --help          show this help\n"
          "\n"
          "Exit status: 0 written, 1 usage error, 2 bad input or model.\n",
          stdout);
}

/* The tokens of DEV with their gold tags: gold[t][i] is the index of token
 * i's tag in tag set t of the model, or its number of tags when the model
 * has no such tag. */
typedef struct devset {
    at_feats f;
    size_t *sent, n_sent, sent_cap;
    uint32_t *gold[AT_MAX_TAGSETS];
    size_t gold_cap;
} devset;

static int read_dev(const at_model *m, const char *path, const int *ts, const int *col, int n_ts,
                    devset *d, at_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return at_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    at_reader *r = NULL;
    at_sentence s;
    at_sentence_init(&s);
    int rc = at_reader_new(fp, path, AT_IN_CONLLU, &r, err);
    while (rc == 0 && (rc = at_reader_next(r, &s, err)) == 1) {
        rc = 0;
        if (d->n_sent + 2 > d->sent_cap) {
            size_t cap = d->sent_cap ? 2 * d->sent_cap : 1024;
            size_t *ns = realloc(d->sent, cap * sizeof *ns);
            if (!ns) {
                rc = at_error_of(err, AT_ERR_MEMORY, "out of memory");
                break;
            }
            d->sent = ns;
            d->sent_cap = cap;
        }
        d->sent[d->n_sent] = d->f.n;
        for (size_t l = 0; rc == 0 && l < s.n_lines; l++) {
            if (s.line_tok[l] < 0)
                continue;
            const char *const *c = at_sentence_fields(&s, l);
            if (d->f.n == d->gold_cap) {
                size_t cap = d->gold_cap ? 2 * d->gold_cap : 4096;
                for (int t = 0; t < n_ts && rc == 0; t++) {
                    uint32_t *g = realloc(d->gold[t], cap * sizeof *g);
                    if (!g)
                        rc = at_error_of(err, AT_ERR_MEMORY, "out of memory");
                    else
                        d->gold[t] = g;
                }
                d->gold_cap = rc == 0 ? cap : d->gold_cap;
            }
            for (int t = 0; t < n_ts && rc == 0; t++) {
                size_t k = at_model_n_tags(m, ts[t]), id = 0;
                while (id < k && strcmp(at_model_tag(m, ts[t], id), c[col[t]]) != 0)
                    id++;
                d->gold[t][d->f.n] = (uint32_t)id;
            }
            if (rc == 0 && at_feats_add(m, &d->f, c[1], strlen(c[1]), err))
                rc = at_error_context(err, "%s:%zu", path, s.first_line + l);
        }
        d->sent[++d->n_sent] = d->f.n;
    }
    at_sentence_free(&s);
    at_reader_free(r);
    fclose(fp);
    if (rc == 0 && d->f.n == 0)
        rc = at_error_set(err, "%s: no words to calibrate on", path);
    return rc < 0 ? -1 : 0;
}

/* The calibration error of probabilities softmax(z / temp) against gold. */
static double error_at(const float *z, const uint32_t *gold, size_t n, size_t k, double temp)
{
    at_reliability r;
    memset(&r, 0, sizeof r);
    for (size_t i = 0; i < n; i++) {
        if (gold[i] >= k)
            continue;
        const float *zi = z + i * k;
        size_t best = 0;
        for (size_t j = 1; j < k; j++)
            best = zi[j] > zi[best] ? j : best;
        double sum = 0;
        for (size_t j = 0; j < k; j++)
            sum += exp((zi[j] - zi[best]) / temp);
        at_reliability_add(&r, 1.0 / sum, best == gold[i]);
    }
    return at_reliability_error(&r);
}

int cli_calibrate(int argc, char **argv)
{
    enum { O_DEV = 256, O_TAGSETS };
    static const struct option opts[] = {{"model", required_argument, NULL, 'm'},
                                         {"dev", required_argument, NULL, O_DEV},
                                         {"output", required_argument, NULL, 'o'},
                                         {"tagsets", required_argument, NULL, O_TAGSETS},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *model_path = NULL, *dev = NULL, *out = NULL, *tagsets = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'o': out = optarg; break;
        case O_DEV: dev = optarg; break;
        case O_TAGSETS: tagsets = optarg; break;
        case 'h': calibrate_help(); return EXIT_OK;
        default: return cli_usage_error("calibrate ", "invalid option");
        }
    }
    if (optind != argc)
        return cli_usage_error("calibrate ", "unexpected argument '%s'", argv[optind]);
    if (!dev || !out)
        return cli_usage_error("calibrate ", "calibrate needs --dev DEV.conllu and -o OUT");
    at_error err;
    at_model *m;
    if (at_outfile_check(out, &err) || cli_load_model(model_path, &m, &err))
        return cli_fail(&err);
    char names[AT_MAX_TAGSETS][AT_MAX_NAME];
    int col[AT_MAX_TAGSETS], ts[AT_MAX_TAGSETS], n_ts;
    if (cli_tagsets("calibrate ", tagsets, at_model_config(m), names, col, &n_ts)) {
        at_model_free(m);
        return EXIT_USAGE;
    }
    for (int t = 0; t < n_ts; t++)
        if ((ts[t] = at_model_tagset_index(m, names[t])) < 0) {
            at_model_free(m);
            return cli_usage_error("calibrate ", "the model has no tag set \"%s\"", names[t]);
        }
    if (n_ts == 0) {
        at_model_free(m);
        return cli_usage_error("calibrate ", "no tag set to calibrate: give --tagsets");
    }
    devset d;
    memset(&d, 0, sizeof d);
    at_feats_init(&d.f);
    at_state *st = NULL;
    float *probs[AT_MAX_TAGSETS] = {0}, *pr[AT_MAX_TAGSETS] = {0};
    /* the raw probabilities: any temperature the model has is fitted anew */
    int rc = read_dev(m, dev, ts, col, n_ts, &d, &err);
    for (int t = 0; rc == 0 && t < n_ts; t++)
        rc = at_model_set_temperature(m, ts[t], 0, &err);
    for (int t = 0; rc == 0 && t < n_ts; t++)
        if (!(probs[t] = malloc(d.f.n * at_model_n_tags(m, ts[t]) * sizeof **probs)))
            rc = at_error_of(&err, AT_ERR_MEMORY, "out of memory");
    for (int t = 0; t < n_ts; t++)
        pr[ts[t]] = probs[t];
    /* err.sentence is at_tag_batch's alone: the sentence it could not tag */
    if (rc == 0 && !(rc = at_state_new_batch(m, AT_BATCH_TOKENS, &st, &err)) &&
        (rc = at_tag_batch(m, st, &d.f, d.sent, d.n_sent, NULL, pr, &err)) && err.sentence)
        at_error_context(&err, "%s: sentence %zu", dev, err.sentence);
    for (int t = 0; rc == 0 && t < n_ts; t++) {
        size_t k = at_model_n_tags(m, ts[t]), n = d.f.n;
        float *z = probs[t]; /* log-probabilities, in place */
        for (size_t i = 0; i < n * k; i++)
            z[i] = logf(z[i] > 1e-45f ? z[i] : 1e-45f);
        double temp, nll1, nll_t;
        rc = at_fit_temperature(z, d.gold[t], n, k, &temp, &nll1, &nll_t, &err) ||
             at_model_set_temperature(m, ts[t], temp, &err);
        if (rc == 0)
            printf("%s: temperature %.4f; on %s: negative log-likelihood %.4f -> %.4f, "
                   "calibration error %.2f%% -> %.2f%%\n", names[t], temp, dev, nll1, nll_t,
                   100 * error_at(z, d.gold[t], n, k, 1.0),
                   100 * error_at(z, d.gold[t], n, k, temp));
    }
    if (rc == 0)
        rc = at_model_save(m, out, AT_FILE_AUTO, &err);
    at_state_free(st);
    for (int t = 0; t < n_ts; t++) {
        free(probs[t]);
        free(d.gold[t]);
    }
    free(d.sent);
    at_feats_free(&d.f);
    at_model_free(m);
    return rc ? cli_fail(&err) : EXIT_OK;
}
