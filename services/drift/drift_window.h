/* drift_window: event-time tumbling windows for the drift monitor. Values of named series
 * (features, the churn score) and event / dead-letter counts go into the window of their event
 * time; a window closes when the watermark (the largest event time seen minus the allowed
 * lateness) passes its end, and is then judged against a reference: a frozen one (the model
 * artifact's quantile bins) or one learnt from the first K windows of the stream. Data quality
 * (event volume and dead-letter rate) is judged against the median of the last N windows.
 * Pure: no I/O, no clock (event time is passed in); deterministic (seeded reservoir sampling).
 * Not thread-safe: one thread per dwin_t. */
#ifndef SS_DRIFT_WINDOW_H
#define SS_DRIFT_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "drift_stats.h"
#include "ss_err.h"

#define DWIN_DAY_MS INT64_C(86400000)

/* Zero means default for every field. */
typedef struct dwin_opts {
    int64_t window_ms;     /* tumbling window length, event time; 0 = 1 day */
    int64_t origin_ms;     /* windows are [origin + k * window_ms, + window_ms); 0 = epoch, so
                              day windows start at 00:00 UTC */
    int64_t lateness_ms;   /* watermark = largest event time seen - lateness; 0 = none */
    uint64_t min_samples;  /* a series with fewer values in a window is not judged; 0 = 100 */
    size_t sample_cap;     /* raw values kept per series per window (reservoir) for KS and for
                              a learnt reference; 0 = 5000 */
    size_t n_bins;         /* PSI bins of a learnt reference; 0 = 10 */
    int reference_windows; /* a learnt reference is made of the first K windows in which the
                              series had min_samples values; 0 = 7 */
    size_t reference_cap;  /* raw values kept per learnt reference (reservoir); 0 = 50000 */
    int history_windows;   /* data quality: compare with the median of the last N windows;
                              0 = 7 */
    int max_ahead_windows; /* an event more than this many windows after the oldest open window
                              is dropped as an outlier (counted in dropped_future), so one bad
                              timestamp cannot close a year of windows; 0 = 400 */
    uint64_t seed;         /* reservoir sampling; 0 = 1 */
} dwin_opts_t;

/* What dwin_add did with a value or event. */
typedef enum dwin_status {
    DWIN_OK = 0,
    DWIN_LATE = 1,   /* its window already closed: dropped, counted in dropped_late */
    DWIN_FUTURE = 2, /* beyond max_ahead_windows: dropped, counted in dropped_future */
} dwin_status_t;

typedef struct dwin_series_report {
    const char *name;   /* borrowed from the dwin_t */
    uint64_t n;         /* non-missing values in the window */
    uint64_t n_missing; /* NaN values */
    double mean;        /* of the non-missing values; NaN when n == 0 */
    int has_reference;  /* 1 when a reference exists (frozen, or learnt and complete) */
    int learning;       /* 1 when this window went into the learnt reference */
    int judged;         /* 1 when has_reference, not learning and n >= min_samples */
    double psi;         /* on the reference bins; NaN unless judged */
    double ks_d, ks_p;  /* two-sample KS (learnt reference) or KS against the bins (frozen);
                           NaN unless judged */
} dwin_series_report_t;

typedef struct dwin_report {
    int64_t start_ms, end_ms; /* the window [start, end), event time, epoch ms */
    uint64_t events;          /* events counted with dwin_count_event */
    uint64_t dlq;             /* dead letters counted with dwin_count_dlq */
    double dlq_rate;          /* dlq / (events + dlq); NaN when both are 0 */
    int history;              /* earlier windows available for data quality (<= N) */
    int dq_judged;            /* 1 when history == history_windows */
    double volume_median;     /* median events of the last N windows; NaN unless dq_judged */
    double volume_ratio;      /* events / volume_median; NaN unless dq_judged (Inf if the
                                 median is 0 and events > 0) */
    double dlq_rate_median;   /* median dlq_rate of the last N windows (NaN rates skipped) */
    size_t n_series;
    const dwin_series_report_t *series; /* borrowed for the callback */
} dwin_report_t;

typedef struct dwin dwin_t;

/* Called once per closed window, oldest first, from inside dwin_advance (same thread). The
 * report and its series are borrowed for the call. */
typedef void (*dwin_close_fn)(dwin_t *w, const dwin_report_t *r, void *opaque);

/* Returns new: windows over n_series series named names[0..n_series) (copied), or NULL with
 * SS_ERR_INVAL for bad options ("window_ms -5 must be positive"). */
dwin_t *dwin_new(const dwin_opts_t *opts, const char *const *names, size_t n_series, ss_err_t *err);
void dwin_destroy(dwin_t *w); /* NULL is a no-op */

/* The effective options (defaults filled). Borrows w. */
const dwin_opts_t *dwin_get_opts(const dwin_t *w);

/* Index of series name, or -1. */
int dwin_series_index(const dwin_t *w, const char *name);

/* Freezes the reference of series i to bins (copied), e.g. from the model artifact; such a
 * series is judged from its first window and never learns. Call before the first value. Returns
 * 0 or SS_ERR_INVAL (bad index). */
int dwin_set_reference(dwin_t *w, size_t i, const dstat_bins_t *bins, ss_err_t *err);

/* The reference bins of series i (borrows w; valid until the next dwin call), or NULL while it
 * has none. */
const dstat_bins_t *dwin_reference(const dwin_t *w, size_t i);

/* Adds value x (NaN = missing) of series i at event time t_ms. Returns DWIN_OK, DWIN_LATE or
 * DWIN_FUTURE. Advances the largest event time seen (not for dropped values). */
dwin_status_t dwin_add(dwin_t *w, size_t i, int64_t t_ms, double x);

/* Counts one event (data-quality volume) at event time t_ms. Same status as dwin_add. */
dwin_status_t dwin_count_event(dwin_t *w, int64_t t_ms);

/* Counts one dead letter. Dead letters carry no event time of their own (the envelope's
 * failed_at is wall-clock), so they go into the window of the largest event time seen so far
 * (before any event: held and added to the first window). */
void dwin_count_dlq(dwin_t *w);

/* Largest accepted event time minus lateness; INT64_MIN before the first event. */
int64_t dwin_watermark(const dwin_t *w);

/* Closes, oldest first, every window whose end is <= watermark_ms (windows without any event in
 * between are closed too, empty), calling fn for each. Returns the number closed. */
int dwin_advance(dwin_t *w, int64_t watermark_ms, dwin_close_fn fn, void *opaque);

/* Counters since creation. */
uint64_t dwin_dropped_late(const dwin_t *w);
uint64_t dwin_dropped_future(const dwin_t *w);
uint64_t dwin_closed(const dwin_t *w);

/* ======================== Watermark over partitions ======================== */

/* Kafka gives no order across partitions: while a backlog is read, one partition may run days
 * ahead of another. The watermark is therefore the minimum over the sources (topic partitions)
 * of the largest event time each has delivered, minus lateness; a source that delivered nothing
 * for idle_ms of wall-clock time is left out (it is caught up or dead), and when every source is
 * idle the largest event time of all counts (Flink's "idleness"). When the whole stream resumes
 * after a pause of idle_ms, every source gets a fresh grace period of idle_ms, so the partitions
 * delivering first cannot run ahead of the others. Pure: wall time is passed in. */
typedef struct dwin_wm dwin_wm_t;

/* Returns new. idle_ms 0 = 5000; lateness_ms >= 0. */
dwin_wm_t *dwin_wm_new(int64_t idle_ms, int64_t lateness_ms);
void dwin_wm_destroy(dwin_wm_t *m); /* NULL is a no-op */
/* Records an event of source (any int, e.g. topic index << 20 | partition) at event time
 * event_ms, seen at wall time wall_ms. */
void dwin_wm_observe(dwin_wm_t *m, int source, int64_t event_ms, int64_t wall_ms);
/* Registers a source that has delivered nothing yet (e.g. a newly assigned partition): it holds
 * the watermark back (no watermark at all) until it delivers or is idle for idle_ms. */
void dwin_wm_add(dwin_wm_t *m, int source, int64_t wall_ms);
/* Forgets a source (e.g. a revoked partition). */
void dwin_wm_forget(dwin_wm_t *m, int source);
/* The watermark at wall time wall_ms; INT64_MIN before any event. */
int64_t dwin_wm_get(const dwin_wm_t *m, int64_t wall_ms);

#endif
