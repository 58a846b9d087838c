/*
 * fuzz.h - what the libFuzzer harnesses share: the input as a file, for the
 * parsers that read a path (model loaders, corpora, lexicons).
 */
#ifndef ATTNTAG_FUZZ_H
#define ATTNTAG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

#endif
