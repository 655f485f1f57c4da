/* fcheck: amount and stream-clock checks (pure: the wall clock is an argument). */
#include "fcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rfm.h"

void fcheck_release(fcheck_t *c) {
    free(c->clock_ms);
    c->clock_ms = NULL;
    c->n_clock = 0;
}

static int64_t *clock_of(fcheck_t *c, int32_t partition) {
    size_t p = partition < 0 ? 0 : (size_t)partition;
    if (p >= c->n_clock) {
        size_t n = p + 1 > c->n_clock * 2 ? p + 1 : c->n_clock * 2;
        c->clock_ms = ss_xrealloc(c->clock_ms, n * sizeof(*c->clock_ms));
        for (size_t i = c->n_clock; i < n; i++)
            c->clock_ms[i] = INT64_MIN;
        c->n_clock = n;
    }
    return &c->clock_ms[p];
}

static double days(int64_t ms) { return (double)ms / (double)RFM_DAY_MS; }

int fcheck_txn(fcheck_t *c, const ss_txn_t *t, int32_t partition, int64_t now_ms, ss_err_t *err) {
    int rc = ss_txn_validate(t, &c->lim, err);
    if (rc < 0)
        return rc;
    double amount = ss_txn_amount(t);
    double max_amount = c->max_amount > 0 ? c->max_amount : 1e8;
    if (!isfinite(amount) || amount > max_amount)
        return ss_err_set(err, SS_ERR_INVAL, "order amount %.17g out of range 0..%.17g", amount,
                          max_amount);
    int64_t fut = c->max_future_ms > 0 ? c->max_future_ms : 90 * RFM_DAY_MS;
    int64_t past = c->max_past_ms > 0 ? c->max_past_ms : 400 * RFM_DAY_MS;
    int64_t et = t->event_time_ms;
    if (now_ms > 0 && et > now_ms + fut)
        return ss_err_set(err, SS_ERR_INVAL, "event_time %lld is %.1f days in the future",
                          (long long)et, days(et - now_ms));
    int64_t *clk = clock_of(c, partition);
    if (*clk != INT64_MIN) {
        if (et > *clk + fut)
            return ss_err_set(err, SS_ERR_INVAL,
                              "event_time %lld is %.1f days ahead of the stream clock %lld",
                              (long long)et, days(et - *clk), (long long)*clk);
        if (et < *clk - past)
            return ss_err_set(err, SS_ERR_INVAL,
                              "event_time %lld is %.1f days behind the stream clock %lld",
                              (long long)et, days(*clk - et), (long long)*clk);
    }
    /* A partition's first event is not compared with the other partitions: in a backfill or
     * after a restart partitions are days or years apart, and a legitimate old event would be
     * dead-lettered. ss_txn_validate's absolute range still applies. */
    if (et > *clk)
        *clk = et;
    return 0;
}

int fcheck_key(const ss_txn_t *t, const void *key, size_t key_len, ss_err_t *err) {
    const char *want = t->has_customer ? t->customer_id : t->store_id;
    size_t wl = strlen(want);
    if (key && key_len == wl && memcmp(key, want, wl) == 0)
        return 0;
    return ss_err_set(err, SS_ERR_INVAL,
                      "message key '%.*s' is not the order's %s '%s' (transactions must be keyed "
                      "by customer_id, or store_id when anonymous)",
                      (int)(key && key_len <= 64 ? key_len
                            : key                ? 64
                                                 : 0),
                      key ? (const char *)key : "", t->has_customer ? "customer_id" : "store_id",
                      want);
}
