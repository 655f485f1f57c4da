/* scorer_pipe: batch scoring of events and chunked inactivity sweeps. */
#include "scorer_pipe.h"

#include <stdlib.h>

#include "ss_buf.h"
#include "ss_metrics.h"

static int emit_one(scorer_codec_t *codec, const scorer_score_t *s, const char *version,
                    scorer_emit_fn *emit, void *opaque, ss_buf_t *buf, scorer_pipe_stats_t *stats,
                    ss_err_t *err) {
    if (stats)
        stats->emitted[s->reason][s->risk]++;
    if (!emit)
        return 0;
    ss_buf_reset(buf);
    int rc = scorer_codec_encode_score(codec, s, version, buf, err);
    if (rc < 0)
        return rc;
    return emit(s, buf->buf, buf->len, opaque);
}

int scorer_pipe_events(scorer_state_t *st, scorer_codec_t *codec, churn_model_t *m,
                       const scorer_event_t *evs, size_t n, scorer_emit_fn *emit, void *opaque,
                       scorer_pipe_stats_t *stats, ss_err_t *err) {
    if (n == 0)
        return 0;
    const char *version = churn_model_meta(m)->version;
    float *rows = ss_xmalloc(n * CHURN_N_FEATURES * sizeof(float));
    double *p = ss_xmalloc(n * sizeof(double));
    ss_buf_t buf = SS_BUF_INIT;
    int rc;
    for (size_t i = 0; i < n; i++)
        scorer_event_row(&evs[i], rows + i * CHURN_N_FEATURES);
    if ((rc = churn_model_predict(m, rows, n, p, err)) < 0)
        goto out;
    scorer_state_set_model_version(st, version);
    for (size_t i = 0; i < n; i++) {
        scorer_score_t s;
        if (scorer_state_apply(st, &evs[i], p[i], &s) == SCORER_STALE) {
            if (stats)
                stats->stale++;
            continue;
        }
        if (stats)
            stats->events++;
        if ((rc = emit_one(codec, &s, version, emit, opaque, &buf, stats, err)) < 0)
            goto out;
    }
    rc = 0;
out:
    free(rows);
    free(p);
    ss_buf_release(&buf);
    return rc;
}

/* Runs one full sweep at t (full = 1) or one catch-up (full = 0). */
static int run_sweep(scorer_state_t *st, scorer_codec_t *codec, churn_model_t *m, size_t chunk,
                     int full, int64_t t, scorer_emit_fn *emit, void *opaque,
                     scorer_pipe_stats_t *stats, ss_err_t *err) {
    const char *version = churn_model_meta(m)->version;
    float *rows = ss_xmalloc(chunk * CHURN_N_FEATURES * sizeof(float));
    double *p = ss_xmalloc(chunk * sizeof(double));
    scorer_score_t *changed = ss_xmalloc(chunk * sizeof(*changed));
    ss_buf_t buf = SS_BUF_INIT;
    int rc = 0;
    double t0 = ss_metrics_now();
    scorer_state_set_model_version(st, version);
    if (full)
        scorer_state_sweep_begin(st, t);
    else if (!scorer_state_catchup_begin(st))
        goto out;
    size_t n;
    while ((n = scorer_state_sweep_rows(st, rows, chunk)) > 0) {
        if ((rc = churn_model_predict(m, rows, n, p, err)) < 0)
            break;
        size_t k = scorer_state_sweep_apply(st, p, n, changed);
        if (stats)
            stats->swept += n;
        for (size_t i = 0; i < k && rc == 0; i++)
            rc = emit_one(codec, &changed[i], version, emit, opaque, &buf, stats, err);
        if (rc < 0)
            break;
    }
    /* a failed sweep is not retried for that day (the next day's sweep covers everyone) */
    scorer_state_sweep_end(st);
    if (rc == 0 && stats && full)
        stats->sweeps++;
    if (stats)
        stats->sweep_seconds += ss_metrics_now() - t0;
out:
    free(rows);
    free(p);
    free(changed);
    ss_buf_release(&buf);
    return rc;
}

int scorer_pipe_sweeps(scorer_state_t *st, scorer_codec_t *codec, churn_model_t *m, size_t chunk,
                       scorer_emit_fn *emit, void *opaque, scorer_pipe_stats_t *stats, int *ran,
                       ss_err_t *err) {
    int64_t t;
    int rc;
    if (ran)
        *ran = 0;
    if (chunk == 0)
        chunk = 8192;
    /* one sweep at the latest due midnight: a clock that jumped several days needs only that;
     * it also covers the late customers, else they get a catch-up at the last sweep's time */
    if (scorer_state_sweep_due(st, &t)) {
        rc = run_sweep(st, codec, m, chunk, 1, t, emit, opaque, stats, err);
        if (ran)
            *ran = 1;
        return rc;
    }
    if (scorer_state_late(st) > 0)
        return run_sweep(st, codec, m, chunk, 0, 0, emit, opaque, stats, err);
    return 0;
}

int scorer_pipe_batch(scorer_state_t *st, scorer_codec_t *codec, churn_model_t *m,
                      const scorer_event_t *evs, size_t n, int sweep, size_t chunk,
                      scorer_emit_fn *emit, void *opaque, scorer_pipe_stats_t *stats, int *sweeps,
                      ss_err_t *err) {
    int rc = 0, total = 0;
    size_t i = 0;
    if (sweeps)
        *sweeps = 0;
    if (n == 0)
        return 0; /* the clock did not move: nothing can be due */
    do {
        size_t j = i;
        int64_t clock = scorer_state_clock(st);
        int64_t day = rfm_floor_days(clock > 0 ? clock : evs[i].f.as_of_ms);
        /* the segment ends with the first event that enters a later day */
        while (j < n) {
            int64_t d = rfm_floor_days(evs[j].f.as_of_ms);
            j++;
            if (sweep && d > day)
                break;
        }
        if ((rc = scorer_pipe_events(st, codec, m, evs + i, j - i, emit, opaque, stats, err)) < 0)
            break;
        if (sweep) {
            int ran = 0;
            rc = scorer_pipe_sweeps(st, codec, m, chunk, emit, opaque, stats, &ran, err);
            total += ran;
            if (rc < 0)
                break;
        }
        i = j;
    } while (i < n);
    if (sweeps)
        *sweeps = total;
    return rc;
}
