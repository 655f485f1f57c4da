/* fcst_sched: when the forecaster works. Event-time day numbers and their text, the closed-day
 * rule (the features service's: day D of a store is closed once the store's watermark reaches
 * the end of D plus the allowed lateness), the days to forecast given what is already done
 * (catch-up latest|all), and the fallback-reason classes used as metric labels.
 * Pure functions: no I/O, no clock, no logging; reentrant. */
#ifndef SS_FCST_SCHED_H
#define SS_FCST_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "ss_err.h"

#define FCST_DAY_MS INT64_C(86400000)
#define FCST_DAY_TEXT 11 /* "YYYY-MM-DD" plus NUL */

/* ======================== Days ======================== */

/* Event-time day number of t_ms (epoch ms, UTC) shifted by tz_offset_min minutes: days since
 * 1970-01-01 of the local calendar, floored (negative times work). Same rule as the features
 * service's fstore_day. */
int64_t fcst_day_of(int64_t t_ms, int tz_offset_min);

/* Exclusive end of event-time day `day` as UTC epoch ms: (day + 1) * 86400000 - offset. */
int64_t fcst_day_end_ms(int64_t day, int tz_offset_min);

/* Writes "YYYY-MM-DD" (proleptic Gregorian) of day number `day` into out. Years outside
 * 0000..9999 give "0000-00-00". */
void fcst_day_text(int64_t day, char out[FCST_DAY_TEXT]);

/* Parses exactly "YYYY-MM-DD" (a real calendar date) into *day. Returns 0 or SS_ERR_INVAL
 * "bad day '2021-02-30': expected YYYY-MM-DD". */
int fcst_day_parse(const char *s, int64_t *day, ss_err_t *err);

/* Parses a Redis number as written by features.lua ("%.17g") or by us into *v: an integer, or a
 * decimal/exponent form that is integral. Returns 0 or SS_ERR_INVAL. len is the text length. */
int fcst_parse_i64(const char *s, size_t len, int64_t *v);

/* ======================== Closed days ======================== */

/* The latest closed event-time day of a store with watermark wm_ms (max event time applied):
 * the largest D with wm_ms >= fcst_day_end_ms(D) + lateness_ms. Returns 1 and *day, or 0 when
 * days never close (lateness_ms < 0). Every day before *day is closed too. */
int fcst_last_closed(int64_t wm_ms, int64_t lateness_ms, int tz_offset_min, int64_t *day);

typedef enum fcst_catchup {
    FCST_CATCHUP_LATEST = 0, /* forecast only the newest closed day (skips the ones in between) */
    FCST_CATCHUP_ALL = 1,    /* forecast every closed day after the last one done, in order */
} fcst_catchup_t;

/* What one store needs. */
typedef struct fcst_plan_in {
    int64_t first_day;   /* first event-time day with data (from the store's min event time) */
    int64_t last_closed; /* fcst_last_closed of the store's watermark */
    int has_done;        /* 1 when a forecast day is recorded for the store */
    int64_t done_day;    /* the last day forecast (valid when has_done) */
    fcst_catchup_t catchup;
} fcst_plan_in_t;

/* Days to forecast for one store: the inclusive range [*from, *to], oldest first. Returns the
 * number of days in it (0: nothing to do, *from and *to untouched). A day is due when it is
 * closed, not before first_day and after done_day. LATEST gives at most the one newest due
 * day; ALL gives every due day. */
int64_t fcst_plan(const fcst_plan_in_t *in, int64_t *from, int64_t *to);

/* First day of the history loaded for forecast day `day`: the later of day - history_days + 1
 * and first_day (no leading days before the store had any data). */
int64_t fcst_window_start(int64_t day, int64_t history_days, int64_t first_day);

/* ======================== Fallback reasons ======================== */

/* Metric label of a demand_prep fallback reason (dprep_result_t.reason): "none" for "" (the
 * model was used), else one of "empty", "non_finite", "too_short", "constant", "fit_failed",
 * "llf_non_finite", "forecast_failed", "other". Static strings. */
const char *fcst_reason_class(const char *reason);

#endif
