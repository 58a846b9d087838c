/* fuzz_conllu.c - CoNLL-U as tagging input (the reader that keeps every line
 * for output) and as a labelled corpus (the training and evaluation reader). */
#include "attntag.h"
#include "corpus.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    at_error err;
    FILE *fp = fmemopen((void *)data, size, "rb");
    at_reader *r;
    if (fp && at_reader_new(fp, "fuzz", AT_IN_CONLLU, &r, &err) == 0) {
        at_sentence s;
        at_sentence_init(&s);
        while (at_reader_next(r, &s, &err) == 1)
            ;
        at_sentence_free(&s);
        at_reader_free(r);
    }
    if (fp)
        fclose(fp);
    static const int column[] = {3, 4};
    static const char *const names[] = {"upos", "xpos"};
    at_raw_corpus raw;
    if (at_raw_read(fuzz_file(data, size), column, names, 2, &raw, &err) == 0)
        at_raw_free(&raw);
    return 0;
}
