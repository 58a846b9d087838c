/*
 * attntag.h - the public API of libattntag, a part-of-speech tagger built
 * from stacked multi-head self-attention and fully-connected layers.
 *
 * Contract: no global state. A model (at_model) is read-only once loaded and
 * may be shared by any number of threads; each thread owns its own run state
 * (at_state). Every function that can fail returns 0 on success and -1 on
 * failure, filling the caller's at_error with a message that names the file,
 * line or tensor and what was expected. The library never exits the process.
 */
#ifndef ATTNTAG_H
#define ATTNTAG_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ATTNTAG_VERSION "0.1.0"

/* Errors ---------------------------------------------------------------- */

/* What an error is about, for the caller's exit status or recovery: the
 * command line (usage), what was read (input: text, corpora), a model file
 * (model), a file being written (output), or memory. */
typedef enum {
    AT_ERR_INPUT = 0,
    AT_ERR_USAGE,
    AT_ERR_MODEL,
    AT_ERR_OUTPUT,
    AT_ERR_MEMORY
} at_error_kind;

typedef struct at_error {
    char msg[1024];
    size_t sentence; /* at_tag_batch, at_session_tag: 1 + the index of the
                        sentence it could not tag, else 0 */
    at_error_kind kind;
} at_error;

/* at_error_set: printf-style, of kind input; returns -1 so callers can
 * `return at_error_set(...)`. at_error_of: the same of another kind. */
int at_error_set(at_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int at_error_of(at_error *err, at_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* at_error_context: "context: " put before the message (which is cut at
 * its end if the two do not fit), its kind kept; returns -1. */
int at_error_context(at_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Configuration: what a model is made of ---------------------------------- */

enum { AT_MAX_LAYERS = 64, AT_MAX_TAGSETS = 8, AT_MAX_NAME = 32 };

typedef enum { AT_NORM_PRE = 0, AT_NORM_POST = 1 } at_norm;
typedef enum { AT_ACT_RELU = 0, AT_ACT_GELU = 1 } at_activation;
/* What mixes the tokens in a block, before its position-wise FC layer (the
 * lecture's figures): self-attention (C, D), a fully-connected layer over the
 * token and its +-window neighbours (B), or nothing: each token alone (A). */
typedef enum { AT_MIX_ATTENTION = 0, AT_MIX_WINDOW = 1, AT_MIX_NONE = 2 } at_mixer;
/* at_mixer_name: "attention", "window" or "none", as the config names it. */
const char *at_mixer_name(at_mixer k);

typedef struct at_config {
    int dim;                     /* d: width of every token vector */
    int heads;                   /* attention heads; dim % heads == 0 */
    int layers;                  /* attention + FC blocks */
    int ffn_dim;                 /* hidden width of the position-wise FC layer */
    int max_len;                 /* longest chunk run at once; longer sentences are split */
    at_norm norm;                /* pre-LN or post-LN blocks */
    at_activation activation;    /* of the FC layer */
    int window[AT_MAX_LAYERS];   /* per layer: attend to +-window tokens; 0 = whole sentence
                                    (a window mixer: its +-window neighbours, >= 1) */
    at_mixer mixer[AT_MAX_LAYERS]; /* per layer; all AT_MIX_ATTENTION unless said */
    int rel_pos;                 /* clip distance R of the learned relative bias; 0 = off */
    int abs_pos;                 /* 1 = add sinusoidal absolute positions */
    int lowercase;               /* 1 = vocabulary keys are NFKC-casefolded, else NFC */
    int char_buckets;            /* hashed character n-gram buckets; 0 = off */
    int char_dim;                /* width of n-gram embeddings (projected to dim) */
    int ngram_min, ngram_max;    /* n-gram lengths in code points */
    int shape;                   /* 1 = add a word-shape embedding */
    int lexicon_bits;            /* 0..8 bits of per-word lexicon features */
    double ln_eps;               /* layer-norm epsilon (double: its JSON stays as written) */
    int int8;                    /* 1 = tagging runs the blocks' matrix products in 8-bit
                                    integers (weights rounded per output when loaded,
                                    activations per token); training ignores it */
    int n_tagsets;
    char tagset[AT_MAX_TAGSETS][AT_MAX_NAME]; /* output heads, e.g. "upos", "xpos" */
    double temperature[AT_MAX_TAGSETS]; /* per tag set: probabilities are softmax(logits
                                           / T), fitted by `attntag calibrate`; 0 = 1,
                                           not calibrated. Tags do not depend on it. */
} at_config;

/* at_config_default: a small, sensible model (the one `attntag train` starts from). */
void at_config_default(at_config *c);
/* at_config_check: every value in range and mutually consistent. */
int at_config_check(const at_config *c, at_error *err);
/* at_config_figure: which of the lecture's figures the config draws, as
 * `attntag train --arch` names them: "fc" (A), "window" (B), "attn" (C),
 * "stacked" (D), or "mixed" for blocks of different kinds. */
const char *at_config_figure(const at_config *c);
/* at_config_set_figure: make c draw that figure: every block mixes as it
 * says (a window FC of +-1 for "window"; "attn" has one block of global
 * attention, "stacked" at least two blocks, windows kept); other settings
 * stay. */
int at_config_set_figure(at_config *c, const char *figure, at_error *err);
/* at_config_from_json / to_json: the "config" object of a model file. */
int at_config_from_json(at_config *c, const char *json, size_t len, at_error *err);
char *at_config_to_json(const at_config *c); /* malloc'd, NULL on OOM */

/* Output files ------------------------------------------------------------ */

/* Every file attntag writes goes through at_outfile. A regular file, or a path
 * not there yet, is written to a temporary file in the same directory and
 * renamed into place by at_outfile_commit only when complete (an interrupted
 * run leaves no half file under the final name; the new file keeps the old
 * one's mode and, where allowed, owner). A symbolic link is followed and its
 * target replaced so. A device, FIFO or socket is written in place, never
 * renamed over. at_outfile_open fails at once if the path cannot be written
 * (no such directory, not writable, a directory), before any work is done. */
typedef struct at_outfile at_outfile;
int at_outfile_open(const char *path, at_outfile **out, at_error *err);
FILE *at_outfile_stream(at_outfile *o);
/* at_outfile_commit: flush, check every write, rename into place; frees o. */
int at_outfile_commit(at_outfile *o, at_error *err);
/* at_outfile_abort: drop what was written (the temporary is removed); frees o. */
void at_outfile_abort(at_outfile *o);
/* at_outfile_check: whether path can be written: open, then abort. */
int at_outfile_check(const char *path, at_error *err);

/* Models ------------------------------------------------------------------ */

typedef struct at_model at_model;

typedef enum { AT_FILE_AUTO = 0, AT_FILE_SAFETENSORS = 1, AT_FILE_JSON = 2 } at_file_format;

/* at_model_load: a .safetensors file (mmap'ed, weights not copied) or a JSON
 * model; AT_FILE_AUTO decides by the first non-blank byte ('{' = JSON). Every
 * size, offset, shape and value is checked before use. */
int at_model_load(const char *path, at_file_format fmt, at_model **out, at_error *err);
int at_model_save(const at_model *m, const char *path, at_file_format fmt, at_error *err);
void at_model_free(at_model *m);

/* at_model_new: a model with the given config, vocabulary and tag sets and all
 * weights zero (for training or for building a model by hand). vocab[0] must
 * be "<unk>". tags[i] lists n_tags[i] names for config tag set i. */
int at_model_new(const at_config *c, const char *const *vocab, size_t n_vocab,
                 const char *const *const *tags, const size_t *n_tags,
                 at_model **out, at_error *err);
/* Checkpoints: a model file may carry extra F32 tensors named "train.*"
 * (optimizer state) and a JSON note; attntag itself ignores both. */
int at_model_set_extra(at_model *m, const char *name, const float *data, size_t n,
                       at_error *err);
const float *at_model_extra(const at_model *m, const char *name, size_t *n);
int at_model_set_note(at_model *m, const char *json, at_error *err);
const char *at_model_note(const at_model *m);
/* at_model_copy: a writable F32 copy of any model (to train it further). */
int at_model_copy(const at_model *src, at_model **out, at_error *err);
/* at_model_set_lexicon: words (normalised keys) with their feature bits. */
int at_model_set_lexicon(at_model *m, const char *const *words, const uint8_t *bits,
                         size_t n, at_error *err);

/* at_model_to_f16: store every F32 weight as F16 (half the file size); the
 * model then runs with the rounded weights. A model made by at_model_new is
 * read-only afterwards. */
int at_model_to_f16(at_model *m, at_error *err);

const at_config *at_model_config(const at_model *m);
size_t at_model_vocab_size(const at_model *m);
const char *at_model_vocab_word(const at_model *m, size_t i);
size_t at_model_lexicon_size(const at_model *m);
size_t at_model_n_tags(const at_model *m, int tagset);
const char *at_model_tag(const at_model *m, int tagset, size_t i);
int at_model_tagset_index(const at_model *m, const char *name); /* -1 if absent */
size_t at_model_param_count(const at_model *m);
uint32_t at_model_checksum(const at_model *m); /* CRC-32 of all tensor data, in name order */

/* Tensors, by name (see docs/model-format.md for the names). */
typedef enum { AT_F32 = 0, AT_F16 = 1, AT_U8 = 2, AT_I8 = 3 } at_dtype;
typedef struct at_tensor_info {
    const char *name;
    at_dtype dtype;
    int ndim;
    size_t shape[4];
} at_tensor_info;
size_t at_model_n_tensors(const at_model *m);
int at_model_tensor_info(const at_model *m, size_t i, at_tensor_info *out);
/* at_model_zero: every weight of a model made by at_model_new set to 0 (a
 * gradient accumulator's reset). */
void at_model_zero(at_model *m);
/* at_model_tensor_data: the float values of a tensor (NULL if absent, or for a
 * 16-bit embedding table or block matrix of a loaded model, which are widened
 * only where they are used); n gets the count. */
const float *at_model_tensor_data(const at_model *m, const char *name, size_t *n);
/* at_model_tensor_f32: writable float data of a model made by at_model_new
 * (NULL for a loaded model or an absent name); n gets the element count. */
float *at_model_tensor_f32(at_model *m, const char *name, size_t *n);
/* at_model_set_int8: turn the config's int8 on or off (see at_config). */
int at_model_set_int8(at_model *m, int on, at_error *err);
/* at_model_int8_stored: 1 when the model's 8-bit weights are read from its
 * file, packed, instead of being rounded from its weights when first used
 * (an int8 model saved by this version; 0 again once the weights change). */
int at_model_int8_stored(const at_model *m);
/* at_model_set_temperature: the temperature of tag set ts (0: none; else
 * 0.01 to 100), applied to the probabilities from then on. */
int at_model_set_temperature(at_model *m, int ts, double temp, at_error *err);

/* Calibration (calibrate.c) ------------------------------------------------ */

/* at_fit_temperature: the T from 0.01 to 100 that minimises the mean negative
 * log-likelihood of gold[i] under softmax(z[i] / T), z [n, k] logits or
 * log-probabilities (the same up to a constant per row); rows whose gold is
 * k or more are left out. *nll1 and *nll_t: that mean at T = 1 and at T. */
int at_fit_temperature(const float *z, const uint32_t *gold, size_t n, size_t k, double *temp,
                       double *nll1, double *nll_t, at_error *err);
/* How often tags are right against their probability, in AT_CAL_BINS
 * equal-width bins of the probability (zero-initialise). */
enum { AT_CAL_BINS = 10 };
typedef struct at_reliability {
    size_t count[AT_CAL_BINS], correct[AT_CAL_BINS];
    double prob[AT_CAL_BINS]; /* sum of the probabilities in the bin */
} at_reliability;
void at_reliability_add(at_reliability *r, double prob, int correct);
/* at_reliability_error: the expected calibration error, sum over bins of
 * |right - sum of probabilities| / all (0 to 1). */
double at_reliability_error(const at_reliability *r);
/* at_model_changed: say that weights were written through such pointers since
 * the last forward pass, which reads them in a packed copy made again on the
 * next pass. Not while a forward pass runs on the model. */
void at_model_changed(at_model *m);

/* Token features: what the network sees of each token --------------------- */

typedef struct at_feats {
    size_t n, cap;           /* tokens */
    uint32_t *word;          /* [n] vocabulary id, 0 = unknown */
    uint8_t *shape;          /* [n] word-shape class */
    uint8_t *lex;            /* [n] lexicon bits */
    uint32_t *ng_off;        /* [n+1] token i's n-grams are ng[ng_off[i] .. ng_off[i+1]) */
    uint32_t *ng;            /* hashed n-gram bucket ids */
    size_t ng_cap;
    struct at_feats_cache *cache; /* private: the features of recent short words */
} at_feats;

enum { AT_N_SHAPES = 10 };

void at_feats_init(at_feats *f);
void at_feats_clear(at_feats *f);   /* keeps capacity */
void at_feats_free(at_feats *f);
/* at_feats_add: append one token (valid UTF-8, no NUL) to f. */
int at_feats_add(const at_model *m, at_feats *f, const char *token, size_t len, at_error *err);
/* Tokens longer than this many bytes are unknown words whose n-grams come
 * from their first AT_MAX_KEY bytes: their cost is bounded. */
#define AT_MAX_KEY 1024
/* at_word_shape: the shape class of a token (valid UTF-8). */
int at_word_shape(const char *token, size_t len);
/* at_normalize: NFC (or NFKC-casefold if lowercase) of valid UTF-8; malloc'd. */
char *at_normalize(const char *s, size_t len, int lowercase, at_error *err);
/* at_fnv1a: the n-gram hash (FNV-1a, 32 bits) over UTF-8 bytes. */
uint32_t at_fnv1a(const char *s, size_t len);
/* at_utf8_check: 0 if s[0..len) is valid UTF-8 without NUL bytes, else -1 and
 * *bad_off gets the byte offset of the first bad sequence. */
int at_utf8_check(const char *s, size_t len, size_t *bad_off);

/* Running the network ----------------------------------------------------- */

typedef struct at_state at_state;

/* The most memory a run state may take: a model asking for more (a long
 * max_len with many heads and layers) is refused by at_state_new. */
#define AT_STATE_MAX_MB 512
/* at_state_new: buffers for sentences of up to max_len tokens, allocated once. */
int at_state_new(const at_model *m, at_state **out, at_error *err);
/* at_state_new_batch: buffers for batches of up to `tokens` tokens (at least
 * max_len), for at_tag_batch: the weights are read once per batch instead of
 * once per sentence. */
int at_state_new_batch(const at_model *m, size_t tokens, at_state **out, at_error *err);
void at_state_free(at_state *s);

/* at_forward: run the network over tokens [0, n) of f, n <= max_len.
 * Afterwards at_state_logits / at_state_attention give the results. This is
 * the one forward pass: tagging and training both call it. */
int at_forward(const at_model *m, at_state *s, const at_feats *f, size_t start, size_t n,
               at_error *err);
/* at_state_logits: [n, n_tags] scores of tag set ts from the last forward. */
const float *at_state_logits(const at_state *s, int ts);
/* at_state_attention: [heads, n, n] attention weights of layer l from the last
 * forward, for its first chunk of n tokens (at_forward runs one chunk). */
const float *at_state_attention(const at_state *s, int layer);

/* at_tag: tag a whole sentence of any length (past max_len, split into
 * overlapping chunks of 32 tokens; see tag.c). tags[ts][i] gets the best tag
 * of token i for each tag set; probs[ts], when not NULL, gets [n, n_tags]
 * softmax probabilities. Arrays are the caller's, sized for n tokens. */
int at_tag(const at_model *m, at_state *s, const at_feats *f,
           uint32_t *const *tags, float *const *probs, at_error *err);
/* at_tag_batch: tag n_sent sentences at once: sentence i is tokens
 * [sent[i], sent[i+1]) of f (sent has n_sent + 1 entries); tags and probs as
 * for at_tag, indexed by token of f. Each sentence gets the same tags and
 * probabilities, to the bit, as at_tag gives it alone. A sentence whose
 * scores are not finite numbers (weights that overflow 32-bit floats) is an
 * error, with err->sentence = 1 + its index. */
int at_tag_batch(const at_model *m, at_state *s, const at_feats *f, const size_t *sent,
                 size_t n_sent, uint32_t *const *tags, float *const *probs, at_error *err);

/* Explaining: the attention heat maps (explain.c) ---------------------------- */

typedef enum { AT_EXPLAIN_HTML = 0, AT_EXPLAIN_SVG, AT_EXPLAIN_JSON } at_explain_format;
typedef struct at_explainer at_explainer;
struct at_sentence;
/* at_explain_new: start a document on fp about model m (title names it):
 * an HTML page (inline SVG, no scripts), one SVG picture, or JSON Lines. */
int at_explain_new(const at_model *m, FILE *fp, at_explain_format fmt, const char *title,
                   at_explainer **out, at_error *err);
/* at_explain_layer: draw only layer `layer` (from 1); -1 if there is none. */
int at_explain_layer(at_explainer *x, int layer, at_error *err);
/* at_explain_add: tag one sentence (at most max_len tokens) and draw, for
 * every layer and head, its attention weights (at_state_attention), or for a
 * block without attention the receptive field it fixes; JSON: one object
 * with tokens, tags, probabilities and the weights [heads][n][n] per layer. */
int at_explain_add(at_explainer *x, const struct at_sentence *s, at_error *err);
/* at_explain_finish: end the document and free x (an SVG needs a sentence). */
int at_explain_finish(at_explainer *x, at_error *err);
void at_explain_free(at_explainer *x);

/* The kernels' instruction-set path: "plain" (portable C, the reference),
 * "avx2", "avx512" (x86-64), "neon", "neondot" (ARM64, the latter with the
 * dot-product instructions). Every kernel with a form per instruction set
 * (matrix products, 8-bit products, quantising, layer norm, GELU, softmax,
 * attention, 16-bit floats) runs the chosen path's. The best the processor
 * has is chosen at first use, or the one the environment variable
 * ATTNTAG_KERNELS names if the processor has it. The 8-bit products give
 * the same integers on every path; the float arithmetic around them differs
 * at most in the last bits (vector widths differ, and paths with fused
 * multiply-add use it), so nearly always in no tag. */
const char *at_kernels_name(void);
int at_kernels_available(const char *name);
/* at_kernels_path: the name of path i of those built in, from the reference
 * to the fastest, or NULL past the last. */
const char *at_kernels_path(int i);
/* at_kernels_use: switch path (0), or -1 when the processor lacks it. Meant
 * for tests and comparisons, between runs of the network: a call made while
 * other threads run it is safe, but those threads may use either path. */
int at_kernels_use(const char *name);

/* Training ---------------------------------------------------------------- */

/* at_state_set_training: turn dropout on (probabilities of zeroing the input
 * vectors, the attention weights, and each sub-layer's output before its
 * residual sum; 0 = off) and make the buffers the backward pass needs. */
int at_state_set_training(at_state *s, float p_emb, float p_att, float p_res, at_error *err);
/* at_state_seed: the dropout stream of the next forward passes. */
void at_state_seed(at_state *s, uint64_t seed);
/* at_backward: after at_forward on tokens [start, start+n), given
 * dlogits[ts] = dLoss/dlogits [n, n_tags] for every tag set, ADD dLoss/dW for
 * every weight into the matching tensor of grads (a model made by
 * at_model_new with the same config, vocabulary and tag sets). */
int at_backward(const at_model *m, at_state *s, const at_feats *f, size_t start,
                const float *const *dlogits, at_model *grads, at_error *err);

/* at_train: train a model from a CoNLL-U corpus (train.c). */
typedef struct at_train_progress {
    int epoch, epochs;         /* 1-based */
    size_t batch, batches;     /* within the epoch, 1-based */
    long step;                 /* optimiser steps so far */
    double loss;               /* mean training loss of the epoch so far */
    double tokens_per_s;       /* training throughput of the epoch so far */
    double seconds;            /* since this run started */
    double eta;                /* seconds left, estimated (for the epochs left) */
    int epoch_done;            /* 1 at the end of an epoch: dev figures are set */
    int n_tagsets;
    double dev_acc[AT_MAX_TAGSETS];   /* token accuracy on dev, per tag set */
    double dev_unk_acc;        /* first tag set, words not in the vocabulary */
    int improved;              /* best mean dev accuracy so far (model written) */
} at_train_progress;

typedef struct at_train_opts {
    const char *train_path, *dev_path, *out_path;
    const char *log_path;         /* JSON Lines learning curve, or NULL */
    const char *checkpoint_path;  /* NULL: OUT.ckpt */
    const char *resume_path;      /* continue from this checkpoint, or NULL */
    const char *lexicon_path;     /* "word<TAB>bits" lines carried into the model, or NULL */
    int column[AT_MAX_TAGSETS];   /* CoNLL-U column (0-based) of each config tag set */
    int epochs, patience, batch_tokens, threads, min_count, f16;
    double lr, warmup, weight_decay, clip, label_smoothing, ema;
    float drop_emb, drop_att, drop_res, word_dropout;
    uint64_t seed;
    /* set by a signal handler: 1 = checkpoint and stop soon, 2 = stop now */
    const volatile sig_atomic_t *stop;
    void (*progress)(const at_train_progress *p, void *ctx);
    void *ctx;
} at_train_opts;

void at_train_opts_default(at_train_opts *o);
/* at_train: returns 0 when training ended (epochs done or no more progress on
 * dev), 1 when *stop asked it to stop (a checkpoint was written), -1 on error. */
int at_train(const at_config *cfg, const at_train_opts *o, at_error *err);

/* Evaluation (eval.c): predicted tags scored against gold ones. ------------ */

typedef struct at_eval at_eval;
typedef struct at_eval_result {
    const char *name;
    size_t tokens, sentences, known_tokens, unknown_tokens, n_tags;
    double accuracy, sentence_accuracy, known_accuracy, unknown_accuracy;
} at_eval_result;

at_eval *at_eval_new(int n_tagsets, const char *const *names); /* NULL on OOM */
void at_eval_free(at_eval *e);
/* at_eval_add: one token of tag set ts; known = the word is in the vocabulary. */
int at_eval_add(at_eval *e, int ts, const char *gold, const char *pred, int known,
                at_error *err);
void at_eval_end_sentence(at_eval *e);
int at_eval_get(const at_eval *e, int ts, at_eval_result *r);

/* Tags are numbered in order of first appearance; NULL past the last. */
const char *at_eval_tag(const at_eval *e, int ts, size_t i);
size_t at_eval_count(const at_eval *e, int ts, size_t gold, size_t pred);
void at_eval_tag_scores(const at_eval *e, int ts, size_t tag, double *precision, double *recall,
                        double *f1, size_t *support);

/* Reading and writing text (see man/attntag.1 for the formats) ------------ */

/* AT_IN_RAW: running text, a blank line ends a paragraph and a sentence may
 * go on across a line break; AT_IN_RAW_LINES: running text whose every line
 * is one or more whole sentences (never joined with the next line). */
typedef enum {
    AT_IN_LINES = 0, AT_IN_VERTICAL, AT_IN_CONLLU, AT_IN_RAW, AT_IN_RAW_LINES
} at_input_format;
typedef enum { AT_OUT_WORDTAG = 0, AT_OUT_TSV, AT_OUT_CONLLU, AT_OUT_JSON } at_output_format;

/* One sentence as read: the tokens to tag, plus (for CoNLL-U) every line of
 * the block so that output can reproduce the input byte for byte. */
typedef struct at_sentence {
    size_t n, cap;
    char **tok;          /* [n] token strings (NUL-terminated, valid UTF-8) */
    size_t *tok_len;     /* [n] */
    size_t first_line;   /* 1-based line number where the sentence starts */
    int cont;            /* lines input: a piece of a line longer than AT_MAX_LINE,
                          * which the next sentence goes on with */
    /* CoNLL-U only: */
    size_t n_lines, lines_cap;
    char **line;         /* every line of the block, without its newline */
    long *line_tok;      /* [n_lines] token index of a word line, -1 otherwise */
    char **col;          /* [n_lines][AT_CONLLU_COLS]: at_sentence_fields */
    /* Raw text only (else text_len 0): the sentence's text, line breaks and
     * tabs made spaces, and where each token starts in it */
    char *text;
    size_t text_len, text_cap;
    size_t *tok_off;     /* [n] */
    size_t off_cap;
    size_t number;       /* the sentence's place in its input, from 1 */
} at_sentence;

void at_sentence_init(at_sentence *s);
void at_sentence_clear(at_sentence *s); /* empty, keeping capacity */
void at_sentence_free(at_sentence *s);
int at_sentence_add_token(at_sentence *s, const char *tok, size_t len, at_error *err);
/* at_sentence_fields: the ten fields of CoNLL-U line l (ID, FORM, LEMMA,
 * UPOS, XPOS, ...) as the reader checked them, or NULL for a comment line:
 * the one way to read a gold sentence's words. Valid until s changes. */
const char *const *at_sentence_fields(const at_sentence *s, size_t l);

/* CoNLL-U lines (conllu.c) */
enum { AT_CONLLU_COLS = 10 };
typedef enum { AT_ID_WORD = 0, AT_ID_RANGE, AT_ID_EMPTY, AT_ID_BAD } at_conllu_id;
/* at_conllu_split: point col[0..9] at the tab-separated fields of line (tabs
 * become NULs); returns the number of fields found (10 for a valid line). */
int at_conllu_split(char *line, char **col);
at_conllu_id at_conllu_id_kind(const char *id);

typedef struct at_reader at_reader;
/* at_reader_new: reads sentences from fp (not closed); name is used in messages. */
int at_reader_new(FILE *fp, const char *name, at_input_format fmt, at_reader **out, at_error *err);
/* at_reader_next: 1 = a sentence was read, 0 = end of input, -1 = error. */
int at_reader_next(at_reader *r, at_sentence *s, at_error *err);
/* A line of lines input longer than this many bytes is read in pieces, cut
 * at white space, each tagged as a sentence (s->cont set on all but the
 * last), so that any line takes bounded memory. */
#define AT_MAX_LINE (1 << 16)
/* at_reader_long_lines: how many lines were read in pieces so far. */
size_t at_reader_long_lines(const at_reader *r);
void at_reader_free(at_reader *r);

/* Raw text tokenisation: sentence splitting and UD/Penn-style tokens. */
typedef struct at_span { size_t start, len; } at_span;
typedef struct at_tokens {
    size_t n, cap;
    at_span *tok;        /* byte spans into the text */
    size_t n_sent, sent_cap;
    size_t *sent_end;    /* [n_sent] index one past each sentence's last token */
} at_tokens;
void at_tokens_init(at_tokens *t);
void at_tokens_free(at_tokens *t);
/* at_tokenize: split valid UTF-8 text into tokens and sentences (appends to t). */
int at_tokenize(const char *text, size_t len, at_tokens *t, at_error *err);
/* at_tokenize_text: running text as `attntag --tokenize` reads it: a line
 * of nothing but white space ends a paragraph, and each paragraph is
 * at_tokenize'd (no sentence goes on across one); spans are offsets into
 * text. Appends to t; on failure t is as it was. */
int at_tokenize_text(const char *text, size_t len, at_tokens *t, at_error *err);
/* at_line_space: the white space that separates tokens on a line (space,
 * tab, vertical tab, form feed, carriage return); at_line_blank: a line of
 * nothing else. */
int at_line_space(char c);
int at_line_blank(const char *line, size_t len);
/* at_clitic: b, written right after a, is a clitic at_tokenize split from it
 * (n't; an apostrophe, ' or U+2019, and letters: 's 'm 're 'll 've 'd; or
 * can|not, gon|na, wan|na, got|ta of one word): UD English writes the two as
 * one multiword token. */
int at_clitic(const char *a, size_t alen, const char *b, size_t blen);

/* Scoring from running text (eval_raw.c). */
typedef struct at_raw_count {
    size_t gold, pred, matched; /* matched: the same character span (and tag) */
} at_raw_count;
typedef struct at_raw_scores {
    at_raw_count tokens, sentences, words;
    int n_tagsets;
    at_raw_count tags[AT_MAX_TAGSETS]; /* words whose span and tag both match */
    size_t chars;                      /* of the running text */
} at_raw_scores;
/* at_eval_raw: the running text of the gold CoNLL-U in fp (each sentence's
 * # text, or its tokens and SpaceAfter=No; a paragraph's sentences joined by
 * a space, or one per line when split is AT_IN_RAW_LINES; a blank line where
 * # newpar or # newdoc begins one) tokenized, split and tagged by m, against
 * the gold tokens, sentences, words and the tags of model tag sets
 * model_ts[0..n) (gold columns gold_col, 0-based), aligned by character
 * offsets as the CoNLL 2018 shared task's evaluation does. */
int at_eval_raw(const at_model *m, FILE *fp, const char *name, const int *model_ts,
                const int *gold_col, int n, at_input_format split, at_raw_scores *out,
                at_error *err);

typedef struct at_write_opts {
    at_output_format format;
    int n_sel;                       /* tag sets to print, in order */
    int sel[AT_MAX_TAGSETS];
    int probs;                       /* json: probability of each chosen tag */
    int top;                         /* json: the K best tags with probabilities (0 = off) */
    double min_prob;                 /* > 0: mark each token whose chosen tag, in any tag
                                        set printed, has a lower probability (for review) */
} at_write_opts;

/* at_write_sentence: print one tagged sentence. tags/probs as filled by at_tag. */
int at_write_sentence(FILE *out, const at_model *m, const at_write_opts *o,
                      const at_sentence *s, uint32_t *const *tags, float *const *probs,
                      at_error *err);

/* Tagging a stream on many threads (pipeline.c) ------------------------------ */

/* Sentences are read in batches of about this many tokens. */
#define AT_BATCH_TOKENS 256
#define AT_MAX_THREADS 256

typedef struct at_tagger_opts {
    at_input_format in;
    at_write_opts wo;
    int threads;          /* 1 to AT_MAX_THREADS: batches tagged at once */
    int line_buffered;    /* each sentence tagged and written (flushed) as soon as read */
    /* each (or NULL): given each sentence with its tags and (wo.probs)
     * probabilities, in input order on the calling thread, instead of
     * writing it; tags[k] and probs[k] are tag set k's, token after token.
     * A non-zero return stops the run with its err. */
    int (*each)(void *ctx, const at_sentence *s, uint32_t *const *tags, float *const *probs,
                at_error *err);
    void *ctx;
} at_tagger_opts;

/* at_tagger: the run states and buffers of one stream, reused from stream to
 * stream; the model is shared, read only, by its threads (and by other
 * taggers: a model serves any number of threads). */
typedef struct at_tagger at_tagger;
int at_tagger_new(const at_model *m, const at_tagger_opts *o, at_tagger **out, at_error *err);
/* at_tagger_run: read in (named name in messages) to its end, tag, and write
 * to out (or give to each) in input order: the same bytes for any number of
 * threads. On a bad sentence, the ones before it are written and -1 is
 * returned with err. *tokens grows by the tokens written. */
int at_tagger_run(at_tagger *t, FILE *in, const char *name, FILE *out, long long *tokens,
                  at_error *err);
/* at_tagger_long_lines: lines of the last stream longer than AT_MAX_LINE,
 * tagged in pieces. */
size_t at_tagger_long_lines(const at_tagger *t);
void at_tagger_free(at_tagger *t);

/* Tagging tokens in memory, for bindings from other languages (session.c) --- */

/* A session: a run state and token features for tagging with one model,
 * kept from call to call. One thread at a time uses a session; the model
 * must outlive it. */
typedef struct at_session at_session;
int at_session_new(const at_model *m, at_session **out, at_error *err);
void at_session_free(at_session *s);
/* at_session_tag: tag n_sent sentences, sentence i of sent_len[i] tokens
 * (0: an empty one). tokens[0..len) holds every token in order, each
 * followed by a NUL byte (valid UTF-8, not empty). tags, when not NULL, gets
 * [n_tagsets][n_tokens] tag indices (at_model_tag names them); probs, when
 * not NULL, gets for each tag set in turn [n_tokens][its tags] probabilities,
 * the same numbers as at_tag_batch's. On an error about one sentence (a
 * token, or scores that are not finite), err->sentence = 1 + its index. */
int at_session_tag(at_session *s, const char *tokens, size_t len, const uint32_t *sent_len,
                   size_t n_sent, uint32_t *tags, float *probs, at_error *err);
/* at_session_tokenize: text tokenized as at_tokenize_text does; *out (the
 * session's, valid until its next call) gets the tokens and sentences. */
int at_session_tokenize(at_session *s, const char *text, size_t len, const at_tokens **out,
                        at_error *err);

/* Checksums ---------------------------------------------------------------- */
uint32_t at_crc32(uint32_t crc, const void *data, size_t len);
/* at_crc32c: CRC-32C (Castagnoli), in hardware where the processor has it;
 * at_crc32c_portable: the same value, a byte at a time. */
uint32_t at_crc32c(uint32_t crc, const void *data, size_t len);
uint32_t at_crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
