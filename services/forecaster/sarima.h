/* sarima: seasonal ARIMA(p,d,q)(P,D,Q,s) in state-space form, laid out exactly as statsmodels'
 * SARIMAX (enforce_stationarity=False, enforce_invertibility=False): differencing inside the
 * state, Harvey-form ARMA block, approximate diffuse start P = 1e6 I, conventional Kalman filter,
 * burn-in of k_states observations. Pure computation: no I/O, no clock, no logging.
 * A handle owns scratch memory: one handle per thread; different handles are independent.
 * See docs/forecasting.md for match mode (reproduces statsmodels) versus fast mode. */
#ifndef SS_SARIMA_H
#define SS_SARIMA_H

#include <stddef.h>

#include "ss_err.h"

#define SARIMA_MAX_PARAMS 32 /* p + q + P + Q + 1 must not exceed this */
#define SARIMA_Z95 1.959963984540054

/* Model orders; seasonal period s >= 2 when P, D or Q is non-zero. */
typedef struct sarima_order {
    int p, d, q; /* regular AR order, differences, MA order */
    int P, D, Q; /* seasonal AR order, seasonal differences, seasonal MA order */
    int s;       /* seasonal period in observations (7 for weekly on daily data) */
} sarima_order_t;

typedef struct sarima_model sarima_model_t;

/* Builds the state-space layout for order. Returns new (free with sarima_destroy) or NULL with
 * err set when an order is negative, the seasonal period is missing or the model is too big. */
sarima_model_t *sarima_new(const sarima_order_t *order, ss_err_t *err);
/* Frees m; NULL is a no-op. */
void sarima_destroy(sarima_model_t *m);

/* Number of states (also the likelihood burn-in: the first k_states observations update the
 * filter but add nothing to the log-likelihood). 17 for (1,1,1)(1,1,1,7). */
int sarima_k_states(const sarima_model_t *m);
/* Number of parameters, ordered as statsmodels names them:
 * ar.L1..ar.Lp, ma.L1..ma.Lq, ar.S.L(s)..ar.S.L(P s), ma.S.L(s)..ma.S.L(Q s), sigma2. */
int sarima_n_params(const sarima_model_t *m);

/* Filter output at fixed parameters. */
typedef struct sarima_filter_out {
    double llf;       /* sum of per-observation terms for t >= k_states */
    double *llf_obs;  /* caller array of n entries or NULL; burn-in terms included */
    int converged_at; /* step at which P reached steady state, -1 if never */
    int n_singular;   /* steps skipped because F < 1e-12 */
} sarima_filter_out_t;

/* Runs the Kalman filter over y[0..n) at params (sigma2 last, as a variance). Returns 0, or
 * SS_ERR_INVAL for n == 0, a non-finite y or a sigma2 <= 0 / non-finite parameter. A
 * non-finite log-likelihood is not an error: out->llf says so. Borrows y and params. */
int sarima_loglike(sarima_model_t *m, const double *y, size_t n, const double *params,
                   sarima_filter_out_t *out, ss_err_t *err);

/* Filters y[0..n) at params and forecasts h steps past y[n-1]: mean[h] and var[h] (the
 * forecast error variance Z P Z'); either output may be NULL. 95 % bounds are
 * mean +- SARIMA_Z95 sqrt(var). Returns 0 or SS_ERR_INVAL as sarima_loglike. */
int sarima_forecast(sarima_model_t *m, const double *y, size_t n, const double *params, int h,
                    double *mean, double *var, ss_err_t *err);

enum sarima_start_flags {
    SARIMA_START_FEW_OBS = 1 << 0,     /* regular ARMA start values set to 0 (too few obs) */
    SARIMA_START_FEW_OBS_SEAS = 1 << 1 /* seasonal ARMA start values set to 0 (as statsmodels,
                                          which warns) */
};

/* statsmodels' start values: on the differenced series, a long AR(2q) regression gives
 * residuals, then y_t is regressed on its lags and the lagged residuals; the same with lags of s
 * for the seasonal part; sigma2 = mean squared residual, floored at 1e-10. Writes
 * sarima_n_params(m) values to params and enum sarima_start_flags to *flags (may be NULL).
 * Returns 0 or SS_ERR_INVAL (n == 0, non-finite y). */
int sarima_start_params(sarima_model_t *m, const double *y, size_t n, double *params, int *flags,
                        ss_err_t *err);

enum sarima_mode {
    SARIMA_MODE_FAST = 0, /* exact gradient, sparse symmetric filter, tighter stop (default) */
    SARIMA_MODE_MATCH = 1 /* reproduces statsmodels' fit (L-BFGS-B, forward differences) */
};

/* Fit options; zero means default. */
typedef struct sarima_fit_opts {
    int mode;            /* enum sarima_mode; default fast */
    int maxiter;         /* L-BFGS-B iterations; default 50 (statsmodels' default) */
    const double *start; /* start parameters (sigma2 as a variance) or NULL for start params */
    const double *warm;  /* fast mode only: a previous fit's parameters (sigma2 as a variance),
                            e.g. yesterday's on the series one day shorter, or NULL. The fit
                            refines them by Newton steps and, when the safety rule rejects
                            them (enum sarima_warm), falls back to the cold fit from start.
                            Ignored in match mode */
} sarima_fit_opts_t;

/* What became of opts.warm (sarima_fit_result_t.warm). Every value but NONE and USED is a
 * reason the warm start was rejected and the cold fit ran instead. */
enum sarima_warm {
    SARIMA_WARM_NONE = 0,        /* no warm start given (or match mode): a cold fit */
    SARIMA_WARM_USED = 1,        /* converged from the warm start; the result is its optimum */
    SARIMA_WARM_BAD_START = 2,   /* not finite, sigma2 <= 0, or a non-finite llf there */
    SARIMA_WARM_NOT_MINIMUM = 3, /* the Hessian is not positive definite there */
    SARIMA_WARM_FAR = 4,         /* predicted llf gain at the start above 1e-4 relative */
    SARIMA_WARM_NO_DECREASE = 5, /* a Newton step failed to decrease -llf */
    SARIMA_WARM_NO_CONV = 6      /* not converged in 8 Newton steps */
};

/* Short lowercase name of an enum sarima_warm value ("used", "far", ...); never NULL. */
const char *sarima_warm_str(int warm);

typedef struct sarima_fit_result {
    double params[SARIMA_MAX_PARAMS]; /* fitted parameters, sigma2 last (a variance) */
    double start[SARIMA_MAX_PARAMS];  /* start parameters used */
    int n_params;                     /* number of entries in params */
    double llf;                       /* log-likelihood at params (re-filtered) */
    double aic, bic;                  /* -2 llf + 2 k; bic uses n - k_states observations */
    int iterations;                   /* L-BFGS-B iterations (NEW_X count) */
    int fcalls;                       /* objective evaluations, finite-difference ones included */
    int warnflag;                     /* 0 converged, 1 iteration/evaluation limit, 2 other stop */
    int start_flags;                  /* enum sarima_start_flags of the start values */
    int warm;                         /* enum sarima_warm: what became of opts.warm */
    int warm_fcalls;                  /* evaluations spent on a rejected warm start (also in
                                         fcalls); 0 otherwise */
    char task[61];                    /* L-BFGS-B's final task string */
} sarima_fit_result_t;

/* Maximum likelihood fit of y[0..n) by L-BFGS-B minimising -llf/n over (AR, MA, sqrt(sigma2)).
 * With opts->warm in fast mode: Newton refinement from the warm parameters first (Hessian by
 * forward differences of the exact gradient, then BFGS updates, Armijo steps), stopping when
 * the predicted llf gain (Newton decrement) is below 1e-9 relative; on rejection, the cold fit
 * above. A warm result's llf is the fast filter's at the optimum (the match-mode filter's to
 * ~1e-12 relative; the cold fits recompute it with the match-mode filter).
 * Returns 0 (res filled; check res->llf is finite) or SS_ERR_INVAL for unusable input (n <= 0,
 * non-finite y, too many parameters). Borrows y. */
int sarima_fit(sarima_model_t *m, const double *y, size_t n, const sarima_fit_opts_t *opts,
               sarima_fit_result_t *res, ss_err_t *err);

/* Fast-mode helper, exposed for tests: log-likelihood and its exact gradient with respect to
 * params (sigma2 as a variance) by differentiating the filter recursions. grad has
 * sarima_n_params(m) entries. Returns 0 or SS_ERR_INVAL as sarima_loglike. */
int sarima_loglike_grad(sarima_model_t *m, const double *y, size_t n, const double *params,
                        double *llf, double *grad, ss_err_t *err);

#endif
