/* fuzz_lines.c - the plain-text readers: a sentence per line (the first byte
 * odd) or a token per line with blank lines between sentences (even). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1)
        fuzz_read_all(data + 1, size - 1, data[0] & 1 ? AT_IN_LINES : AT_IN_VERTICAL);
    return 0;
}
