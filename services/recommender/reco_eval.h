/* reco_eval: offline evaluation and cost measurement of the recommender on a stream of orders in
 * event-time order (e.g. a CSV read by the replay tool's parser). Hit rate at n on held-out next
 * purchases against a most-popular baseline, and the per-purchase cost (update + recommend) of
 * the streaming path, the state's size, snapshot size and restore time. Depends on itemcf; reads
 * the monotonic clock for the timings (and only for them). One thread. */
#ifndef SS_RECO_EVAL_H
#define SS_RECO_EVAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "itemcf.h"
#include "ss_err.h"
#include "ss_txn.h"

/* Fills t (cleared first) with order i, 0 <= i < count, orders in event-time order. */
typedef void(reco_eval_get_fn)(void *opaque, size_t i, ss_txn_t *t);

/* Zero means default for every field. */
typedef struct reco_eval_opts {
    int64_t cutoff_ms;   /* 0: event time of the identified purchase at 80 % of them */
    size_t n;            /* recommendations per customer; 0 = 5 */
    uint32_t neighbours; /* 0 = 10 */
    int timing;          /* 1: after every purchase also recommend, and time update+recommend */
} reco_eval_opts_t;

typedef struct reco_eval_result {
    int64_t cutoff_ms;       /* train: purchases before; test: each customer's next one at/after */
    uint64_t purchases;      /* identified purchase orders applied (whole stream) */
    uint64_t test_customers; /* history before the cutoff and a purchase at/after it */
    uint64_t test_new;       /* ... whose next order holds a product not bought before */
    uint64_t hits_cosine;    /* test customers with >= 1 of the n recommendations in the order */
    uint64_t hits_popular;   /* same for the baseline: top n by buyers minus what they bought */
    uint64_t cosine_answers; /* test customers answered by item-cosine (the rest: popular) */
    /* timing (when opts.timing): update + recommend per purchase order, seconds */
    uint64_t timed;
    double p50_s, p90_s, p99_s, max_s, total_s;
    uint64_t max_customer_products; /* distinct products of the customer of the slowest event */
    uint64_t largest_customer;      /* most distinct products of any customer at the end */
    double largest_recommend_s;     /* one recommend for that customer at the end */
    /* state at the end of the stream */
    icf_stats_t stats;
    uint64_t snapshot_bytes;
    double snapshot_s, restore_s;
} reco_eval_result_t;

/* Runs the evaluation over orders 0..count. Returns 0, or SS_ERR_INVAL when there is no
 * identified purchase. */
int reco_eval_run(size_t count, reco_eval_get_fn *get, void *opaque, const reco_eval_opts_t *o,
                  reco_eval_result_t *r, ss_err_t *err);

/* Prints r as the `evaluate` report (aligned "name value" lines) to f. */
void reco_eval_print(const reco_eval_result_t *r, size_t n, FILE *f);

#endif
