/*
 * tag.c - tagging whole sentences, and the chunks of many sentences through
 * the forward pass together, as many as the run state holds (a chunk's
 * results do not depend on what else is in its forward pass). A sentence of at most
 * max_len tokens is one chunk. A longer one, which is rarely one sentence (a
 * list, a table, text without sentence breaks), is cut into chunks of
 * LONG_CHUNK tokens (max_len if smaller) that overlap by LONG_MARGIN on each
 * side: chunks the size of a sentence, which the model knows best, and few
 * tokens tagged twice. Chosen on EWT dev joined into one sentence (UPOS,
 * bundled model): chunks of 16 tokens overlapping by 1 tag 95.00% of words
 * right, 24 by 1 95.02%, 32 by 1 95.05%, 32 by 2 95.11%, 48 by 1 95.01%,
 * 64 by 2 94.95%, 128 by 8 94.66%; 32 by 1 runs each token through the
 * products 32/30 times, 32 by 2 and 16 by 1 32/28 times.
 */
#include "internal.h"
#include "kernels.h"

#include <string.h>

enum { LONG_CHUNK = 32, LONG_MARGIN = 1 };

/* A chunk and the tokens [own_from, own_to) of the features it tags. */
typedef struct owned {
    at_chunk k;
    size_t own_from, own_to;
} owned;

/* take: copy results for the tokens chunk o owns; row: its first row. */
static void take(const at_model *m, at_state *s, const owned *o, size_t row,
                 uint32_t *const *tags, float *const *probs)
{
    for (int t = 0; t < m->cfg.n_tagsets; t++) {
        size_t T = m->n_tags[t];
        for (size_t i = o->own_from; i < o->own_to; i++) {
            const float *lg = s->logits[t] + (row + i - o->k.start) * T;
            if (tags && tags[t])
                tags[t][i] = (uint32_t)at_argmax(lg, T);
            if (probs && probs[t]) { /* softmax(logits / temperature) */
                float *p = probs[t] + i * T, temp = (float)m->cfg.temperature[t];
                memcpy(p, lg, T * sizeof *lg);
                if (temp > 0 && temp != 1)
                    for (size_t k = 0; k < T; k++)
                        p[k] /= temp;
                at_softmax(p, T);
            }
        }
    }
}

/* The chunks of one forward pass (with what they own), added until the
 * state is full. */
typedef struct pass {
    at_chunk k[256];
    owned o[256];
    size_t n, tokens;
} pass;

static int flush(const at_model *m, at_state *s, const at_feats *f, pass *b,
                 uint32_t *const *tags, float *const *probs, at_error *err)
{
    if (b->n == 0)
        return 0;
    if (at_forward_chunks(m, s, f, b->k, b->n, err))
        return -1;
    for (size_t i = 0; i < b->n; i++)
        take(m, s, &b->o[i], s->chunk[i].row, tags, probs);
    b->n = b->tokens = 0;
    return 0;
}

static int add(const at_model *m, at_state *s, const at_feats *f, pass *b, const owned *o,
               uint32_t *const *tags, float *const *probs, at_error *err)
{
    size_t most = s->training ? 1 : sizeof b->k / sizeof *b->k;
    if ((b->n == most || b->tokens + o->k.len > s->cap) && flush(m, s, f, b, tags, probs, err))
        return -1;
    b->k[b->n] = o->k;
    b->o[b->n++] = *o;
    b->tokens += o->k.len;
    return 0;
}

static int tag_chunks(const at_model *m, at_state *s, const at_feats *f, const size_t *sent,
                     size_t n_sent, uint32_t *const *tags, float *const *probs, at_error *err)
{
    size_t max = (size_t)m->cfg.max_len, L = max < LONG_CHUNK ? max : LONG_CHUNK;
    size_t margin = L > 2 * LONG_MARGIN ? LONG_MARGIN : 0, stride = L - 2 * margin;
    pass b;
    b.n = b.tokens = 0;
    for (size_t si = 0; si < n_sent; si++) {
        size_t s0 = sent[si], n = sent[si + 1] - s0;
        if (sent[si + 1] < s0 || sent[si + 1] > f->n)
            return at_error_set(err, "tag: sentence %zu has tokens [%zu, %zu) of %zu", si, s0,
                                sent[si + 1], f->n);
        if (n == 0)
            continue;
        if (n <= max) {
            owned o = {{s0, n, 0, 0}, s0, s0 + n};
            if (add(m, s, f, &b, &o, tags, probs, err))
                return -1;
            continue;
        }
        size_t start = 0, done = 0;
        for (;;) {
            size_t end = start + L < n ? start + L : n;
            size_t own_to = end == n ? n : end - margin;
            owned o = {{s0 + start, end - start, 0, 0}, s0 + done, s0 + own_to};
            if (add(m, s, f, &b, &o, tags, probs, err))
                return -1;
            done = own_to;
            if (end == n)
                break;
            start += stride;
            if (start + L > n) /* the last chunk: full length, ending at the sentence end */
                start = n - L;
        }
    }
    return flush(m, s, f, &b, tags, probs, err);
}

int at_tag_batch(const at_model *m, at_state *s, const at_feats *f, const size_t *sent,
                 size_t n_sent, uint32_t *const *tags, float *const *probs, at_error *err)
{
    if (err)
        err->sentence = 0;
    s->overflow_token = SIZE_MAX;
    if (tag_chunks(m, s, f, sent, n_sent, tags, probs, err) == 0)
        return 0;
    /* the sentence whose scores overflowed, for the caller's message */
    for (size_t si = 0; err && s->overflow_token != SIZE_MAX && si < n_sent; si++)
        if (sent[si] <= s->overflow_token && s->overflow_token < sent[si + 1])
            err->sentence = si + 1;
    return -1;
}

int at_tag(const at_model *m, at_state *s, const at_feats *f, uint32_t *const *tags,
           float *const *probs, at_error *err)
{
    size_t sent[2] = {0, f->n};
    return at_tag_batch(m, s, f, sent, 1, tags, probs, err);
}
