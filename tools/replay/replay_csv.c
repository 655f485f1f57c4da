/* rcsv: CSV rows -> Transaction orders. See replay_csv.h.
 * libcsv is fed one physical line at a time so every record knows the line it starts on. Orders
 * are kept compact (interned strings, 24-byte lines) because store-item has 913,000 of them. */
#include "replay_csv.h"

#include <csv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define MAX_FIELDS 16
#define MAX_QTY 1000000
#define MAX_PRICE 1e6
#define MIN_TIME_MS 946684800000LL  /* 2000-01-01, as ss_txn_validate's default */
#define MAX_TIME_MS 4102444800000LL /* 2100-01-01 (exclusive) */

typedef struct rc_str {
    uint32_t off; /* into arena */
    uint32_t len;
    uint32_t hash;
    uint32_t order; /* order using this string as its id, or NONE */
} rc_str_t;

typedef struct rc_order {
    int64_t time_ms;                    /* event time: the order's first row */
    uint32_t id, cust, store, currency; /* string ids; cust NONE = anonymous */
    uint32_t first;   /* index of the first line in r->lines after grouping (rcsv_finish) */
    uint32_t n_lines; /* lines appended so far */
    uint64_t line_no; /* input line of the first row */
    uint8_t kind;     /* ss_txn_kind_t */
    uint8_t dead;     /* rejected as a whole in rcsv_finish */
} rc_order_t;

typedef struct rc_line {
    uint32_t order;
    uint32_t product; /* string id */
    int32_t qty;
    uint32_t line_no;
    double price;
} rc_line_t;

typedef struct rc_sorted {
    int64_t time_ms;
    uint32_t order;
} rc_sorted_t;

/* One parsed data row on its way into an order (strings borrowed from the field buffer). */
typedef struct rc_row {
    const char *order_id;
    const char *customer; /* NULL: anonymous */
    const char *store;
    const char *currency;
    const char *product;
    int64_t time_ms;
    ss_txn_kind_t kind;
    int32_t qty;
    double price;
    int allow_merge;   /* several rows may form one order */
    int time_may_vary; /* merged rows may carry another time (online-retail minute boundary) */
} rc_row_t;

struct rcsv {
    rcsv_opts_t opts;
    char currency_def[8];
    struct csv_parser csv;
    int csv_ok;
    ss_err_t sticky;
    int finished;

    /* current record */
    char *fbuf; /* field bytes, each NUL-terminated */
    size_t flen, fcap;
    size_t foff[MAX_FIELDS];
    size_t nfields;    /* may exceed MAX_FIELDS (extra fields are counted, not stored) */
    uint64_t cur_line; /* physical line being fed (1-based) */
    uint64_t rec_line; /* line the current record starts on */
    int at_line_start;
    int bom_done;     /* the start of input was checked for a UTF-8 byte order mark */
    size_t bom_held;  /* leading bytes matching the BOM so far, held back until decided */
    uint64_t records; /* records seen, header included */

    /* strings */
    char *arena;
    size_t alen, acap;
    rc_str_t *strs;
    size_t nstrs, capstrs;
    uint32_t *table; /* open addressing of string ids; NONE = empty */
    size_t tcap;

    rc_order_t *orders;
    size_t norders, caporders;
    rc_line_t *lines;
    size_t nlines, caplines;
    rc_sorted_t *sorted; /* live orders in event-time order, after finish */
    size_t nsorted;

    rcsv_stats_t stats;
};

static const char *const reason_names[RCSV_R_COUNT] = {
    [RCSV_R_FIELDS] = "fields",
    [RCSV_R_ORDER_ID] = "order-id",
    [RCSV_R_ADJUSTMENT] = "adjustment",
    [RCSV_R_CUSTOMER] = "customer-id",
    [RCSV_R_STORE] = "store-id",
    [RCSV_R_PRODUCT] = "product-id",
    [RCSV_R_TIME] = "time",
    [RCSV_R_KIND] = "kind",
    [RCSV_R_QUANTITY] = "quantity",
    [RCSV_R_WRITE_OFF] = "write-off",
    [RCSV_R_CANCEL_SIGN] = "cancel-sign",
    [RCSV_R_PRICE] = "price",
    [RCSV_R_CURRENCY] = "currency",
    [RCSV_R_CONFLICT] = "conflict",
    [RCSV_R_ZERO_SALES] = "zero-sales",
    [RCSV_R_ORDER_INVALID] = "order-invalid",
};

const char *rcsv_reason_name(rcsv_reason_t r) {
    return r >= 0 && r < RCSV_R_COUNT ? reason_names[r] : "unknown";
}

int rcsv_format_parse(const char *s, rcsv_format_t *out, ss_err_t *err) {
    if (!strcmp(s, "native"))
        *out = RCSV_NATIVE;
    else if (!strcmp(s, "online-retail"))
        *out = RCSV_ONLINE_RETAIL;
    else if (!strcmp(s, "store-item"))
        *out = RCSV_STORE_ITEM;
    else
        return ss_err_set(err, SS_ERR_INVAL,
                          "unknown format '%s': expected native, online-retail or store-item", s);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Time
 * ------------------------------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int days_in_month(int y, int m) {
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

int rcsv_parse_time(const char *s, int64_t *ms, ss_err_t *err) {
    size_t n = strlen(s);
    if (n == 0)
        return ss_err_set(err, SS_ERR_INVAL, "empty time");
    if (n >= 5 && s[4] != '-') {
        /* epoch milliseconds */
        char *end;
        long long v = strtoll(s, &end, 10);
        if (*end || end == s)
            return ss_err_set(err, SS_ERR_INVAL, "invalid time '%s'", s);
        *ms = v;
        return 0;
    }
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
    if (n < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d))
        goto bad;
    const char *p = s + 10;
    if (*p == 'T' || *p == ' ') {
        if (digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &mi))
            goto bad;
        p += 6;
        if (*p == ':') {
            if (digits(p + 1, 2, &sec))
                goto bad;
            p += 3;
            if (*p == '.') {
                int nd = 0;
                p++;
                while (*p >= '0' && *p <= '9') {
                    if (nd < 3)
                        frac = frac * 10 + (*p - '0');
                    nd++;
                    p++;
                }
                if (nd == 0)
                    goto bad;
                for (; nd < 3; nd++)
                    frac *= 10;
            }
        }
        if (*p == 'Z')
            p++;
        else if (!strcmp(p, "+00:00"))
            p += 6;
    }
    if (*p)
        goto bad;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
        goto bad;
    *ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + frac;
    return 0;
bad:
    return ss_err_set(err, SS_ERR_INVAL, "invalid time '%s'", s);
}

void rcsv_format_time(int64_t ms, char *out, size_t size) {
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rem = ms - days * 86400000;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, (int)(rem / 3600000),
             (int)(rem / 60000 % 60), (int)(rem / 1000 % 60), (int)(rem % 1000));
}

/* ---------------------------------------------------------------------------------------------
 * Strings
 * ------------------------------------------------------------------------------------------- */

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static const char *str_of(const rcsv_t *r, uint32_t id) { return r->arena + r->strs[id].off; }

static void table_insert(rcsv_t *r, uint32_t id) {
    size_t mask = r->tcap - 1;
    size_t i = r->strs[id].hash & mask;
    while (r->table[i] != NONE)
        i = (i + 1) & mask;
    r->table[i] = id;
}

/* Returns the id of s (interning a copy when new). */
static uint32_t intern(rcsv_t *r, const char *s) {
    size_t n = strlen(s);
    uint32_t h = hash_bytes(s, n);
    if (r->tcap == 0 || (r->nstrs + 1) * 2 > r->tcap) {
        size_t ncap = r->tcap ? r->tcap * 2 : 1024;
        free(r->table);
        r->table = ss_xmalloc(ncap * sizeof(*r->table));
        memset(r->table, 0xff, ncap * sizeof(*r->table));
        r->tcap = ncap;
        for (size_t i = 0; i < r->nstrs; i++)
            table_insert(r, (uint32_t)i);
    }
    size_t mask = r->tcap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t id = r->table[i];
        if (id == NONE)
            break;
        if (r->strs[id].hash == h && r->strs[id].len == n && !memcmp(str_of(r, id), s, n))
            return id;
    }
    if (r->alen + n + 1 > r->acap) {
        r->acap = (r->alen + n + 1) * 2;
        r->arena = ss_xrealloc(r->arena, r->acap);
    }
    SS_ASSERT(r->alen + n + 1 < UINT32_MAX);
    memcpy(r->arena + r->alen, s, n + 1);
    if (r->nstrs == r->capstrs) {
        r->capstrs = r->capstrs ? r->capstrs * 2 : 1024;
        r->strs = ss_xrealloc(r->strs, r->capstrs * sizeof(*r->strs));
    }
    uint32_t id = (uint32_t)r->nstrs++;
    r->strs[id] = (rc_str_t){(uint32_t)r->alen, (uint32_t)n, h, NONE};
    r->alen += n + 1;
    table_insert(r, id);
    return id;
}

/* ---------------------------------------------------------------------------------------------
 * Rows
 * ------------------------------------------------------------------------------------------- */

static void reject(rcsv_t *r, uint64_t line, rcsv_reason_t reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void reject(rcsv_t *r, uint64_t line, rcsv_reason_t reason, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->stats.by_reason[reason]++;
    r->stats.rows_rejected++;
    if (r->opts.on_reject) {
        rcsv_reject_t rej = {line, reason, msg};
        r->opts.on_reject(&rej, r->opts.opaque);
    }
}

/* An id usable in an event: 1..SS_ID_MAX bytes of printable UTF-8. */
static int id_ok(const char *s) {
    size_t n = strlen(s);
    return n > 0 && n <= SS_ID_MAX && ss_utf8_valid(s, n);
}

static int parse_i64(const char *s, int64_t *out) {
    if (!*s)
        return -1;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static int parse_price(const char *s, double *out) {
    if (!*s)
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Common price checks; returns 0 or rejects. */
static int check_price(rcsv_t *r, const char *s, double *price) {
    if (parse_price(s, price)) {
        reject(r, r->rec_line, RCSV_R_PRICE, "invalid unit price '%s'", s);
        return -1;
    }
    if (*price < 0 || *price > MAX_PRICE) {
        reject(r, r->rec_line, RCSV_R_PRICE, "unit price %s out of range 0..%g", s, MAX_PRICE);
        return -1;
    }
    return 0;
}

static int check_time(rcsv_t *r, const char *s, int64_t *ms) {
    ss_err_t e = SS_ERR_INIT;
    if (rcsv_parse_time(s, ms, &e)) {
        reject(r, r->rec_line, RCSV_R_TIME, "%s", e.msg);
        return -1;
    }
    if (*ms < MIN_TIME_MS || *ms >= MAX_TIME_MS) {
        reject(r, r->rec_line, RCSV_R_TIME, "time '%s' outside 2000-01-01..2100-01-01", s);
        return -1;
    }
    return 0;
}

static void add_row(rcsv_t *r, const rc_row_t *row) {
    uint32_t oid = intern(r, row->order_id);
    uint32_t cust = row->customer ? intern(r, row->customer) : NONE;
    uint32_t store = intern(r, row->store);
    uint32_t cur = intern(r, row->currency);
    uint32_t prod = intern(r, row->product);
    uint32_t o = r->strs[oid].order;
    if (o != NONE) {
        const rc_order_t *ord = &r->orders[o];
        const char *what = NULL;
        if (!row->allow_merge)
            what = "order id";
        else if (ord->cust != cust)
            what = "customer id";
        else if (ord->store != store)
            what = "store id";
        else if (ord->kind != row->kind)
            what = "kind";
        else if (ord->currency != cur)
            what = "currency";
        else if (!row->time_may_vary && ord->time_ms != row->time_ms)
            what = "event time";
        if (what) {
            if (!row->allow_merge)
                reject(r, r->rec_line, RCSV_R_CONFLICT, "duplicate row for order '%s' (line %llu)",
                       row->order_id, (unsigned long long)ord->line_no);
            else
                reject(r, r->rec_line, RCSV_R_CONFLICT,
                       "%s differs from the first row of order '%s' (line %llu)", what,
                       row->order_id, (unsigned long long)ord->line_no);
            return;
        }
    } else {
        if (r->norders == r->caporders) {
            r->caporders = r->caporders ? r->caporders * 2 : 1024;
            r->orders = ss_xrealloc(r->orders, r->caporders * sizeof(*r->orders));
        }
        o = (uint32_t)r->norders++;
        r->orders[o] = (rc_order_t){row->time_ms,       oid, cust, store, cur, 0, 0, r->rec_line,
                                    (uint8_t)row->kind, 0};
        r->strs[oid].order = o;
    }
    if (r->nlines == r->caplines) {
        r->caplines = r->caplines ? r->caplines * 2 : 4096;
        r->lines = ss_xrealloc(r->lines, r->caplines * sizeof(*r->lines));
    }
    r->lines[r->nlines++] = (rc_line_t){o, prod, row->qty, (uint32_t)r->rec_line, row->price};
    r->orders[o].n_lines++;
}

#define F(i) (r->fbuf + r->foff[i])

static void row_native(rcsv_t *r) {
    if (r->nfields != 9) {
        reject(r, r->rec_line, RCSV_R_FIELDS, "expected 9 fields, got %zu", r->nfields);
        return;
    }
    rc_row_t row = {.allow_merge = 1};
    row.order_id = F(0);
    if (!id_ok(row.order_id)) {
        reject(r, r->rec_line, RCSV_R_ORDER_ID, "invalid order id '%s'", row.order_id);
        return;
    }
    row.customer = *F(1) ? F(1) : NULL;
    if (row.customer && !id_ok(row.customer)) {
        reject(r, r->rec_line, RCSV_R_CUSTOMER, "invalid customer id '%s'", F(1));
        return;
    }
    row.store = F(2);
    if (!id_ok(row.store)) {
        reject(r, r->rec_line, RCSV_R_STORE, "invalid store id '%s'", row.store);
        return;
    }
    if (check_time(r, F(3), &row.time_ms))
        return;
    if (!strcmp(F(4), "purchase") || !strcmp(F(4), "PURCHASE"))
        row.kind = SS_TXN_PURCHASE;
    else if (!strcmp(F(4), "return") || !strcmp(F(4), "RETURN"))
        row.kind = SS_TXN_RETURN;
    else {
        reject(r, r->rec_line, RCSV_R_KIND, "unknown kind '%s': expected purchase or return", F(4));
        return;
    }
    row.product = F(5);
    if (!id_ok(row.product)) {
        reject(r, r->rec_line, RCSV_R_PRODUCT, "invalid product id '%s'", row.product);
        return;
    }
    int64_t q;
    if (parse_i64(F(6), &q)) {
        reject(r, r->rec_line, RCSV_R_QUANTITY, "invalid quantity '%s'", F(6));
        return;
    }
    if (q < 1 || q > MAX_QTY) {
        reject(r, r->rec_line, RCSV_R_QUANTITY, "quantity %lld out of range 1..%d", (long long)q,
               MAX_QTY);
        return;
    }
    row.qty = (int32_t)q;
    if (check_price(r, F(7), &row.price))
        return;
    row.currency = F(8);
    size_t cl = strlen(row.currency);
    if (cl != 3 || !id_ok(row.currency)) {
        reject(r, r->rec_line, RCSV_R_CURRENCY, "invalid currency '%s'", row.currency);
        return;
    }
    add_row(r, &row);
}

static void row_online_retail(rcsv_t *r) {
    if (r->nfields != 8) {
        reject(r, r->rec_line, RCSV_R_FIELDS, "expected 8 fields, got %zu", r->nfields);
        return;
    }
    rc_row_t row = {.allow_merge = 1, .time_may_vary = 1, .currency = "GBP"};
    const char *inv = F(0);
    row.order_id = inv;
    if (!id_ok(inv)) {
        reject(r, r->rec_line, RCSV_R_ORDER_ID, "invalid InvoiceNo '%s'", inv);
        return;
    }
    if (inv[0] == 'A') {
        reject(r, r->rec_line, RCSV_R_ADJUSTMENT,
               "invoice '%s' is a bad-debt adjustment, not a sale", inv);
        return;
    }
    int cancel = inv[0] == 'C';
    row.kind = cancel ? SS_TXN_RETURN : SS_TXN_PURCHASE;
    int64_t q;
    if (parse_i64(F(3), &q)) {
        reject(r, r->rec_line, RCSV_R_QUANTITY, "invalid Quantity '%s'", F(3));
        return;
    }
    if (cancel && q >= 0) {
        reject(r, r->rec_line, RCSV_R_CANCEL_SIGN,
               "quantity %lld >= 0 on cancellation invoice '%s'", (long long)q, inv);
        return;
    }
    if (!cancel && q <= 0) {
        reject(r, r->rec_line, RCSV_R_WRITE_OFF,
               "quantity %lld <= 0 on purchase invoice '%s' (stock write-off)", (long long)q, inv);
        return;
    }
    if (cancel)
        q = -q;
    if (q > MAX_QTY) {
        reject(r, r->rec_line, RCSV_R_QUANTITY, "quantity %lld out of range 1..%d", (long long)q,
               MAX_QTY);
        return;
    }
    row.qty = (int32_t)q;
    if (check_price(r, F(5), &row.price))
        return;
    if (check_time(r, F(4), &row.time_ms))
        return;
    row.product = F(1);
    if (!id_ok(row.product)) {
        reject(r, r->rec_line, RCSV_R_PRODUCT, "invalid StockCode '%s'", row.product);
        return;
    }
    /* CustomerID is written as a float by Spark ("17850.0"): keep the integer digits. */
    char *cust = F(6);
    if (*cust) {
        size_t n = strlen(cust);
        size_t nd = n > 2 && !strcmp(cust + n - 2, ".0") ? n - 2 : n;
        int ok = nd > 0 && nd <= SS_ID_MAX;
        for (size_t i = 0; ok && i < nd; i++)
            ok = cust[i] >= '0' && cust[i] <= '9';
        if (!ok) {
            reject(r, r->rec_line, RCSV_R_CUSTOMER, "invalid CustomerID '%s'", cust);
            return;
        }
        cust[nd] = '\0';
        row.customer = cust;
    }
    row.store = F(7);
    if (!id_ok(row.store)) {
        reject(r, r->rec_line, RCSV_R_STORE, "invalid Country '%s'", row.store);
        return;
    }
    add_row(r, &row);
}

static int parse_pos_int(const char *s, int64_t *v) { return parse_i64(s, v) || *v < 1 ? -1 : 0; }

static void row_store_item(rcsv_t *r) {
    if (r->nfields != 4) {
        reject(r, r->rec_line, RCSV_R_FIELDS, "expected 4 fields, got %zu", r->nfields);
        return;
    }
    int64_t day_ms, store, item, sales;
    const char *date = F(0);
    if (strlen(date) != 10 || check_time(r, date, &day_ms)) {
        if (strlen(date) != 10)
            reject(r, r->rec_line, RCSV_R_TIME, "invalid date '%s': expected YYYY-MM-DD", date);
        return;
    }
    if (parse_pos_int(F(1), &store) || store > 1000000000) {
        reject(r, r->rec_line, RCSV_R_STORE, "invalid store '%s'", F(1));
        return;
    }
    if (parse_pos_int(F(2), &item) || item > 1000000000) {
        reject(r, r->rec_line, RCSV_R_PRODUCT, "invalid item '%s'", F(2));
        return;
    }
    if (parse_i64(F(3), &sales) || sales < 0 || sales > MAX_QTY) {
        reject(r, r->rec_line, RCSV_R_QUANTITY, "invalid sales '%s'", F(3));
        return;
    }
    if (sales == 0) {
        reject(r, r->rec_line, RCSV_R_ZERO_SALES,
               "sales 0 for store %lld item %lld on %s: nothing sold, no event", (long long)store,
               (long long)item, date);
        return;
    }
    char oid[64], sid[24], pid[24];
    snprintf(oid, sizeof(oid), "si-%.10s-%lld-%lld", date, (long long)store, (long long)item);
    snprintf(sid, sizeof(sid), "%lld", (long long)store);
    snprintf(pid, sizeof(pid), "%lld", (long long)item);
    rc_row_t row = {.order_id = oid,
                    .store = sid,
                    .product = pid,
                    .currency = r->currency_def,
                    .time_ms = day_ms,
                    .kind = SS_TXN_PURCHASE,
                    .qty = (int32_t)sales,
                    .price = r->opts.item_price};
    add_row(r, &row);
}

static const char *const header_online_retail[] = {"InvoiceNo",  "StockCode",   "Description",
                                                   "Quantity",   "InvoiceDate", "UnitPrice",
                                                   "CustomerID", "Country"};
static const char *const header_store_item[] = {"date", "store", "item", "sales"};

static int check_header(rcsv_t *r, const char *const *names, size_t n) {
    int ok = r->nfields == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = !strcmp(F(i), names[i]);
    if (ok)
        return 0;
    char want[256] = "";
    for (size_t i = 0; i < n; i++) {
        strncat(want, names[i], sizeof(want) - strlen(want) - 1);
        if (i + 1 < n)
            strncat(want, ",", sizeof(want) - strlen(want) - 1);
    }
    return ss_err_set(&r->sticky, SS_ERR_INVAL,
                      "unexpected header on line %llu for format %s: expected '%s'",
                      (unsigned long long)r->rec_line,
                      r->opts.format == RCSV_ONLINE_RETAIL ? "online-retail" : "store-item", want);
}

/* libcsv callbacks: a field ends (copied into fbuf), a record ends. */
static void on_field(void *s, size_t len, void *data) {
    rcsv_t *r = data;
    if (r->nfields == 0)
        r->rec_line = r->cur_line;
    if (r->nfields < MAX_FIELDS) {
        if (r->flen + len + 1 > r->fcap) {
            r->fcap = (r->flen + len + 1) * 2;
            r->fbuf = ss_xrealloc(r->fbuf, r->fcap);
        }
        r->foff[r->nfields] = r->flen;
        if (len)
            memcpy(r->fbuf + r->flen, s, len);
        r->fbuf[r->flen + len] = '\0';
        r->flen += len + 1;
    }
    r->nfields++;
}

static void on_record(int c, void *data) {
    (void)c;
    rcsv_t *r = data;
    if (r->sticky.code)
        goto out;
    if (r->nfields == 0)
        goto out; /* libcsv reports no field for a record only in REPALL_NL mode */
    if (r->records++ == 0) {
        if (r->opts.format == RCSV_ONLINE_RETAIL) {
            check_header(r, header_online_retail, 8);
            goto out;
        }
        if (r->opts.format == RCSV_STORE_ITEM) {
            check_header(r, header_store_item, 4);
            goto out;
        }
        if (!strcmp(F(0), "order_id"))
            goto out; /* optional native header */
    }
    r->stats.rows_read++;
    switch (r->opts.format) {
    case RCSV_NATIVE:
        row_native(r);
        break;
    case RCSV_ONLINE_RETAIL:
        row_online_retail(r);
        break;
    case RCSV_STORE_ITEM:
        row_store_item(r);
        break;
    }
out:
    r->nfields = 0;
    r->flen = 0;
}

rcsv_t *rcsv_new(const rcsv_opts_t *opts) {
    rcsv_t *r = ss_xcalloc(1, sizeof(*r));
    if (opts)
        r->opts = *opts;
    if (r->opts.item_price == 0)
        r->opts.item_price = 1.0;
    snprintf(r->currency_def, sizeof(r->currency_def), "%s",
             r->opts.currency && *r->opts.currency ? r->opts.currency : "USD");
    r->opts.currency = NULL; /* borrowed pointer not kept */
    r->csv_ok = csv_init(&r->csv, CSV_APPEND_NULL) == 0;
    SS_ASSERT(r->csv_ok);
    r->cur_line = 1;
    r->at_line_start = 1;
    return r;
}

void rcsv_destroy(rcsv_t *r) {
    if (!r)
        return;
    if (r->csv_ok)
        csv_free(&r->csv);
    free(r->fbuf);
    free(r->arena);
    free(r->strs);
    free(r->table);
    free(r->orders);
    free(r->lines);
    free(r->sorted);
    free(r);
}

static int feed_csv(rcsv_t *r, const char *p, size_t n) {
    if (csv_parse(&r->csv, p, n, on_field, on_record, r) != n)
        return ss_err_set(&r->sticky, SS_ERR_INVAL, "csv parse error near line %llu: %s",
                          (unsigned long long)r->cur_line, csv_strerror(csv_error(&r->csv)));
    return 0;
}

static const char bom[3] = {'\xEF', '\xBB', '\xBF'};

/* Feeds physical lines to libcsv, one csv_parse call per line so callbacks see cur_line. */
static void feed_lines(rcsv_t *r, const char *p, size_t n) {
    while (n > 0 && !r->sticky.code) {
        const char *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) + 1 : n;
        r->at_line_start = 0;
        if (feed_csv(r, p, k))
            break;
        if (nl) {
            r->cur_line++;
            r->at_line_start = 1;
        }
        p += k;
        n -= k;
    }
}

/* Decides about a leading byte order mark, which may arrive split over several feeds: matching
 * bytes are held back until three match (dropped) or one differs (fed as data). */
static void check_bom(rcsv_t *r, const char **p, size_t *n, int at_end) {
    while (!r->bom_done && *n > 0) {
        if (**p != bom[r->bom_held]) {
            r->bom_done = 1;
            feed_lines(r, bom, r->bom_held);
            return;
        }
        r->bom_held++;
        (*p)++;
        (*n)--;
        if (r->bom_held == 3)
            r->bom_done = 1; /* a complete BOM: dropped */
    }
    if (!r->bom_done && at_end) {
        r->bom_done = 1;
        feed_lines(r, bom, r->bom_held);
    }
}

int rcsv_feed(rcsv_t *r, const void *buf, size_t n, ss_err_t *err) {
    SS_ASSERT(!r->finished);
    const char *p = buf;
    if (!r->sticky.code)
        check_bom(r, &p, &n, 0);
    feed_lines(r, p, n);
    if (r->sticky.code) {
        if (err)
            *err = r->sticky;
        return r->sticky.code;
    }
    return 0;
}

static void fill_txn(const rcsv_t *r, const rc_order_t *ord, ss_txn_t *t) {
    ss_txn_clear(t);
    snprintf(t->order_id, sizeof(t->order_id), "%s", str_of(r, ord->id));
    t->has_customer = ord->cust != NONE;
    snprintf(t->customer_id, sizeof(t->customer_id), "%s",
             t->has_customer ? str_of(r, ord->cust) : "");
    snprintf(t->store_id, sizeof(t->store_id), "%s", str_of(r, ord->store));
    snprintf(t->currency, sizeof(t->currency), "%s", str_of(r, ord->currency));
    t->event_time_ms = ord->time_ms;
    t->kind = (ss_txn_kind_t)ord->kind;
    for (uint32_t k = 0; k < ord->n_lines; k++) {
        const rc_line_t *ln = &r->lines[ord->first + k];
        ss_txn_line_t *tl = ss_txn_add_line(t);
        snprintf(tl->product_id, sizeof(tl->product_id), "%s", str_of(r, ln->product));
        tl->quantity = ln->qty;
        tl->unit_price = ln->price;
    }
}

static int cmp_sorted(const void *a, const void *b) {
    const rc_sorted_t *x = a, *y = b;
    if (x->time_ms != y->time_ms)
        return x->time_ms < y->time_ms ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

int rcsv_finish(rcsv_t *r, ss_err_t *err) {
    SS_ASSERT(!r->finished);
    r->finished = 1;
    if (!r->sticky.code) {
        const char *none = "";
        size_t zero = 0;
        check_bom(r, &none, &zero, 1);
    }
    if (!r->sticky.code && csv_fini(&r->csv, on_field, on_record, r) != 0)
        ss_err_set(&r->sticky, SS_ERR_INVAL, "csv parse error at end of input: %s",
                   csv_strerror(csv_error(&r->csv)));
    if (r->sticky.code) {
        if (err)
            *err = r->sticky;
        return r->sticky.code;
    }
    /* Group lines by order (counting sort; stable, so lines stay in input order). */
    uint32_t pos = 0;
    for (size_t o = 0; o < r->norders; o++) {
        r->orders[o].first = pos;
        pos += r->orders[o].n_lines;
    }
    rc_line_t *grouped = ss_xmalloc((r->nlines ? r->nlines : 1) * sizeof(*grouped));
    uint32_t *fill = ss_xcalloc(r->norders ? r->norders : 1, sizeof(*fill));
    for (size_t i = 0; i < r->nlines; i++) {
        uint32_t o = r->lines[i].order;
        grouped[r->orders[o].first + fill[o]++] = r->lines[i];
    }
    free(fill);
    free(r->lines);
    r->lines = grouped;
    r->caplines = r->nlines;

    r->sorted = ss_xmalloc((r->norders ? r->norders : 1) * sizeof(*r->sorted));
    ss_txn_t t = SS_TXN_INIT;
    for (size_t o = 0; o < r->norders; o++) {
        rc_order_t *ord = &r->orders[o];
        ss_err_t e = SS_ERR_INIT;
        fill_txn(r, ord, &t);
        if (ss_txn_validate(&t, NULL, &e)) {
            ord->dead = 1;
            for (uint32_t i = 0; i < ord->n_lines; i++)
                reject(r, r->lines[ord->first + i].line_no, RCSV_R_ORDER_INVALID,
                       "order '%s' invalid: %s", t.order_id, e.msg);
        }
    }
    ss_txn_release(&t);
    r->nsorted = 0;
    for (size_t o = 0; o < r->norders; o++) {
        const rc_order_t *ord = &r->orders[o];
        if (ord->dead)
            continue;
        r->sorted[r->nsorted++] = (rc_sorted_t){ord->time_ms, (uint32_t)o};
        r->stats.rows_in_orders += ord->n_lines;
        r->stats.orders++;
        if (ord->kind == SS_TXN_RETURN)
            r->stats.returns++;
        else
            r->stats.purchases++;
        if (ord->cust == NONE)
            r->stats.anonymous++;
    }
    qsort(r->sorted, r->nsorted, sizeof(*r->sorted), cmp_sorted);
    return 0;
}

size_t rcsv_count(const rcsv_t *r) { return r->finished ? r->nsorted : 0; }

void rcsv_get(const rcsv_t *r, size_t i, ss_txn_t *t) {
    SS_ASSERT(i < r->nsorted);
    fill_txn(r, &r->orders[r->sorted[i].order], t);
}

uint64_t rcsv_line(const rcsv_t *r, size_t i) {
    SS_ASSERT(i < r->nsorted);
    return r->orders[r->sorted[i].order].line_no;
}

const rcsv_stats_t *rcsv_stats(const rcsv_t *r) { return &r->stats; }
