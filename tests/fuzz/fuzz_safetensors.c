/* fuzz_safetensors.c - the binary model loader, then a short sentence tagged
 * with whatever model it accepted (a valid header with hostile weights). */
#include "attntag.h"
#include "fuzz.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    at_error err;
    at_model *m;
    if (at_model_load(fuzz_file(data, size), AT_FILE_SAFETENSORS, &m, &err))
        return 0;
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
    return 0;
}
