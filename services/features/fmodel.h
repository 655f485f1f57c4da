/* fmodel: an in-memory reference model of features.lua (dedupe domains, RFM aggregates, window,
 * customer x product and demand quantities, watermarks and late days), with the same arithmetic.
 * Used by tests to check Redis state exactly; not on the service's hot path. Pure, no I/O
 * except the dump printers. One model per thread. */
#ifndef FMODEL_H
#define FMODEL_H

#include <stdint.h>
#include <stdio.h>

#include "fstore.h"
#include "ss_txn.h"

typedef struct fmodel fmodel_t;

/* Returns new; lateness_ms and tz_offset_min as in fstore_opts_t. */
fmodel_t *fmodel_new(int64_t lateness_ms, int tz_offset_min);
void fmodel_destroy(fmodel_t *m); /* NULL is a no-op */

/* Applies one validated order; returns its status and sets *late (may be NULL). */
fstore_status_t fmodel_apply(fmodel_t *m, const ss_txn_t *t, int *late);

/* Prints the state in fstore_dump_state's format, one line per customer. */
void fmodel_dump_state(const fmodel_t *m, FILE *out);
/* Prints the demand in fstore_dump_demand's format. */
void fmodel_dump_demand(const fmodel_t *m, FILE *out);
/* Prints features as of as_of_ms in fstore_dump_customers's format. */
void fmodel_dump_customers(const fmodel_t *m, int64_t as_of_ms, FILE *out);

#endif
