/*
 * pipeline.c - tagging a stream on several threads: sentences are read in
 * batches of about AT_BATCH_TOKENS tokens; each batch is featurised, tagged
 * and formatted on a thread of its own, and the batches are written in the
 * order they were read. A sentence's tags do not depend on its batch
 * (at_tag_batch), so the output is the same bytes for any number of threads.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One batch in flight, with everything its thread needs. */
typedef struct slot {
    const at_tagger *tg;
    at_state *st;
    at_feats feats;        /* the batch's tokens, sentence after sentence */
    at_sentence *sent;     /* [n_sent] as read */
    size_t n_sent, sent_cap;
    size_t *off;           /* [n_sent + 1] each sentence's first token in feats */
    uint32_t *tags[AT_MAX_TAGSETS];
    float *probs[AT_MAX_TAGSETS];
    size_t cap;            /* tokens tags and probs have room for */
    char *buf;             /* the batch formatted */
    size_t len;
    int rc;                /* 0, or -1 with err: buf holds the sentences before the bad one */
    at_error err;
    size_t tokens;
    pthread_t th;
    int running;
} slot;

struct at_tagger {
    const at_model *m;
    at_tagger_opts o;
    int want_probs;
    const char *name; /* of the input being read, for messages */
    size_t long_lines; /* of the last stream, read in pieces */
    int n_slots;
    slot *slot;
};

int at_tagger_new(const at_model *m, const at_tagger_opts *o, at_tagger **out, at_error *err)
{
    *out = NULL;
    if (o->threads < 1 || o->threads > AT_MAX_THREADS)
        return at_error_set(err, "threads must be 1 to %d, not %d", AT_MAX_THREADS, o->threads);
    at_tagger *t = calloc(1, sizeof *t);
    if (!t)
        return at_error_set(err, "out of memory");
    t->m = m;
    t->o = *o;
    t->want_probs = o->wo.probs || o->wo.top;
    /* one batch more than threads: the next is read while the others run */
    t->n_slots = o->threads == 1 ? 1 : o->threads + 1;
    if (!(t->slot = calloc((size_t)t->n_slots, sizeof *t->slot))) {
        free(t);
        return at_error_set(err, "out of memory");
    }
    for (int i = 0; i < t->n_slots; i++) {
        t->slot[i].tg = t;
        at_feats_init(&t->slot[i].feats);
        if (at_state_new_batch(m, AT_BATCH_TOKENS, &t->slot[i].st, err)) {
            at_tagger_free(t);
            return -1;
        }
    }
    *out = t;
    return 0;
}

size_t at_tagger_long_lines(const at_tagger *t)
{
    return t->long_lines;
}

void at_tagger_free(at_tagger *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_slots; i++) {
        slot *s = &t->slot[i];
        at_state_free(s->st);
        at_feats_free(&s->feats);
        for (size_t k = 0; k < s->sent_cap; k++)
            at_sentence_free(&s->sent[k]);
        free(s->sent);
        free(s->off);
        for (int k = 0; k < AT_MAX_TAGSETS; k++) {
            free(s->tags[k]);
            free(s->probs[k]);
        }
        free(s->buf);
    }
    free(t->slot);
    free(t);
}

/* next_sentence: a cleared sentence at the end of s's batch (NULL: out of memory). */
static at_sentence *next_sentence(slot *s)
{
    if (s->n_sent == s->sent_cap) {
        size_t cap = s->sent_cap ? 2 * s->sent_cap : 64;
        at_sentence *ns = realloc(s->sent, cap * sizeof *ns);
        if (ns)
            s->sent = ns;
        size_t *no = ns ? realloc(s->off, (cap + 1) * sizeof *no) : NULL;
        if (!no)
            return NULL;
        s->off = no;
        for (size_t i = s->sent_cap; i < cap; i++)
            at_sentence_init(&s->sent[i]);
        s->sent_cap = cap;
    }
    at_sentence_clear(&s->sent[s->n_sent]);
    return &s->sent[s->n_sent];
}

static int ensure(slot *s, size_t n, at_error *err)
{
    const at_model *m = s->tg->m;
    if (n <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < n)
        cap *= 2;
    for (int t = 0; t < at_model_config(m)->n_tagsets; t++) {
        uint32_t *tg = realloc(s->tags[t], cap * sizeof *tg);
        if (tg)
            s->tags[t] = tg;
        float *p = s->tg->want_probs
                       ? realloc(s->probs[t], cap * at_model_n_tags(m, t) * sizeof *p) : NULL;
        if (p)
            s->probs[t] = p;
        if (!tg || (s->tg->want_probs && !p))
            return at_error_set(err, "out of memory for a sentence of %zu tokens", n);
    }
    s->cap = cap;
    return 0;
}

/* run: the batch's features, tags and output text. On a bad sentence, the
 * ones before it are still tagged and formatted, and rc says why it stopped. */
static void *run(void *arg)
{
    slot *s = arg;
    const at_tagger *t = s->tg;
    const at_model *m = t->m;
    at_feats_clear(&s->feats);
    size_t good = 0; /* sentences featurised */
    s->rc = 0;
    while (good < s->n_sent && s->rc == 0) {
        const at_sentence *se = &s->sent[good];
        s->off[good] = s->feats.n;
        for (size_t i = 0; s->rc == 0 && i < se->n; i++)
            if (at_feats_add(m, &s->feats, se->tok[i], se->tok_len[i], &s->err)) {
                at_error_set(&s->err, "%s:%zu: %.900s", t->name, se->first_line, s->err.msg);
                s->feats.n = s->off[good]; /* drop the bad sentence's tokens */
                s->rc = -1;
            }
        good += s->rc == 0;
    }
    s->off[good] = s->feats.n;
    FILE *mem = open_memstream(&s->buf, &s->len);
    at_error err;
    int rc = mem ? 0 : at_error_set(&err, "out of memory for the output");
    if (rc == 0 && good)
        rc = ensure(s, s->feats.n, &err) ||
             at_tag_batch(m, s->st, &s->feats, s->off, good, s->tags,
                          t->want_probs ? s->probs : NULL, &err);
    for (size_t i = 0; rc == 0 && i < good; i++) {
        uint32_t *tags[AT_MAX_TAGSETS] = {0};
        float *probs[AT_MAX_TAGSETS] = {0};
        for (int k = 0; k < at_model_config(m)->n_tagsets; k++) {
            tags[k] = s->tags[k] + s->off[i];
            if (t->want_probs)
                probs[k] = s->probs[k] + s->off[i] * at_model_n_tags(m, k);
        }
        rc = at_write_sentence(mem, m, &t->o.wo, &s->sent[i], tags,
                               t->want_probs ? probs : NULL, &err);
    }
    if (mem && fclose(mem) != 0 && rc == 0)
        rc = at_error_set(&err, "out of memory for the output");
    if (rc) { /* nothing of this batch is written */
        s->len = 0;
        s->rc = -1;
        s->err = err;
    }
    s->tokens = good ? s->off[good] : 0;
    return NULL;
}

/* finish: wait for s's thread; write its text. -1: stop (s's error in err). */
static int finish(at_tagger *t, slot *s, FILE *out, long long *tokens, at_error *err)
{
    if (!s->running)
        return 0;
    if (t->o.threads > 1)
        pthread_join(s->th, NULL);
    s->running = 0;
    int rc = 0;
    if (s->len && fwrite(s->buf, 1, s->len, out) != s->len)
        rc = at_error_set(err, "write error on output: %s", strerror(errno));
    free(s->buf);
    s->buf = NULL;
    s->len = 0;
    *tokens += (long long)s->tokens;
    if (rc == 0 && s->rc) {
        *err = s->err;
        rc = -1;
    }
    if (rc == 0 && t->o.line_buffered && fflush(out) != 0)
        rc = at_error_set(err, "write error on output: %s", strerror(errno));
    return rc;
}

static int start(at_tagger *t, slot *s, at_error *err)
{
    s->running = 1;
    if (t->o.threads == 1) {
        run(s);
        return 0;
    }
    if (pthread_create(&s->th, NULL, run, s) != 0) {
        s->running = 0;
        return at_error_set(err, "cannot start a thread");
    }
    return 0;
}

int at_tagger_run(at_tagger *t, FILE *in, const char *name, FILE *out, long long *tokens,
                  at_error *err)
{
    at_reader *r;
    if (at_reader_new(in, name, t->o.in, &r, err))
        return -1;
    t->name = name;
    int rc = 0, read_rc = 1, k = 0;
    at_error read_err;
    while (rc == 0 && read_rc == 1) {
        slot *s = &t->slot[k];
        /* the batch this slot held is written before the slot is refilled */
        if ((rc = finish(t, s, out, tokens, err)))
            break;
        s->n_sent = 0;
        size_t n_tok = 0;
        at_sentence *se;
        while (n_tok < AT_BATCH_TOKENS && (se = next_sentence(s)) &&
               (read_rc = at_reader_next(r, se, &read_err)) == 1) {
            n_tok += se->n;
            s->n_sent++;
            if (t->o.line_buffered) /* a coprocess waits for each answer */
                break;
        }
        if (read_rc == 1 && n_tok < AT_BATCH_TOKENS && !t->o.line_buffered)
            read_rc = at_error_set(&read_err, "out of memory");
        if (s->n_sent && (rc = start(t, s, err)))
            break;
        if (t->o.line_buffered && (rc = finish(t, s, out, tokens, err))) /* answered now */
            break;
        k = (k + 1) % t->n_slots;
    }
    /* the batches in flight, in order; after an error, only those before it */
    for (int i = 0; i < t->n_slots; i++) {
        slot *s = &t->slot[(k + i) % t->n_slots];
        if (rc == 0)
            rc = finish(t, s, out, tokens, err);
        else if (s->running) {
            if (t->o.threads > 1)
                pthread_join(s->th, NULL);
            s->running = 0;
            free(s->buf);
            s->buf = NULL;
            s->len = 0;
        }
    }
    t->long_lines = at_reader_long_lines(r);
    at_reader_free(r);
    if (rc == 0 && read_rc < 0) { /* the sentences before a bad line are written */
        *err = read_err;
        rc = -1;
    }
    return rc;
}
