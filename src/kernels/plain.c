/*
 * plain.c - the reference path: portable C that the compiler vectorises for
 * whatever processor the build targets (SSE on x86-64, NEON on ARM64), and
 * the path every other one is tested against.
 */
#define AT_VW 4

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

/* 8-bit products: a panel's 64 bytes per four inputs are 16 outputs by 4
 * inputs. Each product fits in 16 bits (|x|, |w| <= 127), and each pair of
 * them goes to its own 32-bit lane: two lanes per output, added at the end. */
enum { GEMM8_MR = 4, GEMM8_NP = 1 };

INLINE void gemm8_tile(const int8_t *qx, size_t kp, const at_packed *W, size_t o,
                       const float *sx, const float *b, size_t cols, const float *res, float *y,
                       size_t out, int R, int NP)
{
    int32_t a[GEMM8_MR][32] = {{0}};
    const int8_t *w = W->q + o * kp;
    (void)NP;
    for (size_t k = 0; k < kp; k += 4, w += 64)
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            const int8_t *x = qx + r * kp + k;
            int16_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
            for (int j = 0; j < 16; j++) {
                a[r][2 * j] += (int16_t)(x0 * w[4 * j]) + (int16_t)(x1 * w[4 * j + 1]);
                a[r][2 * j + 1] += (int16_t)(x2 * w[4 * j + 2]) + (int16_t)(x3 * w[4 * j + 3]);
            }
        }
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        for (size_t j = 0; j < cols; j += AT_VW) {
            vi sum;
            for (int l = 0; l < AT_VW; l++)
                sum[l] = a[r][2 * (j + (size_t)l)] + a[r][2 * (j + (size_t)l) + 1];
            dequant_store(sum, sx[r], W->scale + o + j, b ? b + j : NULL,
                          res ? res + r * out + j : NULL, y + r * out + j, cols - j);
        }
}

static int plain_runs(void)
{
    return 1;
}

#include "kernels/drivers.h"

const at_kpath at_kpath_plain = AT_KPATH("plain", plain_runs, k_gemm8, k_quantize, k_halves_bits);
