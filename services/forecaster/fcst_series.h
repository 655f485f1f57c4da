/* fcst_series: one store's daily demand series over a window of event-time days, built from the
 * features service's per-(store, day) demand hashes (`<prefix>dm:{<store>:<YYYY-MM-DD>}`, fields
 * `p:<product>` -> units sold that day; other fields are ignored). Products are discovered from
 * the hashes of the window. The builder is pure (fcst_series_add*); fcst_series_load is the only
 * function doing I/O (pipelined HGETALL through ss_redis). A series set belongs to one thread
 * while it is built; once finished it is read-only and may be read from any thread. */
#ifndef SS_FCST_SERIES_H
#define SS_FCST_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "ss_err.h"
#include "ss_redis.h"

#define FCST_SERIES_MAX_DAYS 100000 /* as dprep_daily */

typedef struct fcst_series fcst_series_t;

/* Returns new (fcst_series_destroy) an empty set for the inclusive day window [first_day,
 * last_day], or NULL with SS_ERR_INVAL when the window is empty or longer than
 * FCST_SERIES_MAX_DAYS. */
fcst_series_t *fcst_series_new(int64_t first_day, int64_t last_day, ss_err_t *err);
void fcst_series_destroy(fcst_series_t *s); /* NULL is a no-op */

/* Adds qty units of product (plen bytes, copied) sold on `day`; repeated adds are summed.
 * Returns 0, or SS_ERR_INVAL for a day outside the window, an empty product id or a non-finite
 * quantity (nothing is added). Not after fcst_series_finish. */
int fcst_series_add(fcst_series_t *s, int64_t day, const char *product, size_t plen, double qty,
                    ss_err_t *err);

/* Adds the quantities one field of the demand hash of `day` holds (ss_demand.h): "p:<product>"
 * with a decimal quantity, or every product of a "q:<partition>" demand record; any other field
 * (the "o:<order>" dedupe marks) is ignored and returns 0. Returns SS_ERR_INVAL ("bad quantity
 * 'x' for field 'p:7'") when the value is not a finite number or the record is malformed. */
int fcst_series_add_field(fcst_series_t *s, int64_t day, const char *field, size_t flen,
                          const char *val, size_t vlen, ss_err_t *err);

/* Ends building: sorts the products by id (bytewise), so the order does not depend on Redis.
 * Idempotent. */
void fcst_series_finish(fcst_series_t *s);

/* The window. */
int64_t fcst_series_first_day(const fcst_series_t *s);
int64_t fcst_series_last_day(const fcst_series_t *s);

/* Number of products (after finish). */
size_t fcst_series_count(const fcst_series_t *s);
/* Product i's id, NUL-terminated (borrows: valid until destroy). */
const char *fcst_series_product(const fcst_series_t *s, size_t i);
/* Index of product (plen bytes) or -1. */
long fcst_series_find(const fcst_series_t *s, const char *product, size_t plen);

/* Product i's daily series (borrows: valid until destroy): *n values for the days *first_day ..
 * last_day, where *first_day is the product's first day with a recorded sale in the window (no
 * leading days before the product was sold) and missing days are 0. */
const double *fcst_series_values(const fcst_series_t *s, size_t i, int64_t *first_day, size_t *n);

/* Reads the demand hashes of store for every day of the window from Redis (HGETALL, pipelined
 * in chunks) into s, then finishes s. Keys are `<prefix>dm:{<store>:<YYYY-MM-DD>}`; a missing
 * key is a day without sales. Fields with a bad value are skipped and counted in *n_bad (may be
 * NULL). Returns 0, or the ss_redis error (SS_ERR_RETRIABLE: retry later; SS_ERR_INVAL for an
 * error reply such as WRONGTYPE). On error s is left partly filled: destroy it. */
int fcst_series_load(fcst_series_t *s, ss_redis_t *rc, const char *prefix, const char *store,
                     size_t *n_bad, ss_err_t *err);

/* Writes the demand key of (store, day) into out[0..size): `<prefix>dm:{<store>:<YYYY-MM-DD>}`.
 * Returns the length (as snprintf: >= size means truncated). */
int fcst_series_key(char *out, size_t size, const char *prefix, const char *store, int64_t day);

#endif
