/*
 * strmap.c - string -> index lookup for the vocabulary, lexicon and tag sets.
 * Open addressing over indices; the strings stay owned by the caller. Its
 * hash, FNV-1a, is also the character n-grams' (features.c).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

uint32_t at_fnv1a(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

int at_strmap_build(at_strmap *m, const char *const *str, size_t n, at_error *err)
{
    size_t cap = 16;
    while (cap < n + n / 2 + 2) /* load factor at most 2/3 */
        cap <<= 1;
    *m = (at_strmap){.slot = calloc(cap, sizeof *m->slot), .mask = cap - 1, .n = n, .str = str};
    if (!m->slot)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory for a table of %zu strings", n);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(str[i]);
        size_t h = at_fnv1a(str[i], len) & m->mask;
        while (m->slot[h]) {
            if (strcmp(str[m->slot[h] - 1], str[i]) == 0) {
                at_error_set(err, "\"%s\" occurs twice (entries %u and %zu)", str[i],
                             m->slot[h] - 1, i);
                at_strmap_free(m);
                return -1;
            }
            h = (h + 1) & m->mask;
        }
        m->slot[h] = (uint32_t)(i + 1);
    }
    return 0;
}

void at_strmap_adopt(at_strmap *m, const char *const *str, size_t n, const unsigned char *ext,
                     size_t mask)
{
    *m = (at_strmap){.ext = ext, .mask = mask, .n = n, .str = str};
}

void at_strmap_adopt_starts(at_strmap *m, const char *base, size_t nbytes,
                            const unsigned char *starts, size_t n, const unsigned char *ext,
                            size_t mask)
{
    *m = (at_strmap){.ext = ext, .mask = mask, .n = n, .base = base, .starts = starts,
                     .nbytes = nbytes};
}

uint32_t at_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* string v - 1 (v = 1..n from a slot), or NULL where an untrusted table points
 * outside the strings; base ends with a NUL, so any start inside is a string */
static const char *entry(const at_strmap *m, uint32_t v)
{
    if (v == 0 || v > m->n)
        return NULL;
    if (m->str)
        return m->str[v - 1];
    uint32_t at = at_le32(m->starts + 4 * ((size_t)v - 1));
    return at < m->nbytes ? m->base + at : NULL;
}

uint32_t at_strmap_slot(const at_strmap *m, size_t h)
{
    return m->ext ? at_le32(m->ext + 4 * h) : m->slot[h];
}

long at_strmap_find(const at_strmap *m, const char *s, size_t len)
{
    return at_strmap_find_hashed(m, s, len, at_fnv1a(s, len));
}

long at_strmap_find_hashed(const at_strmap *m, const char *s, size_t len, uint32_t hash)
{
    if (!m->slot && !m->ext)
        return -1;
    size_t h = hash & m->mask;
    for (size_t probe = 0; probe <= m->mask; probe++, h = (h + 1) & m->mask) {
        uint32_t v = at_strmap_slot(m, h);
        if (v == 0)
            return -1;
        const char *c = entry(m, v);
        if (c && strncmp(c, s, len) == 0 && c[len] == '\0')
            return (long)v - 1;
    }
    return -1;
}

void at_strmap_free(at_strmap *m)
{
    free(m->slot);
    m->slot = NULL;
    m->ext = NULL;
}

int at_strcount_add(at_strcount *c, const char *s, size_t len, uint32_t *id, at_error *err)
{
    if (2 * (c->n + 1) > c->n_slots) { /* grow and rehash */
        size_t ns = c->n_slots ? 2 * c->n_slots : 1024;
        uint32_t *sl = calloc(ns, sizeof *sl);
        if (!sl)
            return at_error_of(err, AT_ERR_MEMORY, "out of memory");
        for (size_t i = 0; i < c->n; i++) {
            size_t h = at_fnv1a(c->str[i], strlen(c->str[i])) & (ns - 1);
            while (sl[h])
                h = (h + 1) & (ns - 1);
            sl[h] = (uint32_t)i + 1;
        }
        free(c->slot);
        c->slot = sl;
        c->n_slots = ns;
    }
    size_t h = at_fnv1a(s, len) & (c->n_slots - 1);
    for (; c->slot[h]; h = (h + 1) & (c->n_slots - 1)) {
        const char *k = c->str[c->slot[h] - 1];
        if (strncmp(k, s, len) == 0 && k[len] == '\0') {
            *id = c->slot[h] - 1;
            c->count[*id]++;
            return 0;
        }
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 1024;
        char **ns = realloc(c->str, cap * sizeof *ns);
        if (ns)
            c->str = ns;
        size_t *nc = realloc(c->count, cap * sizeof *nc);
        if (nc)
            c->count = nc;
        if (!ns || !nc)
            return at_error_of(err, AT_ERR_MEMORY, "out of memory");
        c->cap = cap;
    }
    char *k = malloc(len + 1);
    if (!k)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory");
    memcpy(k, s, len);
    k[len] = '\0';
    c->str[c->n] = k;
    c->count[c->n] = 1;
    c->slot[h] = (uint32_t)c->n + 1;
    *id = (uint32_t)c->n++;
    return 0;
}

void at_strcount_free(at_strcount *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->str[i]);
    free(c->str);
    free(c->count);
    free(c->slot);
    memset(c, 0, sizeof *c);
}
