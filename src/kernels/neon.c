/*
 * neon.c - the ARM64 paths: "neon" (Advanced SIMD, every ARMv8-A processor)
 * and, compiled from this same file by neondot.c with -march=armv8.2-a+dotprod,
 * "neondot" (the SDOT instruction: Cortex-A55/A75 and later, Neoverse N1 and
 * later, Apple M1 and later), each chosen at run time from getauxval(AT_HWCAP).
 * docs/kernels.md argues the instruction counts.
 */
#include <arm_neon.h>
#include <sys/auxv.h>

#define AT_VW 4

#include "kernels/generic.h"

/* Float products: 6 rows by one panel (four 4-float quarters): 24
 * accumulators and the panel's four vectors in the 32 registers. */
enum { GEMM_MR = 6, GEMM_NP = 1 };

INLINE void gemm_tile(const float *x, size_t in, const float *p, const float *b, size_t cols,
                      const float *res, float *y, size_t out, int R, int NP)
{
    float32x4_t acc[GEMM_MR][4];
    (void)NP;
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        for (int h = 0; h < 4; h++)
            acc[r][h] = vdupq_n_f32(0.0f);
    for (size_t k = 0; k < in; k++) {
        float32x4_t w0 = vld1q_f32(p + k * 16), w1 = vld1q_f32(p + k * 16 + 4);
        float32x4_t w2 = vld1q_f32(p + k * 16 + 8), w3 = vld1q_f32(p + k * 16 + 12);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            float xv = x[r * in + k];
            acc[r][0] = vfmaq_n_f32(acc[r][0], w0, xv);
            acc[r][1] = vfmaq_n_f32(acc[r][1], w1, xv);
            acc[r][2] = vfmaq_n_f32(acc[r][2], w2, xv);
            acc[r][3] = vfmaq_n_f32(acc[r][3], w3, xv);
        }
    }
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        for (size_t h = 0; h < 4 && 4 * h < cols; h++)
            out_store((vf)acc[r][h], b ? b + 4 * h : NULL, res ? res + r * out + 4 * h : NULL,
                      y + r * out + 4 * h, cols - 4 * h);
}

#ifdef AT_NEON_DOT
/* 8-bit products with SDOT: each 32-bit lane adds the four products of one
 * output's four inputs, 16 multiply-adds per instruction, in the panel's own
 * order ([16 outputs][4 inputs]: four vectors of four outputs). 4 rows by one
 * panel: 16 accumulators. */
enum { GEMM8_MR = 4, GEMM8_NP = 1 };

INLINE void gemm8_tile(const int8_t *qx, size_t kp, const void *pw, const at_packed *W, size_t o,
                       const float *sx, const float *b, size_t cols, const float *res, float *y,
                       size_t out, int R, int NP)
{
    int32x4_t acc[GEMM8_MR][4];
    const int8_t *w = pw;
    (void)NP;
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        for (int h = 0; h < 4; h++)
            acc[r][h] = vdupq_n_s32(0);
    for (size_t k = 0; k < kp; k += 4) {
        int8x16_t w0 = vld1q_s8(w + k * 16), w1 = vld1q_s8(w + k * 16 + 16);
        int8x16_t w2 = vld1q_s8(w + k * 16 + 32), w3 = vld1q_s8(w + k * 16 + 48);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            int32_t four;
            memcpy(&four, qx + r * kp + k, 4);
            int8x16_t x = vreinterpretq_s8_s32(vdupq_n_s32(four));
            acc[r][0] = vdotq_s32(acc[r][0], w0, x);
            acc[r][1] = vdotq_s32(acc[r][1], w1, x);
            acc[r][2] = vdotq_s32(acc[r][2], w2, x);
            acc[r][3] = vdotq_s32(acc[r][3], w3, x);
        }
    }
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        for (size_t h = 0; h < 4 && 4 * h < cols; h++)
            dequant_store((vi)acc[r][h], sx[r], W->scale + o + 4 * h, b ? b + 4 * h : NULL,
                          res ? res + r * out + 4 * h : NULL, y + r * out + 4 * h, cols - 4 * h);
}
#else
/* 8-bit products without SDOT: SMULL multiplies eight byte pairs into 16
 * bits, SMLAL adds the next four inputs' products to them (two products of
 * at most 127 * 127 fit in 16 bits), and SADALP adds neighbouring 16-bit
 * lanes into 32-bit ones: 16 multiply-adds in three instructions, two lanes
 * per output, added at the end. Eight inputs a step (kp is a multiple of 4:
 * an odd last group goes alone). 2 rows by one panel: 16 accumulators. */
enum { GEMM8_MR = 2, GEMM8_NP = 1 };

/* Eight products of x's four inputs, twice, with half of a weight vector. */
#define PAIR(acc, half, xa, wa, xb, wb) \
    acc = vpadalq_s16(acc, vmlal_s8(vmull_s8(xa, half(wa)), xb, half(wb)))

INLINE void gemm8_tile(const int8_t *qx, size_t kp, const void *pw, const at_packed *W, size_t o,
                       const float *sx, const float *b, size_t cols, const float *res, float *y,
                       size_t out, int R, int NP)
{
    int32x4_t acc[GEMM8_MR][8];
    const int8_t *w = pw;
    (void)NP;
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        for (int h = 0; h < 8; h++)
            acc[r][h] = vdupq_n_s32(0);
    size_t k = 0;
    for (; k + 8 <= kp; k += 8) {
        const int8_t *wa = w + k * 16, *wb = wa + 64;
        int8x16_t a0 = vld1q_s8(wa), a1 = vld1q_s8(wa + 16), a2 = vld1q_s8(wa + 32),
                  a3 = vld1q_s8(wa + 48);
        int8x16_t b0 = vld1q_s8(wb), b1 = vld1q_s8(wb + 16), b2 = vld1q_s8(wb + 32),
                  b3 = vld1q_s8(wb + 48);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            int32_t fa, fb;
            memcpy(&fa, qx + r * kp + k, 4);
            memcpy(&fb, qx + r * kp + k + 4, 4);
            int8x8_t xa = vreinterpret_s8_s32(vdup_n_s32(fa));
            int8x8_t xb = vreinterpret_s8_s32(vdup_n_s32(fb));
            PAIR(acc[r][0], vget_low_s8, xa, a0, xb, b0);
            PAIR(acc[r][1], vget_high_s8, xa, a0, xb, b0);
            PAIR(acc[r][2], vget_low_s8, xa, a1, xb, b1);
            PAIR(acc[r][3], vget_high_s8, xa, a1, xb, b1);
            PAIR(acc[r][4], vget_low_s8, xa, a2, xb, b2);
            PAIR(acc[r][5], vget_high_s8, xa, a2, xb, b2);
            PAIR(acc[r][6], vget_low_s8, xa, a3, xb, b3);
            PAIR(acc[r][7], vget_high_s8, xa, a3, xb, b3);
        }
    }
    if (k < kp) { /* the last four inputs */
        const int8_t *wa = w + k * 16;
        int8x16_t a[4] = {vld1q_s8(wa), vld1q_s8(wa + 16), vld1q_s8(wa + 32), vld1q_s8(wa + 48)};
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            int32_t fa;
            memcpy(&fa, qx + r * kp + k, 4);
            int8x8_t xa = vreinterpret_s8_s32(vdup_n_s32(fa));
            for (int h = 0; h < 4; h++) {
                acc[r][2 * h] = vpadalq_s16(acc[r][2 * h], vmull_s8(xa, vget_low_s8(a[h])));
                acc[r][2 * h + 1] = vpadalq_s16(acc[r][2 * h + 1], vmull_s8(xa, vget_high_s8(a[h])));
            }
        }
    }
    /* acc[r][h]: outputs 2h and 2h + 1, two lanes each */
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        for (size_t q = 0; q < 4 && 4 * q < cols; q++) {
            int32x4_t sum = vpaddq_s32(acc[r][2 * q], acc[r][2 * q + 1]);
            dequant_store((vi)sum, sx[r], W->scale + o + 4 * q, b ? b + 4 * q : NULL,
                          res ? res + r * out + 4 * q : NULL, y + r * out + 4 * q, cols - 4 * q);
        }
}
#undef PAIR
#endif

#include "kernels/drivers.h"

/* Rows to bytes: conversion to the nearest integer, ties to even (FCVTNS),
 * as lrintf does, then narrowed (no value needs saturating). */
static void quantize_neon(const float *x, size_t n, size_t in, size_t kp, at_qbuf *qb)
{
    int8_t *q = qb->q;
    float *scale = qb->scale;
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * in;
        int8_t *qi = q + i * kp;
        float inv = row_scale(xi, in, &scale[i]);
        size_t k = 0;
        for (; k + 8 <= in; k += 8) {
            int32x4_t a = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(xi + k), inv));
            int32x4_t c = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(xi + k + 4), inv));
            int16x8_t h = vcombine_s16(vmovn_s32(a), vmovn_s32(c));
            vst1_s8(qi + k, vmovn_s16(h));
        }
        quantize_tail(xi, k, in, kp, qi, inv);
    }
}

static void halves_neon(const void *src, size_t n, float *out, int add)
{
    const unsigned char *p = src;
    size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        uint16_t h[4];
        memcpy(h, p + 2 * k, sizeof h);
        float32x4_t v = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h)));
        if (add)
            v = vaddq_f32(v, vld1q_f32(out + k));
        vst1q_f32(out + k, v);
    }
    k_halves_bits(p + 2 * k, n - k, out + k, add);
}

#ifdef AT_NEON_DOT
static int neondot_runs(void)
{
    unsigned long hw = getauxval(AT_HWCAP);
    return (hw & HWCAP_ASIMD) && (hw & HWCAP_ASIMDDP);
}

const at_kpath at_kpath_neondot =
    AT_KPATH("neondot", neondot_runs, k_gemm8, quantize_neon, halves_neon);
#else
static int neon_runs(void)
{
    return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
}

const at_kpath at_kpath_neon = AT_KPATH("neon", neon_runs, k_gemm8, quantize_neon, halves_neon);
#endif
