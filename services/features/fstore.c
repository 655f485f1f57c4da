/* fstore: packs a micro-batch into one EVALSHA of features.lua, parses the per-order results, and
 * reads the store back for dump. The script text comes from the generated features_lua.c. */
#include "fstore.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crec.h"
#include "flocal.h"
#include "ss_buf.h"
#include "ss_demand.h"
#include "ss_log.h"

extern const char fstore_lua_source[]; /* generated from features.lua at build time */

const char *fstore_script_source(void) { return fstore_lua_source; }

struct fstore {
    ss_redis_t *r; /* borrowed */
    int script;
    char *prefix;
    size_t prefix_len;
    fstore_opts_t opts;
    /* packing scratch, reused across batches */
    ss_buf_t data;
    size_t *off, *len;
    size_t n_args, cap_args;
    const char **argv;
    size_t argv_cap;
    size_t *idx; /* line order scratch */
    size_t idx_cap;
    /* day cache: last day index (local days since epoch) and its text */
    int64_t day_idx;
    char day_txt[11];
    int day_valid;
    /* local mode */
    fstore_mode_t mode;
    flocal_t *loc;
    int wscript;
    size_t cache_max;
    ss_buf_t k1, k2;
    char **lkeys; /* pipelined read scratch: what each reply is for */
    int *lkind;
    size_t lcap;
    /* partition epochs (fences) held by this writer */
    char *fence_topic;
    int32_t *ep_part;
    int64_t *ep_val;
    size_t n_ep, cap_ep;
    int32_t *bparts; /* the batch's distinct partitions */
    size_t n_bparts, cap_bparts;
    char **fkeys; /* the batch's fence keys and epochs */
    int64_t *fep;
    size_t cap_fk;
    /* pipelining: a staged plan (data, staged_args) and the one sent (sent, sent_args) */
    int staged, in_flight;
    size_t n_prefetch; /* load replies fstore_stage still has to read */
    size_t staged_args, sent_args;
    ss_buf_t sent;
    /* writes as transactions (see fstore_send): the plan's argument offsets, the MULTI body */
    int tx; /* local mode with opts.anon_owned */
    size_t *aoff, *alen, acap;
    ss_buf_t txbody;
    size_t tx_cmds; /* commands queued in the transaction in flight */
    /* the batch fstore_prefetch loaded (with the cache generation then): fstore_stage of the
     * same batch has nothing left to read or check */
    const ss_txn_t *const *pf_txns;
    size_t pf_n;
    uint64_t pf_gen;
};

fstore_t *fstore_new(ss_redis_t *r, const fstore_opts_t *opts) {
    fstore_opts_t zero = {0};
    if (!opts)
        opts = &zero;
    fstore_t *fs = ss_xcalloc(1, sizeof(*fs));
    fs->r = r;
    fs->opts = *opts;
    fs->prefix = ss_xstrdup(opts->prefix && *opts->prefix ? opts->prefix : "ss:");
    fs->prefix_len = strlen(fs->prefix);
    fs->opts.prefix = fs->prefix;
    ss_buf_init(&fs->data, 0);
    ss_buf_init(&fs->sent, 0);
    fs->fence_topic =
        ss_xstrdup(opts->fence_topic && *opts->fence_topic ? opts->fence_topic : "transactions");
    ss_err_t err = SS_ERR_INIT;
    /* Loaded now if r is connected, else at its next connect; errors show up then. */
    fs->mode = opts->mode;
    if (fs->mode == FSTORE_MODE_DEFAULT) {
        const char *e = getenv("SS_FSTORE_STATE_MODE");
        fs->mode = e && strcmp(e, "local") == 0 ? FSTORE_MODE_LOCAL : FSTORE_MODE_SCRIPT;
    }
    ss_buf_init(&fs->k1, 0);
    ss_buf_init(&fs->k2, 0);
    if (fs->mode == FSTORE_MODE_LOCAL) {
        fs->cache_max = opts->cache_max_customers ? opts->cache_max_customers : 1000000;
        fs->loc = flocal_new(fs->prefix, opts->lateness_ms, opts->tz_offset_min,
                             opts->customer_ttl_ms, opts->demand_ttl_ms);
        fs->wscript = ss_redis_script_add(r, flocal_write_script_source(), &err);
        fs->tx = opts->anon_owned != 0;
        ss_buf_init(&fs->txbody, 0);
    } else {
        fs->script =
            ss_redis_script_add(r, opts->script_src ? opts->script_src : fstore_lua_source, &err);
    }
    return fs;
}

void fstore_destroy(fstore_t *fs) {
    if (!fs)
        return;
    ss_buf_release(&fs->data);
    free(fs->off);
    free(fs->len);
    free(fs->argv);
    free(fs->idx);
    free(fs->prefix);
    flocal_destroy(fs->loc);
    ss_buf_release(&fs->k1);
    ss_buf_release(&fs->k2);
    for (size_t i = 0; i < fs->lcap; i++)
        free(fs->lkeys[i]);
    free(fs->lkeys);
    free(fs->lkind);
    ss_buf_release(&fs->sent);
    ss_buf_release(&fs->txbody);
    free(fs->aoff);
    free(fs->alen);
    free(fs->fence_topic);
    free(fs->ep_part);
    free(fs->ep_val);
    free(fs->bparts);
    for (size_t i = 0; i < fs->cap_fk; i++)
        free(fs->fkeys[i]);
    free(fs->fkeys);
    free(fs->fep);
    free(fs);
}

/* ---------------------------------------------------------------- pure helpers */

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static void day_text(int64_t day_idx, char day[11]) {
    time_t secs = (time_t)(day_idx * 86400);
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) {
        memcpy(day, "0000-00-00", 11);
        return;
    }
    char tmp[48];
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    memcpy(day, tmp, 10);
    day[10] = '\0';
}

void fstore_day(int64_t t_ms, int tz_offset_min, char day[11], int64_t *day_end_ms) {
    int64_t off = (int64_t)tz_offset_min * 60000;
    int64_t idx = floor_div(t_ms + off, RFM_DAY_MS);
    day_text(idx, day);
    *day_end_ms = (idx + 1) * RFM_DAY_MS - off;
}

static int parse_i64(const char *s, int64_t *out) {
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || end == s || (*end && *end != '|'))
        return -1;
    *out = (int64_t)d;
    return 0;
}

static int parse_dbl(const char *s, double *out) {
    char *end = NULL;
    errno = 0;
    *out = strtod(s, &end);
    if (end == s || (*end && *end != '|'))
        return -1;
    return 0;
}

int fstore_parse_result(const char *s, size_t len, int64_t event_time_ms, fstore_result_t *res,
                        ss_err_t *err) {
    memset(res, 0, sizeof(*res));
    char buf[512];
    if (len == 0 || len >= sizeof(buf))
        return ss_err_set(err, SS_ERR_INVAL, "bad script result of %zu bytes", len);
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strcmp(buf, "C") == 0) {
        res->status = FSTORE_CONFLICT;
        return 0;
    }
    char *p = buf + 1;
    if (buf[0] == 'D') {
        res->status = FSTORE_DUPLICATE;
    } else if (buf[0] == 'A') {
        res->status = FSTORE_APPLIED;
        if (*p == 'L') {
            res->late = 1;
            p++;
        }
    } else {
        return ss_err_set(err, SS_ERR_INVAL, "bad script result '%s'", buf);
    }
    if (*p == '\0')
        return 0;
    if (*p != '|')
        return ss_err_set(err, SS_ERR_INVAL, "bad script result '%s'", buf);
    const char *f[10];
    int nf = 0;
    for (char *q = p; *q && nf < 10; q++)
        if (*q == '|')
            f[nf++] = q + 1;
    int64_t r30 = 0;
    rfm_agg_t *a = &res->agg;
    if (nf != 9 || parse_i64(f[0], &a->n) || parse_dbl(f[1], &a->sum) ||
        parse_dbl(f[2], &a->mean) || parse_dbl(f[3], &a->m2) || parse_i64(f[4], &a->first_ms) ||
        parse_i64(f[5], &a->last_ms) || parse_i64(f[6], &a->ret_n) ||
        parse_dbl(f[7], &a->ret_amount) || parse_i64(f[8], &r30))
        return ss_err_set(err, SS_ERR_INVAL, "bad script result '%s'", buf);
    res->has_features = 1;
    int64_t as_of = event_time_ms;
    if (a->n > 0 && a->last_ms > as_of)
        as_of = a->last_ms;
    rfm_compute(a, r30, as_of, &res->feat);
    return 0;
}

/* ---------------------------------------------------------------- packing */

static void arg_begin(fstore_t *fs) {
    if (fs->n_args == fs->cap_args) {
        fs->cap_args = fs->cap_args ? fs->cap_args * 2 : 1024;
        fs->off = ss_xrealloc(fs->off, fs->cap_args * sizeof(*fs->off));
        fs->len = ss_xrealloc(fs->len, fs->cap_args * sizeof(*fs->len));
    }
    fs->off[fs->n_args] = fs->data.len;
}

static void arg_end(fstore_t *fs) {
    fs->len[fs->n_args] = fs->data.len - fs->off[fs->n_args];
    fs->n_args++;
}

static void arg_str(fstore_t *fs, const char *s) {
    arg_begin(fs);
    ss_buf_adds(&fs->data, s);
    arg_end(fs);
}

static void arg_i64(fstore_t *fs, int64_t x) {
    arg_begin(fs);
    ss_buf_addf(&fs->data, "%" PRId64, x);
    arg_end(fs);
}

static const ss_txn_line_t *sort_lines_base;
static int cmp_line(const void *a, const void *b) {
    const ss_txn_line_t *x = &sort_lines_base[*(const size_t *)a];
    const ss_txn_line_t *y = &sort_lines_base[*(const size_t *)b];
    return strcmp(x->product_id, y->product_id);
}

/* Appends one order: 10 header args, then distinct (product, summed quantity) pairs. */
static void pack_order(fstore_t *fs, const ss_txn_t *t) {
    char day[11];
    int64_t day_end;
    int64_t off = (int64_t)fs->opts.tz_offset_min * 60000;
    int64_t idx = floor_div(t->event_time_ms + off, RFM_DAY_MS);
    if (!fs->day_valid || idx != fs->day_idx) {
        day_text(idx, fs->day_txt);
        fs->day_idx = idx;
        fs->day_valid = 1;
    }
    memcpy(day, fs->day_txt, sizeof(day));
    day_end = (idx + 1) * RFM_DAY_MS - off;

    arg_begin(fs);
    ss_buf_adds(&fs->data, "o:");
    ss_buf_adds(&fs->data, t->order_id);
    arg_end(fs);
    arg_begin(fs);
    if (t->has_customer)
        ss_buf_addf(&fs->data, "%sc:{%s}", fs->prefix, t->customer_id);
    arg_end(fs);
    arg_begin(fs);
    ss_buf_addf(&fs->data, "%sdm:{%s:%s}", fs->prefix, t->store_id, day);
    arg_end(fs);
    arg_str(fs, t->store_id);
    arg_i64(fs, day_end);
    arg_i64(fs, t->event_time_ms);
    arg_str(fs, t->kind == SS_TXN_RETURN ? "R" : "P");
    arg_begin(fs);
    ss_buf_addf(&fs->data, "%016" PRIx64, ss_txn_fingerprint(t));
    arg_end(fs);
    arg_begin(fs);
    ss_buf_addf(&fs->data, "%.17g", ss_txn_amount(t));
    arg_end(fs);

    size_t nl = t->n_lines;
    if (nl > fs->idx_cap) {
        fs->idx_cap = nl * 2;
        fs->idx = ss_xrealloc(fs->idx, fs->idx_cap * sizeof(*fs->idx));
    }
    for (size_t i = 0; i < nl; i++)
        fs->idx[i] = i;
    if (nl > 1) {
        sort_lines_base = t->lines;
        qsort(fs->idx, nl, sizeof(*fs->idx), cmp_line);
        sort_lines_base = NULL;
    }
    size_t n_distinct = 0;
    for (size_t i = 0; i < nl; i++)
        if (i == 0 || strcmp(t->lines[fs->idx[i]].product_id, t->lines[fs->idx[i - 1]].product_id))
            n_distinct++;
    arg_i64(fs, (int64_t)n_distinct);
    for (size_t i = 0; i < nl;) {
        const char *pid = t->lines[fs->idx[i]].product_id;
        int64_t q = 0;
        size_t j = i;
        while (j < nl && strcmp(t->lines[fs->idx[j]].product_id, pid) == 0)
            q += t->lines[fs->idx[j++]].quantity;
        arg_begin(fs);
        ss_buf_adds(&fs->data, "p:");
        ss_buf_adds(&fs->data, pid);
        arg_end(fs);
        arg_i64(fs, q);
        i = j;
    }
}

void fstore_invalidate(fstore_t *fs) {
    if (fs->loc)
        flocal_clear(fs->loc);
    fs->n_ep = 0;
    fs->staged = 0;       /* computed from the dropped cache */
    if (fs->n_prefetch) { /* their replies are unread: start over on a new connection */
        fs->n_prefetch = 0;
        ss_redis_disconnect(fs->r);
    }
}

fstore_mode_t fstore_mode(const fstore_t *fs) { return fs->mode; }

/* ---- partition epochs (local mode) ---- */

static void fence_key(fstore_t *fs, int32_t part, ss_buf_t *out) {
    ss_buf_reset(out);
    ss_buf_addf(out, "%sfence:{%s:%d}", fs->prefix, fs->fence_topic, (int)part);
}

static int epoch_index(const fstore_t *fs, int32_t part) {
    for (size_t i = 0; i < fs->n_ep; i++)
        if (fs->ep_part[i] == part)
            return (int)i;
    return -1;
}

static void epoch_set(fstore_t *fs, int32_t part, int64_t epoch) {
    int i = epoch_index(fs, part);
    if (i < 0) {
        if (fs->n_ep == fs->cap_ep) {
            fs->cap_ep = fs->cap_ep ? fs->cap_ep * 2 : 16;
            fs->ep_part = ss_xrealloc(fs->ep_part, fs->cap_ep * sizeof(*fs->ep_part));
            fs->ep_val = ss_xrealloc(fs->ep_val, fs->cap_ep * sizeof(*fs->ep_val));
        }
        i = (int)fs->n_ep++;
    }
    fs->ep_part[i] = part;
    fs->ep_val[i] = epoch;
}

static int32_t part_of(const int32_t *parts, size_t i) { return parts ? parts[i] : 0; }

/* The batch's distinct partitions into fs->bparts (order of first appearance). */
static void batch_parts(fstore_t *fs, const int32_t *parts, size_t n) {
    fs->n_bparts = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t p = part_of(parts, i);
        size_t k = 0;
        while (k < fs->n_bparts && fs->bparts[k] != p)
            k++;
        if (k < fs->n_bparts)
            continue;
        if (fs->n_bparts == fs->cap_bparts) {
            fs->cap_bparts = fs->cap_bparts ? fs->cap_bparts * 2 : 16;
            fs->bparts = ss_xrealloc(fs->bparts, fs->cap_bparts * sizeof(*fs->bparts));
        }
        fs->bparts[fs->n_bparts++] = p;
    }
}

enum { LOAD_CUST = 1, LOAD_WM, LOAD_ANON, LOAD_EPOCH, LOAD_DEMAND };

static void load_item(fstore_t *fs, size_t i, int kind, const char *key) {
    if (i >= fs->lcap) {
        size_t ncap = fs->lcap ? fs->lcap * 2 : 256;
        while (ncap <= i)
            ncap *= 2;
        fs->lkeys = ss_xrealloc(fs->lkeys, ncap * sizeof(*fs->lkeys));
        fs->lkind = ss_xrealloc(fs->lkind, ncap * sizeof(*fs->lkind));
        for (size_t k = fs->lcap; k < ncap; k++)
            fs->lkeys[k] = NULL;
        fs->lcap = ncap;
    }
    free(fs->lkeys[i]);
    fs->lkeys[i] = ss_xstrdup(key);
    fs->lkind[i] = kind;
}

/* 1 when the batch needs a read: a customer, store or partition epoch not cached (anonymous
 * order checks excepted: see fstore_prefetch). */
static int needs_io(fstore_t *fs, const ss_txn_t *const *txns, const int32_t *parts, size_t n) {
    if (fs->mode != FSTORE_MODE_LOCAL)
        return 1;
    if (flocal_cached(fs->loc) > fs->cache_max)
        return 1;
    for (size_t i = 0; i < n; i++) {
        const ss_txn_t *t = txns[i];
        if (epoch_index(fs, part_of(parts, i)) < 0 || !flocal_has_store(fs->loc, t->store_id))
            return 1;
        /* An anonymous order not checked yet needs no read: staged behind a write in flight it
         * is taken as unseen, and the write's fence on its order id catches a redelivery. */
        if (t->has_customer && !flocal_has_customer(fs->loc, t->customer_id))
            return 1;
        if (t->kind == SS_TXN_PURCHASE && !flocal_demand_cached(fs->loc, t, part_of(parts, i)))
            return 1;
        if (fs->tx && !t->has_customer && flocal_anon_need(fs->loc, t, &fs->k1, &fs->k2))
            return 1;
    }
    return 0;
}

/* Reads, in one pipeline, what the batch needs and the cache lacks: a new epoch (INCR of the
 * fence key) for each partition without one, HGETALL of unknown customers, HMGET wm/wmin of
 * unknown stores, HGET of unknown anonymous order ids. */
static int load_replies(fstore_t *fs, size_t nq, ss_err_t *err);

/* defer: append the requests only; fstore_stage reads the replies (fstore_prefetch). */
static int local_load(fstore_t *fs, const ss_txn_t *const *txns, const int32_t *parts, size_t n,
                      int skip_anon, int defer, ss_err_t *err) {
    flocal_t *l = fs->loc;
    size_t nq = 0;
    int rc = 0;
    char wm[300], wmin[300], pnum[16];
    snprintf(wm, sizeof(wm), "%swm", fs->prefix);
    snprintf(wmin, sizeof(wmin), "%swmin", fs->prefix);
    for (size_t k = 0; k < fs->n_bparts && rc == 0; k++) {
        if (epoch_index(fs, fs->bparts[k]) >= 0)
            continue;
        fence_key(fs, fs->bparts[k], &fs->k1);
        const char *av[2] = {"INCR", fs->k1.buf};
        rc = ss_redis_appendv(fs->r, 2, av, NULL, err);
        snprintf(pnum, sizeof(pnum), "%d", (int)fs->bparts[k]);
        load_item(fs, nq++, LOAD_EPOCH, pnum);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const ss_txn_t *t = txns[i];
        if (t->has_customer && !flocal_has_customer(l, t->customer_id)) {
            ss_buf_reset(&fs->k1);
            ss_buf_addf(&fs->k1, "%sc:{%s}", fs->prefix, t->customer_id);
            const char *av[2] = {"HGETALL", fs->k1.buf};
            rc = ss_redis_appendv(fs->r, 2, av, NULL, err);
            load_item(fs, nq++, LOAD_CUST, t->customer_id);
            flocal_customer_begin(l, t->customer_id); /* asked once per batch */
        } else if (!t->has_customer && !skip_anon && flocal_anon_need(l, t, &fs->k1, &fs->k2)) {
            const char *av[3] = {"HGET", fs->k1.buf, fs->k2.buf};
            rc = ss_redis_appendv(fs->r, 3, av, NULL, err);
            ss_buf_addch(&fs->k1, '\x1f');
            ss_buf_adds(&fs->k1, fs->k2.buf);
            load_item(fs, nq++, LOAD_ANON, fs->k1.buf);
        }
        if (rc == 0 && t->kind == SS_TXN_PURCHASE &&
            flocal_demand_need(l, t, part_of(parts, i), &fs->k1, &fs->k2)) {
            const char *av[3] = {"HGET", fs->k1.buf, fs->k2.buf};
            rc = ss_redis_appendv(fs->r, 3, av, NULL, err);
            /* asked once per batch: an empty record stands in until the reply */
            if (rc == 0)
                rc = flocal_demand_set(l, fs->k1.buf, part_of(parts, i), NULL, 0, err);
            ss_buf_addf(&fs->k1, "\x1f%d", (int)part_of(parts, i));
            load_item(fs, nq++, LOAD_DEMAND, fs->k1.buf);
        }
        if (rc == 0 && !flocal_has_store(l, t->store_id)) {
            const char *av[4] = {"HMGET", wm, t->store_id, NULL};
            rc = ss_redis_appendv(fs->r, 3, av, NULL, err);
            if (rc == 0) {
                av[1] = wmin;
                rc = ss_redis_appendv(fs->r, 3, av, NULL, err);
            }
            load_item(fs, nq++, LOAD_WM, t->store_id);
            flocal_store_set(l, t->store_id, 0, 0, 0, 0);
        }
    }
    if (rc == 0 && defer) { /* read by the next fstore_stage */
        fs->n_prefetch = nq;
        return 0;
    }
    if (rc == 0)
        rc = load_replies(fs, nq, err);
    else
        ss_redis_disconnect(fs->r); /* unread pipelined replies */
    return rc;
}

/* Reads the nq replies of load requests appended by local_load (fs->lkeys/lkind say what each
 * is for) into the cache. */
static int load_replies(fstore_t *fs, size_t nq, ss_err_t *err) {
    int rc = 0;
    for (size_t i = 0; i < nq && rc == 0; i++) {
        redisReply *v = NULL, *v2 = NULL;
        if ((rc = ss_redis_get_reply(fs->r, &v, err)) < 0)
            break;
        if (fs->lkind[i] == LOAD_WM && (rc = ss_redis_get_reply(fs->r, &v2, err)) < 0) {
            freeReplyObject(v);
            break;
        }
        if (v->type == REDIS_REPLY_ERROR || (v2 && v2->type == REDIS_REPLY_ERROR)) {
            const char *m = v->type == REDIS_REPLY_ERROR ? v->str : v2->str;
            rc = ss_err_set(err, ss_redis_reply_class(m), "redis: %s", m);
        } else if (fs->lkind[i] == LOAD_EPOCH) {
            if (v->type != REDIS_REPLY_INTEGER)
                rc = ss_err_set(err, SS_ERR_FATAL, "INCR of a fence key returned type %d", v->type);
            else
                epoch_set(fs, (int32_t)atoi(fs->lkeys[i]), (int64_t)v->integer);
        } else if (fs->lkind[i] == LOAD_CUST) {
            for (size_t k = 0; v->type == REDIS_REPLY_ARRAY && k + 1 < v->elements && rc == 0;
                 k += 2)
                rc = flocal_customer_field(fs->loc, fs->lkeys[i], v->element[k]->str,
                                           v->element[k]->len, v->element[k + 1]->str,
                                           v->element[k + 1]->len, err);
        } else if (fs->lkind[i] == LOAD_DEMAND) {
            char *sep = strrchr(fs->lkeys[i], '\x1f');
            *sep = '\0';
            rc = flocal_demand_set(fs->loc, fs->lkeys[i], (int32_t)atoi(sep + 1),
                                   v->type == REDIS_REPLY_STRING ? v->str : NULL,
                                   v->type == REDIS_REPLY_STRING ? v->len : 0, err);
        } else if (fs->lkind[i] == LOAD_ANON) {
            char *sep = strchr(fs->lkeys[i], '\x1f');
            *sep = '\0';
            if (v->type == REDIS_REPLY_STRING)
                flocal_anon_set(fs->loc, fs->lkeys[i], sep + 1, v->str, v->len);
            else
                flocal_anon_set(fs->loc, fs->lkeys[i], sep + 1, NULL, 0);
        } else {
            const redisReply *a =
                v->type == REDIS_REPLY_ARRAY && v->elements == 1 ? v->element[0] : NULL;
            const redisReply *b =
                v2->type == REDIS_REPLY_ARRAY && v2->elements == 1 ? v2->element[0] : NULL;
            int ha = a && a->type == REDIS_REPLY_STRING, hb = b && b->type == REDIS_REPLY_STRING;
            flocal_store_set(fs->loc, fs->lkeys[i], ha, ha ? (int64_t)strtod(a->str, NULL) : 0, hb,
                             hb ? (int64_t)strtod(b->str, NULL) : 0);
        }
        freeReplyObject(v);
        freeReplyObject(v2);
    }
    if (rc < 0)
        ss_redis_disconnect(fs->r); /* unread pipelined replies */
    return rc;
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fstore_stage(fstore_t *fs, const ss_txn_t *const *txns, const int32_t *parts, size_t n,
                 fstore_result_t *res, ss_err_t *err) {
    SS_ASSERT(fs->mode == FSTORE_MODE_LOCAL);
    SS_ASSERT(!fs->staged);
    if (!fs->in_flight && !fs->n_prefetch && flocal_cached(fs->loc) > fs->cache_max)
        flocal_clear(fs->loc);
    batch_parts(fs, parts, n);
    /* Behind a write in flight, nothing may be read (the replies would follow its reply):
     * anonymous orders not checked yet are taken as unseen (see needs_io). */
    int rc = 0;
    if (fs->n_prefetch) { /* the replies of fstore_prefetch come before the write's */
        size_t nq = fs->n_prefetch;
        fs->n_prefetch = 0;
        rc = load_replies(fs, nq, err);
    }
    int covered = fs->pf_txns == txns && fs->pf_n == n && fs->pf_gen == flocal_generation(fs->loc);
    fs->pf_txns = NULL;
    if (rc == 0 && !covered && fs->in_flight && needs_io(fs, txns, parts, n))
        rc = ss_err_set(err, SS_ERR_FATAL, "fstore_stage: batch needs reads behind a write");
    if (rc == 0 && !covered)
        rc = local_load(fs, txns, parts, n, fs->in_flight && !fs->tx, 0, err);
    if (rc < 0) {
        fstore_invalidate(fs);
        return rc;
    }
    /* Fences: the epoch of every partition of the batch (all acquired by local_load). */
    if (fs->n_bparts > fs->cap_fk) {
        fs->fkeys = ss_xrealloc(fs->fkeys, fs->n_bparts * sizeof(*fs->fkeys));
        fs->fep = ss_xrealloc(fs->fep, fs->n_bparts * sizeof(*fs->fep));
        for (size_t k = fs->cap_fk; k < fs->n_bparts; k++)
            fs->fkeys[k] = NULL;
        fs->cap_fk = fs->n_bparts;
    }
    for (size_t k = 0; k < fs->n_bparts; k++) {
        fence_key(fs, fs->bparts[k], &fs->k1);
        free(fs->fkeys[k]);
        fs->fkeys[k] = ss_xstrdup(fs->k1.buf);
        fs->fep[k] = fs->ep_val[epoch_index(fs, fs->bparts[k])];
    }
    fs->staged_args =
        flocal_apply(fs->loc, txns, parts, n, wall_ms(), (const char *const *)fs->fkeys, fs->fep,
                     fs->n_bparts, res, &fs->data);
    fs->staged = 1;
    return 0;
}

int fstore_prefetch(fstore_t *fs, const ss_txn_t *const *txns, const int32_t *parts, size_t n,
                    ss_err_t *err) {
    SS_ASSERT(fs->mode == FSTORE_MODE_LOCAL && !fs->in_flight && !fs->n_prefetch);
    if (!fs->staged && flocal_cached(fs->loc) > fs->cache_max)
        flocal_clear(fs->loc);
    batch_parts(fs, parts, n);
    int rc = local_load(fs, txns, parts, n, !fs->tx, 1, err);
    if (rc < 0) {
        fstore_invalidate(fs);
        return rc;
    }
    fs->pf_txns = txns;
    fs->pf_n = n;
    fs->pf_gen = flocal_generation(fs->loc);
    return 0;
}

/* ---- writes as transactions ----
 * The write script costs Redis about twice the CPU of the same writes sent as plain commands:
 * every argument is copied into Lua and back, and every redis.call pays the Lua bridge
 * (docs/benchmarks.md). With anonymous orders partition-owned (opts.anon_owned), a plan needs no
 * check that only a script can make atomic, so it goes as
 *   WATCH <fence keys>; MGET <fence keys>   - the epochs must still be ours, else STALE;
 *   MULTI; HSET | DEL | PEXPIRE ...; EVAL <watermark max/min>; EXEC   - nil: a fence moved
 * which fences exactly like the script: an INCR before the MGET is seen by it, one after the
 * WATCH aborts the EXEC. A plan's anonymous order fences (A) are then redundant: the owner
 * checked each such order in its cache, loaded before (fstore_prefetch reads them in this mode),
 * and no other writer applies it. */

static const char TX_WM_LUA[] =
    "for i = 1, #ARGV, 4 do local v = tonumber(ARGV[i + 3]) "
    "local c = tonumber(redis.call('HGET', ARGV[i + 1], ARGV[i + 2])) "
    "if not c or (ARGV[i] == 'M' and v > c) or (ARGV[i] == 'm' and v < c) then "
    "redis.call('HSET', ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]) end end return 0";

/* Offsets (payload) and lengths of the staged plan's n bulk-string arguments. */
static void tx_split(fstore_t *fs) {
    size_t n = fs->staged_args, pos = 0;
    if (n > fs->acap) {
        fs->acap = n * 2;
        fs->aoff = ss_xrealloc(fs->aoff, fs->acap * sizeof(*fs->aoff));
        fs->alen = ss_xrealloc(fs->alen, fs->acap * sizeof(*fs->alen));
    }
    for (size_t i = 0; i < n; i++) {
        char *end = NULL;
        fs->alen[i] = strtoul(fs->data.buf + pos + 1, &end, 10);
        fs->aoff[i] = (size_t)(end + 2 - fs->data.buf);
        pos = fs->aoff[i] + fs->alen[i] + 2;
    }
}

/* The raw bulk strings of arguments [i, j] of the plan (contiguous in it). */
static void tx_raw(fstore_t *fs, size_t i, size_t j) {
    const char *a = fs->data.buf + fs->aoff[i];
    while (*a != '$') /* back to the argument's header */
        a--;
    ss_buf_add(&fs->txbody, a, (size_t)(fs->data.buf + fs->aoff[j] + fs->alen[j] + 2 - a));
}

static void tx_cmd(fstore_t *fs, const char *name, size_t nargs) {
    ss_buf_addf(&fs->txbody, "*%zu\r\n$%zu\r\n%s\r\n", nargs, strlen(name), name);
    fs->tx_cmds++;
}

/* Builds the MULTI body from the staged plan. The plan starts with its fences (F key epoch),
 * then the anonymous order fences (A, redundant here: see above); *n_fences gets the F count. */
static void tx_build(fstore_t *fs, size_t *n_fences) {
    size_t n = fs->staged_args, i = 0;
    ss_buf_reset(&fs->txbody);
    fs->tx_cmds = 0;
    *n_fences = 0;
    for (; i < n && fs->alen[i] == 1 &&
           (fs->data.buf[fs->aoff[i]] == 'F' || fs->data.buf[fs->aoff[i]] == 'A');
         i += 3)
        if (fs->data.buf[fs->aoff[i]] == 'F')
            (*n_fences)++;
    for (size_t k = i; k < n;) {
        char op = fs->data.buf[fs->aoff[k]];
        if (op == 'H') {
            size_t c = strtoul(fs->data.buf + fs->aoff[k + 2], NULL, 10);
            tx_cmd(fs, "HSET", 2 + 2 * c);
            tx_raw(fs, k + 1, k + 1);
            tx_raw(fs, k + 3, k + 2 + 2 * c);
            k += 3 + 2 * c;
        } else if (op == 'D') {
            tx_cmd(fs, "DEL", 2);
            tx_raw(fs, k + 1, k + 1);
            k += 2;
        } else if (op == 'X') {
            tx_cmd(fs, "PEXPIRE", 3);
            tx_raw(fs, k + 1, k + 2);
            k += 3;
        } else { /* M / m: watermarks, last in the plan, into one EVAL */
            SS_ASSERT(op == 'M' || op == 'm');
            tx_cmd(fs, "EVAL", 3 + (n - k));
            ss_buf_addf(&fs->txbody, "$%zu\r\n%s\r\n$1\r\n0\r\n", sizeof(TX_WM_LUA) - 1, TX_WM_LUA);
            tx_raw(fs, k, n - 1);
            k = n;
        }
    }
}

static int tx_send(fstore_t *fs, ss_err_t *err) {
    size_t nf; /* fence k is plan arguments 3k (F), 3k + 1 (key), 3k + 2 (epoch) */
    tx_split(fs);
    tx_build(fs, &nf);
    const char **av = ss_xmalloc((nf + 1) * sizeof(*av));
    size_t *al = ss_xmalloc((nf + 1) * sizeof(*al));
    for (size_t k = 0; k < nf; k++) {
        av[k + 1] = fs->data.buf + fs->aoff[3 * k + 1];
        al[k + 1] = fs->alen[3 * k + 1];
    }
    av[0] = "WATCH";
    al[0] = 5;
    int rc = nf ? ss_redis_appendv(fs->r, (int)nf + 1, av, al, err) : 0;
    if (rc == 0 && nf) {
        av[0] = "MGET";
        al[0] = 4;
        rc = ss_redis_appendv(fs->r, (int)nf + 1, av, al, err);
    }
    free(av);
    free(al);
    if (rc == 0)
        rc = ss_redis_flush(fs->r, err);
    /* the replies of fstore_prefetch come first: read them into the cache now */
    if (rc == 0 && fs->n_prefetch) {
        size_t nq = fs->n_prefetch;
        fs->n_prefetch = 0;
        rc = load_replies(fs, nq, err);
    }
    redisReply *w = NULL, *g = NULL;
    if (rc == 0 && nf && (rc = ss_redis_get_reply(fs->r, &w, err)) == 0)
        rc = ss_redis_get_reply(fs->r, &g, err);
    if (rc == 0 && nf && (g->type != REDIS_REPLY_ARRAY || g->elements != nf))
        rc = ss_err_set(err, SS_ERR_FATAL, "WATCH/MGET of the fences: unexpected reply");
    for (size_t k = 0; rc == 0 && k < nf; k++) {
        const redisReply *e = g->element[k];
        size_t i = 3 * k;
        if (e->type != REDIS_REPLY_STRING || e->len != fs->alen[i + 2] ||
            memcmp(e->str, fs->data.buf + fs->aoff[i + 2], e->len) != 0) {
            rc = ss_err_set(err, SS_ERR_INVAL, "STALE partition taken over by another writer: %.*s",
                            (int)fs->alen[i + 1], fs->data.buf + fs->aoff[i + 1]);
            redisReply *u = NULL;
            const char *uv[1] = {"UNWATCH"};
            if (ss_redis_commandv(fs->r, 1, uv, NULL, &u, err) == 0)
                freeReplyObject(u);
            else
                ss_redis_disconnect(fs->r);
        }
    }
    freeReplyObject(w);
    freeReplyObject(g);
    if (rc == 0)
        rc = ss_redis_append_raw(fs->r, "*1\r\n$5\r\nMULTI\r\n", 15, err);
    if (rc == 0)
        rc = ss_redis_append_raw(fs->r, fs->txbody.buf, fs->txbody.len, err);
    if (rc == 0)
        rc = ss_redis_append_raw(fs->r, "*1\r\n$4\r\nEXEC\r\n", 14, err);
    if (rc == 0) /* on the wire now: Redis runs it while the caller computes the next batch */
        rc = ss_redis_flush(fs->r, err);
    return rc;
}

/* Reads the replies of the transaction in flight: +OK, one +QUEUED per command, EXEC's. */
static int tx_finish(fstore_t *fs, ss_err_t *err) {
    size_t n = fs->tx_cmds;
    fs->tx_cmds = 0;
    int rc = 0;
    char first[200] = "";
    for (size_t i = 0; i < n + 1 && rc == 0; i++) {
        redisReply *q = NULL;
        if ((rc = ss_redis_get_reply(fs->r, &q, err)) == 0) {
            if (q->type == REDIS_REPLY_ERROR && !first[0])
                snprintf(first, sizeof(first), "%s", q->str);
            freeReplyObject(q);
        }
    }
    redisReply *x = NULL;
    if (rc == 0 && (rc = ss_redis_get_reply(fs->r, &x, err)) == 0) {
        if (x->type == REDIS_REPLY_NIL) {
            rc = ss_err_set(err, SS_ERR_INVAL,
                            "STALE partition taken over by another writer (EXEC aborted)");
        } else if (x->type == REDIS_REPLY_ERROR) {
            rc = ss_err_set(err, ss_redis_reply_class(x->str), "redis EXEC failed: %s (%s)", x->str,
                            first);
        } else {
            for (size_t i = 0; x->type == REDIS_REPLY_ARRAY && i < x->elements && rc == 0; i++)
                if (x->element[i]->type == REDIS_REPLY_ERROR)
                    rc = ss_err_set(err, ss_redis_reply_class(x->element[i]->str),
                                    "redis write in EXEC failed: %s", x->element[i]->str);
        }
        freeReplyObject(x);
    }
    if (rc < 0 && !strstr(err->msg, "STALE"))
        ss_redis_disconnect(fs->r); /* a partial write: drop everything, reload from Redis */
    return rc;
}

int fstore_send(fstore_t *fs, ss_err_t *err) {
    SS_ASSERT(fs->staged && !fs->in_flight);
    fs->staged = 0;
    if (fs->staged_args == 0)
        return 0; /* nothing to write (duplicates only) */
    int rc;
    if (fs->tx) {
        rc = tx_send(fs, err);
    } else {
        rc = ss_redis_append_evalsha_resp(fs->r, fs->wscript, fs->staged_args, fs->data.buf,
                                          fs->data.len, err);
        if (rc == 0) /* on the wire now: Redis runs it while the caller computes the next batch */
            rc = ss_redis_flush(fs->r, err);
    }
    if (rc < 0) {
        fstore_invalidate(fs);
        return rc;
    }
    /* Keep the plan: a NOSCRIPT reply is answered by sending it again (fstore_finish). */
    ss_buf_t tmp = fs->sent;
    fs->sent = fs->data;
    fs->data = tmp;
    fs->sent_args = fs->staged_args;
    fs->in_flight = 1;
    return 0;
}

int fstore_staged(const fstore_t *fs) { return fs->staged; }

int fstore_finish(fstore_t *fs, ss_err_t *err) {
    if (!fs->in_flight)
        return 0;
    fs->in_flight = 0;
    if (fs->tx) {
        int trc = tx_finish(fs, err);
        if (trc < 0) {
            fs->staged = 0;
            fstore_invalidate(fs);
        }
        return trc;
    }
    redisReply *rep = NULL;
    int rc = ss_redis_get_reply(fs->r, &rep, err);
    if (rc == 0 && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(rep);
        rep = NULL;
        rc = ss_redis_evalsha_resp(fs->r, fs->wscript, fs->sent_args, fs->sent.buf, fs->sent.len,
                                   &rep, err);
    } else if (rc == 0 && rep->type == REDIS_REPLY_ERROR) {
        rc = ss_err_set(err, ss_redis_reply_class(rep->str), "redis EVALSHA failed: %s", rep->str);
    }
    freeReplyObject(rep);
    /* The write may or may not have happened: reload from Redis, which is the truth (the batch
     * is atomic, so a retried batch then finds its orders applied or not, all or none). A batch
     * staged meanwhile was computed from the dropped cache: it must be staged again. */
    if (rc < 0) {
        fs->staged = 0;
        fstore_invalidate(fs);
    }
    return rc;
}

/* A STALE fence (another writer took over one of the batch's partitions: this process lost it
 * without knowing yet, or the other writer is the zombie) is retried at once from freshly loaded
 * state with a new epoch. */
static int local_apply(fstore_t *fs, const ss_txn_t *const *txns, const int32_t *parts, size_t n,
                       fstore_result_t *res, ss_err_t *err) {
    SS_ASSERT(!fs->in_flight && !fs->staged);
    for (int attempt = 0;; attempt++) {
        ss_err_t e = SS_ERR_INIT;
        int rc = fstore_stage(fs, txns, parts, n, res, &e);
        if (rc == 0)
            rc = fstore_send(fs, &e);
        if (rc == 0)
            rc = fstore_finish(fs, &e);
        if (rc == SS_ERR_INVAL && strstr(e.msg, "STALE") && attempt < 5) {
            SS_LOG(LOG_WARNING, "fstore", "%s; reloading and recomputing the batch", e.msg);
            continue;
        }
        if (rc == SS_ERR_INVAL && strstr(e.msg, "STALE"))
            rc = SS_ERR_RETRIABLE;
        if (rc < 0)
            ss_err_set(err, rc, "%s", e.msg);
        return rc;
    }
}

int fstore_apply_parts(fstore_t *fs, const ss_txn_t *const *txns, const int32_t *parts, size_t n,
                       fstore_result_t *res, ss_err_t *err) {
    if (fs->mode == FSTORE_MODE_LOCAL)
        return n == 0 ? 0 : local_apply(fs, txns, parts, n, res, err);
    return fstore_apply(fs, txns, n, res, err);
}

int fstore_apply(fstore_t *fs, const ss_txn_t *const *txns, size_t n, fstore_result_t *res,
                 ss_err_t *err) {
    if (n == 0)
        return 0;
    if (fs->mode == FSTORE_MODE_LOCAL)
        return local_apply(fs, txns, NULL, n, res, err);
    ss_buf_reset(&fs->data);
    fs->n_args = 0;
    arg_str(fs, fs->prefix);
    arg_i64(fs, fs->opts.lateness_ms < 0 ? INT64_C(1) << 52 : fs->opts.lateness_ms);
    arg_i64(fs, fs->opts.customer_ttl_ms);
    arg_i64(fs, fs->opts.demand_ttl_ms);
    arg_i64(fs, (int64_t)n);
    for (size_t i = 0; i < n; i++)
        pack_order(fs, txns[i]);
    if (fs->n_args > fs->argv_cap) {
        fs->argv_cap = fs->n_args * 2;
        fs->argv = ss_xrealloc(fs->argv, fs->argv_cap * sizeof(*fs->argv));
    }
    for (size_t i = 0; i < fs->n_args; i++)
        fs->argv[i] = fs->data.buf + fs->off[i];

    redisReply *rep = NULL;
    int rc = ss_redis_evalsha(fs->r, fs->script, 0, (int)fs->n_args, fs->argv, fs->len, &rep, err);
    if (rc < 0)
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n) {
        rc = ss_err_set(err, SS_ERR_FATAL,
                        "features script returned type %d with %zu elements, "
                        "expected %zu results",
                        rep->type, rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0, n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_STRING) {
            rc =
                ss_err_set(err, SS_ERR_FATAL, "features script result %zu has type %d", i, e->type);
            goto out;
        }
        if ((rc = fstore_parse_result(e->str, e->len, txns[i]->event_time_ms, &res[i], err)) < 0)
            goto out;
    }
out:
    freeReplyObject(rep);
    return rc;
}

/* ---------------------------------------------------------------- reading back */

int fstore_latest_time(fstore_t *fs, int64_t *t_ms, ss_err_t *err) {
    redisReply *rep = NULL;
    int rc = ss_redis_command(fs->r, &rep, err, "HVALS %swm", fs->prefix);
    if (rc < 0)
        return rc;
    int found = 0;
    int64_t best = 0;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        int64_t v;
        if (rep->element[i]->type == REDIS_REPLY_STRING && parse_i64(rep->element[i]->str, &v) == 0)
            if (!found || v > best) {
                best = v;
                found = 1;
            }
    }
    freeReplyObject(rep);
    if (!found)
        return ss_err_set(err, SS_ERR_NOTFOUND, "no event applied yet (hash '%swm' is empty)",
                          fs->prefix);
    *t_ms = best;
    return 0;
}

typedef int (*scan_cb)(fstore_t *fs, const char *key, size_t keylen, redisReply *val, FILE *out,
                       ss_err_t *err);

/* SCANs keys matching pattern and, per SCAN page, pipelines `cmd key [fields]` for each key,
 * calling cb with each reply. */
static int scan_keys(fstore_t *fs, const char *pattern, const char *cmd, const char *const *fields,
                     int nfields, scan_cb cb, FILE *out, size_t *count, ss_err_t *err) {
    char cursor[32] = "0";
    size_t cnt = 0;
    int rc = 0;
    const char **av = ss_xmalloc(sizeof(*av) * (size_t)(nfields + 2));
    do {
        redisReply *page = NULL;
        rc = ss_redis_command(fs->r, &page, err, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (rc < 0)
            break;
        if (page->type != REDIS_REPLY_ARRAY || page->elements != 2 ||
            page->element[0]->type != REDIS_REPLY_STRING ||
            page->element[1]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(page);
            rc = ss_err_set(err, SS_ERR_FATAL, "unexpected SCAN reply");
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", page->element[0]->str);
        redisReply *keys = page->element[1];
        for (size_t i = 0; i < keys->elements && rc == 0; i++) {
            av[0] = cmd;
            av[1] = keys->element[i]->str;
            for (int k = 0; k < nfields; k++)
                av[2 + k] = fields[k];
            rc = ss_redis_appendv(fs->r, nfields + 2, av, NULL, err);
        }
        for (size_t i = 0; i < keys->elements && rc == 0; i++) {
            redisReply *v = NULL;
            rc = ss_redis_get_reply(fs->r, &v, err);
            if (rc < 0)
                break;
            if (v->type == REDIS_REPLY_ARRAY) {
                rc = cb(fs, keys->element[i]->str, keys->element[i]->len, v, out, err);
                if (rc == 0)
                    cnt++;
                else if (rc > 0)
                    rc = 0; /* skipped (key vanished) */
            }
            freeReplyObject(v);
        }
        if (rc < 0)
            ss_redis_disconnect(fs->r); /* unread pipelined replies */
        freeReplyObject(page);
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    free(av);
    if (count)
        *count = cnt;
    return rc;
}

static const char *const state_fields[] = {"st", "w", CREC_FIELD};
#define N_STATE_FIELDS 3

static int64_t g_as_of; /* dump_customer's as-of (scan_cb has no opaque; one dump at a time) */

static int64_t field_i64(const redisReply *r) {
    return r && r->type == REDIS_REPLY_STRING ? (int64_t)strtod(r->str, NULL) : 0;
}

/* Customer id from "<prefix>c:{<cid>}". */
static char *key_cid(fstore_t *fs, const char *key, size_t keylen) {
    size_t skip = fs->prefix_len + 3;
    if (keylen < skip + 1)
        return ss_xstrdup("");
    return ss_xstrndup(key + skip, keylen - skip - 1);
}

static int dump_customer(fstore_t *fs, const char *key, size_t keylen, redisReply *v, FILE *out,
                         ss_err_t *err) {
    if (v->elements != N_STATE_FIELDS)
        return 1;
    rfm_agg_t a = {0};
    int64_t *win = NULL;
    size_t nw = 0;
    const redisReply *st = v->element[0], *w = v->element[1], *rec = v->element[2];
    if (rec->type == REDIS_REPLY_STRING) { /* local mode's record: newer than any st/w */
        crec_t r;
        if (crec_decode(rec->str, rec->len, &r, err) < 0)
            return SS_ERR_INVAL;
        a = r.agg;
        win = r.win; /* taken over */
        nw = r.n_win;
        r.win = NULL;
        crec_release(&r);
    } else if (st->type != REDIS_REPLY_STRING) {
        return 1;
    } else if (rfm_agg_decode(st->str, st->len, &a, err) < 0 ||
               (w->type == REDIS_REPLY_STRING &&
                rfm_window_decode(w->str, w->len, &win, &nw, err) < 0)) {
        return SS_ERR_INVAL;
    }
    rfm_features_t f;
    rfm_compute(&a, rfm_window_count(win, nw, g_as_of), g_as_of, &f);
    free(win);
    char *cid = key_cid(fs, key, keylen);
    ss_buf_t line = SS_BUF_INIT;
    rfm_features_json(cid, &f, &line);
    ss_buf_addch(&line, '\n');
    fwrite(line.buf, 1, line.len, out);
    ss_buf_release(&line);
    free(cid);
    return 0;
}

int fstore_dump_customers(fstore_t *fs, int64_t as_of_ms, FILE *out, size_t *count, ss_err_t *err) {
    char pat[512];
    snprintf(pat, sizeof(pat), "%sc:{*", fs->prefix);
    g_as_of = as_of_ms;
    return scan_keys(fs, pat, "HMGET", state_fields, N_STATE_FIELDS, dump_customer, out, count,
                     err);
}

static int demand_sum_cb(const char *product, size_t len, double qty, void *opaque, ss_err_t *err) {
    (void)err;
    json_t *sums = opaque;
    char id[SS_ID_MAX + 1];
    memcpy(id, product, len);
    id[len] = '\0';
    json_t *cur = json_object_get(sums, id);
    json_object_set_new(sums, id, json_real((cur ? json_real_value(cur) : 0) + qty));
    return 0;
}

/* One line per product: the sum of its p: field and of every partition's q: record. */
static int dump_demand_key(fstore_t *fs, const char *key, size_t keylen, redisReply *v, FILE *out,
                           ss_err_t *err) {
    /* "<prefix>dm:{<store>:<YYYY-MM-DD>}" */
    size_t skip = fs->prefix_len + 4;
    if (keylen < skip + 12)
        return 1;
    const char *store = key + skip;
    size_t store_len = keylen - skip - 12;
    const char *day = key + keylen - 11;
    json_t *sums = json_object();
    int rc = 0;
    for (size_t i = 0; i + 1 < v->elements && rc == 0; i += 2) {
        const redisReply *f = v->element[i], *q = v->element[i + 1];
        if (f->type == REDIS_REPLY_STRING && q->type == REDIS_REPLY_STRING)
            rc = ss_demand_field(f->str, f->len, q->str, q->len, demand_sum_cb, sums, err);
    }
    ss_buf_t line = SS_BUF_INIT;
    const char *pid;
    json_t *x;
    json_object_foreach(sums, pid, x) {
        if (rc < 0)
            break;
        ss_buf_reset(&line);
        ss_buf_adds(&line, "{\"store_id\":");
        ss_buf_add_json_str(&line, store, store_len);
        ss_buf_addf(&line, ",\"day\":\"%.10s\",\"product_id\":", day);
        ss_buf_add_json_str(&line, pid, strlen(pid));
        ss_buf_addf(&line, ",\"quantity\":%" PRId64 "}\n", (int64_t)json_real_value(x));
        fwrite(line.buf, 1, line.len, out);
    }
    ss_buf_release(&line);
    json_decref(sums);
    return rc;
}

int fstore_dump_demand(fstore_t *fs, FILE *out, size_t *count, ss_err_t *err) {
    char pat[512];
    snprintf(pat, sizeof(pat), "%sdm:{*", fs->prefix);
    return scan_keys(fs, pat, "HGETALL", NULL, 0, dump_demand_key, out, count, err);
}

static void state_agg_json(ss_buf_t *line, const rfm_agg_t *a) {
    ss_buf_addf(
        line,
        ",\"n\":%" PRId64 ",\"s\":%.17g,\"sc\":%.17g,\"mu\":%.17g,\"m2\":%.17g,\"f\":%" PRId64
        ",\"l\":%" PRId64 ",\"rn\":%" PRId64 ",\"ra\":%.17g",
        a->n, a->sum, a->sum_c, a->mean, a->m2, a->first_ms, a->last_ms, a->ret_n, a->ret_amount);
}

static void state_win_json(ss_buf_t *line, const int64_t *win, size_t nw) {
    ss_buf_adds(line, ",\"w\":\"");
    for (size_t k = 0; k < nw; k++)
        ss_buf_addf(line, "%s%" PRId64, k ? "," : "", win[k]);
    ss_buf_addch(line, '"');
}

/* dump_state_key for a customer stored as a record (local mode). */
static int dump_state_record(const char *cid, const redisReply *x, FILE *out, ss_err_t *err) {
    crec_t r;
    if (crec_decode(x->str, x->len, &r, err) < 0)
        return SS_ERR_INVAL;
    ss_buf_t line = SS_BUF_INIT;
    ss_buf_adds(&line, "{\"customer_id\":");
    ss_buf_add_json_str(&line, cid, strlen(cid));
    state_agg_json(&line, &r.agg);
    state_win_json(&line, r.win, r.n_win);
    ss_buf_addf(&line, ",\"orders\":%zu,\"products\":{", r.n_orders);
    for (size_t i = 0; i < r.n_products; i++) {
        if (i)
            ss_buf_addch(&line, ',');
        ss_buf_add_json_str(&line, r.products[i].id, r.products[i].len);
        ss_buf_addf(&line, ":%" PRId64, (int64_t)r.products[i].val);
    }
    ss_buf_adds(&line, "}}\n");
    fwrite(line.buf, 1, line.len, out);
    ss_buf_release(&line);
    crec_release(&r);
    return 0;
}

static int dump_state_key(fstore_t *fs, const char *key, size_t keylen, redisReply *v, FILE *out,
                          ss_err_t *err) {
    char *cid = key_cid(fs, key, keylen);
    for (size_t i = 0; i + 1 < v->elements; i += 2)
        if (v->element[i]->len == 1 && v->element[i]->str[0] == CREC_FIELD[0]) {
            int rc = dump_state_record(cid, v->element[i + 1], out, err);
            free(cid);
            return rc;
        }
    ss_buf_t line = SS_BUF_INIT;
    ss_buf_adds(&line, "{\"customer_id\":");
    ss_buf_add_json_str(&line, cid, strlen(cid));
    free(cid);
    ss_buf_t prod = SS_BUF_INIT;
    size_t n_orders = 0;
    for (size_t i = 0; i + 1 < v->elements; i += 2) {
        const redisReply *f = v->element[i], *x = v->element[i + 1];
        if (f->len >= 2 && memcmp(f->str, "p:", 2) == 0) {
            ss_buf_addch(&prod, prod.len ? ',' : '{');
            ss_buf_add_json_str(&prod, f->str + 2, f->len - 2);
            ss_buf_addf(&prod, ":%" PRId64, field_i64(x));
        } else if (f->len >= 2 && memcmp(f->str, "o:", 2) == 0) {
            n_orders++;
        } else if (strcmp(f->str, "st") == 0) {
            rfm_agg_t a;
            if (rfm_agg_decode(x->str, x->len, &a, err) == 0)
                state_agg_json(&line, &a);
        } else if (strcmp(f->str, "w") == 0) {
            int64_t *win = NULL;
            size_t nw = 0;
            if (rfm_window_decode(x->str, x->len, &win, &nw, err) == 0)
                state_win_json(&line, win, nw);
            else
                state_win_json(&line, NULL, 0);
            free(win);
        }
    }
    if (!prod.len)
        ss_buf_addch(&prod, '{');
    ss_buf_addch(&prod, '}');
    ss_buf_addf(&line, ",\"orders\":%zu,\"products\":%s}\n", n_orders, prod.buf);
    fwrite(line.buf, 1, line.len, out);
    ss_buf_release(&line);
    ss_buf_release(&prod);
    return 0;
}

int fstore_dump_state(fstore_t *fs, FILE *out, size_t *count, ss_err_t *err) {
    char pat[512];
    snprintf(pat, sizeof(pat), "%sc:{*", fs->prefix);
    return scan_keys(fs, pat, "HGETALL", NULL, 0, dump_state_key, out, count, err);
}
