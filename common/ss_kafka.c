/* ss_kafka: librdkafka wrappers (see ss_kafka.h). Rebalances, statistics and delivery reports
 * are all served from the polling thread; counters are atomics so /metrics can read them. */
#include "ss_kafka.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ss_log.h"

#define SS_KAFKA_LAG_MAX 1024
#define SS_KAFKA_BROKERS_MAX 64

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ======================================================================================
 * Configuration
 * ====================================================================================== */

int ss_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, ss_err_t *err) {
    char errstr[512];
    rd_kafka_conf_res_t res;

    if (!name || !*name)
        return ss_err_set(err, SS_ERR_INVAL, "empty kafka property name");
    if (!value)
        value = "";
    errstr[0] = '\0';
    res = rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr));
    if (res == RD_KAFKA_CONF_UNKNOWN && strncmp(name, "topic.", 6) == 0 && name[6]) {
        /* Not a global property (topic.metadata.* are): a topic-level one without its prefix.
         * Validate on a scratch topic conf first, so "topic.client.id" cannot set the global
         * client.id; then rd_kafka_conf_set puts it in the default topic conf. */
        const char *tname = name + 6;
        rd_kafka_topic_conf_t *scratch = rd_kafka_topic_conf_new();
        errstr[0] = '\0';
        res = rd_kafka_topic_conf_set(scratch, tname, value, errstr, sizeof(errstr));
        rd_kafka_topic_conf_destroy(scratch);
        if (res == RD_KAFKA_CONF_OK)
            res = rd_kafka_conf_set(conf, tname, value, errstr, sizeof(errstr));
    }
    if (res != RD_KAFKA_CONF_OK)
        return ss_err_set(err, SS_ERR_INVAL, "cannot set kafka property '%s': %s", name, errstr);
    return 0;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    /* librdkafka threads: format and write, nothing else. */
    if (level > ss_log_level())
        return;
    ss_log_write(level, "kafka", "%s: %s client=%s", fac, buf, rk ? rd_kafka_name(rk) : "-");
}

static void error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque) {
    (void)opaque;
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
        char fstr[512];
        rd_kafka_resp_err_t fcode = rd_kafka_fatal_error(rk, fstr, sizeof(fstr));
        SS_LOG(LOG_ERR, "kafka", "fatal error: %s: %s client=%s", rd_kafka_err2name(fcode), fstr,
               rd_kafka_name(rk));
        return;
    }
    /* Transport errors are retried by librdkafka itself; they are state changes worth a line. */
    SS_LOG(code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? LOG_WARNING : LOG_NOTICE, "kafka",
           "%s: %s client=%s", rd_kafka_err2name((rd_kafka_resp_err_t)code), reason,
           rd_kafka_name(rk));
}

rd_kafka_conf_t *ss_kafka_conf_new(const ss_cfg_t *cfg, const char *brokers, ss_err_t *err) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    if (!brokers && cfg)
        brokers = ss_cfg_str(cfg, "brokers");
    if (brokers && *brokers && ss_kafka_conf_set(conf, "bootstrap.servers", brokers, err) < 0)
        goto fail;
    if (cfg) {
        size_t n = ss_cfg_kafka_count(cfg);
        for (size_t i = 0; i < n; i++)
            if (ss_kafka_conf_set(conf, ss_cfg_kafka_name(cfg, i), ss_cfg_kafka_value(cfg, i),
                                  err) < 0)
                goto fail;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* Applies name=value pairs in order (NULL-terminated), stopping at the first failure. */
static int conf_set_all(rd_kafka_conf_t *conf, const char *const *pairs, ss_err_t *err) {
    for (size_t i = 0; pairs[i]; i += 2)
        if (ss_kafka_conf_set(conf, pairs[i], pairs[i + 1], err) < 0)
            return SS_ERR_INVAL;
    return 0;
}

int ss_kafka_check_fatal(rd_kafka_t *rk, ss_err_t *err) {
    char fstr[256];
    rd_kafka_resp_err_t code;

    if (!rk)
        return 0;
    code = rd_kafka_fatal_error(rk, fstr, sizeof(fstr));
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    return ss_err_set(err, SS_ERR_FATAL, "kafka fatal error: %s: %s", rd_kafka_err2name(code),
                      fstr);
}

int ss_kafka_err_class(rd_kafka_resp_err_t code) {
    switch (code) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return 0;
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
        return SS_ERR_FATAL;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
        return SS_ERR_RETRIABLE;
    default:
        return SS_ERR_INVAL;
    }
}

/* ======================================================================================
 * Statistics
 * ====================================================================================== */

static int64_t json_int(json_t *obj, const char *key, int64_t def) {
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

/* Returns new: the statistics JSON object, or NULL with SS_ERR_DECODE in err. */
static json_t *stats_root(const char *json, ss_err_t *err) {
    json_error_t jerr;
    json_t *root = json_loads(json ? json : "", 0, &jerr);
    if (!root) {
        ss_err_set(err, SS_ERR_DECODE, "cannot parse kafka statistics: %s at line %d", jerr.text,
                   jerr.line);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        ss_err_set(err, SS_ERR_DECODE, "cannot parse kafka statistics: not an object");
        return NULL;
    }
    return root;
}

int ss_kafka_stats_parse_lag(const char *json, ss_kafka_lag_t *out, size_t max, ss_err_t *err) {
    json_t *root, *topics, *tobj;
    const char *tname;
    size_t found = 0;

    if (!(root = stats_root(json, err)))
        return SS_ERR_DECODE;
    topics = json_object_get(root, "topics");
    json_object_foreach(topics, tname, tobj) {
        json_t *parts = json_object_get(tobj, "partitions"), *pobj;
        const char *pname;
        json_object_foreach(parts, pname, pobj) {
            const char *fs = json_string_value(json_object_get(pobj, "fetch_state"));
            int64_t part = json_int(pobj, "partition", -1);
            if (part < 0 || !fs || strcmp(fs, "none") == 0)
                continue;
            if (found < max) {
                ss_kafka_lag_t *l = &out[found];
                snprintf(l->topic, sizeof(l->topic), "%s", tname);
                l->partition = (int32_t)part;
                l->consumer_lag = json_int(pobj, "consumer_lag", -1);
                l->committed_offset = json_int(pobj, "committed_offset", -1001);
                l->hi_offset = json_int(pobj, "hi_offset", -1);
            }
            found++;
        }
    }
    json_decref(root);
    return (int)found;
}

static int cmp_broker(const void *a, const void *b) {
    const ss_kafka_broker_stat_t *x = a, *y = b;
    return (x->nodeid > y->nodeid) - (x->nodeid < y->nodeid);
}

int ss_kafka_stats_parse_brokers(const char *json, ss_kafka_broker_stat_t *out, size_t max,
                                 int64_t *rebalances, ss_err_t *err) {
    json_t *root, *bobj, *cgrp;
    const char *bname;
    size_t found = 0;

    if (!(root = stats_root(json, err)))
        return SS_ERR_DECODE;
    json_object_foreach(json_object_get(root, "brokers"), bname, bobj) {
        int64_t id = json_int(bobj, "nodeid", -1);
        if (id < 0 || id > INT32_MAX)
            continue;
        if (found < max) {
            ss_kafka_broker_stat_t *b = &out[found];
            json_t *rtt = json_object_get(bobj, "rtt");
            const char *name = json_string_value(json_object_get(bobj, "name"));
            const char *st = json_string_value(json_object_get(bobj, "state"));
            int have = json_int(rtt, "cnt", 0) > 0;
            b->nodeid = (int32_t)id;
            snprintf(b->name, sizeof(b->name), "%s", name ? name : bname);
            snprintf(b->state, sizeof(b->state), "%s", st ? st : "");
            b->rtt_avg_us = have ? json_int(rtt, "avg", -1) : -1;
            b->rtt_p99_us = have ? json_int(rtt, "p99", -1) : -1;
        }
        found++;
    }
    cgrp = json_object_get(root, "cgrp");
    if (rebalances)
        *rebalances = json_is_object(cgrp) ? json_int(cgrp, "rebalance_cnt", -1) : -1;
    json_decref(root);
    if (found)
        qsort(out, found < max ? found : max, sizeof(*out), cmp_broker);
    return (int)found;
}

/* ======================================================================================
 * Consumer
 * ====================================================================================== */

struct ss_kafka_consumer {
    rd_kafka_t *rk;
    int group;  /* 1: subscribed in a consumer group; 0: assigned, no commits */
    int closed; /* set by ss_kafka_consumer_close */
    ss_kafka_rebalance_cb_t *on_rebalance;
    void *opaque;
    atomic_int assigned; /* partitions in the current assignment */
    atomic_int paused;   /* 1 between pause and resume */
    atomic_uint_fast64_t rebalances, errors;
    /* The batch poll_batch is building (its caller's array): the rebalance callback, which runs
     * inside rd_kafka_consumer_poll, drops messages of revoked partitions from it. */
    rd_kafka_message_t **batch;
    size_t batch_n;
    int batch_revoked; /* a revoke happened while building: return early */
    pthread_mutex_t lag_mu;
    ss_kafka_lag_t *lag; /* latest snapshot, lag_n entries; guarded by lag_mu */
    size_t lag_n;
    ss_kafka_broker_stat_t brokers[SS_KAFKA_BROKERS_MAX]; /* latest snapshot; lag_mu */
    size_t brokers_n;
    /* /metrics export (ss_kafka_consumer_metrics): set once before scrapes start */
    ss_metrics_t *metrics;
    ss_metrics_family_t *lag_fam, *rtt_fam;
    ss_metrics_gauge_t *g_assigned, *g_paused;
    ss_metrics_counter_t *c_rebalances, *c_errors;
};

static void log_parts(int level, const char *what, const rd_kafka_topic_partition_list_t *parts) {
    char buf[512];
    size_t off = 0;

    if (level > ss_log_level())
        return;
    buf[0] = '\0';
    for (int i = 0; i < parts->cnt && off < sizeof(buf) - 1; i++) {
        int w = snprintf(buf + off, sizeof(buf) - off, "%s%s[%" PRId32 "]", i ? "," : "",
                         parts->elems[i].topic, parts->elems[i].partition);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    if (off >= sizeof(buf) - 1)
        snprintf(buf + sizeof(buf) - 4, 4, "...");
    ss_log_write(level, "kafka", "%s %d partitions: %s", what, parts->cnt, buf);
}

static void update_assigned(ss_kafka_consumer_t *c) {
    rd_kafka_topic_partition_list_t *cur = NULL;
    if (rd_kafka_assignment(c->rk, &cur) == RD_KAFKA_RESP_ERR_NO_ERROR && cur) {
        atomic_store(&c->assigned, cur->cnt);
        rd_kafka_topic_partition_list_destroy(cur);
    }
}

/* Drops, from the batch being built, messages of the partitions in parts. */
static void drop_revoked(ss_kafka_consumer_t *c, const rd_kafka_topic_partition_list_t *parts) {
    size_t kept = 0, dropped = 0;

    if (!c->batch)
        return;
    c->batch_revoked = 1;
    for (size_t i = 0; i < c->batch_n; i++) {
        rd_kafka_message_t *rkm = c->batch[i];
        int revoked = 0;
        for (int j = 0; j < parts->cnt; j++)
            if (parts->elems[j].partition == rkm->partition &&
                strcmp(parts->elems[j].topic, rd_kafka_topic_name(rkm->rkt)) == 0) {
                revoked = 1;
                break;
            }
        if (revoked) {
            rd_kafka_message_destroy(rkm);
            dropped++;
        } else {
            c->batch[kept++] = rkm;
        }
    }
    for (size_t i = kept; i < c->batch_n; i++)
        c->batch[i] = NULL;
    c->batch_n = kept;
    if (dropped)
        SS_LOG(LOG_INFO, "kafka",
               "dropped %zu unprocessed messages of revoked partitions (next owner reads them)",
               dropped);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t code,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    ss_kafka_consumer_t *c = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t rerr = RD_KAFKA_RESP_ERR_NO_ERROR;

    atomic_fetch_add(&c->rebalances, 1);
    switch (code) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        log_parts(LOG_NOTICE, coop ? "assigned (incremental)" : "assigned", parts);
        if (coop)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            rerr = rd_kafka_assign(rk, parts);
        if (atomic_load(&c->paused) && parts->cnt > 0) {
            /* Keep the "everything paused" promise for partitions arriving during an outage. */
            rd_kafka_topic_partition_list_t *copy = rd_kafka_topic_partition_list_copy(parts);
            rd_kafka_pause_partitions(rk, copy);
            rd_kafka_topic_partition_list_destroy(copy);
        }
        update_assigned(c);
        if (c->on_rebalance)
            c->on_rebalance(c, SS_KAFKA_ASSIGNED, parts, c->opaque);
        break;
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS: {
        int lost = rd_kafka_assignment_lost(rk);
        log_parts(lost ? LOG_WARNING : LOG_NOTICE, lost ? "lost" : "revoked", parts);
        drop_revoked(c, parts);
        if (c->on_rebalance)
            c->on_rebalance(c, lost ? SS_KAFKA_LOST : SS_KAFKA_REVOKED, parts, c->opaque);
        /* With enable.auto.commit=true librdkafka commits the stored offsets of the removed
         * partitions itself on unassign (not for lost ones). On the mock that commit often gets
         * REBALANCE_IN_PROGRESS: the next owner then re-reads a little (at-least-once). */
        if (coop)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            rerr = rd_kafka_assign(rk, NULL);
        update_assigned(c);
        break;
    }
    default:
        SS_LOG(LOG_WARNING, "kafka", "rebalance failed: %s", rd_kafka_err2str(code));
        if (c->batch)
            drop_revoked(c, parts);
        rerr = rd_kafka_assign(rk, NULL);
        atomic_store(&c->assigned, 0);
        break;
    }
    if (error) {
        SS_LOG(LOG_ERR, "kafka", "incremental assignment change failed: %s",
               rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        atomic_fetch_add(&c->errors, 1);
    } else if (rerr) {
        SS_LOG(LOG_ERR, "kafka", "assignment change failed: %s", rd_kafka_err2str(rerr));
        atomic_fetch_add(&c->errors, 1);
    }
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
    ss_kafka_consumer_t *c = opaque;
    ss_kafka_lag_t *tab = ss_xcalloc(SS_KAFKA_LAG_MAX, sizeof(*tab));
    ss_err_t err = SS_ERR_INIT;
    int n;

    (void)rk;
    (void)len;
    ss_kafka_broker_stat_t br[SS_KAFKA_BROKERS_MAX];
    int nb;
    n = ss_kafka_stats_parse_lag(json, tab, SS_KAFKA_LAG_MAX, &err);
    if (n < 0 ||
        (nb = ss_kafka_stats_parse_brokers(json, br, SS_KAFKA_BROKERS_MAX, NULL, &err)) < 0) {
        SS_LOG(LOG_WARNING, "kafka", "%s", err.msg);
        free(tab);
        return 0;
    }
    pthread_mutex_lock(&c->lag_mu);
    free(c->lag);
    c->lag = tab;
    c->lag_n = (size_t)n < SS_KAFKA_LAG_MAX ? (size_t)n : SS_KAFKA_LAG_MAX;
    c->brokers_n = (size_t)nb < SS_KAFKA_BROKERS_MAX ? (size_t)nb : SS_KAFKA_BROKERS_MAX;
    memcpy(c->brokers, br, c->brokers_n * sizeof(*br));
    pthread_mutex_unlock(&c->lag_mu);
    return 0; /* librdkafka frees json */
}

/* No-group mode: assign every partition of the topics at the start position. */
static int assign_all(ss_kafka_consumer_t *c, const char *const *topics, size_t n,
                      ss_kafka_start_t start, ss_err_t *err) {
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new((int)n * 8);
    int64_t off = start == SS_KAFKA_START_END ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, topics[i], NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(c->rk, 0, rkt, &md, 10000);
        if (e) {
            rc = ss_err_set(
                err, ss_kafka_err_class(e) == SS_ERR_RETRIABLE ? SS_ERR_RETRIABLE : SS_ERR_INVAL,
                "cannot get metadata for topic '%s': %s", topics[i], rd_kafka_err2str(e));
        } else if (md->topic_cnt < 1 || md->topics[0].err) {
            rc = ss_err_set(err, SS_ERR_NOTFOUND, "cannot consume topic '%s': %s", topics[i],
                            rd_kafka_err2str(md->topic_cnt ? md->topics[0].err
                                                           : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        } else {
            for (int p = 0; p < md->topics[0].partition_cnt; p++)
                rd_kafka_topic_partition_list_add(parts, topics[i], md->topics[0].partitions[p].id)
                    ->offset = off;
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
    }
    if (rc == 0) {
        rd_kafka_resp_err_t e = rd_kafka_assign(c->rk, parts);
        if (e)
            rc = ss_err_set(err, SS_ERR_INVAL, "cannot assign partitions: %s", rd_kafka_err2str(e));
        else
            atomic_store(&c->assigned, parts->cnt);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

ss_kafka_consumer_t *ss_kafka_consumer_new(const ss_cfg_t *cfg,
                                           const ss_kafka_consumer_opts_t *opts, ss_err_t *err) {
    ss_kafka_consumer_opts_t zero = {0};
    ss_kafka_consumer_t *c = NULL;
    rd_kafka_conf_t *conf = NULL;
    const char *group_id;
    char errstr[512], num[32];

    if (!opts)
        opts = &zero;
    if (opts->topic_count == 0) {
        ss_err_set(err, SS_ERR_INVAL, "kafka consumer needs at least one topic");
        return NULL;
    }
    group_id = opts->group_id;
    if (!group_id && cfg && !opts->no_group)
        group_id = ss_cfg_str(cfg, "group.id");
    if (opts->no_group || (group_id && !*group_id))
        group_id = NULL;
    if (!group_id && !opts->no_group) {
        ss_err_set(err, SS_ERR_INVAL, "kafka consumer needs a group.id");
        return NULL;
    }

    c = ss_xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lag_mu, NULL);
    c->group = group_id != NULL;
    c->on_rebalance = opts->on_rebalance;
    c->opaque = opts->opaque;

    conf = rd_kafka_conf_new();
    {
        const char *defaults[] = {"client.id",
                                  opts->client_id ? opts->client_id : "streamscore",
                                  "auto.offset.reset",
                                  "earliest",
                                  "enable.partition.eof",
                                  "false",
                                  NULL};
        if (conf_set_all(conf, defaults, err) < 0)
            goto fail;
    }
    if (c->group) {
        const char *gdefaults[] = {"group.id",
                                   group_id,
                                   "partition.assignment.strategy",
                                   "cooperative-sticky",
                                   "enable.auto.commit",
                                   "true",
                                   "enable.auto.offset.store",
                                   "false",
                                   NULL};
        if (conf_set_all(conf, gdefaults, err) < 0)
            goto fail;
        if (opts->session_timeout_ms > 0) {
            snprintf(num, sizeof(num), "%d", opts->session_timeout_ms);
            if (ss_kafka_conf_set(conf, "session.timeout.ms", num, err) < 0)
                goto fail;
            /* heartbeat must stay well below the session timeout */
            snprintf(num, sizeof(num), "%d",
                     opts->session_timeout_ms / 3 < 3000 ? opts->session_timeout_ms / 3 : 3000);
            if (ss_kafka_conf_set(conf, "heartbeat.interval.ms", num, err) < 0)
                goto fail;
        }
    } else {
        /* librdkafka 2.0.2 refuses rd_kafka_assign without a group.id ("Unknown group") even
         * though nothing joins: give it a private one that never commits. */
        char gid[64];
        snprintf(gid, sizeof(gid), "streamscore-nogroup-%ld", (long)getpid());
        if (ss_kafka_conf_set(conf, "group.id", gid, err) < 0 ||
            ss_kafka_conf_set(conf, "enable.auto.commit", "false", err) < 0 ||
            ss_kafka_conf_set(conf, "enable.auto.offset.store", "false", err) < 0)
            goto fail;
    }
    snprintf(num, sizeof(num), "%d",
             opts->stats_interval_ms == 0
                 ? 5000
                 : (opts->stats_interval_ms < 0 ? 0 : opts->stats_interval_ms));
    if (ss_kafka_conf_set(conf, "statistics.interval.ms", num, err) < 0)
        goto fail;
    {
        /* brokers and -X pairs on top of our defaults */
        const char *brokers = opts->brokers;
        if (!brokers && cfg)
            brokers = ss_cfg_str(cfg, "brokers");
        if (brokers && *brokers && ss_kafka_conf_set(conf, "bootstrap.servers", brokers, err) < 0)
            goto fail;
        if (cfg)
            for (size_t i = 0; i < ss_cfg_kafka_count(cfg); i++)
                if (ss_kafka_conf_set(conf, ss_cfg_kafka_name(cfg, i), ss_cfg_kafka_value(cfg, i),
                                      err) < 0)
                    goto fail;
    }
    /* At-least-once depends on storing only after the work is durable. */
    if (c->group && ss_kafka_conf_set(conf, "enable.auto.offset.store", "false", err) < 0)
        goto fail;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
    if (c->group)
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, c);

    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!c->rk) {
        ss_err_set(err, SS_ERR_INVAL, "cannot create kafka consumer: %s", errstr);
        goto fail;
    }
    conf = NULL; /* rd_kafka_new took it */
    rd_kafka_poll_set_consumer(c->rk);

    if (c->group) {
        rd_kafka_topic_partition_list_t *subs =
            rd_kafka_topic_partition_list_new((int)opts->topic_count);
        rd_kafka_resp_err_t e;
        for (size_t i = 0; i < opts->topic_count; i++)
            rd_kafka_topic_partition_list_add(subs, opts->topics[i], RD_KAFKA_PARTITION_UA);
        e = rd_kafka_subscribe(c->rk, subs);
        rd_kafka_topic_partition_list_destroy(subs);
        if (e) {
            ss_err_set(err, SS_ERR_INVAL, "cannot subscribe: %s", rd_kafka_err2str(e));
            goto fail;
        }
        SS_LOG(LOG_INFO, "kafka", "consumer joining group '%s' (%zu topics)", group_id,
               opts->topic_count);
    } else if (assign_all(c, opts->topics, opts->topic_count, opts->start, err) < 0) {
        goto fail;
    }
    return c;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (c && c->rk)
        c->closed = 1; /* nothing consumed yet: skip the orderly close */
    ss_kafka_consumer_destroy(c);
    return NULL;
}

int ss_kafka_consumer_poll_batch(ss_kafka_consumer_t *c, rd_kafka_message_t **msgs, size_t max,
                                 int max_wait_ms, ss_err_t *err) {
    int64_t deadline = now_ms() + (max_wait_ms > 0 ? max_wait_ms : 0);
    int rc = 0;
    size_t n;

    if (max == 0)
        return ss_err_set(err, SS_ERR_INVAL, "poll_batch needs room for at least one message");
    c->batch = msgs;
    c->batch_n = 0;
    c->batch_revoked = 0;
    for (;;) {
        rd_kafka_message_t *rkm;
        int64_t left;

        if (c->batch_n >= max)
            break;
        left = deadline - now_ms();
        rkm = rd_kafka_consumer_poll(c->rk, left > 0 ? (int)left : 0);
        if (rkm && rkm->err) {
            rd_kafka_resp_err_t e = rkm->err;
            if (e != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                atomic_fetch_add(&c->errors, 1);
                SS_LOG(LOG_WARNING, "kafka", "consumer error: %s topic=%s partition=%" PRId32,
                       rd_kafka_message_errstr(rkm), rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : "-",
                       rkm->partition);
            }
            rd_kafka_message_destroy(rkm);
            rkm = NULL;
            if (e == RD_KAFKA_RESP_ERR__FATAL && ss_kafka_check_fatal(c->rk, err) < 0) {
                rc = SS_ERR_FATAL;
                break;
            }
        }
        if (rkm)
            msgs[c->batch_n++] = rkm;
        /* Past the deadline, still take what is already fetched (a zero wait drains the
         * queue up to max instead of returning one message). */
        if (c->batch_revoked || (left <= 0 && !rkm))
            break;
    }
    n = c->batch_n;
    c->batch = NULL;
    c->batch_n = 0;
    if (rc < 0) {
        ss_kafka_msgs_destroy(msgs, n);
        return rc;
    }
    return (int)n;
}

void ss_kafka_msgs_destroy(rd_kafka_message_t **msgs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (msgs[i])
            rd_kafka_message_destroy(msgs[i]);
        msgs[i] = NULL;
    }
}

int ss_kafka_consumer_store(ss_kafka_consumer_t *c, rd_kafka_message_t *const *msgs, size_t n,
                            ss_err_t *err) {
    rd_kafka_topic_partition_list_t *offs;
    rd_kafka_resp_err_t e;
    int rc = 0;

    if (!c->group || n == 0)
        return 0;
    offs = rd_kafka_topic_partition_list_new(8);
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_message_t *rkm = msgs[i];
        const char *topic;
        rd_kafka_topic_partition_t *tp;
        if (!rkm || rkm->err)
            continue;
        topic = rd_kafka_topic_name(rkm->rkt);
        tp = rd_kafka_topic_partition_list_find(offs, topic, rkm->partition);
        if (!tp)
            tp = rd_kafka_topic_partition_list_add(offs, topic, rkm->partition);
        else if (tp->offset >= rkm->offset + 1)
            continue;
        tp->offset = rkm->offset + 1;
    }
    e = rd_kafka_offsets_store(c->rk, offs);
    for (int i = 0; i < offs->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &offs->elems[i];
        if (tp->err == RD_KAFKA_RESP_ERR__STATE || tp->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
            SS_LOG(LOG_NOTICE, "kafka",
                   "offset not stored: partition no longer assigned topic=%s partition=%" PRId32
                   " offset=%" PRId64,
                   tp->topic, tp->partition, tp->offset);
        else if (tp->err)
            SS_LOG(LOG_WARNING, "kafka",
                   "offset not stored: %s topic=%s partition=%" PRId32 " offset=%" PRId64,
                   rd_kafka_err2str(tp->err), tp->topic, tp->partition, tp->offset);
    }
    if (e == RD_KAFKA_RESP_ERR__INVALID_ARG)
        rc = ss_err_set(err, SS_ERR_INVAL, "cannot store offsets: %s", rd_kafka_err2str(e));
    else if (e == RD_KAFKA_RESP_ERR__FATAL || ss_kafka_check_fatal(c->rk, NULL) < 0)
        rc = ss_kafka_check_fatal(c->rk, err) < 0
                 ? SS_ERR_FATAL
                 : ss_err_set(err, SS_ERR_FATAL, "cannot store offsets: %s", rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(offs);
    return rc;
}

int ss_kafka_consumer_commit(ss_kafka_consumer_t *c, ss_err_t *err) {
    rd_kafka_resp_err_t e;

    if (!c->group)
        return 0;
    e = rd_kafka_commit(c->rk, NULL, 0);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return 0;
    SS_LOG(LOG_WARNING, "kafka", "commit failed: %s", rd_kafka_err2str(e));
    return ss_err_set(err, ss_kafka_err_class(e) == SS_ERR_FATAL ? SS_ERR_FATAL : SS_ERR_RETRIABLE,
                      "cannot commit offsets: %s", rd_kafka_err2str(e));
}

static int pause_resume(ss_kafka_consumer_t *c, int pause, ss_err_t *err) {
    rd_kafka_topic_partition_list_t *cur = NULL;
    rd_kafka_resp_err_t e;

    atomic_store(&c->paused, pause);
    e = rd_kafka_assignment(c->rk, &cur);
    if (e)
        return ss_err_set(err, SS_ERR_RETRIABLE, "cannot get assignment: %s", rd_kafka_err2str(e));
    e = pause ? rd_kafka_pause_partitions(c->rk, cur) : rd_kafka_resume_partitions(c->rk, cur);
    SS_LOG(LOG_NOTICE, "kafka", "%s %d partitions", pause ? "paused" : "resumed", cur->cnt);
    rd_kafka_topic_partition_list_destroy(cur);
    if (e)
        return ss_err_set(err, SS_ERR_RETRIABLE, "cannot %s partitions: %s",
                          pause ? "pause" : "resume", rd_kafka_err2str(e));
    return 0;
}

int ss_kafka_consumer_pause(ss_kafka_consumer_t *c, ss_err_t *err) {
    return pause_resume(c, 1, err);
}

int ss_kafka_consumer_resume(ss_kafka_consumer_t *c, ss_err_t *err) {
    return pause_resume(c, 0, err);
}

int ss_kafka_consumer_paused(const ss_kafka_consumer_t *c) {
    return atomic_load(&((ss_kafka_consumer_t *)c)->paused);
}

int ss_kafka_consumer_assigned_count(const ss_kafka_consumer_t *c) {
    return atomic_load(&((ss_kafka_consumer_t *)c)->assigned);
}

size_t ss_kafka_consumer_lag(ss_kafka_consumer_t *c, ss_kafka_lag_t *out, size_t max) {
    size_t n;
    pthread_mutex_lock(&c->lag_mu);
    n = c->lag_n < max ? c->lag_n : max;
    if (n)
        memcpy(out, c->lag, n * sizeof(*out));
    pthread_mutex_unlock(&c->lag_mu);
    return n;
}

uint64_t ss_kafka_consumer_rebalances(const ss_kafka_consumer_t *c) {
    return atomic_load(&((ss_kafka_consumer_t *)c)->rebalances);
}

uint64_t ss_kafka_consumer_errors(const ss_kafka_consumer_t *c) {
    return atomic_load(&((ss_kafka_consumer_t *)c)->errors);
}

size_t ss_kafka_consumer_brokers(ss_kafka_consumer_t *c, ss_kafka_broker_stat_t *out, size_t max) {
    size_t n;
    pthread_mutex_lock(&c->lag_mu);
    n = c->brokers_n < max ? c->brokers_n : max;
    if (n)
        memcpy(out, c->brokers, n * sizeof(*out));
    pthread_mutex_unlock(&c->lag_mu);
    return n;
}

/* The collector of ss_kafka_consumer_metrics (the HTTP thread, at each scrape). */
static void consumer_collect(ss_metrics_t *m, void *opaque) {
    ss_kafka_consumer_t *c = opaque;
    ss_kafka_lag_t *lag = ss_xcalloc(SS_KAFKA_LAG_MAX, sizeof(*lag));
    ss_kafka_broker_stat_t br[SS_KAFKA_BROKERS_MAX];
    size_t n = ss_kafka_consumer_lag(c, lag, SS_KAFKA_LAG_MAX);
    size_t nb = ss_kafka_consumer_brokers(c, br, SS_KAFKA_BROKERS_MAX);
    char num[24];

    (void)m;
    /* the series mirror the latest snapshot: a revoked partition or a gone broker disappears */
    ss_metrics_gauge_family_hide(c->lag_fam);
    for (size_t i = 0; i < n; i++) {
        if (lag[i].consumer_lag < 0) /* not known yet: no series rather than a bogus -1 */
            continue;
        snprintf(num, sizeof(num), "%" PRId32, lag[i].partition);
        ss_metrics_gauge_set(
            ss_metrics_gauge_child(c->lag_fam, (const char *const[]){lag[i].topic, num}),
            (double)lag[i].consumer_lag);
    }
    ss_metrics_gauge_family_hide(c->rtt_fam);
    for (size_t i = 0; i < nb; i++) {
        if (br[i].rtt_avg_us < 0)
            continue;
        snprintf(num, sizeof(num), "%" PRId32, br[i].nodeid);
        ss_metrics_gauge_set(ss_metrics_gauge_child(c->rtt_fam, (const char *const[]){num}),
                             (double)br[i].rtt_avg_us / 1e6);
    }
    ss_metrics_gauge_set(c->g_assigned, ss_kafka_consumer_assigned_count(c));
    ss_metrics_gauge_set(c->g_paused, ss_kafka_consumer_paused(c));
    ss_metrics_counter_set(c->c_rebalances, (double)ss_kafka_consumer_rebalances(c));
    ss_metrics_counter_set(c->c_errors, (double)ss_kafka_consumer_errors(c));
    free(lag);
}

void ss_kafka_consumer_metrics(ss_kafka_consumer_t *c, ss_metrics_t *m) {
    if (!c || !m || c->metrics)
        return;
    c->lag_fam = ss_metrics_gauge_family(
        m, "streamscore_consumer_lag_messages",
        "Consumer lag per assigned partition, in messages (librdkafka statistics consumer_lag).",
        (const char *const[]){"topic", "partition"}, 2);
    c->rtt_fam = ss_metrics_gauge_family(
        m, "streamscore_kafka_broker_rtt_seconds",
        "Mean request round-trip time to each broker over the last statistics window.",
        (const char *const[]){"broker"}, 1);
    c->g_assigned = ss_metrics_gauge(m, "streamscore_consumer_assigned_partitions",
                                     "Partitions currently assigned to this consumer.");
    c->g_paused = ss_metrics_gauge(m, "streamscore_consumer_paused",
                                   "1 while consumption is paused (back-pressure or an outage).");
    c->c_rebalances = ss_metrics_counter(m, "streamscore_consumer_rebalances_total",
                                         "Rebalance callbacks served by this consumer.");
    c->c_errors = ss_metrics_counter(m, "streamscore_consumer_errors_total",
                                     "Consumer errors reported by librdkafka.");
    c->metrics = m;
    ss_metrics_add_collector(m, consumer_collect, c);
}

rd_kafka_t *ss_kafka_consumer_handle(ss_kafka_consumer_t *c) { return c->rk; }

int ss_kafka_consumer_close(ss_kafka_consumer_t *c, ss_err_t *err) {
    rd_kafka_resp_err_t e;

    if (!c || c->closed || !c->rk)
        return 0;
    c->closed = 1;
    e = rd_kafka_consumer_close(c->rk);
    atomic_store(&c->assigned, 0);
    if (e) {
        SS_LOG(LOG_WARNING, "kafka", "consumer close: %s", rd_kafka_err2str(e));
        return ss_err_set(err, SS_ERR_RETRIABLE, "cannot close consumer cleanly: %s",
                          rd_kafka_err2str(e));
    }
    SS_LOG(LOG_INFO, "kafka", "consumer closed");
    return 0;
}

void ss_kafka_consumer_destroy(ss_kafka_consumer_t *c) {
    if (!c)
        return;
    ss_metrics_remove_collector(c->metrics, consumer_collect, c);
    if (c->rk) {
        ss_kafka_consumer_close(c, NULL);
        rd_kafka_destroy(c->rk);
    }
    free(c->lag);
    pthread_mutex_destroy(&c->lag_mu);
    free(c);
}

/* ======================================================================================
 * Producer
 * ====================================================================================== */

struct ss_kafka_producer {
    rd_kafka_t *rk;
    int queue_full_wait_ms;
    ss_kafka_delivery_cb_t *on_delivery;
    void *opaque;
    atomic_uint_fast64_t delivered, failed_total, failed_pending;
    ss_metrics_t *metrics; /* ss_kafka_producer_metrics; set once before scrapes start */
    ss_metrics_counter_t *c_delivered, *c_failed;
    ss_metrics_gauge_t *g_in_flight;
};

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque) {
    ss_kafka_producer_t *p = opaque;
    (void)rk;
    if (rkm->err) {
        uint_fast64_t n = atomic_fetch_add(&p->failed_total, 1) + 1;
        atomic_fetch_add(&p->failed_pending, 1);
        /* A burst (broker gone past message.timeout.ms) fails thousands at once: log a few. */
        if (n <= 10 || n % 1000 == 0)
            SS_LOG(LOG_ERR, "kafka",
                   "delivery failed (%" PRIuFAST64 " so far): %s topic=%s partition=%" PRId32, n,
                   rd_kafka_err2str(rkm->err), rd_kafka_topic_name(rkm->rkt), rkm->partition);
    } else {
        atomic_fetch_add(&p->delivered, 1);
    }
    if (p->on_delivery)
        p->on_delivery(p, rkm, p->opaque);
}

ss_kafka_producer_t *ss_kafka_producer_new(const ss_cfg_t *cfg,
                                           const ss_kafka_producer_opts_t *opts, ss_err_t *err) {
    ss_kafka_producer_opts_t zero = {0};
    ss_kafka_producer_t *p;
    rd_kafka_conf_t *conf;
    char errstr[512], num[32];

    if (!opts)
        opts = &zero;
    p = ss_xcalloc(1, sizeof(*p));
    p->queue_full_wait_ms = opts->queue_full_wait_ms > 0 ? opts->queue_full_wait_ms : 30000;
    p->on_delivery = opts->on_delivery;
    p->opaque = opts->opaque;

    conf = rd_kafka_conf_new();
    if (ss_kafka_conf_set(conf, "client.id", opts->client_id ? opts->client_id : "streamscore",
                          err) < 0)
        goto fail;
    snprintf(num, sizeof(num), "%d", opts->linger_ms > 0 ? opts->linger_ms : 5);
    if (ss_kafka_conf_set(conf, "linger.ms", num, err) < 0)
        goto fail;
    if (opts->message_timeout_ms > 0) {
        snprintf(num, sizeof(num), "%d", opts->message_timeout_ms);
        if (ss_kafka_conf_set(conf, "message.timeout.ms", num, err) < 0)
            goto fail;
    }
    snprintf(num, sizeof(num), "%d", opts->stats_interval_ms > 0 ? opts->stats_interval_ms : 0);
    if (ss_kafka_conf_set(conf, "statistics.interval.ms", num, err) < 0)
        goto fail;
    {
        const char *brokers = opts->brokers;
        if (!brokers && cfg)
            brokers = ss_cfg_str(cfg, "brokers");
        if (brokers && *brokers && ss_kafka_conf_set(conf, "bootstrap.servers", brokers, err) < 0)
            goto fail;
        if (cfg)
            for (size_t i = 0; i < ss_cfg_kafka_count(cfg); i++)
                if (ss_kafka_conf_set(conf, ss_cfg_kafka_name(cfg, i), ss_cfg_kafka_value(cfg, i),
                                      err) < 0)
                    goto fail;
    }
    if (ss_kafka_conf_set(conf, "enable.idempotence", "true", err) < 0)
        goto fail;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!p->rk) {
        ss_err_set(err, SS_ERR_INVAL, "cannot create kafka producer: %s", errstr);
        goto fail;
    }
    return p;
fail:
    rd_kafka_conf_destroy(conf);
    free(p);
    return NULL;
}

int ss_kafka_produce_ex(ss_kafka_producer_t *p, const char *topic, const void *key, size_t keylen,
                        const void *val, size_t vallen, rd_kafka_headers_t *hdrs, void *msg_opaque,
                        ss_err_t *err) {
    int64_t deadline = now_ms() + p->queue_full_wait_ms;
    rd_kafka_resp_err_t e;

    for (;;) {
        if (hdrs)
            e = rd_kafka_producev(
                p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)val, vallen),
                RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
        else
            e = rd_kafka_producev(
                p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)val, vallen),
                RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        /* The local queue is full: serve delivery reports to make room, as librdkafka's
         * idempotent_producer example does, and retry until the deadline. */
        if (now_ms() >= deadline)
            return ss_err_set(err, SS_ERR_RETRIABLE,
                              "cannot produce to '%s': local queue full for %d ms", topic,
                              p->queue_full_wait_ms);
        rd_kafka_poll(p->rk, 100);
    }
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_poll(p->rk, 0); /* serve delivery reports as we go */
        return 0;
    }
    if (e == RD_KAFKA_RESP_ERR__FATAL && ss_kafka_check_fatal(p->rk, err) < 0)
        return SS_ERR_FATAL;
    return ss_err_set(err,
                      ss_kafka_err_class(e) == SS_ERR_RETRIABLE ? SS_ERR_RETRIABLE
                      : ss_kafka_err_class(e) == SS_ERR_FATAL   ? SS_ERR_FATAL
                                                                : SS_ERR_INVAL,
                      "cannot produce to '%s': %s", topic, rd_kafka_err2str(e));
}

int ss_kafka_produce(ss_kafka_producer_t *p, const char *topic, const void *key, size_t keylen,
                     const void *val, size_t vallen, ss_err_t *err) {
    return ss_kafka_produce_ex(p, topic, key, keylen, val, vallen, NULL, NULL, err);
}

int ss_kafka_producer_poll(ss_kafka_producer_t *p, int timeout_ms) {
    return rd_kafka_poll(p->rk, timeout_ms);
}

int ss_kafka_producer_flush(ss_kafka_producer_t *p, int timeout_ms, ss_err_t *err) {
    rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, timeout_ms);

    if (ss_kafka_check_fatal(p->rk, err) < 0)
        return SS_ERR_FATAL;
    if (e == RD_KAFKA_RESP_ERR__TIMED_OUT)
        return ss_err_set(err, SS_ERR_RETRIABLE,
                          "kafka flush timed out: %d messages still in flight",
                          rd_kafka_outq_len(p->rk));
    return 0;
}

int ss_kafka_producer_check(ss_kafka_producer_t *p, ss_err_t *err) {
    return ss_kafka_check_fatal(p->rk, err);
}

uint64_t ss_kafka_producer_delivered(const ss_kafka_producer_t *p) {
    return atomic_load(&((ss_kafka_producer_t *)p)->delivered);
}

uint64_t ss_kafka_producer_failed_total(const ss_kafka_producer_t *p) {
    return atomic_load(&((ss_kafka_producer_t *)p)->failed_total);
}

uint64_t ss_kafka_producer_failed_take(ss_kafka_producer_t *p) {
    return atomic_exchange(&p->failed_pending, 0);
}

int ss_kafka_producer_in_flight(ss_kafka_producer_t *p) { return rd_kafka_outq_len(p->rk); }

rd_kafka_t *ss_kafka_producer_handle(ss_kafka_producer_t *p) { return p->rk; }

static void producer_collect(ss_metrics_t *m, void *opaque) {
    ss_kafka_producer_t *p = opaque;
    (void)m;
    ss_metrics_counter_set(p->c_delivered, (double)ss_kafka_producer_delivered(p));
    ss_metrics_counter_set(p->c_failed, (double)ss_kafka_producer_failed_total(p));
    ss_metrics_gauge_set(p->g_in_flight, ss_kafka_producer_in_flight(p));
}

void ss_kafka_producer_metrics(ss_kafka_producer_t *p, ss_metrics_t *m) {
    if (!p || !m || p->metrics)
        return;
    p->c_delivered = ss_metrics_counter(m, "streamscore_producer_delivered_total",
                                        "Messages acknowledged by the broker.");
    p->c_failed = ss_metrics_counter(m, "streamscore_producer_delivery_failures_total",
                                     "Messages whose delivery failed for good.");
    p->g_in_flight = ss_metrics_gauge(m, "streamscore_producer_in_flight_messages",
                                      "Messages queued or awaiting a broker acknowledgement.");
    p->metrics = m;
    ss_metrics_add_collector(m, producer_collect, p);
}

void ss_kafka_producer_destroy(ss_kafka_producer_t *p) {
    if (!p)
        return;
    ss_metrics_remove_collector(p->metrics, producer_collect, p);
    if (rd_kafka_flush(p->rk, 10000) == RD_KAFKA_RESP_ERR__TIMED_OUT)
        SS_LOG(LOG_ERR, "kafka", "producer destroyed with %d messages undelivered",
               rd_kafka_outq_len(p->rk));
    rd_kafka_destroy(p->rk);
    free(p);
}
