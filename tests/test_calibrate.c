/*
 * test_calibrate.c - the temperature fit finds the temperature that made
 * the data (gold tags drawn here from softmax(z / T) with a seeded
 * generator), and the calibration error is the sum worked out by hand.
 */
#include "tests.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

START_TEST(fit_recovers_the_temperature_of_the_data)
{
    enum { N = 20000, K = 6 };
    static const double temps[] = {0.5, 1.0, 2.5};
    float *z = malloc(N * K * sizeof *z);
    uint32_t *gold = malloc(N * sizeof *gold);
    ck_assert(z && gold);
    for (size_t c = 0; c < sizeof temps / sizeof *temps; c++) {
        uint64_t s = 42 + c;
        for (size_t i = 0; i < N; i++) {
            double p[K], sum = 0;
            for (size_t j = 0; j < K; j++) {
                z[i * K + j] = (float)(6 * uniform(&s) - 3);
                p[j] = exp(z[i * K + j] / temps[c]);
                sum += p[j];
            }
            double u = uniform(&s) * sum;
            size_t g = 0;
            while (g + 1 < K && u >= p[g])
                u -= p[g++];
            gold[i] = (uint32_t)g;
        }
        gold[7] = K; /* a tag the model does not have: left out */
        double t, nll1, nll_t;
        at_error err;
        ck_assert_msg(at_fit_temperature(z, gold, N, K, &t, &nll1, &nll_t, &err) == 0, "%s",
                      err.msg);
        ck_assert_msg(fabs(t - temps[c]) <= 0.06 * temps[c], "fitted %g, made with %g", t,
                      temps[c]);
        ck_assert(nll_t <= nll1 + 1e-12);
    }
    at_error err;
    double t, a, b;
    for (size_t i = 0; i < N; i++)
        gold[i] = K;
    ck_assert_int_eq(at_fit_temperature(z, gold, N, K, &t, &a, &b, &err), -1);
    ck_assert(strstr(err.msg, "no token") != NULL);
    z[3] = NAN;
    gold[0] = 0;
    ck_assert_int_eq(at_fit_temperature(z, gold, N, K, &t, &a, &b, &err), -1);
    ck_assert(strstr(err.msg, "not finite") != NULL);
    free(z);
    free(gold);
}
END_TEST

START_TEST(calibration_error_by_hand)
{
    at_reliability r;
    memset(&r, 0, sizeof r);
    at_reliability_add(&r, 0.95, 1);
    at_reliability_add(&r, 0.95, 0);
    at_reliability_add(&r, 0.55, 1);
    at_reliability_add(&r, 1.0, 1); /* the top bin takes 1.0 */
    /* bin 0.9-1: 3 tokens, 2 right, probabilities 2.9; bin 0.5-0.6: 1, 1, 0.55 */
    ck_assert_uint_eq(r.count[9], 3);
    ck_assert_uint_eq(r.count[5], 1);
    ck_assert_double_eq_tol(at_reliability_error(&r), (0.9 + 0.45) / 4, 1e-12);
}
END_TEST

Suite *calibrate_suite(void)
{
    Suite *s = suite_create("calibrate");
    TCase *tc = tcase_create("temperature");
    tcase_add_test(tc, fit_recovers_the_temperature_of_the_data);
    tcase_add_test(tc, calibration_error_by_hand);
    suite_add_tcase(s, tc);
    return s;
}
