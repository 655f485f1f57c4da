/* drift_alert: the alert state machine of the drift monitor, shaped like Prometheus Alertmanager
 * alerts. An alert is identified by its name and labels (fingerprint = FNV-1a 64 of the sorted
 * label set, alertname included - the algorithm of Prometheus' model.LabelSet.Fingerprint). Each
 * evaluation feeds a value; the alert fires (once, on the transition) after `for_windows`
 * consecutive breaching evaluations, escalates warning -> critical the same way, repeats while
 * firing every `repeat_ms` of event time, and resolves (or de-escalates) after `clear_windows`
 * consecutive evaluations on the good side of the threshold with a hysteresis margin, so a value
 * hovering at a threshold does not flap. Also renders events as DriftAlert Avro values and as
 * Alertmanager API v2 JSON. Pure: no I/O, no clock (times are passed in). Not thread-safe: one
 * thread per dalert_t. */
#ifndef SS_DRIFT_ALERT_H
#define SS_DRIFT_ALERT_H

#include <avro.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ss_buf.h"
#include "ss_err.h"

#define DALERT_MAX_LABELS 8
#define DALERT_FP_LEN 17 /* 16 hex digits + NUL */

typedef enum dalert_severity {
    DALERT_NONE = 0, /* not firing */
    DALERT_WARNING = 1,
    DALERT_CRITICAL = 2,
} dalert_severity_t;

typedef enum dalert_dir {
    DALERT_ABOVE = 0, /* breach when value >= threshold (PSI, KS D, DLQ rate, AUC drop) */
    DALERT_BELOW = 1, /* breach when value <= threshold (volume ratio) */
} dalert_dir_t;

typedef enum dalert_status { DALERT_FIRING = 0, DALERT_RESOLVED = 1 } dalert_status_t;

/* Why an event was emitted. */
typedef enum dalert_reason {
    DALERT_NEW = 0,     /* started firing */
    DALERT_ESCALATED,   /* severity went up while firing */
    DALERT_DEESCALATED, /* severity went down while firing */
    DALERT_REPEAT,      /* still firing; repeat interval passed */
    DALERT_CLEARED,     /* resolved */
    DALERT_ACTIVE,      /* dalert_foreach_active: a snapshot, not a transition */
} dalert_reason_t;

typedef struct dalert_label {
    const char *name;
    const char *value;
} dalert_label_t;

/* Zero means default for every field. */
typedef struct dalert_opts {
    int for_windows;    /* consecutive breaching evaluations before firing or escalating; 0 = 1 */
    int clear_windows;  /* consecutive clear evaluations before resolving or de-escalating;
                           0 = 2 */
    double clear_ratio; /* hysteresis: ABOVE clears when value < threshold * ratio, BELOW when
                           value > threshold / ratio; 0 = 0.8; 1 = no margin */
    int64_t repeat_ms;  /* re-emit FIRING when this much event time passed since the last
                           emission; 0 = 1 day; negative = never */
    size_t max_alerts;  /* alert identities tracked; 0 = 10000 */
} dalert_opts_t;

/* One evaluation of one alert. Strings are borrowed for the call (copied when kept). */
typedef struct dalert_eval {
    const char *name;             /* alertname, e.g. "FeatureDrift" */
    const dalert_label_t *labels; /* identity labels besides alertname (feature, model_version,
                                     store...); at most DALERT_MAX_LABELS - 1 */
    size_t n_labels;
    double value;             /* NaN: no evaluation (nothing changes) */
    double warning, critical; /* thresholds; NaN disables that level */
    dalert_dir_t dir;
    int64_t since_ms;    /* start of the evaluated period (window start), event time;
                            becomes starts_at when the alert fires */
    const char *summary; /* annotations (not identity); may be NULL */
    const char *description;
} dalert_eval_t;

/* An emitted alert. Everything is borrowed for the callback. */
typedef struct dalert_event {
    const char *fingerprint; /* 16 lowercase hex digits */
    const char *name;
    dalert_status_t status;
    dalert_severity_t severity;      /* current; for RESOLVED the last one it had */
    dalert_severity_t prev_severity; /* before this event (NONE when it just started) */
    dalert_reason_t reason;
    const dalert_label_t *labels; /* sorted by name, alertname included */
    size_t n_labels;
    const char *summary, *description; /* "" when none */
    double value;                      /* the value of this evaluation */
    double threshold;                  /* the threshold of `severity` */
    int64_t starts_at_ms;              /* event time the condition started */
    int64_t ends_at_ms;                /* event time it cleared; 0 while FIRING */
    int64_t at_ms;                     /* evaluation time (now_ms) */
} dalert_event_t;

/* Called for every emitted event, from inside dalert_evaluate (same thread). */
typedef void (*dalert_emit_fn)(const dalert_event_t *ev, void *opaque);

typedef struct dalert dalert_t;

/* Returns new, or NULL with SS_ERR_INVAL for bad options ("clear_ratio 1.5 out of range (0, 1]").
 */
dalert_t *dalert_new(const dalert_opts_t *opts, ss_err_t *err);
void dalert_destroy(dalert_t *a); /* NULL is a no-op */

/* Feeds one evaluation at event time now_ms and emits what it causes. Returns the number of
 * events emitted (0 or 1), or SS_ERR_INVAL for a bad evaluation (too many labels, a label
 * without a name, no name), or SS_ERR_FATAL ("too many alerts (10000)") when a new alert would
 * exceed max_alerts and no resolved one can be forgotten. */
int dalert_evaluate(dalert_t *a, const dalert_eval_t *e, int64_t now_ms, dalert_emit_fn fn,
                    void *opaque, ss_err_t *err);

/* Calls fn for every alert now firing (reason DALERT_ACTIVE), in order of first firing: for
 * re-sending to Alertmanager and for gauges. */
void dalert_foreach_active(dalert_t *a, dalert_emit_fn fn, void *opaque);

/* Alerts now firing. */
size_t dalert_firing(const dalert_t *a);

/* Fingerprint of the label set {alertname: name} + labels: FNV-1a 64 over the labels sorted by
 * name, each as name 0xff value 0xff; written as 16 hex digits into out[DALERT_FP_LEN].
 * SS_ERR_INVAL for too many labels. */
int dalert_fingerprint(const char *name, const dalert_label_t *labels, size_t n, char *out,
                       ss_err_t *err);

/* "none", "warning", "critical" (static). */
const char *dalert_severity_name(dalert_severity_t s);

/* Formats epoch ms as RFC 3339 UTC with milliseconds, "2024-03-01T00:00:00.000Z", into out (at
 * least 32 bytes). */
void dalert_rfc3339(int64_t ms, char *out, size_t size);

/* Fills a DriftAlert record value (schemas/DriftAlert.avsc; as from ss_avro_writer_value) from
 * ev: labels = the event's labels, annotations = summary, description, value, threshold,
 * severity. Returns 0 or the setter's error. */
int dalert_to_avro(const dalert_event_t *ev, avro_value_t *rec, ss_err_t *err);

/* Appends ev to arr (a jansson array) as Alertmanager API v2 postable alerts (the body of
 * POST /api/v2/alerts is such an array): labels = the event's labels plus severity; annotations
 * summary, description, value, threshold, fingerprint; startsAt; endsAt for RESOLVED only;
 * generatorURL when not NULL. When the severity changed, the old severity's variant is appended
 * too, resolved at at_ms, because severity is part of Alertmanager's identity. */
void dalert_am_append(json_t *arr, const dalert_event_t *ev, const char *generator_url);

#endif
