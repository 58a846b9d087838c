/*
 * window.h - the lecture's figure B: a fully-connected layer over a window of
 * neighbours, as a block's mixing sub-layer (see window.c).
 */
#ifndef ATTNTAG_WINDOW_H
#define ATTNTAG_WINDOW_H

#include "internal.h"

/* at_window_forward: out [rows, d] = res + W · [h_{i-k}; ...; h_{i+k}] + b for
 * each token i of each chunk (zeros past the chunk's ends; res NULL: without
 * it), keeping the windows in cat [rows, (2k+1) d] for the backward pass. */
void at_window_forward(size_t d, int k, const at_packed *W, const float *b,
                       const at_chunk *chunks, size_t n_chunks, size_t rows, const float *h,
                       float *cat, const float *res, float *out, at_qbuf *qb);
/* at_window_backward (after a forward of one chunk of n tokens): from
 * dout [n, d], add the gradients of W and b into gW, gb and write dLoss/dh
 * [n, d] into dh; dcat [n, (2k+1) d] is scratch. */
void at_window_backward(size_t d, int k, size_t n, const float *cat, const float *W,
                        const float *dout, float *gW, float *gb, float *dcat, float *dh);

#endif
