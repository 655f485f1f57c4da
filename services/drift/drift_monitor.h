/* drift_monitor: the drift monitor's logic between decoded events and alerts. It feeds feature
 * values, churn scores and dead letters into event-time windows (drift_window), derives per-order
 * amounts and realised churn labels (drift_cust), and on every closed window turns the figures
 * into gauges and alert evaluations (drift_alert): FeatureDrift and PredictionDrift (PSI),
 * EventVolumeLow / EventVolumeHigh and DeadLetterRate (data quality), ModelQualityDrop (realised
 * ROC-AUC against the baseline). No I/O: main.c decodes, produces and pushes. Not thread-safe:
 * one thread per dmon_t (the gauges it sets may be read from any thread). */
#ifndef SS_DRIFT_MONITOR_H
#define SS_DRIFT_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include "churn_model.h"
#include "drift_alert.h"
#include "drift_cust.h"
#include "drift_window.h"
#include "ss_err.h"
#include "ss_metrics.h"

/* Series names: the ten churn-model features of CustomerFeatures (the model's column order),
 * then the derived per-order amount, the churn score and the high-risk indicator (1 when the
 * score is above the high threshold: its window mean is the high-risk share). */
#define DMON_N_FEATURES 10
#define DMON_SERIES_ORDER_AMOUNT DMON_N_FEATURES
#define DMON_SERIES_SCORE (DMON_N_FEATURES + 1)
#define DMON_SERIES_HIGH_RISK (DMON_N_FEATURES + 2)
#define DMON_N_SERIES (DMON_N_FEATURES + 3)
extern const char *const dmon_series_names[DMON_N_SERIES];

/* Zero means default for every field. */
typedef struct dmon_opts {
    dwin_opts_t win;
    dalert_opts_t alert;
    dcust_opts_t cust;
    const char *series;           /* comma-separated series to monitor; NULL or "" = all */
    double psi_warning;           /* 0 = 0.1 */
    double psi_critical;          /* 0 = 0.25 */
    double volume_low;            /* EventVolumeLow below this ratio to the median; 0 = 0.5;
                                     negative = off */
    double volume_high;           /* EventVolumeHigh above this ratio; 0 = 3; negative = off */
    double dlq_rate_warning;      /* DeadLetterRate floor of the warning threshold; 0 = 0.01 */
    double dlq_rate_critical;     /* ... of the critical threshold; 0 = 0.05 */
    double dlq_ratio;             /* thresholds are at least this x the median rate; 0 = 3 */
    double high_risk;             /* score above this is high risk; 0 = the artifact's, else 0.7 */
    size_t quality_min_samples;   /* labelled scores per ModelQualityDrop evaluation; 0 = 200 */
    double auc_baseline;          /* 0 = the artifact's roc_auc, else the first measured AUC */
    double auc_drop_warning;      /* ModelQualityDrop when baseline - AUC >= this; 0 = 0.05 */
    double auc_drop_critical;     /* 0 = 0.10 */
    const char *model_version;    /* model_version label; NULL = the artifact's version, else
                                     "stream-reference" (copied) */
    const churn_meta_t *artifact; /* borrowed during dmon_new: frozen references for the series
                                     it has, metrics, thresholds; NULL = learn from the stream */
} dmon_opts_t;

/* One decoded CustomerFeatures event. Strings borrowed for the call. */
typedef struct dmon_features {
    const char *customer_id;
    int64_t as_of_ms;               /* event time */
    double values[DMON_N_FEATURES]; /* in dmon_series_names order; NaN = missing */
    int64_t frequency;
    double avg_order;
    int64_t last_order_ms;
} dmon_features_t;

/* Called for every alert event, from inside dmon_advance (same thread); borrowed for the call. */
typedef void (*dmon_alert_fn)(const dalert_event_t *ev, void *opaque);

typedef struct dmon dmon_t;

/* Returns new: a monitor registering its gauges in m (borrowed, must outlive it; NULL = none),
 * or NULL with SS_ERR_INVAL for bad options or an unknown series name ("unknown series 'x'"). */
dmon_t *dmon_new(const dmon_opts_t *opts, ss_metrics_t *m, ss_err_t *err);
void dmon_destroy(dmon_t *d); /* NULL is a no-op */

/* Feeds events. Each returns the dwin status of the event (DWIN_LATE / DWIN_FUTURE: dropped). */
dwin_status_t dmon_features(dmon_t *d, const dmon_features_t *f);
dwin_status_t dmon_score(dmon_t *d, const char *customer_id, int64_t t_ms, double p);
void dmon_dlq(dmon_t *d);

/* Closes the windows ended by watermark_ms: sets the gauges and evaluates the alerts, calling fn
 * for each alert event. Returns the number of windows closed, or a negative SS_ERR_* from the
 * alert table (SS_ERR_FATAL: too many alerts). */
int dmon_advance(dmon_t *d, int64_t watermark_ms, dmon_alert_fn fn, void *opaque, ss_err_t *err);

/* Re-emits every firing alert (reason DALERT_ACTIVE) through fn, e.g. for Alertmanager. */
void dmon_foreach_active(dmon_t *d, dmon_alert_fn fn, void *opaque);

/* Borrows the parts (tests, main's watermark). */
dwin_t *dmon_window(dmon_t *d);
dalert_t *dmon_alerts(dmon_t *d);

#endif
