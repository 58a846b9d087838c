/*
 * test_kernels.c - the numeric building blocks, against values worked out by
 * hand, and the 16-bit float conversions against IEEE 754 bit patterns.
 */
#include "tests.h"

#include "internal.h"
#include "kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

START_TEST(softmax_values)
{
    float x[3] = {0.0f, logf(2.0f), logf(5.0f)};
    at_softmax(x, 3);
    ck_assert_float_eq_tol(x[0], 0.125f, 1e-6f);
    ck_assert_float_eq_tol(x[1], 0.25f, 1e-6f);
    ck_assert_float_eq_tol(x[2], 0.625f, 1e-6f);
    float y[3] = {1000.0f, -INFINITY, 1000.0f}; /* large values do not overflow */
    at_softmax(y, 3);
    ck_assert_float_eq_tol(y[0], 0.5f, 1e-6f);
    ck_assert_float_eq(y[1], 0.0f);
    float z[2] = {-INFINITY, -INFINITY};
    at_softmax(z, 2);
    ck_assert(z[0] == 0.0f && z[1] == 0.0f);
}
END_TEST

/* Layer norm on every kernel path (rows interleaved four at a time, vectors
 * of 4, 8 or 16 floats), for row counts past its groups of four and widths
 * with and without whole vectors, against double loops. */
START_TEST(layernorm_paths_match_double_loops)
{
    static const size_t widths[] = {3, 4, 8, 16, 20, 24, 128, 136};
    const char *start = at_kernels_name();
    unsigned seed = 17;
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++)
        for (size_t n = 1; n <= 9; n++) {
            size_t d = widths[wi];
            float x[9 * 136], w[136], b[136], y[9 * 136], mean[9], rstd[9];
            for (size_t i = 0; i < n * d; i++)
                x[i] = (float)(rand_r(&seed) % 20001 - 10000) / 1000.0f + (float)(i / d);
            for (size_t k = 0; k < d; k++) {
                w[k] = (float)(rand_r(&seed) % 2001) / 1000.0f;
                b[k] = (float)(rand_r(&seed) % 2001 - 1000) / 1000.0f;
            }
            int tested = 0;
            for (int p = 0; at_kernels_path(p); p++) {
                if (at_kernels_use(at_kernels_path(p)))
                    continue;
                at_layernorm(x, n, d, w, b, 1e-5, y, mean, rstd);
                tested++;
                for (size_t i = 0; i < n; i++) {
                    double m = 0, v = 0;
                    for (size_t k = 0; k < d; k++)
                        m += x[i * d + k];
                    m /= (double)d;
                    for (size_t k = 0; k < d; k++)
                        v += (x[i * d + k] - m) * (x[i * d + k] - m);
                    double r = 1.0 / sqrt(v / (double)d + 1e-5);
                    ck_assert(fabs(mean[i] - m) <= 1e-5 * (1 + fabs(m)));
                    ck_assert(fabs(rstd[i] - r) <= 1e-5 * r);
                    for (size_t k = 0; k < d; k++) {
                        double want = (x[i * d + k] - m) * r * w[k] + b[k];
                        ck_assert_msg(fabs(y[i * d + k] - want) <= 1e-5 * (1 + fabs(want)),
                                      "%s: n %zu d %zu: y[%zu][%zu] %.9g, want %.9g", at_kernels_path(p),
                                      n, d, i, k, (double)y[i * d + k], want);
                    }
                }
            }
            ck_assert_int_ge(tested, 1);
        }
    at_kernels_use(start);
}
END_TEST

/* at_argmax against the loop it stands for, with ties, infinities and NaN,
 * for lengths around the 16-lane steps. */
START_TEST(argmax_is_the_first_largest)
{
    unsigned seed = 23;
    float x[70];
    for (int trial = 0; trial < 3000; trial++) {
        size_t n = 1 + (size_t)(rand_r(&seed) % 70);
        for (size_t k = 0; k < n; k++) {
            int r = rand_r(&seed) % 20;
            x[k] = r == 0 ? NAN : r == 1 ? -INFINITY : r == 2 && trial % 7 == 0 ? INFINITY
                 : (float)(rand_r(&seed) % 5); /* small integers: many ties */
        }
        size_t want = 0;
        for (size_t k = 1; k < n; k++)
            if (x[k] > x[want])
                want = k;
        ck_assert_msg(at_argmax(x, n) == want, "trial %d, n %zu: %zu, want %zu", trial, n,
                      at_argmax(x, n), want);
    }
    ck_assert_uint_eq(at_argmax(x, 0), 0);
}
END_TEST

START_TEST(linear_and_layernorm)
{
    /* x = [[1, 2], [3, 4]], W = [[1, 0], [1, 1], [0, -1]], b = [0, 1, 2] */
    float x[4] = {1, 2, 3, 4}, W[6] = {1, 0, 1, 1, 0, -1}, b[3] = {0, 1, 2}, y[6];
    at_packed P;
    ck_assert_int_eq(at_pack(W, 3, 2, &P), 0);
    at_gemm(x, 2, &P, b, y, NULL);
    at_packed_free(&P);
    float want[6] = {1, 4, 0, 3, 8, -2};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq_tol(y[i], want[i], 1e-6f);
    /* LN([1, 3]) = [-1, 1]; with weight [2, 1] and bias [0, 1]: [-2, 2] */
    float v[2] = {1, 3}, w[2] = {2, 1}, bb[2] = {0, 1}, out[2], mean, rstd;
    at_layernorm(v, 1, 2, w, bb, 0.0f, out, &mean, &rstd);
    ck_assert_float_eq_tol(out[0], -2.0f, 1e-5f);
    ck_assert_float_eq_tol(out[1], 2.0f, 1e-5f);
    ck_assert_float_eq_tol(mean, 2.0f, 1e-6f);
    ck_assert_float_eq_tol(rstd, 1.0f, 1e-6f);
    /* the dot product handles lengths that are not a multiple of 8 */
    float a[11], c[11];
    for (int i = 0; i < 11; i++)
        a[i] = (float)i, c[i] = 1.0f;
    ck_assert_float_eq(at_dot(a, c, 11), 55.0f);
}
END_TEST

/* The blocked backward products against plain double-precision loops, for
 * every way a shape can miss the tiles: rows odd or even, outputs not a
 * multiple of 4, widths a multiple of 16, of 8 only, or of neither (the
 * forward products: test_gemm.c). */
START_TEST(linear_tiles_match_plain_products)
{
    static const size_t ns[] = {1, 2, 3, 5, 8}, ins[] = {3, 8, 16, 24, 40, 128},
                        outs[] = {1, 3, 4, 5, 17};
    const char *start = at_kernels_name();
    for (int p = 0; at_kernels_path(p); p++) {
        if (at_kernels_use(at_kernels_path(p)))
            continue;
        for (size_t a = 0; a < 5; a++)
            for (size_t c = 0; c < 6; c++)
                for (size_t e = 0; e < 5; e++) {
                    size_t n = ns[a], in = ins[c], out = outs[e];
                    float *x = malloc(n * in * sizeof *x), *W = malloc(out * in * sizeof *W),
                          *dy = malloc(n * out * sizeof *dy), *dW = malloc(out * in * sizeof *dW),
                          *db = malloc(out * sizeof *db), *dx = malloc(n * in * sizeof *dx);
                    ck_assert(x && W && dy && dW && db && dx);
                    for (size_t i = 0; i < n * in; i++)
                        x[i] = (float)((i * 7 + 3) % 11) / 11.0f - 0.5f;
                    for (size_t i = 0; i < out * in; i++) {
                        W[i] = (float)((i * 5 + 1) % 13) / 13.0f - 0.5f;
                        dW[i] = 0.25f; /* accumulated into */
                    }
                    for (size_t o = 0; o < out; o++)
                        db[o] = 1.0f;
                    for (size_t i = 0; i < n * out; i++)
                        dy[i] = (float)((i * 3 + 2) % 7) / 7.0f - 0.5f;
                    at_linear_backward(x, n, in, W, dy, out, dW, db, dx);
                    for (size_t o = 0; o < out; o++) {
                        double want_b = 1.0;
                        for (size_t i = 0; i < n; i++)
                            want_b += dy[i * out + o];
                        ck_assert(fabs(db[o] - want_b) < 1e-5);
                        for (size_t k = 0; k < in; k++) {
                            double want = 0.25;
                            for (size_t i = 0; i < n; i++)
                                want += (double)dy[i * out + o] * x[i * in + k];
                            ck_assert_msg(fabs(dW[o * in + k] - want) < 1e-5,
                                          "%s: dW n=%zu in=%zu out=%zu [%zu][%zu]",
                                          at_kernels_path(p), n, in, out, o, k);
                        }
                    }
                    for (size_t i = 0; i < n; i++)
                        for (size_t k = 0; k < in; k++) {
                            double want = 0;
                            for (size_t o = 0; o < out; o++)
                                want += (double)dy[i * out + o] * W[o * in + k];
                            ck_assert_msg(fabs(dx[i * in + k] - want) < 1e-5,
                                          "%s: dx n=%zu in=%zu out=%zu [%zu][%zu]",
                                          at_kernels_path(p), n, in, out, i, k);
                        }
                    free(x), free(W), free(dy), free(dW), free(db), free(dx);
                }
    }
    at_kernels_use(start);
}
END_TEST

START_TEST(activations)
{
    float x[3] = {-1.0f, 0.0f, 1.0f}, y[3];
    at_relu(x, 3, y);
    ck_assert(y[0] == 0 && y[1] == 0 && y[2] == 1);
    at_gelu(x, 3, y);
    /* GELU(1) = 0.5 (1 + erf(1/sqrt 2)) = 0.8413447 */
    ck_assert_float_eq_tol(y[2], 0.8413447f, 1e-6f);
    ck_assert_float_eq_tol(y[0], -0.1586553f, 1e-6f);
}
END_TEST

/* GELU, its derivative and softmax use their own erf and exp (so that they
 * vectorise), the same formulas on every kernel path: against libm in double
 * over the whole useful range, on every path, every tail length; and the
 * paths against each other (vector widths and fused multiply-adds differ:
 * within the formulas' own error). */
START_TEST(gelu_and_softmax_match_libm)
{
    enum { N = 24001 };
    const char *start = at_kernels_name();
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *ones = malloc(N * sizeof *ones),
          *dx = malloc(N * sizeof *dx), *ref = malloc(N * sizeof *ref);
    ck_assert(x && y && ones && dx && ref);
    for (int i = 0; i < N; i++)
        x[i] = -12.0f + (float)i * 0.001f, ones[i] = 1.0f;
    ck_assert_int_eq(at_kernels_use("plain"), 0);
    at_gelu(x, N, ref);
    int tested = 0;
    for (int p = 0; at_kernels_path(p); p++) {
        const char *path = at_kernels_path(p);
        if (at_kernels_use(path))
            continue;
        tested++;
        at_gelu(x, N, y);
        for (size_t i = 0; i < N; i++) {
            double v = x[i], cdf = 0.5 * (1.0 + erf(v / sqrt(2.0)));
            ck_assert_msg(fabs(y[i] - v * cdf) < 1e-6 * fmax(1.0, fabs(v)),
                          "%s: gelu(%g) = %.9g", path, v, (double)y[i]);
            ck_assert_msg(fabs(y[i] - ref[i]) <= 5e-7 * fmax(1.0, fabs(v)),
                          "%s: gelu(%g) = %.9g, plain %.9g", path, v, (double)y[i],
                          (double)ref[i]);
        }
        for (size_t n = 0; n <= 40; n++) { /* every tail length: the same values, no more */
            memset(dx, 0, 41 * sizeof *dx);
            at_gelu(x + 11000, n, dx);
            for (size_t i = 0; i <= 40; i++)
                ck_assert_msg(i < n ? dx[i] == y[11000 + i] : dx[i] == 0.0f,
                              "%s: n %zu, [%zu] %.9g", path, n, i, (double)dx[i]);
        }
        at_gelu_backward(x, ones, N, dx);
        for (int i = 0; i < N; i++) {
            double v = x[i], cdf = 0.5 * (1.0 + erf(v / sqrt(2.0)));
            double pdf = exp(-0.5 * v * v) / sqrt(2.0 * M_PI);
            ck_assert_msg(fabs(dx[i] - (cdf + v * pdf)) < 1e-6 * fmax(1.0, fabs(v)),
                          "%s: gelu'(%g)", path, v);
        }
        /* softmax over scores from -80 to 80 apart: relative error of each weight */
        for (int n = 1; n <= 40; n++) {
            float sc[40];
            double z = 0, want[40];
            for (int i = 0; i < n; i++)
                sc[i] = (float)((i * 37) % 41) * 4.0f - 80.0f;
            for (int i = 0; i < n; i++)
                z += exp((double)sc[i]);
            for (int i = 0; i < n; i++)
                want[i] = exp((double)sc[i]) / z;
            at_softmax(sc, (size_t)n);
            for (int i = 0; i < n; i++)
                ck_assert_msg(fabs(sc[i] - want[i]) <= 1e-6 * want[i] + 1e-37,
                              "%s: softmax n=%d [%d]", path, n, i);
        }
    }
    ck_assert_int_ge(tested, 1);
    at_kernels_use(start);
    free(x), free(y), free(ones), free(dx), free(ref);
}
END_TEST

/* 16-bit floats widened on every path (with conversion instructions or
 * without), every value and every tail length, as at_half_to_float gives
 * them; and added to what is there. */
START_TEST(halves_on_every_path)
{
    enum { N = 65536 };
    const char *start = at_kernels_name();
    unsigned char *src = malloc(2 * N);
    float *out = malloc((N + 1) * sizeof *out);
    ck_assert(src && out);
    for (uint32_t h = 0; h < N; h++)
        src[2 * h] = (unsigned char)h, src[2 * h + 1] = (unsigned char)(h >> 8);
    for (int p = 0; at_kernels_path(p); p++) {
        if (at_kernels_use(at_kernels_path(p)))
            continue;
        at_halves(src, N, out, 0);
        for (uint32_t h = 0; h < N; h++) { /* NaN payloads may differ */
            float want = at_half_to_float((uint16_t)h);
            ck_assert_msg(isnan(want) ? isnan(out[h]) : memcmp(&out[h], &want, sizeof want) == 0,
                          "%s: half %04x", at_kernels_path(p), h);
        }
        for (size_t n = 0; n <= 40; n++) { /* tails, and the sum form */
            for (size_t i = 0; i <= n; i++)
                out[i] = 1.0f;
            at_halves(src + 2 * 0x3C00, n, out, 1); /* 1.0, 1.000977, ... */
            for (size_t i = 0; i < n; i++)
                ck_assert(out[i] == 1.0f + at_half_to_float((uint16_t)(0x3C00 + i)));
            ck_assert(out[n] == 1.0f);
        }
    }
    at_kernels_use(start);
    free(src), free(out);
}
END_TEST

START_TEST(half_floats)
{
    static const struct { uint16_t h; float f; } cases[] = {
        {0x3C00, 1.0f}, {0xC000, -2.0f}, {0x7BFF, 65504.0f}, {0x0001, 5.9604645e-8f},
        {0x0400, 6.1035156e-5f}, {0x3555, 0.33325195f}, {0x0000, 0.0f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ck_assert_float_eq(at_half_to_float(cases[i].h), cases[i].f);
        ck_assert_uint_eq(at_float_to_half(cases[i].f), cases[i].h);
    }
    ck_assert_uint_eq(at_float_to_half(1e6f), 0x7C00);          /* overflow: infinity */
    ck_assert_uint_eq(at_float_to_half(1.0f + 1.0f / 2048), 0x3C00); /* ties to even */
    ck_assert(isinf(at_half_to_float(0x7C00)));
    ck_assert(isnan(at_half_to_float(0x7E00)));
    for (uint32_t h = 0; h < 0x7C00; h++) /* every finite half survives the round trip */
        ck_assert_uint_eq(at_float_to_half(at_half_to_float((uint16_t)h)), h);
}
END_TEST

START_TEST(crc32_check_value)
{
    ck_assert_uint_eq(at_crc32(0, "123456789", 9), 0xCBF43926u); /* the standard check */
    uint32_t part = at_crc32(0, "12345", 5);
    ck_assert_uint_eq(at_crc32(part, "6789", 4), 0xCBF43926u);
}
END_TEST

/* CRC-32C: the standard check value, and the three-stream hardware path
 * against the byte table over lengths around its 24 KiB rounds, from
 * unaligned starts. */
START_TEST(crc32c_check_value)
{
    ck_assert_uint_eq(at_crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(at_crc32c_portable(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(at_crc32c(at_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
    size_t big = 3 * 24576 + 100;
    unsigned char *b = malloc(big + 3);
    unsigned seed = 5;
    for (size_t i = 0; i < big + 3; i++)
        b[i] = (unsigned char)rand_r(&seed);
    size_t lens[] = {0, 7, 8, 24575, 24576, 24577, 2 * 24576 + 9, big};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
        for (size_t off = 0; off < 3; off++)
            ck_assert_uint_eq(at_crc32c(0, b + off, lens[i]), at_crc32c_portable(0, b + off, lens[i]));
    free(b);
}
END_TEST

Suite *kernels_suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("maths");
    tcase_set_timeout(tc, 120); /* every path, under the sanitizers, on a busy machine */
    tcase_add_test(tc, softmax_values);
    tcase_add_test(tc, linear_and_layernorm);
    tcase_add_test(tc, argmax_is_the_first_largest);
    tcase_add_test(tc, layernorm_paths_match_double_loops);
    tcase_add_test(tc, linear_tiles_match_plain_products);
    tcase_add_test(tc, activations);
    tcase_add_test(tc, gelu_and_softmax_match_libm);
    tcase_add_test(tc, halves_on_every_path);
    tcase_add_test(tc, half_floats);
    tcase_add_test(tc, crc32_check_value);
    tcase_add_test(tc, crc32c_check_value);
    suite_add_tcase(s, tc);
    return s;
}
