/*
 * internal.h - structures shared by the library's files, not part of the API.
 */
#ifndef ATTNTAG_INTERNAL_H
#define ATTNTAG_INTERNAL_H

#include "attntag.h"
#include "kernels.h"

#include <pthread.h>
#include <stdbool.h>

/* A string -> index map (open addressing) over strings the caller keeps alive. */
typedef struct at_strmap {
    uint32_t *slot;         /* index + 1, 0 = empty */
    const unsigned char *ext; /* or the slots as little-endian bytes (a model file's
                               "lexicon.index"), not owned and not trusted */
    size_t mask;
    size_t n;
    const char *const *str; /* the strings, by index; or, when NULL, */
    const char *base;       /* string i at base + starts[i] (little-endian 32-bit; a */
    const unsigned char *starts; /* model file's "lexicon.starts", not trusted), */
    size_t nbytes;          /* inside base's nbytes, whose last one is a NUL */
} at_strmap;

int at_strmap_build(at_strmap *m, const char *const *str, size_t n, at_error *err);
/* at_strmap_adopt: slots made before (mask + 1 of them, little-endian); a slot
 * past n is skipped and probes stop after mask + 1, so no table misleads a
 * lookup out of bounds. */
void at_strmap_adopt(at_strmap *m, const char *const *str, size_t n, const unsigned char *ext,
                     size_t mask);
/* at_strmap_adopt_starts: the same over strings found by their starts (a
 * start past nbytes is skipped like a slot past n): nothing is read at
 * adoption, so a lexicon's table costs a file's loading nothing. */
void at_strmap_adopt_starts(at_strmap *m, const char *base, size_t nbytes,
                            const unsigned char *starts, size_t n, const unsigned char *ext,
                            size_t mask);
/* at_strmap_find: index of s, or -1; a string that occurs twice is an error at build. */
long at_strmap_find(const at_strmap *m, const char *s, size_t len);
/* at_strmap_find_hashed: the same, given h = at_fnv1a(s, len). */
long at_strmap_find_hashed(const at_strmap *m, const char *s, size_t len, uint32_t h);
/* at_le32: the little-endian 32-bit number at p (a model file's tables). */
uint32_t at_le32(const unsigned char *p);
/* at_strmap_slot: slot h (index + 1, 0 = empty), for writing the table. */
uint32_t at_strmap_slot(const at_strmap *m, size_t h);
void at_strmap_free(at_strmap *m);

/* A growing set of strings with counts, ids in order of first appearance
 * (for building vocabularies and tag sets). Zero-initialise before use. */
typedef struct at_strcount {
    char **str;
    size_t *count;
    size_t n, cap;
    uint32_t *slot; /* id + 1, 0 = empty */
    size_t n_slots;
} at_strcount;

int at_strcount_add(at_strcount *c, const char *s, size_t len, uint32_t *id, at_error *err);
void at_strcount_free(at_strcount *c);

/* One named tensor. data points into the file mapping or into owned memory. */
typedef struct at_tensor {
    char *name;
    at_dtype dtype;
    int ndim;
    size_t shape[4];
    size_t count;       /* elements */
    const void *data;   /* raw little-endian bytes */
    size_t nbytes;
    const float *f32;   /* float view for F32 (or widened F16 dense) tensors */
    void *owned;        /* raw data this tensor frees, or NULL (mapped) */
    float *wide;        /* widened or aligned copy this tensor frees, or NULL */
    bool used;          /* called for by the config (set by at_model_finish) */
} at_tensor;

typedef struct at_layer_w {
    const float *attn_norm_w, *attn_norm_b;
    const float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo; /* [dim, dim], [dim] */
    const float *rel_bias;                              /* [heads, 2R+1] or NULL */
    const float *win_w, *win_b; /* a window mixer's [dim, (2 window + 1) dim], [dim] */
    const float *ffn_norm_w, *ffn_norm_b;
    const float *up_w, *up_b;                           /* [ffn, dim], [ffn] */
    const float *down_w, *down_b;                       /* [dim, ffn], [dim] */
} at_layer_w;

typedef struct at_weights {
    const at_tensor *word;     /* [vocab, dim], F32 or F16 */
    const at_tensor *chr;      /* [buckets, char_dim], F32 or F16, or NULL */
    const float *char_proj;    /* [dim, char_dim] */
    const float *shape;        /* [AT_N_SHAPES, dim] */
    const float *lex;          /* [lexicon_bits, dim] */
    at_layer_w layer[AT_MAX_LAYERS];
    const float *final_norm_w, *final_norm_b;
    const float *head_w[AT_MAX_TAGSETS], *head_b[AT_MAX_TAGSETS];
} at_weights;

/* The weight matrices of the forward pass in the layout at_gemm reads, made
 * from the weights and made again when they change (training). */
enum { AT_PK_Q, AT_PK_K, AT_PK_V, AT_PK_O, AT_PK_UP, AT_PK_DOWN, AT_PK_WIN, AT_PK_N };
typedef struct at_packs {
    pthread_mutex_t lock;
    size_t gen;                            /* the model generation packed */
    bool valid;
    at_packed char_proj;                   /* [dim, char_dim] */
    at_packed layer[AT_MAX_LAYERS][AT_PK_N];
    at_packed head[AT_MAX_TAGSETS];
} at_packs;

struct at_model {
    at_config cfg;
    char *path;             /* the file it was loaded from, for messages, or NULL */
    at_tensor *t;           /* sorted by name */
    size_t n_t;
    char **vocab;           /* [n_vocab], into strings */
    size_t n_vocab;
    at_strmap vocab_map;
    char **tags[AT_MAX_TAGSETS];
    size_t n_tags[AT_MAX_TAGSETS];
    char **lex_words;       /* [n_lex], or NULL when a file's lexicon.starts finds them */
    uint8_t *lex_bits;      /* [n_lex] */
    size_t n_lex;
    at_strmap lex_map;
    char **str_owned;       /* every malloc'd string the model frees */
    size_t n_str_owned;
    at_weights w;
    void *map;              /* file mapping, or NULL */
    size_t map_len;
    bool writable;          /* made by at_model_new: tensors are owned F32 */
    size_t gen;             /* bumped whenever the weights may have changed */
    uint64_t serial;        /* this model among all made in the process (from 1) */
    at_packs *packs;
    /* the 8-bit packs the file stores ("<matrix>.int8", "<matrix>.int8_scale",
     * docs/model-format.md), sorted by name, pointing into the mapping; once
     * checked (int8_ok), used instead of rounding the weights while these are
     * still those of generation int8_gen */
    at_tensor *pk;
    size_t n_pk;
    size_t int8_gen;
    bool int8_ok;
    /* a training checkpoint's extra state (not part of the network) */
    at_tensor *extra;       /* "train.*" F32 tensors, owned */
    size_t n_extra;
    char *note;             /* "attntag.train_state" JSON, or NULL */
};

/* The activations of one layer, kept for the backward pass and for showing
 * attention. Shapes for a batch of n tokens in chunks of at most max_len
 * (d = dim, f = ffn_dim, H = heads), allocated once for the state's capacity.
 * Tagging alone keeps only the attention weights of every layer: the other
 * buffers of all layers are layer 0's. */
typedef struct at_layer_act {
    float *x_in;      /* [n, d] residual stream entering the block */
    float *h1;        /* [n, d] attention input: LN(x_in) (pre) or x_in (post) */
    float *q, *k, *v; /* [n, d] */
    float *weights;   /* per chunk of m tokens: [H, m, m] attention weights (zero
                         outside the window), chunk after chunk */
    float *ctx;       /* [n, d] heads' weighted sums of v, concatenated */
    float *cat;       /* window mixer: [n, (2 window + 1) d] each token's window of h1 */
    float *att;       /* [n, d] MHA output (after attn.o) */
    float *x_mid;     /* [n, d] stream after the attention sub-layer */
    float *h2;        /* [n, d] FC input: LN(x_mid) (pre) or x_mid (post) */
    float *up;        /* [n, f] up · h2 + b, before the activation */
    float *act;       /* [n, f] activation output */
    float *ffn;       /* [n, d] FC output (after down) */
    float *sum1, *sum2;   /* post-LN: [n, d] the sums that are normalised */
    float *mean1, *rstd1, *mean2, *rstd2; /* [n] layer-norm statistics */
    /* training only: dropout masks, 0 or 1/(1-p) */
    float *drop_w;    /* [H, n, n] on the attention weights */
    float *drop_att;  /* [n, d] on the MHA output before the residual sum */
    float *drop_ffn;  /* [n, d] on the FC output before the residual sum */
} at_layer_act;

/* Gradient scratch of one chunk (training only). */
typedef struct at_grad_scratch {
    float *dx, *dh, *dt, *dctx, *dq, *dk, *dv; /* [max_len, d] */
    float *dcat;                               /* window mixer: [max_len, widest window] */
    float *dup, *dact;                         /* [max_len, f] */
    float *dw;                                 /* [max_len] one row of weights */
    float *dcm;                                /* [char_dim] */
} at_grad_scratch;

/* One chunk of a batch: tokens [start, start+len) of the features, at rows
 * [row, row+len) of the activations; its attention weights at wo. */
typedef struct at_chunk {
    size_t start, len, row, wo;
} at_chunk;

struct at_state {
    const at_model *model; /* the state is sized for this model only */
    at_config cfg;
    size_t n_tags[AT_MAX_TAGSETS];
    size_t cap;           /* tokens a batch may hold */
    size_t n;             /* tokens in the last forward */
    at_chunk *chunk;      /* [cap] the chunks of the last forward */
    size_t n_chunks;
    float *att_scratch;   /* AT_ATTENTION_SCRATCH floats: one head's queries
                             transposed and their scores, each head's position bias */
    at_qbuf qb;           /* [cap] rows as bytes for the 8-bit products */
    float *pe;            /* [max_len, d] sinusoidal positions, or NULL */
    float *cmean;         /* [n, char_dim] mean n-gram embedding per token */
    float *x0;            /* [n, d] input vectors */
    struct at_emb_cache *emb; /* tagging: recent word forms' embeddings (forward.c) */
    int32_t *emb_slot;    /* [cap] each row's cache slot to fill, or -1 */
    at_layer_act layer[AT_MAX_LAYERS];
    float *x_out;         /* [n, d] after the last block (and final norm) */
    float *x_last;        /* [n, d] last block's output before the final norm */
    float *mean_f, *rstd_f;
    float *logits[AT_MAX_TAGSETS]; /* [n, tags] */
    /* training: dropout probabilities (0 = off), its random stream, masks */
    float p_emb, p_att, p_res;
    uint64_t rng;
    float *drop_emb;      /* [n, d] */
    at_grad_scratch g;    /* allocated by at_state_set_training */
    bool training;
    bool forward_trained; /* the last forward ran with training buffers (backward may follow) */
    size_t overflow_token; /* the token of f whose scores the last forward could not
                              compute (not finite), or SIZE_MAX */
    void **blocks;        /* every allocation, for at_state_free */
    size_t *block_bytes;  /* their sizes */
    size_t n_blocks;
};

/* at_forward_chunks: the forward pass over a batch of chunks, each attended
 * to on its own (see at_forward). */
int at_forward_chunks(const at_model *m, at_state *s, const at_feats *f, const at_chunk *chunks,
                      size_t n_chunks, at_error *err);

/* forward.c: allocation inside a state (freed with it); NULL sets *fail. */
float *at_state_alloc(at_state *s, size_t count, int *fail);
/* at_rand: a uniform number in [0, 1) from the state's stream (xorshift64*). */
float at_rand(uint64_t *rng);

/* kernels/pack.c: a 16-bit float (bits) widened exactly, one at a time (the
 * kernel paths' at_halves widens many). */
float at_half_to_float(uint16_t h);

/* config.c: the config from a parsed JSON object. */
struct cJSON;
int at_config_from_cjson(at_config *c, const struct cJSON *o, at_error *err);

/* model.c */
at_model *at_model_alloc(void);
/* at_model_add_tensor: take a tensor description (name copied). */
int at_model_add_tensor(at_model *m, const char *name, at_dtype dt, int ndim,
                        const size_t *shape, const void *data, size_t nbytes,
                        void *owned, at_error *err);
/* at_tensor_append: a new tensor at the end of *v (n of them), described
 * but not owned; -1 when out of memory. */
int at_tensor_append(at_tensor **v, size_t *n, const char *name, at_dtype dt, int ndim,
                     const size_t *shape, const void *data, size_t nbytes);
/* at_tensor_find: the tensor called name in t[0..n), sorted by name
 * (at_tensor_cmp), or NULL. */
const at_tensor *at_tensor_find(const at_tensor *t, size_t n, const char *name);
int at_tensor_cmp(const void *a, const void *b);
/* at_model_finish: validate tensors against the config, widen, bind, index.
 * where names the source for messages (a file path). */
int at_model_finish(at_model *m, const char *where, at_error *err);
const at_tensor *at_model_find(const at_model *m, const char *name);
/* at_model_crc32c: CRC-32C of the weight tensors' bytes, in name order (the
 * file's fast checksum; at_model_checksum is its CRC-32). */
uint32_t at_model_crc32c(const at_model *m);
int at_dtype_size(at_dtype dt);
const char *at_dtype_name(at_dtype dt);
int at_dtype_parse(const char *s, at_dtype *dt);
/* at_float_to_half: f rounded to the nearest 16-bit float (bits) */
uint16_t at_float_to_half(float f);
/* at_tensor_row: row i of a 2-D embedding table, widened to float. */
void at_tensor_row(const at_tensor *t, size_t i, float *out);
/* at_tensor_row_add: acc += that row. */
void at_tensor_row_add(const at_tensor *t, size_t i, float *acc);
/* at_tensor_row_prefetch: ask for row i's cache lines ahead of use. */
void at_tensor_row_prefetch(const at_tensor *t, size_t i);

/* model_strings.c */
/* at_model_set_vocab, at_model_set_tags: copy string tables into the model. */
int at_model_set_vocab(at_model *m, const char *const *w, size_t n, at_error *err);
int at_model_set_tags(at_model *m, int ts, const char *const *w, size_t n, at_error *err);
/* at_split_strings: a U8 table of NUL-terminated strings -> n pointers into
 * it, each string checked: not empty, valid UTF-8. */
int at_split_strings(const uint8_t *data, size_t nbytes, size_t expect_n, char ***out,
                     size_t *n_out, const char *what, at_error *err);
/* at_model_adopt_lexicon: a lexicon read by at_split_strings from the mapped
 * file, without copies: words (the array becomes the model's) and bits point
 * into the mapping; index: the file's hash table ((mask + 1) * 4 bytes), or
 * NULL to build one. */
int at_model_adopt_lexicon(at_model *m, char **words, const uint8_t *bits, size_t n,
                           const unsigned char *index, size_t mask, at_error *err);
/* at_model_adopt_lexicon_starts: the same without splitting the words: the
 * file's lexicon.starts (n little-endian 32-bit starts) finds each word in
 * words[nbytes] and the file's index is required. Nothing is read or checked
 * beyond the bits and the final NUL: lookups keep inside the words whatever
 * the tables hold, and at_model_lexicon_words checks each word where the
 * words are written out. */
int at_model_adopt_lexicon_starts(at_model *m, const char *words, size_t nbytes,
                                  const unsigned char *starts, const uint8_t *bits, size_t n,
                                  const unsigned char *index, size_t mask, at_error *err);
/* at_model_lexicon_words: the lexicon's words, in order, as an array the
 * caller frees (the strings stay the model's); where a file's starts found
 * them, each is checked (UTF-8, not empty, at its start) first. */
int at_model_lexicon_words(const at_model *m, char ***out, at_error *err);

/* model_int8.c */
/* at_packs_free: the packs freed, marked not valid. */
void at_packs_free(at_packs *P);
/* at_model_packs: the packed weights, packed again first if the weights have
 * changed since (thread-safe); NULL when out of memory. */
const at_packs *at_model_packs(const at_model *m, at_error *err);
/* The 8-bit packs a safetensors file may store beside the weights of an int8
 * model (docs/model-format.md): AT_INT8_LAYOUT names their layout, the one
 * at_pack_int8 makes and every kernel path reads. */
#define AT_INT8_LAYOUT "panel16x4"
/* at_int8_name: name is a pack's ("....int8" or "....int8_scale"). */
bool at_int8_name(const char *name);
/* at_model_add_int8: take a pack tensor from the file (not copied, not yet
 * checked); at_model_adopt_int8, after at_model_finish, checks them all
 * against the config and the metadata: layout (AT_INT8_LAYOUT), made_from
 * (the weights' CRC-32C when they were made), crc32c (theirs); weights_crc32c
 * is at_model_crc32c(m). Packs of another layout, or made from other weights,
 * are left unused (the weights are rounded as for a file without packs);
 * damaged or hostile ones are refused. */
int at_model_add_int8(at_model *m, const char *name, at_dtype dt, int ndim, const size_t *shape,
                      const void *data, size_t nbytes, at_error *err);
int at_model_adopt_int8(at_model *m, const char *layout, const char *made_from,
                        const char *crc32c, uint32_t weights_crc32c, const char *where,
                        at_error *err);
/* at_model_each_int8: the packs of an int8 model's current weights, made now,
 * each matrix's ".int8" then its ".int8_scale", to fn (whose data is valid
 * during the call). */
typedef int (*at_int8_fn)(void *ctx, const char *name, at_dtype dt, int ndim,
                          const size_t *shape, const void *data, size_t nbytes, at_error *err);
int at_model_each_int8(const at_model *m, at_int8_fn fn, void *ctx, at_error *err);

/* safetensors.c and model_json.c */
int at_safetensors_load(const char *path, at_model **out, at_error *err);
int at_safetensors_save(const at_model *m, const char *path, at_error *err);
int at_json_model_load(const char *path, at_model **out, at_error *err);
int at_json_model_save(const at_model *m, const char *path, at_error *err);

/* io helpers (fileio.c) */
int at_read_file(const char *path, char **data, size_t *len, at_error *err);
/* at_write_atomic: the whole of data to path through at_outfile (attntag.h). */
int at_write_atomic(const char *path, const void *data, size_t len, at_error *err);

#endif
