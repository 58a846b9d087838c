/*
 * cli_convert.c - `attntag convert IN OUT`: safetensors <-> JSON. The output
 * format follows OUT's extension (.json = JSON) unless --to says otherwise.
 * An int8 model's safetensors OUT gets 8-bit packs made from its weights
 * (at_safetensors_save), whatever IN had.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static void convert_help(void)
{
    fputs("Usage: attntag convert [OPTION]... IN OUT\n"
          "Convert the model IN to OUT. Either may be a binary (safetensors) or a JSON\n"
          "model; IN's format is detected, OUT's follows its extension (.json is JSON).\n"
          "Every weight is kept bit for bit (unless --f16 rounds it).\n"
          "\n"
          "      --to FORMAT   write 'safetensors' or 'json' whatever OUT is called\n"
          "      --f16         store the weights as 16-bit floats (half the size)\n"
          "      --int8        mark the model to be run in 8-bit integers: the blocks'\n"
          "                    and classifiers' matrix products, with weights rounded\n"
          "                    per output (products about 2.5 times as fast on the\n"
          "                    avx512 and plain kernel paths, a little on avx2; tags\n"
          "                    nearly all the same); a safetensors OUT stores them\n"
          "                    rounded, packed as tagging reads them, for a quicker\n"
          "                    start-up\n"
          "      --no-int8     run it in 32-bit floats again\n"
          "  -h, --help        show this help\n",
          stdout);
}

int cli_convert(int argc, char **argv)
{
    static const struct option opts[] = {{"to", required_argument, NULL, 'T'},
                                         {"f16", no_argument, NULL, 'F'},
                                         {"int8", no_argument, NULL, 'I'},
                                         {"no-int8", no_argument, NULL, 'N'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    at_file_format to = AT_FILE_AUTO;
    int c, f16 = 0, int8 = -1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            convert_help();
            return EXIT_OK;
        }
        if (c == 'F')
            f16 = 1;
        else if (c == 'I' || c == 'N')
            int8 = c == 'I';
        else if (c == 'T' && !strcmp(optarg, "json"))
            to = AT_FILE_JSON;
        else if (c == 'T' && !strcmp(optarg, "safetensors"))
            to = AT_FILE_SAFETENSORS;
        else if (c == 'T')
            return cli_usage_error("convert ", "--to: expected safetensors or json, got '%s'",
                                   optarg);
        else
            return cli_usage_error("convert ", "invalid option");
    }
    if (argc - optind != 2)
        return cli_usage_error("convert ", "convert takes two files, IN and OUT");
    at_error err;
    at_model *m;
    if (at_outfile_check(argv[optind + 1], &err) ||
        at_model_load(argv[optind], AT_FILE_AUTO, &m, &err))
        return cli_fail(&err);
    int rc = (f16 && at_model_to_f16(m, &err)) || (int8 >= 0 && at_model_set_int8(m, int8, &err)) ||
             at_model_save(m, argv[optind + 1], to, &err);
    at_model_free(m);
    return rc ? cli_fail(&err) : EXIT_OK;
}
