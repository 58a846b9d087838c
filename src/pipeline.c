/*
 * pipeline.c - tagging a stream on several threads: sentences are read in
 * shares of about SLOT_TOKENS tokens; each share is featurised, tagged and
 * formatted on a thread of its own, and the shares are written in the order
 * they were read. A sentence's tags do not depend on its batch
 * (at_tag_batch), so the output is the same bytes for any number of threads.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A thread's share: four run-state batches, so that handing shares over
 * costs little against the work. */
enum { SLOT_TOKENS = 4 * AT_BATCH_TOKENS };

/* One share in flight, with everything its thread needs. */
typedef struct slot {
    const at_tagger *tg;
    at_state *st;          /* the run state of the thread running it */
    at_feats feats;        /* the batch's tokens, sentence after sentence */
    at_sentence *sent;     /* [n_sent] as read */
    size_t n_sent, sent_cap;
    size_t *off;           /* [n_sent + 1] each sentence's first token in feats */
    uint32_t *tags[AT_MAX_TAGSETS];
    float *probs[AT_MAX_TAGSETS];
    size_t cap;            /* tokens tags and probs have room for */
    char *buf;             /* the batch formatted */
    size_t len;
    size_t good;           /* sentences tagged (those before a bad one) */
    int rc;                /* 0, or -1 with err: buf holds the sentences before the bad one */
    at_error err;
    size_t tokens;
    enum { FREE, READY, DONE } state; /* READY: waiting for, or in, a worker */
} slot;

struct at_tagger {
    const at_model *m;
    at_tagger_opts o;
    int want_probs;
    const char *name; /* of the input being read, for messages */
    size_t long_lines; /* of the last stream, read in pieces */
    int n_slots;
    slot *slot;
    /* threads > 1: workers, started when a stream first has more than one
     * share (a short input is tagged on the calling thread, in `alone`, and
     * costs no threads), take the shares in the order they were filled
     * (share i is in slot i % n_slots) */
    at_state *alone;
    pthread_t *workers;
    struct worker_arg { at_tagger *t; at_state *st; } *wa; /* each worker's own state,
                           * which stays warm in its core's caches */
    int n_workers;
    pthread_mutex_t lock;
    pthread_cond_t ready;  /* a share was filled, or the workers are to stop */
    pthread_cond_t done;   /* a share is done */
    size_t filled, taken;  /* shares so far */
    int stop;
};

static void run(slot *s);

static void *worker(void *arg)
{
    at_tagger *t = ((struct worker_arg *)arg)->t;
    at_state *st = ((struct worker_arg *)arg)->st;
    pthread_mutex_lock(&t->lock);
    for (;;) {
        while (!t->stop && t->taken == t->filled)
            pthread_cond_wait(&t->ready, &t->lock);
        if (t->taken == t->filled)
            break;
        slot *s = &t->slot[t->taken++ % (size_t)t->n_slots];
        pthread_mutex_unlock(&t->lock);
        s->st = st;
        run(s);
        pthread_mutex_lock(&t->lock);
        s->state = DONE;
        pthread_cond_broadcast(&t->done);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int at_tagger_new(const at_model *m, const at_tagger_opts *o, at_tagger **out, at_error *err)
{
    *out = NULL;
    if (o->threads < 1 || o->threads > AT_MAX_THREADS)
        return at_error_set(err, "threads must be 1 to %d, not %d", AT_MAX_THREADS, o->threads);
    at_tagger *t = calloc(1, sizeof *t);
    if (!t)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    t->m = m;
    t->o = *o;
    t->want_probs = o->wo.probs || o->wo.top || o->wo.min_prob > 0;
    /* two batches per thread: the next ones are read while the others run,
     * and waiting for the oldest batch rarely leaves a core idle */
    t->n_slots = o->threads == 1 ? 1 : 2 * o->threads;
    if (!(t->slot = calloc((size_t)t->n_slots, sizeof *t->slot))) {
        free(t);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    }
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->ready, NULL);
    pthread_cond_init(&t->done, NULL);
    for (int i = 0; i < t->n_slots; i++) {
        t->slot[i].tg = t;
        at_feats_init(&t->slot[i].feats);
    }
    if (o->threads == 1 && at_state_new_batch(m, AT_BATCH_TOKENS, &t->slot[0].st, err)) {
        at_tagger_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

/* start_workers: the worker threads, each with its run state, once. */
static int start_workers(at_tagger *t, at_error *err)
{
    if (t->workers)
        return 0;
    int n = t->o.threads;
    if (!(t->wa = calloc((size_t)n, sizeof *t->wa)))
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    for (int i = 0; i < n; i++) {
        t->wa[i].t = t;
        if (at_state_new_batch(t->m, AT_BATCH_TOKENS, &t->wa[i].st, err))
            return -1;
    }
    if (!(t->workers = calloc((size_t)n, sizeof *t->workers)))
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    for (; t->n_workers < n; t->n_workers++)
        if (pthread_create(&t->workers[t->n_workers], NULL, worker, &t->wa[t->n_workers]))
            return at_error_set(err, "cannot start a thread");
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
    pthread_mutex_lock(&t->lock);
    t->stop = 1;
    pthread_cond_broadcast(&t->ready);
    pthread_mutex_unlock(&t->lock);
    for (int i = 0; i < t->n_workers; i++)
        pthread_join(t->workers[i], NULL);
    free(t->workers);
    for (int i = 0; t->wa && i < t->o.threads; i++)
        at_state_free(t->wa[i].st);
    free(t->wa);
    at_state_free(t->alone);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->ready);
    pthread_cond_destroy(&t->done);
    for (int i = 0; i < t->n_slots; i++) {
        slot *s = &t->slot[i];
        if (t->o.threads == 1)
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
            return at_error_of(err, AT_ERR_MEMORY, "out of memory for a sentence of %zu tokens", n);
    }
    s->cap = cap;
    return 0;
}

/* results: sentence i's tags and probabilities (NULL unless asked for),
 * each tag set's. */
static void results(const slot *s, size_t i, uint32_t **tags, float **probs)
{
    const at_model *m = s->tg->m;
    for (int k = 0; k < at_model_config(m)->n_tagsets; k++) {
        tags[k] = s->tags[k] + s->off[i];
        probs[k] = s->tg->want_probs ? s->probs[k] + s->off[i] * at_model_n_tags(m, k) : NULL;
    }
}

/* run: the batch's features, tags and output text. On a bad sentence, the
 * ones before it are still tagged and formatted, and rc says why it stopped. */
static void run(slot *s)
{
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
                at_error_context(&s->err, "%s:%zu", t->name, se->first_line);
                s->feats.n = s->off[good]; /* drop the bad sentence's tokens */
                s->rc = -1;
            }
        good += s->rc == 0;
    }
    s->off[good] = s->feats.n;
    FILE *mem = t->o.each ? NULL : open_memstream(&s->buf, &s->len);
    at_error err = {.sentence = 0};
    int rc = mem || t->o.each ? 0
                              : at_error_of(&err, AT_ERR_MEMORY, "out of memory for the output");
    if (rc == 0 && good)
        rc = ensure(s, s->feats.n, &err) ||
             at_tag_batch(m, s->st, &s->feats, s->off, good, s->tags,
                          t->want_probs ? s->probs : NULL, &err);
    if (rc && err.sentence) { /* a sentence the network could not tag: said where, and the
                                 ones before it still tagged and written */
        at_error_context(&err, "%s:%zu", t->name, s->sent[err.sentence - 1].first_line);
        s->err = err;
        s->rc = -1;
        good = err.sentence - 1;
        rc = good ? at_tag_batch(m, s->st, &s->feats, s->off, good, s->tags,
                                 t->want_probs ? s->probs : NULL, &err)
                  : 0;
    }
    for (size_t i = 0; rc == 0 && mem && i < good; i++) {
        uint32_t *tags[AT_MAX_TAGSETS] = {0};
        float *probs[AT_MAX_TAGSETS] = {0};
        results(s, i, tags, probs);
        rc = at_write_sentence(mem, m, &t->o.wo, &s->sent[i], tags,
                               t->want_probs ? probs : NULL, &err);
    }
    if (mem && fclose(mem) != 0 && rc == 0)
        rc = at_error_of(&err, AT_ERR_MEMORY, "out of memory for the output");
    if (rc) { /* nothing of this batch is written */
        s->len = 0;
        s->rc = -1;
        s->err = err;
        good = 0;
    }
    s->good = good;
    s->tokens = good ? s->off[good] : 0;
}

/* wait_done: until s's share is done (or s holds none). */
static void wait_done(at_tagger *t, slot *s)
{
    pthread_mutex_lock(&t->lock);
    while (s->state == READY)
        pthread_cond_wait(&t->done, &t->lock);
    pthread_mutex_unlock(&t->lock);
}

/* finish: wait for s's share; write its text. -1: stop (s's error in err). */
static int finish(at_tagger *t, slot *s, FILE *out, long long *tokens, at_error *err)
{
    wait_done(t, s);
    if (s->state == FREE)
        return 0;
    s->state = FREE;
    int rc = 0;
    if (s->len && fwrite(s->buf, 1, s->len, out) != s->len)
        rc = at_error_of(err, AT_ERR_OUTPUT, "write error on output: %s", strerror(errno));
    size_t kept = s->tokens; /* written, or given to each before a sentence it refused */
    for (size_t i = 0; rc == 0 && t->o.each && i < s->good; i++) {
        uint32_t *tags[AT_MAX_TAGSETS] = {0};
        float *probs[AT_MAX_TAGSETS] = {0};
        results(s, i, tags, probs);
        if (t->o.each(t->o.ctx, &s->sent[i], tags, t->want_probs ? probs : NULL, err)) {
            rc = -1;
            kept = s->off[i];
        }
    }
    free(s->buf);
    s->buf = NULL;
    s->len = 0;
    *tokens += (long long)kept;
    if (rc == 0 && s->rc) {
        *err = s->err;
        rc = -1;
    }
    if (rc == 0 && t->o.line_buffered && out && fflush(out) != 0)
        rc = at_error_of(err, AT_ERR_OUTPUT, "write error on output: %s", strerror(errno));
    return rc;
}

/* start: s's share on its way: run now on one thread, or on the calling
 * thread when `alone` (the stream's only share, and no workers yet), else
 * handed to the workers, started first if need be. */
static int start(at_tagger *t, slot *s, int alone, at_error *err)
{
    if (t->o.threads == 1 || (alone && !t->workers)) {
        if (t->o.threads > 1) {
            if (!t->alone && at_state_new_batch(t->m, AT_BATCH_TOKENS, &t->alone, err))
                return -1;
            s->st = t->alone;
        }
        run(s);
        s->state = DONE;
        return 0;
    }
    if (start_workers(t, err))
        return -1;
    pthread_mutex_lock(&t->lock);
    s->state = READY;
    t->filled++;
    pthread_cond_signal(&t->ready);
    pthread_mutex_unlock(&t->lock);
    return 0;
}

int at_tagger_run(at_tagger *t, FILE *in, const char *name, FILE *out, long long *tokens,
                  at_error *err)
{
    at_reader *r;
    if (at_reader_new(in, name, t->o.in, &r, err))
        return -1;
    t->name = name;
    /* the workers take share i from slot i % n_slots, counting over every stream */
    int rc = 0, read_rc = 1, k = (int)(t->filled % (size_t)t->n_slots), started = 0;
    at_error read_err;
    while (rc == 0 && read_rc == 1) {
        slot *s = &t->slot[k];
        /* the batch this slot held is written before the slot is refilled */
        if ((rc = finish(t, s, out, tokens, err)))
            break;
        s->n_sent = 0;
        size_t n_tok = 0;
        at_sentence *se;
        while (n_tok < SLOT_TOKENS && (se = next_sentence(s)) &&
               (read_rc = at_reader_next(r, se, &read_err)) == 1) {
            n_tok += se->n;
            s->n_sent++;
            if (t->o.line_buffered) /* a coprocess waits for each answer */
                break;
        }
        if (read_rc == 1 && n_tok < SLOT_TOKENS && !t->o.line_buffered)
            read_rc = at_error_of(&read_err, AT_ERR_MEMORY, "out of memory");
        /* the input ended with this, its first share: no threads for it */
        if (s->n_sent && (rc = start(t, s, read_rc != 1 && !started, err)))
            break;
        started |= s->n_sent > 0;
        if (t->o.line_buffered && (rc = finish(t, s, out, tokens, err))) /* answered now */
            break;
        k = (k + 1) % t->n_slots;
    }
    /* the batches in flight, in order; after an error, only those before it */
    for (int i = 0; i < t->n_slots; i++) {
        slot *s = &t->slot[(k + i) % t->n_slots];
        if (rc == 0)
            rc = finish(t, s, out, tokens, err);
        else if (s->state != FREE) {
            wait_done(t, s);
            s->state = FREE;
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
