/* fuzz_json_model.c - the JSON model loader, then a short sentence tagged with
 * whatever model it accepted (a valid header with hostile weights). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_model(data, size, AT_FILE_JSON);
    return 0;
}
