/* gen_csv: writes Transaction events as rows of the native replay CSV format (one row per line;
 * columns in docs/tools.md), the format streamscore-replay reads with --format native.
 * Depends on ss_txn and libcsv. Not thread-safe per FILE. */
#ifndef SS_GEN_CSV_H
#define SS_GEN_CSV_H

#include <stdio.h>

#include "gen_model.h"
#include "ss_txn.h"

/* The header line (without newline): "order_id,customer_id,store_id,event_time,kind,
 * product_id,quantity,unit_price,currency". */
extern const char gen_csv_header[];

/* Writes t as n_lines rows (event_time as ISO-8601 UTC with milliseconds, prices with up to 17
 * significant digits, fields quoted only when needed). A bad record is written so that the
 * replay rejects it: quantity 0, price "nan", an empty order id, an empty product id for an
 * order without lines, and a row of the wrong width for the raw kinds. Returns 0 or SS_ERR_IO
 * (errno text) on a write error. */
int gen_csv_write(FILE *f, const ss_txn_t *t, gen_bad_t bad, ss_err_t *err);

#endif
