/*
 * kernels.c - matrix product, layer norm, softmax and activations.
 */
#include "kernels.h"

#include <math.h>
#include <string.h>

/* The hot kernels are compiled twice, for AVX2 + FMA and for any x86-64, and
 * the loader picks the one the processor runs (GCC/clang function clones). */
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef HOT
#define HOT
#endif

/* Eight independent partial sums let the compiler use full SIMD registers
 * without reassociating a single chain (which it may not do for floats). */
static inline float dot8(const float *a, const float *b, size_t n)
{
    float acc[8] = {0};
    size_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += a[k + j] * b[k + j];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; k < n; k++)
        s += a[k] * b[k];
    return s;
}

HOT float at_dot(const float *a, const float *b, size_t n)
{
    return dot8(a, b, n);
}

/* Four outputs at a time: each load of x feeds four rows of W. */
HOT void at_linear(const float *x, size_t n, size_t in, const float *W, const float *b,
                   size_t out, float *y)
{
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * in;
        float *yi = y + i * out;
        size_t o = 0;
        for (; o + 4 <= out && in % 8 == 0; o += 4) {
            const float *w0 = W + o * in, *w1 = w0 + in, *w2 = w1 + in, *w3 = w2 + in;
            float a0[8] = {0}, a1[8] = {0}, a2[8] = {0}, a3[8] = {0};
            for (size_t k = 0; k < in; k += 8)
                for (int j = 0; j < 8; j++) {
                    float xv = xi[k + j];
                    a0[j] += xv * w0[k + j];
                    a1[j] += xv * w1[k + j];
                    a2[j] += xv * w2[k + j];
                    a3[j] += xv * w3[k + j];
                }
            float *acc[4] = {a0, a1, a2, a3};
            for (int r = 0; r < 4; r++) {
                const float *a = acc[r];
                yi[o + r] = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])) +
                            (b ? b[o + r] : 0.0f);
            }
        }
        for (; o < out; o++)
            yi[o] = dot8(xi, W + o * in, in) + (b ? b[o] : 0.0f);
    }
}

void at_layernorm(const float *x, size_t n, size_t d, const float *w, const float *b,
                  double eps, float *y, float *mean, float *rstd)
{
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * d;
        double s = 0, ss = 0;
        for (size_t k = 0; k < d; k++)
            s += xi[k];
        double mu = s / (double)d;
        for (size_t k = 0; k < d; k++)
            ss += (xi[k] - mu) * (xi[k] - mu);
        float r = (float)(1.0 / sqrt(ss / (double)d + eps));
        float m = (float)mu;
        for (size_t k = 0; k < d; k++)
            y[i * d + k] = (xi[k] - m) * r * w[k] + b[k];
        if (mean)
            mean[i] = m;
        if (rstd)
            rstd[i] = r;
    }
}

void at_softmax(float *x, size_t n)
{
    float mx = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (x[i] > mx)
            mx = x[i];
    if (mx == -INFINITY) { /* nothing to attend to: all weights zero */
        for (size_t i = 0; i < n; i++)
            x[i] = 0;
        return;
    }
    float s = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        s += x[i];
    }
    for (size_t i = 0; i < n; i++)
        x[i] /= s;
}

void at_relu(const float *x, size_t n, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0 ? x[i] : 0;
}

void at_gelu(const float *x, size_t n, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}

HOT void at_axpy(size_t n, float a, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

static inline void axpy(size_t n, float a, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* Blocked so that each load feeds four multiply-adds: dW in 4 x 8 tiles kept
 * in registers across all rows, dx in tiles of 4 rows x 8 columns. */
HOT void at_linear_backward(const float *x, size_t n, size_t in, const float *W,
                            const float *dy, size_t out, float *dW, float *db, float *dx)
{
    if (db)
        for (size_t i = 0; i < n; i++)
            for (size_t o = 0; o < out; o++)
                db[o] += dy[i * out + o];
    if (in % 8) { /* odd widths: the plain way */
        for (size_t i = 0; i < n; i++) {
            for (size_t o = 0; o < out; o++)
                axpy(in, dy[i * out + o], x + i * in, dW + o * in);
            if (dx) {
                memset(dx + i * in, 0, in * sizeof *dx);
                for (size_t o = 0; o < out; o++)
                    axpy(in, dy[i * out + o], W + o * in, dx + i * in);
            }
        }
        return;
    }
    /* dW[o][k] += sum_i dy[i][o] x[i][k] */
    size_t o = 0;
    for (; o + 4 <= out; o += 4)
        for (size_t k = 0; k < in; k += 8) {
            float a[4][8];
            for (int r = 0; r < 4; r++)
                for (int j = 0; j < 8; j++)
                    a[r][j] = dW[(o + r) * in + k + j];
            for (size_t i = 0; i < n; i++) {
                const float *xi = x + i * in + k, *d = dy + i * out + o;
                for (int r = 0; r < 4; r++)
                    for (int j = 0; j < 8; j++)
                        a[r][j] += d[r] * xi[j];
            }
            for (int r = 0; r < 4; r++)
                for (int j = 0; j < 8; j++)
                    dW[(o + r) * in + k + j] = a[r][j];
        }
    for (; o < out; o++)
        for (size_t i = 0; i < n; i++)
            axpy(in, dy[i * out + o], x + i * in, dW + o * in);
    if (!dx)
        return;
    /* dx[i][k] = sum_o dy[i][o] W[o][k] */
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (size_t k = 0; k < in; k += 8) {
            float a[4][8] = {{0}};
            for (size_t q = 0; q < out; q++) {
                const float *w = W + q * in + k;
                for (int r = 0; r < 4; r++) {
                    float d = dy[(i + r) * out + q];
                    for (int j = 0; j < 8; j++)
                        a[r][j] += d * w[j];
                }
            }
            for (int r = 0; r < 4; r++)
                for (int j = 0; j < 8; j++)
                    dx[(i + r) * in + k + j] = a[r][j];
        }
    for (; i < n; i++) {
        memset(dx + i * in, 0, in * sizeof *dx);
        for (size_t q = 0; q < out; q++)
            axpy(in, dy[i * out + q], W + q * in, dx + i * in);
    }
}

void at_layernorm_backward(const float *x, size_t n, size_t d, const float *w,
                           const float *mean, const float *rstd, const float *dy, float *dw,
                           float *db, float *dx)
{
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * d, *dyi = dy + i * d;
        float *dxi = dx + i * d;
        float m = mean[i], r = rstd[i], s1 = 0, s2 = 0;
        for (size_t k = 0; k < d; k++) {
            float xhat = (xi[k] - m) * r, g = dyi[k] * w[k];
            dw[k] += dyi[k] * xhat;
            db[k] += dyi[k];
            s1 += g;
            s2 += g * xhat;
        }
        s1 /= (float)d;
        s2 /= (float)d;
        for (size_t k = 0; k < d; k++) {
            float xhat = (xi[k] - m) * r;
            dxi[k] = r * (dyi[k] * w[k] - s1 - xhat * s2);
        }
    }
}

void at_relu_backward(const float *x, const float *dy, size_t n, float *dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = x[i] > 0 ? dy[i] : 0.0f;
}

void at_gelu_backward(const float *x, const float *dy, size_t n, float *dx)
{
    for (size_t i = 0; i < n; i++) {
        float cdf = 0.5f * (1.0f + erff(x[i] * (float)M_SQRT1_2));
        float pdf = expf(-0.5f * x[i] * x[i]) * 0.3989422804014327f;
        dx[i] = dy[i] * (cdf + x[i] * pdf);
    }
}
