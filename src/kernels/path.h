/*
 * path.h - the one table of kernels with a form per instruction set. Each
 * path file (plain.c, avx2.c, avx512.c, neon.c) fills one at_kpath; dispatch.c
 * holds the list, picks the path by one rule and calls through it.
 */
#ifndef ATTNTAG_KERNELS_PATH_H
#define ATTNTAG_KERNELS_PATH_H

#include "kernels.h"

#include <stddef.h>
#include <stdint.h>

typedef struct at_kpath {
    const char *name;
    int (*runs)(void); /* does this processor run it? */
    void (*gemm)(const float *x, size_t n, const at_packed *W, const float *b, const float *res,
                 float *y);
    void (*gemm8)(const at_qbuf *qb, size_t n, const at_packed *W, const float *b,
                  const float *res, float *y);
    void (*quantize)(const float *x, size_t n, size_t in, size_t kp, at_qbuf *qb);
    void (*layernorm)(const float *x, size_t n, size_t d, const float *w, const float *b,
                      double eps, float *y, float *mean, float *rstd);
    void (*gelu)(const float *x, size_t n, float *y);
    void (*gelu_backward)(const float *x, const float *dy, size_t n, float *dx);
    void (*softmax)(float *x, size_t n);
    size_t (*argmax)(const float *x, size_t n);
    float (*dot)(const float *a, const float *b, size_t n);
    void (*add)(const float *a, const float *b, size_t n, float *y);
    void (*axpy)(size_t n, float a, const float *x, float *y);
    void (*linear_backward)(const float *x, size_t n, size_t in, const float *W,
                            const float *dy, size_t out, float *dW, float *db, float *dx);
    void (*relu)(const float *x, size_t n, float *y);
    void (*relu_backward)(const float *x, const float *dy, size_t n, float *dx);
    void (*layernorm_backward)(const float *x, size_t n, size_t d, const float *w,
                               const float *mean, const float *rstd, const float *dy, float *dw,
                               float *db, float *dx);
    void (*head)(const at_head_args *h);
    void (*halves)(const void *src, size_t n, float *out, int add);
} at_kpath;

/* The table row of a path file, from generic.h's functions and its own. */
#define AT_KPATH(NAME, RUNS, GEMM8, QUANTIZE, HALVES)                                          \
    {                                                                                        \
        .name = NAME, .runs = RUNS, .gemm = k_gemm, .gemm8 = GEMM8, .quantize = QUANTIZE,    \
        .layernorm = k_layernorm, .gelu = k_gelu, .gelu_backward = k_gelu_backward,          \
        .softmax = k_softmax, .argmax = k_argmax, .dot = k_dot, .add = k_add,                \
        .axpy = k_axpy, .linear_backward = k_linear_backward, .relu = k_relu,                \
        .relu_backward = k_relu_backward, .layernorm_backward = k_layernorm_backward,        \
        .head = k_head,                                                                      \
        .halves = HALVES,                                                                    \
    }

extern const at_kpath at_kpath_plain, at_kpath_avx2, at_kpath_avx512, at_kpath_neon,
    at_kpath_neondot;

#endif
