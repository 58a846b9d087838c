/*
 * attention.h - multi-head self-attention over one chunk (see attention.c).
 */
#ifndef ATTNTAG_ATTENTION_H
#define ATTNTAG_ATTENTION_H

#include "internal.h"

/* at_attention_forward: from a->h1 [n, d] fill q, k, v, weights, ctx and att. */
void at_attention_forward(const at_config *c, const at_layer_w *w, int window, size_t n,
                          at_layer_act *a);

#endif
