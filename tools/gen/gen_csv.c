/* gen_csv: native CSV rows. See gen_csv.h. */
#include "gen_csv.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_csv.h"

const char gen_csv_header[] =
    "order_id,customer_id,store_id,event_time,kind,product_id,quantity,unit_price,currency";

/* Writes s, quoted only when it holds a delimiter, a quote or a line break. */
static void field(FILE *f, const char *s) {
    if (strpbrk(s, ",\"\r\n"))
        csv_fwrite(f, s, strlen(s));
    else
        fputs(s, f);
}

/* Shortest of %.15g / %.17g that reads back as the same double. */
static void put_double(FILE *f, double v) {
    char buf[40];
    snprintf(buf, sizeof(buf), "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof(buf), "%.17g", v);
    fputs(buf, f);
}

static void row(FILE *f, const ss_txn_t *t, const char *when, const char *product, int32_t qty,
                double price) {
    field(f, t->order_id);
    fputc(',', f);
    field(f, t->has_customer ? t->customer_id : "");
    fputc(',', f);
    field(f, t->store_id);
    fprintf(f, ",%s,%s,", when, t->kind == SS_TXN_RETURN ? "return" : "purchase");
    field(f, product);
    fprintf(f, ",%d,", (int)qty);
    if (isnan(price))
        fputs("nan", f);
    else
        put_double(f, price);
    fputc(',', f);
    field(f, t->currency);
    fputc('\n', f);
}

int gen_csv_write(FILE *f, const ss_txn_t *t, gen_bad_t bad, ss_err_t *err) {
    char when[32];
    rcsv_format_time(t->event_time_ms, when, sizeof(when));
    if (bad == GEN_BAD_RAW_JSON || bad == GEN_BAD_RAW_TRUNC)
        fprintf(f, "%s,not a transaction\n", t->order_id);
    else if (t->n_lines == 0)
        row(f, t, when, "", 1, 0.0);
    for (size_t i = 0; bad != GEN_BAD_RAW_JSON && bad != GEN_BAD_RAW_TRUNC && i < t->n_lines; i++) {
        const ss_txn_line_t *ln = &t->lines[i];
        row(f, t, when, ln->product_id, ln->quantity, ln->unit_price);
    }
    if (ferror(f))
        return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot write csv");
    return 0;
}
