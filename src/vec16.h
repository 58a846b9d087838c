/*
 * vec16.h - sixteen-float vectors for the hot loops (kernels.c, attention.c),
 * whose files are built with -Wno-psabi: these functions pass vectors by
 * value, which would only matter across a call, and every call is inlined.
 */
#ifndef ATTNTAG_VEC16_H
#define ATTNTAG_VEC16_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Always inlined: each clone of a hot function gets its own copy, compiled
 * for its instruction set (an out-of-line copy would pass vectors in the
 * registers of another ABI). */
#define AT_V16_INLINE static inline __attribute__((always_inline))

/* Sixteen floats as one vector (GCC/clang vector extension; one AVX-512
 * register, two AVX2 ones or four SSE ones, as the clone is compiled). The
 * functions below work lane by lane, so a value does not depend on its lane
 * or on its neighbours. */
typedef float at_v16 __attribute__((vector_size(64)));
typedef int32_t at_i16 __attribute__((vector_size(64)));

AT_V16_INLINE at_v16 at_select16(at_i16 mask, at_v16 a, at_v16 b)
{
    return (at_v16)((mask & (at_i16)a) | (~mask & (at_i16)b));
}

/* e^x, relative error below 1e-7 (x clamped to [-87, 88], where e^x stays a
 * normal float): x = n ln 2 + r with |r| <= ln 2 / 2, e^r by its Taylor
 * series to r^7, 2^n written into the exponent bits. */
AT_V16_INLINE at_v16 at_exp16(at_v16 x)
{
    const at_v16 zero = {0};
    x = at_select16(x < -87.0f, zero - 87.0f, x);
    x = at_select16(x > 88.0f, zero + 88.0f, x);
    /* n = round(x / ln 2): adding 1.5 * 2^23 leaves no fraction bits */
    at_v16 n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
    /* ln 2 in two parts; the first has 15 significant bits, so n times it is exact */
    at_v16 r = (x - n * 0.693145752f) - n * 1.42860677e-6f;
    at_v16 p = 1.0f + r * (1.0f + r * (1.0f / 2 + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
               r * (1.0f / 720 + r * (1.0f / 5040)))))));
    at_i16 bits = (__builtin_convertvector(n, at_i16) + 127) << 23; /* n + 127 in [1, 254] */
    return p * (at_v16)bits;
}

/* erf(x), absolute error below 6e-7: Abramowitz and Stegun 7.1.26. */
AT_V16_INLINE at_v16 at_erf16(at_v16 x)
{
    const at_i16 none = {0}, sign = none | (int32_t)0x80000000;
    at_v16 ax = (at_v16)((at_i16)x & ~sign), t = 1.0f / (1.0f + 0.3275911f * ax);
    at_v16 poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f +
                  t * (-1.453152027f + t * 1.061405429f))));
    at_v16 y = 1.0f - poly * at_exp16(-ax * ax);
    return (at_v16)((at_i16)y | ((at_i16)x & sign));
}

/* Loads and stores of n <= 16 floats; the lanes past n read as fill. */
AT_V16_INLINE at_v16 at_load16(const float *p, size_t n, float fill)
{
    at_v16 v;
    if (n >= 16) {
        memcpy(&v, p, sizeof v);
        return v;
    }
    for (int j = 0; j < 16; j++)
        v[j] = (size_t)j < n ? p[j] : fill;
    return v;
}

AT_V16_INLINE void at_store16(float *p, at_v16 v, size_t n)
{
    if (n >= 16) {
        memcpy(p, &v, sizeof v);
        return;
    }
    for (size_t j = 0; j < n; j++)
        p[j] = v[j];
}

/* The sum and the maximum of the lanes, folded in halves: one order always. */
AT_V16_INLINE float at_sum16(at_v16 v)
{
    v += __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
    v += __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
    v += __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    v += __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
    return v[0];
}

AT_V16_INLINE at_v16 at_max16(at_v16 a, at_v16 b)
{
    return at_select16(a > b, a, b);
}

AT_V16_INLINE float at_hmax16(at_v16 v)
{
    v = at_max16(v, __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15,
                                            0, 1, 2, 3, 4, 5, 6, 7));
    v = at_max16(v, __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3,
                                            12, 13, 14, 15, 8, 9, 10, 11));
    v = at_max16(v, __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5,
                                            10, 11, 8, 9, 14, 15, 12, 13));
    v = at_max16(v, __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6,
                                            9, 8, 11, 10, 13, 12, 15, 14));
    return v[0];
}

/* at_transpose16: r[i][j] <- r[j][i] for a 16 x 16 block, by swapping the
 * off-diagonal blocks of 8, then 4, 2 and 1 lanes between row pairs. */
#define AT_SWAP16(s, A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15,   \
                  B0, B1, B2, B3, B4, B5, B6, B7, B8, B9, B10, B11, B12, B13, B14, B15)      \
    for (int i = 0; i < 16; i++)                                                          \
        if (!(i & (s))) {                                                                 \
            at_v16 a = r[i], b = r[i + (s)];                                              \
            r[i] = __builtin_shufflevector(a, b, A0, A1, A2, A3, A4, A5, A6, A7, A8, A9,   \
                                           A10, A11, A12, A13, A14, A15);                 \
            r[i + (s)] = __builtin_shufflevector(a, b, B0, B1, B2, B3, B4, B5, B6, B7, B8, \
                                                 B9, B10, B11, B12, B13, B14, B15);       \
        }

AT_V16_INLINE void at_transpose16(at_v16 *r)
{
    AT_SWAP16(8, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23,
              8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31)
    AT_SWAP16(4, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27,
              4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31)
    AT_SWAP16(2, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29,
              2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31)
    AT_SWAP16(1, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30,
              1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31)
}
#undef AT_SWAP16

#endif
