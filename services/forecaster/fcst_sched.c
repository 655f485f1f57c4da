/* fcst_sched: day arithmetic, the closed-day rule, catch-up planning, reason classes. */
#include "fcst_sched.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if (a % b != 0 && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t fcst_day_of(int64_t t_ms, int tz_offset_min) {
    return floor_div(t_ms + (int64_t)tz_offset_min * 60000, FCST_DAY_MS);
}

int64_t fcst_day_end_ms(int64_t day, int tz_offset_min) {
    return (day + 1) * FCST_DAY_MS - (int64_t)tz_offset_min * 60000;
}

/* Day numbers <-> civil dates, counting in 400-year eras of 146097 days that start on March 1,
 * so the leap day is the last day of a year and months have a fixed pattern. */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                         /* 0..399 */
    int64_t mp = (m + 9) % 12;                           /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;            /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0..146096 */
    return era * 146097 + doe - 719468;                  /* 719468: 0000-03-01 .. 1970-01-01 */
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

void fcst_day_text(int64_t day, char out[FCST_DAY_TEXT]) {
    int64_t y;
    int m, d;
    char tmp[64];
    civil_from_days(day, &y, &m, &d);
    if (y < 0 || y > 9999) {
        memcpy(out, "0000-00-00", FCST_DAY_TEXT);
        return;
    }
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", (int)y, m, d);
    memcpy(out, tmp, FCST_DAY_TEXT - 1);
    out[FCST_DAY_TEXT - 1] = '\0';
}

int fcst_day_parse(const char *s, int64_t *day, ss_err_t *err) {
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 0, m = 0, d = 0;
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        goto bad;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            goto bad;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        goto bad;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        goto bad;
    *day = days_from_civil(y, m, d);
    return 0;
bad:
    return ss_err_set(err, SS_ERR_INVAL, "bad day '%.32s': expected YYYY-MM-DD", s ? s : "");
}

int fcst_parse_i64(const char *s, size_t len, int64_t *v) {
    char tmp[64], *end = NULL;
    double x;
    if (!s || len == 0 || len >= sizeof(tmp))
        return SS_ERR_INVAL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    errno = 0;
    x = strtod(tmp, &end);
    /* 2^62 keeps every later addition of a day or a lateness far from overflow */
    if (errno || end == tmp || *end || !isfinite(x) || x != floor(x) || fabs(x) > 0x1p62)
        return SS_ERR_INVAL;
    *v = (int64_t)x;
    return 0;
}

int fcst_last_closed(int64_t wm_ms, int64_t lateness_ms, int tz_offset_min, int64_t *day) {
    if (lateness_ms < 0)
        return 0;
    /* end(D) + lateness <= wm  <=>  D + 1 <= (wm - lateness + offset) / DAY */
    *day = floor_div(wm_ms - lateness_ms + (int64_t)tz_offset_min * 60000, FCST_DAY_MS) - 1;
    return 1;
}

int64_t fcst_plan(const fcst_plan_in_t *in, int64_t *from, int64_t *to) {
    int64_t lo = in->first_day;
    if (in->has_done && in->done_day + 1 > lo)
        lo = in->done_day + 1;
    if (in->last_closed < lo)
        return 0;
    *to = in->last_closed;
    *from = in->catchup == FCST_CATCHUP_ALL ? lo : in->last_closed;
    return *to - *from + 1;
}

int64_t fcst_window_start(int64_t day, int64_t history_days, int64_t first_day) {
    int64_t start = day - (history_days > 0 ? history_days : 1) + 1;
    return start > first_day ? start : first_day;
}

const char *fcst_reason_class(const char *reason) {
    static const struct {
        const char *prefix, *label;
    } map[] = {
        {"empty series", "empty"},
        {"series too short", "too_short"},
        {"constant train part", "constant"},
        {"sarima fit failed", "fit_failed"},
        {"non-finite log-likelihood", "llf_non_finite"},
        {"sarima test forecast failed", "forecast_failed"},
        {"sarima forecast failed", "forecast_failed"},
        {"non-finite forecast", "forecast_failed"},
    };
    if (!reason || !*reason)
        return "none";
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strncmp(reason, map[i].prefix, strlen(map[i].prefix)) == 0)
            return map[i].label;
    if (strstr(reason, "non-finite values"))
        return "non_finite";
    return "other";
}
