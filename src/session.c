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

struct at_session {
    const at_model *m;
    at_state *st;
    at_feats f;
    size_t *sent; /* [n_sent + 1] the sentences' first tokens in f */
    size_t sent_cap;
    at_tokens toks;
};

int at_session_new(const at_model *m, at_session **out, at_error *err)
{
    *out = NULL;
    at_session *s = calloc(1, sizeof *s);
    if (!s)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    s->m = m;
    at_feats_init(&s->f);
    at_tokens_init(&s->toks);
    if (at_state_new_batch(m, AT_BATCH_TOKENS, &s->st, err)) {
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

/* featurise: the features of every token, and where each sentence starts. */
static int featurise(at_session *s, const char *tokens, size_t len, const uint32_t *sent_len,
                     size_t n_sent, at_error *err)
{
    if (n_sent + 1 > s->sent_cap) {
        size_t *ns = realloc(s->sent, (n_sent + 1) * sizeof *ns);
        if (!ns)
            return at_error_of(err, AT_ERR_MEMORY, "out of memory");
        s->sent = ns;
        s->sent_cap = n_sent + 1;
    }
    at_feats_clear(&s->f);
    const char *p = tokens, *end = tokens + len;
    s->sent[0] = 0;
    for (size_t si = 0; si < n_sent; si++) {
        err->sentence = si + 1;
        for (uint32_t i = 0; i < sent_len[si]; i++) {
            const char *nul = p < end ? memchr(p, '\0', (size_t)(end - p)) : NULL;
            if (!nul)
                return at_error_set(err, "token %u: the %zu bytes of tokens end before it "
                                    "(each token ends with a NUL byte)", i + 1, len);
            if (nul == p)
                return at_error_set(err, "token %u: an empty token", i + 1);
            if (at_feats_add(s->m, &s->f, p, (size_t)(nul - p), err))
                return at_error_context(err, "token %u", i + 1);
            p = nul + 1;
        }
        s->sent[si + 1] = s->f.n;
    }
    err->sentence = 0;
    if (p != end)
        return at_error_set(err, "%zu bytes after the last token of the %zu sentences",
                            (size_t)(end - p), n_sent);
    return 0;
}

int at_session_tag(at_session *s, const char *tokens, size_t len, const uint32_t *sent_len,
                   size_t n_sent, uint32_t *tags, float *probs, at_error *err)
{
    if (featurise(s, tokens, len, sent_len, n_sent, err))
        return -1;
    const at_config *c = at_model_config(s->m);
    size_t n = s->f.n, off = 0;
    uint32_t *tg[AT_MAX_TAGSETS] = {0};
    float *pr[AT_MAX_TAGSETS] = {0};
    for (int t = 0; t < c->n_tagsets; t++) {
        tg[t] = tags ? tags + (size_t)t * n : NULL;
        pr[t] = probs ? probs + off : NULL;
        off += n * at_model_n_tags(s->m, t);
    }
    return at_tag_batch(s->m, s->st, &s->f, s->sent, n_sent, tg, pr, err);
}

int at_session_tokenize(at_session *s, const char *text, size_t len, const at_tokens **out,
                        at_error *err)
{
    err->sentence = 0;
    s->toks.n = s->toks.n_sent = 0;
    *out = &s->toks;
    return at_tokenize_text(text, len, &s->toks, err);
}
