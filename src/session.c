/*
 * session.c - tagging tokens held in memory, for programs that bind the
 * library from another language (python/attntag does, through ctypes): the
 * tokens of many sentences come in one buffer and the tags go out as
 * numbers, so that a call costs the caller one crossing however many tokens
 * it tags. A session keeps its run state and token features from call to
 * call; it serves one thread at a time, and a model serves any number of
 * sessions.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* A call's sentences are featurised and tagged this many tokens (and at most
 * this many sentences) at a time, so that what a session keeps does not grow
 * with the size of the calls it is given. */
enum { WINDOW = 16384 };

struct at_session {
    const at_model *m;
    at_state *st;
    at_feats f;
    size_t *sent; /* [WINDOW + 1] the window's sentences' first tokens in f */
    at_tokens toks;
};

int at_session_new(const at_model *m, at_session **out, at_error *err)
{
    if (!m || !out)
        return at_error_of(err, AT_ERR_USAGE, "at_session_new: no %s given", m ? "out" : "model");
    *out = NULL;
    at_session *s = calloc(1, sizeof *s);
    if (!s || !(s->sent = malloc((WINDOW + 1) * sizeof *s->sent))) {
        free(s);
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    }
    s->m = m;
    at_feats_init(&s->f);
    at_tokens_init(&s->toks);
    if (at_state_new_batch(m, AT_BATCH_TOKENS, &s->st, err)) {
        free(s->sent);
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void at_session_free(at_session *s)
{
    if (!s)
        return;
    at_state_free(s->st);
    at_feats_free(&s->f);
    at_tokens_free(&s->toks);
    free(s->sent);
    free(s);
}

/* window: the features of sentences [s0, *s1) (at least one, then as many as
 * fit in WINDOW), from *p on; s->sent gets where each starts. */
static int window(at_session *s, const char **p, const char *end, const uint32_t *sent_len,
                  size_t s0, size_t n_sent, size_t *s1, at_error *err)
{
    at_feats_clear(&s->f);
    s->sent[0] = 0;
    size_t si = s0;
    for (; si < n_sent && si - s0 < WINDOW; si++) {
        if (si > s0 && s->f.n + sent_len[si] > WINDOW)
            break;
        err->sentence = si + 1;
        for (uint32_t i = 0; i < sent_len[si]; i++) {
            const char *nul = *p < end ? memchr(*p, '\0', (size_t)(end - *p)) : NULL;
            if (!nul)
                return at_error_set(err, "token %u: the tokens end before it (each token ends "
                                    "with a NUL byte)", i + 1);
            if (nul == *p)
                return at_error_set(err, "token %u: an empty token", i + 1);
            if (at_feats_add(s->m, &s->f, *p, (size_t)(nul - *p), err))
                return at_error_context(err, "token %u", i + 1);
            *p = nul + 1;
        }
        s->sent[si - s0 + 1] = s->f.n;
    }
    err->sentence = 0;
    *s1 = si;
    return 0;
}

int at_session_tag(at_session *s, const char *tokens, size_t len, const uint32_t *sent_len,
                   size_t n_sent, uint32_t *tags, float *probs, at_error *err)
{
    if (!err)
        return -1;
    err->sentence = 0;
    if (!s || (len && !tokens) || (n_sent && !sent_len))
        return at_error_of(err, AT_ERR_USAGE, "at_session_tag: no %s given",
                           !s ? "session" : n_sent && !sent_len ? "sentence lengths" : "tokens");
    const at_config *c = at_model_config(s->m);
    size_t total = 0, base[AT_MAX_TAGSETS], off = 0;
    for (size_t si = 0; si < n_sent; si++)
        total += sent_len[si];
    for (int t = 0; t < c->n_tagsets; t++) { /* where tag set t's probabilities start */
        base[t] = off;
        off += total * at_model_n_tags(s->m, t);
    }
    const char *p = tokens, *end = len ? tokens + len : tokens;
    for (size_t s0 = 0, first = 0, s1 = 0; s0 < n_sent; s0 = s1) {
        if (window(s, &p, end, sent_len, s0, n_sent, &s1, err))
            return -1; /* err->sentence: 1 + the sentence's index in the call */
        uint32_t *tg[AT_MAX_TAGSETS] = {0};
        float *pr[AT_MAX_TAGSETS] = {0};
        for (int t = 0; t < c->n_tagsets; t++) {
            tg[t] = tags ? tags + (size_t)t * total + first : NULL;
            pr[t] = probs ? probs + base[t] + first * at_model_n_tags(s->m, t) : NULL;
        }
        if (at_tag_batch(s->m, s->st, &s->f, s->sent, s1 - s0, tg, pr, err)) {
            if (err->sentence)
                err->sentence += s0;
            return -1;
        }
        first += s->f.n;
    }
    if (p != end)
        return at_error_set(err, "%zu bytes after the last token of the %zu sentences",
                            (size_t)(end - p), n_sent);
    return 0;
}

int at_session_tokenize(at_session *s, const char *text, size_t len, const at_tokens **out,
                        at_error *err)
{
    if (!err)
        return -1;
    err->sentence = 0;
    if (!s || !out || (len && !text))
        return at_error_of(err, AT_ERR_USAGE, "at_session_tokenize: no %s given",
                           !s ? "session" : !out ? "out" : "text");
    s->toks.n = s->toks.n_sent = 0;
    *out = &s->toks;
    return at_tokenize_text(text, len, &s->toks, err);
}
