/*
 * dispatch.c - which path runs the kernels, chosen once by one rule: the
 * last path in the list below that the processor runs, unless the
 * environment variable ATTNTAG_KERNELS names another it runs. Every kernel
 * with a form per instruction set is called through the chosen path's row
 * of the table (path.h).
 */
#include "attntag.h"
#include "kernels.h"
#include "kernels/path.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* From the reference to the fastest. */
static const at_kpath *const paths[] = {
    &at_kpath_plain,
#if defined(__x86_64__)
    &at_kpath_avx2,
    &at_kpath_avx512,
#elif defined(__aarch64__)
    &at_kpath_neon,
    &at_kpath_neondot,
#endif
};
enum { N_PATHS = sizeof paths / sizeof *paths };

/* Set once by choose(), and by at_kernels_use(); a pointer store is atomic,
 * so a thread sees one path or the other, never a mix within one call. */
static _Atomic(const at_kpath *) current;
static pthread_once_t chosen = PTHREAD_ONCE_INIT;

static void choose(void)
{
    const at_kpath *best = paths[0];
    for (int i = N_PATHS - 1; i > 0; i--)
        if (paths[i]->runs()) {
            best = paths[i];
            break;
        }
    const char *want = getenv("ATTNTAG_KERNELS");
    for (int i = 0; want && i < N_PATHS; i++)
        if (strcmp(want, paths[i]->name) == 0 && paths[i]->runs())
            best = paths[i];
    atomic_store(&current, best);
}

static const at_kpath *K(void)
{
    const at_kpath *k = atomic_load_explicit(&current, memory_order_acquire);
    if (k)
        return k;
    pthread_once(&chosen, choose);
    return atomic_load(&current);
}

const char *at_kernels_name(void)
{
    return K()->name;
}

int at_kernels_available(const char *name)
{
    for (int i = 0; i < N_PATHS; i++)
        if (strcmp(name, paths[i]->name) == 0)
            return paths[i]->runs();
    return 0;
}

const char *at_kernels_path(int i)
{
    return i >= 0 && i < N_PATHS ? paths[i]->name : NULL;
}

int at_kernels_use(const char *name)
{
    pthread_once(&chosen, choose);
    for (int i = 0; i < N_PATHS; i++)
        if (strcmp(name, paths[i]->name) == 0 && paths[i]->runs()) {
            atomic_store(&current, paths[i]);
            return 0;
        }
    return -1;
}

void at_gemm_shared(const float *x, size_t n, const at_packed *const *W, const float *const *b,
                    float *const *y, int count, at_qbuf *qb)
{
    const at_kpath *k = K();
    if (!n)
        return;
    int quantized = 0;
    for (int i = 0; i < count; i++) {
        if (!W[i]->out)
            continue;
        if (!W[i]->q) {
            k->gemm(x, n, W[i], b[i], NULL, y[i]);
            continue;
        }
        /* the bytes of x serve every 8-bit product of the same width */
        if (!quantized || W[i]->kp != W[quantized - 1]->kp) {
            k->quantize(x, n, W[i]->in, W[i]->kp, qb);
            quantized = i + 1;
        }
        k->gemm8(qb, n, W[i], b[i], NULL, y[i]);
    }
}

void at_gemm_add(const float *x, size_t n, const at_packed *W, const float *b,
                 const float *res, float *y, at_qbuf *qb)
{
    const at_kpath *k = K();
    if (!n || !W->out)
        return;
    if (!W->q) {
        k->gemm(x, n, W, b, res, y);
        return;
    }
    k->quantize(x, n, W->in, W->kp, qb);
    k->gemm8(qb, n, W, b, res, y);
}

void at_gemm(const float *x, size_t n, const at_packed *W, const float *b, float *y,
             at_qbuf *qb)
{
    at_gemm_add(x, n, W, b, NULL, y, qb);
}

void at_layernorm(const float *x, size_t n, size_t d, const float *w, const float *b,
                  double eps, float *y, float *mean, float *rstd)
{
    K()->layernorm(x, n, d, w, b, eps, y, mean, rstd);
}

void at_layernorm_backward(const float *x, size_t n, size_t d, const float *w,
                           const float *mean, const float *rstd, const float *dy, float *dw,
                           float *db, float *dx)
{
    K()->layernorm_backward(x, n, d, w, mean, rstd, dy, dw, db, dx);
}

void at_linear_backward(const float *x, size_t n, size_t in, const float *W, const float *dy,
                        size_t out, float *dW, float *db, float *dx)
{
    K()->linear_backward(x, n, in, W, dy, out, dW, db, dx);
}

void at_head_forward(const at_head_args *h)
{
    K()->head(h);
}

size_t at_argmax(const float *x, size_t n)
{
    return K()->argmax(x, n);
}

void at_softmax(float *x, size_t n)
{
    K()->softmax(x, n);
}

float at_dot(const float *a, const float *b, size_t n)
{
    return K()->dot(a, b, n);
}

void at_relu(const float *x, size_t n, float *y)
{
    K()->relu(x, n, y);
}

void at_gelu(const float *x, size_t n, float *y)
{
    K()->gelu(x, n, y);
}

void at_relu_backward(const float *x, const float *dy, size_t n, float *dx)
{
    K()->relu_backward(x, dy, n, dx);
}

void at_gelu_backward(const float *x, const float *dy, size_t n, float *dx)
{
    K()->gelu_backward(x, dy, n, dx);
}

void at_halves(const void *src, size_t n, float *out, int add)
{
    K()->halves(src, n, out, add);
}

void at_add(const float *a, const float *b, size_t n, float *y)
{
    K()->add(a, b, n, y);
}

void at_axpy(size_t n, float a, const float *x, float *y)
{
    K()->axpy(n, a, x, y);
}
