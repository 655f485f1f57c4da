/* scorer_state: customer table, 30-day purchase windows, risk transitions, inactivity sweeps.
 * Pure (no I/O, no clock). One mutator thread; lookups under st->mu from any thread. */
#include "scorer_state.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 65536

typedef struct cust {
    const char *id; /* in the arena */
    uint32_t hash;
    uint16_t model_idx;              /* index into st->versions of the latest score's model */
    uint8_t has_score, risk;         /* churn_risk_t of the latest score */
    uint8_t has_prev, prev;          /* level before the latest published score */
    uint8_t reason;                  /* scorer_reason_t of the latest score */
    uint8_t late;                    /* in st->late: applied with as_of before the last sweep */
    int64_t as_of_ms;                /* latest CustomerFeatures received */
    int64_t first_ms, last_ms;       /* purchase times (0 without purchases) */
    int64_t frequency, return_count; /* as received */
    int64_t recency_days, days_since_first, recent_30d; /* as received (at as_of_ms) */
    double total_spent, avg_order, order_std, purchase_frequency, return_amount;
    int64_t *win; /* purchase times that can count in a window as of >= as_of_ms, sorted */
    uint32_t n_win, cap_win;
    double p;               /* latest probability */
    int64_t score_as_of_ms; /* as_of of the features behind p */
    int64_t scored_at_ms;   /* event time of the latest score */
} cust_t;

struct scorer_state {
    pthread_mutex_t mu; /* held by the mutator while writing, by lookups while reading */
    churn_thresholds_t th;
    int64_t active_ms;

    cust_t *c; /* customers in first-seen order */
    size_t n, cap;
    uint32_t *tab;  /* open addressing: customer index + 1, 0 = empty */
    size_t tab_cap; /* power of two */

    char **blocks; /* id arena */
    size_t n_blocks, block_used;

    char **versions; /* distinct model versions */
    size_t n_versions, cur_version;

    int64_t clock_ms;
    int64_t swept_ms; /* midnight of the last swept (or first seen) day; -1 before any event */

    /* customers whose event arrived after the sweep of a later day (another partition was ahead):
     * re-scored as of that sweep by the next catch-up */
    uint32_t *late_ix;
    size_t n_late, cap_late;

    /* the sweep in progress */
    int64_t sweep_t;
    int sweep_late; /* 1: visiting late_ix only */
    size_t cursor;
    uint32_t *pend; /* customer indexes of the last sweep_rows */
    size_t n_pend, cap_pend;

    _Atomic uint64_t risk_n[3];
    _Atomic size_t n_pub; /* customers, for any-thread reads */
};

const char *scorer_reason_name(scorer_reason_t r) {
    return r == SCORER_INACTIVITY ? "INACTIVITY" : "EVENT";
}

static int finite_nonneg(double x) { return isfinite(x) && x >= 0; }

int scorer_event_check(const scorer_event_t *ev, ss_err_t *err) {
    const rfm_features_t *f = &ev->f;
    const char *id = ev->customer_id;
    const int64_t min_t = INT64_C(946684800000), max_t = INT64_C(4102444800000);
    if (!id[0])
        return ss_err_set(err, SS_ERR_INVAL, "empty customer_id");
    if (f->as_of_ms < min_t || f->as_of_ms >= max_t)
        return ss_err_set(err, SS_ERR_INVAL, "customer '%s': as_of %lld out of range", id,
                          (long long)f->as_of_ms);
    if (f->frequency < 0 || f->return_count < 0 || f->recent_orders_30d < 0)
        return ss_err_set(err, SS_ERR_INVAL, "customer '%s': negative count", id);
    if (f->recent_orders_30d > f->frequency)
        return ss_err_set(err, SS_ERR_INVAL,
                          "customer '%s': recent_orders_30d %lld above frequency %lld", id,
                          (long long)f->recent_orders_30d, (long long)f->frequency);
    if (!isfinite(f->total_spent) || !finite_nonneg(f->avg_order) || !finite_nonneg(f->order_std) ||
        !finite_nonneg(f->purchase_frequency) || !finite_nonneg(f->return_amount))
        return ss_err_set(err, SS_ERR_INVAL, "customer '%s': amount not finite or negative", id);
    if (f->frequency > 0) {
        if (ev->last_ms < ev->first_ms)
            return ss_err_set(err, SS_ERR_INVAL,
                              "customer '%s': last_order_time before first_order_time", id);
        if (ev->first_ms < min_t)
            return ss_err_set(err, SS_ERR_INVAL, "customer '%s': first_order_time out of range",
                              id);
        if (ev->last_ms > f->as_of_ms)
            return ss_err_set(err, SS_ERR_INVAL, "customer '%s': last_order_time after as_of", id);
    }
    return 0;
}

void scorer_event_row(const scorer_event_t *ev, float *row) { churn_row_from_rfm(&ev->f, row); }

scorer_state_t *scorer_state_new(const scorer_opts_t *opts, ss_err_t *err) {
    scorer_opts_t o = opts ? *opts : (scorer_opts_t){0};
    if (churn_thresholds_check(&o.thresholds, err) < 0)
        return NULL;
    if (o.active_ms < 0) {
        ss_err_set(err, SS_ERR_INVAL, "negative activity window %lld ms", (long long)o.active_ms);
        return NULL;
    }
    scorer_state_t *st = ss_xcalloc(1, sizeof(*st));
    pthread_mutex_init(&st->mu, NULL);
    st->th = o.thresholds;
    st->active_ms = o.active_ms ? o.active_ms : SCORER_ACTIVE_DEFAULT_MS;
    st->tab_cap = 1024;
    st->tab = ss_xcalloc(st->tab_cap, sizeof(*st->tab));
    st->swept_ms = -1;
    st->versions = ss_xcalloc(1, sizeof(char *));
    st->versions[0] = ss_xstrdup("");
    st->n_versions = 1;
    return st;
}

void scorer_state_destroy(scorer_state_t *st) {
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        free(st->c[i].win);
    free(st->c);
    free(st->tab);
    for (size_t i = 0; i < st->n_blocks; i++)
        free(st->blocks[i]);
    free(st->blocks);
    for (size_t i = 0; i < st->n_versions; i++)
        free(st->versions[i]);
    free(st->versions);
    free(st->pend);
    free(st->late_ix);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

int scorer_state_set_thresholds(scorer_state_t *st, const churn_thresholds_t *t, ss_err_t *err) {
    churn_thresholds_t c = *t;
    if (churn_thresholds_check(&c, err) < 0)
        return err ? err->code : SS_ERR_INVAL;
    st->th = c;
    return 0;
}

const churn_thresholds_t *scorer_state_thresholds(const scorer_state_t *st) { return &st->th; }

void scorer_state_set_model_version(scorer_state_t *st, const char *version) {
    for (size_t i = 0; i < st->n_versions; i++) {
        if (strcmp(st->versions[i], version) == 0) {
            st->cur_version = i;
            return;
        }
    }
    SS_ASSERT(st->n_versions < UINT16_MAX);
    pthread_mutex_lock(&st->mu);
    st->versions = ss_xrealloc(st->versions, (st->n_versions + 1) * sizeof(char *));
    st->versions[st->n_versions] = ss_xstrdup(version);
    st->cur_version = st->n_versions++;
    pthread_mutex_unlock(&st->mu);
}

/* ---- customer table ---- */

static uint32_t hash_id(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/* Returns the slot holding id, or the empty slot where it would go. */
static size_t tab_slot(const scorer_state_t *st, const char *id, uint32_t h) {
    size_t mask = st->tab_cap - 1, i = h & mask;
    for (;;) {
        uint32_t v = st->tab[i];
        if (v == 0)
            return i;
        const cust_t *c = &st->c[v - 1];
        if (c->hash == h && strcmp(c->id, id) == 0)
            return i;
        i = (i + 1) & mask;
    }
}

static cust_t *find(const scorer_state_t *st, const char *id) {
    uint32_t h = hash_id(id);
    size_t i = tab_slot(st, id, h);
    return st->tab[i] ? &st->c[st->tab[i] - 1] : NULL;
}

static const char *arena_dup(scorer_state_t *st, const char *s) {
    size_t len = strlen(s) + 1;
    SS_ASSERT(len <= ARENA_BLOCK);
    if (st->n_blocks == 0 || st->block_used + len > ARENA_BLOCK) {
        st->blocks = ss_xrealloc(st->blocks, (st->n_blocks + 1) * sizeof(char *));
        st->blocks[st->n_blocks++] = ss_xmalloc(ARENA_BLOCK);
        st->block_used = 0;
    }
    char *p = st->blocks[st->n_blocks - 1] + st->block_used;
    memcpy(p, s, len);
    st->block_used += len;
    return p;
}

/* Adds id (absent); caller holds st->mu. */
static cust_t *add(scorer_state_t *st, const char *id) {
    if ((st->n + 1) * 2 > st->tab_cap) {
        size_t ncap = st->tab_cap * 2;
        uint32_t *nt = ss_xcalloc(ncap, sizeof(*nt));
        for (size_t k = 0; k < st->n; k++) {
            size_t j = st->c[k].hash & (ncap - 1);
            while (nt[j])
                j = (j + 1) & (ncap - 1);
            nt[j] = (uint32_t)(k + 1);
        }
        free(st->tab);
        st->tab = nt;
        st->tab_cap = ncap;
    }
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 1024;
        st->c = ss_xrealloc(st->c, st->cap * sizeof(cust_t));
    }
    SS_ASSERT(st->n < UINT32_MAX - 1);
    uint32_t h = hash_id(id);
    cust_t *c = &st->c[st->n];
    memset(c, 0, sizeof(*c));
    c->id = arena_dup(st, id);
    c->hash = h;
    st->tab[tab_slot(st, id, h)] = (uint32_t)(st->n + 1);
    st->n++;
    atomic_store(&st->n_pub, st->n);
    return c;
}

/* ---- 30-day window ---- */

static void win_insert(cust_t *c, int64_t t) {
    if (c->n_win == c->cap_win) {
        c->cap_win = c->cap_win ? c->cap_win * 2 : 4;
        c->win = ss_xrealloc(c->win, c->cap_win * sizeof(int64_t));
    }
    uint32_t i = c->n_win;
    while (i > 0 && c->win[i - 1] > t) {
        c->win[i] = c->win[i - 1];
        i--;
    }
    c->win[i] = t;
    c->n_win++;
}

static void win_drop_front(cust_t *c, uint32_t k) {
    if (k == 0)
        return;
    memmove(c->win, c->win + k, (c->n_win - k) * sizeof(int64_t));
    c->n_win -= k;
}

/* Brings the window in line with the event: keeps times >= as_of - 30 days, then makes their
 * count equal recent_orders_30d (the authoritative count at as_of). */
static void win_reconcile(cust_t *c, int64_t as_of, int64_t recent) {
    uint32_t k = 0;
    while (k < c->n_win && c->win[k] < as_of - RFM_WINDOW_MS)
        k++;
    win_drop_front(c, k);
    /* times after as_of cannot exist (last_ms <= as_of), so n_win is the count at as_of */
    if ((int64_t)c->n_win > recent)
        win_drop_front(c, c->n_win - (uint32_t)recent);
    while ((int64_t)c->n_win < recent)
        win_insert(c, c->last_ms); /* unknown times: at the latest they can be */
}

static void features_at(const cust_t *c, int64_t t, rfm_features_t *f) {
    memset(f, 0, sizeof(*f));
    f->as_of_ms = t;
    f->has_purchase = c->frequency > 0;
    f->frequency = c->frequency;
    f->total_spent = c->total_spent;
    f->avg_order = c->avg_order;
    f->order_std = c->order_std;
    f->days_since_first_order = c->days_since_first;
    f->purchase_frequency = c->purchase_frequency;
    f->return_count = c->return_count;
    f->return_amount = c->return_amount;
    if (t == c->as_of_ms || !f->has_purchase) {
        f->recency_days = c->recency_days;
        f->recent_orders_30d = c->recent_30d;
    } else {
        f->recency_days = rfm_floor_days(t - c->last_ms);
        f->recent_orders_30d = rfm_window_count(c->win, c->n_win, t);
    }
}

static void set_risk(scorer_state_t *st, cust_t *c, churn_risk_t r) {
    if (c->has_score)
        atomic_fetch_sub(&st->risk_n[c->risk], 1);
    atomic_fetch_add(&st->risk_n[r], 1);
    c->risk = (uint8_t)r;
    c->has_score = 1;
}

/* Fills the score event of c at probability p and level r, as of event time t_ms; the level c
 * holds now is the event's previous level. Call before record_level. */
static void score_event(const cust_t *c, double p, churn_risk_t r, int64_t t_ms,
                        scorer_reason_t reason, scorer_score_t *out) {
    out->customer_id = c->id;
    out->probability = p;
    out->risk = r;
    out->has_prev = c->has_score;
    out->prev = (churn_risk_t)c->risk;
    out->features_as_of_ms = t_ms;
    out->scored_at_ms = t_ms;
    out->reason = reason;
}

/* Makes r the level of c, keeping the one it replaces as c's previous level. */
static void record_level(scorer_state_t *st, cust_t *c, churn_risk_t r) {
    c->has_prev = c->has_score;
    c->prev = c->risk;
    set_risk(st, c, r);
}

/* Records the latest score of c (published or not), under the current model. */
static void record_score(const scorer_state_t *st, cust_t *c, double p, int64_t t_ms,
                         scorer_reason_t reason) {
    c->p = p;
    c->score_as_of_ms = t_ms;
    c->scored_at_ms = t_ms;
    c->reason = reason;
    c->model_idx = (uint16_t)st->cur_version;
}

scorer_apply_result_t scorer_state_apply(scorer_state_t *st, const scorer_event_t *ev, double p,
                                         scorer_score_t *out) {
    const rfm_features_t *f = &ev->f;
    pthread_mutex_lock(&st->mu);
    cust_t *c = find(st, ev->customer_id);
    int fresh = c == NULL;
    if (c) {
        int64_t orders = f->frequency + f->return_count;
        int64_t have = c->frequency + c->return_count;
        if (f->as_of_ms < c->as_of_ms || (f->as_of_ms == c->as_of_ms && orders <= have)) {
            pthread_mutex_unlock(&st->mu);
            return SCORER_STALE;
        }
    } else {
        c = add(st, ev->customer_id);
    }
    if (!fresh && f->frequency > 0 && ev->last_ms > c->last_ms && c->frequency > 0)
        win_insert(c, ev->last_ms);
    c->as_of_ms = f->as_of_ms;
    c->first_ms = f->frequency > 0 ? ev->first_ms : 0;
    c->last_ms = f->frequency > 0 ? ev->last_ms : 0;
    c->frequency = f->frequency;
    c->return_count = f->return_count;
    c->recency_days = f->recency_days;
    c->days_since_first = f->days_since_first_order;
    c->recent_30d = f->recent_orders_30d;
    c->total_spent = f->total_spent;
    c->avg_order = f->avg_order;
    c->order_std = f->order_std;
    c->purchase_frequency = f->purchase_frequency;
    c->return_amount = f->return_amount;
    if (f->frequency > 0)
        win_reconcile(c, f->as_of_ms, f->recent_orders_30d);
    else
        c->n_win = 0;

    churn_risk_t r = churn_risk_level(&st->th, p);
    score_event(c, p, r, f->as_of_ms, SCORER_EVENT, out);
    record_level(st, c, r);
    record_score(st, c, p, f->as_of_ms, SCORER_EVENT);
    if (f->as_of_ms > st->clock_ms)
        st->clock_ms = f->as_of_ms;
    if (st->swept_ms > 0 && f->as_of_ms < st->swept_ms && !c->late) {
        if (st->n_late == st->cap_late) {
            st->cap_late = st->cap_late ? st->cap_late * 2 : 256;
            st->late_ix = ss_xrealloc(st->late_ix, st->cap_late * sizeof(uint32_t));
        }
        st->late_ix[st->n_late++] = (uint32_t)(c - st->c);
        c->late = 1;
    }
    if (st->swept_ms < 0)
        st->swept_ms = rfm_floor_days(st->clock_ms) * SCORER_DAY_MS;
    pthread_mutex_unlock(&st->mu);
    return SCORER_APPLIED;
}

int64_t scorer_state_clock(const scorer_state_t *st) { return st->clock_ms; }

void scorer_state_advance_clock(scorer_state_t *st, int64_t t_ms) {
    if (t_ms > st->clock_ms)
        st->clock_ms = t_ms;
    if (st->swept_ms < 0 && st->clock_ms > 0)
        st->swept_ms = rfm_floor_days(st->clock_ms) * SCORER_DAY_MS;
}

/* ---- sweep ---- */

int scorer_state_sweep_due(const scorer_state_t *st, int64_t *t_ms) {
    if (st->swept_ms < 0)
        return 0;
    int64_t day = rfm_floor_days(st->clock_ms) * SCORER_DAY_MS;
    if (day <= st->swept_ms)
        return 0;
    *t_ms = day;
    return 1;
}

void scorer_state_sweep_begin(scorer_state_t *st, int64_t t_ms) {
    st->sweep_t = t_ms;
    st->sweep_late = 0;
    st->cursor = 0;
    st->n_pend = 0;
}

int scorer_state_catchup_begin(scorer_state_t *st) {
    if (st->n_late == 0 || st->swept_ms <= 0)
        return 0;
    st->sweep_t = st->swept_ms;
    st->sweep_late = 1;
    st->cursor = 0;
    st->n_pend = 0;
    return 1;
}

size_t scorer_state_late(const scorer_state_t *st) { return st->n_late; }

size_t scorer_state_sweep_rows(scorer_state_t *st, float *rows, size_t max) {
    const int64_t t = st->sweep_t;
    if (st->cap_pend < max) {
        st->cap_pend = max;
        st->pend = ss_xrealloc(st->pend, max * sizeof(uint32_t));
    }
    size_t n = 0, end = st->sweep_late ? st->n_late : st->n;
    while (n < max && st->cursor < end) {
        size_t i = st->sweep_late ? st->late_ix[st->cursor++] : st->cursor++;
        const cust_t *c = &st->c[i];
        if (c->frequency <= 0 || c->as_of_ms > t || c->score_as_of_ms >= t ||
            t - c->last_ms > st->active_ms)
            continue;
        rfm_features_t f;
        features_at(c, t, &f);
        churn_row_from_rfm(&f, rows + n * CHURN_N_FEATURES);
        st->pend[n++] = (uint32_t)i;
    }
    st->n_pend = n;
    return n;
}

size_t scorer_state_sweep_apply(scorer_state_t *st, const double *p, size_t n,
                                scorer_score_t *changed) {
    SS_ASSERT(n == st->n_pend);
    size_t k = 0;
    pthread_mutex_lock(&st->mu);
    for (size_t j = 0; j < n; j++) {
        cust_t *c = &st->c[st->pend[j]];
        churn_risk_t r = churn_risk_level(&st->th, p[j]);
        if (!c->has_score || r != (churn_risk_t)c->risk) {
            score_event(c, p[j], r, st->sweep_t, SCORER_INACTIVITY, &changed[k++]);
            record_level(st, c, r);
        }
        record_score(st, c, p[j], st->sweep_t, SCORER_INACTIVITY);
    }
    pthread_mutex_unlock(&st->mu);
    st->n_pend = 0;
    return k;
}

void scorer_state_sweep_end(scorer_state_t *st) {
    if (st->sweep_t > st->swept_ms)
        st->swept_ms = st->sweep_t;
    /* a full sweep at T covers every late customer too (their features are older than T) */
    for (size_t k = 0; k < st->n_late; k++)
        st->c[st->late_ix[k]].late = 0;
    st->n_late = 0;
    st->sweep_late = 0;
    st->n_pend = 0;
}

int64_t scorer_state_last_sweep(const scorer_state_t *st) {
    return st->swept_ms < 0 ? 0 : st->swept_ms;
}

/* ---- lookups ---- */

int scorer_state_lookup(scorer_state_t *st, const char *id, scorer_view_t *out) {
    memset(out, 0, sizeof(*out));
    if (strlen(id) > SS_ID_MAX)
        return SS_ERR_NOTFOUND;
    pthread_mutex_lock(&st->mu);
    const cust_t *c = find(st, id);
    if (!c) {
        pthread_mutex_unlock(&st->mu);
        return SS_ERR_NOTFOUND;
    }
    memcpy(out->customer_id, c->id, strlen(c->id) + 1);
    out->has_score = c->has_score;
    out->score.customer_id = out->customer_id;
    out->score.probability = c->p;
    out->score.risk = (churn_risk_t)c->risk;
    out->score.has_prev = c->has_prev;
    out->score.prev = (churn_risk_t)c->prev;
    out->score.features_as_of_ms = c->score_as_of_ms;
    out->score.scored_at_ms = c->scored_at_ms;
    out->score.reason = (scorer_reason_t)c->reason;
    snprintf(out->model_version, sizeof out->model_version, "%s", st->versions[c->model_idx]);
    features_at(c, c->has_score ? c->score_as_of_ms : c->as_of_ms, &out->features);
    out->first_ms = c->first_ms;
    out->last_ms = c->last_ms;
    out->updated_as_of_ms = c->as_of_ms;
    out->n_window = c->n_win;
    pthread_mutex_unlock(&st->mu);
    return 0;
}

size_t scorer_state_customers(const scorer_state_t *st) {
    return atomic_load(&((scorer_state_t *)st)->n_pub);
}

void scorer_state_risk_counts(const scorer_state_t *st, uint64_t out[3]) {
    scorer_state_t *s = (scorer_state_t *)st;
    for (int i = 0; i < 3; i++)
        out[i] = atomic_load(&s->risk_n[i]);
}

int scorer_state_features_at(const scorer_state_t *st, size_t i, int64_t t_ms, rfm_features_t *f) {
    if (i >= st->n)
        return SS_ERR_NOTFOUND;
    features_at(&st->c[i], t_ms, f);
    return 0;
}
