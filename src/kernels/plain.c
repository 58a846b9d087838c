/*
 * plain.c - the reference path: portable C that the compiler vectorises for
 * whatever processor the build targets (SSE on x86-64, NEON on ARM64), and
 * the path every other one is tested against.
 */
#define AT_VW 4
#define AT_QELEM int16_t /* see the 8-bit products below */

#include "kernels/generic.h"

/* Float products: R rows by NP panels, element-wise. */
enum { GEMM_MR = 4, GEMM_NP = 1 };

INLINE void gemm_tile(const float *x, size_t in, const float *p, const float *b, size_t cols,
                      const float *res, float *y, size_t out, int R, int NP)
{
    float acc[GEMM_MR][16] = {{0}};
    (void)NP;
    for (size_t k = 0; k < in; k++)
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            float xv = x[r * in + k];
            for (int j = 0; j < 16; j++)
                acc[r][j] = acc[r][j] + xv * p[k * 16 + j];
        }
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        for (size_t j = 0; j < cols; j += AT_VW)
            out_store(vload(acc[r] + j, AT_VW, 0), b ? b + j : NULL, res ? res + r * out + j : NULL,
                      y + r * out + j, cols - j);
}

/* 8-bit products as dot products of 16-bit numbers, the form compilers turn
 * into their vector multiply-and-add-pairs instructions (SSE2's pmaddwd,
 * NEON's SMLAL): each row of x is quantised to 16-bit numbers (AT_QELEM),
 * and each panel's weights are widened to 16 bits and laid out an output per
 * row once per product (gemm8_panel), so that each sum runs over two
 * contiguous arrays. R rows by four outputs at a time. */
enum { GEMM8_MR = 3, GEMM8_NP = 1 };

/* pw[j][k] = the weight of output o + j for input k, [16][KP8(kp)]: rows
 * 16-byte aligned (the scratch is, kernels.h), so that SSE2's pmaddwd can
 * take the weights from memory as they are, where an unaligned operand
 * costs a load instruction of its own (7% of the product's time) */
#define GEMM8_PANEL_COPY 1
#define KP8(kp) (((kp) + 7) & ~(size_t)7)
static const void *gemm8_panel(const at_packed *W, size_t o, size_t cols, void *scratch)
{
    size_t kp = W->kp, stride = KP8(kp);
    const int8_t *w = W->q + o * kp;
    int16_t *pw = scratch;
    for (size_t j = 0; j < cols; j++)
        for (size_t g = 0; g < kp; g += 4)
            for (size_t e = 0; e < 4; e++)
                pw[j * stride + g + e] = w[g * 16 + j * 4 + e];
    return pw;
}

INLINE void gemm8_tile(const int16_t *qx, size_t kp, const void *pw, const at_packed *W, size_t o,
                       const float *sx, const float *b, size_t cols, const float *res, float *y,
                       size_t out, int R, int NP)
{
    const int16_t *w = pw;
    (void)NP;
    for (size_t j = 0; j < cols; j += 4) {
        vi sum[GEMM8_MR];
        size_t m = cols - j; /* a last group of fewer outputs repeats its first */
        size_t stride = KP8(kp);
        const int16_t *w0 = __builtin_assume_aligned(w + j * stride, 16);
        const int16_t *w1 = __builtin_assume_aligned(m > 1 ? w0 + stride : w0, 16);
        const int16_t *w2 = __builtin_assume_aligned(m > 2 ? w0 + 2 * stride : w0, 16);
        const int16_t *w3 = __builtin_assume_aligned(m > 3 ? w0 + 3 * stride : w0, 16);
        int32_t s[GEMM8_MR][4] = {{0}};
        /* the rows in one loop: each weight loaded serves them all */
        for (size_t k = 0; k < kp; k++)
            #pragma GCC unroll 8
            for (int r = 0; r < R; r++) {
                int32_t xk = qx[r * kp + k];
                s[r][0] += xk * w0[k];
                s[r][1] += xk * w1[k];
                s[r][2] += xk * w2[k];
                s[r][3] += xk * w3[k];
            }
        /* built in registers: stored as four ints and loaded as one
         * vector, the load waited for the stores (7% of the product) */
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++)
            sum[r] = (vi){s[r][0], s[r][1], s[r][2], s[r][3]};
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++)
            dequant_store(sum[r], sx[r], W->scale + o + j, b ? b + j : NULL,
                          res ? res + r * out + j : NULL, y + r * out + j, cols - j);
    }
}

static int plain_runs(void)
{
    return 1;
}

#include "kernels/drivers.h"

const at_kpath at_kpath_plain = AT_KPATH("plain", plain_runs, k_gemm8, k_quantize, k_halves_bits);
