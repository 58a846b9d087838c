/*
 * fuzz.h - what the libFuzzer harnesses share: the input as a file, for the
 * parsers that read a path (model loaders, corpora, lexicons), a reader run
 * to the end, a model loaded and used.
 */
#ifndef ATTNTAG_FUZZ_H
#define ATTNTAG_FUZZ_H

#include "attntag.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* fuzz_file: data written to this process's scratch file; its path. */
static const char *fuzz_file(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/attntag-fuzz-%ld", (long)getpid());
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
        abort(); /* the harness's own failure, not a finding */
    return path;
}

/* fuzz_read_all: every sentence a reader of format fmt finds in the bytes. */
static void fuzz_read_all(const uint8_t *data, size_t size, at_input_format fmt)
{
    at_error err;
    FILE *fp = size ? fmemopen((void *)data, size, "rb") : NULL;
    at_reader *r;
    if (fp && at_reader_new(fp, "fuzz", fmt, &r, &err) == 0) {
        at_sentence s;
        at_sentence_init(&s);
        while (at_reader_next(r, &s, &err) == 1)
            ;
        at_sentence_free(&s);
        at_reader_free(r);
    }
    if (fp)
        fclose(fp);
}

/* fuzz_model: a model file of format fmt, then a short sentence tagged with
 * whatever model it accepted (a valid header with hostile weights). */
static void fuzz_model(const uint8_t *data, size_t size, at_file_format fmt)
{
    at_error err;
    at_model *m;
    if (at_model_load(fuzz_file(data, size), fmt, &m, &err))
        return;
    static const char *words[] = {"The", "cat", "sat", "."};
    at_feats f;
    at_feats_init(&f);
    at_state *s = NULL;
    int ok = at_state_new(m, &s, &err) == 0;
    for (size_t i = 0; ok && i < 4; i++)
        ok = at_feats_add(m, &f, words[i], strlen(words[i]), &err) == 0;
    uint32_t tag_store[AT_MAX_TAGSETS][4], *tags[AT_MAX_TAGSETS];
    for (int t = 0; t < AT_MAX_TAGSETS; t++)
        tags[t] = tag_store[t];
    if (ok)
        at_tag(m, s, &f, tags, NULL, &err);
    at_state_free(s);
    at_feats_free(&f);
    at_model_free(m);
}

#endif
