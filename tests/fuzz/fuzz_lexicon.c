/* fuzz_lexicon.c - the "word<TAB>bits" lexicon that training carries into a model. */
#include "corpus.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    at_error err;
    char **words;
    uint8_t *bits;
    size_t n;
    int n_bits;
    for (int lowercase = 0; lowercase < 2; lowercase++)
        if (at_lexicon_read(fuzz_file(data, size), lowercase, &words, &bits, &n, &n_bits, &err) ==
            0) {
            at_strings_free(words, n);
            free(bits);
        }
    return 0;
}
