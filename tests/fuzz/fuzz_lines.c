/* fuzz_lines.c - the plain-text readers: a sentence per line (the first byte
 * odd) or a token per line with blank lines between sentences (even). */
#include "attntag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    at_input_format fmt = data[0] & 1 ? AT_IN_LINES : AT_IN_VERTICAL;
    at_error err;
    FILE *fp = fmemopen((void *)(data + 1), size - 1 ? size - 1 : 1, "rb");
    at_reader *r;
    if (fp && size > 1 && at_reader_new(fp, "fuzz", fmt, &r, &err) == 0) {
        at_sentence s;
        at_sentence_init(&s);
        while (at_reader_next(r, &s, &err) == 1)
            ;
        at_sentence_free(&s);
        at_reader_free(r);
    }
    if (fp)
        fclose(fp);
    return 0;
}
