/*
 * attention.h - multi-head self-attention: forward over the chunks of a batch,
 * each attending within itself; backward over one chunk (see attention.c).
 */
#ifndef ATTNTAG_ATTENTION_H
#define ATTNTAG_ATTENTION_H

#include "internal.h"

/* at_attention_forward: from a->h1 [rows, d] fill q, k, v, weights and ctx,
 * and out [rows, d] with res + the attention's output (res NULL: the output
 * alone); each chunk's tokens attend to each other only. P: the layer's packed
 * matrices (AT_PK_*); scratch: AT_ATTENTION_SCRATCH floats; qb: see at_state.
 * p_drop > 0 drops attention weights (mask in a->drop_w, one chunk only) when
 * summing v. */
void at_attention_forward(const at_config *c, const at_layer_w *w, const at_packed *P,
                          int window, const at_chunk *chunks, size_t n_chunks, size_t rows,
                          at_layer_act *a, const float *res, float *out, float *scratch,
                          at_qbuf *qb, float p_drop, uint64_t *rng);
/* at_attention_backward (after a forward of one chunk): from
 * datt = dLoss/d(att) [n, d], add the gradients of
 * attn.{q,k,v,o} and rel_bias into gw and write dLoss/d(h1) into dh1. */
void at_attention_backward(const at_config *c, const at_layer_w *w, const at_layer_w *gw,
                           int window, size_t n, const at_layer_act *a, float p_drop,
                           const float *datt, at_grad_scratch *g, float *dh1);

#endif
