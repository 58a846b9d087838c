/*
 * cli_files.h - the files of `attntag tag`'s batch mode: the list of inputs (from
 * the command line, directories walked with -r, or --files-from), the output
 * path of each, and the progress line.
 */
#ifndef ATTNTAG_CLI_FILES_H
#define ATTNTAG_CLI_FILES_H

#include "attntag.h"

typedef struct file_entry {
    char *path;
    char *name;      /* its output's name under the output directory: a file's base
                        name, or under a directory walked with -r that directory's
                        name, then the path below it (as cp -r names copies) */
    long long size;  /* bytes, for the progress line's ETA; -1 if unknown */
    char *error;     /* why it cannot be tagged (a directory without -r...), or NULL */
} file_entry;

typedef struct file_list {
    file_entry *f;
    size_t n, cap;
    long long bytes; /* total of the known sizes */
    int skip_dir;    /* a directory that walks leave out (the output directory) */
    unsigned long long skip_dev, skip_ino;
} file_list;

/* file_list_skip: walks with -r leave dir out, if it exists: outputs of an
 * earlier run are not inputs. */
void file_list_skip(file_list *l, const char *dir);

/* file_list_add: path as named on the command line or in a list: a file,
 * or with recursive a directory whose files (sorted by name, at any depth)
 * are added. A path that cannot be used is added with its error. */
int file_list_add(file_list *l, const char *path, int recursive, at_error *err);
/* file_list_read: the paths of a list file ("-": standard input), one per
 * line, or separated by NUL bytes when nul. */
int file_list_read(file_list *l, const char *list, int nul, int recursive, at_error *err);
void file_list_free(file_list *l);

/* file_list_same_outputs: two files of l that would get the same output name
 * under an output directory, refused before any work: -1 naming both. */
int file_list_same_outputs(const file_list *l, const char *suffix, at_error *err);

/* file_output: where the output of f goes: outdir/f's name + suffix or,
 * without outdir, f's path + suffix beside it. Parent directories under
 * outdir are made. Refuses an output that is the input. malloc'd. */
char *file_output(const file_entry *f, const char *outdir, const char *suffix, at_error *err);

/* The progress line on standard error (a terminal only), at most five times
 * a second, and the summary at the end. */
typedef struct files_progress {
    int tty;
    double t0, last;
    size_t files, total_files, failed, skipped;
    long long tokens, bytes, total_bytes;
} files_progress;
void files_progress_start(files_progress *p, const file_list *l);
void files_progress_show(files_progress *p, int force);
void files_progress_end(files_progress *p);

#endif
