/*
 * window.c - the lecture's figure B, "consider the neighbourhood": each token
 * gets a fully-connected layer over its own vector and those of its k
 * neighbours on each side, concatenated,
 *   out_i = W [h_{i-k}; ...; h_i; ...; h_{i+k}] + b,   W: [d, (2k+1) d],
 * with zero vectors past the ends of the chunk. Unlike self-attention, what a
 * neighbour contributes depends on where it is, not on what it is: a
 * convolution of width 2k + 1.
 */
#include "window.h"

#include "kernels.h"

#include <string.h>

void at_window_forward(size_t d, int k, const at_packed *W, const float *b,
                       const at_chunk *chunks, size_t n_chunks, size_t rows, const float *h,
                       float *cat, const float *res, float *out, at_qbuf *qb)
{
    size_t width = 2 * (size_t)k + 1;
    for (size_t ch = 0; ch < n_chunks; ch++) {
        size_t n = chunks[ch].len, r0 = chunks[ch].row;
        for (size_t i = 0; i < n; i++) {
            float *c = cat + (r0 + i) * width * d; /* [width, d]: offsets -k .. k */
            for (size_t o = 0; o < width; o++) {
                long j = (long)i + (long)o - k;
                if (j < 0 || j >= (long)n)
                    memset(c + o * d, 0, d * sizeof *c);
                else
                    memcpy(c + o * d, h + (r0 + (size_t)j) * d, d * sizeof *c);
            }
        }
    }
    at_gemm_add(cat, rows, W, b, res, out, qb);
}

void at_window_backward(size_t d, int k, size_t n, const float *cat, const float *W,
                        const float *dout, float *gW, float *gb, float *dcat, float *dh)
{
    size_t width = 2 * (size_t)k + 1;
    at_linear_backward(cat, n, width * d, W, dout, d, gW, gb, dcat);
    memset(dh, 0, n * d * sizeof *dh);
    for (size_t i = 0; i < n; i++) /* h_j went into the windows of j - k .. j + k */
        for (size_t o = 0; o < width; o++) {
            long j = (long)i + (long)o - k;
            if (j >= 0 && j < (long)n)
                at_axpy(d, 1.0f, dcat + (i * width + o) * d, dh + (size_t)j * d);
        }
}
