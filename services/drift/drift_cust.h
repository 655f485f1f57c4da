/* drift_cust: per-customer state the drift monitor derives from the customer-features stream:
 * (1) the amount of each new purchase order (the change of frequency * avg_order between two
 * updates of a customer), a per-event figure that shows a price shift at once, where the
 * cumulative features move slowly; (2) realised churn labels for live model quality: a churn
 * score at event time T is labelled 1 (churned) when the customer made no purchase in
 * (T, T + horizon], 0 otherwise, and is released once the watermark passes T + horizon.
 * One pending score per customer (the oldest unreleased), so each customer weighs the same.
 * Pure: no I/O, no clock. Not thread-safe: one thread per dcust_t. */
#ifndef SS_DRIFT_CUST_H
#define SS_DRIFT_CUST_H

#include <stddef.h>
#include <stdint.h>

/* Zero means default for every field. */
typedef struct dcust_opts {
    int64_t horizon_ms;   /* churn label window; 0 = 90 days */
    size_t max_customers; /* customers tracked; later ones are ignored (counted); 0 = 2,000,000 */
} dcust_opts_t;

typedef struct dcust dcust_t;

/* Called for each released score: p the score, label 1 = churned, t_ms the score's time. */
typedef void (*dcust_label_fn)(double p, int label, int64_t t_ms, void *opaque);

dcust_t *dcust_new(const dcust_opts_t *opts); /* returns new; never NULL */
void dcust_destroy(dcust_t *c);               /* NULL is a no-op */

/* Applies one CustomerFeatures update (customer_id copied). Returns the amount of the purchase
 * order that produced it when frequency grew by exactly one since this customer's last update
 * (frequency * avg_order minus the previous product; for a first sighting with frequency 1, the
 * avg_order), else NaN: a return, a replayed or reordered update, a first sighting with history.
 * A purchase (last_order_ms) inside a pending score's label window marks it retained. */
double dcust_features(dcust_t *c, const char *customer_id, int64_t frequency, double avg_order,
                      int64_t last_order_ms);

/* Records a churn score p at event time t_ms; it becomes the customer's pending score unless one
 * is already pending. A NaN p is ignored. */
void dcust_score(dcust_t *c, const char *customer_id, int64_t t_ms, double p);

/* Releases every pending score whose label window ended at or before watermark_ms, calling fn
 * for each (order unspecified). Returns the number released. */
size_t dcust_release(dcust_t *c, int64_t watermark_ms, dcust_label_fn fn, void *opaque);

size_t dcust_count(const dcust_t *c);     /* customers tracked */
size_t dcust_pending(const dcust_t *c);   /* scores waiting for their label */
uint64_t dcust_ignored(const dcust_t *c); /* updates dropped because the table was full */

#endif
