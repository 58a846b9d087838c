/*
 * drivers.h - the loops around the matrix products' micro-kernels, written
 * once: included by each path file after its gemm_tile and gemm8_tile (see
 * generic.h).
 */

/* Calls `tile` with R_ a constant from 1 to 8 (at most MR), as R says. */
#define TILE_CASE(r, MR, call)        \
    case r:                           \
        if ((r) <= (MR)) {            \
            enum { R_ = (r) <= (MR) ? (r) : 1 }; \
            call;                     \
        }                             \
        break;
#define BY_ROWS(R, MR, call)                                                              \
    switch (R) {                                                                          \
        TILE_CASE(8, MR, call) TILE_CASE(7, MR, call) TILE_CASE(6, MR, call)              \
        TILE_CASE(5, MR, call) TILE_CASE(4, MR, call) TILE_CASE(3, MR, call)              \
        TILE_CASE(2, MR, call) default: { enum { R_ = 1 }; call; } break;                 \
    }

/* y[n, out] = (res +) x[n, in] · W^T + b, W packed in panels of 16 outputs. */
static void k_gemm(const float *x, size_t n, const at_packed *W, const float *b,
                   const float *res, float *y)
{
    size_t in = W->in, out = W->out;
    for (size_t i = 0; i < n; i += GEMM_MR) {
        int R = n - i < GEMM_MR ? (int)(n - i) : GEMM_MR;
        for (size_t o = 0; o < out; o += 16 * GEMM_NP) {
            size_t cols = out - o < 16 * GEMM_NP ? out - o : 16 * GEMM_NP;
            const float *p = W->p + o * in, *bo = b ? b + o : NULL;
            const float *xi = x + i * in, *ro = res ? res + i * out + o : NULL;
            float *yo = y + i * out + o;
            if (cols > 16 * (GEMM_NP - 1)) {
                BY_ROWS(R, GEMM_MR, gemm_tile(xi, in, p, bo, cols, ro, yo, out, R_, GEMM_NP))
            } else {
                BY_ROWS(R, GEMM_MR, gemm_tile(xi, in, p, bo, cols, ro, yo, out, R_, 1))
            }
        }
    }
}

/* y[n, out] = (res +) dequantised (qx[n, kp] · W^T) + b, W 8-bit. */
static void k_gemm8(const int8_t *qx, const float *sx, size_t n, const at_packed *W,
                    const float *b, const float *res, float *y)
{
    size_t kp = W->kp, out = W->out;
    for (size_t i = 0; i < n; i += GEMM8_MR) {
        int R = n - i < GEMM8_MR ? (int)(n - i) : GEMM8_MR;
        for (size_t o = 0; o < out; o += 16 * GEMM8_NP) {
            size_t cols = out - o < 16 * GEMM8_NP ? out - o : 16 * GEMM8_NP;
            const int8_t *qi = qx + i * kp;
            const float *bo = b ? b + o : NULL, *ro = res ? res + i * out + o : NULL;
            float *yo = y + i * out + o;
            if (cols > 16 * (GEMM8_NP - 1)) {
                BY_ROWS(R, GEMM8_MR, gemm8_tile(qi, kp, W, o, sx + i, bo, cols, ro, yo, out, R_,
                                                GEMM8_NP))
            } else {
                BY_ROWS(R, GEMM8_MR, gemm8_tile(qi, kp, W, o, sx + i, bo, cols, ro, yo, out, R_, 1))
            }
        }
    }
}

/* Rows of x to signed bytes q = round(x / scale), scale = max |x| / 127 per
 * row (0: the row is zero), rows kp bytes apart and zero past in. |x| <= amax
 * and inv is 127 / amax rounded, so |x inv| < 127.5: no value needs
 * clamping. Rounding is to nearest even, as the vector conversions do. */
INLINE float row_scale(const float *xi, size_t in, float *scale)
{
    vf m = {0};
    size_t k = 0;
    for (; k + AT_VW <= in; k += AT_VW) {
        vf v = vload(xi + k, AT_VW, 0);
        m = vmax(m, vselect(v < 0, -v, v));
    }
    float amax = vhmax(m);
    for (; k < in; k++)
        amax = fabsf(xi[k]) > amax ? fabsf(xi[k]) : amax;
    *scale = amax / 127.0f;
    return amax > 0 ? 127.0f / amax : 0.0f;
}

/* The inputs of row xi from k on, and the row's padding. */
INLINE void quantize_tail(const float *xi, size_t k, size_t in, size_t kp, int8_t *qi, float inv)
{
    for (; k < in; k++)
        qi[k] = (int8_t)lrintf(xi[k] * inv);
    memset(qi + in, 0, kp - in);
}

/* The generic form (paths with faster conversions have their own). */
static inline void k_quantize(const float *x, size_t n, size_t in, size_t kp, int8_t *q,
                              float *scale)
{
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * in;
        quantize_tail(xi, 0, in, kp, q + i * kp, row_scale(xi, in, &scale[i]));
    }
}
