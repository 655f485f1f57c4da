/* gen: deterministic synthetic retail transactions (streamscore-gen's model). Pure: no I/O, no
 * clock, no global state; the same options (seed included) always give the same events in the
 * same order. Customers buy at individual rates until their churn day, from a home store, in
 * baskets drawn mostly from a few preferred product groups; stores and product groups have weekly
 * profiles and trends; a share of purchases is returned later; anonymous walk-in sales; optional
 * bad records and a price shift (docs/tools.md describes the model and its default shape).
 * Not thread-safe; one generator per thread. */
#ifndef SS_GEN_MODEL_H
#define SS_GEN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "ss_err.h"
#include "ss_txn.h"

/* Zero means default for every field (for the shares, a negative value means "none"). */
typedef struct gen_opts {
    uint64_t seed;          /* 0 = 1 */
    int customers;          /* 0 = 1000 */
    int products;           /* 0 = 200 */
    int stores;             /* 0 = 10 */
    int groups;             /* product groups (co-purchase families); 0 = products / 10 */
    int days;               /* event-time days generated; 0 = 90 */
    int64_t start_ms;       /* first day, epoch ms UTC; 0 = 2024-01-01T00:00:00Z */
    double orders_per_week; /* mean orders per active customer per week; 0 = 1.5 */
    double churn_share;     /* share of customers who stop buying on a churn day; 0 = 0.2 */
    double return_share;    /* share of customer purchases returned 1-14 days later; 0 = 0.03 */
    double anon_share;      /* share of purchases without customer (walk-ins); 0 = 0.1 */
    double bad_rate;        /* extra bad record after each event with this probability; 0 = none */
    int shift_day;          /* from this day (0-based) ... */
    int shift_stores;       /* ... the first S stores (s001..) ; 0 = 1 ... */
    double shift_factor;    /* ... sell at unit prices x F; 0 or 1 = no shift */
    const char *currency;   /* 0 = "GBP" (copied) */
} gen_opts_t;

/* Kinds of bad record (--bad-rate). The first ones are well-formed Avro that fails
 * ss_txn_validate; the RAW ones are payloads that are not a Transaction at all, built by the
 * producer (the model only says which). */
typedef enum gen_bad {
    GEN_BAD_NONE = 0,
    GEN_BAD_QUANTITY,  /* a line with quantity 0 */
    GEN_BAD_PRICE,     /* a line with unit price NaN */
    GEN_BAD_ID,        /* empty order id */
    GEN_BAD_NO_LINES,  /* order without lines */
    GEN_BAD_RAW_JSON,  /* payload is JSON text instead of framed Avro (bad magic byte) */
    GEN_BAD_RAW_TRUNC, /* framed Avro cut in the middle */
    GEN_BAD_COUNT
} gen_bad_t;

/* Short name ("quantity", "price", "id", "no-lines", "raw-json", "raw-truncated"), static. */
const char *gen_bad_name(gen_bad_t b);

typedef struct gen gen_t;

/* Returns new: a generator, or NULL with SS_ERR_INVAL for out-of-range options (e.g. "customers
 * -3 out of range 1..100000000", more groups than products). Copies opts. */
gen_t *gen_new(const gen_opts_t *opts, ss_err_t *err);
void gen_destroy(gen_t *g); /* NULL is a no-op */

/* Produces the next event into t (cleared first) in event-time order (ties by order id) and its
 * bad kind into *bad (GEN_BAD_NONE for a normal event). Returns 1, or 0 after the last day.
 * Good events do not depend on bad_rate: bad records are drawn from a separate random stream and
 * inserted between them. */
int gen_next(gen_t *g, ss_txn_t *t, gen_bad_t *bad);

/* The effective options (defaults filled in). Borrows g. */
const gen_opts_t *gen_opts(const gen_t *g);

/* Ground truth, for tests and docs. Customer ids are "c000001".. (index + 1), products
 * "p00001".., stores "s001"... */
int gen_customer_churn_day(const gen_t *g, int customer); /* day it stops buying, or -1 */
int gen_product_group(const gen_t *g, int product);
/* Parses a generated id ("c000012" -> 11) for kind 'c', 'p' or 's'; -1 when not one. */
int gen_id_index(const char *id, char kind);

/* Shape of a workload, measured by running a generator over every event. */
typedef struct gen_shape {
    uint64_t events; /* good events */
    uint64_t purchases, returns, anonymous, bad;
    double lines_per_order;   /* mean over good events */
    double units_per_line;    /* mean quantity */
    double mean_amount;       /* mean purchase amount */
    double distinct_products; /* mean distinct products per customer with >= 1 purchase */
    int buying_customers;     /* customers with >= 1 purchase */
    int churners;             /* customers with a churn day */
    double same_group_pairs;  /* share of line pairs within one order in the same group */
    double weekday_ratio;     /* orders on the busiest weekday / the quietest weekday */
} gen_shape_t;

/* Fills *shape for opts (runs a full generator). Returns 0 or gen_new's error. */
int gen_measure(const gen_opts_t *opts, gen_shape_t *shape, ss_err_t *err);

#endif
