/* drift_alert: alert state machine, fingerprints, DriftAlert and Alertmanager renderings
 * (drift_alert.h). */
#include "drift_alert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ss_avro.h"

typedef struct entry {
    uint64_t fp;
    char fp_hex[DALERT_FP_LEN];
    char *name;
    dalert_label_t labels[DALERT_MAX_LABELS]; /* owned strings, sorted, alertname included */
    size_t n_labels;
    dalert_severity_t level;
    int up_count, down_count;
    int64_t pending_since; /* since_ms of the first evaluation of the current breaching run */
    int64_t starts_at, last_emit;
    uint64_t fire_seq; /* order of first firing, for foreach_active */
    double value, threshold;
    double warning, critical;
    char *summary, *description;
} entry_t;

struct dalert {
    dalert_opts_t o;
    entry_t *e;
    size_t n, cap;
    uint64_t seq;
};

const char *dalert_severity_name(dalert_severity_t s) {
    switch (s) {
    case DALERT_WARNING:
        return "warning";
    case DALERT_CRITICAL:
        return "critical";
    default:
        return "none";
    }
}

dalert_t *dalert_new(const dalert_opts_t *opts, ss_err_t *err) {
    dalert_opts_t o = opts ? *opts : (dalert_opts_t){0};
    if (o.clear_ratio < 0 || o.clear_ratio > 1) {
        ss_err_set(err, SS_ERR_INVAL, "clear_ratio %g out of range (0, 1]", o.clear_ratio);
        return NULL;
    }
    if (o.for_windows < 0 || o.clear_windows < 0) {
        ss_err_set(err, SS_ERR_INVAL, "for_windows and clear_windows must not be negative");
        return NULL;
    }
    if (!o.for_windows)
        o.for_windows = 1;
    if (!o.clear_windows)
        o.clear_windows = 2;
    if (o.clear_ratio == 0)
        o.clear_ratio = 0.8;
    if (!o.repeat_ms)
        o.repeat_ms = INT64_C(86400000);
    if (!o.max_alerts)
        o.max_alerts = 10000;
    dalert_t *a = ss_xcalloc(1, sizeof(*a));
    a->o = o;
    return a;
}

static void entry_release(entry_t *e) {
    free(e->name);
    for (size_t i = 0; i < e->n_labels; i++) {
        free((char *)e->labels[i].name);
        free((char *)e->labels[i].value);
    }
    free(e->summary);
    free(e->description);
}

void dalert_destroy(dalert_t *a) {
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        entry_release(&a->e[i]);
    free(a->e);
    free(a);
}

/* ---- fingerprint -------------------------------------------------------------------------- */

static int cmp_label(const void *pa, const void *pb) {
    const dalert_label_t *a = pa, *b = pb;
    return strcmp(a->name, b->name);
}

/* Builds the sorted label set {alertname: name} + labels into out (borrowing the strings). */
static int label_set(const char *name, const dalert_label_t *labels, size_t n, dalert_label_t *out,
                     size_t *out_n, ss_err_t *err) {
    if (!name || !*name)
        return ss_err_set(err, SS_ERR_INVAL, "alert without a name");
    if (n + 1 > DALERT_MAX_LABELS)
        return ss_err_set(err, SS_ERR_INVAL, "alert '%s': %zu labels, at most %d", name, n,
                          DALERT_MAX_LABELS - 1);
    out[0].name = "alertname";
    out[0].value = name;
    for (size_t i = 0; i < n; i++) {
        if (!labels[i].name || !*labels[i].name || strcmp(labels[i].name, "alertname") == 0)
            return ss_err_set(err, SS_ERR_INVAL, "alert '%s': bad label name '%s'", name,
                              labels[i].name ? labels[i].name : "");
        out[i + 1].name = labels[i].name;
        out[i + 1].value = labels[i].value ? labels[i].value : "";
    }
    *out_n = n + 1;
    qsort(out, *out_n, sizeof(*out), cmp_label);
    return 0;
}

static uint64_t fnv_add(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t fp_of(const dalert_label_t *sorted, size_t n) {
    uint64_t h = 14695981039346656037ULL;
    const unsigned char sep = 0xff;
    for (size_t i = 0; i < n; i++) {
        h = fnv_add(h, sorted[i].name, strlen(sorted[i].name));
        h = fnv_add(h, &sep, 1);
        h = fnv_add(h, sorted[i].value, strlen(sorted[i].value));
        h = fnv_add(h, &sep, 1);
    }
    return h;
}

int dalert_fingerprint(const char *name, const dalert_label_t *labels, size_t n, char *out,
                       ss_err_t *err) {
    dalert_label_t set[DALERT_MAX_LABELS];
    size_t k;
    int rc = label_set(name, labels, n, set, &k, err);
    if (rc < 0)
        return rc;
    snprintf(out, DALERT_FP_LEN, "%016llx", (unsigned long long)fp_of(set, k));
    return 0;
}

/* ---- state machine ------------------------------------------------------------------------- */

static int same_labels(const entry_t *e, const dalert_label_t *set, size_t n) {
    if (e->n_labels != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(e->labels[i].name, set[i].name) || strcmp(e->labels[i].value, set[i].value))
            return 0;
    return 1;
}

static double thr_of(const entry_t *e, dalert_severity_t s) {
    return s == DALERT_CRITICAL ? e->critical : (s == DALERT_WARNING ? e->warning : NAN);
}

static int breaches(dalert_dir_t dir, double v, double thr) {
    if (isnan(thr))
        return 0;
    return dir == DALERT_ABOVE ? v >= thr : v <= thr;
}

static int clears(dalert_dir_t dir, double v, double thr, double ratio) {
    if (isnan(thr))
        return 1;
    return dir == DALERT_ABOVE ? v < thr * ratio : v > thr / ratio;
}

static dalert_severity_t level_of(const dalert_eval_t *e) {
    if (breaches(e->dir, e->value, e->critical))
        return DALERT_CRITICAL;
    if (breaches(e->dir, e->value, e->warning))
        return DALERT_WARNING;
    return DALERT_NONE;
}

static void set_str(char **dst, const char *src) {
    if (!src)
        src = "";
    if (*dst && strcmp(*dst, src) == 0)
        return;
    free(*dst);
    *dst = ss_xstrdup(src);
}

static void emit(const entry_t *e, dalert_status_t st, dalert_severity_t sev,
                 dalert_severity_t prev, dalert_reason_t reason, int64_t ends_at, int64_t at,
                 dalert_emit_fn fn, void *opaque) {
    if (!fn)
        return;
    dalert_event_t ev = {
        .fingerprint = e->fp_hex,
        .name = e->name,
        .status = st,
        .severity = sev,
        .prev_severity = prev,
        .reason = reason,
        .labels = e->labels,
        .n_labels = e->n_labels,
        .summary = e->summary ? e->summary : "",
        .description = e->description ? e->description : "",
        .value = e->value,
        .threshold = thr_of(e, sev),
        .starts_at_ms = e->starts_at,
        .ends_at_ms = ends_at,
        .at_ms = at,
    };
    fn(&ev, opaque);
}

/* Finds the entry of set, or creates one (forgetting the oldest resolved entry when full). */
static entry_t *entry_get(dalert_t *a, const char *name, const dalert_label_t *set, size_t n,
                          int create, ss_err_t *err) {
    uint64_t fp = fp_of(set, n);
    for (size_t i = 0; i < a->n; i++)
        if (a->e[i].fp == fp && same_labels(&a->e[i], set, n))
            return &a->e[i];
    if (!create)
        return NULL;
    if (a->n >= a->o.max_alerts) {
        size_t victim = a->n;
        for (size_t i = 0; i < a->n; i++)
            if (a->e[i].level == DALERT_NONE && a->e[i].up_count == 0) {
                victim = i;
                break;
            }
        if (victim == a->n) {
            ss_err_set(err, SS_ERR_FATAL, "too many alerts (%zu)", a->o.max_alerts);
            return NULL;
        }
        entry_release(&a->e[victim]);
        memmove(&a->e[victim], &a->e[victim + 1], (a->n - victim - 1) * sizeof(entry_t));
        a->n--;
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->e = ss_xrealloc(a->e, a->cap * sizeof(entry_t));
    }
    entry_t *e = &a->e[a->n++];
    memset(e, 0, sizeof(*e));
    e->fp = fp;
    snprintf(e->fp_hex, sizeof(e->fp_hex), "%016llx", (unsigned long long)fp);
    e->name = ss_xstrdup(name);
    for (size_t i = 0; i < n; i++) {
        e->labels[i].name = ss_xstrdup(set[i].name);
        e->labels[i].value = ss_xstrdup(set[i].value);
    }
    e->n_labels = n;
    return e;
}

int dalert_evaluate(dalert_t *a, const dalert_eval_t *ev, int64_t now_ms, dalert_emit_fn fn,
                    void *opaque, ss_err_t *err) {
    dalert_label_t set[DALERT_MAX_LABELS];
    size_t n;
    int rc = label_set(ev->name, ev->labels, ev->n_labels, set, &n, err);
    if (rc < 0)
        return rc;
    if (isnan(ev->value))
        return 0;
    dalert_severity_t target = level_of(ev);
    ss_err_t lerr = SS_ERR_INIT;
    entry_t *e = entry_get(a, ev->name, set, n, target != DALERT_NONE, &lerr);
    if (!e) {
        if (lerr.code == 0)
            return 0; /* never breached: nothing to track */
        if (err)
            *err = lerr;
        return lerr.code;
    }
    e->value = ev->value;
    e->warning = ev->warning;
    e->critical = ev->critical;
    set_str(&e->summary, ev->summary);
    set_str(&e->description, ev->description);
    int64_t since = ev->since_ms ? ev->since_ms : now_ms;
    dalert_severity_t prev = e->level, next = e->level;
    if (target > e->level) {
        if (e->up_count == 0)
            e->pending_since = since;
        e->up_count++;
        e->down_count = 0;
        if (e->up_count >= a->o.for_windows)
            next = target;
    } else if (e->level != DALERT_NONE &&
               clears(ev->dir, ev->value, thr_of(e, e->level), a->o.clear_ratio)) {
        e->down_count++;
        e->up_count = 0;
        if (e->down_count >= a->o.clear_windows)
            next = target;
    } else {
        e->up_count = 0;
        e->down_count = 0;
    }
    if (next == prev) {
        if (prev != DALERT_NONE && a->o.repeat_ms >= 0 && now_ms - e->last_emit >= a->o.repeat_ms) {
            e->last_emit = now_ms;
            emit(e, DALERT_FIRING, prev, prev, DALERT_REPEAT, 0, now_ms, fn, opaque);
            return 1;
        }
        return 0;
    }
    e->up_count = e->down_count = 0;
    e->level = next;
    e->last_emit = now_ms;
    if (prev == DALERT_NONE) {
        e->starts_at = e->pending_since;
        e->fire_seq = ++a->seq;
        emit(e, DALERT_FIRING, next, prev, DALERT_NEW, 0, now_ms, fn, opaque);
    } else if (next == DALERT_NONE) {
        emit(e, DALERT_RESOLVED, prev, prev, DALERT_CLEARED, now_ms, now_ms, fn, opaque);
    } else {
        emit(e, DALERT_FIRING, next, prev, next > prev ? DALERT_ESCALATED : DALERT_DEESCALATED, 0,
             now_ms, fn, opaque);
    }
    return 1;
}

static int cmp_seq(const void *pa, const void *pb) {
    const entry_t *a = *(const entry_t *const *)pa, *b = *(const entry_t *const *)pb;
    return (a->fire_seq > b->fire_seq) - (a->fire_seq < b->fire_seq);
}

void dalert_foreach_active(dalert_t *a, dalert_emit_fn fn, void *opaque) {
    size_t k = 0;
    entry_t **act = ss_xmalloc((a->n ? a->n : 1) * sizeof(*act));
    for (size_t i = 0; i < a->n; i++)
        if (a->e[i].level != DALERT_NONE)
            act[k++] = &a->e[i];
    qsort(act, k, sizeof(*act), cmp_seq);
    for (size_t i = 0; i < k; i++)
        emit(act[i], DALERT_FIRING, act[i]->level, act[i]->level, DALERT_ACTIVE, 0,
             act[i]->last_emit, fn, opaque);
    free(act);
}

size_t dalert_firing(const dalert_t *a) {
    size_t k = 0;
    for (size_t i = 0; i < a->n; i++)
        k += a->e[i].level != DALERT_NONE;
    return k;
}

/* ---- renderings ------------------------------------------------------------------------------ */

void dalert_rfc3339(int64_t ms, char *out, size_t size) {
    int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int msec = (int)(ms - s * 1000);
    time_t t = (time_t)s;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, size, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, msec);
}

static void fmt_num(double v, char *buf, size_t size) {
    if (isnan(v))
        snprintf(buf, size, "NaN");
    else
        snprintf(buf, size, "%.4g", v);
}

int dalert_to_avro(const dalert_event_t *ev, avro_value_t *rec, ss_err_t *err) {
    char val[32], thr[32];
    fmt_num(ev->value, val, sizeof(val));
    fmt_num(ev->threshold, thr, sizeof(thr));
    int rc = 0;
    rc |= ss_avro_set_str(rec, "fingerprint", ev->fingerprint, err);
    rc |= ss_avro_set_str(rec, "name", ev->name, err);
    rc |= ss_avro_set_str(rec, "severity", dalert_severity_name(ev->severity), err);
    rc |= ss_avro_set_enum(rec, "status", ev->status == DALERT_FIRING ? "FIRING" : "RESOLVED", err);
    for (size_t i = 0; i < ev->n_labels; i++)
        rc |= ss_avro_map_put_str(rec, "labels", ev->labels[i].name, ev->labels[i].value, err);
    rc |= ss_avro_map_put_str(rec, "annotations", "summary", ev->summary, err);
    rc |= ss_avro_map_put_str(rec, "annotations", "description", ev->description, err);
    rc |= ss_avro_map_put_str(rec, "annotations", "value", val, err);
    rc |= ss_avro_map_put_str(rec, "annotations", "threshold", thr, err);
    rc |= ss_avro_set_long(rec, "starts_at", ev->starts_at_ms, err);
    if (ev->status == DALERT_RESOLVED)
        rc |= ss_avro_set_long(rec, "ends_at", ev->ends_at_ms, err);
    else
        rc |= ss_avro_set_null(rec, "ends_at", err);
    rc |= ss_avro_set_double(rec, "value", ev->value, err);
    rc |= ss_avro_set_double(rec, "threshold", isnan(ev->threshold) ? 0 : ev->threshold, err);
    return rc ? (err && err->code ? err->code : SS_ERR_INVAL) : 0;
}

static json_t *am_alert(const dalert_event_t *ev, dalert_severity_t sev, int resolved,
                        int64_t ends_at, const char *generator_url) {
    json_t *labels = json_object();
    for (size_t i = 0; i < ev->n_labels; i++)
        json_object_set_new(labels, ev->labels[i].name, json_string(ev->labels[i].value));
    json_object_set_new(labels, "severity", json_string(dalert_severity_name(sev)));
    char val[32], thr[32], ts[40];
    fmt_num(ev->value, val, sizeof(val));
    fmt_num(ev->threshold, thr, sizeof(thr));
    json_t *ann = json_object();
    json_object_set_new(ann, "summary", json_string(ev->summary));
    json_object_set_new(ann, "description", json_string(ev->description));
    json_object_set_new(ann, "value", json_string(val));
    json_object_set_new(ann, "threshold", json_string(thr));
    json_object_set_new(ann, "fingerprint", json_string(ev->fingerprint));
    json_t *al = json_object();
    json_object_set_new(al, "labels", labels);
    json_object_set_new(al, "annotations", ann);
    dalert_rfc3339(ev->starts_at_ms, ts, sizeof(ts));
    json_object_set_new(al, "startsAt", json_string(ts));
    if (resolved) {
        dalert_rfc3339(ends_at, ts, sizeof(ts));
        json_object_set_new(al, "endsAt", json_string(ts));
    }
    if (generator_url)
        json_object_set_new(al, "generatorURL", json_string(generator_url));
    return al;
}

void dalert_am_append(json_t *arr, const dalert_event_t *ev, const char *generator_url) {
    if (ev->status == DALERT_FIRING && ev->prev_severity != DALERT_NONE &&
        ev->prev_severity != ev->severity)
        json_array_append_new(arr, am_alert(ev, ev->prev_severity, 1, ev->at_ms, generator_url));
    json_array_append_new(arr, am_alert(ev, ev->severity, ev->status == DALERT_RESOLVED,
                                        ev->ends_at_ms, generator_url));
}
