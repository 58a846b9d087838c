/*
 * drivers.h - the loops around the matrix products' micro-kernels, written
 * once: included by each path file after its gemm_tile and gemm8_tile (see
 * generic.h).
 */

/* Makes `call` with R_ a constant from 1 to 8 (at most MR), as R says: each
 * tile height gets its own copy of the micro-kernel, its accumulators in
 * registers. The cases past MR are compiled with R_ = 1 and never taken. */
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

/* The rows i .. i + GEMM8_MR (at most n) against the panel(s) at output o. */
INLINE void gemm8_rows(const at_qbuf *qb, size_t i, size_t n, const void *pw, const at_packed *W,
                       size_t o, const float *b, const float *res, float *y)
{
    size_t kp = W->kp, out = W->out;
    size_t cols = out - o < 16 * GEMM8_NP ? out - o : 16 * GEMM8_NP;
    int R = n - i < GEMM8_MR ? (int)(n - i) : GEMM8_MR;
    const qelem *qi = (const qelem *)qb->q + i * kp;
    const float *bo = b ? b + o : NULL, *ro = res ? res + i * out + o : NULL;
    const float *si = qb->scale + i;
    float *yo = y + i * out + o;
    if (cols > 16 * (GEMM8_NP - 1)) {
        BY_ROWS(R, GEMM8_MR, gemm8_tile(qi, kp, pw, W, o, si, bo, cols, ro, yo, out, R_, GEMM8_NP))
    } else {
        BY_ROWS(R, GEMM8_MR, gemm8_tile(qi, kp, pw, W, o, si, bo, cols, ro, yo, out, R_, 1))
    }
}

/* y[n, out] = (res +) dequantised (qx[n, kp] · W^T) + b, W 8-bit. A path
 * that reads the packed panels as they are takes a tile of rows against
 * every panel (the rows stay in the nearest cache); one that copies each
 * panel first (GEMM8_PANEL_COPY) copies it once and takes every row against it. */
static void k_gemm8(const at_qbuf *qb, size_t n, const at_packed *W, const float *b,
                    const float *res, float *y)
{
    size_t out = W->out, step = 16 * GEMM8_NP;
#ifdef GEMM8_PANEL_COPY
    for (size_t o = 0; o < out; o += step) {
        const void *pw = gemm8_panel(W, o, out - o < step ? out - o : step, qb->panel);
        for (size_t i = 0; i < n; i += GEMM8_MR)
            gemm8_rows(qb, i, n, pw, W, o, b, res, y);
    }
#else
    for (size_t i = 0; i < n; i += GEMM8_MR)
        for (size_t o = 0; o < out; o += step)
            gemm8_rows(qb, i, n, W->q + o * W->kp, W, o, b, res, y);
#endif
}
