/* fuzz_train_config.c - the JSON of `attntag train --config` (the settings a
 * training run takes by name) and the model config JSON in every model file.
 * Training itself is not reached: no corpora are given. */
#include "attntag.h"
#include "cli.h"
#include "fuzz.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    at_config c;
    at_error err;
    at_config_from_json(&c, (const char *)data, size, &err);
    char *argv[] = {"train", "--config", (char *)fuzz_file(data, size), NULL};
    cli_train(3, argv);
    return 0;
}
