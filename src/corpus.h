/*
 * corpus.h - labelled CoNLL-U corpora for training and evaluation.
 */
#ifndef ATTNTAG_CORPUS_H
#define ATTNTAG_CORPUS_H

#include "internal.h"

#define AT_NO_TAG UINT32_MAX /* a gold tag the model does not have */

/* As read: token strings and tag strings (interned per tag set). */
typedef struct at_raw_corpus {
    char *path;
    size_t n_tok, cap;
    char **tok;                           /* [n_tok] */
    size_t *line;                         /* [n_tok] line number, for messages */
    uint32_t *tag[AT_MAX_TAGSETS];        /* [n_tok] ids into tags[ts] */
    at_strcount tags[AT_MAX_TAGSETS];
    int n_tagsets;
    size_t n_sent, sent_cap;
    size_t *sent_end;                     /* [n_sent] one past each sentence's last token */
} at_raw_corpus;

/* at_raw_read: the word lines of a CoNLL-U file; column[ts] (0-based) of each
 * tag set. Every word must have a tag in every chosen column. */
int at_raw_read(const char *path, const int *column, const char *const *names, int n_tagsets,
                at_raw_corpus *raw, at_error *err);
void at_raw_free(at_raw_corpus *raw);

/* Featurised for one model: tokens, sentence starts and gold ids. */
typedef struct at_corpus {
    at_feats f;                        /* every token, sentences one after another */
    size_t n_sent;
    size_t *start;                     /* [n_sent + 1] */
    uint32_t *gold[AT_MAX_TAGSETS];    /* [f.n] */
    int n_tagsets;
} at_corpus;

int at_corpus_make(const at_model *m, const at_raw_corpus *raw, at_corpus *c, at_error *err);
void at_corpus_free(at_corpus *c);

/* at_vocab_from_raw: "<unk>" then every normalised key seen at least min_count
 * times, most frequent first (ties bytewise). Caller frees with at_strings_free. */
int at_vocab_from_raw(const at_raw_corpus *raw, int lowercase, int min_count, char ***words,
                      size_t *n, at_error *err);
/* at_tags_from_raw: tag set ts's tags, sorted bytewise (pointers into raw). */
int at_tags_from_raw(const at_raw_corpus *raw, int ts, const char ***tags, size_t *n,
                     at_error *err);
void at_strings_free(char **s, size_t n);

/* at_lexicon_read: "word<TAB>bits" lines (bits 1..255); keys normalised as
 * the model's vocabulary is, entries that meet OR-ed together. *n_bits gets
 * the number of bits used (the highest set bit + 1). */
int at_lexicon_read(const char *path, int lowercase, char ***words, uint8_t **bits, size_t *n,
                    int *n_bits, at_error *err);

#endif
