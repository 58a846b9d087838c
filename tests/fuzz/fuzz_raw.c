/* fuzz_raw.c - raw text: the tokenizer and sentence splitter on the bytes as
 * they are (when valid UTF-8, as its callers check first), and the raw-text
 * reader, which finds paragraphs and checks the encoding itself. */
#include "attntag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    at_error err;
    size_t bad;
    if (at_utf8_check((const char *)data, size, &bad) == 0) {
        at_tokens t;
        at_tokens_init(&t);
        if (at_tokenize((const char *)data, size, &t, &err) == 0)
            for (size_t i = 0; i < t.n; i++) /* spans stay inside the text */
                if (t.tok[i].start + t.tok[i].len > size || t.tok[i].len == 0)
                    __builtin_trap();
        at_tokens_free(&t);
    }
    FILE *fp = size ? fmemopen((void *)data, size, "rb") : NULL;
    at_reader *r;
    if (fp && at_reader_new(fp, "fuzz", AT_IN_RAW, &r, &err) == 0) {
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
