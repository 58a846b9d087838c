/*
 * pack.c - weights in the forms the kernels read: float panels, 8-bit
 * panels with their scales, and 16-bit floats widened. One layout serves
 * every path.
 */
#include "internal.h"
#include "kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { PANEL = 16 }; /* outputs per packed panel */

int at_pack(const float *W, size_t out, size_t in, at_packed *P)
{
    size_t panels = (out + PANEL - 1) / PANEL, bytes = panels * in * PANEL * sizeof(float);
    float *p = NULL;
    memset(P, 0, sizeof *P);
    P->in = in;
    P->out = out;
    if (bytes && posix_memalign((void **)&p, 64, bytes))
        return -1;
    for (size_t pn = 0; pn < panels; pn++)
        for (size_t k = 0; k < in; k++)
            for (size_t j = 0; j < PANEL; j++) {
                size_t o = pn * PANEL + j;
                p[(pn * in + k) * PANEL + j] = o < out ? W[o * in + k] : 0.0f;
            }
    P->p = p;
    return 0;
}

void at_packed_free(at_packed *P)
{
    free(P->p);
    free(P->q);
    free(P->scale);
    free(P->colsum);
    P->p = NULL;
    P->q = NULL;
    P->scale = NULL;
    P->colsum = NULL;
}

/* The memory of an 8-bit pack of W [out, in], not cleared: every caller
 * writes all of it (the byte past the weights, which the vector loads of a
 * last group may touch, is 0). */
static int int8_alloc(size_t out, size_t in, at_packed *P)
{
    size_t panels = (out + PANEL - 1) / PANEL, kp = (in + 3) / 4 * 4;
    memset(P, 0, sizeof *P);
    P->in = in;
    P->out = out;
    P->kp = kp;
    if (posix_memalign((void **)&P->q, 64, panels * kp * PANEL + 1) ||
        !(P->scale = calloc(panels * PANEL, sizeof *P->scale)) ||
        !(P->colsum = calloc(panels * PANEL, sizeof *P->colsum))) {
        at_packed_free(P);
        return -1;
    }
    P->q[panels * kp * PANEL] = 0;
    return 0;
}

/* Each output's sum of weights (the VNNI path's correction): a panel's 64
 * bytes per group of inputs summed lane by lane, then each output's four. */
static void int8_colsums(at_packed *P)
{
    size_t panels = (P->out + PANEL - 1) / PANEL, kp = P->kp;
    for (size_t pn = 0; pn < panels; pn++) {
        int32_t sum[PANEL * 4] = {0};
        const int8_t *q = P->q + pn * kp * PANEL;
        for (size_t g = 0; g < kp / 4; g++)
            for (size_t i = 0; i < PANEL * 4; i++)
                sum[i] += q[g * PANEL * 4 + i];
        for (size_t j = 0; j < PANEL; j++)
            P->colsum[pn * PANEL + j] = sum[4 * j] + sum[4 * j + 1] + sum[4 * j + 2] + sum[4 * j + 3];
    }
}

/* 8-bit: each output's weights scaled by their largest magnitude to
 * [-127, 127] and rounded; packed [panel][in/4][16][4] (in padded to 4), the
 * order in which the 4-way integer dot products (vpdpbusd, sdot) and the
 * pairwise ones (vpmaddubsw + vpmaddwd) take them. */
int at_pack_int8(const float *W, size_t out, size_t in, at_packed *P)
{
    if (int8_alloc(out, in, P))
        return -1;
    size_t kp = P->kp;
    memset(P->q, 0, (out + PANEL - 1) / PANEL * kp * PANEL); /* the padding */
    for (size_t o = 0; o < out; o++) {
        float amax = 0;
        for (size_t k = 0; k < in; k++)
            amax = fabsf(W[o * in + k]) > amax ? fabsf(W[o * in + k]) : amax;
        float inv = amax > 0 ? 127.0f / amax : 0.0f;
        P->scale[o] = amax / 127.0f;
        size_t pn = o / PANEL, j = o % PANEL;
        for (size_t k = 0; k < in; k++) {
            long q = lrintf(W[o * in + k] * inv);
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            P->q[((pn * kp + k / 4 * 4) * PANEL) + j * 4 + k % 4] = (int8_t)q;
        }
    }
    int8_colsums(P);
    return 0;
}

int at_pack_int8_stored(const int8_t *q, const void *scale, size_t out, size_t in,
                        at_packed *P)
{
    if (int8_alloc(out, in, P))
        return -1;
    memcpy(P->q, q, (out + PANEL - 1) / PANEL * P->kp * PANEL); /* padding included */
    memcpy(P->scale, scale, out * sizeof *P->scale); /* little-endian floats, any alignment */
    int8_colsums(P);
    return 0;
}

/* 16-bit floats widen exactly: the paths' conversion instructions and this
 * bit arithmetic give the same values. */
float at_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0x1F)
        bits = sign | 0x7F800000u | man << 13;
    else if (exp)
        bits = sign | (exp + 112) << 23 | man << 13;
    else if (man) { /* subnormal: normalise */
        exp = 113;
        while (!(man & 0x400)) {
            man <<= 1;
            exp--;
        }
        bits = sign | exp << 23 | (man & 0x3FF) << 13;
    } else
        bits = sign;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}
