/*
 * cli_info.c - `attntag info MODEL`: what a model is, in words a person can
 * check: config, tag sets, vocabulary, parameters and checksums.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int file_crc(const char *path, uint32_t *crc, size_t *size, at_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return at_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    unsigned char buf[1 << 16];
    size_t n;
    *crc = 0;
    *size = 0;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0) {
        *crc = at_crc32(*crc, buf, n);
        *size += n;
    }
    int bad = ferror(fp);
    fclose(fp);
    return bad ? at_error_set(err, "%s: read error", path) : 0;
}

int cli_info(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs("Usage: attntag info [MODEL]\n"
              "Describe MODEL (default: the model attntag would use): configuration, tag\n"
              "sets, vocabulary and lexicon size, parameter count and checksums.\n",
              stdout);
        return EXIT_OK;
    }
    if (argc > 2)
        return cli_usage_error("info ", "info takes one model file");
    at_error err;
    at_model *m;
    if (cli_load_model(argc == 2 ? argv[1] : NULL, &m, &err))
        return cli_fail(&err);
    const at_config *c = at_model_config(m);
    char *cfg = at_config_to_json(c);
    cJSON *pretty = cfg ? cJSON_Parse(cfg) : NULL;
    char *cfg_text = pretty ? cJSON_Print(pretty) : NULL;
    printf("config: %s\n", cfg_text ? cfg_text : "?");
    static const struct { const char *name, *what; } figs[] = {
        {"fc", "A, fully-connected layers on each token alone"},
        {"window", "B, fully-connected layers over a window of neighbours"},
        {"attn", "C, one self-attention layer, then a fully-connected layer"},
        {"stacked", "D, self-attention and fully-connected layers alternating"},
        {"mixed", "blocks of different kinds (self-attention, window FC, none)"},
    };
    const char *fig = at_config_figure(c);
    for (size_t i = 0; i < sizeof figs / sizeof *figs; i++)
        if (strcmp(fig, figs[i].name) == 0)
            printf("figure: %s (%s; %d block%s)\n", fig, figs[i].what, c->layers,
                   c->layers == 1 ? "" : "s");
    free(cfg_text);
    cJSON_Delete(pretty);
    free(cfg);
    for (int t = 0; t < c->n_tagsets; t++) {
        printf("tagset %s (%zu tags):", c->tagset[t], at_model_n_tags(m, t));
        for (size_t i = 0; i < at_model_n_tags(m, t); i++)
            printf(" %s", at_model_tag(m, t, i));
        putchar('\n');
    }
    printf("vocabulary: %zu words\n", at_model_vocab_size(m));
    printf("lexicon: %zu words\n", at_model_lexicon_size(m));
    printf("parameters: %zu\n", at_model_param_count(m));
    printf("weights checksum: %08x (CRC-32)\n", at_model_checksum(m));
    printf("numbers: %s%s\n",
           c->int8 ? "8-bit integer products in the blocks and classifiers (int8)"
                   : "32-bit floats",
           !c->int8 ? "" : at_model_int8_stored(m) ? ", weights stored rounded and packed"
                                                   : ", weights rounded when loaded");
    int n_paths = 0;
    while (at_kernels_path(n_paths))
        n_paths++;
    printf("kernels: %s (this processor runs:", at_kernels_name());
    for (int i = n_paths - 1; i >= 0; i--)
        if (at_kernels_available(at_kernels_path(i)))
            printf(" %s", at_kernels_path(i));
    printf(")\n");
    const char *path = argc == 2 ? argv[1] : NULL;
    uint32_t crc;
    size_t size;
    if (path && file_crc(path, &crc, &size, &err) == 0)
        printf("file: %zu bytes, CRC-32 %08x\n", size, crc);
    at_model_free(m);
    return EXIT_OK;
}
