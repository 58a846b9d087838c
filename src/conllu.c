/*
 * conllu.c - the parts of a CoNLL-U word line (universaldependencies.org
 * format): ten tab-separated columns; the ID tells a word ("3") from a
 * multiword-token range ("3-4") and an empty node ("3.1"), which are kept in
 * the output but not tagged.
 */
#include "attntag.h"

#include <string.h>

int at_conllu_split(char *line, char **col)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *tab = strchr(p, '\t');
        if (n < AT_CONLLU_COLS)
            col[n] = p;
        n++;
        if (!tab)
            break;
        if (n <= AT_CONLLU_COLS)
            *tab = '\0';
        p = tab + 1;
    }
    return n;
}

static size_t digits(const char *s)
{
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

at_conllu_id at_conllu_id_kind(const char *id)
{
    size_t a = digits(id);
    if (!a || a > 9)
        return AT_ID_BAD;
    if (id[a] == '\0')
        return id[0] == '0' ? AT_ID_BAD : AT_ID_WORD;
    size_t b = digits(id + a + 1);
    if (!b || b > 9 || id[a + 1 + b] != '\0')
        return AT_ID_BAD;
    return id[a] == '-' ? AT_ID_RANGE : id[a] == '.' ? AT_ID_EMPTY : AT_ID_BAD;
}
