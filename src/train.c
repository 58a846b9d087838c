/*
 * train.c - training a model from a CoNLL-U corpus: mini-batches of sentences
 * of similar length, the one forward pass and its backward pass on every core
 * (data parallel, gradients summed in a fixed order, so a run is determined by
 * its seed and thread count), AdamW, early stopping on dev accuracy with the
 * best model kept, and checkpoints from which a run continues exactly.
 *
 * Everything random is derived from (seed, epoch, batch or unit): nothing
 * depends on how far a previous run got, which is what makes resuming exact.
 */
#include "corpus.h"
#include "optim.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { MAX_THREADS = 64 };

void at_train_opts_default(at_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->column[0] = 3; /* UPOS */
    o->column[1] = 4; /* XPOS */
    o->epochs = 30;
    o->patience = 5;
    o->batch_tokens = 1000;
    o->threads = 2;
    o->min_count = 2;
    o->lr = 2e-3;
    o->warmup = 0.05;
    o->weight_decay = 0.01;
    o->clip = 1.0;
    o->label_smoothing = 0.1;
    o->ema = 0.999;
    o->drop_emb = 0.1f;
    o->drop_att = 0.1f;
    o->drop_res = 0.1f;
    o->word_dropout = 0.15f;
    o->seed = 1;
}

typedef struct unit {
    size_t start, len; /* a sentence, or a max_len piece of a long one */
} unit;

typedef struct trainer trainer;

typedef struct worker {
    trainer *tr;
    int id;
    at_state *st;
    at_model *grads;
    uint32_t *words;              /* [train tokens] word ids after word dropout */
    float *dlogits[AT_MAX_TAGSETS];
    double loss;
    size_t tokens;
    /* what to do: a batch of units, or dev sentences */
    const unit *units;
    size_t n_units;
    size_t correct[AT_MAX_TAGSETS], total, unk_correct, unk_total;
    uint32_t *tags[AT_MAX_TAGSETS];
    at_error err;
    int failed;
} worker;

struct trainer {
    const at_train_opts *o;
    at_model *model;
    at_optim opt;
    at_corpus train, dev;
    unit *units;
    size_t n_units;
    size_t *batch_off;            /* [n_batches + 1] into units (sorted by length) */
    size_t n_batches;
    int threads;
    worker w[MAX_THREADS];
    long warmup_steps, total_steps;
    int epoch;                    /* 0-based, the one running */
    size_t batch;                 /* next batch of the epoch */
    double best;
    int best_epoch, bad_epochs;
};

static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t z = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL + (a << 6) + (a >> 2));
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (z ^ (z >> 31)) | 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* init_weights: Xavier-uniform matrices, small normal embeddings, zero biases
 * (layer-norm scales were set to one by at_model_new). */
static void init_weights(at_model *m, uint64_t seed)
{
    uint64_t rng = mix(seed, 0xA77);
    for (size_t i = 0; i < at_model_n_tensors(m); i++) {
        at_tensor_info ti;
        at_model_tensor_info(m, i, &ti);
        size_t n;
        float *w = at_model_tensor_f32(m, ti.name, &n);
        size_t len = strlen(ti.name);
        if (strstr(ti.name, "norm") || (len > 5 && strcmp(ti.name + len - 5, ".bias") == 0) ||
            strstr(ti.name, "rel_bias"))
            continue;
        if (strncmp(ti.name, "embed.", 6) == 0 && strcmp(ti.name, "embed.char_proj") != 0) {
            for (size_t k = 0; k < n; k++) { /* Box-Muller, std 0.1 */
                float u1 = at_rand(&rng), u2 = at_rand(&rng);
                w[k] = 0.1f * sqrtf(-2.0f * logf(u1 + 1e-12f)) * cosf(6.2831853f * u2);
            }
        } else {
            float a = sqrtf(6.0f / (float)(ti.shape[0] + ti.shape[1]));
            for (size_t k = 0; k < n; k++)
                w[k] = a * (2.0f * at_rand(&rng) - 1.0f);
        }
    }
}

static int cmp_unit_len(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* make_batches: units sorted by length, cut into batches of about
 * batch_tokens tokens, so little work is spent on very different lengths. */
static int make_batches(trainer *tr, at_error *err)
{
    const at_corpus *c = &tr->train;
    size_t L = (size_t)at_model_config(tr->model)->max_len, n = 0;
    for (size_t s = 0; s < c->n_sent; s++)
        n += (c->start[s + 1] - c->start[s] + L - 1) / L;
    tr->units = malloc((n ? n : 1) * sizeof *tr->units);
    tr->batch_off = malloc((n + 1) * sizeof *tr->batch_off);
    if (!tr->units || !tr->batch_off)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    for (size_t s = 0; s < c->n_sent; s++)
        for (size_t b = c->start[s]; b < c->start[s + 1]; b += L) {
            size_t e = b + L < c->start[s + 1] ? b + L : c->start[s + 1];
            tr->units[tr->n_units++] = (unit){b, e - b};
        }
    qsort(tr->units, tr->n_units, sizeof *tr->units, cmp_unit_len);
    size_t tokens = 0;
    tr->batch_off[0] = 0;
    for (size_t u = 0; u < tr->n_units; u++) {
        tokens += tr->units[u].len;
        if (tokens >= (size_t)tr->o->batch_tokens || u + 1 == tr->n_units) {
            tr->batch_off[++tr->n_batches] = u + 1;
            tokens = 0;
        }
    }
    return 0;
}

/* The loss of one unit: over tag sets, the label-smoothed cross-entropy,
 * divided by the batch's token count; dlogits is its gradient. */
static double unit_loss(const at_model *m, const at_state *st, const at_corpus *c, size_t start,
                        size_t n, double smoothing, size_t batch_tokens, float *const *dlogits)
{
    const at_config *cfg = at_model_config(m);
    double loss = 0;
    for (int t = 0; t < cfg->n_tagsets; t++) {
        size_t T = at_model_n_tags(m, t);
        const float *lg = at_state_logits(st, t);
        double off = smoothing / (double)T, on = 1.0 - smoothing + off;
        for (size_t i = 0; i < n; i++) {
            const float *l = lg + i * T;
            float *d = dlogits[t] + i * T;
            uint32_t gold = c->gold[t][start + i];
            float mx = l[0];
            for (size_t k = 1; k < T; k++)
                mx = l[k] > mx ? l[k] : mx;
            double z = 0;
            for (size_t k = 0; k < T; k++)
                z += exp((double)(l[k] - mx));
            double logz = log(z) + mx;
            for (size_t k = 0; k < T; k++) {
                double target = k == gold ? on : off;
                loss -= target * ((double)l[k] - logz);
                d[k] = (float)((exp((double)l[k] - logz) - target) / (double)batch_tokens);
            }
        }
    }
    return loss / (double)batch_tokens;
}

static void *train_worker(void *arg)
{
    worker *w = arg;
    trainer *tr = w->tr;
    const at_train_opts *o = tr->o;
    const at_corpus *c = &tr->train;
    at_feats view = c->f; /* the corpus, with word ids after word dropout */
    view.word = w->words;
    size_t batch_tokens = w->tokens; /* the whole batch's, not this thread's share */
    for (size_t u = (size_t)w->id; u < w->n_units; u += (size_t)tr->threads) {
        const unit *un = &w->units[u];
        uint64_t seed = mix(mix(o->seed, (uint64_t)tr->epoch), (uint64_t)un->start);
        uint64_t rng = mix(seed, 7);
        for (size_t i = un->start; i < un->start + un->len; i++)
            w->words[i] = at_rand(&rng) < o->word_dropout ? 0 : c->f.word[i];
        at_state_seed(w->st, seed);
        if (at_forward(tr->model, w->st, &view, un->start, un->len, &w->err)) {
            if (w->st->overflow_token != SIZE_MAX)
                at_error_context(&w->err, "epoch %d: training diverged (a lower --lr may "
                                 "help)", tr->epoch + 1);
            w->failed = 1;
            return NULL;
        }
        w->loss += unit_loss(tr->model, w->st, c, un->start, un->len, o->label_smoothing,
                             batch_tokens, w->dlogits);
        if (at_backward(tr->model, w->st, &view, un->start, (const float *const *)w->dlogits,
                        w->grads, &w->err)) {
            w->failed = 1;
            return NULL;
        }
    }
    return NULL;
}

/* run_threads: fn on every worker; the first failure is reported. */
static int run_threads(trainer *tr, void *(*fn)(void *), at_error *err)
{
    pthread_t th[MAX_THREADS];
    int started = 0;
    for (int t = 1; t < tr->threads; t++, started++)
        if (pthread_create(&th[t], NULL, fn, &tr->w[t]) != 0)
            break;
    fn(&tr->w[0]);
    for (int t = 1; t <= started; t++)
        pthread_join(th[t], NULL);
    if (started != tr->threads - 1)
        return at_error_set(err, "cannot start %d threads", tr->threads);
    for (int t = 0; t < tr->threads; t++)
        if (tr->w[t].failed)
            return at_error_set(err, "%s", tr->w[t].err.msg);
    return 0;
}

static int train_batch(trainer *tr, size_t b, double *loss, at_error *err)
{
    const unit *units = tr->units + tr->batch_off[b];
    size_t n_units = tr->batch_off[b + 1] - tr->batch_off[b], tokens = 0;
    for (size_t u = 0; u < n_units; u++)
        tokens += units[u].len;
    for (int t = 0; t < tr->threads; t++) {
        worker *w = &tr->w[t];
        w->units = units;
        w->n_units = n_units;
        w->tokens = tokens;
        w->loss = 0;
    }
    if (run_threads(tr, train_worker, err))
        return -1;
    /* sum the threads' gradients into worker 0's, always in the same order */
    for (int t = 1; t < tr->threads; t++) {
        at_model *g0 = tr->w[0].grads, *gt = tr->w[t].grads;
        for (size_t i = 0; i < at_model_n_tensors(g0); i++) {
            at_tensor_info ti;
            at_model_tensor_info(g0, i, &ti);
            size_t n;
            float *a = at_model_tensor_f32(g0, ti.name, &n), *x = at_model_tensor_f32(gt, ti.name, NULL);
            for (size_t k = 0; k < n; k++)
                a[k] += x[k];
        }
        at_model_zero(gt);
    }
    for (int t = 0; t < tr->threads; t++)
        *loss += tr->w[t].loss;
    at_clip(&tr->opt, tr->o->clip);
    at_optim_step(&tr->opt, at_lr_at(tr->o->lr, tr->opt.step, tr->warmup_steps, tr->total_steps));
    at_model_zero(tr->w[0].grads);
    return 0;
}

static void *eval_worker(void *arg)
{
    worker *w = arg;
    trainer *tr = w->tr;
    const at_corpus *c = &tr->dev;
    const at_config *cfg = at_model_config(tr->model);
    for (size_t s = (size_t)w->id; s < c->n_sent; s += (size_t)tr->threads) {
        size_t b = c->start[s], n = c->start[s + 1] - b;
        at_feats view = c->f; /* the sentence as a corpus of its own */
        view.word += b;
        view.shape += b;
        view.lex += b;
        view.ng_off += b;
        view.n = n;
        uint32_t *tags[AT_MAX_TAGSETS];
        for (int t = 0; t < cfg->n_tagsets; t++)
            tags[t] = w->tags[t] + b;
        if (at_tag(tr->model, w->st, &view, tags, NULL, &w->err)) {
            w->failed = 1;
            return NULL;
        }
        for (size_t i = b; i < b + n; i++) {
            for (int t = 0; t < cfg->n_tagsets; t++)
                w->correct[t] += w->tags[t][i] == c->gold[t][i];
            if (c->f.word[i] == 0) {
                w->unk_total++;
                w->unk_correct += w->tags[0][i] == c->gold[0][i];
            }
        }
        w->total += n;
    }
    return NULL;
}

/* evaluate: dev accuracy of the current weights (no dropout). */
static int evaluate(trainer *tr, at_train_progress *p, at_error *err)
{
    const at_train_opts *o = tr->o;
    for (int t = 0; t < tr->threads; t++) {
        worker *w = &tr->w[t];
        memset(w->correct, 0, sizeof w->correct);
        w->total = w->unk_correct = w->unk_total = 0;
        at_state_set_training(w->st, 0, 0, 0, err);
    }
    int rc = run_threads(tr, eval_worker, err);
    for (int t = 0; t < tr->threads; t++)
        at_state_set_training(tr->w[t].st, o->drop_emb, o->drop_att, o->drop_res, err);
    if (rc)
        return -1;
    size_t total = 0, unk = 0, unk_ok = 0, ok[AT_MAX_TAGSETS] = {0};
    for (int t = 0; t < tr->threads; t++) {
        total += tr->w[t].total;
        unk += tr->w[t].unk_total;
        unk_ok += tr->w[t].unk_correct;
        for (int k = 0; k < p->n_tagsets; k++)
            ok[k] += tr->w[t].correct[k];
    }
    for (int k = 0; k < p->n_tagsets; k++)
        p->dev_acc[k] = total ? (double)ok[k] / (double)total : 0;
    p->dev_unk_acc = unk ? (double)unk_ok / (double)unk : 0;
    return 0;
}

/* State that a checkpoint carries besides the weights. */
static char *state_note(const trainer *tr)
{
    const at_train_opts *o = tr->o;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "epoch", tr->epoch);
    cJSON_AddNumberToObject(j, "batch", (double)tr->batch);
    cJSON_AddNumberToObject(j, "step", (double)tr->opt.step);
    cJSON_AddNumberToObject(j, "best", tr->best);
    cJSON_AddNumberToObject(j, "best_epoch", tr->best_epoch);
    cJSON_AddNumberToObject(j, "bad_epochs", tr->bad_epochs);
    cJSON *op = cJSON_AddObjectToObject(j, "options");
    cJSON_AddStringToObject(op, "train", o->train_path);
    cJSON_AddStringToObject(op, "dev", o->dev_path);
    cJSON *cols = cJSON_AddArrayToObject(op, "column");
    for (int t = 0; t < at_model_config(tr->model)->n_tagsets; t++)
        cJSON_AddItemToArray(cols, cJSON_CreateNumber(o->column[t]));
#define NUM(f) cJSON_AddNumberToObject(op, #f, (double)o->f)
    NUM(epochs); NUM(patience); NUM(batch_tokens); NUM(threads); NUM(min_count); NUM(f16);
    NUM(lr); NUM(warmup); NUM(weight_decay); NUM(clip); NUM(label_smoothing); NUM(ema);
    NUM(drop_emb); NUM(drop_att); NUM(drop_res); NUM(word_dropout);
#undef NUM
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    cJSON_AddStringToObject(op, "seed", seed);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

static int checkpoint(trainer *tr, const char *path, at_error *err)
{
    at_model *ck;
    if (at_model_copy(tr->model, &ck, err))
        return -1;
    char *note = state_note(tr);
    int rc = note ? at_model_set_note(ck, note, err) : at_error_of(err, AT_ERR_MEMORY, "out of memory");
    free(note);
    static const char *const kind[] = {"train.m.", "train.v.", "train.ema."};
    for (size_t i = 0; rc == 0 && i < tr->opt.n_t; i++) {
        at_tensor_info ti;
        at_model_tensor_info(tr->model, i, &ti);
        float *src[] = {tr->opt.m[i], tr->opt.v[i], tr->opt.ema ? tr->opt.ema[i] : NULL};
        for (int k = 0; k < 3 && rc == 0; k++) {
            if (!src[k])
                continue;
            char name[256];
            snprintf(name, sizeof name, "%s%s", kind[k], ti.name);
            rc = at_model_set_extra(ck, name, src[k], tr->opt.count[i], err);
        }
    }
    if (rc == 0)
        rc = at_model_save(ck, path, AT_FILE_SAFETENSORS, err);
    at_model_free(ck);
    return rc;
}

/* restore: the optimiser and loop state of a checkpoint. */
static int restore(trainer *tr, const at_model *ck, at_error *err)
{
    static const char *const kind[] = {"train.m.", "train.v.", "train.ema."};
    for (size_t i = 0; i < tr->opt.n_t; i++) {
        at_tensor_info ti;
        at_model_tensor_info(tr->model, i, &ti);
        float *dst[] = {tr->opt.m[i], tr->opt.v[i], tr->opt.ema ? tr->opt.ema[i] : NULL};
        for (int k = 0; k < 3; k++) {
            if (!dst[k])
                continue;
            char name[256];
            size_t n;
            snprintf(name, sizeof name, "%s%s", kind[k], ti.name);
            const float *src = at_model_extra(ck, name, &n);
            if (!src || n != tr->opt.count[i])
                return at_error_set(err, "%s: checkpoint lacks \"%s\"", tr->o->resume_path, name);
            memcpy(dst[k], src, n * sizeof *src);
        }
    }
    cJSON *j = cJSON_Parse(at_model_note(ck));
    const char *keys[] = {"epoch", "batch", "step", "best", "best_epoch", "bad_epochs"};
    double v[6];
    for (int k = 0; k < 6; k++) {
        const cJSON *x = cJSON_GetObjectItem(j, keys[k]);
        if (!cJSON_IsNumber(x)) {
            cJSON_Delete(j);
            return at_error_set(err, "%s: checkpoint state lacks \"%s\"", tr->o->resume_path,
                                keys[k]);
        }
        v[k] = x->valuedouble;
    }
    cJSON_Delete(j);
    tr->epoch = (int)v[0];
    tr->batch = (size_t)v[1];
    tr->opt.step = (long)v[2];
    tr->best = v[3];
    tr->best_epoch = (int)v[4];
    tr->bad_epochs = (int)v[5];
    if (tr->batch > tr->n_batches)
        return at_error_set(err, "%s: checkpoint is from another corpus (batch %zu of %zu)",
                            tr->o->resume_path, tr->batch, tr->n_batches);
    return 0;
}

/* save_best: the model as it will be used: averaged weights, maybe 16-bit. */
static int save_best(trainer *tr, at_error *err)
{
    if (!tr->o->f16)
        return at_model_save(tr->model, tr->o->out_path, AT_FILE_AUTO, err);
    at_model *c;
    if (at_model_copy(tr->model, &c, err))
        return -1;
    int rc = at_model_to_f16(c, err) || at_model_save(c, tr->o->out_path, AT_FILE_AUTO, err);
    at_model_free(c);
    return rc ? -1 : 0;
}

static int log_epoch(FILE *log, const trainer *tr, const at_train_progress *p)
{
    const at_config *c = at_model_config(tr->model);
    fprintf(log, "{\"epoch\": %d, \"step\": %ld, \"lr\": %.6g, \"train_loss\": %.6f, \"dev\": {",
            p->epoch, p->step, at_lr_at(tr->o->lr, tr->opt.step, tr->warmup_steps, tr->total_steps),
            p->loss);
    for (int t = 0; t < c->n_tagsets; t++)
        fprintf(log, "%s\"%s\": %.6f", t ? ", " : "", c->tagset[t], p->dev_acc[t]);
    fprintf(log, "}, \"dev_unknown\": %.6f, \"seconds\": %.1f, \"tokens_per_s\": %.0f, "
            "\"best\": %s}\n", p->dev_unk_acc, p->seconds, p->tokens_per_s,
            p->improved ? "true" : "false");
    return fflush(log) == 0 && !ferror(log) ? 0 : -1;
}

/* The log is kept in memory and the file rewritten whole after each epoch,
 * through at_write_atomic: a run killed mid-write leaves the log as it was
 * after the epoch before, never half a line. A resumed run continues the
 * log it finds. */
typedef struct {
    FILE *fp; /* open_memstream of buf */
    char *buf;
    size_t len;
} run_log;

static int log_open(run_log *lg, const char *path, int resume, at_error *err)
{
    memset(lg, 0, sizeof *lg);
    if (!(lg->fp = open_memstream(&lg->buf, &lg->len)))
        return at_error_of(err, AT_ERR_MEMORY, "out of memory for the log");
    char *old = NULL;
    size_t n = 0;
    if (resume && access(path, F_OK) == 0) {
        if (at_read_file(path, &old, &n, err))
            return -1;
        fwrite(old, 1, n, lg->fp);
        free(old);
    }
    return at_outfile_check(path, err);
}

static int log_write(run_log *lg, const char *path, at_error *err)
{
    if (fflush(lg->fp) != 0)
        return at_error_set(err, "%s: out of memory for the log", path);
    return at_write_atomic(path, lg->buf, lg->len, err);
}

static void log_close(run_log *lg)
{
    if (lg->fp)
        fclose(lg->fp);
    free(lg->buf);
}

/* setup: corpora, model (new or from the checkpoint), workers, optimiser. */
static int setup(trainer *tr, const at_config *cfg, at_model **resumed, at_error *err)
{
    const at_train_opts *o = tr->o;
    at_raw_corpus raw_train, raw_dev;
    const char *names[AT_MAX_TAGSETS];
    at_config c = *cfg;
    if (o->resume_path) {
        if (at_model_load(o->resume_path, AT_FILE_AUTO, resumed, err))
            return -1;
        if (!at_model_note(*resumed))
            return at_error_set(err, "%s: not a checkpoint (no training state)", o->resume_path);
        c = *at_model_config(*resumed);
    }
    for (int t = 0; t < c.n_tagsets; t++) {
        names[t] = c.tagset[t];
        if (o->column[t] < 2 || o->column[t] >= AT_CONLLU_COLS)
            return at_error_set(err, "tag set \"%s\": column %d is not a CoNLL-U tag column "
                                "(3 to 10)", names[t], o->column[t] + 1);
    }
    if (at_raw_read(o->train_path, o->column, names, c.n_tagsets, &raw_train, err))
        return -1;
    if (at_raw_read(o->dev_path, o->column, names, c.n_tagsets, &raw_dev, err)) {
        at_raw_free(&raw_train);
        return -1;
    }
    int rc = -1;
    if (*resumed) {
        rc = at_model_copy(*resumed, &tr->model, err);
    } else {
        char **vocab = NULL, **lex = NULL;
        uint8_t *lex_bits = NULL;
        size_t n_vocab = 0, n_lex = 0, n_tags[AT_MAX_TAGSETS] = {0};
        const char **tags[AT_MAX_TAGSETS] = {0};
        rc = at_vocab_from_raw(&raw_train, c.lowercase, o->min_count, &vocab, &n_vocab, err);
        if (rc == 0 && o->lexicon_path)
            rc = at_lexicon_read(o->lexicon_path, c.lowercase, &lex, &lex_bits, &n_lex,
                                 &c.lexicon_bits, err);
        for (int t = 0; rc == 0 && t < c.n_tagsets; t++)
            rc = at_tags_from_raw(&raw_train, t, &tags[t], &n_tags[t], err);
        if (rc == 0)
            rc = at_model_new(&c, (const char *const *)vocab, n_vocab,
                              (const char *const *const *)tags, n_tags, &tr->model, err);
        if (rc == 0 && n_lex)
            rc = at_model_set_lexicon(tr->model, (const char *const *)lex, lex_bits, n_lex, err);
        if (rc == 0)
            init_weights(tr->model, o->seed);
        at_strings_free(vocab, n_vocab);
        at_strings_free(lex, n_lex);
        free(lex_bits);
        for (int t = 0; t < c.n_tagsets; t++)
            free(tags[t]);
    }
    if (rc == 0)
        rc = at_corpus_make(tr->model, &raw_train, &tr->train, err);
    if (rc == 0)
        rc = at_corpus_make(tr->model, &raw_dev, &tr->dev, err);
    at_raw_free(&raw_train);
    at_raw_free(&raw_dev);
    if (rc || make_batches(tr, err))
        return -1;
    for (int t = 0; t < tr->threads; t++) {
        worker *w = &tr->w[t];
        w->tr = tr;
        w->id = t;
        if (at_state_new(tr->model, &w->st, err) ||
            at_state_set_training(w->st, o->drop_emb, o->drop_att, o->drop_res, err) ||
            at_model_copy(tr->model, &w->grads, err))
            return -1;
        at_model_zero(w->grads);
        w->words = malloc((tr->train.f.n ? tr->train.f.n : 1) * sizeof *w->words);
        if (!w->words)
            return at_error_of(err, AT_ERR_MEMORY, "out of memory");
        for (int k = 0; k < c.n_tagsets; k++) {
            size_t L = (size_t)c.max_len, T = at_model_n_tags(tr->model, k);
            w->dlogits[k] = malloc(L * T * sizeof(float));
            w->tags[k] = malloc((tr->dev.f.n ? tr->dev.f.n : 1) * sizeof(uint32_t));
            if (!w->dlogits[k] || !w->tags[k])
                return at_error_of(err, AT_ERR_MEMORY, "out of memory");
        }
    }
    if (at_optim_init(&tr->opt, tr->model, tr->w[0].grads, o->ema, err))
        return -1;
    tr->opt.weight_decay = o->weight_decay;
    tr->total_steps = (long)tr->n_batches * o->epochs;
    tr->warmup_steps = (long)(o->warmup * (double)tr->total_steps) + 1;
    tr->best = -1;
    return *resumed ? restore(tr, *resumed, err) : 0;
}

static void teardown(trainer *tr)
{
    for (int t = 0; t < tr->threads; t++) {
        worker *w = &tr->w[t];
        at_state_free(w->st);
        at_model_free(w->grads);
        free(w->words);
        for (int k = 0; k < AT_MAX_TAGSETS; k++) {
            free(w->dlogits[k]);
            free(w->tags[k]);
        }
    }
    at_optim_free(&tr->opt);
    at_corpus_free(&tr->train);
    at_corpus_free(&tr->dev);
    free(tr->units);
    free(tr->batch_off);
    at_model_free(tr->model);
}

/* Options a checkpoint fixes, so that a resumed run is the same run; the
 * corpora's paths too, unless given again (*train, *dev: copies to free). */
static void options_from_note(at_train_opts *o, const char *note, char **train, char **dev)
{
    cJSON *j = cJSON_Parse(note);
    const cJSON *op = cJSON_GetObjectItem(j, "options");
    const cJSON *tp = cJSON_GetObjectItem(op, "train"), *dp = cJSON_GetObjectItem(op, "dev");
    if (!o->train_path && cJSON_IsString(tp) && (*train = strdup(tp->valuestring)))
        o->train_path = *train;
    if (!o->dev_path && cJSON_IsString(dp) && (*dev = strdup(dp->valuestring)))
        o->dev_path = *dev;
#define NUM(f, type) do { const cJSON *x_ = cJSON_GetObjectItem(op, #f); \
        if (cJSON_IsNumber(x_)) o->f = (type)x_->valuedouble; } while (0)
    NUM(epochs, int); NUM(patience, int); NUM(batch_tokens, int); NUM(threads, int);
    NUM(min_count, int); NUM(f16, int); NUM(lr, double); NUM(warmup, double);
    NUM(weight_decay, double); NUM(clip, double); NUM(label_smoothing, double); NUM(ema, double);
    NUM(drop_emb, float); NUM(drop_att, float); NUM(drop_res, float); NUM(word_dropout, float);
#undef NUM
    const cJSON *seed = cJSON_GetObjectItem(op, "seed");
    if (cJSON_IsString(seed))
        o->seed = strtoull(seed->valuestring, NULL, 10);
    const cJSON *cols = cJSON_GetObjectItem(op, "column");
    for (int t = 0; t < cJSON_GetArraySize(cols) && t < AT_MAX_TAGSETS; t++)
        o->column[t] = cJSON_GetArrayItem(cols, t)->valueint;
    cJSON_Delete(j);
}

/* options_in_range: 0, or an error naming the ranges. */
static int options_in_range(const at_train_opts *o, at_error *err)
{
    if (o->threads < 1 || o->threads > MAX_THREADS || o->epochs < 1 || o->batch_tokens < 1 ||
        !(o->lr > 0) || o->patience < 1 || o->min_count < 1 || !(o->label_smoothing >= 0 &&
        o->label_smoothing < 1) || !(o->ema >= 0 && o->ema < 1) || !(o->warmup >= 0 &&
        o->warmup < 1) || !(o->word_dropout >= 0 && o->word_dropout < 1))
        /* resumed, the options are mostly the checkpoint's: its file is at fault */
        return at_error_of(err, o->resume_path ? AT_ERR_MODEL : AT_ERR_USAGE,
                           "training options out of range (threads 1-%d, epochs, batch, "
                           "patience, min-count >= 1, lr > 0, smoothing, ema, warmup and "
                           "dropouts in [0, 1))", MAX_THREADS);
    return 0;
}

/* batch_order: the epoch's batch order, a seeded shuffle, the same whenever
 * it is made; NULL out of memory. */
static size_t *batch_order(const trainer *tr)
{
    size_t *order = malloc((tr->n_batches ? tr->n_batches : 1) * sizeof *order);
    if (!order)
        return NULL;
    uint64_t rng = mix(tr->o->seed, 0xB00 + (uint64_t)tr->epoch);
    for (size_t b = 0; b < tr->n_batches; b++)
        order[b] = b;
    for (size_t b = tr->n_batches; b > 1; b--) {
        size_t k = (size_t)(at_rand(&rng) * (float)b) % b;
        size_t x = order[b - 1];
        order[b - 1] = order[k];
        order[k] = x;
    }
    return order;
}

/* run_epoch: the epoch's batches from tr->batch on, with progress reports;
 * *stopped when asked to stop between batches. t0: when this run began;
 * *steps: the steps this run has taken. */
static int run_epoch(trainer *tr, at_train_progress *p, double t0, long *steps, int *stopped,
                     at_error *err)
{
    const at_train_opts *o = tr->o;
    size_t *order = batch_order(tr);
    if (!order)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    double loss = 0, te = now();
    size_t tokens = 0, batches = 0;
    int rc = 0;
    p->epoch = tr->epoch + 1;
    p->epoch_done = 0;
    for (; tr->batch < tr->n_batches; tr->batch++) {
        if (o->stop && *o->stop) {
            *stopped = 1;
            break;
        }
        size_t b = order[tr->batch];
        if (train_batch(tr, b, &loss, err)) {
            rc = -1;
            break;
        }
        for (size_t u = tr->batch_off[b]; u < tr->batch_off[b + 1]; u++)
            tokens += tr->units[u].len;
        batches++;
        (*steps)++;
        double el = now() - t0, ee = now() - te;
        p->batch = tr->batch + 1;
        p->step = tr->opt.step;
        p->loss = loss / (double)batches;
        p->tokens_per_s = (double)tokens / (ee > 0 ? ee : 1e-9);
        p->seconds = el;
        long left = tr->total_steps - tr->opt.step;
        p->eta = el / (double)*steps * (double)left;
        if (o->progress && (tr->batch % 10 == 9 || tr->batch + 1 == tr->n_batches))
            o->progress(p, o->ctx);
    }
    free(order);
    return rc;
}

/* end_epoch: dev scored with the averaged weights, the best kept, the log
 * and progress told; *done when patience has run out. */
static int end_epoch(trainer *tr, at_train_progress *p, run_log *log, double t0, int *done,
                     at_error *err)
{
    const at_train_opts *o = tr->o;
    at_optim_swap_ema(&tr->opt);
    int rc = evaluate(tr, p, err);
    /* the score to beat: mean dev accuracy over the tag sets, all heads count */
    double score = 0;
    for (int t = 0; t < p->n_tagsets; t++)
        score += p->dev_acc[t] / p->n_tagsets;
    p->improved = rc == 0 && score > tr->best;
    if (p->improved) {
        tr->best = score;
        tr->best_epoch = tr->epoch + 1;
        tr->bad_epochs = 0;
        if (save_best(tr, err))
            rc = -1;
    } else {
        tr->bad_epochs++;
    }
    at_optim_swap_ema(&tr->opt);
    p->epoch_done = 1;
    p->seconds = now() - t0;
    if (rc == 0 && o->log_path && log_epoch(log->fp, tr, p))
        rc = at_error_set(err, "%s: out of memory for the log", o->log_path);
    if (rc == 0 && o->log_path)
        rc = log_write(log, o->log_path, err);
    if (rc == 0 && o->progress)
        o->progress(p, o->ctx);
    *done = rc == 0 && tr->bad_epochs >= o->patience;
    return rc;
}

int at_train(const at_config *cfg, const at_train_opts *opts, at_error *err)
{
    at_train_opts o = *opts;
    at_model *resumed = NULL;
    char *train_path = NULL, *dev_path = NULL;
    if (o.resume_path) { /* the checkpoint's options win over the command line's */
        if (at_model_load(o.resume_path, AT_FILE_AUTO, &resumed, err))
            return -1;
        if (!at_model_note(resumed)) {
            at_model_free(resumed);
            return at_error_set(err, "%s: not a checkpoint (no training state)", o.resume_path);
        }
        options_from_note(&o, at_model_note(resumed), &train_path, &dev_path);
        at_model_free(resumed);
        resumed = NULL;
    }
    if (options_in_range(&o, err)) {
        free(train_path);
        free(dev_path);
        return -1;
    }
    char *ck_default = NULL;
    if (!o.train_path || !o.dev_path || !o.out_path ||
        (!o.checkpoint_path && !(ck_default = malloc(strlen(o.out_path) + 6)))) {
        free(train_path);
        free(dev_path);
        return at_error_set(err, o.out_path && o.train_path && o.dev_path
                            ? "out of memory"
                            : "training needs a training file, a dev file and an output path");
    }
    if (!o.checkpoint_path) {
        size_t n = strlen(o.out_path) + 6;
        snprintf(ck_default, n, "%s.ckpt", o.out_path);
        o.checkpoint_path = ck_default;
    }
    /* before any work: a long run must not fail at its end on an output path */
    if (at_outfile_check(o.out_path, err) || at_outfile_check(o.checkpoint_path, err)) {
        free(ck_default);
        free(train_path);
        free(dev_path);
        return -1;
    }
    trainer tr;
    memset(&tr, 0, sizeof tr);
    tr.o = &o;
    tr.threads = o.threads;
    run_log log = {0};
    int rc = o.log_path ? log_open(&log, o.log_path, o.resume_path != NULL, err) : 0;
    if (rc == 0)
        rc = setup(&tr, cfg, &resumed, err);
    at_model_free(resumed);
    at_train_progress p;
    memset(&p, 0, sizeof p);
    if (tr.model)
        p.n_tagsets = at_model_config(tr.model)->n_tagsets;
    p.epochs = o.epochs;
    p.batches = tr.n_batches;
    double t0 = now();
    long steps_this_run = 0;
    int stopped = 0;
    for (; rc == 0 && tr.epoch < o.epochs && !stopped; tr.epoch++, tr.batch = 0) {
        int done = 0;
        rc = run_epoch(&tr, &p, t0, &steps_this_run, &stopped, err);
        if (rc || stopped)
            break;
        rc = end_epoch(&tr, &p, &log, t0, &done, err);
        if (done) {
            tr.epoch = o.epochs; /* early stop: done */
            break;
        }
        if (rc == 0 && tr.epoch + 1 < o.epochs) { /* the state after this epoch */
            tr.epoch++;
            tr.batch = 0;
            rc = checkpoint(&tr, o.checkpoint_path, err);
            tr.epoch--;
        }
    }
    if (rc == 0 && stopped && *o.stop == 1)
        rc = checkpoint(&tr, o.checkpoint_path, err);
    if (rc == 0 && !stopped) /* finished: nothing is left to resume */
        remove(o.checkpoint_path);
    log_close(&log);
    teardown(&tr);
    free(ck_default);
    free(train_path);
    free(dev_path);
    if (rc)
        return -1;
    return stopped ? 1 : 0;
}
