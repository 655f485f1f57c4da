/* fcheck: input checks of streamscore-features beyond ss_txn_validate: absurd order amounts and
 * event times far from the stream's clock. The clock is kept per input partition (max event time
 * accepted there: partitions of a backlog can be far apart) plus a global one; the wall clock is
 * passed in, never read. One per consumer thread. */
#ifndef FCHECK_H
#define FCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "ss_err.h"
#include "ss_txn.h"

typedef struct fcheck {
    ss_txn_limits_t lim;   /* ss_txn_validate limits (0 = defaults) */
    double max_amount;     /* order amount limit (currency units); 0 = 1e8 */
    int64_t max_future_ms; /* reject t > partition clock + this, or > now + this; 0 = 90 days */
    int64_t max_past_ms;   /* reject t < partition clock - this; 0 = 400 days */
    int64_t *clock_ms;     /* per partition (owned); INT64_MIN = no event yet */
    size_t n_clock;
} fcheck_t;

/* Frees the clocks; c can be reused (it forgets every clock). */
void fcheck_release(fcheck_t *c);

/* Validates t that came from `partition` (use 0 outside Kafka) at wall-clock time now_ms (0:
 * skip that check): ss_txn_validate, then the amount (finite, <= max_amount), then the time:
 * not after now + max_future; within [clock - max_past, clock + max_future] of its partition's
 * clock; a partition's first event must not be max_past behind the global clock. On success the
 * clocks advance to max(clock, t) and 0 is returned; otherwise SS_ERR_INVAL with the reason. */
int fcheck_txn(fcheck_t *c, const ss_txn_t *t, int32_t partition, int64_t now_ms, ss_err_t *err);

/* The message key must be the order's customer_id (store_id when anonymous): a customer's state
 * is owned by the consumer of its partition (docs/features.md), so an order keyed otherwise could
 * be applied by two consumers at once. key may be NULL (no key). Returns 0 or SS_ERR_INVAL. */
int fcheck_key(const ss_txn_t *t, const void *key, size_t key_len, ss_err_t *err);

#endif
