/* icf: incremental item-item collaborative filtering, exact to the batch method of
 * docs/recommendations.md. Keeps the customer x product matrix of summed purchased quantities
 * (PURCHASE orders of identified customers), per product the squared column norm and the number of
 * buyers, and per product pair the column dot product, all as exact integers updated per order in
 * O(distinct products of the order x distinct products of its customer). Recommendations are
 * computed on demand from that state. Pure: no I/O, no clock, no Kafka/Redis (snapshots are
 * bytes in, bytes out). Not thread-safe: one thread at a time per handle (the service locks). */
#ifndef SS_ITEMCF_H
#define SS_ITEMCF_H

#include <stddef.h>
#include <stdint.h>

#include "ss_buf.h"
#include "ss_err.h"
#include "ss_txn.h"

#define ICF_NEIGHBOURS_DEFAULT 10 /* most similar other products taken per bought product */
#define ICF_TOP_N_DEFAULT 5       /* recommendations returned when the caller says 0 */

typedef struct icf icf_t;

/* Zero means default for every field. */
typedef struct icf_opts {
    uint32_t neighbours; /* per bought product; 0 = ICF_NEIGHBOURS_DEFAULT */
} icf_opts_t;

/* What icf_apply did with an order. */
typedef enum icf_status {
    ICF_APPLIED = 0,   /* first delivery of a purchase of an identified customer: state updated */
    ICF_DUPLICATE = 1, /* order id seen before with the same content: nothing changed */
    ICF_CONFLICT = 2,  /* order id seen before with other content: nothing changed */
    ICF_IGNORED = 3,   /* a RETURN or an anonymous order: not part of the matrix */
} icf_status_t;

typedef enum icf_method {
    ICF_METHOD_COSINE = 0,  /* item-item cosine ("item-cosine") */
    ICF_METHOD_POPULAR = 1, /* most buyers ("popular"): no history, or no cosine candidate */
} icf_method_t;

/* One recommended product. */
typedef struct icf_item {
    char product_id[SS_ID_MAX + 1];
    double score; /* item-cosine: sum of cosines; popular: number of distinct buyers */
} icf_item_t;

/* One similar product (icf_neighbours). */
typedef struct icf_neighbour {
    char product_id[SS_ID_MAX + 1];
    double cosine; /* dot / sqrt(norm_a * norm_b), computed in that order in double */
    int64_t dot;   /* exact column dot product */
} icf_neighbour_t;

typedef struct icf_stats {
    uint64_t products;     /* distinct products ever purchased */
    uint64_t customers;    /* distinct identified customers with a purchase */
    uint64_t entries;      /* non-zero (customer, product) cells */
    uint64_t pairs;        /* product pairs with a non-zero dot product (unordered) */
    uint64_t dense_rows;   /* product rows stored as dense arrays */
    uint64_t orders;       /* order ids remembered for dedupe */
    uint64_t bytes_pairs;  /* bytes allocated for the pair dot products (both directions) */
    uint64_t bytes_total;  /* bytes allocated by the handle, all structures (approximate) */
    int64_t as_of_ms;      /* latest event time applied; 0 when nothing was applied */
    uint64_t saturated;    /* integer updates clamped at INT64_MAX (never in sane data) */
    uint64_t cache_hits;   /* neighbour selections served from a row's cache */
    uint64_t cache_misses; /* neighbour selections that scanned the row */
} icf_stats_t;

/* Returns new: an empty model (copies opts; NULL = defaults). Never NULL (OOM aborts). */
icf_t *icf_new(const icf_opts_t *opts);
void icf_destroy(icf_t *m); /* NULL is a no-op */

/* Applies one decoded, validated order (borrowed for the call). Dedupe is by order_id with the
 * ss_txn_fingerprint of the content: a second delivery is ICF_DUPLICATE (same fingerprint) or
 * ICF_CONFLICT (other content; the first delivery wins). RETURN and anonymous orders are
 * ICF_IGNORED and not remembered. Lines of one product are summed before the update.
 * Returns 0 and *status; SS_ERR_INVAL (nothing changed) for an order that is not valid
 * (no lines, a quantity < 1, an empty id). */
int icf_apply(icf_t *m, const ss_txn_t *t, icf_status_t *status, ss_err_t *err);

/* Adds qty (>= 1) units of product to customer's cell, without dedupe or event time (tests,
 * evaluation). Returns 0 or SS_ERR_INVAL (empty or too long id, qty < 1). */
int icf_add(icf_t *m, const char *customer, const char *product, int64_t qty, ss_err_t *err);

/* Recommends up to n (0 = ICF_TOP_N_DEFAULT) products for customer into out[0..n) (caller's
 * array of at least n items) and returns how many were written; *method (may be NULL) says how.
 * item-cosine: for each product the customer bought, its `neighbours` most similar other
 * products (cosine > 0 only; ties by product id); a candidate not bought scores the sum of its
 * cosines over those lists, summed over the bought products in product id order; best score
 * first, ties by product id. A customer with no history, or whose lists hold no unbought product,
 * gets the popular products (most distinct buyers, ties by product id) minus what they bought,
 * with method ICF_METHOD_POPULAR. Fewer than n only when the catalogue runs out. */
size_t icf_recommend(icf_t *m, const char *customer, size_t n, icf_item_t *out,
                     icf_method_t *method);

/* The popular list alone: top n products by distinct buyers (ties by product id), score = buyers.
 * Returns how many were written to out. */
size_t icf_popular(icf_t *m, size_t n, icf_item_t *out);

/* The popular list minus the products customer bought (the baseline of the evaluation, and the
 * fallback of icf_recommend). Returns how many were written to out. */
size_t icf_popular_for(icf_t *m, const char *customer, size_t n, icf_item_t *out);

/* Latest event time applied (epoch ms), 0 when nothing was applied. */
int64_t icf_as_of(const icf_t *m);

/* The k most similar other products of product (cosine > 0, best first, ties by product id) into
 * out[0..k); returns how many (0 for an unknown product). */
size_t icf_neighbours(icf_t *m, const char *product, size_t k, icf_neighbour_t *out);

/* Exact state queries (tests): the summed quantity of a cell, a column's squared norm, a pair's
 * dot product (0 when absent or unknown). */
int64_t icf_quantity(const icf_t *m, const char *customer, const char *product);
int64_t icf_norm2(const icf_t *m, const char *product);
int64_t icf_dot(const icf_t *m, const char *a, const char *b);

/* Number of distinct products the customer bought (0 for an unknown customer). */
size_t icf_customer_products(const icf_t *m, const char *customer);

/* 1 if the customer has at least one purchase in the matrix. */
int icf_has_customer(const icf_t *m, const char *customer);

/* Fills *st. O(1) apart from bytes_* (O(products)). */
void icf_stats(const icf_t *m, icf_stats_t *st);

/* Appends a self-contained binary snapshot (matrix, dedupe ids with fingerprints, as-of time;
 * format in docs/recommendations.md) to out. The pair state is not stored: it is rebuilt from the
 * matrix by icf_restore. */
void icf_snapshot(const icf_t *m, ss_buf_t *out);

/* Returns new: a model rebuilt from a snapshot (buf borrowed), with opts as in icf_new. NULL with
 * SS_ERR_DECODE ("snapshot: ...") for bad magic, version, checksum, truncation or an
 * out-of-range index. */
icf_t *icf_restore(const void *buf, size_t len, const icf_opts_t *opts, ss_err_t *err);

/* "item-cosine" or "popular" (static). */
const char *icf_method_name(icf_method_t method);

#endif
