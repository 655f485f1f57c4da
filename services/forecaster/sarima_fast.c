/* sarima_fast: the same likelihood as match mode (same layout, diffuse start, burn-in, singular
 * skip and steady-state rule) computed with its exact gradient. The filter and its parameter
 * derivatives share one pass: T is applied through its sparse rows, covariances are updated on
 * the upper triangle only, and once P is steady only the state recursions remain. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sarima_int.h"

#define LOG_2PI 1.8378770664093453

/* Per-parameter derivatives of T (only column kd varies: rows kd..kd+kar-1) and of R. */
void sarima_param_derivs(const sarima_model_t *m, const double *params, double *dTcol, double *dR) {
    const sarima_order_t *o = &m->o;
    int s = o->s, np = m->np, kar = m->kar, kma = m->kma;
    /* lag polynomials as in sarima_reduced_polys: pa = 1 - phi L.., sa = 1 - Phi L^s.. */
    double pa[SARIMA_MAX_PARAMS + 1] = {1.0}, pm[SARIMA_MAX_PARAMS + 1] = {1.0};
    for (int i = 0; i < o->p; i++)
        pa[i + 1] = -params[i];
    for (int i = 0; i < o->q; i++)
        pm[i + 1] = params[o->p + i];
    const double *sphi = params + o->p + o->q, *stheta = sphi + o->P;
    memset(dTcol, 0, sizeof(double) * (size_t)np * (size_t)(kar > 0 ? kar : 1));
    memset(dR, 0, sizeof(double) * (size_t)np * (size_t)m->m);
    /* T[kd + c - 1][kd] = -(pa * sa)[c]; d/dphi_j = sa[c - j]; d/dPhi_J = pa[c - J s] */
    for (int j = 1; j <= o->p; j++) {
        double *col = dTcol + (size_t)(j - 1) * (size_t)kar;
        col[j - 1] += 1.0; /* sa[0] */
        for (int J = 1; J <= o->P; J++)
            col[j + J * s - 1] += -sphi[J - 1]; /* sa[J s] */
    }
    for (int J = 1; J <= o->P; J++) {
        double *col = dTcol + (size_t)(o->p + o->q + J - 1) * (size_t)kar;
        for (int i = 0; i <= o->p; i++)
            col[i + J * s - 1] += pa[i];
    }
    /* R[kd + c] = (pm * sm)[c]; d/dtheta_j = sm[c - j]; d/dTheta_J = pm[c - J s] */
    int kd = m->kd, k = m->m;
    for (int j = 1; j <= o->q; j++) {
        double *r = dR + (size_t)(o->p + j - 1) * (size_t)k;
        r[kd + j] += 1.0;
        for (int J = 1; J <= o->Q; J++)
            r[kd + j + J * s] += stheta[J - 1];
    }
    for (int J = 1; J <= o->Q; J++) {
        double *r = dR + (size_t)(o->p + o->q + o->P + J - 1) * (size_t)k;
        for (int i = 0; i <= o->q; i++)
            r[kd + i + J * s] += pm[i];
    }
    (void)kma;
}

/* llf and d llf / d params (sigma2 as a variance); grad may be NULL (no derivative work). */
static int fast_filter(sarima_model_t *m, const double *y, size_t n, const double *params,
                       double *llf_out, double *grad) {
    int k = m->m, np = grad ? m->np : 0, kd = m->kd, kar = m->kar;
    size_t kk = (size_t)k * k;
    size_t need = kk * (size_t)(4 + 3 * np) + (size_t)k * (size_t)(8 + 8 * np) +
                  (size_t)(np + 1) * (size_t)(kar + 1) + (size_t)(np + 1) * (size_t)k;
    if (m->fast_n < need) {
        free(m->fast);
        m->fast = ss_xmalloc(need * sizeof(double));
        m->fast_n = need;
    }
    double *w = m->fast;
    double *P = w, *Pf = P + kk, *W = Pf + kk;
    double *dP = W + kk, *dPf = dP + kk * (size_t)np, *dW = dPf + kk * (size_t)np;
    double *a = dW + kk * (size_t)np, *af = a + k, *M = af + k, *Mc = M + k;
    double *da = Mc + k, *daf = da + (size_t)k * np, *dM = daf + (size_t)k * np,
           *dMc = dM + (size_t)k * np;
    double *dTcol = dMc + (size_t)k * np, *dR = dTcol + (size_t)(np + 1) * (size_t)(kar + 1);
    double *tv = dR + (size_t)(np + 1) * (size_t)k; /* T's sparse values, row by row */
    double dFbuf[4 * SARIMA_MAX_PARAMS]; /* dF, dv, dg and the frozen dF, per parameter */
    double *dF = dFbuf;
    double *dv = dF + SARIMA_MAX_PARAMS, *dg = dv + SARIMA_MAX_PARAMS,
           *dFc = dg + SARIMA_MAX_PARAMS;
    const double *T = m->T, *R = m->R;
    const int *row = m->trow, *col = m->tcol, *z = m->zidx;
    int nz = m->nz;
    double sigma2 = params[m->np - 1];
    if (np)
        sarima_param_derivs(m, params, dTcol, dR);
    for (int i = 0; i < k; i++)
        for (int e = row[i]; e < row[i + 1]; e++)
            tv[e] = T[(size_t)i * k + col[e]];

    memset(a, 0, sizeof(double) * (size_t)k);
    memset(P, 0, sizeof(double) * kk);
    for (int i = 0; i < k; i++)
        P[(size_t)i * k + i] = 1e6;
    if (np) {
        memset(da, 0, sizeof(double) * (size_t)k * np);
        memset(dP, 0, sizeof(double) * kk * np);
    }
    double llf = 0.0, g_llf[SARIMA_MAX_PARAMS] = {0};
    int conv = 0;
    double Fc = 0.0;
    size_t burn = (size_t)k;
    for (size_t t = 0; t < n; t++) {
        double f = 0.0;
        for (int e = 0; e < nz; e++)
            f += a[z[e]];
        double v = y[t] - f, F;
        if (!conv) {
            for (int i = 0; i < k; i++) {
                double acc = 0.0;
                for (int e = 0; e < nz; e++)
                    acc += P[(size_t)i * k + z[e]];
                M[i] = acc;
            }
            F = 0.0;
            for (int e = 0; e < nz; e++)
                F += M[z[e]];
            for (int p = 0; p < np; p++) {
                const double *dPp = dP + kk * p;
                double *dMp = dM + (size_t)k * p;
                for (int i = 0; i < k; i++) {
                    double acc = 0.0;
                    for (int e = 0; e < nz; e++)
                        acc += dPp[(size_t)i * k + z[e]];
                    dMp[i] = acc;
                }
                double acc = 0.0;
                for (int e = 0; e < nz; e++)
                    acc += dMp[z[e]];
                dF[p] = acc;
            }
        } else {
            F = Fc;
            memcpy(M, Mc, sizeof(double) * (size_t)k);
            for (int p = 0; p < np; p++)
                dF[p] = dFc[p];
        }
        for (int p = 0; p < np; p++) {
            const double *dap = da + (size_t)k * p;
            double acc = 0.0;
            for (int e = 0; e < nz; e++)
                acc += dap[z[e]];
            dv[p] = -acc;
        }
        const double *dMuse = conv ? dMc : dM;
        if (F < 1e-12) {
            memcpy(af, a, sizeof(double) * (size_t)k);
            if (np)
                memcpy(daf, da, sizeof(double) * (size_t)k * np);
            if (!conv) {
                memcpy(Pf, P, sizeof(double) * kk);
                if (np)
                    memcpy(dPf, dP, sizeof(double) * kk * np);
            }
        } else {
            double iF = 1.0 / F, g = v * iF;
            if (t >= burn) {
                llf += -0.5 * (LOG_2PI + log(F) + v * g);
                for (int p = 0; p < np; p++)
                    g_llf[p] += -0.5 * (dF[p] * iF + 2.0 * dv[p] * g - g * g * dF[p]);
            }
            for (int i = 0; i < k; i++)
                af[i] = a[i] + M[i] * g;
            for (int p = 0; p < np; p++) {
                dg[p] = dv[p] * iF - g * dF[p] * iF;
                const double *dap = da + (size_t)k * p, *dMp = dMuse + (size_t)k * p;
                double *dafp = daf + (size_t)k * p;
                for (int i = 0; i < k; i++)
                    dafp[i] = dap[i] + dMp[i] * g + M[i] * dg[p];
            }
            if (!conv) {
                for (int i = 0; i < k; i++) {
                    double mi = M[i] * iF;
                    for (int j = i; j < k; j++)
                        Pf[(size_t)i * k + j] = P[(size_t)i * k + j] - mi * M[j];
                }
                for (int p = 0; p < np; p++) {
                    const double *dPp = dP + kk * p, *dMp = dM + (size_t)k * p;
                    double *dPfp = dPf + kk * p, c = dF[p] * iF * iF;
                    for (int i = 0; i < k; i++) {
                        double di = dMp[i] * iF, mi = M[i] * iF, ci = M[i] * c;
                        for (int j = i; j < k; j++)
                            dPfp[(size_t)i * k + j] =
                                dPp[(size_t)i * k + j] - di * M[j] - mi * dMp[j] + ci * M[j];
                    }
                }
            }
        }
        /* state prediction */
        for (int i = 0; i < k; i++) {
            double acc = 0.0;
            for (int e = row[i]; e < row[i + 1]; e++)
                acc += tv[e] * af[col[e]];
            a[i] = acc;
        }
        for (int p = 0; p < np; p++) {
            const double *dafp = daf + (size_t)k * p;
            double *dap = da + (size_t)k * p;
            for (int i = 0; i < k; i++) {
                double acc = 0.0;
                for (int e = row[i]; e < row[i + 1]; e++)
                    acc += tv[e] * dafp[col[e]];
                dap[i] = acc;
            }
            const double *dTp = dTcol + (size_t)p * (size_t)kar;
            for (int r = 0; r < kar; r++)
                dap[kd + r] += dTp[r] * af[kd];
        }
        if (conv)
            continue;
        /* covariance prediction on the upper triangle: W = T Pf, P = W T' + RQR' */
        for (int i = 0; i < k; i++)
            for (int j = 0; j < i; j++)
                Pf[(size_t)i * k + j] = Pf[(size_t)j * k + i];
        for (int i = 0; i < k; i++) {
            double *wi = W + (size_t)i * k;
            if (row[i + 1] - row[i] == 1 && tv[row[i]] == 1.0) {
                memcpy(wi, Pf + (size_t)col[row[i]] * k, sizeof(double) * (size_t)k);
                continue;
            }
            memset(wi, 0, sizeof(double) * (size_t)k);
            for (int e = row[i]; e < row[i + 1]; e++) {
                double te = tv[e];
                const double *pl = Pf + (size_t)col[e] * k;
                for (int j = 0; j < k; j++)
                    wi[j] += te * pl[j];
            }
        }
        double diff2 = 0.0;
        for (int i = 0; i < k; i++) {
            const double *wi = W + (size_t)i * k;
            double si = sigma2 * R[i];
            for (int j = i; j < k; j++) {
                double acc = si * R[j];
                for (int e = row[j]; e < row[j + 1]; e++)
                    acc += tv[e] * wi[col[e]];
                double d = P[(size_t)i * k + j] - acc;
                diff2 += (i == j ? 1.0 : 2.0) * d * d;
                P[(size_t)i * k + j] = acc;
                P[(size_t)j * k + i] = acc;
            }
        }
        for (int p = 0; p < np; p++) {
            double *dPfp = dPf + kk * p, *dWp = dW + kk * p, *dPp = dP + kk * p;
            const double *dTp = dTcol + (size_t)p * (size_t)kar, *dRp = dR + (size_t)p * k;
            for (int i = 0; i < k; i++)
                for (int j = 0; j < i; j++)
                    dPfp[(size_t)i * k + j] = dPfp[(size_t)j * k + i];
            for (int i = 0; i < k; i++) {
                double *wi = dWp + (size_t)i * k;
                if (row[i + 1] - row[i] == 1 && tv[row[i]] == 1.0) {
                    memcpy(wi, dPfp + (size_t)col[row[i]] * k, sizeof(double) * (size_t)k);
                    continue;
                }
                memset(wi, 0, sizeof(double) * (size_t)k);
                for (int e = row[i]; e < row[i + 1]; e++) {
                    double te = tv[e];
                    const double *pl = dPfp + (size_t)col[e] * k;
                    for (int j = 0; j < k; j++)
                        wi[j] += te * pl[j];
                }
            }
            int is_sigma = p == m->np - 1;
            for (int i = 0; i < k; i++) {
                const double *wi = dWp + (size_t)i * k;
                double dti = (i >= kd && i < kd + kar) ? dTp[i - kd] : 0.0;
                double wik = W[(size_t)i * k + kd];
                for (int j = i; j < k; j++) {
                    double acc = 0.0;
                    for (int e = row[j]; e < row[j + 1]; e++)
                        acc += tv[e] * wi[col[e]];
                    double dtj = (j >= kd && j < kd + kar) ? dTp[j - kd] : 0.0;
                    acc += dti * W[(size_t)j * k + kd] + wik * dtj;
                    if (is_sigma)
                        acc += R[i] * R[j];
                    else
                        acc += sigma2 * (dRp[i] * R[j] + R[i] * dRp[j]);
                    dPp[(size_t)i * k + j] = acc;
                    dPp[(size_t)j * k + i] = acc;
                }
            }
        }
        if (t >= 1 && diff2 < 1e-19) {
            /* steady state: statsmodels freezes F of this step and the new P (hence M) */
            conv = 1;
            Fc = F;
            for (int i = 0; i < k; i++) {
                double acc = 0.0;
                for (int e = 0; e < nz; e++)
                    acc += P[(size_t)i * k + z[e]];
                Mc[i] = acc;
            }
            for (int p = 0; p < np; p++) {
                dFc[p] = dF[p];
                const double *dPp = dP + kk * p;
                for (int i = 0; i < k; i++) {
                    double acc = 0.0;
                    for (int e = 0; e < nz; e++)
                        acc += dPp[(size_t)i * k + z[e]];
                    dMc[(size_t)k * p + i] = acc;
                }
            }
        }
    }
    *llf_out = llf;
    for (int p = 0; p < np; p++)
        grad[p] = g_llf[p];
    return 0;
}

int sarima_loglike_grad(sarima_model_t *m, const double *y, size_t n, const double *params,
                        double *llf, double *grad, ss_err_t *err) {
    if (!y || n == 0)
        return ss_err_set(err, SS_ERR_INVAL, "sarima needs at least one observation");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i]))
            return ss_err_set(err, SS_ERR_INVAL, "observation %zu is not finite", i);
    int rc = sarima_set_params(m, params, err);
    if (rc)
        return rc;
    if (sarima_fast_lanes(m, y, n, params, llf, grad) == 0)
        return 0;
    return fast_filter(m, y, n, params, llf, grad);
}

typedef struct fast_ctx {
    sarima_model_t *m;
    const double *y;
    size_t n;
    int fcalls;
} fast_ctx_t;

static void fast_fg(void *opaque, const double *x, double *f, double *g) {
    fast_ctx_t *c = opaque;
    sarima_model_t *m = c->m;
    int np = m->np;
    double p[SARIMA_MAX_PARAMS], gr[SARIMA_MAX_PARAMS], llf;
    memcpy(p, x, sizeof(double) * (size_t)np);
    p[np - 1] = x[np - 1] * x[np - 1];
    c->fcalls++;
    if (sarima_loglike_grad(m, c->y, c->n, p, &llf, gr, NULL) != 0 || !isfinite(llf)) {
        *f = HUGE_VAL;
        memset(g, 0, sizeof(double) * (size_t)np);
        return;
    }
    double inv = 1.0 / (double)c->n;
    *f = -llf * inv;
    for (int i = 0; i < np; i++)
        g[i] = -gr[i] * inv;
    g[np - 1] *= 2.0 * x[np - 1]; /* chain rule through sigma2 = x^2 */
    for (int i = 0; i < np; i++)
        if (!isfinite(g[i]))
            g[i] = 0.0;
}

void sarima_fit_fast(sarima_model_t *m, const double *y, size_t n, double *x,
                     const sarima_fit_opts_t *opts, sarima_fit_result_t *res) {
    fast_ctx_t c = {m, y, n, 0};
    int maxiter = opts->maxiter > 0 ? opts->maxiter : 200;
    sarima_lbfgsb(m, y, n, x, maxiter, 1e5, 1e-7, fast_fg, &c, res);
    res->fcalls = c.fcalls;
}

/* ------------------------------------------------------------- warm starts */

#define WARM_MAX_ITER 8 /* Newton steps before giving up */
#define WARM_FAR 1e-4   /* predicted llf gain at the start, relative: the start is too far */
#define WARM_TOL 1e-9   /* predicted llf gain, relative, at which the refinement stops */

/* Cholesky factor of the symmetric a (n x n, row-major) into l; 0, or -1 when a is not
 * positive definite. */
static int chol(const double *a, int n, double *l) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            double s = a[i * n + j];
            for (int c = 0; c < j; c++)
                s -= l[i * n + c] * l[j * n + c];
            if (i == j) {
                if (!(s > 0.0) || !isfinite(s))
                    return -1;
                l[i * n + i] = sqrt(s);
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    return 0;
}

/* x = -(l l')^-1 b */
static void chol_neg_solve(const double *l, int n, const double *b, double *x) {
    for (int i = 0; i < n; i++) {
        double s = b[i];
        for (int c = 0; c < i; c++)
            s -= l[i * n + c] * x[c];
        x[i] = s / l[i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {
        double s = x[i];
        for (int c = i + 1; c < n; c++)
            s -= l[c * n + i] * x[c];
        x[i] = s / l[i * n + i];
    }
    for (int i = 0; i < n; i++)
        x[i] = -x[i];
}

/* Newton refinement from x: on entry f and g are the objective and gradient at x; the Hessian
 * comes from forward differences of the exact gradient, then BFGS updates. On return x, f, g
 * and H (np x np) describe the last point. Returns an enum sarima_warm value. */
static int refine(fast_ctx_t *c, double *x, double *f, double *g, double *H, int *iters) {
    sarima_model_t *m = c->m;
    int np = m->np, it;
    double L[SARIMA_MAX_PARAMS * SARIMA_MAX_PARAMS], p[SARIMA_MAX_PARAMS];
    double xn[SARIMA_MAX_PARAMS], fn, gn[SARIMA_MAX_PARAMS];

    for (int i = 0; i < np; i++) {
        memcpy(xn, x, sizeof(double) * (size_t)np);
        double h = 1e-6 * (fabs(x[i]) > 1.0 ? fabs(x[i]) : 1.0);
        volatile double xh = x[i] + h;
        xn[i] = xh;
        h = xn[i] - x[i];
        fast_fg(c, xn, &fn, gn);
        if (!isfinite(fn))
            return SARIMA_WARM_NOT_MINIMUM;
        for (int j = 0; j < np; j++)
            H[j * np + i] = (gn[j] - g[j]) / h;
    }
    for (int i = 0; i < np; i++)
        for (int j = 0; j < i; j++)
            H[i * np + j] = H[j * np + i] = 0.5 * (H[i * np + j] + H[j * np + i]);
    for (it = 0;; it++) {
        *iters = it;
        if (chol(H, np, L) != 0)
            return SARIMA_WARM_NOT_MINIMUM;
        chol_neg_solve(L, np, g, p);
        double gp = 0.0;
        for (int i = 0; i < np; i++)
            gp += g[i] * p[i];
        /* Newton decrement: predicted llf gain of the full step, relative to |llf| */
        double gain = -0.5 * gp / (fabs(*f) > 1e-300 ? fabs(*f) : 1e-300);
        if (it == 0 && gain > WARM_FAR)
            return SARIMA_WARM_FAR;
        if (gain <= WARM_TOL)
            return SARIMA_WARM_USED;
        if (it == WARM_MAX_ITER)
            return SARIMA_WARM_NO_CONV;
        double alpha = 1.0;
        int ok = 0;
        for (int ls = 0; ls < 4 && !ok; ls++, alpha *= 0.5) {
            for (int i = 0; i < np; i++)
                xn[i] = x[i] + alpha * p[i];
            fast_fg(c, xn, &fn, gn);
            ok = isfinite(fn) && fn <= *f + 1e-4 * alpha * gp;
        }
        if (!ok)
            return SARIMA_WARM_NO_DECREASE;
        /* BFGS update of H with the step taken (kept only when the curvature is positive) */
        double s[SARIMA_MAX_PARAMS], yv[SARIMA_MAX_PARAMS], hs[SARIMA_MAX_PARAMS];
        double sy = 0.0, shs = 0.0;
        for (int i = 0; i < np; i++) {
            s[i] = xn[i] - x[i];
            yv[i] = gn[i] - g[i];
            sy += s[i] * yv[i];
        }
        for (int i = 0; i < np; i++) {
            double acc = 0.0;
            for (int j = 0; j < np; j++)
                acc += H[i * np + j] * s[j];
            hs[i] = acc;
            shs += s[i] * acc;
        }
        if (sy > 0.0 && shs > 0.0)
            for (int i = 0; i < np; i++)
                for (int j = 0; j < np; j++)
                    H[i * np + j] += yv[i] * yv[j] / sy - hs[i] * hs[j] / shs;
        memcpy(x, xn, sizeof(double) * (size_t)np);
        memcpy(g, gn, sizeof(double) * (size_t)np);
        *f = fn;
    }
}

int sarima_fit_warm(sarima_model_t *m, const double *y, size_t n, double *x,
                    sarima_fit_result_t *res) {
    fast_ctx_t c = {m, y, n, 0};
    int st, it = 0;
    double f, g[SARIMA_MAX_PARAMS], H[SARIMA_MAX_PARAMS * SARIMA_MAX_PARAMS];

    fast_fg(&c, x, &f, g);
    st = isfinite(f) ? refine(&c, x, &f, g, H, &it) : SARIMA_WARM_BAD_START;
    res->iterations = it;
    res->fcalls = c.fcalls;
    res->warnflag = st == SARIMA_WARM_USED ? 0 : 2;
    res->llf = -f * (double)n; /* the fast filter's llf at x (within ~1e-12 of match mode's) */
    return st;
}
