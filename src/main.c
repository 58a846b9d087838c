/*
 * main.c - attntag's entry point: picks the subcommand. Tagging is the
 * default, so `attntag < text` works.
 */
#include "cli.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("Usage: attntag [tag] [OPTION]... [FILE]...   tag text (the default)\n"
          "       attntag convert [OPTION]... IN OUT    convert a model file\n"
          "       attntag info MODEL                    describe a model\n"
          "       attntag train --train F --dev F -o M  train a model on CoNLL-U\n"
          "       attntag eval [-m MODEL] GOLD.conllu   score a model (or --pred) on gold tags\n"
          "       attntag calibrate --dev F -o M        fit the model's probabilities on F\n"
          "       attntag explain [-m MODEL] [FILE]     attention heat maps (HTML, SVG, JSON)\n"
          "\n"
          "Part-of-speech tagging with stacked multi-head self-attention.\n"
          "'attntag COMMAND --help' describes each command; man attntag has it all.\n"
          "\n"
          "  -h, --help     show this help\n"
          "  -V, --version  show the version\n",
          out);
}

static int run(int argc, char **argv)
{
    if (argc >= 2) {
        const char *cmd = argv[1];
        if (strcmp(cmd, "tag") == 0)
            return cli_tag(argc - 1, argv + 1);
        if (strcmp(cmd, "convert") == 0)
            return cli_convert(argc - 1, argv + 1);
        if (strcmp(cmd, "info") == 0)
            return cli_info(argc - 1, argv + 1);
        if (strcmp(cmd, "train") == 0)
            return cli_train(argc - 1, argv + 1);
        if (strcmp(cmd, "eval") == 0)
            return cli_eval(argc - 1, argv + 1);
        if (strcmp(cmd, "calibrate") == 0)
            return cli_calibrate(argc - 1, argv + 1);
        if (strcmp(cmd, "explain") == 0)
            return cli_explain(argc - 1, argv + 1);
        if (strcmp(cmd, "help") == 0) {
            usage(stdout);
            return EXIT_OK;
        }
        if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
            printf("attntag %s\n", ATTNTAG_VERSION);
            return EXIT_OK;
        }
        if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
            usage(stdout);
            fputs("\n", stdout);
            return cli_tag(argc, argv);
        }
    }
    return cli_tag(argc, argv);
}

/* Whatever a command printed is checked once more when it ends: output to a
 * full disk or device must not end in a silent success. */
int main(int argc, char **argv)
{
    /* Help and reports of any length then reach the device in one write, here
     * at the end, where a failure is still told with its reason (a write
     * that fails inside fputs leaves ferror set but errno lost). */
    static char outbuf[1 << 16];
    if (!isatty(STDOUT_FILENO)) /* a terminal keeps its line buffering */
        setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    int rc = run(argc, argv);
    errno = 0;
    if ((fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) && rc == 0) {
        fprintf(stderr, "attntag: write error on standard output%s%s\n", errno ? ": " : "",
                errno ? strerror(errno) : "");
        return EXIT_DATA;
    }
    return rc; /* a command that failed has said why */
}
