/* ss_demand: reading and writing the per-(store, day) demand hash
 * `<prefix>dm:{<store>:<YYYY-MM-DD>}` (docs/redis.md). Its quantities are the sum of
 *   p:<product>    number fields (script mode, and stores written before demand records), and
 *   q:<partition>  demand records: the quantities applied from that input partition, written
 *                  as absolute values by the partition's owner (local mode, fenced like the
 *                  customer records): u8 version (SS_DEMAND_VERSION), then an ss_items section
 *                  product id -> quantity (int64).
 * o:<order id> fields (dedupe of anonymous orders) and anything else hold no quantity.
 * A record per partition makes a batch's demand write one field per (store, day, partition)
 * instead of one read-and-add per (store, day, product): Redis's cost is per field. */
#ifndef SS_DEMAND_H
#define SS_DEMAND_H

#include <stddef.h>
#include <stdint.h>

#include "ss_buf.h"
#include "ss_err.h"
#include "ss_items.h"

#define SS_DEMAND_VERSION 1

/* Called with each (product, quantity) a field holds; a negative return stops the walk and is
 * returned by ss_demand_field. */
typedef int (*ss_demand_cb)(const char *product, size_t len, double qty, void *opaque,
                            ss_err_t *err);

/* Walks the quantities of one field of a demand hash (none for fields that hold none). Returns
 * 0, the callback's error, or SS_ERR_INVAL for a malformed quantity, record or empty product id
 * (nothing is fed for that field then). */
int ss_demand_field(const char *f, size_t flen, const char *v, size_t vlen, ss_demand_cb cb,
                    void *opaque, ss_err_t *err);

/* Appends a demand record made of count items (built with ss_items_add) to out. */
void ss_demand_record(ss_buf_t *out, size_t count, const ss_buf_t *items);
size_t ss_demand_record_size(size_t items_len);

#endif
