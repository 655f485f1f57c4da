/* stool_feed: per-customer rfm_state_t keyed by id; CustomerFeatures per order. */
#include "stool_feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfm.h"

typedef struct fcust {
    char id[SS_ID_MAX + 1];
    rfm_state_t st;
} fcust_t;

struct stool_feed {
    fcust_t **c;
    size_t n, cap; /* open addressing table of cap slots */
};

static uint32_t hash_id(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

stool_feed_t *stool_feed_new(void) {
    stool_feed_t *fd = ss_xcalloc(1, sizeof(*fd));
    fd->cap = 1024;
    fd->c = ss_xcalloc(fd->cap, sizeof(*fd->c));
    return fd;
}

void stool_feed_destroy(stool_feed_t *fd) {
    if (!fd)
        return;
    for (size_t i = 0; i < fd->cap; i++) {
        if (fd->c[i]) {
            rfm_state_release(&fd->c[i]->st);
            free(fd->c[i]);
        }
    }
    free(fd->c);
    free(fd);
}

static fcust_t **slot(fcust_t **tab, size_t cap, const char *id) {
    size_t i = hash_id(id) & (cap - 1);
    while (tab[i] && strcmp(tab[i]->id, id) != 0)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static fcust_t *get(stool_feed_t *fd, const char *id) {
    fcust_t **s = slot(fd->c, fd->cap, id);
    if (*s)
        return *s;
    if ((fd->n + 1) * 2 > fd->cap) {
        size_t ncap = fd->cap * 2;
        fcust_t **nt = ss_xcalloc(ncap, sizeof(*nt));
        for (size_t i = 0; i < fd->cap; i++)
            if (fd->c[i])
                *slot(nt, ncap, fd->c[i]->id) = fd->c[i];
        free(fd->c);
        fd->c = nt;
        fd->cap = ncap;
        s = slot(fd->c, fd->cap, id);
    }
    fcust_t *c = ss_xcalloc(1, sizeof(*c));
    snprintf(c->id, sizeof c->id, "%s", id);
    c->st = (rfm_state_t)RFM_STATE_INIT;
    *s = c;
    fd->n++;
    return c;
}

int stool_feed_apply(stool_feed_t *fd, const ss_txn_t *t, scorer_event_t *ev) {
    if (!t->has_customer)
        return 0;
    fcust_t *c = get(fd, t->customer_id);
    double amount = ss_txn_amount(t);
    if (t->kind == SS_TXN_PURCHASE)
        rfm_apply_purchase(&c->st, t->event_time_ms, amount);
    else
        rfm_apply_return(&c->st, t->event_time_ms, amount);
    int64_t as_of = t->event_time_ms;
    if (c->st.agg.n > 0 && c->st.agg.last_ms > as_of)
        as_of = c->st.agg.last_ms;
    memset(ev, 0, sizeof(*ev));
    snprintf(ev->customer_id, sizeof ev->customer_id, "%s", t->customer_id);
    snprintf(ev->order_id, sizeof ev->order_id, "%s", t->order_id);
    rfm_features(&c->st, as_of, &ev->f);
    ev->first_ms = c->st.agg.first_ms;
    ev->last_ms = c->st.agg.last_ms;
    ev->source_partition = -1;
    ev->source_offset = -1;
    return 1;
}

size_t stool_feed_customers(const stool_feed_t *fd) { return fd->n; }
