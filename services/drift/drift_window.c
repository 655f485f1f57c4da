/* drift_window: event-time tumbling windows, learnt references, data quality (drift_window.h). */
#include "drift_window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One series' values in one window. */
typedef struct acc {
    uint64_t n, n_missing;
    double sum;
    double *sample; /* reservoir of at most sample_cap values */
    size_t sample_n, sample_alloc;
    int counts_valid; /* 1: counts[] holds every value (bins existed when the window opened) */
    uint64_t counts[DSTAT_MAX_BINS];
} acc_t;

typedef struct slot {
    int64_t k; /* window index */
    uint64_t events, dlq;
    acc_t *acc; /* n_series entries */
} slot_t;

typedef struct series {
    char *name;
    int frozen;  /* reference given by dwin_set_reference */
    int has_ref; /* bins valid */
    dstat_bins_t bins;
    double *ref_sorted; /* learnt: the reference sample, sorted (for two-sample KS) */
    size_t ref_sorted_n;
    double *ref_res; /* learnt: reservoir while learning */
    size_t ref_res_n, ref_res_alloc;
    uint64_t ref_seen;
    int ref_windows;
} series_t;

struct dwin {
    dwin_opts_t o;
    size_t n_series;
    series_t *series;
    slot_t *slots; /* open windows, sorted by k */
    size_t n_slots, cap_slots;
    int started;
    int64_t next_close; /* index of the oldest window not yet closed */
    int64_t max_event_ms;
    uint64_t pending_dlq;
    uint64_t rng;
    /* data-quality history, ring of the last history_windows closed windows */
    double *hist_events, *hist_rate;
    int hist_n, hist_pos;
    uint64_t dropped_late, dropped_future, closed;
    dwin_series_report_t *rep; /* n_series, reused */
};

static uint64_t rng_next(dwin_t *w) {
    /* splitmix64 */
    uint64_t z = (w->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Algorithm R: the seen-th value (1-based) enters a reservoir of cap values. */
static void reservoir_add(dwin_t *w, double **buf, size_t *n, size_t *alloc, size_t cap,
                          uint64_t seen, double x) {
    if (*n < cap) {
        if (*n == *alloc) {
            size_t na = *alloc ? *alloc * 2 : 64;
            if (na > cap)
                na = cap;
            *buf = ss_xrealloc(*buf, na * sizeof(double));
            *alloc = na;
        }
        (*buf)[(*n)++] = x;
        return;
    }
    uint64_t j = rng_next(w) % seen;
    if (j < cap)
        (*buf)[j] = x;
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

dwin_t *dwin_new(const dwin_opts_t *opts, const char *const *names, size_t n_series,
                 ss_err_t *err) {
    dwin_opts_t o = opts ? *opts : (dwin_opts_t){0};
    if (o.window_ms < 0) {
        ss_err_set(err, SS_ERR_INVAL, "window_ms %lld must be positive", (long long)o.window_ms);
        return NULL;
    }
    if (o.lateness_ms < 0) {
        ss_err_set(err, SS_ERR_INVAL, "lateness_ms %lld must not be negative",
                   (long long)o.lateness_ms);
        return NULL;
    }
    if (o.n_bins > DSTAT_MAX_BINS) {
        ss_err_set(err, SS_ERR_INVAL, "n_bins %zu out of range 1..%d", o.n_bins, DSTAT_MAX_BINS);
        return NULL;
    }
    if (o.reference_windows < 0 || o.history_windows < 0 || o.max_ahead_windows < 0) {
        ss_err_set(err, SS_ERR_INVAL, "window counts must not be negative");
        return NULL;
    }
    if (!o.window_ms)
        o.window_ms = DWIN_DAY_MS;
    if (!o.min_samples)
        o.min_samples = 100;
    if (!o.sample_cap)
        o.sample_cap = 5000;
    if (!o.n_bins)
        o.n_bins = DSTAT_DEFAULT_BINS;
    if (!o.reference_windows)
        o.reference_windows = 7;
    if (!o.reference_cap)
        o.reference_cap = 50000;
    if (!o.history_windows)
        o.history_windows = 7;
    if (!o.max_ahead_windows)
        o.max_ahead_windows = 400;
    if (!o.seed)
        o.seed = 1;
    dwin_t *w = ss_xcalloc(1, sizeof(*w));
    w->o = o;
    w->rng = o.seed;
    w->n_series = n_series;
    w->series = ss_xcalloc(n_series ? n_series : 1, sizeof(series_t));
    for (size_t i = 0; i < n_series; i++)
        w->series[i].name = ss_xstrdup(names[i]);
    w->rep = ss_xcalloc(n_series ? n_series : 1, sizeof(dwin_series_report_t));
    w->hist_events = ss_xcalloc((size_t)o.history_windows, sizeof(double));
    w->hist_rate = ss_xcalloc((size_t)o.history_windows, sizeof(double));
    w->max_event_ms = INT64_MIN;
    return w;
}

static void slot_free(dwin_t *w, slot_t *s) {
    for (size_t i = 0; i < w->n_series; i++)
        free(s->acc[i].sample);
    free(s->acc);
}

void dwin_destroy(dwin_t *w) {
    if (!w)
        return;
    for (size_t i = 0; i < w->n_slots; i++)
        slot_free(w, &w->slots[i]);
    free(w->slots);
    for (size_t i = 0; i < w->n_series; i++) {
        free(w->series[i].name);
        free(w->series[i].ref_sorted);
        free(w->series[i].ref_res);
    }
    free(w->series);
    free(w->rep);
    free(w->hist_events);
    free(w->hist_rate);
    free(w);
}

const dwin_opts_t *dwin_get_opts(const dwin_t *w) { return &w->o; }

int dwin_series_index(const dwin_t *w, const char *name) {
    for (size_t i = 0; i < w->n_series; i++)
        if (strcmp(w->series[i].name, name) == 0)
            return (int)i;
    return -1;
}

int dwin_set_reference(dwin_t *w, size_t i, const dstat_bins_t *bins, ss_err_t *err) {
    if (i >= w->n_series)
        return ss_err_set(err, SS_ERR_INVAL, "series %zu out of range", i);
    series_t *s = &w->series[i];
    s->bins = *bins;
    s->frozen = 1;
    s->has_ref = 1;
    return 0;
}

const dstat_bins_t *dwin_reference(const dwin_t *w, size_t i) {
    if (i >= w->n_series || !w->series[i].has_ref)
        return NULL;
    return &w->series[i].bins;
}

/* Finds or creates the slot of window k, or NULL (status set) when the event must be dropped. */
static slot_t *slot_for(dwin_t *w, int64_t t_ms, dwin_status_t *st) {
    int64_t k = floor_div(t_ms - w->o.origin_ms, w->o.window_ms);
    if (!w->started) {
        w->started = 1;
        w->next_close = k;
    }
    if (k < w->next_close) {
        w->dropped_late++;
        *st = DWIN_LATE;
        return NULL;
    }
    if (k - w->next_close > w->o.max_ahead_windows) {
        w->dropped_future++;
        *st = DWIN_FUTURE;
        return NULL;
    }
    *st = DWIN_OK;
    if (t_ms > w->max_event_ms)
        w->max_event_ms = t_ms;
    size_t pos = 0;
    while (pos < w->n_slots && w->slots[pos].k < k)
        pos++;
    if (pos < w->n_slots && w->slots[pos].k == k)
        return &w->slots[pos];
    if (w->n_slots == w->cap_slots) {
        w->cap_slots = w->cap_slots ? w->cap_slots * 2 : 4;
        w->slots = ss_xrealloc(w->slots, w->cap_slots * sizeof(slot_t));
    }
    memmove(&w->slots[pos + 1], &w->slots[pos], (w->n_slots - pos) * sizeof(slot_t));
    w->n_slots++;
    slot_t *s = &w->slots[pos];
    memset(s, 0, sizeof(*s));
    s->k = k;
    s->acc = ss_xcalloc(w->n_series ? w->n_series : 1, sizeof(acc_t));
    for (size_t i = 0; i < w->n_series; i++)
        s->acc[i].counts_valid = w->series[i].has_ref;
    if (w->pending_dlq) {
        s->dlq += w->pending_dlq;
        w->pending_dlq = 0;
    }
    return s;
}

dwin_status_t dwin_add(dwin_t *w, size_t i, int64_t t_ms, double x) {
    SS_ASSERT(i < w->n_series);
    dwin_status_t st;
    slot_t *s = slot_for(w, t_ms, &st);
    if (!s)
        return st;
    acc_t *a = &s->acc[i];
    if (isnan(x)) {
        a->n_missing++;
        return DWIN_OK;
    }
    a->n++;
    a->sum += x;
    if (a->counts_valid)
        a->counts[dstat_bin_index(&w->series[i].bins, x)]++;
    reservoir_add(w, &a->sample, &a->sample_n, &a->sample_alloc, w->o.sample_cap, a->n, x);
    return DWIN_OK;
}

dwin_status_t dwin_count_event(dwin_t *w, int64_t t_ms) {
    dwin_status_t st;
    slot_t *s = slot_for(w, t_ms, &st);
    if (s)
        s->events++;
    return st;
}

void dwin_count_dlq(dwin_t *w) {
    if (w->max_event_ms == INT64_MIN) {
        w->pending_dlq++;
        return;
    }
    dwin_status_t st;
    slot_t *s = slot_for(w, w->max_event_ms, &st);
    if (s)
        s->dlq++;
}

int64_t dwin_watermark(const dwin_t *w) {
    if (w->max_event_ms == INT64_MIN)
        return INT64_MIN;
    return w->max_event_ms - w->o.lateness_ms;
}

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Judges series i of a closing window against its reference. */
static void judge(dwin_t *w, size_t i, acc_t *a, dwin_series_report_t *r) {
    series_t *s = &w->series[i];
    uint64_t counts[DSTAT_MAX_BINS] = {0};
    if (a->counts_valid) {
        memcpy(counts, a->counts, sizeof(counts));
    } else {
        /* The window opened before the reference existed: bin the reservoir (exact while the
         * window had no more than sample_cap values). */
        for (size_t j = 0; j < a->sample_n; j++)
            counts[dstat_bin_index(&s->bins, a->sample[j])]++;
    }
    r->psi = dstat_psi_counts(&s->bins, counts, DSTAT_PSI_EPS);
    dstat_ks_t ks;
    ss_err_t err = SS_ERR_INIT;
    if (s->frozen) {
        qsort(a->sample, a->sample_n, sizeof(double), cmp_double);
        dstat_ks_vs_bins(a->sample, a->sample_n, &s->bins, &ks);
    } else if (dstat_ks_2samp(a->sample, a->sample_n, s->ref_sorted, s->ref_sorted_n, DSTAT_KS_AUTO,
                              &ks, &err) < 0) {
        ks.d = ks.p = NAN;
    }
    r->ks_d = ks.d;
    r->ks_p = ks.p;
    r->judged = 1;
}

/* Adds a learning window's values to the series' reference; completes it after K windows. */
static void learn(dwin_t *w, size_t i, acc_t *a) {
    series_t *s = &w->series[i];
    for (size_t j = 0; j < a->sample_n; j++) {
        s->ref_seen++;
        reservoir_add(w, &s->ref_res, &s->ref_res_n, &s->ref_res_alloc, w->o.reference_cap,
                      s->ref_seen, a->sample[j]);
    }
    if (++s->ref_windows < w->o.reference_windows)
        return;
    ss_err_t err = SS_ERR_INIT;
    if (dstat_bins_from_sample(&s->bins, s->ref_res, s->ref_res_n, w->o.n_bins, &err) < 0)
        return; /* cannot happen: learning windows have min_samples values */
    s->ref_sorted = s->ref_res;
    s->ref_sorted_n = s->ref_res_n;
    s->ref_res = NULL;
    s->ref_res_n = s->ref_res_alloc = 0;
    qsort(s->ref_sorted, s->ref_sorted_n, sizeof(double), cmp_double);
    s->has_ref = 1;
}

static void close_window(dwin_t *w, int64_t k, dwin_close_fn fn, void *opaque) {
    slot_t *s = NULL;
    if (w->n_slots > 0 && w->slots[0].k == k)
        s = &w->slots[0];
    dwin_report_t r = {0};
    r.start_ms = w->o.origin_ms + k * w->o.window_ms;
    r.end_ms = r.start_ms + w->o.window_ms;
    r.events = s ? s->events : 0;
    r.dlq = s ? s->dlq : 0;
    r.dlq_rate = (r.events + r.dlq) ? (double)r.dlq / (double)(r.events + r.dlq) : NAN;
    r.history = w->hist_n;
    r.dq_judged = w->hist_n == w->o.history_windows;
    r.volume_median = r.volume_ratio = r.dlq_rate_median = NAN;
    if (w->hist_n > 0)
        r.dlq_rate_median = dstat_median(w->hist_rate, (size_t)w->hist_n);
    if (r.dq_judged) {
        r.volume_median = dstat_median(w->hist_events, (size_t)w->hist_n);
        if (r.volume_median > 0)
            r.volume_ratio = (double)r.events / r.volume_median;
        else
            r.volume_ratio = r.events ? INFINITY : NAN;
    }
    for (size_t i = 0; i < w->n_series; i++) {
        dwin_series_report_t *sr = &w->rep[i];
        acc_t empty = {0};
        acc_t *a = s ? &s->acc[i] : &empty;
        memset(sr, 0, sizeof(*sr));
        sr->name = w->series[i].name;
        sr->n = a->n;
        sr->n_missing = a->n_missing;
        sr->mean = a->n ? a->sum / (double)a->n : NAN;
        sr->psi = sr->ks_d = sr->ks_p = NAN;
        series_t *se = &w->series[i];
        if (se->has_ref) {
            sr->has_reference = 1;
            if (a->n >= w->o.min_samples)
                judge(w, i, a, sr);
        } else if (a->n >= w->o.min_samples) {
            sr->learning = 1;
            learn(w, i, a);
            sr->has_reference = se->has_ref;
        }
    }
    r.n_series = w->n_series;
    r.series = w->rep;
    w->closed++;
    if (fn)
        fn(w, &r, opaque);
    /* History of the data-quality figures, including empty windows (a silent day is news). */
    w->hist_events[w->hist_pos] = (double)r.events;
    w->hist_rate[w->hist_pos] = r.dlq_rate;
    w->hist_pos = (w->hist_pos + 1) % w->o.history_windows;
    if (w->hist_n < w->o.history_windows)
        w->hist_n++;
    if (s) {
        slot_free(w, s);
        memmove(&w->slots[0], &w->slots[1], (w->n_slots - 1) * sizeof(slot_t));
        w->n_slots--;
    }
}

int dwin_advance(dwin_t *w, int64_t watermark_ms, dwin_close_fn fn, void *opaque) {
    int n = 0;
    if (!w->started)
        return 0;
    while (w->o.origin_ms + (w->next_close + 1) * w->o.window_ms <= watermark_ms) {
        close_window(w, w->next_close, fn, opaque);
        w->next_close++;
        n++;
    }
    return n;
}

uint64_t dwin_dropped_late(const dwin_t *w) { return w->dropped_late; }
uint64_t dwin_dropped_future(const dwin_t *w) { return w->dropped_future; }
uint64_t dwin_closed(const dwin_t *w) { return w->closed; }

/* ======================== Watermark over partitions ======================== */

typedef struct wm_src {
    int id;
    int64_t max_event_ms, last_wall_ms;
} wm_src_t;

struct dwin_wm {
    int64_t idle_ms, lateness_ms;
    int64_t last_any_wall_ms; /* latest delivery of any source; INT64_MIN before the first */
    wm_src_t *v;
    size_t n, cap;
};

dwin_wm_t *dwin_wm_new(int64_t idle_ms, int64_t lateness_ms) {
    dwin_wm_t *m = ss_xcalloc(1, sizeof(*m));
    m->idle_ms = idle_ms > 0 ? idle_ms : 5000;
    m->lateness_ms = lateness_ms > 0 ? lateness_ms : 0;
    m->last_any_wall_ms = INT64_MIN;
    return m;
}

void dwin_wm_destroy(dwin_wm_t *m) {
    if (!m)
        return;
    free(m->v);
    free(m);
}

void dwin_wm_observe(dwin_wm_t *m, int source, int64_t event_ms, int64_t wall_ms) {
    if (event_ms != INT64_MIN) {
        /* The stream starts, or resumes after a pause: every source gets a fresh grace period,
         * or the first partitions to deliver would run ahead of those that have not yet. */
        if (m->last_any_wall_ms == INT64_MIN || wall_ms - m->last_any_wall_ms >= m->idle_ms)
            for (size_t i = 0; i < m->n; i++)
                m->v[i].last_wall_ms = wall_ms;
        m->last_any_wall_ms = wall_ms;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i].id == source) {
            if (event_ms > m->v[i].max_event_ms)
                m->v[i].max_event_ms = event_ms;
            m->v[i].last_wall_ms = wall_ms;
            return;
        }
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = ss_xrealloc(m->v, m->cap * sizeof(wm_src_t));
    }
    m->v[m->n++] = (wm_src_t){source, event_ms, wall_ms};
}

void dwin_wm_add(dwin_wm_t *m, int source, int64_t wall_ms) {
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].id == source)
            return;
    dwin_wm_observe(m, source, INT64_MIN, wall_ms);
}

void dwin_wm_forget(dwin_wm_t *m, int source) {
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i].id == source) {
            m->v[i] = m->v[--m->n];
            return;
        }
    }
}

int64_t dwin_wm_get(const dwin_wm_t *m, int64_t wall_ms) {
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i].max_event_ms > hi)
            hi = m->v[i].max_event_ms;
        if (wall_ms - m->v[i].last_wall_ms < m->idle_ms && m->v[i].max_event_ms < lo)
            lo = m->v[i].max_event_ms;
    }
    int64_t w = lo == INT64_MAX ? hi : lo;
    if (w == INT64_MIN)
        return INT64_MIN; /* nothing yet, or an active source has delivered nothing */
    return w - m->lateness_ms;
}
