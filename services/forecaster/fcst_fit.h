/* fcst_fit: runs demand_prep (clip, split, SARIMA(1,1,1)(1,1,1,7) fit, holdout errors, 30-day
 * forecast, MA7 fallback) for every product of a finished fcst_series_t on a few threads, with
 * optional warm starts, and the text form of fitted parameters kept in Redis between days.
 * No I/O, no logging. fcst_fit_all starts and joins its own threads; call it from one thread. */
#ifndef SS_FCST_FIT_H
#define SS_FCST_FIT_H

#include <signal.h>
#include <stddef.h>

#include "demand_prep.h"
#include "fcst_series.h"
#include "ss_err.h"

#define FCST_N_PARAMS 5 /* ar.L1 ma.L1 ar.S.L7 ma.S.L7 sigma2 */
#define FCST_MAX_THREADS 64

typedef struct fcst_fit {
    dprep_result_t res; /* filled when done (release with fcst_fit_release) */
    double seconds;     /* wall time of this product's dprep_run (monotonic clock) */
    int done;           /* 1 when res is filled */
    int warm;           /* 1 when the fit converged from the given warm-start parameters
                           (res.fit.warm == SARIMA_WARM_USED); 0 for a cold fit, including a
                           warm start rejected by the safety rule (res.fit.warm says why) */
} fcst_fit_t;

/* Zero means default for every field. */
typedef struct fcst_fit_opts {
    int mode;    /* enum sarima_mode; default fast. Warm starts are ignored in match mode */
    int horizon; /* days forecast after the last day; default DPREP_HORIZON */
    int threads; /* worker threads; default 1, at most FCST_MAX_THREADS */
    const volatile sig_atomic_t *stop; /* may be NULL; once non-zero, workers take no new
                                          product and the call returns early */
    /* Called after each product with its index, from the worker thread that fitted it
     * (concurrently: use atomics, e.g. ss_http_heartbeat or ss_metrics updates). May be NULL. */
    void (*on_done)(size_t i, const fcst_fit_t *f, void *opaque);
    void *opaque; /* passed to on_done */
} fcst_fit_opts_t;

/* Fits every product of s (finished) into out[0..fcst_series_count(s)) (caller array, zeroed
 * by the call). starts may be NULL; else starts[i] (NULL or FCST_N_PARAMS values, borrowed)
 * is product i's warm start (its previous fitted parameters), tried in fast mode when it is
 * finite with sigma2 > 0: Newton refinement from there, or the cold fit when sarima's safety
 * rule rejects it (see sarima_fit_opts_t.warm).
 * Returns the number of products done: all of them unless *opts->stop was raised (check
 * out[i].done), or SS_ERR_INVAL for bad options (horizon > 3650). */
long fcst_fit_all(const fcst_series_t *s, const double *const *starts, const fcst_fit_opts_t *opts,
                  fcst_fit_t *out, ss_err_t *err);

/* Releases out[0..n) (the dprep results); the array itself is the caller's. */
void fcst_fit_release(fcst_fit_t *out, size_t n);

/* Writes the fitted parameters of r as "v1,v2,v3,v4,v5" (%.17g, round-trips exactly) into
 * out[0..size). Returns the length, or SS_ERR_INVAL when r is a fallback (nothing to keep) or
 * the text does not fit. */
int fcst_params_format(const dprep_result_t *r, char *out, size_t size);

/* Parses FCST_N_PARAMS comma-separated finite numbers with a positive last one (sigma2) from
 * s[0..len) into p. Returns 0 or SS_ERR_INVAL. */
int fcst_params_parse(const char *s, size_t len, double p[FCST_N_PARAMS]);

#endif
