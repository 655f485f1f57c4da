/* sarima internals shared by sarima.c (layout, match-mode filter, optimiser driver) and
 * sarima_fast.c (fast filter with analytic gradient). Not part of the public API. */
#ifndef SS_SARIMA_INT_H
#define SS_SARIMA_INT_H

#include "sarima.h"

struct sarima_model {
    sarima_order_t o;     /* orders; o.s forced to 0 when there is no seasonal part */
    int m;                /* number of states */
    int kd;               /* differencing states: d + s D */
    int ko;               /* ARMA states: max(p + s P, q + s Q + 1) */
    int kar, kma;         /* reduced AR / MA polynomial degrees */
    int np;               /* number of parameters */
    double *T;            /* transition, m x m row-major; AR column refreshed per parameter set */
    unsigned char *tmask; /* structural non-zeros of T */
    int *trow, *tcol;     /* sparse rows of T: columns of row i are tcol[trow[i] .. trow[i+1]) */
    double *R;            /* selection vector (one shock) */
    double *RQR;          /* R sigma2 R', m x m, in reference-dgemm rounding */
    int *zidx, nz;        /* design: indices of the ones in Z, ascending */
    double *work;         /* scratch: 8 m^2 + 8 m doubles */
    double *obs;          /* per-observation log-likelihood scratch */
    size_t obs_n;         /* capacity of obs */
    double *fast;         /* fast-mode scratch (sarima_fast.c) */
    size_t fast_n;        /* capacity of fast */
    void *lanes;          /* 8-lane scratch, 64-byte aligned (sarima_lanes.c) */
    size_t lanes_n;       /* capacity of lanes in 8-double vectors */
};

/* f and gradient in the optimiser's space (sqrt(sigma2) last) */
typedef void (*sarima_fg_fn)(void *opaque, const double *x, double *f, double *g);

int sarima_set_params(sarima_model_t *m, const double *params, ss_err_t *err);
void sarima_reduced_polys(const sarima_model_t *m, const double *params, double *ar, double *ma);
double sarima_pairwise_sum(const double *a, size_t n);
int sarima_filter_match(sarima_model_t *m, const double *y, size_t n, double *llf_obs,
                        int *converged_at, int *n_singular);
/* Runs nb <= 8 match-mode filters over y[0..n) in one pass, filter l at params[l] (sigma2 last,
 * a variance); llf[l] is bit-for-bit sarima_loglike's llf, NAN when params[l] is unusable. */
int sarima_filter_match_lanes(sarima_model_t *m, const double *y, size_t n, int nb,
                              const double *const *params, double *llf);
/* Fast mode in lanes: llf and its exact gradient (sigma2 as a variance) for np <= 7; returns
 * 1 when the model has too many parameters for the lanes (use the scalar path), else 0. */
int sarima_fast_lanes(sarima_model_t *m, const double *y, size_t n, const double *params,
                      double *llf, double *grad);
/* Per-parameter derivatives of T's AR column (np x kar, rows kd..kd+kar-1) and of R (np x m). */
void sarima_param_derivs(const sarima_model_t *m, const double *params, double *dTcol, double *dR);
/* scipy's fmin_l_bfgs_b loop around Fortran setulb_ (m = 10, no bounds); x in/out */
int sarima_lbfgsb(sarima_model_t *m, const double *y, size_t n, double *x, int maxiter,
                  double factr, double pgtol, sarima_fg_fn fg, void *opaque,
                  sarima_fit_result_t *res);
/* fast-mode fit from x (optimiser space), result x in place; fills iterations/fcalls/... */
void sarima_fit_fast(sarima_model_t *m, const double *y, size_t n, double *x,
                     const sarima_fit_opts_t *opts, sarima_fit_result_t *res);

/* Warm refinement from x (optimiser space), x in place; returns an enum sarima_warm value
 * (SARIMA_WARM_USED: x is the optimum); fills iterations (Newton steps) and fcalls. */
int sarima_fit_warm(sarima_model_t *m, const double *y, size_t n, double *x,
                    sarima_fit_result_t *res);

#endif
