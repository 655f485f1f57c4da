/* flocal: the in-process state of streamscore-features' `local` state mode. Keeps, per customer
 * of the assigned partitions, the RFM state, the seen order ids with fingerprints and the
 * customer x product quantities (written as one record, crec.h); per (store, day) and input
 * partition the quantities sold (a demand record, ss_demand.h); per store the watermarks; the
 * seen anonymous order ids. Applies a
 * micro-batch in C with the arithmetic of rfm.c (= features.lua) and emits the batch's Redis
 * effects as a write plan for fstore's write-only script (features_write.lua). Pure: no I/O; the
 * caller loads unknown keys from Redis first (flocal_need_*) and drops everything (flocal_clear)
 * when the cache may be stale (rebalance, failed write). One per thread. */
#ifndef FLOCAL_H
#define FLOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "fstore.h"
#include "ss_buf.h"
#include "ss_err.h"
#include "ss_txn.h"

typedef struct flocal flocal_t;

/* Returns new. prefix (copied) as in fstore_opts_t; lateness_ms < 0: days never close. */
flocal_t *flocal_new(const char *prefix, int64_t lateness_ms, int tz_offset_min,
                     int64_t customer_ttl_ms, int64_t demand_ttl_ms);
void flocal_destroy(flocal_t *l); /* NULL is a no-op */

/* Forgets every cached customer, store and anonymous order id (they reload on next touch). */
void flocal_clear(flocal_t *l);
/* Changes with every flocal_clear: what was loaded before is still cached while it is equal. */
uint64_t flocal_generation(const flocal_t *l);
/* Number of cached customers. */
size_t flocal_customers(const flocal_t *l);
/* Number of cached customers, demand records and anonymous order ids (what fstore's cache bound
 * counts: anonymous order ids would otherwise grow without bound between rebalances). */
size_t flocal_cached(const flocal_t *l);

/* ---- loading (the caller reads Redis for keys that are not cached yet) ---- */

/* 1 when the customer is cached. */
int flocal_has_customer(const flocal_t *l, const char *cid);
/* Creates an empty cached customer (a key absent from Redis), then feed it the fields of its
 * hash (HGETALL) with flocal_customer_field. Copies. */
void flocal_customer_begin(flocal_t *l, const char *cid);
/* One field of `<prefix>c:{cid}`: st, w, o:<order_id> -> fingerprint hex, p:<product> -> qty.
 * Unknown fields are ignored. SS_ERR_INVAL on a malformed st/w value. */
int flocal_customer_field(flocal_t *l, const char *cid, const char *f, size_t flen, const char *v,
                          size_t vlen, ss_err_t *err);
/* 1 when the store's watermarks are cached; flocal_store_set caches them (has_* 0: absent). */
int flocal_has_store(const flocal_t *l, const char *store);
void flocal_store_set(flocal_t *l, const char *store, int has_wm, int64_t wm, int has_wmin,
                      int64_t wmin);
/* Anonymous order dedupe lives in `<prefix>dm:{store:day}` field o:<order_id>. Writes that key
 * and field (into key/field, reset first) for t (anonymous order); returns 1 when the result is
 * not cached yet (the caller HGETs it and reports with flocal_anon_set; fp NULL = absent). */
int flocal_anon_need(flocal_t *l, const ss_txn_t *t, ss_buf_t *key, ss_buf_t *field);
void flocal_anon_set(flocal_t *l, const char *key, const char *field, const char *fp, size_t fplen);
/* Demand records (ss_demand.h) live in `<prefix>dm:{store:day}` field q:<partition>, one per
 * input partition, owned by its writer. Writes that key and field (into key/field, reset first)
 * for purchase t consumed from partition part; returns 1 when the record is not cached yet (the
 * caller HGETs it and reports with flocal_demand_set; v NULL = absent). */
int flocal_demand_need(flocal_t *l, const ss_txn_t *t, int32_t part, ss_buf_t *key,
                       ss_buf_t *field);
/* SS_ERR_INVAL when v is not a demand record. */
int flocal_demand_set(flocal_t *l, const char *key, int32_t part, const char *v, size_t vlen,
                      ss_err_t *err);
/* 1 when the record flocal_demand_need names for (t, part) is cached. */
int flocal_demand_cached(flocal_t *l, const ss_txn_t *t, int32_t part);

/* ---- applying ---- */

/* TTL refresh: a key's PEXPIRE is sent when this process first writes it and then at most every
 * min(TTL / 16, FLOCAL_TTL_REFRESH_MS) of wall time (now_ms of flocal_apply), not on every update:
 * an expiry may come up to that much earlier than "TTL after the last update". */
#define FLOCAL_TTL_REFRESH_MS INT64_C(3600000)
/* The per-key refresh times of demand hashes are forgotten beyond this many keys. */
#define FLOCAL_MAX_DKEYS 200000

/* Applies txns[0..n), consumed from input partitions parts[0..n) (NULL: all from partition 0),
 * in order against the cached
 * state (a customer, store or demand record not cached counts as new and empty; an anonymous
 * order not cached counts as unseen), fills res[0..n) like
 * fstore_apply, and writes the batch's effects to plan (reset first) as the argument list of
 * features_write.lua in RESP bulk-string form ("$<len>\r\n<bytes>\r\n" each), ready to follow
 * "EVALSHA <sha> 0". now_ms: wall-clock time (TTL refresh). The plan starts with one fence per
 * fence_keys[k] (borrowed): the script writes nothing unless GET fence_keys[k] equals
 * fence_epochs[k] for every k (the caller's partition epochs, see fstore.h). A batch that changes
 * nothing gets no fences and no arguments. Returns the number of arguments. */
size_t flocal_apply(flocal_t *l, const ss_txn_t *const *txns, const int32_t *parts, size_t n,
                    int64_t now_ms, const char *const *fence_keys, const int64_t *fence_epochs,
                    size_t n_fences, fstore_result_t *res, ss_buf_t *plan);

/* Borrows: the embedded features_write.lua source. */
const char *flocal_write_script_source(void);

#endif
