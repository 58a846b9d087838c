/* fuzz_raw.c - raw text: the tokenizer and sentence splitter on the bytes as
 * they are (when valid UTF-8, as its callers check first), and the raw-text
 * reader, which finds paragraphs and checks the encoding itself. */
#include "fuzz.h"

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
    fuzz_read_all(data, size, AT_IN_RAW);
    return 0;
}
