/*
 * eval.c - scoring predicted tags against gold ones: token and sentence
 * accuracy, accuracy on words the model knows and on words it does not,
 * per-tag precision / recall / F1, and the confusion matrix. Tags are kept as
 * strings, so predictions from any tagger can be scored the same way.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_EVAL_TAGS = 4096 };

typedef struct ts_eval {
    char name[AT_MAX_NAME];
    at_strcount tags;       /* every tag seen, gold or predicted */
    size_t cap;             /* confusion is cap x cap */
    size_t *confusion;      /* [gold * cap + pred] */
    size_t correct, total, sent_correct;
    size_t known_correct, known_total, unk_correct, unk_total;
    int sent_ok;            /* the current sentence is right so far */
} ts_eval;

struct at_eval {
    int n_tagsets;
    ts_eval ts[AT_MAX_TAGSETS];
    size_t sentences;
};

at_eval *at_eval_new(int n_tagsets, const char *const *names)
{
    at_eval *e = calloc(1, sizeof *e);
    if (!e || n_tagsets < 1 || n_tagsets > AT_MAX_TAGSETS) {
        free(e);
        return NULL;
    }
    e->n_tagsets = n_tagsets;
    for (int t = 0; t < n_tagsets; t++) {
        snprintf(e->ts[t].name, sizeof e->ts[t].name, "%s", names[t]);
        e->ts[t].sent_ok = 1;
    }
    return e;
}

void at_eval_free(at_eval *e)
{
    if (!e)
        return;
    for (int t = 0; t < e->n_tagsets; t++) {
        at_strcount_free(&e->ts[t].tags);
        free(e->ts[t].confusion);
    }
    free(e);
}

static int tag_id(ts_eval *s, const char *tag, uint32_t *id, at_error *err)
{
    if (at_strcount_add(&s->tags, tag, strlen(tag), id, err))
        return -1;
    if (*id < s->cap)
        return 0;
    if (*id >= MAX_EVAL_TAGS)
        return at_error_set(err, "more than %d different %s tags", MAX_EVAL_TAGS, s->name);
    size_t cap = s->cap ? 2 * s->cap : 64;
    size_t *c = calloc(cap * cap, sizeof *c);
    if (!c)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    for (size_t g = 0; g < s->cap; g++)
        memcpy(c + g * cap, s->confusion + g * s->cap, s->cap * sizeof *c);
    free(s->confusion);
    s->confusion = c;
    s->cap = cap;
    return 0;
}

int at_eval_add(at_eval *e, int ts, const char *gold, const char *pred, int known, at_error *err)
{
    ts_eval *s = &e->ts[ts];
    uint32_t g, p;
    if (tag_id(s, gold, &g, err) || tag_id(s, pred, &p, err))
        return -1;
    int ok = g == p;
    s->confusion[g * s->cap + p]++;
    s->total++;
    s->correct += ok;
    s->sent_ok &= ok;
    if (known) {
        s->known_total++;
        s->known_correct += ok;
    } else {
        s->unk_total++;
        s->unk_correct += ok;
    }
    return 0;
}

void at_eval_end_sentence(at_eval *e)
{
    e->sentences++;
    for (int t = 0; t < e->n_tagsets; t++) {
        e->ts[t].sent_correct += e->ts[t].sent_ok;
        e->ts[t].sent_ok = 1;
    }
}

static double ratio(size_t a, size_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

int at_eval_get(const at_eval *e, int ts, at_eval_result *r)
{
    if (ts < 0 || ts >= e->n_tagsets)
        return -1;
    const ts_eval *s = &e->ts[ts];
    memset(r, 0, sizeof *r);
    r->name = s->name;
    r->tokens = s->total;
    r->sentences = e->sentences;
    r->accuracy = ratio(s->correct, s->total);
    r->sentence_accuracy = ratio(s->sent_correct, e->sentences);
    r->known_accuracy = ratio(s->known_correct, s->known_total);
    r->unknown_accuracy = ratio(s->unk_correct, s->unk_total);
    r->known_tokens = s->known_total;
    r->unknown_tokens = s->unk_total;
    r->n_tags = s->tags.n;
    return 0;
}

const char *at_eval_tag(const at_eval *e, int ts, size_t i)
{
    return i < e->ts[ts].tags.n ? e->ts[ts].tags.str[i] : NULL;
}

size_t at_eval_count(const at_eval *e, int ts, size_t gold, size_t pred)
{
    const ts_eval *s = &e->ts[ts];
    return gold < s->tags.n && pred < s->tags.n ? s->confusion[gold * s->cap + pred] : 0;
}

void at_eval_tag_scores(const at_eval *e, int ts, size_t tag, double *precision, double *recall,
                        double *f1, size_t *support)
{
    const ts_eval *s = &e->ts[ts];
    size_t tp = at_eval_count(e, ts, tag, tag), gold = 0, pred = 0;
    for (size_t k = 0; k < s->tags.n; k++) {
        gold += at_eval_count(e, ts, tag, k);
        pred += at_eval_count(e, ts, k, tag);
    }
    *precision = ratio(tp, pred);
    *recall = ratio(tp, gold);
    *f1 = *precision + *recall > 0 ? 2 * *precision * *recall / (*precision + *recall) : 0;
    *support = gold;
}
