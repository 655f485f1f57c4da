/* scorer_replay: state rebuild from the features topic up to the committed offsets. */
#include "scorer_replay.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "ss_kafka.h"
#include "ss_log.h"

#define BATCH 2000

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct part {
    int64_t target; /* replay offsets < target */
    int done;
} part_t;

int scorer_replay(const ss_cfg_t *cfg, const scorer_replay_opts_t *o, scorer_state_t *st,
                  scorer_codec_t *codec, churn_model_t *m, scorer_pipe_stats_t *stats,
                  uint64_t *events, ss_err_t *err) {
    char errstr[512];
    int timeout = o->timeout_ms ? o->timeout_ms : 120000;
    int64_t deadline = mono_ms() + timeout;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_t *rkt = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL, *assign = NULL;
    part_t *pp = NULL;
    scorer_event_t *evs = ss_xmalloc(BATCH * sizeof(*evs));
    size_t nev = 0;
    uint64_t nread = 0;
    int np = 0, pending = 0, rc;
    rd_kafka_resp_err_t e;

    rd_kafka_conf_t *conf = ss_kafka_conf_new(cfg, NULL, err);
    if (!conf) {
        rc = SS_ERR_FATAL;
        goto out;
    }
    if ((rc = ss_kafka_conf_set(conf, "group.id", o->group_id, err)) < 0 ||
        (rc = ss_kafka_conf_set(conf, "enable.auto.commit", "false", err)) < 0 ||
        (rc = ss_kafka_conf_set(conf, "enable.auto.offset.store", "false", err)) < 0 ||
        (rc = ss_kafka_conf_set(conf, "enable.partition.eof", "true", err)) < 0 ||
        (rc = ss_kafka_conf_set(conf, "client.id", "streamscore-scorer-replay", err)) < 0) {
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr))) {
        rd_kafka_conf_destroy(conf);
        rc = ss_err_set(err, SS_ERR_FATAL, "cannot create replay consumer: %s", errstr);
        goto out;
    }
    rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    if ((e = rd_kafka_metadata(rk, 0, rkt, &md, timeout)) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topic_cnt != 1 || md->topics[0].err) {
        rc = ss_err_set(err, SS_ERR_RETRIABLE, "cannot get metadata of topic '%s': %s", o->topic,
                        rd_kafka_err2str(e                     ? e
                                         : md && md->topic_cnt ? md->topics[0].err
                                                               : e));
        goto out;
    }
    np = md->topics[0].partition_cnt;
    parts = rd_kafka_topic_partition_list_new(np);
    for (int i = 0; i < np; i++)
        rd_kafka_topic_partition_list_add(parts, o->topic, md->topics[0].partitions[i].id);
    if ((e = rd_kafka_committed(rk, parts, timeout)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rc = ss_err_set(err, SS_ERR_RETRIABLE, "cannot read committed offsets of group '%s': %s",
                        o->group_id, rd_kafka_err2str(e));
        goto out;
    }
    pp = ss_xcalloc((size_t)np, sizeof(*pp));
    assign = rd_kafka_topic_partition_list_new(np);
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t lo, hi;
        pp[i].done = 1;
        if (tp->offset <= 0)
            continue;
        if ((e = rd_kafka_query_watermark_offsets(rk, o->topic, tp->partition, &lo, &hi,
                                                  timeout)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rc = ss_err_set(err, SS_ERR_RETRIABLE, "cannot query offsets of '%s' [%d]: %s",
                            o->topic, (int)tp->partition, rd_kafka_err2str(e));
            goto out;
        }
        pp[i].target = tp->offset < hi ? tp->offset : hi;
        if (pp[i].target <= lo)
            continue;
        pp[i].done = 0;
        pending++;
        rd_kafka_topic_partition_list_add(assign, o->topic, tp->partition)->offset = lo;
    }
    SS_LOG(LOG_INFO, "replay",
           "rebuilding state from '%s': %d of %d partitions up to the offsets "
           "committed by group '%s'",
           o->topic, pending, np, o->group_id);
    if (pending && (e = rd_kafka_assign(rk, assign)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rc = ss_err_set(err, SS_ERR_RETRIABLE, "cannot assign replay partitions: %s",
                        rd_kafka_err2str(e));
        goto out;
    }
    while (pending > 0) {
        if (o->stop && *o->stop) {
            rc = ss_err_set(err, SS_ERR_EXIT, "replay interrupted");
            goto out;
        }
        if (mono_ms() > deadline) {
            rc = ss_err_set(err, SS_ERR_RETRIABLE,
                            "replay of '%s' did not finish within %d ms (%d partitions left)",
                            o->topic, timeout, pending);
            goto out;
        }
        if ((rc = ss_kafka_check_fatal(rk, err)) < 0)
            goto out;
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);
        if (rkm) {
            int idx = -1;
            for (int i = 0; i < np; i++) {
                if (parts->elems[i].partition == rkm->partition)
                    idx = i;
            }
            if (idx >= 0 && !pp[idx].done) {
                if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ||
                    (!rkm->err && rkm->offset >= pp[idx].target)) {
                    pp[idx].done = 1;
                    pending--;
                } else if (!rkm->err) {
                    ss_err_t derr = SS_ERR_INIT;
                    nread++;
                    if (scorer_codec_decode(codec, rkm->payload, rkm->len, &evs[nev], &derr) == 0)
                        nev++;
                    if (rkm->offset + 1 >= pp[idx].target) {
                        pp[idx].done = 1;
                        pending--;
                    }
                }
            }
            rd_kafka_message_destroy(rkm);
        }
        if (nev == BATCH || (nev > 0 && (!rkm || pending == 0))) {
            if ((rc = scorer_pipe_batch(st, codec, m, evs, nev, o->sweep, o->sweep_chunk, NULL,
                                        NULL, stats, NULL, err)) < 0)
                goto out;
            nev = 0;
        }
    }
    SS_LOG(LOG_INFO, "replay", "state rebuilt: %llu events, %zu customers, clock %lld",
           (unsigned long long)nread, scorer_state_customers(st),
           (long long)scorer_state_clock(st));
    rc = 0;
out:
    if (events)
        *events = nread;
    if (rk)
        rd_kafka_consumer_close(rk);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (assign)
        rd_kafka_topic_partition_list_destroy(assign);
    if (rk)
        rd_kafka_destroy(rk);
    free(pp);
    free(evs);
    return rc;
}
