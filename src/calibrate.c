/*
 * calibrate.c - probabilities that mean what they say: the temperature T of
 * softmax(logits / T) that fits a held-out corpus best (one number per tag
 * set; the tags, the largest logits, do not change), and how far the
 * probability of a chosen tag is from how often such tags are right (the
 * expected calibration error over equal-width bins).
 */
#include "attntag.h"

#include <math.h>
#include <stdlib.h>

/* The mean over rows of log sum_k e^(b z_k) - b z_gold, and its derivative
 * in b: the mean of E[z] under softmax(b z) minus z_gold. */
static void nll(const float *z, const uint32_t *gold, size_t n, size_t k, double b, double *f,
                double *df, size_t *rows)
{
    double sf = 0, sdf = 0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (gold[i] >= k)
            continue;
        const float *zi = z + i * k;
        double mx = zi[0];
        for (size_t j = 1; j < k; j++)
            mx = zi[j] > mx ? zi[j] : mx;
        double sum = 0, ez = 0;
        for (size_t j = 0; j < k; j++) {
            double e = exp(b * (zi[j] - mx));
            sum += e;
            ez += e * zi[j];
        }
        sf += log(sum) + b * mx - b * zi[gold[i]];
        sdf += ez / sum - zi[gold[i]];
        used++;
    }
    *f = used ? sf / (double)used : 0;
    *df = used ? sdf / (double)used : 0;
    *rows = used;
}

int at_fit_temperature(const float *z, const uint32_t *gold, size_t n, size_t k, double *temp,
                       double *nll1, double *nll_t, at_error *err)
{
    if (k < 2)
        return at_error_set(err, "calibrate: a tag set of %zu tags has nothing to calibrate", k);
    for (size_t i = 0; i < n * k; i++)
        if (!isfinite(z[i]))
            return at_error_set(err, "calibrate: score %zu of row %zu is not finite", i % k,
                                i / k);
    double f, df;
    size_t rows;
    nll(z, gold, n, k, 1.0, nll1, &df, &rows);
    if (rows == 0)
        return at_error_set(err, "calibrate: no token with a tag the model knows");
    /* The loss is convex in b = 1/T, so its derivative rises with b:
     * bisect for the zero in log b over T from 0.01 to 100. */
    double lo = log(0.01), hi = log(100.0);
    nll(z, gold, n, k, exp(lo), &f, &df, &rows);
    if (df >= 0)
        hi = lo;
    else {
        nll(z, gold, n, k, exp(hi), &f, &df, &rows);
        if (df <= 0)
            lo = hi;
    }
    for (int it = 0; it < 60 && hi - lo > 1e-9; it++) {
        double mid = 0.5 * (lo + hi);
        nll(z, gold, n, k, exp(mid), &f, &df, &rows);
        if (df < 0)
            lo = mid;
        else
            hi = mid;
    }
    double b = exp(0.5 * (lo + hi));
    nll(z, gold, n, k, b, nll_t, &df, &rows);
    *temp = 1.0 / b;
    return 0;
}

void at_reliability_add(at_reliability *r, double prob, int correct)
{
    int bin = (int)(prob * AT_CAL_BINS);
    bin = bin < 0 ? 0 : bin >= AT_CAL_BINS ? AT_CAL_BINS - 1 : bin;
    r->count[bin]++;
    r->correct[bin] += correct != 0;
    r->prob[bin] += prob;
}

double at_reliability_error(const at_reliability *r)
{
    size_t total = 0;
    for (int b = 0; b < AT_CAL_BINS; b++)
        total += r->count[b];
    double e = 0;
    for (int b = 0; b < AT_CAL_BINS; b++)
        if (r->count[b])
            e += fabs((double)r->correct[b] - r->prob[b]) / (double)total;
    return e;
}
