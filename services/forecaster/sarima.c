/* sarima: SARIMA state-space model, Kalman filter, start values and L-BFGS-B fit.
 * Match mode reproduces statsmodels 0.13.5 on Debian 12 (reference BLAS): every sum below is
 * accumulated in the order reference dgemm/dgemv use, so the filter agrees with statsmodels to
 * rounding. Fast mode (sarima_fast.c) shares the layout and the optimiser driver. */
#include "sarima.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "sarima_int.h"

#define LOG_2PI 1.8378770664093453 /* log(2 * pi) */

/* ---------------------------------------------------------------- layout */

static void sparse_rows(sarima_model_t *m) {
    int k = m->m, nnz = 0;
    for (int i = 0; i < k; i++) {
        m->trow[i] = nnz;
        for (int j = 0; j < k; j++)
            if (m->tmask[i * k + j]) {
                m->tcol[nnz] = j;
                nnz++;
            }
    }
    m->trow[k] = nnz;
}

sarima_model_t *sarima_new(const sarima_order_t *o, ss_err_t *err) {
    if (!o || o->p < 0 || o->d < 0 || o->q < 0 || o->P < 0 || o->D < 0 || o->Q < 0 || o->s < 0) {
        ss_err_set(err, SS_ERR_INVAL, "sarima order has a negative entry");
        return NULL;
    }
    int seasonal = o->P > 0 || o->D > 0 || o->Q > 0;
    if (seasonal && o->s < 2) {
        ss_err_set(err, SS_ERR_INVAL, "seasonal period %d must be >= 2 with a seasonal order",
                   o->s);
        return NULL;
    }
    int s = seasonal ? o->s : 0;
    int np = o->p + o->q + o->P + o->Q + 1;
    int kar = o->p + s * o->P, kma = o->q + s * o->Q;
    int ko = kar > kma + 1 ? kar : kma + 1;
    int kd = o->d + s * o->D;
    int k = kd + ko;
    if (np > SARIMA_MAX_PARAMS || k > 400) {
        ss_err_set(err, SS_ERR_INVAL, "sarima model too large (%d parameters, %d states)", np, k);
        return NULL;
    }
    sarima_model_t *m = ss_xcalloc(1, sizeof(*m));
    m->o = *o;
    m->o.s = s;
    m->m = k;
    m->kd = kd;
    m->ko = ko;
    m->kar = kar;
    m->kma = kma;
    m->np = np;
    size_t kk = (size_t)k * k;
    m->T = ss_xcalloc(kk, sizeof(double));
    m->tmask = ss_xcalloc(kk, 1);
    m->tcol = ss_xcalloc(kk, sizeof(int));
    m->trow = ss_xcalloc((size_t)k + 1, sizeof(int));
    m->R = ss_xcalloc((size_t)k, sizeof(double));
    m->RQR = ss_xcalloc(kk, sizeof(double));
    m->zidx = ss_xcalloc((size_t)k, sizeof(int));
    m->work = ss_xcalloc(kk * 8 + (size_t)k * 8, sizeof(double));

    /* design: [1]*d, ([0]*(s-1) + [1])*D, 1 for the first ARMA state */
    int nz = 0;
    for (int i = 0; i < o->d; i++)
        m->zidx[nz++] = i;
    for (int dd = 0; dd < o->D; dd++)
        m->zidx[nz++] = o->d + dd * s + s - 1;
    m->zidx[nz++] = kd;
    m->nz = nz;

    double *T = m->T;
#define TSET(i, j) (T[(size_t)(i)*k + (j)] = 1.0)
    /* ARMA block: companion matrix, ones on the superdiagonal */
    for (int i = 0; i + 1 < ko; i++)
        TSET(kd + i, kd + i + 1);
    /* seasonal differencing blocks */
    for (int dd = 0; dd < o->D; dd++) {
        int start = o->d + dd * s, end = o->d + (dd + 1) * s;
        TSET(start, start + s - 1);
        for (int i = 1; i < s; i++)
            TSET(start + i, start + i - 1);
        for (int i = dd + 1; i < o->D; i++)
            TSET(start, end + s - 1); /* statsmodels sets the same entry for every later block */
        TSET(start, kd);
    }
    /* regular differencing */
    for (int i = 0; i < o->d; i++) {
        for (int j = i; j < o->d; j++)
            TSET(i, j);
        for (int dd = 0; dd < o->D; dd++)
            TSET(i, o->d + dd * s + s - 1);
        TSET(i, kd);
    }
#undef TSET
    for (size_t i = 0; i < kk; i++)
        m->tmask[i] = T[i] != 0.0;
    for (int i = 0; i < kar; i++)
        m->tmask[(size_t)(kd + i) * k + kd] = 1;
    sparse_rows(m);
    m->R[kd] = 1.0;
    return m;
}

void sarima_destroy(sarima_model_t *m) {
    if (!m)
        return;
    free(m->T);
    free(m->tmask);
    free(m->tcol);
    free(m->trow);
    free(m->R);
    free(m->RQR);
    free(m->zidx);
    free(m->work);
    free(m->obs);
    free(m->fast);
    free(m->lanes);
    free(m);
}

int sarima_k_states(const sarima_model_t *m) { return m->m; }
int sarima_n_params(const sarima_model_t *m) { return m->np; }

/* Reduced polynomials, as statsmodels' np.polymul of the regular and seasonal lag polynomials.
 * ar[0..kar] holds -(reduced AR polynomial), ma[0..kma] the reduced MA polynomial. */
void sarima_reduced_polys(const sarima_model_t *m, const double *params, double *ar, double *ma) {
    const sarima_order_t *o = &m->o;
    int s = o->s;
    double pa[SARIMA_MAX_PARAMS + 1], pm[SARIMA_MAX_PARAMS + 1];
    double *sa = m->work, *sm = m->work + m->kar + 1; /* seasonal polys, length P s + 1 */
    const double *phi = params, *theta = params + o->p, *sphi = theta + o->q, *stheta = sphi + o->P;
    pa[0] = 1.0;
    for (int i = 0; i < o->p; i++)
        pa[i + 1] = -phi[i];
    pm[0] = 1.0;
    for (int i = 0; i < o->q; i++)
        pm[i + 1] = theta[i];
    int lsa = s * o->P, lsm = s * o->Q;
    memset(sa, 0, sizeof(double) * (size_t)(lsa + 1));
    memset(sm, 0, sizeof(double) * (size_t)(lsm + 1));
    sa[0] = 1.0;
    for (int i = 0; i < o->P; i++)
        sa[(i + 1) * s] = -sphi[i];
    sm[0] = 1.0;
    for (int i = 0; i < o->Q; i++)
        sm[(i + 1) * s] = stheta[i];
    for (int c = 0; c <= m->kar; c++) {
        double acc = 0.0;
        for (int i = 0; i <= o->p; i++) {
            int jj = c - i;
            if (jj >= 0 && jj <= lsa)
                acc += pa[i] * sa[jj];
        }
        ar[c] = -acc;
    }
    for (int c = 0; c <= m->kma; c++) {
        double acc = 0.0;
        for (int i = 0; i <= o->q; i++) {
            int jj = c - i;
            if (jj >= 0 && jj <= lsm)
                acc += pm[i] * sm[jj];
        }
        ma[c] = acc;
    }
}

int sarima_set_params(sarima_model_t *m, const double *params, ss_err_t *err) {
    for (int i = 0; i < m->np; i++)
        if (!isfinite(params[i]))
            return ss_err_set(err, SS_ERR_INVAL, "sarima parameter %d is not finite", i);
    double sigma2 = params[m->np - 1];
    if (!(sigma2 > 0.0))
        return ss_err_set(err, SS_ERR_INVAL, "sarima variance %g is not positive", sigma2);
    double ar[SARIMA_MAX_PARAMS * 64 + 1], ma[SARIMA_MAX_PARAMS * 64 + 1];
    if (m->kar > SARIMA_MAX_PARAMS * 64 || m->kma > SARIMA_MAX_PARAMS * 64)
        return ss_err_set(err, SS_ERR_INVAL, "sarima lag polynomial too long");
    sarima_reduced_polys(m, params, ar, ma);
    int k = m->m, kd = m->kd;
    for (int i = 0; i < m->kar; i++)
        m->T[(size_t)(kd + i) * k + kd] = ar[i + 1];
    for (int i = 0; i < m->kma; i++)
        m->R[kd + 1 + i] = ma[i + 1];
    /* R Q R' as reference dgemm forms it: tmp = R Q, then RQR[i][j] = R[j] * tmp[i] */
    for (int i = 0; i < k; i++) {
        double t = sigma2 * m->R[i];
        for (int j = 0; j < k; j++)
            m->RQR[(size_t)i * k + j] = m->R[j] * t;
    }
    return 0;
}

/* numpy's pairwise summation (np.sum of a contiguous float64 array) */
double sarima_pairwise_sum(const double *a, size_t n) {
    if (n < 8) {
        double res = 0.0;
        for (size_t i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        size_t i;
        for (int j = 0; j < 8; j++)
            r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return sarima_pairwise_sum(a, n2) + sarima_pairwise_sum(a + n2, n - n2);
}

static int check_y(const double *y, size_t n, ss_err_t *err) {
    if (!y || n == 0)
        return ss_err_set(err, SS_ERR_INVAL, "sarima needs at least one observation");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i]))
            return ss_err_set(err, SS_ERR_INVAL, "observation %zu is not finite", i);
    return 0;
}

static double *obs_buf(sarima_model_t *m, size_t n) {
    if (m->obs_n < n) {
        free(m->obs);
        m->obs = ss_xmalloc(n * sizeof(double));
        m->obs_n = n;
    }
    return m->obs;
}

/* --------------------------------------------------- match-mode Kalman filter */

/* Prediction step: a = T af, P = T Pf T' + RQR', symmetrised; reference BLAS order. */
static void predict_match(const sarima_model_t *m, const double *af, const double *Pf, double *a,
                          double *P, double *tmp0) {
    int k = m->m;
    const int *row = m->trow, *col = m->tcol;
    const double *T = m->T;
    for (int i = 0; i < k; i++) {
        double acc = 0.0;
        for (int e = row[i]; e < row[i + 1]; e++)
            acc += af[col[e]] * T[(size_t)i * k + col[e]];
        a[i] = acc;
    }
    /* tmp0 = T Pf */
    for (int i = 0; i < k; i++) {
        double *t0 = tmp0 + (size_t)i * k;
        for (int j = 0; j < k; j++)
            t0[j] = 0.0;
        for (int e = row[i]; e < row[i + 1]; e++) {
            int l = col[e];
            double tv = T[(size_t)i * k + l];
            const double *pl = Pf + (size_t)l * k;
            for (int j = 0; j < k; j++)
                t0[j] += pl[j] * tv;
        }
    }
    /* P = RQR' + tmp0 T' */
    for (int i = 0; i < k; i++) {
        const double *t0 = tmp0 + (size_t)i * k;
        for (int j = 0; j < k; j++) {
            double acc = m->RQR[(size_t)i * k + j];
            for (int e = row[j]; e < row[j + 1]; e++)
                acc += T[(size_t)j * k + col[e]] * t0[col[e]];
            P[(size_t)i * k + j] = acc;
        }
    }
    for (int i = 0; i < k; i++)
        for (int j = i; j < k; j++) {
            double v = 0.5 * (P[(size_t)i * k + j] + P[(size_t)j * k + i]);
            P[(size_t)i * k + j] = v;
            P[(size_t)j * k + i] = v;
        }
}

/* reference ddot of x with itself, unrolled by 5 */
static double ddot_self(const double *x, size_t n) {
    double t = 0.0;
    size_t mm = n % 5;
    for (size_t i = 0; i < mm; i++)
        t = t + x[i] * x[i];
    for (size_t i = mm; i < n; i += 5)
        t = t + x[i] * x[i] + x[i + 1] * x[i + 1] + x[i + 2] * x[i + 2] + x[i + 3] * x[i + 3] +
            x[i + 4] * x[i + 4];
    return t;
}

/* Runs the filter; leaves a_{n+1}, P_{n+1} in m->a_end, m->P_end (work area). */
int sarima_filter_match(sarima_model_t *m, const double *y, size_t n, double *llf_obs,
                        int *converged_at, int *n_singular) {
    int k = m->m;
    size_t kk = (size_t)k * k;
    double *w = m->work;
    double *a = w, *af = a + k, *tmp1 = af + k, *ap = tmp1 + k;
    double *P = ap + k, *Pf = P + kk, *Pp = Pf + kk, *tmp0 = Pp + kk, *Pfc = tmp0 + kk,
           *Ppc = Pfc + kk, *diff = Ppc + kk;
    const int *z = m->zidx;
    int nz = m->nz, conv = 0, nsing = 0;
    double Fc = 0.0, detc = 0.0;
    *converged_at = -1;
    memset(a, 0, sizeof(double) * (size_t)k);
    memset(P, 0, sizeof(double) * kk);
    for (int i = 0; i < k; i++)
        P[(size_t)i * k + i] = 1e6;
    for (size_t t = 0; t < n; t++) {
        double f = 0.0;
        for (int e = 0; e < nz; e++)
            f += a[z[e]];
        double v = y[t] - f;
        for (int i = 0; i < k; i++) {
            double acc = 0.0;
            for (int e = 0; e < nz; e++)
                acc += P[(size_t)i * k + z[e]];
            tmp1[i] = acc;
        }
        double F, det;
        if (!conv) {
            F = 0.0;
            for (int e = 0; e < nz; e++)
                F += tmp1[z[e]];
            det = log(F);
        } else {
            F = Fc;
            det = detc;
        }
        double ll = 0.0;
        if (F < 1e-12) {
            /* singular step: no update, no likelihood term (statsmodels' univariate fallback) */
            memcpy(af, a, sizeof(double) * (size_t)k);
            if (!conv)
                memcpy(Pf, P, sizeof(double) * kk);
            nsing++;
        } else {
            double scalar = 1.0 / F;
            double tmp2 = scalar * v;
            for (int i = 0; i < k; i++)
                af[i] = a[i] + tmp2 * tmp1[i];
            if (!conv) {
                for (int i = 0; i < k; i++) {
                    double g = tmp1[i] * scalar; /* tmp0[i][l] for every design index l */
                    for (int j = 0; j < k; j++) {
                        double acc = P[(size_t)i * k + j];
                        for (int e = 0; e < nz; e++)
                            acc += (-P[(size_t)z[e] * k + j]) * g;
                        Pf[(size_t)i * k + j] = acc;
                    }
                }
            }
            ll = -0.5 * (LOG_2PI + det) - 0.5 * (v * tmp2);
        }
        if (llf_obs)
            llf_obs[t] = ll;
        if (!conv) {
            predict_match(m, af, Pf, ap, Pp, tmp0);
            if (t >= 1) {
                for (size_t i = 0; i < kk; i++)
                    diff[i] = P[i] - Pp[i];
                if (ddot_self(diff, kk) < 1e-19) {
                    conv = 1;
                    *converged_at = (int)t;
                    Fc = F;
                    detc = det;
                    memcpy(Pfc, Pf, sizeof(double) * kk);
                    memcpy(Ppc, Pp, sizeof(double) * kk);
                }
            }
            memcpy(P, Pp, sizeof(double) * kk);
        } else {
            for (int i = 0; i < k; i++) {
                double acc = 0.0;
                for (int e = m->trow[i]; e < m->trow[i + 1]; e++)
                    acc += af[m->tcol[e]] * m->T[(size_t)i * k + m->tcol[e]];
                ap[i] = acc;
            }
        }
        memcpy(a, ap, sizeof(double) * (size_t)k);
    }
    (void)Pfc;
    (void)Ppc;
    *n_singular = nsing;
    return 0;
}

int sarima_loglike(sarima_model_t *m, const double *y, size_t n, const double *params,
                   sarima_filter_out_t *out, ss_err_t *err) {
    int rc = check_y(y, n, err);
    if (rc)
        return rc;
    if ((rc = sarima_set_params(m, params, err)))
        return rc;
    double *lo = out->llf_obs ? out->llf_obs : obs_buf(m, n);
    sarima_filter_match(m, y, n, lo, &out->converged_at, &out->n_singular);
    size_t burn = (size_t)m->m;
    out->llf = n > burn ? sarima_pairwise_sum(lo + burn, n - burn) : 0.0;
    return 0;
}

int sarima_forecast(sarima_model_t *m, const double *y, size_t n, const double *params, int h,
                    double *mean, double *var, ss_err_t *err) {
    int rc = check_y(y, n, err);
    if (rc)
        return rc;
    if (h < 0)
        return ss_err_set(err, SS_ERR_INVAL, "forecast horizon %d is negative", h);
    if ((rc = sarima_set_params(m, params, err)))
        return rc;
    int ca, ns;
    sarima_filter_match(m, y, n, obs_buf(m, n), &ca, &ns);
    int k = m->m;
    size_t kk = (size_t)k * k;
    double *w = m->work;
    double *a = w, *af = a + k, *tmp1 = af + k, *ap = tmp1 + k;
    double *P = ap + k, *Pf = P + kk, *Pp = Pf + kk, *tmp0 = Pp + kk;
    (void)Pf;
    for (int step = 0; step < h; step++) {
        double f = 0.0;
        for (int e = 0; e < m->nz; e++)
            f += a[m->zidx[e]];
        for (int i = 0; i < k; i++) {
            double acc = 0.0;
            for (int e = 0; e < m->nz; e++)
                acc += P[(size_t)i * k + m->zidx[e]];
            tmp1[i] = acc;
        }
        double F = 0.0;
        for (int e = 0; e < m->nz; e++)
            F += tmp1[m->zidx[e]];
        if (mean)
            mean[step] = f;
        if (var)
            var[step] = F;
        predict_match(m, a, P, ap, Pp, tmp0);
        memcpy(a, ap, sizeof(double) * (size_t)k);
        memcpy(P, Pp, sizeof(double) * kk);
    }
    return 0;
}

/* ------------------------------------------------------------ start values */

/* Least squares y ~ X (rows x cols, row-major) through the SVD pseudo-inverse with numpy's
 * cutoff 1e-15 * max singular value (minimum-norm when rows < cols). */
static void pinv_solve(const double *X, size_t rows, size_t cols, const double *y, double *beta) {
    for (size_t j = 0; j < cols; j++)
        beta[j] = 0.0;
    if (rows == 0 || cols == 0)
        return;
    int tall = rows >= cols;
    size_t M = tall ? rows : cols, N = tall ? cols : rows;
    gsl_matrix *A = gsl_matrix_alloc(M, N);
    gsl_matrix *V = gsl_matrix_alloc(N, N);
    gsl_vector *S = gsl_vector_alloc(N), *work = gsl_vector_alloc(N);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            if (tall)
                gsl_matrix_set(A, i, j, X[i * cols + j]);
            else
                gsl_matrix_set(A, j, i, X[i * cols + j]);
        }
    gsl_linalg_SV_decomp(A, V, S, work);
    double smax = 0.0;
    for (size_t i = 0; i < N; i++)
        if (gsl_vector_get(S, i) > smax)
            smax = gsl_vector_get(S, i);
    double cut = 1e-15 * smax;
    double *wv = ss_xcalloc(N, sizeof(double));
    if (tall) {
        /* X = U S V': beta = V S^-1 U' y */
        for (size_t c = 0; c < N; c++) {
            double sv = gsl_vector_get(S, c);
            if (!(sv > cut))
                continue;
            double acc = 0.0;
            for (size_t i = 0; i < M; i++)
                acc += gsl_matrix_get(A, i, c) * y[i];
            wv[c] = acc / sv;
        }
        for (size_t j = 0; j < N; j++) {
            double acc = 0.0;
            for (size_t c = 0; c < N; c++)
                acc += gsl_matrix_get(V, j, c) * wv[c];
            beta[j] = acc;
        }
    } else {
        /* X' = U S V' so X = V S U': beta = U S^-1 V' y */
        for (size_t c = 0; c < N; c++) {
            double sv = gsl_vector_get(S, c);
            if (!(sv > cut))
                continue;
            double acc = 0.0;
            for (size_t i = 0; i < N; i++)
                acc += gsl_matrix_get(V, i, c) * y[i];
            wv[c] = acc / sv;
        }
        for (size_t j = 0; j < M; j++) {
            double acc = 0.0;
            for (size_t c = 0; c < N; c++)
                acc += gsl_matrix_get(A, j, c) * wv[c];
            beta[j] = acc;
        }
    }
    free(wv);
    gsl_matrix_free(A);
    gsl_matrix_free(V);
    gsl_vector_free(S);
    gsl_vector_free(work);
}

/* statsmodels' SARIMAX._conditional_sum_squares for lag sets {l, 2l, ..} with nar AR and nma MA
 * coefficients at lag step l. Writes ar[nar], ma[nma] and *var (NAN when there is no ARMA part).
 * Returns 1 when statsmodels would raise "too few observations" (params zero). */
static int css(const double *x, size_t n, int nar, int nma, int l, double *ar, double *ma,
               double *var) {
    int k_ar = nar * l, k_ma = nma * l;
    int k = 2 * k_ma;
    int r = k + k_ma > k_ar ? k + k_ma : k_ar;
    *var = NAN;
    for (int i = 0; i < nar; i++)
        ar[i] = 0.0;
    for (int i = 0; i < nma; i++)
        ma[i] = 0.0;
    if (k_ar + k_ma == 0)
        return 0;
    int few = 0;
    double *res1 = NULL, *X = NULL, *beta = NULL, *res2 = NULL;
    size_t nres1 = 0;
    if (k_ma > 0) {
        if ((size_t)k >= n) {
            few = 1;
            goto out;
        }
        size_t rows = n - (size_t)k;
        X = ss_xmalloc(sizeof(double) * rows * (size_t)k);
        beta = ss_xmalloc(sizeof(double) * (size_t)k);
        for (size_t t = 0; t < rows; t++)
            for (int j = 0; j < k; j++)
                X[t * (size_t)k + (size_t)j] = x[t + (size_t)k - 1 - (size_t)j];
        pinv_solve(X, rows, (size_t)k, x + k, beta);
        res1 = ss_xmalloc(sizeof(double) * rows);
        for (size_t t = 0; t < rows; t++) {
            double acc = 0.0;
            for (int j = 0; j < k; j++)
                acc += X[t * (size_t)k + (size_t)j] * beta[j];
            res1[t] = x[t + (size_t)k] - acc;
        }
        nres1 = rows;
        free(X);
        free(beta);
        X = beta = NULL;
    }
    if ((k_ar > 0 && (size_t)k_ar >= n) || (k_ma > 0 && (size_t)k_ma >= nres1)) {
        few = 1;
        goto out;
    }
    size_t rows = n > (size_t)r ? n - (size_t)r : 0;
    size_t cols = (size_t)(nar + nma);
    X = ss_xmalloc(sizeof(double) * (rows ? rows : 1) * cols);
    beta = ss_xmalloc(sizeof(double) * cols);
    for (size_t i = 0; i < rows; i++) {
        size_t t = i + (size_t)r;
        for (int j = 0; j < nar; j++)
            X[i * cols + (size_t)j] = x[t - (size_t)((j + 1) * l)];
        for (int j = 0; j < nma; j++)
            X[i * cols + (size_t)(nar + j)] = res1[t - (size_t)k - (size_t)((j + 1) * l)];
    }
    pinv_solve(X, rows, cols, x + r, beta);
    for (int j = 0; j < nar; j++)
        ar[j] = beta[j];
    for (int j = 0; j < nma; j++)
        ma[j] = beta[nar + j];
    if (rows > 1) {
        res2 = ss_xmalloc(sizeof(double) * rows);
        for (size_t i = 0; i < rows; i++) {
            double acc = 0.0;
            for (size_t j = 0; j < cols; j++)
                acc += X[i * cols + j] * beta[j];
            double e = x[i + (size_t)r] - acc;
            res2[i] = e * e;
        }
        size_t skip = (size_t)nma < rows ? (size_t)nma : rows;
        *var = sarima_pairwise_sum(res2 + skip, rows - skip) / (double)(rows - skip);
    } else {
        few = -1; /* statsmodels: residuals too short, variance = var(endog) */
    }
out:
    if (few == 1 || few == -1) {
        if (few == 1) {
            for (int i = 0; i < nar; i++)
                ar[i] = 0.0;
            for (int i = 0; i < nma; i++)
                ma[i] = 0.0;
        }
        if (n == 0) {
            *var = 1.0;
        } else if (few == 1 && (size_t)(2 * nma) + n > 1) {
            /* residuals = [0]*2 nma ++ (x - mean); variance of residuals[nma:] */
            double mean = sarima_pairwise_sum(x, n) / (double)n;
            double *sq = ss_xmalloc(sizeof(double) * (n + (size_t)nma));
            size_t c = 0;
            for (int i = 0; i < nma; i++)
                sq[c++] = 0.0;
            for (size_t i = 0; i < n; i++)
                sq[c++] = (x[i] - mean) * (x[i] - mean);
            *var = sarima_pairwise_sum(sq, c) / (double)c;
            free(sq);
        } else {
            double mean = sarima_pairwise_sum(x, n) / (double)n;
            double *sq = ss_xmalloc(sizeof(double) * n);
            for (size_t i = 0; i < n; i++)
                sq[i] = (x[i] - mean) * (x[i] - mean);
            *var = sarima_pairwise_sum(sq, n) / (double)n;
            free(sq);
        }
    }
    free(X);
    free(beta);
    free(res1);
    free(res2);
    return few == 1;
}

int sarima_start_params(sarima_model_t *m, const double *y, size_t n, double *params, int *flags,
                        ss_err_t *err) {
    int rc = check_y(y, n, err);
    if (rc)
        return rc;
    const sarima_order_t *o = &m->o;
    int s = o->s;
    /* seasonal differences first, then regular ones (statsmodels' diff) */
    double *x = ss_xmalloc(sizeof(double) * n);
    memcpy(x, y, sizeof(double) * n);
    size_t len = n;
    for (int dd = 0; dd < o->D; dd++) {
        if (len <= (size_t)s) {
            len = 0;
            break;
        }
        for (size_t i = 0; i + (size_t)s < len; i++)
            x[i] = x[i + (size_t)s] - x[i];
        len -= (size_t)s;
    }
    for (int dd = 0; dd < o->d && len > 0; dd++) {
        for (size_t i = 0; i + 1 < len; i++)
            x[i] = x[i + 1] - x[i];
        len--;
    }
    int fl = 0;
    double var1, var2;
    if (css(x, len, o->p, o->q, 1, params, params + o->p, &var1))
        fl |= SARIMA_START_FEW_OBS;
    if (css(x, len, o->P, o->Q, s > 0 ? s : 1, params + o->p + o->q, params + o->p + o->q + o->P,
            &var2))
        fl |= SARIMA_START_FEW_OBS_SEAS;
    double var = var1;
    if (isnan(var))
        var = var2;
    if (isnan(var)) {
        double acc = 0.0;
        for (size_t i = 0; i < len; i++)
            acc += x[i] * x[i];
        var = acc / (double)n;
    }
    if (!isfinite(var))
        var = 1.0;
    if (var < 1e-10)
        var = 1e-10;
    params[m->np - 1] = var;
    free(x);
    if (flags)
        *flags = fl;
    return 0;
}

/* ----------------------------------------------------------------- fitting */

/* Debian's liblbfgsb (L-BFGS-B 3.0, Fortran): hidden character lengths come last. */
extern void setulb_(int *n, int *m, double *x, double *l, double *u, int *nbd, double *f, double *g,
                    double *factr, double *pgtol, double *wa, int *iwa, char *task, int *iprint,
                    char *csave, int *lsave, int *isave, double *dsave, size_t task_len,
                    size_t csave_len);

static void set_task(char *task, const char *s) {
    size_t l = strlen(s);
    memset(task, ' ', 60);
    memcpy(task, s, l < 60 ? l : 60);
}

int sarima_lbfgsb(sarima_model_t *m, const double *y, size_t n, double *x, int maxiter,
                  double factr, double pgtol, sarima_fg_fn fg, void *opaque,
                  sarima_fit_result_t *res) {
    int np = m->np, mm = 10, iprint = -1;
    double f = 0.0, g[SARIMA_MAX_PARAMS], l[SARIMA_MAX_PARAMS] = {0}, u[SARIMA_MAX_PARAMS] = {0};
    int nbd[SARIMA_MAX_PARAMS] = {0};
    size_t wlen = (size_t)(2 * mm * np + 5 * np + 11 * mm * mm + 8 * mm);
    double *wa = ss_xcalloc(wlen, sizeof(double));
    int *iwa = ss_xcalloc((size_t)(3 * np), sizeof(int));
    char task[61] = {0}, csave[61] = {0};
    int lsave[4] = {0}, isave[44] = {0};
    double dsave[29] = {0};
    double xc[SARIMA_MAX_PARAMS];
    int have_cache = 0, iters = 0;
    double fc = 0.0, gc[SARIMA_MAX_PARAMS];
    set_task(task, "START");
    set_task(csave, "");
    (void)y;
    (void)n;
    for (;;) {
        setulb_(&np, &mm, x, l, u, nbd, &f, g, &factr, &pgtol, wa, iwa, task, &iprint, csave, lsave,
                isave, dsave, 60, 60);
        if (strncmp(task, "FG", 2) == 0) {
            if (!have_cache || memcmp(xc, x, sizeof(double) * (size_t)np) != 0) {
                fg(opaque, x, &fc, gc);
                memcpy(xc, x, sizeof(double) * (size_t)np);
                have_cache = 1;
            }
            f = fc;
            memcpy(g, gc, sizeof(double) * (size_t)np);
        } else if (strncmp(task, "NEW_X", 5) == 0) {
            iters++;
            if (iters >= maxiter)
                set_task(task, "STOP: TOTAL NO. of ITERATIONS REACHED LIMIT");
        } else {
            break;
        }
    }
    res->iterations = iters;
    if (strncmp(task, "CONV", 4) == 0)
        res->warnflag = 0;
    else if (iters >= maxiter)
        res->warnflag = 1;
    else
        res->warnflag = 2;
    memcpy(res->task, task, 60);
    res->task[60] = '\0';
    for (int i = 59; i >= 0 && res->task[i] == ' '; i--)
        res->task[i] = '\0';
    free(wa);
    free(iwa);
    return 0;
}

typedef struct match_ctx {
    sarima_model_t *m;
    const double *y;
    size_t n;
    int fcalls;
} match_ctx_t;

/* The objective and its forward-difference neighbours in one lane pass: the same numbers as
 * objective() + fd_gradient(), filter for filter (see sarima_lanes.c). */
static void match_fg(void *opaque, const double *x, double *f, double *g) {
    match_ctx_t *c = opaque;
    sarima_model_t *m = c->m;
    int np = m->np;
    double xs[SARIMA_MAX_PARAMS + 1][SARIMA_MAX_PARAMS], dx[SARIMA_MAX_PARAMS];
    double fv[SARIMA_MAX_PARAMS + 1] = {0};
    const double *pp[8];
    const double eps2 = 1.4901161193847656e-08; /* sqrt(DBL_EPSILON) */
    for (int l = 0; l <= np; l++) {
        memcpy(xs[l], x, sizeof(double) * (size_t)np);
        if (l > 0) {
            int i = l - 1;
            double h = 1e-5;
            volatile double xh = x[i] + h;
            if (xh - x[i] == 0.0)
                h = eps2 * (x[i] >= 0 ? 1.0 : -1.0) * (fabs(x[i]) > 1.0 ? fabs(x[i]) : 1.0);
            xs[l][i] = x[i] + h;
            dx[i] = xs[l][i] - x[i];
        }
    }
    /* optimiser space -> parameters (sigma2 = x^2), in place */
    double ps[SARIMA_MAX_PARAMS + 1][SARIMA_MAX_PARAMS];
    for (int l = 0; l <= np; l++) {
        memcpy(ps[l], xs[l], sizeof(double) * (size_t)np);
        ps[l][np - 1] = xs[l][np - 1] * xs[l][np - 1];
    }
    for (int l0 = 0; l0 <= np; l0 += 8) {
        int nb = np + 1 - l0 < 8 ? np + 1 - l0 : 8;
        double llf[8];
        for (int l = 0; l < nb; l++)
            pp[l] = ps[l0 + l];
        sarima_filter_match_lanes(m, c->y, c->n, nb, pp, llf);
        for (int l = 0; l < nb; l++) {
            double fl = -llf[l] / (double)c->n;
            fv[l0 + l] = isnan(fl) ? HUGE_VAL : fl;
        }
    }
    c->fcalls += np + 1;
    *f = fv[0];
    for (int i = 0; i < np; i++)
        g[i] = (fv[i + 1] - fv[0]) / dx[i];
}

const char *sarima_warm_str(int warm) {
    static const char *const names[] = {"none", "used",        "bad_start", "not_minimum",
                                        "far",  "no_decrease", "no_conv"};
    if (warm < 0 || warm >= (int)(sizeof(names) / sizeof(names[0])))
        return "unknown";
    return names[warm];
}

int sarima_fit(sarima_model_t *m, const double *y, size_t n, const sarima_fit_opts_t *opts,
               sarima_fit_result_t *res, ss_err_t *err) {
    sarima_fit_opts_t def = {0};
    if (!opts)
        opts = &def;
    int rc = check_y(y, n, err);
    if (rc)
        return rc;
    memset(res, 0, sizeof(*res));
    int np = m->np;
    res->n_params = np;
    double x[SARIMA_MAX_PARAMS];
    int maxiter = opts->maxiter > 0 ? opts->maxiter : 50;
    if (opts->warm && opts->mode != SARIMA_MODE_MATCH) {
        int ok = 1;
        for (int i = 0; i < np; i++)
            ok &= isfinite(opts->warm[i]);
        ok &= opts->warm[np - 1] > 0.0;
        memcpy(res->start, opts->warm, sizeof(double) * (size_t)np);
        memcpy(x, opts->warm, sizeof(double) * (size_t)np);
        x[np - 1] = sqrt(ok ? opts->warm[np - 1] : 1.0);
        res->warm = ok ? sarima_fit_warm(m, y, n, x, res) : SARIMA_WARM_BAD_START;
        if (res->warm == SARIMA_WARM_USED)
            goto done;
        res->warm_fcalls = res->fcalls;
    }
    if (opts->start) {
        memcpy(res->start, opts->start, sizeof(double) * (size_t)np);
    } else if ((rc = sarima_start_params(m, y, n, res->start, &res->start_flags, err))) {
        return rc;
    }
    if (!(res->start[np - 1] > 0.0) || !isfinite(res->start[np - 1]))
        return ss_err_set(err, SS_ERR_INVAL, "start variance %g is not positive",
                          res->start[np - 1]);
    memcpy(x, res->start, sizeof(double) * (size_t)np);
    x[np - 1] = sqrt(res->start[np - 1]);
    if (opts->mode == SARIMA_MODE_MATCH) {
        match_ctx_t c = {m, y, n, 0};
        sarima_lbfgsb(m, y, n, x, maxiter, 1e7, 1e-5, match_fg, &c, res);
        res->fcalls = c.fcalls;
    } else {
        sarima_fit_fast(m, y, n, x, opts, res);
        res->fcalls += res->warm_fcalls;
    }
done:
    memcpy(res->params, x, sizeof(double) * (size_t)np);
    res->params[np - 1] = x[np - 1] * x[np - 1];
    if (res->warm != SARIMA_WARM_USED) {
        sarima_filter_out_t out = {0};
        if (sarima_loglike(m, y, n, res->params, &out, NULL) != 0)
            out.llf = NAN;
        res->llf = out.llf;
    }
    res->aic = -2.0 * res->llf + 2.0 * np;
    double neff = (double)n - (double)m->m;
    res->bic = -2.0 * res->llf + np * log(neff > 1 ? neff : 1);
    return 0;
}
