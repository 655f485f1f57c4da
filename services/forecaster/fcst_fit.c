/* fcst_fit: a static pool per call; workers take the next product index atomically. */
#include "fcst_fit.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct job {
    const fcst_series_t *s;
    const double *const *starts;
    const fcst_fit_opts_t *opts;
    fcst_fit_t *out;
    size_t n;
    atomic_size_t next; /* next product index to take */
    atomic_long done;   /* products finished */
} job_t;

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int start_ok(const double *p) {
    if (!p)
        return 0;
    for (int i = 0; i < FCST_N_PARAMS; i++)
        if (!isfinite(p[i]))
            return 0;
    return p[FCST_N_PARAMS - 1] > 0;
}

static void *worker(void *arg) {
    job_t *j = arg;
    for (;;) {
        if (j->opts->stop && *j->opts->stop)
            break;
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            break;
        size_t n;
        const double *y = fcst_series_values(j->s, i, NULL, &n);
        const double *st = j->starts ? j->starts[i] : NULL;
        dprep_opts_t o = {.mode = j->opts->mode, .horizon = j->opts->horizon};
        fcst_fit_t *f = &j->out[i];
        if (j->opts->mode != SARIMA_MODE_MATCH && start_ok(st))
            o.warm = st;
        double t0 = mono_s();
        /* only bad options fail, and those were checked by the caller */
        if (dprep_run(y, n, &o, &f->res, NULL) == 0) {
            f->warm = !f->res.fallback && f->res.fit.warm == SARIMA_WARM_USED;
            f->seconds = mono_s() - t0;
            f->done = 1;
            atomic_fetch_add(&j->done, 1);
            if (j->opts->on_done)
                j->opts->on_done(i, f, j->opts->opaque);
        }
    }
    return NULL;
}

long fcst_fit_all(const fcst_series_t *s, const double *const *starts, const fcst_fit_opts_t *opts,
                  fcst_fit_t *out, ss_err_t *err) {
    fcst_fit_opts_t def = {0};
    pthread_t tid[FCST_MAX_THREADS];
    int nthreads, started = 0;
    job_t j;

    if (!opts)
        opts = &def;
    if (opts->horizon < 0 || opts->horizon > 3650)
        return ss_err_set(err, SS_ERR_INVAL, "forecast horizon %d out of range 0..3650",
                          opts->horizon);
    j.s = s;
    j.starts = starts;
    j.opts = opts;
    j.out = out;
    j.n = fcst_series_count(s);
    atomic_init(&j.next, 0);
    atomic_init(&j.done, 0);
    memset(out, 0, j.n * sizeof(*out));
    nthreads = opts->threads > 0 ? opts->threads : 1;
    if (nthreads > FCST_MAX_THREADS)
        nthreads = FCST_MAX_THREADS;
    if ((size_t)nthreads > j.n)
        nthreads = (int)j.n;
    /* the calling thread is one of the workers */
    for (int t = 1; t < nthreads; t++)
        if (pthread_create(&tid[t - 1], NULL, worker, &j) == 0)
            started++;
    worker(&j);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    return atomic_load(&j.done);
}

void fcst_fit_release(fcst_fit_t *out, size_t n) {
    for (size_t i = 0; out && i < n; i++) {
        dprep_result_release(&out[i].res);
        out[i].done = 0;
    }
}

int fcst_params_format(const dprep_result_t *r, char *out, size_t size) {
    if (r->fallback || r->fit.n_params != FCST_N_PARAMS)
        return SS_ERR_INVAL;
    const double *p = r->fit.params;
    int len = snprintf(out, size, "%.17g,%.17g,%.17g,%.17g,%.17g", p[0], p[1], p[2], p[3], p[4]);
    if (len < 0 || (size_t)len >= size)
        return SS_ERR_INVAL;
    return len;
}

int fcst_params_parse(const char *s, size_t len, double p[FCST_N_PARAMS]) {
    char tmp[256], *cur, *end;
    if (!s || len == 0 || len >= sizeof(tmp))
        return SS_ERR_INVAL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    cur = tmp;
    for (int i = 0; i < FCST_N_PARAMS; i++) {
        errno = 0;
        p[i] = strtod(cur, &end);
        if (errno || end == cur || !isfinite(p[i]))
            return SS_ERR_INVAL;
        if (i < FCST_N_PARAMS - 1) {
            if (*end != ',')
                return SS_ERR_INVAL;
            cur = end + 1;
        } else if (*end) {
            return SS_ERR_INVAL;
        }
    }
    return p[FCST_N_PARAMS - 1] > 0 ? 0 : SS_ERR_INVAL;
}
