/* drift_stats: PSI, KS, ROC-AUC, calibration and error metrics (see drift_stats.h). */
#include "drift_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Copies the non-NaN values of v[0..n) into a new sorted array (returns new; NULL when none). */
static double *sorted_copy(const double *v, size_t n, size_t *out_n) {
    double *s = ss_xmalloc((n ? n : 1) * sizeof(*s));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            s[k++] = v[i];
    *out_n = k;
    if (k == 0) {
        free(s);
        return NULL;
    }
    qsort(s, k, sizeof(*s), cmp_double);
    return s;
}

double dstat_quantile_sorted(const double *sorted, size_t n, double q) {
    if (n == 0)
        return NAN;
    if (q <= 0)
        return sorted[0];
    if (q >= 1)
        return sorted[n - 1];
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    double frac = pos - (double)lo;
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

double dstat_median(const double *values, size_t n) {
    size_t k;
    double *s = sorted_copy(values, n, &k);
    if (!s)
        return NAN;
    double m = dstat_quantile_sorted(s, k, 0.5);
    free(s);
    return m;
}

/* ======================== Bins ======================== */

int dstat_bin_index(const dstat_bins_t *b, double x) {
    if (isnan(x))
        return -1;
    /* Binary search for the first i in [0, n_bins - 1) with x <= edges[i + 1]. */
    size_t lo = 0, hi = b->n_bins - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x <= b->edges[mid + 1])
            hi = mid;
        else
            lo = mid + 1;
    }
    return (int)lo;
}

int dstat_bins_from_sample(dstat_bins_t *b, const double *values, size_t n, size_t n_bins,
                           ss_err_t *err) {
    if (n_bins < 1 || n_bins > DSTAT_MAX_BINS)
        return ss_err_set(err, SS_ERR_INVAL, "bin count %zu out of range 1..%d", n_bins,
                          DSTAT_MAX_BINS);
    size_t k;
    double *s = sorted_copy(values, n, &k);
    if (!s)
        return ss_err_set(err, SS_ERR_INVAL, "reference sample is empty");
    memset(b, 0, sizeof(*b));
    b->n_bins = n_bins;
    b->ref_n = k;
    for (size_t i = 0; i <= n_bins; i++)
        b->edges[i] = dstat_quantile_sorted(s, k, (double)i / (double)n_bins);
    uint64_t counts[DSTAT_MAX_BINS] = {0};
    for (size_t i = 0; i < k; i++)
        counts[dstat_bin_index(b, s[i])]++;
    for (size_t i = 0; i < n_bins; i++)
        b->ref_frac[i] = (double)counts[i] / (double)k;
    free(s);
    return 0;
}

int dstat_bins_from_edges(dstat_bins_t *b, const double *edges, const double *ref_frac,
                          size_t n_bins, uint64_t ref_n, ss_err_t *err) {
    if (n_bins < 1 || n_bins > DSTAT_MAX_BINS)
        return ss_err_set(err, SS_ERR_INVAL, "bin count %zu out of range 1..%d", n_bins,
                          DSTAT_MAX_BINS);
    double sum = 0;
    for (size_t i = 0; i <= n_bins; i++) {
        if (!isfinite(edges[i]))
            return ss_err_set(err, SS_ERR_INVAL, "edge %zu is not finite", i);
        if (i > 0 && edges[i] < edges[i - 1])
            return ss_err_set(err, SS_ERR_INVAL, "edges not sorted at %zu", i);
    }
    for (size_t i = 0; i < n_bins; i++) {
        if (!(ref_frac[i] >= 0))
            return ss_err_set(err, SS_ERR_INVAL, "reference share %zu is %g", i, ref_frac[i]);
        sum += ref_frac[i];
    }
    if (fabs(sum - 1) > 1e-6)
        return ss_err_set(err, SS_ERR_INVAL, "reference shares sum to %g", sum);
    memset(b, 0, sizeof(*b));
    b->n_bins = n_bins;
    b->ref_n = ref_n;
    memcpy(b->edges, edges, (n_bins + 1) * sizeof(double));
    memcpy(b->ref_frac, ref_frac, n_bins * sizeof(double));
    return 0;
}

/* ======================== PSI ======================== */

double dstat_psi(const double *ref_frac, const double *cur_frac, size_t n, double eps) {
    if (eps <= 0)
        eps = DSTAT_PSI_EPS;
    double psi = 0;
    for (size_t i = 0; i < n; i++) {
        double r = ref_frac[i] < eps ? eps : ref_frac[i];
        double c = cur_frac[i] < eps ? eps : cur_frac[i];
        psi += (c - r) * log(c / r);
    }
    return psi;
}

double dstat_psi_counts(const dstat_bins_t *b, const uint64_t *counts, double eps) {
    uint64_t total = 0;
    for (size_t i = 0; i < b->n_bins; i++)
        total += counts[i];
    if (total == 0)
        return NAN;
    double cur[DSTAT_MAX_BINS];
    for (size_t i = 0; i < b->n_bins; i++)
        cur[i] = (double)counts[i] / (double)total;
    return dstat_psi(b->ref_frac, cur, b->n_bins, eps);
}

/* ======================== KS ======================== */

double dstat_kolmogorov_sf(double x) {
    if (!(x > 0))
        return 1.0;
    double p;
    if (x < 1.18) {
        /* Jacobi-theta form, converges fast for small x: 1 - sqrt(2 pi)/x sum exp(-(2k-1)^2
         * pi^2 / (8 x^2)). */
        double s = 0, w = M_PI * M_PI / (8 * x * x);
        for (int k = 1; k <= 20; k++) {
            double t = exp(-(double)((2 * k - 1) * (2 * k - 1)) * w);
            s += t;
            if (t < 1e-17 * s)
                break;
        }
        p = 1 - sqrt(2 * M_PI) / x * s;
    } else {
        double s = 0;
        for (int k = 1; k <= 100; k++) {
            double t = exp(-2.0 * k * k * x * x);
            s += (k % 2 ? t : -t);
            if (t < 1e-17)
                break;
        }
        p = 2 * s;
    }
    return p < 0 ? 0 : (p > 1 ? 1 : p);
}

static size_t gcd_size(size_t a, size_t b) {
    while (b) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Exact P(D >= d) for sample sizes m, n: 1 - (lattice paths from (0,0) to (m,n) that keep
 * |i n - j m| < h g at every point) / C(m+n, m), with g = gcd(m, n) and h = d * lcm(m, n), an
 * integer because d is a difference of two step CDFs. Counts in long double (C(2000,1000) fits). */
static double ks_exact_p(size_t m, size_t n, double d) {
    size_t g = gcd_size(m, n);
    double lcm = (double)m / (double)g * (double)n;
    long long h = llround(d * lcm);
    if (h <= 0)
        return 1.0;
    long double bound = (long double)h * (long double)g;
    long double *row = ss_xcalloc(n + 1, sizeof(*row));
    for (size_t i = 0; i <= m; i++) {
        for (size_t j = 0; j <= n; j++) {
            long double dist = fabsl((long double)i * n - (long double)j * m);
            if (dist >= bound) {
                row[j] = 0;
                continue;
            }
            if (i == 0 && j == 0)
                row[j] = 1;
            else if (i == 0)
                row[j] = row[j - 1];
            else if (j > 0)
                row[j] += row[j - 1]; /* row[j] still holds (i-1, j) */
        }
    }
    long double inside = row[n];
    free(row);
    if (inside <= 0)
        return 1.0;
    long double log_total = lgammal((long double)(m + n + 1)) - lgammal((long double)(m + 1)) -
                            lgammal((long double)(n + 1));
    long double frac = expl(logl(inside) - log_total);
    double p = (double)(1.0L - frac);
    return p < 0 ? 0 : (p > 1 ? 1 : p);
}

int dstat_ks_2samp(const double *a, size_t na, const double *b, size_t nb, dstat_ks_mode_t mode,
                   dstat_ks_t *out, ss_err_t *err) {
    size_t ka, kb;
    double *sa = sorted_copy(a, na, &ka);
    double *sb = sorted_copy(b, nb, &kb);
    if (!sa || !sb) {
        free(sa);
        free(sb);
        return ss_err_set(err, SS_ERR_INVAL, "ks: sample %s has no value", sa ? "b" : "a");
    }
    if (mode == DSTAT_KS_AUTO)
        mode = (double)ka * (double)kb <= 10000 ? DSTAT_KS_EXACT : DSTAT_KS_ASYMP;
    if (mode == DSTAT_KS_EXACT && (double)ka * (double)kb > 1e6) {
        free(sa);
        free(sb);
        return ss_err_set(err, SS_ERR_INVAL, "ks: exact mode refused for %zu x %zu values", ka, kb);
    }
    /* Walk both sorted samples; evaluate the CDF gap only after every copy of a tied value. */
    size_t i = 0, j = 0;
    double d = 0;
    while (i < ka && j < kb) {
        double x = sa[i] <= sb[j] ? sa[i] : sb[j];
        while (i < ka && sa[i] == x)
            i++;
        while (j < kb && sb[j] == x)
            j++;
        double gap = fabs((double)i / (double)ka - (double)j / (double)kb);
        if (gap > d)
            d = gap;
    }
    free(sa);
    free(sb);
    out->d = d;
    out->mode = mode;
    if (mode == DSTAT_KS_EXACT) {
        out->p = ks_exact_p(ka, kb, d);
    } else {
        double en = (double)ka * (double)kb / (double)(ka + kb);
        out->p = dstat_kolmogorov_sf(sqrt(en) * d);
    }
    return 0;
}

/* Reference CDF at x: piecewise linear between edges, reaching the cumulative share at each. */
static double bins_cdf(const dstat_bins_t *b, double x) {
    if (x < b->edges[0])
        return 0;
    if (x >= b->edges[b->n_bins])
        return 1;
    double cum = 0;
    for (size_t i = 0; i < b->n_bins; i++) {
        double lo = b->edges[i], hi = b->edges[i + 1];
        if (x < hi) {
            double part = hi > lo ? (x - lo) / (hi - lo) : 1;
            return cum + part * b->ref_frac[i];
        }
        cum += b->ref_frac[i];
    }
    return 1;
}

void dstat_ks_vs_bins(const double *sorted_a, size_t na, const dstat_bins_t *b, dstat_ks_t *out) {
    double d = 0;
    size_t i = 0;
    while (i < na) {
        double x = sorted_a[i];
        double before = (double)i / (double)na;
        while (i < na && sorted_a[i] == x)
            i++;
        double after = (double)i / (double)na;
        double f = bins_cdf(b, x);
        double gap = fmax(fabs(after - f), fabs(f - before));
        if (gap > d)
            d = gap;
    }
    out->d = d;
    out->mode = DSTAT_KS_ASYMP;
    double en = (double)na;
    if (b->ref_n > 0 && na > 0)
        en = (double)na * (double)b->ref_n / (double)(na + b->ref_n);
    out->p = na ? dstat_kolmogorov_sf(sqrt(en) * d) : 1.0;
}

/* ======================== Model quality ======================== */

typedef struct scored {
    double s;
    int y;
} scored_t;

static int cmp_scored(const void *pa, const void *pb) {
    const scored_t *a = pa, *b = pb;
    return (a->s > b->s) - (a->s < b->s);
}

double dstat_roc_auc(const double *score, const int *label, size_t n) {
    size_t npos = 0, nneg = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(score[i]))
            return NAN;
        if (label[i])
            npos++;
        else
            nneg++;
    }
    if (npos == 0 || nneg == 0)
        return NAN;
    scored_t *v = ss_xmalloc(n * sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        v[i].s = score[i];
        v[i].y = label[i] ? 1 : 0;
    }
    qsort(v, n, sizeof(*v), cmp_scored);
    /* Sum of the positives' ranks (1-based), ties at their average rank. */
    double rank_sum = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        size_t pos = 0;
        while (j < n && v[j].s == v[i].s) {
            pos += (size_t)v[j].y;
            j++;
        }
        double avg_rank = ((double)(i + 1) + (double)j) / 2.0;
        rank_sum += avg_rank * (double)pos;
        i = j;
    }
    free(v);
    double u = rank_sum - (double)npos * (double)(npos + 1) / 2.0;
    return u / ((double)npos * (double)nneg);
}

double dstat_brier(const double *p, const int *label, size_t n) {
    if (n == 0)
        return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double e = p[i] - (label[i] ? 1.0 : 0.0);
        s += e * e;
    }
    return s / (double)n;
}

double dstat_ece(const double *p, const int *label, size_t n, size_t n_bins) {
    if (n == 0 || n_bins == 0)
        return NAN;
    double *sum_p = ss_xcalloc(n_bins, sizeof(double));
    double *sum_y = ss_xcalloc(n_bins, sizeof(double));
    size_t *cnt = ss_xcalloc(n_bins, sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        double x = p[i] < 0 ? 0 : (p[i] > 1 ? 1 : p[i]);
        size_t k = (size_t)(x * (double)n_bins);
        if (k >= n_bins)
            k = n_bins - 1;
        sum_p[k] += p[i];
        sum_y[k] += label[i] ? 1.0 : 0.0;
        cnt[k]++;
    }
    double ece = 0;
    for (size_t k = 0; k < n_bins; k++) {
        if (cnt[k] == 0)
            continue;
        ece += fabs(sum_y[k] - sum_p[k]) / (double)n; /* = (n_k/n) |mean y - mean p| */
    }
    free(sum_p);
    free(sum_y);
    free(cnt);
    return ece;
}

double dstat_mae(const double *pred, const double *actual, size_t n) {
    if (n == 0)
        return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += fabs(pred[i] - actual[i]);
    return s / (double)n;
}

double dstat_rmse(const double *pred, const double *actual, size_t n) {
    if (n == 0)
        return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double e = pred[i] - actual[i];
        s += e * e;
    }
    return sqrt(s / (double)n);
}
