/* fuzz_conllu.c - CoNLL-U as tagging input (the reader that keeps every line
 * for output) and as a labelled corpus (the training and evaluation reader). */
#include "corpus.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_read_all(data, size, AT_IN_CONLLU);
    static const int column[] = {3, 4};
    static const char *const names[] = {"upos", "xpos"};
    at_raw_corpus raw;
    at_error err;
    if (at_raw_read(fuzz_file(data, size), column, names, 2, &raw, &err) == 0)
        at_raw_free(&raw);
    return 0;
}
