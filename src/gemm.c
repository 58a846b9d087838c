/*
 * gemm.c - the forward pass's matrix product y = x · W^T + b over many rows
 * at once, with W packed in the layout the kernels stream, and one code path
 * per instruction set (AVX-512, AVX2 + FMA, plain x86-64) picked at run time.
 *
 * Every output is b[o] + (sum over k, in order, of x[i][k] W[o][k]): a row's
 * result does not depend on the other rows of the product, nor on the tile
 * that computed it. The AVX-512 and AVX2 paths fuse each multiply-add and so
 * give the same bits; the plain path rounds each product first.
 */
#include "attntag.h"
#include "kernels.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AT_X86 1
#define T512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))
#define TAVX2 __attribute__((target("avx2,fma")))
#endif
#define INLINE static inline __attribute__((always_inline))

enum { PANEL = 16 }; /* outputs per packed panel */

int at_pack(const float *W, size_t out, size_t in, at_packed *P)
{
    size_t panels = (out + PANEL - 1) / PANEL, bytes = panels * in * PANEL * sizeof(float);
    float *p = NULL;
    P->p = NULL;
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
    P->p = NULL;
}

/* ---- plain x86-64: R rows by one panel, element-wise (SSE2 vectorises it) */

INLINE void tile_plain(const float *x, size_t in, const float *p, const float *b, size_t cols,
                       float *y, size_t out, int R)
{
    float acc[4][PANEL] = {{0}};
    for (size_t k = 0; k < in; k++)
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            float xv = x[r * in + k];
            for (int j = 0; j < PANEL; j++)
                acc[r][j] = acc[r][j] + xv * p[k * PANEL + j];
        }
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        for (size_t j = 0; j < cols; j++)
            y[r * out + j] = acc[r][j] + (b ? b[j] : 0.0f);
}

static void gemm_plain(const float *x, size_t n, const at_packed *W, const float *b, float *y)
{
    size_t in = W->in, out = W->out;
    for (size_t i = 0; i < n; i += 4) {
        int R = n - i < 4 ? (int)(n - i) : 4;
        for (size_t o = 0; o < out; o += PANEL) {
            size_t cols = out - o < PANEL ? out - o : PANEL;
            const float *p = W->p + o * in, *bo = b ? b + o : NULL;
            float *yo = y + i * out + o;
            const float *xi = x + i * in;
            switch (R) {
            case 4: tile_plain(xi, in, p, bo, cols, yo, out, 4); break;
            case 3: tile_plain(xi, in, p, bo, cols, yo, out, 3); break;
            case 2: tile_plain(xi, in, p, bo, cols, yo, out, 2); break;
            default: tile_plain(xi, in, p, bo, cols, yo, out, 1); break;
            }
        }
    }
}

#ifdef AT_X86
/* ---- AVX2 + FMA: up to 6 rows by one panel (two 8-float halves) */

TAVX2 INLINE void tile_avx2(const float *x, size_t in, const float *p, const float *b,
                            size_t cols, float *y, size_t out, int R)
{
    __m256 lo[6], hi[6];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        lo[r] = hi[r] = _mm256_setzero_ps();
    for (size_t k = 0; k < in; k++) {
        __m256 w0 = _mm256_load_ps(p + k * PANEL), w1 = _mm256_load_ps(p + k * PANEL + 8);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m256 xv = _mm256_broadcast_ss(x + r * in + k);
            lo[r] = _mm256_fmadd_ps(xv, w0, lo[r]);
            hi[r] = _mm256_fmadd_ps(xv, w1, hi[r]);
        }
    }
    float bias[PANEL] = {0};
    if (b)
        memcpy(bias, b, cols * sizeof *bias);
    __m256 b0 = _mm256_loadu_ps(bias), b1 = _mm256_loadu_ps(bias + 8);
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        __m256 y0 = _mm256_add_ps(lo[r], b0), y1 = _mm256_add_ps(hi[r], b1);
        if (cols == PANEL) {
            _mm256_storeu_ps(y + r * out, y0);
            _mm256_storeu_ps(y + r * out + 8, y1);
        } else {
            float t[PANEL];
            _mm256_storeu_ps(t, y0);
            _mm256_storeu_ps(t + 8, y1);
            memcpy(y + r * out, t, cols * sizeof *t);
        }
    }
}

TAVX2 static void gemm_avx2(const float *x, size_t n, const at_packed *W, const float *b,
                            float *y)
{
    size_t in = W->in, out = W->out;
    for (size_t i = 0; i < n; i += 6) {
        int R = n - i < 6 ? (int)(n - i) : 6;
        for (size_t o = 0; o < out; o += PANEL) {
            size_t cols = out - o < PANEL ? out - o : PANEL;
            const float *p = W->p + o * in, *bo = b ? b + o : NULL;
            float *yo = y + i * out + o;
            const float *xi = x + i * in;
            switch (R) {
            case 6: tile_avx2(xi, in, p, bo, cols, yo, out, 6); break;
            case 5: tile_avx2(xi, in, p, bo, cols, yo, out, 5); break;
            case 4: tile_avx2(xi, in, p, bo, cols, yo, out, 4); break;
            case 3: tile_avx2(xi, in, p, bo, cols, yo, out, 3); break;
            case 2: tile_avx2(xi, in, p, bo, cols, yo, out, 2); break;
            default: tile_avx2(xi, in, p, bo, cols, yo, out, 1); break;
            }
        }
    }
}

/* ---- AVX-512: up to 8 rows by two panels (32 outputs) */

T512 INLINE void tile_512(const float *x, size_t in, const float *p0, const float *b,
                          size_t cols, float *y, size_t out, int R, int two)
{
    __m512 a0[8], a1[8];
    const float *p1 = p0 + in * PANEL;
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        a0[r] = a1[r] = _mm512_setzero_ps();
    for (size_t k = 0; k < in; k++) {
        __m512 w0 = _mm512_load_ps(p0 + k * PANEL);
        __m512 w1 = two ? _mm512_load_ps(p1 + k * PANEL) : w0;
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512 xv = _mm512_set1_ps(x[r * in + k]);
            a0[r] = _mm512_fmadd_ps(xv, w0, a0[r]);
            if (two)
                a1[r] = _mm512_fmadd_ps(xv, w1, a1[r]);
        }
    }
    size_t c0 = cols < PANEL ? cols : PANEL, c1 = cols - c0;
    __mmask16 m0 = (__mmask16)((1u << c0) - 1), m1 = (__mmask16)((1u << c1) - 1);
    __m512 b0 = b ? _mm512_maskz_loadu_ps(m0, b) : _mm512_setzero_ps();
    __m512 b1 = b && two ? _mm512_maskz_loadu_ps(m1, b + PANEL) : _mm512_setzero_ps();
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        _mm512_mask_storeu_ps(y + r * out, m0, _mm512_add_ps(a0[r], b0));
        if (two)
            _mm512_mask_storeu_ps(y + r * out + PANEL, m1, _mm512_add_ps(a1[r], b1));
    }
}

T512 INLINE void rows_512(const float *x, size_t in, const float *p, const float *b,
                          size_t cols, float *y, size_t out, int R)
{
    if (cols > PANEL)
        tile_512(x, in, p, b, cols, y, out, R, 1);
    else
        tile_512(x, in, p, b, cols, y, out, R, 0);
}

T512 static void gemm_512(const float *x, size_t n, const at_packed *W, const float *b,
                          float *y)
{
    size_t in = W->in, out = W->out;
    for (size_t i = 0; i < n; i += 8) {
        int R = n - i < 8 ? (int)(n - i) : 8;
        for (size_t o = 0; o < out; o += 2 * PANEL) {
            size_t cols = out - o < 2 * PANEL ? out - o : 2 * PANEL;
            const float *p = W->p + o * in, *bo = b ? b + o : NULL;
            float *yo = y + i * out + o;
            const float *xi = x + i * in;
            switch (R) {
            case 8: rows_512(xi, in, p, bo, cols, yo, out, 8); break;
            case 7: rows_512(xi, in, p, bo, cols, yo, out, 7); break;
            case 6: rows_512(xi, in, p, bo, cols, yo, out, 6); break;
            case 5: rows_512(xi, in, p, bo, cols, yo, out, 5); break;
            case 4: rows_512(xi, in, p, bo, cols, yo, out, 4); break;
            case 3: rows_512(xi, in, p, bo, cols, yo, out, 3); break;
            case 2: rows_512(xi, in, p, bo, cols, yo, out, 2); break;
            default: rows_512(xi, in, p, bo, cols, yo, out, 1); break;
            }
        }
    }
}
#endif

/* ---- choosing the path */

typedef void gemm_fn(const float *, size_t, const at_packed *, const float *, float *);

static const struct path {
    const char *name;
    gemm_fn *gemm;
} paths[] = {
    {"plain", gemm_plain},
#ifdef AT_X86
    {"avx2", gemm_avx2},
    {"avx512", gemm_512},
#endif
};

static int cpu_has(int path)
{
#ifdef AT_X86
    __builtin_cpu_init();
    if (path == 1)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (path == 2)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
#endif
    return path == 0;
}

static int current = -1;
static pthread_once_t chosen = PTHREAD_ONCE_INIT;

/* The best path the processor runs, unless ATTNTAG_KERNELS names another it
 * runs (to compare the paths on one machine). */
static void choose(void)
{
    int n = (int)(sizeof paths / sizeof *paths);
    current = 0;
    for (int i = n - 1; i > 0; i--)
        if (cpu_has(i)) {
            current = i;
            break;
        }
    const char *want = getenv("ATTNTAG_KERNELS");
    for (int i = 0; want && i < n; i++)
        if (strcmp(want, paths[i].name) == 0 && cpu_has(i))
            current = i;
}

const char *at_kernels_name(void)
{
    pthread_once(&chosen, choose);
    return paths[current].name;
}

int at_kernels_available(const char *name)
{
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (strcmp(name, paths[i].name) == 0)
            return cpu_has((int)i);
    return 0;
}

int at_kernels_use(const char *name)
{
    pthread_once(&chosen, choose);
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (strcmp(name, paths[i].name) == 0 && cpu_has((int)i)) {
            current = (int)i;
            return 0;
        }
    return -1;
}

void at_gemm(const float *x, size_t n, const at_packed *W, const float *b, float *y)
{
    pthread_once(&chosen, choose);
    if (n && W->out)
        paths[current].gemm(x, n, W, b, y);
}
