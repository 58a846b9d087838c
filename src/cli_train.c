/*
 * cli_train.c - `attntag train`: options to a config and training options,
 * a progress line on a terminal, and Ctrl-C: the first asks for a checkpoint
 * and a clean stop, the second stops at once.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void train_help(void)
{
    fputs(
        "Usage: attntag train --train TRAIN.conllu --dev DEV.conllu -o MODEL [OPTION]...\n"
        "Train a tagger on TRAIN, choose the best epoch on DEV, write it to MODEL\n"
        "(.safetensors, or .json). A checkpoint (MODEL.ckpt) is written after every epoch\n"
        "and on Ctrl-C; --resume continues from it exactly. A second Ctrl-C stops at once.\n"
        "\n"
        "Data:\n"
        "      --train FILE         training corpus (CoNLL-U)\n"
        "      --dev FILE           development corpus for early stopping (CoNLL-U)\n"
        "  -o, --output FILE        the trained model\n"
        "      --tagsets LIST       tag sets as NAME:COLUMN, comma-separated\n"
        "                           (default upos:4,xpos:5)\n"
        "      --min-count N        vocabulary: words seen at least N times (default 2)\n"
        "      --lexicon FILE       word<TAB>bits lines (e.g. tools/wordnet-lexicon.sh),\n"
        "                           carried in the model as extra input features\n"
        "Network (models/en-ewt.train.json holds the bundled model's settings):\n"
        "      --config FILE        JSON object of any of the settings below, by name\n"
        "                           (dim, heads, layers, ffn_dim, window, ..., epochs, lr)\n"
        "      --arch FIGURE        the lecture's figures: fc (A: FC layers on each token\n"
        "                           alone), window (B: FC over +-K neighbours, --window K,\n"
        "                           default 1), attn (C: one self-attention block),\n"
        "                           stacked (D: self-attention and FC alternating,\n"
        "                           --layers times; the default); the options below\n"
        "                           refine it\n"
        "      --dim N              width of token vectors (128)\n"
        "      --heads N            attention heads (4)\n"
        "      --layers N           blocks: token mixing + fully-connected layer (2)\n"
        "      --ffn N              hidden width of the fully-connected layers (256)\n"
        "      --window LIST        per layer: attend to +-K tokens, 0 = whole sentence\n"
        "                           (--arch window: the FC's +-K neighbours)\n"
        "                           (1,0: the first layer local, like a CNN)\n"
        "      --rel-pos N          clip distance of the relative position bias, 0 = off (8)\n"
        "      --abs-pos            add sinusoidal absolute positions (off)\n"
        "      --norm pre|post      layer normalisation before or after each sub-layer (pre)\n"
        "      --activation relu|gelu  of the fully-connected layers (gelu)\n"
        "      --char-buckets N     hashed character n-gram buckets, 0 = off (32768)\n"
        "      --char-dim N         width of n-gram embeddings (32)\n"
        "      --ngrams MIN-MAX     n-gram lengths in code points (2-5)\n"
        "      --max-len N          longest chunk run at once (128)\n"
        "Training:\n"
        "      --epochs N           at most N passes over TRAIN (30)\n"
        "      --patience N         stop after N epochs without a better dev score (5)\n"
        "      --batch-tokens N     tokens per mini-batch (1000)\n"
        "      --lr X               peak learning rate of AdamW (0.002)\n"
        "      --warmup X           fraction of steps spent warming up (0.05)\n"
        "      --weight-decay X     AdamW weight decay on matrices (0.01)\n"
        "      --clip X             gradient norm clipping, 0 = off (1)\n"
        "      --label-smoothing X  (0.1)\n"
        "      --ema X              decay of the weights' moving average used for dev and\n"
        "                           the saved model, 0 = off (0.999)\n"
        "      --dropout X          dropout on inputs, attention and sub-layers (0.1)\n"
        "      --word-dropout X     chance a training word is replaced by <unk> (0.15)\n"
        "      --seed N             random seed (1)\n"
        "      --threads N          threads (2); a run is determined by seed and threads\n"
        "      --f16                write MODEL with 16-bit weights\n"
        "      --log FILE           learning curve, one JSON object per epoch\n"
        "      --checkpoint FILE    where checkpoints go (default MODEL.ckpt)\n"
        "      --resume FILE        continue from a checkpoint (its options are used)\n"
        "  -q, --quiet              no progress display\n"
        "  -h, --help               show this help\n"
        "\n"
        "Exit status: 0 trained, 1 usage error, 2 bad data, 130 stopped by Ctrl-C\n"
        "(checkpoint written).\n",
        stdout);
}

static volatile sig_atomic_t stop_flag;

static void on_sigint(int sig)
{
    (void)sig;
    stop_flag = stop_flag ? 2 : 1;
}

static void fmt_time(double s, char *buf, size_t n)
{
    if (s >= 3600)
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

typedef struct progress_ctx {
    const at_config *cfg;
    int tty, quiet;
} progress_ctx;

static void progress(const at_train_progress *p, void *vctx)
{
    progress_ctx *c = vctx;
    if (c->quiet)
        return;
    char eta[32];
    fmt_time(p->eta, eta, sizeof eta);
    if (!p->epoch_done) {
        if (c->tty)
            fprintf(stderr, "\r\033[Kepoch %d/%d  batch %zu/%zu  loss %.4f  %.0f tokens/s  ETA %s",
                    p->epoch, p->epochs, p->batch, p->batches, p->loss, p->tokens_per_s, eta);
        return;
    }
    if (c->tty)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "epoch %d/%d  loss %.4f  %.0f tokens/s  dev", p->epoch, p->epochs, p->loss,
            p->tokens_per_s);
    for (int t = 0; t < p->n_tagsets; t++)
        fprintf(stderr, " %s %.2f%%", c->cfg->tagset[t], 100 * p->dev_acc[t]);
    fprintf(stderr, " (unknown words %.2f%%)%s  ETA %s\n", 100 * p->dev_unk_acc,
            p->improved ? "  best, saved" : "", eta);
}

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return cli_usage_error("train ", "%s: expected a number from %g to %g, got '%s'", opt, lo,
                               hi, s);
    *out = v;
    return 0;
}

static int parse_window(at_config *c, const char *s)
{
    int n = 0;
    const char *p = s;
    while (*p && n < AT_MAX_LAYERS) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 4096 || (*end && *end != ','))
            return cli_usage_error("train ", "--window: expected numbers like 1,0, got '%s'", s);
        c->window[n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (n == 0)
        return cli_usage_error("train ", "--window: expected numbers like 1,0, got '%s'", s);
    /* one value per layer; a shorter list repeats its last value */
    for (int l = n; l < AT_MAX_LAYERS; l++)
        c->window[l] = c->window[n - 1];
    return 0;
}

static int parse_tagsets(at_config *c, at_train_opts *o, const char *s)
{
    char *copy = strdup(s), *save = NULL;
    int n = 0;
    for (char *it = strtok_r(copy, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(it, ':');
        long col = colon ? strtol(colon + 1, NULL, 10) : 0;
        if (!colon || colon == it || (size_t)(colon - it) >= AT_MAX_NAME || col < 3 || col > 10 ||
            n == AT_MAX_TAGSETS) {
            free(copy);
            return cli_usage_error("train ", "--tagsets: expected NAME:COLUMN pairs with columns "
                                   "3 to 10 (e.g. upos:4,xpos:5), got '%s'", s);
        }
        memcpy(c->tagset[n], it, (size_t)(colon - it));
        c->tagset[n][colon - it] = '\0';
        o->column[n++] = (int)col - 1;
    }
    free(copy);
    if (n == 0)
        return cli_usage_error("train ", "--tagsets: no tag set named");
    c->n_tagsets = n;
    return 0;
}

/* apply: one setting by name, from the command line or a --config file. */
static int apply(at_config *c, at_train_opts *o, const char *key, const char *val)
{
    double v;
    struct { const char *name; int *i; double lo, hi; } ints[] = {
        {"dim", &c->dim, 2, 4096}, {"heads", &c->heads, 1, 256}, {"layers", &c->layers, 0, 64},
        {"ffn_dim", &c->ffn_dim, 1, 65536}, {"rel_pos", &c->rel_pos, 0, 4096},
        {"char_buckets", &c->char_buckets, 0, 1 << 24}, {"char_dim", &c->char_dim, 1, 4096},
        {"max_len", &c->max_len, 4, 4096}, {"epochs", &o->epochs, 1, 100000},
        {"patience", &o->patience, 1, 100000}, {"batch_tokens", &o->batch_tokens, 1, 1 << 24},
        {"threads", &o->threads, 1, 64}, {"min_count", &o->min_count, 1, 1 << 30},
    };
    struct { const char *name; double *d, lo, hi; } dbls[] = {
        {"lr", &o->lr, 1e-9, 100}, {"warmup", &o->warmup, 0, 0.99},
        {"weight_decay", &o->weight_decay, 0, 100}, {"clip", &o->clip, 0, 1e9},
        {"label_smoothing", &o->label_smoothing, 0, 0.99}, {"ema", &o->ema, 0, 0.999999},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        if (strcmp(key, ints[i].name) == 0) {
            if (parse_num(key, val, ints[i].lo, ints[i].hi, &v))
                return EXIT_USAGE;
            if (v != floor(v))
                return cli_usage_error("train ", "%s: expected a whole number, got '%s'", key, val);
            *ints[i].i = (int)v;
            return 0;
        }
    for (size_t i = 0; i < sizeof dbls / sizeof *dbls; i++)
        if (strcmp(key, dbls[i].name) == 0)
            return parse_num(key, val, dbls[i].lo, dbls[i].hi, dbls[i].d) ? EXIT_USAGE : 0;
    if (strcmp(key, "dropout") == 0 || strcmp(key, "word_dropout") == 0) {
        if (parse_num(key, val, 0, 0.99, &v))
            return EXIT_USAGE;
        if (key[0] == 'w')
            o->word_dropout = (float)v;
        else
            o->drop_emb = o->drop_att = o->drop_res = (float)v;
        return 0;
    }
    if (strcmp(key, "seed") == 0) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(val, &end, 10);
        if (errno || *end || end == val)
            return cli_usage_error("train ", "--seed: expected a whole number, got '%s'", val);
        o->seed = s;
        return 0;
    }
    if (strcmp(key, "window") == 0)
        return parse_window(c, val) ? EXIT_USAGE : 0;
    if (strcmp(key, "tagsets") == 0)
        return parse_tagsets(c, o, val) ? EXIT_USAGE : 0;
    if (strcmp(key, "norm") == 0 || strcmp(key, "activation") == 0) {
        int pre = !strcmp(val, "pre"), post = !strcmp(val, "post");
        int relu = !strcmp(val, "relu"), gelu = !strcmp(val, "gelu");
        if (key[0] == 'n' && (pre || post))
            c->norm = pre ? AT_NORM_PRE : AT_NORM_POST;
        else if (key[0] == 'a' && (relu || gelu))
            c->activation = relu ? AT_ACT_RELU : AT_ACT_GELU;
        else
            return cli_usage_error("train ", "--%s: unexpected value '%s'", key, val);
        return 0;
    }
    if (strcmp(key, "ngrams") == 0) {
        int a, b;
        char extra;
        if (sscanf(val, "%d-%d%c", &a, &b, &extra) != 2 || a < 1 || b < a || b > 16)
            return cli_usage_error("train ", "--ngrams: expected MIN-MAX like 2-5, got '%s'", val);
        c->ngram_min = a;
        c->ngram_max = b;
        return 0;
    }
    if (strcmp(key, "abs_pos") == 0 || strcmp(key, "f16") == 0) {
        int on = !strcmp(val, "true") || !strcmp(val, "1");
        if (!on && strcmp(val, "false") && strcmp(val, "0"))
            return cli_usage_error("train ", "%s: expected true or false, got '%s'", key, val);
        if (key[0] == 'a')
            c->abs_pos = on;
        else
            o->f16 = on;
        return 0;
    }
    return cli_usage_error("train ", "unknown setting \"%s\"", key);
}

/* load_config: a JSON object of settings, each applied by name. */
static int load_config(at_config *c, at_train_opts *o, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "attntag: %s: cannot open: %s\n", path, strerror(errno));
        return EXIT_DATA;
    }
    char *buf = NULL;
    size_t cap = 0, n = 0, k;
    char chunk[4096];
    while ((k = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        char *nb = realloc(buf, cap = n + k + 1);
        if (!nb) {
            free(buf);
            fclose(fp);
            return EXIT_DATA;
        }
        buf = nb;
        memcpy(buf + n, chunk, k);
        n += k;
    }
    fclose(fp);
    cJSON *j = buf ? cJSON_ParseWithLength(buf, n) : NULL;
    free(buf);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        fprintf(stderr, "attntag: %s: expected a JSON object of settings\n", path);
        return EXIT_DATA;
    }
    int rc = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        char val[256];
        if (cJSON_IsString(it))
            snprintf(val, sizeof val, "%s", it->valuestring);
        else if (cJSON_IsBool(it))
            snprintf(val, sizeof val, "%s", cJSON_IsTrue(it) ? "true" : "false");
        else if (cJSON_IsNumber(it))
            snprintf(val, sizeof val, "%.17g", it->valuedouble);
        else if (cJSON_IsArray(it)) { /* window: [1, 0] */
            val[0] = '\0';
            const cJSON *x;
            cJSON_ArrayForEach(x, it)
            snprintf(val + strlen(val), sizeof val - strlen(val), "%s%d", val[0] ? "," : "",
                     x->valueint);
        } else {
            rc = cli_usage_error("train ", "%s: \"%s\" has a value of the wrong kind", path,
                                 it->string);
            break;
        }
        if ((rc = apply(c, o, it->string, val)) != 0)
            break;
    }
    cJSON_Delete(j);
    return rc;
}

enum { O_TRAIN = 256, O_DEV, O_TAGSETS, O_CONFIG, O_LOG, O_CKPT, O_RESUME, O_ABS, O_F16,
       O_LEXICON, O_ARCH, O_SETTING };
static const struct option opts[] = {
    {"train", required_argument, NULL, O_TRAIN}, {"dev", required_argument, NULL, O_DEV},
    {"output", required_argument, NULL, 'o'}, {"tagsets", required_argument, NULL, O_TAGSETS},
    {"config", required_argument, NULL, O_CONFIG}, {"log", required_argument, NULL, O_LOG},
    {"checkpoint", required_argument, NULL, O_CKPT},
    {"resume", required_argument, NULL, O_RESUME}, {"abs-pos", no_argument, NULL, O_ABS},
    {"f16", no_argument, NULL, O_F16}, {"quiet", no_argument, NULL, 'q'},
    {"lexicon", required_argument, NULL, O_LEXICON},
    {"arch", required_argument, NULL, O_ARCH}, {"help", no_argument, NULL, 'h'},
    /* settings that take a value, by their --config name with - for _ */
    {"dim", required_argument, NULL, O_SETTING}, {"heads", required_argument, NULL, O_SETTING},
    {"layers", required_argument, NULL, O_SETTING}, {"ffn", required_argument, NULL, O_SETTING},
    {"window", required_argument, NULL, O_SETTING},
    {"rel-pos", required_argument, NULL, O_SETTING},
    {"norm", required_argument, NULL, O_SETTING},
    {"activation", required_argument, NULL, O_SETTING},
    {"char-buckets", required_argument, NULL, O_SETTING},
    {"char-dim", required_argument, NULL, O_SETTING},
    {"ngrams", required_argument, NULL, O_SETTING},
    {"max-len", required_argument, NULL, O_SETTING},
    {"epochs", required_argument, NULL, O_SETTING},
    {"patience", required_argument, NULL, O_SETTING},
    {"batch-tokens", required_argument, NULL, O_SETTING},
    {"lr", required_argument, NULL, O_SETTING}, {"warmup", required_argument, NULL, O_SETTING},
    {"weight-decay", required_argument, NULL, O_SETTING},
    {"clip", required_argument, NULL, O_SETTING},
    {"label-smoothing", required_argument, NULL, O_SETTING},
    {"ema", required_argument, NULL, O_SETTING},
    {"dropout", required_argument, NULL, O_SETTING},
    {"word-dropout", required_argument, NULL, O_SETTING},
    {"seed", required_argument, NULL, O_SETTING},
    {"threads", required_argument, NULL, O_SETTING},
    {"min-count", required_argument, NULL, O_SETTING},
    {NULL, 0, NULL, 0}};

/* early_args: --config, then --arch, before the other options, so that
 * flags given with them win whatever their order; 0, else the exit status. */
static int early_args(int argc, char **argv, at_config *cfg, at_train_opts *o)
{
    int rc;
    /* --config first, so that flags given with it win whatever their order */
    for (int i = 1; i < argc; i++) {
        const char *path = NULL;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
        if (path && (rc = load_config(cfg, o, path)) != 0)
            return rc;
    }
    /* then --arch, so that --layers, --window and the rest refine the figure
     * (as getopt_long does, "--ar" and "--arc" are --arch too) */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len < 4 || strncmp(a, "--arch", len) != 0)
            continue;
        const char *fig = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        at_error ferr;
        if (fig && at_config_set_figure(cfg, fig, &ferr))
            return cli_usage_error("train ", "--arch: %s", ferr.msg);
    }
    return 0;
}

/* parse_args: the options into cfg and o; -1 to go on, else the exit status
 * (--help, a usage error, a bad --config). */
static int parse_args(int argc, char **argv, at_config *cfg, at_train_opts *o, int *quiet)
{
    int c, idx, rc;
    at_config_default(cfg);
    at_train_opts_default(o);
    optind = 1;
    if ((rc = early_args(argc, argv, cfg, o)) != 0)
        return rc;
    while ((c = getopt_long(argc, argv, "o:qh", opts, &idx)) != -1) {
        switch (c) {
        case O_TRAIN: o->train_path = optarg; break;
        case O_DEV: o->dev_path = optarg; break;
        case 'o': o->out_path = optarg; break;
        case O_TAGSETS:
            if (parse_tagsets(cfg, o, optarg))
                return EXIT_USAGE;
            break;
        case O_CONFIG: case O_ARCH: break;
        case O_LOG: o->log_path = optarg; break;
        case O_CKPT: o->checkpoint_path = optarg; break;
        case O_RESUME: o->resume_path = optarg; break;
        case O_ABS: cfg->abs_pos = 1; break;
        case O_F16: o->f16 = 1; break;
        case O_LEXICON: o->lexicon_path = optarg; break;
        case 'q': *quiet = 1; break;
        case 'h': train_help(); return EXIT_OK;
        case O_SETTING: {
            char key[32];
            snprintf(key, sizeof key, "%s", strcmp(opts[idx].name, "ffn") ? opts[idx].name
                                                                           : "ffn_dim");
            for (char *p = key; *p; p++)
                *p = *p == '-' ? '_' : *p;
            if ((rc = apply(cfg, o, key, optarg)) != 0)
                return rc;
            break;
        }
        default: return cli_usage_error("train ", "invalid option");
        }
    }
    if (optind < argc)
        return cli_usage_error("train ", "unexpected argument '%s'", argv[optind]);
    if (!o->out_path || (!o->resume_path && (!o->train_path || !o->dev_path)))
        return cli_usage_error("train ", "train needs --train, --dev and -o (or --resume and -o)");
    if (o->epochs < 1 || o->threads < 1)
        return cli_usage_error("train ", "epochs and threads must be at least 1");
    return -1;
}

int cli_train(int argc, char **argv)
{
    at_config cfg;
    at_train_opts o;
    int quiet = 0, rc = parse_args(argc, argv, &cfg, &o, &quiet);
    if (rc >= 0)
        return rc;
    at_error err;
    if (!o.resume_path && at_config_check(&cfg, &err))
        return cli_usage_error("train ", "%s", err.msg);
    progress_ctx pc = {&cfg, isatty(STDERR_FILENO), quiet};
    o.stop = &stop_flag;
    o.progress = progress;
    o.ctx = &pc;
    if (o.resume_path) { /* the tag set names for the display come from the checkpoint */
        at_model *ck;
        if (at_model_load(o.resume_path, AT_FILE_AUTO, &ck, &err))
            return cli_fail(&err);
        cfg = *at_model_config(ck);
        at_model_free(ck);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = at_train(&cfg, &o, &err);
    if (rc < 0)
        return cli_fail(&err);
    if (rc == 1) {
        fprintf(stderr, "attntag: stopped; %s\n",
                stop_flag == 1 ? "checkpoint written, continue with --resume" : "no checkpoint");
        return 130;
    }
    return EXIT_OK;
}
