/* sarima_lanes: the two filters the fits spend their time in, run on 8 lanes of one vector.
 * - Match mode: up to 8 filters at different parameters in one pass (the objective and its 5
 *   forward-difference neighbours). Each lane does exactly the operations of
 *   sarima_filter_match, in the same order and without fused multiply-add, so each lane's
 *   result is bit-for-bit the scalar one (vector lanes are independent IEEE operations).
 * - Fast mode: the covariance P and its derivatives dP/dparam share one pass, lane 0 = P.
 * Compiled for AVX-512, AVX2 and plain x86-64 (target_clones, resolved at load time).
 * Pure computation; uses the model's lane scratch (one handle per thread). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sarima_int.h"

#define LOG_2PI 1.8378770664093453
#define SARIMA_LANES_MAX_K 400 /* sarima_new refuses larger models */

typedef double v8d __attribute__((vector_size(8 * sizeof(double))));
typedef long long v8l __attribute__((vector_size(8 * sizeof(long long))));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(SS_NO_CLONES)
#define LANES_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LANES_CLONES
#endif

/* macros, not functions: a vector argument or return value would depend on the clone's ABI */
#define vset1(x) ((v8d){(x), (x), (x), (x), (x), (x), (x), (x)})
/* mask ? a : b per lane; mask lanes are 0 or -1 (built lane by lane: GCC 12 cannot lower vector
 * comparisons in the default clone) */
#define vsel(mask, a, b) ((v8d)(((v8l)(a) & (mask)) | ((v8l)(b) & ~(mask))))
#define LANE_MASK(var, cond)                                                                       \
    do {                                                                                           \
        for (int l_ = 0; l_ < 8; l_++)                                                             \
            (var)[l_] = (cond) ? -1LL : 0LL;                                                       \
    } while (0)

/* Lane scratch of nvec vectors, 64-byte aligned, kept in the model. */
static v8d *lane_buf(sarima_model_t *m, size_t nvec) {
    if (m->lanes_n < nvec) {
        free(m->lanes);
        m->lanes = aligned_alloc(64, nvec * sizeof(v8d));
        if (!m->lanes)
            SS_BUG("out of memory (%zu lane vectors)", nvec);
        m->lanes_n = nvec;
    }
    return m->lanes;
}

/* ------------------------------------------------------------ match mode */

LANES_CLONES
static void match_kernel(int k, int nz, const int *z, const int *row, const int *col, const v8d *tv,
                         const v8d *RQR, const double *y, size_t n, v8d *w, const v8d **t0row,
                         double *obs, int *conv_at) {
    size_t kk = (size_t)k * (size_t)k;
    v8d *a = w, *af = a + k, *tmp1 = af + k;
    v8d *P = tmp1 + k, *Pf = P + kk, *Pp = Pf + kk, *t0 = Pp + kk;
    v8l conv = {0};
    v8d Fc = vset1(0.0), detc = vset1(0.0);
    int any_conv = 0, all_conv = 0;
    for (int l = 0; l < 8; l++)
        conv_at[l] = -1;
    for (int i = 0; i < k; i++)
        a[i] = vset1(0.0);
    for (size_t i = 0; i < kk; i++)
        P[i] = vset1(0.0);
    for (int i = 0; i < k; i++)
        P[(size_t)i * k + i] = vset1(1e6);
    const v8d zero = vset1(0.0);
    for (size_t t = 0; t < n; t++) {
        v8d f = zero;
        for (int e = 0; e < nz; e++)
            f += a[z[e]];
        v8d v = vset1(y[t]) - f;
        for (int i = 0; i < k; i++) {
            v8d acc = zero;
            for (int e = 0; e < nz; e++)
                acc += P[(size_t)i * k + z[e]];
            tmp1[i] = acc;
        }
        v8d Fn = zero;
        for (int e = 0; e < nz; e++)
            Fn += tmp1[z[e]];
        v8d detn = zero;
        if (!all_conv)
            for (int l = 0; l < 8; l++)
                detn[l] = conv[l] ? 0.0 : log(Fn[l]);
        v8d F = vsel(conv, Fc, Fn), det = vsel(conv, detc, detn);
        v8l sing;
        LANE_MASK(sing, F[l_] < 1e-12);
        int any_sing = 0;
        for (int l = 0; l < 8; l++)
            any_sing |= sing[l] != 0;
        v8d scalar = vset1(1.0) / vsel(sing, vset1(1.0), F);
        v8d tmp2 = scalar * v;
        for (int i = 0; i < k; i++)
            af[i] = a[i] + tmp2 * tmp1[i];
        if (any_sing)
            for (int i = 0; i < k; i++)
                af[i] = vsel(sing, a[i], af[i]);
        if (!all_conv) {
            for (int i = 0; i < k; i++) {
                v8d g = tmp1[i] * scalar;
                const v8d *pi = P + (size_t)i * k;
                v8d *pfi = Pf + (size_t)i * k;
                if (nz == 3) {
                    const v8d *p0 = P + (size_t)z[0] * k, *p1 = P + (size_t)z[1] * k,
                              *p2 = P + (size_t)z[2] * k;
                    for (int j = 0; j < k; j++)
                        pfi[j] = pi[j] + (-p0[j]) * g + (-p1[j]) * g + (-p2[j]) * g;
                } else {
                    for (int j = 0; j < k; j++) {
                        v8d acc = pi[j];
                        for (int e = 0; e < nz; e++)
                            acc += (-P[(size_t)z[e] * k + j]) * g;
                        pfi[j] = acc;
                    }
                }
            }
            if (any_sing)
                for (size_t i = 0; i < kk; i++)
                    Pf[i] = vsel(sing, P[i], Pf[i]);
        }
        v8d ll = vset1(-0.5) * (vset1(LOG_2PI) + det) - vset1(0.5) * (v * tmp2);
        ll = vsel(sing, zero, ll);
        for (int l = 0; l < 8; l++)
            obs[(size_t)l * n + t] = ll[l];
        /* state prediction: a = T af */
        for (int i = 0; i < k; i++) {
            v8d acc = zero;
            for (int e = row[i]; e < row[i + 1]; e++)
                acc += af[col[e]] * tv[e];
            a[i] = acc;
        }
        if (all_conv)
            continue;
        /* t0 = T Pf. A shift row (one entry, 1.0 in every lane) is a row of Pf, since
         * 0 + x * 1 == x: point at it instead of copying. */
        for (int i = 0; i < k; i++) {
            if (t0row[i] != NULL && t0row[i] != t0 + (size_t)i * k)
                continue;
            v8d *ti = t0 + (size_t)i * k;
            for (int j = 0; j < k; j++)
                ti[j] = zero;
            for (int e = row[i]; e < row[i + 1]; e++) {
                v8d te = tv[e];
                const v8d *pl = Pf + (size_t)col[e] * k;
                for (int j = 0; j < k; j++)
                    ti[j] += pl[j] * te;
            }
        }
        /* Pp = RQR + t0 T', column by column so that the inner loop has a fixed length and
         * independent sums (each (i, j) still adds RQR first, then the row entries in order) */
        for (int j = 0; j < k; j++) {
            for (int i = 0; i < k; i++)
                Pp[(size_t)i * k + j] = RQR[(size_t)i * k + j];
            for (int e = row[j]; e < row[j + 1]; e++) {
                v8d te = tv[e];
                int c = col[e];
                for (int i = 0; i < k; i++)
                    Pp[(size_t)i * k + j] += te * t0row[i][c];
            }
        }
        for (int i = 0; i < k; i++)
            for (int j = i; j < k; j++) {
                v8d s = vset1(0.5) * (Pp[(size_t)i * k + j] + Pp[(size_t)j * k + i]);
                Pp[(size_t)i * k + j] = s;
                Pp[(size_t)j * k + i] = s;
            }
        int check = t >= 1;
        if (check) {
            /* The sum below only grows (non-negative terms, monotone rounding), so one
             * diagonal term at or above the threshold in every lane still to converge decides
             * it without the full sum. */
            check = 0;
            for (int l = 0; l < 8 && !check; l++) {
                if (conv[l])
                    continue;
                int big = 0;
                for (int i = 0; i < k && !big; i++) {
                    double d = P[(size_t)i * k + i][l] - Pp[(size_t)i * k + i][l];
                    big = d * d >= 1e-19;
                }
                check = !big;
            }
        }
        if (check) {
            /* reference ddot of P - Pp with itself, unrolled by 5 */
            v8d d2 = zero;
            size_t mm = kk % 5;
            for (size_t i = 0; i < mm; i++) {
                v8d d = P[i] - Pp[i];
                d2 = d2 + d * d;
            }
            for (size_t i = mm; i < kk; i += 5) {
                v8d d0 = P[i] - Pp[i], d1 = P[i + 1] - Pp[i + 1], dd2 = P[i + 2] - Pp[i + 2],
                    d3 = P[i + 3] - Pp[i + 3], d4 = P[i + 4] - Pp[i + 4];
                d2 = d2 + d0 * d0 + d1 * d1 + dd2 * dd2 + d3 * d3 + d4 * d4;
            }
            v8l newc;
            LANE_MASK(newc, d2[l_] < 1e-19 && !conv[l_]);
            if (any_conv)
                for (size_t i = 0; i < kk; i++)
                    Pp[i] = vsel(conv, P[i], Pp[i]);
            Fc = vsel(newc, F, Fc);
            detc = vsel(newc, det, detc);
            for (int l = 0; l < 8; l++)
                if (newc[l])
                    conv_at[l] = (int)t;
            conv |= newc;
            all_conv = 1;
            for (int l = 0; l < 8; l++) {
                all_conv &= conv[l] != 0;
                any_conv |= conv[l] != 0;
            }
        } else if (any_conv) {
            for (size_t i = 0; i < kk; i++)
                Pp[i] = vsel(conv, P[i], Pp[i]);
        }
        v8d *sw = P; /* the new P is Pp; the old one becomes scratch */
        P = Pp;
        Pp = sw;
        /* the shift rows of t0 point into Pf, which did not move */
    }
}

int sarima_filter_match_lanes(sarima_model_t *m, const double *y, size_t n, int nb,
                              const double *const *params, double *llf) {
    int k = m->m, np = m->np;
    size_t kk = (size_t)k * k;
    int nnz = m->trow[k];
    if (nb < 1 || nb > 8 || k > SARIMA_LANES_MAX_K)
        SS_BUG("sarima lanes: %d filters, %d states", nb, k);
    size_t nvec = (size_t)nnz + kk + 3 * (size_t)k + 4 * kk + (size_t)k;
    size_t nobs = 8 * n;
    if (m->obs_n < nobs) {
        free(m->obs);
        m->obs = ss_xmalloc(nobs * sizeof(double));
        m->obs_n = nobs;
    }
    v8d *buf = lane_buf(m, nvec);
    v8d *tv = buf, *RQR = tv + nnz, *w = RQR + kk;
    int ok[8] = {0}, first = -1;
    for (int l = 0; l < 8; l++) {
        const double *p = l < nb ? params[l] : NULL;
        if (p && sarima_set_params(m, p, NULL) == 0) {
            ok[l] = 1;
            if (first < 0)
                first = l;
        } else if (first >= 0) {
            SS_ASSERT(sarima_set_params(m, params[first], NULL) == 0);
        } else {
            /* no valid lane yet: fill with a harmless model, overwritten or ignored */
            double dummy[SARIMA_MAX_PARAMS] = {0};
            dummy[np - 1] = 1.0;
            SS_ASSERT(sarima_set_params(m, dummy, NULL) == 0);
        }
        for (int i = 0; i < k; i++)
            for (int e = m->trow[i]; e < m->trow[i + 1]; e++)
                tv[e][l] = m->T[(size_t)i * k + m->tcol[e]];
        for (size_t i = 0; i < kk; i++)
            RQR[i][l] = m->RQR[i];
    }
    if (first < 0) {
        for (int l = 0; l < nb; l++)
            llf[l] = NAN;
        return 0;
    }
    /* shift rows of T (a single 1.0) read Pf directly; empty rows read zeros */
    const v8d *t0row[SARIMA_LANES_MAX_K];
    v8d *Pf = w + 3 * (size_t)k + kk, *t0 = w + 3 * (size_t)k + 3 * kk, *zrow = t0 + kk;
    for (int i = 0; i < k; i++) {
        int b = m->trow[i], e = m->trow[i + 1];
        t0row[i] = t0 + (size_t)i * k;
        int ar_entry = i >= m->kd && i < m->kd + m->kar && m->tcol[b] == m->kd;
        if (e - b == 1 && !ar_entry && m->T[(size_t)i * k + m->tcol[b]] == 1.0)
            t0row[i] = Pf + (size_t)m->tcol[b] * k;
        else if (e == b)
            t0row[i] = zrow;
    }
    for (int j = 0; j < k; j++)
        zrow[j] = vset1(0.0);
    int conv_at[8];
    match_kernel(k, m->nz, m->zidx, m->trow, m->tcol, tv, RQR, y, n, w, t0row, m->obs, conv_at);
    size_t burn = (size_t)k;
    for (int l = 0; l < nb; l++)
        llf[l] = !ok[l] ? NAN
                        : (n > burn ? sarima_pairwise_sum(m->obs + (size_t)l * n + burn, n - burn)
                                    : 0.0);
    return 0;
}

/* ------------------------------------------------------------- fast mode */

/* Lane 0 carries the filter (a, P), lane 1 + p its derivative with respect to parameter p
 * (da_p, dP_p): the derivative recursions are the filter's own linear maps plus rank-one and
 * rank-two terms, so all lanes share every pass over T. Upper triangles only. */
LANES_CLONES
static void fast_kernel(int k, int np, int kd, int nz, const int *z, const int *row, const int *col,
                        const double *tvs, const v8d *DT, const v8d *RR, const double *y, size_t n,
                        v8d *w, const v8d **wrow, double *llf_out, double *grad) {
    size_t kk = (size_t)k * (size_t)k;
    v8d *A = w, *Af = A + k, *Mv = Af + k, *Mvc = Mv + k, *U = Mvc + k;
    v8d *X = U + k, *Xf = X + kk, *W = Xf + kk, *Xn = W + kk;
    const v8d zero = vset1(0.0);
    v8d H = vset1(1.0), gl = zero, Fvc = zero;
    H[0] = 0.0;
    for (int i = 0; i < k; i++)
        A[i] = zero;
    for (size_t i = 0; i < kk; i++)
        X[i] = zero;
    for (int i = 0; i < k; i++)
        X[(size_t)i * k + i][0] = 1e6;
    double llf = 0.0;
    int conv = 0;
    size_t burn = (size_t)k;
    for (size_t t = 0; t < n; t++) {
        v8d fz = zero;
        for (int e = 0; e < nz; e++)
            fz += A[z[e]];
        double v = y[t] - fz[0];
        v8d dv = -fz; /* lanes >= 1 */
        v8d Fv;
        if (!conv) {
            for (int i = 0; i < k; i++) {
                v8d acc = zero;
                for (int e = 0; e < nz; e++)
                    acc += X[(size_t)i * k + z[e]];
                Mv[i] = acc;
            }
            Fv = zero;
            for (int e = 0; e < nz; e++)
                Fv += Mv[z[e]];
        } else {
            Fv = Fvc;
            memcpy(Mv, Mvc, sizeof(v8d) * (size_t)k);
        }
        double F = Fv[0];
        if (F < 1e-12) {
            memcpy(Af, A, sizeof(v8d) * (size_t)k);
            if (!conv)
                memcpy(Xf, X, sizeof(v8d) * kk);
        } else {
            double iF = 1.0 / F, g = v * iF;
            if (t >= burn) {
                llf += -0.5 * (LOG_2PI + log(F) + v * g);
                gl += vset1(-0.5) * (Fv * vset1(iF) + vset1(2.0 * g) * dv - vset1(g * g) * Fv);
            }
            v8d DG = dv * vset1(iF) - vset1(g * iF) * Fv;
            DG[0] = 0.0;
            for (int i = 0; i < k; i++)
                Af[i] = A[i] + Mv[i] * vset1(g) + vset1(Mv[i][0]) * DG;
            if (!conv) {
                v8d C = Fv * vset1(iF * iF);
                C[0] = 0.0;
                for (int i = 0; i < k; i++)
                    U[i] = Mv[i] * vset1(iF) * H - vset1(Mv[i][0]) * C;
                for (int i = 0; i < k; i++) {
                    v8d ui = U[i], bi = vset1(Mv[i][0] * iF);
                    const v8d *xi = X + (size_t)i * k;
                    v8d *xfi = Xf + (size_t)i * k;
                    for (int j = i; j < k; j++)
                        xfi[j] = xi[j] - ui * vset1(Mv[j][0]) - bi * Mv[j];
                }
            }
        }
        /* state prediction, with dT_p af for the derivative lanes */
        double afkd = Af[kd][0];
        for (int i = 0; i < k; i++) {
            v8d acc = zero;
            for (int e = row[i]; e < row[i + 1]; e++)
                acc += vset1(tvs[e]) * Af[col[e]];
            A[i] = acc + DT[i] * vset1(afkd);
        }
        if (conv)
            continue;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < i; j++)
                Xf[(size_t)i * k + j] = Xf[(size_t)j * k + i];
        /* W = T Xf; shift rows point into Xf */
        for (int i = 0; i < k; i++) {
            if (wrow[i] != W + (size_t)i * k)
                continue;
            v8d *wi = W + (size_t)i * k;
            for (int j = 0; j < k; j++)
                wi[j] = zero;
            for (int e = row[i]; e < row[i + 1]; e++) {
                v8d te = vset1(tvs[e]);
                const v8d *pl = Xf + (size_t)col[e] * k;
                for (int j = 0; j < k; j++)
                    wi[j] += te * pl[j];
            }
        }
        /* new X = W T' + dT terms + RR on the upper triangle, column by column (inner loops
         * of fixed length), into Xn; the old X stays for the steady-state test on lane 0 */
        for (int j = 0; j < k; j++) {
            v8d wjk = vset1(wrow[j][kd][0]), dtj = DT[j];
            for (int i = 0; i <= j; i++)
                Xn[(size_t)i * k + j] =
                    DT[i] * wjk + vset1(wrow[i][kd][0]) * dtj + RR[(size_t)i * k + j];
            for (int e = row[j]; e < row[j + 1]; e++) {
                v8d te = vset1(tvs[e]);
                int c = col[e];
                for (int i = 0; i <= j; i++)
                    Xn[(size_t)i * k + j] += te * wrow[i][c];
            }
        }
        double diff2 = 0.0;
        for (int i = 0; i < k; i++)
            for (int j = i; j < k; j++) {
                double d = X[(size_t)i * k + j][0] - Xn[(size_t)i * k + j][0];
                diff2 += (i == j ? 1.0 : 2.0) * d * d;
            }
        for (int i = 0; i < k; i++)
            for (int j = 0; j < i; j++)
                Xn[(size_t)i * k + j] = Xn[(size_t)j * k + i];
        v8d *sw = X;
        X = Xn;
        Xn = sw;
        if (t >= 1 && diff2 < 1e-19) {
            conv = 1;
            Fvc = Fv;
            for (int i = 0; i < k; i++) {
                v8d acc = zero;
                for (int e = 0; e < nz; e++)
                    acc += X[(size_t)i * k + z[e]];
                Mvc[i] = acc;
            }
        }
    }
    *llf_out = llf;
    for (int p = 0; p < np; p++)
        grad[p] = gl[p + 1];
}

int sarima_fast_lanes(sarima_model_t *m, const double *y, size_t n, const double *params,
                      double *llf, double *grad) {
    int k = m->m, np = m->np, kd = m->kd, kar = m->kar;
    if (np + 1 > 8 || k > SARIMA_LANES_MAX_K)
        return 1;
    size_t kk = (size_t)k * k;
    int nnz = m->trow[k];
    size_t nvec = 5 * (size_t)k + 4 * kk + (size_t)k + kk;
    v8d *w = lane_buf(m, nvec);
    v8d *DT = w + 5 * (size_t)k + 4 * kk, *RR = DT + k;
    double dTcol[SARIMA_MAX_PARAMS * (SARIMA_MAX_PARAMS * 64 + 1)];
    double tvs[SARIMA_LANES_MAX_K * 4];
    double *dR = ss_xmalloc(sizeof(double) * (size_t)(np + 1) * (size_t)k);
    double *tvh = nnz <= SARIMA_LANES_MAX_K * 4 ? tvs : ss_xmalloc(sizeof(double) * (size_t)nnz);
    sarima_param_derivs(m, params, dTcol, dR);
    for (int i = 0; i < k; i++)
        for (int e = m->trow[i]; e < m->trow[i + 1]; e++)
            tvh[e] = m->T[(size_t)i * k + m->tcol[e]];
    double sigma2 = params[np - 1];
    const double *R = m->R;
    for (int i = 0; i < k; i++) {
        DT[i] = vset1(0.0);
        if (i >= kd && i < kd + kar)
            for (int p = 0; p < np; p++)
                DT[i][p + 1] = dTcol[(size_t)p * (size_t)kar + (size_t)(i - kd)];
    }
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            v8d r = vset1(0.0);
            r[0] = sigma2 * R[i] * R[j];
            for (int p = 0; p < np; p++) {
                const double *dRp = dR + (size_t)p * k;
                r[p + 1] = p == np - 1 ? R[i] * R[j] : sigma2 * (dRp[i] * R[j] + R[i] * dRp[j]);
            }
            RR[(size_t)i * k + j] = r;
        }
    const v8d *wrow[SARIMA_LANES_MAX_K];
    v8d *Xf = w + 5 * (size_t)k + kk, *W = Xf + kk;
    for (int i = 0; i < k; i++) {
        int b = m->trow[i], e = m->trow[i + 1];
        int ar_entry = i >= kd && i < kd + kar && m->tcol[b] == kd;
        wrow[i] = W + (size_t)i * k;
        if (e - b == 1 && !ar_entry && tvh[b] == 1.0)
            wrow[i] = Xf + (size_t)m->tcol[b] * k;
    }
    fast_kernel(k, np, kd, m->nz, m->zidx, m->trow, m->tcol, tvh, DT, RR, y, n, w, wrow, llf, grad);
    if (tvh != tvs)
        free(tvh);
    free(dR);
    return 0;
}
