/* fstore: the Redis feature store of streamscore-features. Applies a micro-batch of decoded,
 * validated orders with ONE EVALSHA: in script mode of features.lua (dedupe + RFM + window +
 * customer x product + per (store, product, day) demand + watermarks, all in Redis); in local mode
 * of the write-only features_write.lua after flocal computed the batch in process (customers
 * loaded with one pipeline on first touch). Reads the store back (dump). Key layout in
 * docs/redis.md. Depends on rfm, ss_redis, ss_txn. One fstore per thread (it borrows a
 * ss_redis_t, which is single-threaded too). */
#ifndef FSTORE_H
#define FSTORE_H

#include <stdint.h>
#include <stdio.h>

#include "rfm.h"
#include "ss_err.h"
#include "ss_redis.h"
#include "ss_txn.h"

/* Where the per-order arithmetic runs (docs/features.md "State modes"). */
typedef enum fstore_mode {
    FSTORE_MODE_DEFAULT = 0, /* the env var SS_FSTORE_STATE_MODE (script|local), else script */
    FSTORE_MODE_SCRIPT = 1,  /* one EVALSHA of features.lua per batch: reads, arithmetic, writes */
    FSTORE_MODE_LOCAL = 2,   /* flocal: state cached in process, arithmetic in C, one write-only
                                EVALSHA of features_write.lua per batch */
} fstore_mode_t;

/* Zero means default for every field. */
typedef struct fstore_opts {
    const char *prefix;      /* key prefix (copied); default "ss:" */
    int64_t lateness_ms;     /* a day closes at watermark >= day end + this; <0 = never closes.
                                Late sales are applied and flagged (fstore_result_t.late) */
    int tz_offset_min;       /* event-time day = UTC + this offset (minutes, -840..840) */
    int64_t customer_ttl_ms; /* PEXPIRE of customer hashes on update; 0 = none */
    int64_t demand_ttl_ms;   /* PEXPIRE of (store, day) hashes on update; 0 = none */
    const char *script_src;  /* Lua source to use instead of the embedded features.lua (development
                                and benchmarks; borrowed during fstore_new); NULL = embedded */
    fstore_mode_t mode;      /* see fstore_mode_t */
    size_t cache_max_customers; /* local mode: the cache is dropped at a batch start when it holds
                                   more customers than this; 0 = 1000000 */
    const char *fence_topic;    /* local mode: input topic named in the partition fence keys
                                   `<prefix>fence:{<topic>:<partition>}` (copied); default
                                   "transactions" */
    int anon_owned; /* local mode: 1 when every copy of an anonymous order arrives on its
                       store's partition (the service's check.key): its owner's cache dedupes
                       it, and batches need no per-order fence - they go as a transaction even
                       with anonymous orders (see fstore_send). 0: such batches use the script */
} fstore_opts_t;

typedef enum fstore_status {
    FSTORE_APPLIED = 0,   /* first delivery: applied */
    FSTORE_DUPLICATE = 1, /* same order id and fingerprint seen before: nothing changed */
    FSTORE_CONFLICT = 2,  /* same order id, other content: nothing changed (goes to the DLQ) */
} fstore_status_t;

typedef struct fstore_result {
    fstore_status_t status;
    int late;            /* applied after the store's watermark closed its day (still counted) */
    int has_features;    /* order of a known customer, applied or duplicate: agg and feat set */
    rfm_agg_t agg;       /* the customer's aggregates right after this order (duplicate: now) */
    rfm_features_t feat; /* as of max(order event time, customer's last purchase) */
} fstore_result_t;

typedef struct fstore fstore_t;

/* Returns new (fstore_destroy), registering the script with r (borrows r: must outlive fs).
 * Never NULL: script loading happens at r's (re)connect. */
fstore_t *fstore_new(ss_redis_t *r, const fstore_opts_t *opts);
void fstore_destroy(fstore_t *fs); /* NULL is a no-op */

/* Applies txns[0..n) (validated, in delivery order) atomically with one script call and fills
 * res[0..n) (local mode: after one pipeline of reads for what the cache lacks; any error drops
 * the cache, so a retry recomputes from Redis). Orders of one customer within the batch apply in
 * order. Safe to retry after any error (dedupe makes a repeated order a duplicate; the retried
 * results then say DUPLICATE for orders that the lost call applied - their CustomerFeatures must be
 * re-derived by the caller or skipped). Returns 0, SS_ERR_RETRIABLE (connection lost, BUSY, OOM
 * ...: back off and retry), SS_ERR_INVAL (script error), SS_ERR_FATAL. */
int fstore_apply(fstore_t *fs, const ss_txn_t *const *txns, size_t n, fstore_result_t *res,
                 ss_err_t *err);

/* Like fstore_apply, with the input partition of each order (parts NULL: all partition 0). In
 * local mode a writer owns the state of the customers of its partitions: for each partition it
 * first meets it takes a new epoch (INCR `<prefix>fence:{<topic>:<partition>}`), and every write
 * is fenced by the epochs of the batch's partitions, so a writer that lost a partition (a zombie)
 * cannot overwrite the new owner's state (its batch fails STALE, is recomputed from Redis under a
 * new epoch, and the orders are applied exactly once either way). This relies on every order of a
 * customer arriving on one partition (messages keyed by customer_id). */
int fstore_apply_parts(fstore_t *fs, const ss_txn_t *const *txns, const int32_t *parts, size_t n,
                       fstore_result_t *res, ss_err_t *err);

/* ---- local mode, pipelined: compute batch i+1 while Redis writes batch i ----
 * fstore_stage reads what the cache lacks (or the replies of fstore_prefetch), computes res[0..n)
 * and the batch's write, and keeps it staged; fstore_send appends the staged write and flushes it
 * to the socket without waiting; fstore_finish reads its reply. The caller (features main.c)
 * holds a staged batch until the next one is polled, then: fstore_prefetch(next) - the reads
 * the next batch needs, except anonymous order checks, go out first -, fstore_send(held),
 * fstore_stage(next) - computed from the cache as if the held write had landed; an anonymous
 * order not checked yet is taken as unseen, and the write's fence on its order id turns a
 * redelivery into a failed write -, fstore_finish(held). If fstore_finish fails, the cache is
 * dropped and the batch staged meanwhile discarded (fstore_staged says 0): redo the failed batch
 * (fstore_apply_parts), then stage the next one again. fstore_invalidate also discards a staged
 * batch. Error codes as for fstore_apply; a failed fence is SS_ERR_INVAL with "STALE" in the
 * message. Staging behind a write in flight without fstore_prefetch of every read the batch
 * needs is refused (SS_ERR_FATAL). */
int fstore_prefetch(fstore_t *fs, const ss_txn_t *const *txns, const int32_t *parts, size_t n,
                    ss_err_t *err);
int fstore_stage(fstore_t *fs, const ss_txn_t *const *txns, const int32_t *parts, size_t n,
                 fstore_result_t *res, ss_err_t *err);
int fstore_send(fstore_t *fs, ss_err_t *err);
int fstore_finish(fstore_t *fs, ss_err_t *err);
/* 1 when a batch is staged and neither sent nor discarded. */
int fstore_staged(const fstore_t *fs);

/* Local mode: forgets every cached state and partition epoch (call on partition assignment
 * changes: another consumer may have written the customers meanwhile). A batch in flight is not
 * affected. No-op in script mode. */
void fstore_invalidate(fstore_t *fs);
/* The effective mode (never FSTORE_MODE_DEFAULT). */
fstore_mode_t fstore_mode(const fstore_t *fs);

/* Latest event time applied (max of the per-store watermarks) into *t_ms; SS_ERR_NOTFOUND when
 * the store is empty. */
int fstore_latest_time(fstore_t *fs, int64_t *t_ms, ss_err_t *err);

/* Writes one JSON line per customer (rfm_features_json) as of as_of_ms to out, SCANning the
 * customer keys; order unspecified. *count (may be NULL) gets the number of lines. */
int fstore_dump_customers(fstore_t *fs, int64_t as_of_ms, FILE *out, size_t *count, ss_err_t *err);
/* Writes one JSON line per (store, day, product): {"store_id":..,"day":..,"product_id":..,
 * "quantity":N}. */
int fstore_dump_demand(fstore_t *fs, FILE *out, size_t *count, ss_err_t *err);
/* Writes the raw stored state of every customer, one JSON line each, with the window and the
 * customer x product quantities: {"customer_id":..,"n":..,"s":..,"mu":..,"m2":..,"f":..,"l":..,
 * "rn":..,"ra":..,"w":"..","products":{..}} (tests compare it with the rfm model). */
int fstore_dump_state(fstore_t *fs, FILE *out, size_t *count, ss_err_t *err);

/* ---- pure helpers (exposed for unit tests) ---- */

/* Event-time day of t_ms shifted by tz_offset_min: writes "YYYY-MM-DD" into day (11 bytes) and
 * the exclusive end of that day as UTC epoch ms into *day_end_ms. */
void fstore_day(int64_t t_ms, int tz_offset_min, char day[11], int64_t *day_end_ms);

/* Parses one reply element of features.lua (see the script header) into res; the features are
 * computed as of max(event_time_ms, last purchase). SS_ERR_INVAL on a malformed element. */
int fstore_parse_result(const char *s, size_t len, int64_t event_time_ms, fstore_result_t *res,
                        ss_err_t *err);

/* Borrows: the embedded features.lua source. */
const char *fstore_script_source(void);

#endif
