/*
 * optim.c - the optimiser. AdamW (decoupled weight decay) on the weight
 * matrices; biases, norms, embeddings and position biases are not decayed.
 * The moving average of the weights is what gets evaluated and saved: it is
 * steadier than the last step's weights.
 */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool decayed(const char *name)
{
    size_t n = strlen(name);
    bool weight = n > 7 && strcmp(name + n - 7, ".weight") == 0;
    return (weight && !strstr(name, "norm") && strncmp(name, "embed.", 6) != 0) ||
           strcmp(name, "embed.char_proj") == 0;
}

int at_optim_init(at_optim *o, at_model *model, at_model *grads, double ema_decay,
                  at_error *err)
{
    memset(o, 0, sizeof *o);
    o->model = model;
    size_t n = at_model_n_tensors(model);
    o->n_t = n;
    o->w = calloc(n, sizeof *o->w);
    o->g = calloc(n, sizeof *o->g);
    o->m = calloc(n, sizeof *o->m);
    o->v = calloc(n, sizeof *o->v);
    o->ema = ema_decay > 0 ? calloc(n, sizeof *o->ema) : NULL;
    o->count = calloc(n, sizeof *o->count);
    o->decay = calloc(n, sizeof *o->decay);
    if (!o->w || !o->g || !o->m || !o->v || (ema_decay > 0 && !o->ema) || !o->count || !o->decay)
        return at_error_of(err, AT_ERR_MEMORY, "out of memory for the optimiser");
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->ema_decay = ema_decay;
    for (size_t i = 0; i < n; i++) {
        at_tensor_info ti;
        at_model_tensor_info(model, i, &ti);
        o->w[i] = at_model_tensor_f32(model, ti.name, &o->count[i]);
        o->g[i] = at_model_tensor_f32(grads, ti.name, NULL);
        if (!o->w[i] || !o->g[i])
            return at_error_set(err, "optimiser: \"%s\" is not writable", ti.name);
        size_t c = o->count[i] ? o->count[i] : 1;
        o->m[i] = calloc(c, sizeof(float));
        o->v[i] = calloc(c, sizeof(float));
        if (o->ema && (o->ema[i] = malloc(c * sizeof(float))))
            memcpy(o->ema[i], o->w[i], o->count[i] * sizeof(float));
        if (!o->m[i] || !o->v[i] || (o->ema && !o->ema[i]))
            return at_error_of(err, AT_ERR_MEMORY, "out of memory for the optimiser");
        o->decay[i] = decayed(ti.name);
    }
    return 0;
}

void at_optim_free(at_optim *o)
{
    for (size_t i = 0; i < o->n_t; i++) {
        if (o->m)
            free(o->m[i]);
        if (o->v)
            free(o->v[i]);
        if (o->ema)
            free(o->ema[i]);
    }
    free(o->w);
    free(o->g);
    free(o->m);
    free(o->v);
    free(o->ema);
    free(o->count);
    free(o->decay);
    memset(o, 0, sizeof *o);
}

double at_lr_at(double lr, long step, long warmup, long total)
{
    if (step < warmup)
        return lr * (double)(step + 1) / (double)warmup;
    if (total <= warmup)
        return lr;
    double t = (double)(step - warmup) / (double)(total - warmup);
    return lr * 0.5 * (1.0 + cos(M_PI * (t > 1 ? 1 : t)));
}

double at_clip(at_optim *o, double max_norm)
{
    double ss = 0;
    for (size_t i = 0; i < o->n_t; i++)
        for (size_t k = 0; k < o->count[i]; k++)
            ss += (double)o->g[i][k] * o->g[i][k];
    double norm = sqrt(ss);
    if (max_norm > 0 && norm > max_norm) {
        float s = (float)(max_norm / norm);
        for (size_t i = 0; i < o->n_t; i++)
            for (size_t k = 0; k < o->count[i]; k++)
                o->g[i][k] *= s;
    }
    return norm;
}

void at_optim_step(at_optim *o, double lr)
{
    o->step++;
    double c1 = 1.0 - pow(o->beta1, (double)o->step), c2 = 1.0 - pow(o->beta2, (double)o->step);
    float b1 = (float)o->beta1, b2 = (float)o->beta2;
    float a = (float)(lr / c1), rc2 = (float)(1.0 / sqrt(c2)), eps = (float)o->eps;
    /* the average warms up, so early epochs are not dominated by the start */
    double warm = (1.0 + (double)o->step) / (10.0 + (double)o->step);
    float ed = (float)(o->ema_decay < warm ? o->ema_decay : warm);
    for (size_t i = 0; i < o->n_t; i++) {
        float *w = o->w[i], *g = o->g[i], *m = o->m[i], *v = o->v[i];
        float wd = o->decay[i] ? (float)(lr * o->weight_decay) : 0.0f;
        for (size_t k = 0; k < o->count[i]; k++) {
            m[k] = b1 * m[k] + (1 - b1) * g[k];
            v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k];
            w[k] -= a * m[k] / (sqrtf(v[k]) * rc2 + eps) + wd * w[k];
        }
        if (o->ema)
            for (size_t k = 0; k < o->count[i]; k++)
                o->ema[i][k] = ed * o->ema[i][k] + (1 - ed) * w[k];
    }
    at_model_changed(o->model);
}

void at_optim_swap_ema(at_optim *o)
{
    if (!o->ema)
        return;
    for (size_t i = 0; i < o->n_t; i++)
        for (size_t k = 0; k < o->count[i]; k++) {
            float t = o->w[i][k];
            o->w[i][k] = o->ema[i][k];
            o->ema[i][k] = t;
        }
    at_model_changed(o->model);
}
