/*
 * optim.h - AdamW with warm-up and cosine decay, gradient clipping, and an
 * exponential moving average of the weights.
 */
#ifndef ATTNTAG_OPTIM_H
#define ATTNTAG_OPTIM_H

#include "internal.h"

typedef struct at_optim {
    at_model *model;     /* told of every change to its weights */
    size_t n_t;          /* tensors, in the model's (name) order */
    float **w, **g;      /* [n_t] the weights and their gradients */
    float **m, **v;      /* [n_t] Adam's moments */
    float **ema;         /* [n_t] averaged weights, or NULL when off */
    size_t *count;       /* [n_t] elements */
    bool *decay;         /* [n_t] weight decay applies (matrices only) */
    double lr, beta1, beta2, eps, weight_decay, ema_decay;
    long step;           /* steps taken */
} at_optim;

/* at_optim_init: state for model's weights, gradients in grads. */
int at_optim_init(at_optim *o, at_model *model, at_model *grads, double ema_decay,
                  at_error *err);
void at_optim_free(at_optim *o);
/* at_lr_at: warm-up over `warmup` steps, then cosine decay to 0 at `total`. */
double at_lr_at(double lr, long step, long warmup, long total);
/* at_clip: scale gradients to global norm <= max_norm; returns the norm before. */
double at_clip(at_optim *o, double max_norm);
/* at_optim_step: one AdamW update with learning rate lr, then the average. */
void at_optim_step(at_optim *o, double lr);
/* at_optim_swap_ema: exchange the weights and their average (call twice to undo). */
void at_optim_swap_ema(at_optim *o);

#endif
