/*
 * cli_eval.c - `attntag eval`: tag a gold CoNLL-U file's tokens with a model
 * (or read another tagger's predictions with --pred) and report accuracy,
 * per-tag scores and confusions, as a table or as JSON.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void eval_help(void)
{
    fputs("Usage: attntag eval [OPTION]... GOLD.conllu\n"
          "Tag the words of GOLD with the model and score the tags against GOLD's (with\n"
          "the calibration error of their probabilities and a reliability table), or\n"
          "score the tags of another tagger's output with --pred.\n"
          "\n"
          "  -m, --model FILE       model (default: as for tagging); its vocabulary decides\n"
          "                         which words count as unknown\n"
          "      --pred FILE        score FILE instead of tagging: CoNLL-U, or token<TAB>tag\n"
          "                         lines with a blank line after each sentence; its tokens\n"
          "                         must be GOLD's, one for one\n"
          "      --tagsets LIST     tag sets to score as NAME:COLUMN (GOLD's 1-based column;\n"
          "                         for --pred token<TAB>tag files, the tag columns follow\n"
          "                         this order); default: the model's upos:4 and xpos:5\n"
          "      --raw              score from GOLD's running text (its # text lines):\n"
          "                         tokenize, split and tag it, and report tokens,\n"
          "                         sentences, words and tags F1, aligned by characters\n"
          "      --sentences HOW    with --raw: auto (find the sentences) or line (each\n"
          "                         gold sentence given as a line of its own)\n"
          "      --json             one JSON object instead of the table\n"
          "      --confusion FILE   write the full confusion matrices as CSV\n"
          "                         (tagset,gold,predicted,count)\n"
          "      --top N            confusions to list per tag set (default 10)\n"
          "  -j, --threads N        tag on N threads (default: one per core it may use);\n"
          "                         the scores are the same for any N\n"
          "  -h, --help             show this help\n"
          "\n"
          "Exit status: 0 scored, 1 usage error, 2 bad input or model, or files whose\n"
          "tokens do not line up.\n",
          stdout);
}

typedef struct scoring {
    const at_model *m;
    at_feats f;
    int n;                            /* tag sets scored */
    char name[AT_MAX_TAGSETS][AT_MAX_NAME];
    int gold_col[AT_MAX_TAGSETS];     /* 0-based column in GOLD */
    int model_ts[AT_MAX_TAGSETS];     /* model tag set, when tagging */
    double seconds;                   /* spent tagging */
    double scoring;                   /* of which spent scoring the tags given back */
    at_eval *ev;
    int with_probs;                   /* tagged here: the tags' probabilities are scored */
    const char *gold_name;            /* GOLD, for messages */
    at_reliability rel[AT_MAX_TAGSETS];
} scoring;

static double clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* known_words: which of g's words the model knows (sc->f.word[i] != 0). */
static int known_words(scoring *sc, const at_sentence *g, const char *gold_name, at_error *err)
{
    at_feats_clear(&sc->f);
    for (size_t i = 0; i < g->n; i++)
        if (at_feats_add(sc->m, &sc->f, g->tok[i], g->tok_len[i], err))
            return at_error_context(err, "%s:%zu", gold_name, g->first_line);
    return 0;
}

/* score_sentence: GOLD's sentence g against the predictions' p (CoNLL-U, or
 * token<TAB>tag... lines), word by word; they must have the same tokens. */
static int score_sentence(scoring *sc, const at_sentence *g, const char *gold_name,
                          const at_sentence *p, const char *pred_name, int pred_conllu,
                          size_t sent_no, at_error *err)
{
    if (known_words(sc, g, gold_name, err))
        return -1;
    if (p->n != g->n) {
        return at_error_set(err, "%s:%zu: sentence %zu has %zu tokens, %s:%zu has %zu: the files "
                            "do not line up", pred_name, p->first_line, sent_no, p->n, gold_name,
                            g->first_line, g->n);
    }
    /* walk GOLD's word lines; the i-th is token i */
    size_t i = 0, pl = 0;
    for (size_t l = 0; l < g->n_lines; l++) {
        if (g->line_tok[l] < 0)
            continue;
        const char *const *col = at_sentence_fields(g, l);
        const char *split[AT_CONLLU_COLS + AT_MAX_TAGSETS];
        const char *const *pcol = split;
        char *pcopy = NULL;
        int npc = 0, rc = 0;
        size_t pline;
        if (pred_conllu) {
            while (p->line_tok[pl] < 0)
                pl++;
            pline = p->first_line + pl;
            pcol = at_sentence_fields(p, pl++);
            npc = AT_CONLLU_COLS;
        } else { /* token<TAB>tag...: a vertical-format line */
            pline = p->first_line + i;
            if (!(pcopy = strdup(p->tok[i])))
                return at_error_of(err, AT_ERR_MEMORY, "out of memory");
            for (char *s = pcopy; s && npc < AT_CONLLU_COLS + AT_MAX_TAGSETS;) {
                split[npc++] = s;
                s = strchr(s, '\t');
                if (s)
                    *s++ = '\0';
            }
        }
        const char *ptok = pred_conllu ? pcol[1] : pcol[0];
        if (strcmp(ptok, col[1]) != 0)
            rc = at_error_set(err, "%s:%zu: token \"%s\" is not GOLD's \"%s\" (%s, sentence "
                              "%zu, token %zu): the files do not line up", pred_name, pline, ptok,
                              col[1], gold_name, sent_no, i + 1);
        for (int t = 0; rc == 0 && t < sc->n; t++) {
            int c = pred_conllu ? sc->gold_col[t] : 1 + t;
            if (c >= npc) {
                rc = at_error_set(err, "%s:%zu: no %s tag (column %d)", pred_name, pline,
                                  sc->name[t], c + 1);
                break;
            }
            if (at_eval_add(sc->ev, t, col[sc->gold_col[t]], pcol[c], sc->f.word[i] != 0, err))
                rc = -1;
        }
        free(pcopy);
        if (rc)
            return -1;
        i++;
    }
    at_eval_end_sentence(sc->ev);
    return 0;
}

typedef struct conf {
    size_t g, p, count;
} conf;

static int by_count(const void *a, const void *b)
{
    const conf *x = a, *y = b;
    return x->count != y->count ? (x->count < y->count ? 1 : -1)
                                : (x->g != y->g ? (x->g < y->g ? -1 : 1) : (x->p > y->p) - (x->p < y->p));
}

static conf *confusions(const at_eval *ev, int t, size_t n_tags, size_t *n)
{
    conf *c = malloc((n_tags * n_tags + 1) * sizeof *c);
    *n = 0;
    for (size_t g = 0; c && g < n_tags; g++)
        for (size_t p = 0; p < n_tags; p++) {
            size_t k = at_eval_count(ev, t, g, p);
            if (g != p && k)
                c[(*n)++] = (conf){g, p, k};
        }
    if (c)
        qsort(c, *n, sizeof *c, by_count);
    return c;
}

static void print_table(const scoring *sc, const char *gold, int top)
{
    for (int t = 0; t < sc->n; t++) {
        at_eval_result r;
        at_eval_get(sc->ev, t, &r);
        if (t == 0) {
            printf("%s: %zu sentences, %zu tokens (%zu unknown to the model)\n", gold,
                   r.sentences, r.tokens, r.unknown_tokens);
            if (sc->seconds > 0)
                printf("tagging: %.3f s, %.0f tokens/s\n", sc->seconds,
                       (double)r.tokens / sc->seconds);
        }
        printf("\n%s: accuracy %.2f%%, sentences %.2f%%, known words %.2f%%, unknown words "
               "%.2f%%\n", r.name, 100 * r.accuracy, 100 * r.sentence_accuracy,
               100 * r.known_accuracy, 100 * r.unknown_accuracy);
        printf("  %-10s %9s %9s %9s %9s\n", "tag", "precision", "recall", "f1", "support");
        for (size_t k = 0; k < r.n_tags; k++) {
            double pr, rc, f1;
            size_t sup;
            at_eval_tag_scores(sc->ev, t, k, &pr, &rc, &f1, &sup);
            printf("  %-10s %8.2f%% %8.2f%% %8.2f%% %9zu\n", at_eval_tag(sc->ev, t, k), 100 * pr,
                   100 * rc, 100 * f1, sup);
        }
        if (sc->with_probs) {
            const at_reliability *rl = &sc->rel[t];
            printf("  calibration error %.2f%% (%d equal-width bins of the chosen tag's "
                   "probability):\n", 100 * at_reliability_error(rl), AT_CAL_BINS);
            printf("  %-11s %9s %9s %9s\n", "probability", "tokens", "mean", "right");
            for (int b = 0; b < AT_CAL_BINS; b++)
                if (rl->count[b])
                    printf("  %4.2f-%-6.2f %9zu %8.2f%% %8.2f%%\n", (double)b / AT_CAL_BINS,
                           (double)(b + 1) / AT_CAL_BINS, rl->count[b],
                           100 * rl->prob[b] / (double)rl->count[b],
                           100 * (double)rl->correct[b] / (double)rl->count[b]);
        }
        size_t nc;
        conf *c = confusions(sc->ev, t, r.n_tags, &nc);
        if (c && nc) {
            printf("  most frequent confusions (gold -> predicted):\n");
            for (size_t k = 0; k < nc && k < (size_t)top; k++)
                printf("    %-10s -> %-10s %zu\n", at_eval_tag(sc->ev, t, c[k].g),
                       at_eval_tag(sc->ev, t, c[k].p), c[k].count);
        }
        free(c);
    }
}

static int print_json(const scoring *sc, const char *gold, int top)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "gold", gold);
    if (sc->seconds > 0)
        cJSON_AddNumberToObject(root, "seconds", sc->seconds);
    cJSON *sets = cJSON_AddObjectToObject(root, "tagsets");
    for (int t = 0; t < sc->n; t++) {
        at_eval_result r;
        at_eval_get(sc->ev, t, &r);
        if (t == 0) {
            cJSON_AddNumberToObject(root, "sentences", (double)r.sentences);
            cJSON_AddNumberToObject(root, "tokens", (double)r.tokens);
            if (sc->seconds > 0)
                cJSON_AddNumberToObject(root, "tokens_per_s", (double)r.tokens / sc->seconds);
        }
        cJSON *o = cJSON_AddObjectToObject(sets, r.name);
        cJSON_AddNumberToObject(o, "accuracy", r.accuracy);
        cJSON_AddNumberToObject(o, "sentence_accuracy", r.sentence_accuracy);
        cJSON_AddNumberToObject(o, "known_accuracy", r.known_accuracy);
        cJSON_AddNumberToObject(o, "unknown_accuracy", r.unknown_accuracy);
        cJSON_AddNumberToObject(o, "known_tokens", (double)r.known_tokens);
        cJSON_AddNumberToObject(o, "unknown_tokens", (double)r.unknown_tokens);
        if (sc->with_probs) {
            const at_reliability *rl = &sc->rel[t];
            cJSON *cal = cJSON_AddObjectToObject(o, "calibration");
            cJSON_AddNumberToObject(cal, "error", at_reliability_error(rl));
            cJSON *bins = cJSON_AddArrayToObject(cal, "bins");
            for (int b = 0; bins && b < AT_CAL_BINS; b++) {
                cJSON *x = cJSON_CreateObject();
                cJSON_AddNumberToObject(x, "from", (double)b / AT_CAL_BINS);
                cJSON_AddNumberToObject(x, "to", (double)(b + 1) / AT_CAL_BINS);
                cJSON_AddNumberToObject(x, "tokens", (double)rl->count[b]);
                cJSON_AddNumberToObject(x, "mean_probability",
                                        rl->count[b] ? rl->prob[b] / (double)rl->count[b] : 0);
                cJSON_AddNumberToObject(x, "accuracy", rl->count[b] ? (double)rl->correct[b] /
                                                                      (double)rl->count[b] : 0);
                cJSON_AddItemToArray(bins, x);
            }
        }
        cJSON *per = cJSON_AddObjectToObject(o, "per_tag");
        for (size_t k = 0; k < r.n_tags; k++) {
            double pr, rc, f1;
            size_t sup;
            at_eval_tag_scores(sc->ev, t, k, &pr, &rc, &f1, &sup);
            cJSON *x = cJSON_AddObjectToObject(per, at_eval_tag(sc->ev, t, k));
            cJSON_AddNumberToObject(x, "precision", pr);
            cJSON_AddNumberToObject(x, "recall", rc);
            cJSON_AddNumberToObject(x, "f1", f1);
            cJSON_AddNumberToObject(x, "support", (double)sup);
        }
        size_t nc;
        conf *c = confusions(sc->ev, t, r.n_tags, &nc);
        cJSON *cl = cJSON_AddArrayToObject(o, "confusions");
        for (size_t k = 0; c && k < nc && k < (size_t)top; k++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "gold", at_eval_tag(sc->ev, t, c[k].g));
            cJSON_AddStringToObject(x, "predicted", at_eval_tag(sc->ev, t, c[k].p));
            cJSON_AddNumberToObject(x, "count", (double)c[k].count);
            cJSON_AddItemToArray(cl, x);
        }
        free(c);
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s)
        return -1;
    puts(s);
    free(s);
    return 0;
}

/* csv_field: s as a quoted CSV field, quotes doubled. */
static void csv_field(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

static int write_confusion(const scoring *sc, const char *path, at_error *err)
{
    at_outfile *out;
    if (at_outfile_open(path, &out, err))
        return -1;
    FILE *fp = at_outfile_stream(out);
    fputs("tagset,gold,predicted,count\n", fp);
    for (int t = 0; t < sc->n; t++) {
        at_eval_result r;
        at_eval_get(sc->ev, t, &r);
        for (size_t g = 0; g < r.n_tags; g++)
            for (size_t p = 0; p < r.n_tags; p++) {
                size_t k = at_eval_count(sc->ev, t, g, p);
                if (!k)
                    continue;
                fprintf(fp, "%s,", r.name);
                csv_field(fp, at_eval_tag(sc->ev, t, g));
                fputc(',', fp);
                csv_field(fp, at_eval_tag(sc->ev, t, p));
                fprintf(fp, ",%zu\n", k);
            }
    }
    return at_outfile_commit(out, err);
}

/* sniff_conllu: does the file's first word line have ten tab-separated columns? */
static int sniff_conllu(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    char buf[4096];
    int tabs = -1;
    while (fgets(buf, sizeof buf, fp))
        if (buf[0] != '#' && buf[0] != '\n') {
            tabs = 0;
            for (char *s = buf; *s; s++)
                tabs += *s == '\t';
            break;
        }
    fclose(fp);
    return tabs == AT_CONLLU_COLS - 1;
}

/* F1 of a count, and the line or object that reports it. */
static double f1(const at_raw_count *c)
{
    return c->gold + c->pred ? 2.0 * (double)c->matched / (double)(c->gold + c->pred) : 0;
}

static void print_count(const char *what, const at_raw_count *c)
{
    printf("%-10s F1 %6.2f%%  precision %6.2f%%  recall %6.2f%%  (gold %zu, found %zu, "
           "matched %zu)\n", what, 100 * f1(c),
           c->pred ? 100.0 * (double)c->matched / (double)c->pred : 0,
           c->gold ? 100.0 * (double)c->matched / (double)c->gold : 0, c->gold, c->pred,
           c->matched);
}

static void json_count(cJSON *o, const char *what, const at_raw_count *c)
{
    cJSON *x = cJSON_AddObjectToObject(o, what);
    cJSON_AddNumberToObject(x, "f1", f1(c));
    cJSON_AddNumberToObject(x, "precision", c->pred ? (double)c->matched / (double)c->pred : 0);
    cJSON_AddNumberToObject(x, "recall", c->gold ? (double)c->matched / (double)c->gold : 0);
    cJSON_AddNumberToObject(x, "gold", (double)c->gold);
    cJSON_AddNumberToObject(x, "found", (double)c->pred);
    cJSON_AddNumberToObject(x, "matched", (double)c->matched);
}

/* eval --raw: from the running text of GOLD (eval_raw.c). */
static int eval_raw(const at_model *m, const scoring *sc, const char *gold_path,
                    at_input_format split, int json)
{
    at_error err;
    FILE *fp = fopen(gold_path, "rb");
    if (!fp) {
        at_error_set(&err, "%s: cannot open: %s", gold_path, strerror(errno));
        return cli_fail(&err);
    }
    at_raw_scores r;
    int rc = at_eval_raw(m, fp, gold_path, sc->model_ts, sc->gold_col, sc->n, split, &r, &err);
    fclose(fp);
    if (rc)
        return cli_fail(&err);
    if (!json) {
        printf("%s: from its running text (%zu characters, %s):\n", gold_path, r.chars,
               split == AT_IN_RAW_LINES ? "one sentence per line" : "sentences found");
        print_count("tokens", &r.tokens);
        print_count("sentences", &r.sentences);
        print_count("words", &r.words);
        for (int t = 0; t < sc->n; t++)
            print_count(sc->name[t], &r.tags[t]);
        return EXIT_OK;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "gold", gold_path);
    cJSON_AddStringToObject(root, "sentences_split",
                            split == AT_IN_RAW_LINES ? "line" : "auto");
    cJSON_AddNumberToObject(root, "characters", (double)r.chars);
    json_count(root, "tokens", &r.tokens);
    json_count(root, "sentences", &r.sentences);
    json_count(root, "words", &r.words);
    cJSON *sets = cJSON_AddObjectToObject(root, "tagsets");
    for (int t = 0; sets && t < sc->n; t++)
        json_count(sets, sc->name[t], &r.tags[t]);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) {
        at_error_of(&err, AT_ERR_MEMORY, "out of memory");
        return cli_fail(&err);
    }
    puts(text);
    free(text);
    return EXIT_OK;
}

/* What the command line asks of `attntag eval`. */
typedef struct eval_args {
    const char *model_path, *pred_path, *tagsets, *conf_path, *sentences;
    int json, top, threads, raw;
} eval_args;

/* parse_args: the options into a, GOLD at argv[optind]; -1 to go on, else
 * the exit status (--help, a usage error). */
static int parse_args(int argc, char **argv, eval_args *a)
{
    enum { O_PRED = 256, O_TAGSETS, O_JSON, O_CONF, O_TOP, O_RAW, O_SENT };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'}, {"pred", required_argument, NULL, O_PRED},
        {"tagsets", required_argument, NULL, O_TAGSETS}, {"json", no_argument, NULL, O_JSON},
        {"confusion", required_argument, NULL, O_CONF}, {"top", required_argument, NULL, O_TOP},
        {"threads", required_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
        {"raw", no_argument, NULL, O_RAW}, {"sentences", required_argument, NULL, O_SENT},
        {NULL, 0, NULL, 0}};
    int c;
    memset(a, 0, sizeof *a);
    a->top = 10;
    a->threads = cli_default_threads();
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': a->model_path = optarg; break;
        case O_PRED: a->pred_path = optarg; break;
        case O_TAGSETS: a->tagsets = optarg; break;
        case O_JSON: a->json = 1; break;
        case O_RAW: a->raw = 1; break;
        case O_SENT:
            if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "line") != 0)
                return cli_usage_error("eval ", "--sentences: expected auto or line, got '%s'",
                                       optarg);
            a->sentences = optarg;
            break;
        case O_CONF: a->conf_path = optarg; break;
        case O_TOP: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0 || v > 100000)
                return cli_usage_error("eval ", "--top: expected a number, got '%s'", optarg);
            a->top = (int)v;
            break;
        }
        case 'j':
            if ((a->threads = cli_threads(optarg)) < 1)
                return cli_usage_error("eval ", "--threads: expected a number from 1 to %d, got "
                                       "'%s'", AT_MAX_THREADS, optarg);
            break;
        case 'h': eval_help(); return EXIT_OK;
        default: return cli_usage_error("eval ", "invalid option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("eval ", "eval takes one gold CoNLL-U file");
    if (a->raw && (a->pred_path || a->conf_path))
        return cli_usage_error("eval ", "--raw tags GOLD's text itself: not with --pred or "
                               "--confusion");
    if (a->sentences && !a->raw)
        return cli_usage_error("eval ", "--sentences is for --raw");
    return -1;
}

/* score_tagged: the tagger's `each` (at_tagger_opts): one gold sentence
 * with the model's tags and their probabilities, scored. */
static int score_tagged(void *ctx, const at_sentence *g, uint32_t *const *tags,
                        float *const *probs, at_error *err)
{
    scoring *sc = ctx;
    if (g->n == 0)
        return 0;
    double t0 = clock_now();
    if (known_words(sc, g, sc->gold_name, err))
        return -1;
    for (size_t l = 0; l < g->n_lines; l++) {
        if (g->line_tok[l] < 0)
            continue;
        size_t i = (size_t)g->line_tok[l];
        const char *const *col = at_sentence_fields(g, l);
        for (int t = 0; t < sc->n; t++) {
            int ts = sc->model_ts[t];
            const char *gold = col[sc->gold_col[t]], *pred = at_model_tag(sc->m, ts, tags[ts][i]);
            if (at_eval_add(sc->ev, t, gold, pred, sc->f.word[i] != 0, err))
                return -1;
            at_reliability_add(&sc->rel[t],
                               probs[ts][i * at_model_n_tags(sc->m, ts) + tags[ts][i]],
                               strcmp(pred, gold) == 0);
        }
    }
    at_eval_end_sentence(sc->ev);
    sc->scoring += clock_now() - t0;
    return 0;
}

/* tag_and_score: GOLD's words tagged by the model, in batches on threads
 * threads as `attntag -i conllu` tags them, each sentence scored as the
 * tagger gives it back: GOLD is read once (a pipe will do), and the tags
 * never leave memory. */
static int tag_and_score(scoring *sc, FILE *gold, const char *gold_path, int threads,
                         at_error *err)
{
    at_tagger_opts o;
    memset(&o, 0, sizeof o);
    o.in = AT_IN_CONLLU;
    o.threads = threads;
    o.wo.probs = 1; /* for the calibration error */
    o.wo.n_sel = sc->n;
    for (int t = 0; t < sc->n; t++)
        o.wo.sel[t] = sc->model_ts[t];
    o.each = score_tagged;
    o.ctx = sc;
    sc->with_probs = 1;
    sc->gold_name = gold_path;
    at_tagger *tg = NULL;
    long long tokens = 0;
    double t0 = clock_now();
    int rc = at_tagger_new(sc->m, &o, &tg, err) ||
             at_tagger_run(tg, gold, gold_path, NULL, &tokens, err);
    /* the report is of the tagging: on one thread, scoring takes its own
     * time, which is left out; on more, it overlaps the workers' tagging */
    sc->seconds = clock_now() - t0 - (threads == 1 ? sc->scoring : 0);
    at_tagger_free(tg);
    return rc ? -1 : 0;
}

/* score_pairs: GOLD's sentences and the predictions' (read from pr, or the
 * model's tags when tagged), one for one, into sc. */
static int score_pairs(scoring *sc, at_reader *gr, const char *gold_path, at_reader *pr,
                       const char *pred_path, int pred_conllu, at_error *err)
{
    at_sentence gs, ps;
    at_sentence_init(&gs);
    at_sentence_init(&ps);
    size_t sent_no = 0;
    int rc;
    while ((rc = at_reader_next(gr, &gs, err)) == 1) {
        sent_no++;
        int prc = at_reader_next(pr, &ps, err);
        if (prc == 0)
            at_error_set(err, "%s: ends before sentence %zu of %s (line %zu): the files do not "
                         "line up", pred_path, sent_no, gold_path, gs.first_line);
        if (prc != 1) {
            rc = -1;
            break;
        }
        if (gs.n && score_sentence(sc, &gs, gold_path, &ps, pred_path, pred_conllu, sent_no,
                                   err)) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && at_reader_next(pr, &ps, err) == 1) {
        at_error_set(err, "%s:%zu: more sentences than %s has: the files do not line up",
                     pred_path, ps.first_line, gold_path);
        rc = -1;
    }
    at_sentence_free(&gs);
    at_sentence_free(&ps);
    return rc < 0 ? -1 : 0;
}

/* score_files: GOLD against --pred's file, or against the model's tags of
 * it (pred_path NULL), into sc. */
static int score_files(scoring *sc, const char *gold_path, const char *pred_path, int threads,
                       at_error *err)
{
    const char *names[AT_MAX_TAGSETS];
    for (int t = 0; t < sc->n; t++)
        names[t] = sc->name[t];
    if (!(sc->ev = at_eval_new(sc->n, names)))
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    FILE *gf = fopen(gold_path, "rb"), *pf = NULL;
    if (!gf)
        return at_error_set(err, "%s: cannot open: %s", gold_path, strerror(errno));
    if (!pred_path) {
        int rc = tag_and_score(sc, gf, gold_path, threads, err);
        fclose(gf);
        return rc;
    }
    at_reader *gr = NULL, *pr = NULL;
    int pred_conllu = sniff_conllu(pred_path), rc = -1;
    if (!(pf = fopen(pred_path, "rb")))
        at_error_set(err, "%s: cannot open: %s", pred_path, strerror(errno));
    else if (!at_reader_new(gf, gold_path, AT_IN_CONLLU, &gr, err) &&
             !at_reader_new(pf, pred_path, pred_conllu ? AT_IN_CONLLU : AT_IN_VERTICAL, &pr,
                            err))
        rc = score_pairs(sc, gr, gold_path, pr, pred_path, pred_conllu, err);
    at_reader_free(gr);
    at_reader_free(pr);
    fclose(gf);
    if (pf)
        fclose(pf);
    return rc;
}

int cli_eval(int argc, char **argv)
{
    eval_args a;
    int status = parse_args(argc, argv, &a);
    if (status >= 0)
        return status;
    const char *gold_path = argv[optind];
    at_error err;
    at_model *m;
    if ((a.conf_path && at_outfile_check(a.conf_path, &err)) ||
        cli_load_model(a.model_path, &m, &err))
        return cli_fail(&err);
    scoring sc;
    memset(&sc, 0, sizeof sc);
    sc.m = m;
    at_feats_init(&sc.f);
    if (cli_tagsets("eval ", a.tagsets, at_model_config(m), sc.name, sc.gold_col, &sc.n))
        status = EXIT_USAGE;
    for (int t = 0; status < 0 && t < sc.n && !a.pred_path; t++)
        if ((sc.model_ts[t] = at_model_tagset_index(m, sc.name[t])) < 0)
            status = cli_usage_error("eval ", "the model has no tag set \"%s\"", sc.name[t]);
    if (status < 0 && sc.n == 0)
        status = cli_usage_error("eval ", "no tag set to score: give --tagsets");
    if (status < 0 && a.raw)
        status = eval_raw(m, &sc, gold_path,
                          a.sentences && !strcmp(a.sentences, "line") ? AT_IN_RAW_LINES
                                                                      : AT_IN_RAW,
                          a.json);
    if (status < 0 && score_files(&sc, gold_path, a.pred_path, a.threads, &err))
        status = cli_fail(&err);
    if (status < 0) {
        status = EXIT_OK;
        if (a.json ? print_json(&sc, gold_path, a.top) : (print_table(&sc, gold_path, a.top), 0))
            status = EXIT_DATA;
        if (a.conf_path && write_confusion(&sc, a.conf_path, &err))
            status = cli_fail(&err);
    }
    at_feats_free(&sc.f);
    at_eval_free(sc.ev);
    at_model_free(m);
    return status;
}
