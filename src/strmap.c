/*
 * strmap.c - string -> index lookup for the vocabulary, lexicon and tag sets.
 * Open addressing over indices; the strings stay owned by the caller.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int at_strmap_build(at_strmap *m, const char *const *str, size_t n, at_error *err)
{
    size_t cap = 16;
    while (cap < 2 * n + 2)
        cap <<= 1;
    m->slot = calloc(cap, sizeof *m->slot);
    if (!m->slot)
        return at_error_set(err, "out of memory for a table of %zu strings", n);
    m->mask = cap - 1;
    m->str = str;
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

long at_strmap_find(const at_strmap *m, const char *s, size_t len)
{
    if (!m->slot)
        return -1;
    size_t h = at_fnv1a(s, len) & m->mask;
    while (m->slot[h]) {
        const char *c = m->str[m->slot[h] - 1];
        if (strncmp(c, s, len) == 0 && c[len] == '\0')
            return (long)m->slot[h] - 1;
        h = (h + 1) & m->mask;
    }
    return -1;
}

void at_strmap_free(at_strmap *m)
{
    free(m->slot);
    m->slot = NULL;
}
