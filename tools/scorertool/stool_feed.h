/* stool_feed: turns a time-ordered stream of orders into the CustomerFeatures events the
 * features service publishes (one per customer order, features as of max(order time, last
 * purchase)), using the feature service's own rfm code. For streamscore-scorertool and tests when
 * streamscore-features is not in the loop. Pure; one per thread. */
#ifndef SS_STOOL_FEED_H
#define SS_STOOL_FEED_H

#include "scorer_state.h"
#include "ss_txn.h"

typedef struct stool_feed stool_feed_t;

stool_feed_t *stool_feed_new(void);        /* returns new */
void stool_feed_destroy(stool_feed_t *fd); /* NULL is a no-op */

/* Applies order t (validated; purchases and returns of known customers) and fills *ev. Returns 1
 * when ev was filled, 0 for an anonymous order (ignored). */
int stool_feed_apply(stool_feed_t *fd, const ss_txn_t *t, scorer_event_t *ev);

/* Number of customers seen. */
size_t stool_feed_customers(const stool_feed_t *fd);

#endif
