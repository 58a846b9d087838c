/*
 * test_gemm.c - the forward pass's matrix products on every instruction-set
 * path this processor has, against plain double-precision loops written
 * here, for every way a shape can miss the tiles; the 8-bit products against
 * the integer arithmetic they stand for; and batches: a sentence's tags and
 * probabilities do not depend on what else is tagged with it.
 */
#include "tests.h"

#include "internal.h"
#include "kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float frand(unsigned *seed)
{
    return (float)(rand_r(seed) % 20001 - 10000) / 10000.0f;
}

/* The shapes: every row count up to two tiles of the tallest (8 rows), so
 * that every tile height (8, 6, 4, ...) meets every remainder; outputs
 * around the vector halves (8), the 16-wide panels and the 32-wide pairs of
 * them; inputs odd and even, around the 4-byte groups and the widths the
 * quantising loops take at once (16, 32, 64). */
static const size_t NS[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
static const size_t OUTS[] = {1, 5, 8, 9, 15, 16, 17, 24, 31, 32, 33, 50};
static const size_t INS[] = {1, 3, 4, 13, 17, 33, 64, 65, 130};

static void fill(float *p, size_t n, unsigned *seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = frand(seed);
}

START_TEST(float_paths_match_double_loops)
{
    const char *start = at_kernels_name();
    unsigned seed = 7;
    int tested = 0;
    int fused = at_kernels_available("avx2") && at_kernels_available("avx512");
    for (int pi = 0; at_kernels_path(pi); pi++) {
        if (!at_kernels_available(at_kernels_path(pi)))
            continue;
        ck_assert_int_eq(at_kernels_use(at_kernels_path(pi)), 0);
        tested++;
        for (size_t a = 0; a < sizeof NS / sizeof *NS; a++)
            for (size_t b = 0; b < sizeof OUTS / sizeof *OUTS; b++)
                for (size_t c = 0; c < sizeof INS / sizeof *INS; c++) {
                    size_t n = NS[a], out = OUTS[b], in = INS[c];
                    float *x = malloc(n * in * sizeof *x), *W = malloc(out * in * sizeof *W);
                    float *bias = malloc(out * sizeof *bias), *y = malloc(n * out * sizeof *y);
                    fill(x, n * in, &seed);
                    fill(W, out * in, &seed);
                    fill(bias, out, &seed);
                    at_packed P;
                    ck_assert_int_eq(at_pack(W, out, in, &P), 0);
                    at_gemm(x, n, &P, bias, y, NULL);
                    if (fused && strcmp(at_kernels_path(pi), "avx512") == 0) {
                        /* the same fused multiply-adds in the same order: the same bits */
                        float *y2 = malloc(n * out * sizeof *y2);
                        ck_assert_int_eq(at_kernels_use("avx2"), 0);
                        at_gemm(x, n, &P, bias, y2, NULL);
                        ck_assert_int_eq(at_kernels_use("avx512"), 0);
                        ck_assert_msg(memcmp(y, y2, n * out * sizeof *y) == 0,
                                      "avx2 and avx512 differ: n %zu out %zu in %zu", n, out, in);
                        free(y2);
                    }
                    for (size_t i = 0; i < n; i++)
                        for (size_t o = 0; o < out; o++) {
                            double want = bias[o], mag = fabs(bias[o]);
                            for (size_t k = 0; k < in; k++) {
                                want += (double)x[i * in + k] * W[o * in + k];
                                mag += fabs((double)x[i * in + k] * W[o * in + k]);
                            }
                            ck_assert_msg(fabs(y[i * out + o] - want) <= 1e-6 * mag + 1e-7,
                                          "%s: n %zu out %zu in %zu: y[%zu][%zu] = %g, want %g",
                                          at_kernels_path(pi), n, out, in, i, o, y[i * out + o], want);
                        }
                    at_packed_free(&P);
                    free(x), free(W), free(bias), free(y);
                }
    }
    printf("kernels: float products tested on %d paths (this processor runs %s)\n", tested,
           start);
    ck_assert_int_ge(tested, 1);
    at_kernels_use(start);
}
END_TEST

/* 8-bit: the result must be what the documented arithmetic gives, worked out
 * here from W and x alone: per output, scale = max |W[o]| / 127 and
 * q = round(W / scale); per row, the same for x with 31 (docs/model-format.md);
 * y = sum(qx qw) sx sw + b. */
static double int8_reference(const float *x, size_t in, const float *W, size_t o, float bias)
{
    float wmax = 0, xmax = 0;
    for (size_t k = 0; k < in; k++) {
        wmax = fmaxf(wmax, fabsf(W[o * in + k]));
        xmax = fmaxf(xmax, fabsf(x[k]));
    }
    float wi = wmax > 0 ? 127.0f / wmax : 0, xi = xmax > 0 ? 31.0f / xmax : 0;
    long acc = 0;
    for (size_t k = 0; k < in; k++)
        acc += lrintf(x[k] * xi) * lrintf(W[o * in + k] * wi);
    return (double)acc * (xmax / 31.0) * (wmax / 127.0) + bias;
}

START_TEST(int8_paths_agree_to_the_bit_and_match_the_arithmetic)
{
    const char *start = at_kernels_name();
    unsigned seed = 11;
    int tested = 0;
    for (size_t a = 0; a < sizeof NS / sizeof *NS; a++)
        for (size_t b = 0; b < sizeof OUTS / sizeof *OUTS; b++)
            for (size_t c = 0; c < sizeof INS / sizeof *INS; c++) {
                size_t n = NS[a], out = OUTS[b], in = INS[c], kp = (in + 3) / 4 * 4;
                float *x = malloc(n * in * sizeof *x), *W = malloc(out * in * sizeof *W);
                float *bias = malloc(out * sizeof *bias), *y = malloc(n * out * sizeof *y);
                float *first = malloc(n * out * sizeof *first);
                fill(x, n * in, &seed);
                fill(W, out * in, &seed);
                fill(bias, out, &seed);
                if (n > 2) /* a zero row: scale 0, output the bias */
                    memset(x + in, 0, in * sizeof *x);
                void *u = malloc(n * kp * AT_QBUF_ELEM), *panel = malloc(AT_PANEL_BYTES(kp));
                float *sc = malloc(n * sizeof *sc);
                at_qbuf qb = {u, sc, panel};
                at_packed P;
                ck_assert_int_eq(at_pack_int8(W, out, in, &P), 0);
                tested = 0;
                for (int pi = 0; at_kernels_path(pi); pi++) {
                    if (at_kernels_use(at_kernels_path(pi)))
                        continue;
                    at_gemm(x, n, &P, bias, y, &qb);
                    if (tested++ == 0)
                        memcpy(first, y, n * out * sizeof *y);
                    else
                        ck_assert_msg(memcmp(first, y, n * out * sizeof *y) == 0,
                                      "%s differs from plain: n %zu out %zu in %zu", at_kernels_path(pi),
                                      n, out, in);
                    for (size_t i = 0; i < n; i++)
                        for (size_t o = 0; o < out; o++) {
                            double want = int8_reference(x + i * in, in, W, o, bias[o]);
                            ck_assert_msg(fabs(y[i * out + o] - want) <= 1e-5 * (1 + fabs(want)),
                                          "%s: n %zu out %zu in %zu: y[%zu][%zu] = %.9g, want "
                                          "%.9g", at_kernels_path(pi), n, out, in, i, o, y[i * out + o],
                                          want);
                        }
                }
                at_packed_free(&P);
                free(x), free(W), free(bias), free(y), free(first), free(u), free(sc), free(panel);
            }
    printf("kernels: 8-bit products tested on %d paths\n", tested);
    at_kernels_use(start);
}
END_TEST

/* The largest sums the 8-bit products meet: every input and weight at its
 * row's largest magnitude (31 and 127 once rounded), with signs that agree
 * or all disagree, so that every 16-bit partial sum a path keeps is at its
 * bound (two groups of four products on AVX2, whose inputs are x + 32, at
 * most 63: 2 * 4 * 63 * 127 = 64,008 in two lanes). Each output is then
 * exactly +-in. */
START_TEST(int8_sums_at_their_bounds_do_not_saturate)
{
    const char *start = at_kernels_name();
    static const size_t ins[] = {4, 8, 12, 16, 128, 256, 260};
    int tested = 0;
    for (size_t c = 0; c < sizeof ins / sizeof *ins; c++) {
        size_t n = 5, out = 17, in = ins[c], kp = (in + 3) / 4 * 4;
        float *x = malloc(n * in * sizeof *x), *W = malloc(out * in * sizeof *W);
        float *y = malloc(n * out * sizeof *y);
        void *u = malloc(n * kp * AT_QBUF_ELEM), *panel = malloc(AT_PANEL_BYTES(kp));
        float *sc = malloc(n * sizeof *sc);
        at_qbuf qb = {u, sc, panel};
        for (size_t i = 0; i < n * in; i++) /* rows of +-1; row 1 all -1 */
            x[i] = i / in == 1 || (i / in == 2 && i % 2) ? -1.0f : 1.0f;
        for (size_t i = 0; i < out * in; i++) /* outputs of +-3; output 0 all -3 */
            W[i] = i / in == 0 || (i / in == 3 && i % 2) ? -3.0f : 3.0f;
        at_packed P;
        ck_assert_int_eq(at_pack_int8(W, out, in, &P), 0);
        for (int pi = 0; at_kernels_path(pi); pi++) {
            if (at_kernels_use(at_kernels_path(pi)))
                continue;
            tested++;
            at_gemm(x, n, &P, NULL, y, &qb);
            for (size_t i = 0; i < n; i++)
                for (size_t o = 0; o < out; o++) {
                    double want = 0;
                    for (size_t k = 0; k < in; k++)
                        want += (double)x[i * in + k] * W[o * in + k];
                    ck_assert_msg(fabs(y[i * out + o] - want) <= 1e-5 * fabs(want),
                                  "%s: in %zu: y[%zu][%zu] = %.9g, want %.9g",
                                  at_kernels_path(pi), in, i, o, y[i * out + o], want);
                }
        }
        at_packed_free(&P);
        free(x), free(W), free(y), free(u), free(sc), free(panel);
    }
    ck_assert_int_ge(tested, 7);
    at_kernels_use(start);
}
END_TEST

/* at_gemm_add, float and 8-bit, on every path: res + the product, each sum
 * rounded once, as at_gemm and then an addition give it; also in place. */
START_TEST(gemm_add_is_the_product_then_the_sum)
{
    const char *start = at_kernels_name();
    unsigned seed = 13;
    int tested = 0;
    for (int pi = 0; at_kernels_path(pi); pi++) {
        if (at_kernels_use(at_kernels_path(pi)))
            continue;
        tested++;
        for (int eight = 0; eight < 2; eight++)
            for (size_t a = 0; a < sizeof NS / sizeof *NS; a++)
                for (size_t b = 0; b < sizeof OUTS / sizeof *OUTS; b++)
                    for (size_t c = 0; c < sizeof INS / sizeof *INS; c++) {
                        size_t n = NS[a], out = OUTS[b], in = INS[c], kp = (in + 3) / 4 * 4;
                        float *x = malloc(n * in * sizeof *x), *W = malloc(out * in * sizeof *W);
                        float *bias = malloc(out * sizeof *bias);
                        float *y = malloc(n * out * sizeof *y), *z = malloc(n * out * sizeof *z);
                        float *res = malloc(n * out * sizeof *res);
                        void *u = malloc(n * kp * AT_QBUF_ELEM);
                        void *panel = malloc(AT_PANEL_BYTES(kp));
                        float *sc = malloc(n * sizeof *sc);
                        at_qbuf qb = {u, sc, panel};
                        fill(x, n * in, &seed);
                        fill(W, out * in, &seed);
                        fill(bias, out, &seed);
                        fill(res, n * out, &seed);
                        at_packed P;
                        ck_assert_int_eq((eight ? at_pack_int8 : at_pack)(W, out, in, &P), 0);
                        at_gemm(x, n, &P, bias, y, &qb);
                        at_gemm_add(x, n, &P, bias, res, z, &qb);
                        for (size_t i = 0; i < n * out; i++) {
                            volatile float want = res[i] + y[i];
                            ck_assert_msg(z[i] == want, "%s %s: n %zu out %zu in %zu: [%zu] "
                                          "%.9g, want %.9g", at_kernels_path(pi), eight ? "8-bit" : "float",
                                          n, out, in, i, z[i], (double)want);
                        }
                        at_gemm_add(x, n, &P, bias, res, res, &qb); /* y = res */
                        ck_assert(memcmp(res, z, n * out * sizeof *z) == 0);
                        at_packed_free(&P);
                        free(x), free(W), free(bias), free(y), free(res), free(z), free(u),
                            free(sc), free(panel);
                    }
    }
    ck_assert_int_ge(tested, 1);
    at_kernels_use(start);
}
END_TEST

/* Attention weights of chunks longer than one block of sixteen keys, for
 * windows of 1, 3 and 7 keys each side and for the whole chunk, against
 * softmax(q k / sqrt(dh) + position bias) worked out here in double from the
 * run state's q and k: a window is zero outside, whatever the chunk's length. */
START_TEST(attention_of_long_chunks_matches_double_loops)
{
    at_config c;
    at_config_default(&c);
    c.dim = 32;
    c.heads = 2;
    c.layers = 4;
    c.ffn_dim = 16;
    c.max_len = 80;
    int windows[] = {1, 3, 7, 0};
    for (int l = 0; l < 4; l++)
        c.window[l] = windows[l];
    c.rel_pos = 4;
    c.char_buckets = 32;
    c.char_dim = 4;
    c.n_tagsets = 1;
    const char *vocab[] = {"<unk>", "the", "dog", "runs"};
    at_model *m = test_random_model(&c, vocab, 4, 2, 5, 2.0f);
    at_error err;
    /* chunks of one vector of keys (4, 8 or 16 on a path), of two, of more */
    static const size_t lengths[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 24, 30, 33, 47, 64, 80};
    size_t d = 32, H = 2, dh = d / H;
    const char *start = at_kernels_name();
    for (int pi = 0; at_kernels_path(pi); pi++) {
        if (at_kernels_use(at_kernels_path(pi)))
            continue;
        for (size_t li = 0; li < sizeof lengths / sizeof *lengths; li++) {
            size_t n = lengths[li];
            at_feats f;
            at_feats_init(&f);
            for (size_t i = 0; i < n; i++) {
                const char *w = vocab[1 + (i * 7 + i / 3) % 3];
                ck_assert(at_feats_add(m, &f, w, strlen(w), &err) == 0);
            }
            at_state *s;
            ck_assert(at_state_new(m, &s, &err) == 0);
            ck_assert(at_state_set_training(s, 0, 0, 0, &err) == 0); /* every layer's q, k kept */
            ck_assert_msg(at_forward(m, s, &f, 0, n, &err) == 0, "%s", err.msg);
            for (int l = 0; l < c.layers; l++) {
                const at_layer_act *a = &s->layer[l];
                const float *rel = m->w.layer[l].rel_bias;
                for (size_t t = 0; t < H; t++) {
                    const float *wt = at_state_attention(s, l) + t * n * n;
                    for (size_t i = 0; i < n; i++) {
                        /* the float scores' rounding grows with their terms' size */
                        double sc[80], mx = -INFINITY, z = 0, mag = 0;
                        for (size_t j = 0; j < n; j++) {
                            long dist = (long)j - (long)i;
                            if (c.window[l] && labs(dist) > c.window[l]) {
                                sc[j] = -INFINITY;
                                continue;
                            }
                            double dot = 0, abs = 0;
                            for (size_t e = 0; e < dh; e++) {
                                double p = (double)a->q[i * d + t * dh + e] * a->k[j * d + t * dh + e];
                                dot += p;
                                abs += fabs(p);
                            }
                            mag = fmax(mag, abs);
                            long cl = dist < -4 ? -4 : dist > 4 ? 4 : dist;
                            sc[j] = dot / sqrt((double)dh) + rel[t * 9 + (size_t)(cl + 4)];
                            mx = fmax(mx, sc[j]);
                        }
                        for (size_t j = 0; j < n; j++)
                            z += sc[j] == -INFINITY ? 0 : exp(sc[j] - mx);
                        for (size_t j = 0; j < n; j++) {
                            double want = sc[j] == -INFINITY ? 0 : exp(sc[j] - mx) / z;
                            float got = wt[i * n + j];
                            ck_assert_msg(want == 0 ? got == 0 : fabs(got - want) <= 1e-6 * (1 + mag),
                                          "%s: n %zu layer %d head %zu: weight[%zu][%zu] %.9g, "
                                          "want %.9g", at_kernels_path(pi), n, l, t, i, j,
                                          (double)got, want);
                        }
                    }
                }
            }
            at_state_free(s);
            at_feats_free(&f);
        }
    }
    at_kernels_use(start);
    at_model_free(m);
}
END_TEST

/* Tags and probabilities of sentences tagged together, in batches of every
 * size the state allows, equal those of each sentence alone, to the bit. */
static void check_batches(at_model *m)
{
    static const char *const text[] = {
        "the dog runs .", "a", "dogs run fast and the cat sleeps on the mat today .",
        "café", "the the the the the the the the the the the the the the the the the the "
        "the the the the the the the the the the the the the the the the the the the the .",
        "run ."};
    enum { N = sizeof text / sizeof *text };
    at_error err;
    at_feats f;
    at_feats_init(&f);
    size_t sent[N + 1] = {0};
    for (size_t s = 0; s < N; s++) {
        char *copy = strdup(text[s]), *save = NULL;
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
            ck_assert_msg(at_feats_add(m, &f, w, strlen(w), &err) == 0, "%s", err.msg);
        free(copy);
        sent[s + 1] = f.n;
    }
    int T = at_model_config(m)->n_tagsets;
    uint32_t *alone_t[AT_MAX_TAGSETS] = {0}, *batch_t[AT_MAX_TAGSETS] = {0};
    float *alone_p[AT_MAX_TAGSETS] = {0}, *batch_p[AT_MAX_TAGSETS] = {0};
    for (int t = 0; t < T; t++) {
        size_t nt = at_model_n_tags(m, t);
        alone_t[t] = calloc(f.n, sizeof **alone_t);
        batch_t[t] = calloc(f.n, sizeof **batch_t);
        alone_p[t] = calloc(f.n * nt, sizeof **alone_p);
        batch_p[t] = calloc(f.n * nt, sizeof **batch_p);
    }
    at_state *one;
    ck_assert(at_state_new(m, &one, &err) == 0);
    for (size_t s = 0; s < N; s++) {
        uint32_t *tg[AT_MAX_TAGSETS];
        float *pr[AT_MAX_TAGSETS];
        for (int t = 0; t < T; t++) {
            tg[t] = alone_t[t];
            pr[t] = alone_p[t];
        }
        size_t one_sent[2] = {sent[s], sent[s + 1]};
        ck_assert_msg(at_tag_batch(m, one, &f, one_sent, 1, tg, pr, &err) == 0, "%s", err.msg);
    }
    size_t caps[] = {16, 20, 40, 1000};
    for (size_t c = 0; c < sizeof caps / sizeof *caps; c++) {
        at_state *st;
        ck_assert(at_state_new_batch(m, caps[c], &st, &err) == 0);
        ck_assert_msg(at_tag_batch(m, st, &f, sent, N, batch_t, batch_p, &err) == 0, "%s",
                      err.msg);
        for (int t = 0; t < T; t++) {
            ck_assert(memcmp(alone_t[t], batch_t[t], f.n * sizeof **alone_t) == 0);
            ck_assert_msg(memcmp(alone_p[t], batch_p[t],
                                 f.n * at_model_n_tags(m, t) * sizeof **alone_p) == 0,
                          "probabilities differ in a batch of %zu tokens", caps[c]);
        }
        /* a batch's activations are not a training pass: no backward from them */
        ck_assert(at_state_set_training(st, 0, 0, 0, &err) == 0);
        ck_assert_int_eq(at_backward(m, st, &f, 0, NULL, NULL, &err), -1);
        ck_assert_msg(strstr(err.msg, "not run for training") != NULL, "%s", err.msg);
        at_state_free(st);
    }
    at_state_free(one);
    for (int t = 0; t < T; t++) {
        free(alone_t[t]), free(batch_t[t]), free(alone_p[t]), free(batch_p[t]);
    }
    at_feats_free(&f);
}

START_TEST(batches_change_nothing)
{
    at_model *m;
    at_error err;
    ck_assert_msg(at_model_load(test_path("tests/fixtures/ref_pre.json"), AT_FILE_AUTO, &m,
                                &err) == 0, "%s", err.msg);
    check_batches(m);
    ck_assert(at_model_set_int8(m, 1, &err) == 0);
    check_batches(m);
    at_model_free(m);
}
END_TEST

Suite *gemm_suite(void)
{
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("products");
    /* every shape on every path: seconds, but minutes under the sanitizers
     * on a busy machine */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, float_paths_match_double_loops);
    tcase_add_test(tc, int8_paths_agree_to_the_bit_and_match_the_arithmetic);
    tcase_add_test(tc, int8_sums_at_their_bounds_do_not_saturate);
    tcase_add_test(tc, gemm_add_is_the_product_then_the_sum);
    tcase_add_test(tc, batches_change_nothing);
    tcase_add_test(tc, attention_of_long_chunks_matches_double_loops);
    suite_add_tcase(s, tc);
    return s;
}
