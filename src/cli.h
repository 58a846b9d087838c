/*
 * cli.h - the command-line front end: each subcommand parses its options and
 * calls the library. Exit status: 0 success, 1 usage error, 2 bad input or model.
 */
#ifndef ATTNTAG_CLI_H
#define ATTNTAG_CLI_H

#include "attntag.h"

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_DATA = 2 };

int cli_tag(int argc, char **argv);
int cli_convert(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_calibrate(int argc, char **argv);
int cli_explain(int argc, char **argv);

/* cli_usage_error: print "attntag: msg" and a pointer to --help; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cli_fail: print "attntag: <error>"; returns the exit status its kind calls
 * for: EXIT_USAGE for a usage error, else EXIT_DATA. */
int cli_fail(const at_error *err);
/* cli_default_threads: one per core the process may run on (at most
 * AT_MAX_THREADS); cli_threads: a --threads value, or -1 if not 1 to AT_MAX_THREADS. */
int cli_default_threads(void);
int cli_threads(const char *arg);
/* cli_tagsets: the tag sets to score against a gold CoNLL-U file: LIST as
 * NAME:COLUMN pairs (1-based columns 3 to 10), or when LIST is NULL the
 * config's upos (column 4) and xpos (column 5). names and cols (0-based)
 * get *n entries; -1 (and a usage error printed) when LIST is malformed. */
int cli_tagsets(const char *cmd, const char *list, const at_config *cfg,
                char names[][AT_MAX_NAME], int *cols, int *n);
/* cli_input_format: an --input value (lines, vertical, conllu, raw) into
 * *out; EXIT_USAGE, with a usage error printed, when it is none of them. */
int cli_input_format(const char *cmd, const char *arg, at_input_format *out);
/* cli_output_format: a --format value (wordtag, tsv, conllu, json), likewise. */
int cli_output_format(const char *cmd, const char *arg, at_output_format *out);
/* cli_load_model: -m PATH, else $ATTNTAG_MODEL, else the bundled model. */
int cli_load_model(const char *path, at_model **m, at_error *err);

#endif
