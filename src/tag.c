/*
 * tag.c - tagging a whole sentence: the forward pass over chunks of at most
 * max_len tokens, overlapping so that every token is tagged with at least
 * max_len/4 tokens of context on each side (or the sentence edge).
 */
#include "internal.h"
#include "kernels.h"

#include <string.h>

/* take: copy results for tokens [from, to) of the sentence; the chunk starts at cs. */
static void take(const at_model *m, at_state *s, size_t cs, size_t from, size_t to,
                 uint32_t *const *tags, float *const *probs)
{
    for (int t = 0; t < m->cfg.n_tagsets; t++) {
        size_t T = m->n_tags[t];
        for (size_t i = from; i < to; i++) {
            const float *lg = s->logits[t] + (i - cs) * T;
            size_t best = 0;
            for (size_t k = 1; k < T; k++)
                if (lg[k] > lg[best])
                    best = k;
            if (tags && tags[t])
                tags[t][i] = (uint32_t)best;
            if (probs && probs[t]) {
                memcpy(probs[t] + i * T, lg, T * sizeof *lg);
                at_softmax(probs[t] + i * T, T);
            }
        }
    }
}

int at_tag(const at_model *m, at_state *s, const at_feats *f, uint32_t *const *tags,
           float *const *probs, at_error *err)
{
    size_t n = f->n, L = (size_t)m->cfg.max_len;
    if (n == 0)
        return 0;
    size_t margin = L / 4, stride = L - 2 * margin;
    size_t start = 0, done = 0;
    for (;;) {
        size_t end = start + L < n ? start + L : n;
        if (at_forward(m, s, f, start, end - start, err))
            return -1;
        size_t own_to = end == n ? n : end - margin;
        take(m, s, start, done, own_to, tags, probs);
        done = own_to;
        if (end == n)
            return 0;
        start += stride;
        if (start + L > n) /* the last chunk: full length, ending at the sentence end */
            start = n - L;
    }
}
