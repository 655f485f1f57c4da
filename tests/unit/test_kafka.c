/* Unit tests of ss_kafka's pure parts: property application (kcat -X rules), error classes,
 * statistics lag and broker parsing, constructor argument errors, the producer's metrics
 * collector. No broker, no network. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ss_cfg.h"
#include "ss_kafka.h"
#include "stack_topics.h" /* tools/stack: topic list parsing of streamscore-stack */

static const char *conf_get(rd_kafka_conf_t *conf, const char *name, char *buf, size_t size) {
    if (rd_kafka_conf_get(conf, name, buf, &size) != RD_KAFKA_CONF_OK)
        return NULL;
    return buf;
}

START_TEST(conf_set_global_property) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ss_err_t err = SS_ERR_INIT;
    char buf[64];

    ck_assert_int_eq(ss_kafka_conf_set(conf, "linger.ms", "7", &err), 0);
    ck_assert_int_eq(err.code, 0);
    ck_assert_str_eq(conf_get(conf, "linger.ms", buf, sizeof(buf)), "7");
    rd_kafka_conf_destroy(conf);
}
END_TEST

START_TEST(conf_set_unknown_reports_librdkafka_text) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ss_err_t err = SS_ERR_INIT;

    ck_assert_int_eq(ss_kafka_conf_set(conf, "no.such.thing", "1", &err), SS_ERR_INVAL);
    ck_assert_int_eq(err.code, SS_ERR_INVAL);
    ck_assert_msg(strstr(err.msg, "'no.such.thing'") != NULL, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "No such configuration property") != NULL, "%s", err.msg);
    rd_kafka_conf_destroy(conf);
}
END_TEST

START_TEST(conf_set_bad_value_reports_librdkafka_text) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ss_err_t err = SS_ERR_INIT;

    ck_assert_int_eq(ss_kafka_conf_set(conf, "linger.ms", "soon", &err), SS_ERR_INVAL);
    ck_assert_msg(strstr(err.msg, "cannot set kafka property 'linger.ms': ") == err.msg, "%s",
                  err.msg);
    ck_assert_msg(strlen(err.msg) > strlen("cannot set kafka property 'linger.ms': "), "%s",
                  err.msg);
    rd_kafka_conf_destroy(conf);
}
END_TEST

START_TEST(conf_set_topic_prefix_goes_to_topic_conf) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_conf_t *tconf;
    ss_err_t err = SS_ERR_INIT;
    char buf[64];
    size_t size = sizeof(buf);

    ck_assert_int_eq(ss_kafka_conf_set(conf, "topic.request.required.acks", "1", &err), 0);
    tconf = rd_kafka_conf_get_default_topic_conf(conf);
    ck_assert_ptr_nonnull(tconf);
    ck_assert_int_eq(rd_kafka_topic_conf_get(tconf, "request.required.acks", buf, &size),
                     RD_KAFKA_CONF_OK);
    ck_assert_str_eq(buf, "1");
    rd_kafka_conf_destroy(conf);
}
END_TEST

START_TEST(conf_set_global_topic_named_property_stays_global) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ss_err_t err = SS_ERR_INIT;
    char buf[64];

    ck_assert_int_eq(ss_kafka_conf_set(conf, "topic.metadata.refresh.interval.ms", "12345", &err),
                     0);
    ck_assert_str_eq(conf_get(conf, "topic.metadata.refresh.interval.ms", buf, sizeof(buf)),
                     "12345");
    rd_kafka_conf_destroy(conf);
}
END_TEST

START_TEST(conf_set_topic_prefix_rejects_global_name) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ss_err_t err = SS_ERR_INIT;
    char buf[64];

    /* "client.id" is global: "topic.client.id" must not quietly set it. */
    ck_assert_int_eq(ss_kafka_conf_set(conf, "topic.client.id", "x", &err), SS_ERR_INVAL);
    ck_assert_msg(strstr(err.msg, "'topic.client.id'") != NULL, "%s", err.msg);
    ck_assert_str_ne(conf_get(conf, "client.id", buf, sizeof(buf)), "x");
    rd_kafka_conf_destroy(conf);
}
END_TEST

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "bootstrap servers", 0},
    {"group.id", SS_CFG_STR, "test-group", 0, 0, "consumer group", 0},
};

static ss_cfg_t *load_cfg(int argc, const char **argv) {
    ss_cfg_t *cfg = ss_cfg_new("kafkatest", "test", defs, sizeof(defs) / sizeof(defs[0]));
    ss_err_t err = SS_ERR_INIT;
    char *v[16];
    for (int i = 0; i < argc && i < 15; i++)
        v[i] = (char *)argv[i];
    v[argc] = NULL;
    ck_assert_int_eq(ss_cfg_load(cfg, argc, v, &err), 0);
    return cfg;
}

START_TEST(conf_new_applies_brokers_and_pass_through) {
    const char *argv[] = {"t",
                          "--brokers",
                          "10.0.0.1:9093",
                          "-X",
                          "linger.ms=9",
                          "-X",
                          "topic.request.required.acks=1",
                          NULL};
    ss_cfg_t *cfg = load_cfg(7, argv);
    ss_err_t err = SS_ERR_INIT;
    rd_kafka_conf_t *conf = ss_kafka_conf_new(cfg, NULL, &err);
    char buf[64];

    ck_assert_ptr_nonnull(conf);
    ck_assert_str_eq(conf_get(conf, "bootstrap.servers", buf, sizeof(buf)), "10.0.0.1:9093");
    ck_assert_str_eq(conf_get(conf, "linger.ms", buf, sizeof(buf)), "9");
    rd_kafka_conf_destroy(conf);

    /* an explicit brokers argument wins over the cfg key */
    conf = ss_kafka_conf_new(cfg, "127.0.0.1:1", &err);
    ck_assert_str_eq(conf_get(conf, "bootstrap.servers", buf, sizeof(buf)), "127.0.0.1:1");
    rd_kafka_conf_destroy(conf);
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(conf_new_fails_on_bad_pass_through) {
    const char *argv[] = {"t", "-X", "fetch.wait.max.ms=-5", NULL};
    ss_cfg_t *cfg = load_cfg(3, argv);
    ss_err_t err = SS_ERR_INIT;

    ck_assert_ptr_null(ss_kafka_conf_new(cfg, NULL, &err));
    ck_assert_int_eq(err.code, SS_ERR_INVAL);
    ck_assert_msg(strstr(err.msg, "'fetch.wait.max.ms'") != NULL, "%s", err.msg);
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(producer_rejects_conflicting_idempotence_settings) {
    /* acks=1 contradicts enable.idempotence=true: rd_kafka_new refuses, with its own words. */
    const char *argv[] = {"t", "-X", "acks=1", NULL};
    ss_cfg_t *cfg = load_cfg(3, argv);
    ss_err_t err = SS_ERR_INIT;

    ck_assert_ptr_null(ss_kafka_producer_new(cfg, NULL, &err));
    ck_assert_int_eq(err.code, SS_ERR_INVAL);
    ck_assert_msg(strstr(err.msg, "cannot create kafka producer: ") == err.msg, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "acks") != NULL, "%s", err.msg);
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(consumer_needs_topics_and_group) {
    ss_err_t err = SS_ERR_INIT;
    const char *topics[] = {"t1"};
    ss_kafka_consumer_opts_t o = {.brokers = "127.0.0.1:1"};

    ck_assert_ptr_null(ss_kafka_consumer_new(NULL, &o, &err));
    ck_assert_str_eq(err.msg, "kafka consumer needs at least one topic");
    o.topics = topics;
    o.topic_count = 1;
    ss_err_clear(&err);
    ck_assert_ptr_null(ss_kafka_consumer_new(NULL, &o, &err));
    ck_assert_str_eq(err.msg, "kafka consumer needs a group.id");
}
END_TEST

START_TEST(consumer_bad_pass_through_is_reported) {
    const char *argv[] = {"t", "-X", "session.timeout.ms=banana", NULL};
    ss_cfg_t *cfg = load_cfg(3, argv);
    ss_err_t err = SS_ERR_INIT;
    const char *topics[] = {"t1"};
    ss_kafka_consumer_opts_t o = {.topics = topics, .topic_count = 1};

    ck_assert_ptr_null(ss_kafka_consumer_new(cfg, &o, &err));
    ck_assert_msg(strstr(err.msg, "'session.timeout.ms'") != NULL, "%s", err.msg);
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(err_class_sorts_codes) {
    ck_assert_int_eq(ss_kafka_err_class(RD_KAFKA_RESP_ERR_NO_ERROR), 0);
    ck_assert_int_eq(ss_kafka_err_class(RD_KAFKA_RESP_ERR__FATAL), SS_ERR_FATAL);
    ck_assert_int_eq(ss_kafka_err_class(RD_KAFKA_RESP_ERR_PRODUCER_FENCED), SS_ERR_FATAL);
    ck_assert_int_eq(ss_kafka_err_class(RD_KAFKA_RESP_ERR__TRANSPORT), SS_ERR_RETRIABLE);
    ck_assert_int_eq(ss_kafka_err_class(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), SS_ERR_RETRIABLE);
    ck_assert_int_eq(ss_kafka_err_class(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS), SS_ERR_RETRIABLE);
    ck_assert_int_eq(ss_kafka_err_class(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), SS_ERR_INVAL);
}
END_TEST

/* Trimmed from a real librdkafka 2.0.2 consumer statistics document. */
static const char stats_json[] =
    "{\"name\":\"rdkafka#consumer-1\",\"type\":\"consumer\",\"ts\":1,"
    "\"cgrp\":{\"state\":\"up\",\"join_state\":\"steady\",\"assignment_size\":2},"
    "\"topics\":{"
    " \"transactions\":{\"topic\":\"transactions\",\"partitions\":{"
    "  \"0\":{\"partition\":0,\"fetch_state\":\"active\",\"hi_offset\":120,"
    "        \"committed_offset\":100,\"consumer_lag\":20},"
    "  \"1\":{\"partition\":1,\"fetch_state\":\"none\",\"hi_offset\":50,"
    "        \"committed_offset\":-1001,\"consumer_lag\":-1},"
    "  \"2\":{\"partition\":2,\"fetch_state\":\"offset-query\",\"hi_offset\":-1,"
    "        \"committed_offset\":-1001,\"consumer_lag\":-1},"
    "  \"-1\":{\"partition\":-1,\"fetch_state\":\"none\",\"consumer_lag\":-1}}},"
    " \"customer-features\":{\"topic\":\"customer-features\",\"partitions\":{"
    "  \"3\":{\"partition\":3,\"fetch_state\":\"active\",\"hi_offset\":7,"
    "        \"committed_offset\":7,\"consumer_lag\":0}}}}}";

static const ss_kafka_lag_t *find_lag(const ss_kafka_lag_t *v, int n, const char *topic,
                                      int32_t part) {
    for (int i = 0; i < n; i++)
        if (strcmp(v[i].topic, topic) == 0 && v[i].partition == part)
            return &v[i];
    return NULL;
}

START_TEST(stats_lag_of_consumed_partitions) {
    ss_kafka_lag_t lag[8];
    ss_err_t err = SS_ERR_INIT;
    const ss_kafka_lag_t *l;
    int n = ss_kafka_stats_parse_lag(stats_json, lag, 8, &err);

    ck_assert_int_eq(n, 3); /* p1 (not fetched) and p-1 (internal) skipped */
    l = find_lag(lag, n, "transactions", 0);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(l->consumer_lag, 20);
    ck_assert_int_eq(l->committed_offset, 100);
    ck_assert_int_eq(l->hi_offset, 120);
    l = find_lag(lag, n, "transactions", 2);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(l->consumer_lag, -1);
    l = find_lag(lag, n, "customer-features", 3);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(l->consumer_lag, 0);
    ck_assert_ptr_null(find_lag(lag, n, "transactions", 1));
}
END_TEST

START_TEST(stats_lag_counts_beyond_max) {
    ss_kafka_lag_t lag[1];
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(ss_kafka_stats_parse_lag(stats_json, lag, 1, &err), 3);
    ck_assert_int_eq(ss_kafka_stats_parse_lag("{\"type\":\"producer\"}", lag, 1, &err), 0);
}
END_TEST

START_TEST(stats_malformed_json_is_decode_error) {
    ss_kafka_lag_t lag[1];
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(ss_kafka_stats_parse_lag("{\"topics\":", lag, 1, &err), SS_ERR_DECODE);
    ck_assert_msg(strstr(err.msg, "cannot parse kafka statistics") == err.msg, "%s", err.msg);
    ss_err_clear(&err);
    ck_assert_int_eq(ss_kafka_stats_parse_lag("[1,2]", lag, 1, &err), SS_ERR_DECODE);
    ss_err_clear(&err);
    ck_assert_int_eq(ss_kafka_stats_parse_lag(NULL, lag, 1, &err), SS_ERR_DECODE);
}
END_TEST

/* ---- tools/stack topic list (pure) ---- */

static const stk_topic_t *find_topic(const stk_topics_t *t, const char *name) {
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->v[i].name, name) == 0)
            return &t->v[i];
    return NULL;
}

START_TEST(stack_topics_defaults) {
    stk_topics_t t;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(
        stk_topics_parse(&t, "transactions, transactions.dlq,churn-scores,", NULL, &err), 0);
    ck_assert_int_eq(t.n, 3);
    ck_assert_int_eq(find_topic(&t, "transactions")->partitions, 12);
    ck_assert_int_eq(find_topic(&t, "transactions.dlq")->partitions, 3);
    ck_assert_int_eq(find_topic(&t, "churn-scores")->partitions, 6);
}
END_TEST

START_TEST(stack_topics_override_and_add) {
    stk_topics_t t;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(
        stk_topics_parse(&t, "transactions,drift-alerts", "transactions=4, my_test-1=2", &err), 0);
    ck_assert_int_eq(t.n, 3);
    ck_assert_int_eq(find_topic(&t, "transactions")->partitions, 4);
    ck_assert_int_eq(find_topic(&t, "drift-alerts")->partitions, 6);
    ck_assert_int_eq(find_topic(&t, "my_test-1")->partitions, 2);
}
END_TEST

START_TEST(stack_topics_errors) {
    stk_topics_t t;
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(stk_topics_parse(&t, "a", "a=0", &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "bad --partitions entry 'a=0': partition count must be 1..1000");
    ss_err_clear(&err);
    ck_assert_int_eq(stk_topics_parse(&t, "a", "a=x", &err), SS_ERR_INVAL);
    ss_err_clear(&err);
    ck_assert_int_eq(stk_topics_parse(&t, "a", "a", &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "bad --partitions entry 'a': expected topic=N");
    ss_err_clear(&err);
    ck_assert_int_eq(stk_topics_parse(&t, "a", "=3", &err), SS_ERR_INVAL);
    ss_err_clear(&err);
    ck_assert_int_eq(stk_topics_parse(&t, "a b", NULL, &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "bad topic name 'a b'");
}
END_TEST

/* Written after a librdkafka 2.0.2 consumer's statistics on the mock cluster: bootstrap and
 * logical (coordinator) entries have nodeid -1; rtt windows are microseconds. */
static const char stats_brokers_json[] =
    "{\"name\":\"rdkafka#consumer-1\",\"type\":\"consumer\",\"ts\":1,"
    "\"brokers\":{"
    " \"127.0.0.1:40001/bootstrap\":{\"name\":\"127.0.0.1:40001/bootstrap\",\"nodeid\":-1,"
    "   \"state\":\"UP\",\"rtt\":{\"min\":0,\"max\":0,\"avg\":0,\"cnt\":0,\"p99\":0}},"
    " \"127.0.0.1:40003/3\":{\"name\":\"127.0.0.1:40003/3\",\"nodeid\":3,\"state\":\"UP\","
    "   \"rtt\":{\"min\":90,\"max\":2100,\"avg\":350,\"cnt\":12,\"p50\":300,\"p99\":2047}},"
    " \"127.0.0.1:40001/1\":{\"name\":\"127.0.0.1:40001/1\",\"nodeid\":1,\"state\":\"UP\","
    "   \"rtt\":{\"min\":100,\"max\":900,\"avg\":500250,\"cnt\":4,\"p99\":901}},"
    " \"127.0.0.1:40002/2\":{\"name\":\"127.0.0.1:40002/2\",\"nodeid\":2,\"state\":\"DOWN\","
    "   \"rtt\":{\"min\":0,\"max\":0,\"avg\":0,\"cnt\":0,\"p99\":0}},"
    " \"GroupCoordinator\":{\"name\":\"GroupCoordinator\",\"nodeid\":-1,\"state\":\"UP\"}},"
    "\"cgrp\":{\"state\":\"up\",\"join_state\":\"steady\",\"rebalance_cnt\":3,"
    "  \"assignment_size\":4}}";

START_TEST(stats_brokers_rtt_sorted_by_id) {
    ss_kafka_broker_stat_t b[8];
    ss_err_t err = SS_ERR_INIT;
    int64_t reb = 0;
    int n = ss_kafka_stats_parse_brokers(stats_brokers_json, b, 8, &reb, &err);

    ck_assert_int_eq(n, 3); /* bootstrap and coordinator entries skipped */
    ck_assert_int_eq(reb, 3);
    ck_assert_int_eq(b[0].nodeid, 1);
    ck_assert_str_eq(b[0].name, "127.0.0.1:40001/1");
    ck_assert_int_eq(b[0].rtt_avg_us, 500250);
    ck_assert_int_eq(b[0].rtt_p99_us, 901);
    ck_assert_int_eq(b[1].nodeid, 2);
    ck_assert_str_eq(b[1].state, "DOWN");
    ck_assert_int_eq(b[1].rtt_avg_us, -1); /* no request in the window */
    ck_assert_int_eq(b[1].rtt_p99_us, -1);
    ck_assert_int_eq(b[2].nodeid, 3);
    ck_assert_int_eq(b[2].rtt_avg_us, 350);
    ck_assert_int_eq(b[2].rtt_p99_us, 2047);
}
END_TEST

START_TEST(stats_brokers_limits_and_errors) {
    ss_kafka_broker_stat_t b[1];
    ss_err_t err = SS_ERR_INIT;
    int64_t reb = 7;
    ck_assert_int_eq(ss_kafka_stats_parse_brokers(stats_brokers_json, b, 1, NULL, &err), 3);
    ck_assert_int_eq(ss_kafka_stats_parse_brokers("{\"type\":\"producer\"}", b, 1, &reb, &err), 0);
    ck_assert_int_eq(reb, -1); /* no consumer group */
    ck_assert_int_eq(ss_kafka_stats_parse_brokers("{\"brokers\":", b, 1, &reb, &err),
                     SS_ERR_DECODE);
    ck_assert_msg(strstr(err.msg, "cannot parse kafka statistics") != NULL, "%s", err.msg);
    ss_err_clear(&err);
    ck_assert_int_eq(ss_kafka_stats_parse_brokers("[1]", b, 1, &reb, &err), SS_ERR_DECODE);
    /* an entry of the wrong shape is skipped, not a crash */
    ck_assert_int_eq(ss_kafka_stats_parse_brokers(
                         "{\"brokers\":{\"x\":{\"nodeid\":\"1\"},\"y\":7}}", b, 1, &reb, &err),
                     0);
}
END_TEST

/* The producer's /metrics collector mirrors its counters and leaves with the producer: a scrape
 * after destroy must not touch it (ASan checks the removal). No message is produced. */
START_TEST(producer_metrics_collector_leaves_with_the_producer) {
    ss_err_t err = SS_ERR_INIT;
    ss_metrics_t *m = ss_metrics_new();
    ss_kafka_producer_t *p =
        ss_kafka_producer_new(NULL, &(ss_kafka_producer_opts_t){.brokers = "127.0.0.1:1"}, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    ss_kafka_producer_metrics(p, m);
    ss_kafka_producer_metrics(p, m); /* idempotent */
    char *text = ss_metrics_render(m, NULL);
    ck_assert_msg(strstr(text, "# TYPE streamscore_producer_delivered_total counter\n"
                               "streamscore_producer_delivered_total 0\n") != NULL,
                  "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "streamscore_producer_delivery_failures_total 0\n"));
    /* rd_kafka_outq_len also counts error events of the unreachable broker: any value */
    ck_assert_ptr_nonnull(strstr(text, "\nstreamscore_producer_in_flight_messages "));
    free(text);
    ss_kafka_producer_destroy(p);
    text = ss_metrics_render(m, NULL);
    ck_assert_ptr_nonnull(strstr(text, "streamscore_producer_delivered_total 0\n"));
    free(text);
    ss_kafka_producer_metrics(NULL, m);
    ss_metrics_destroy(m);
}
END_TEST

Suite *kafka_suite(void) {
    Suite *s = suite_create("kafka");
    TCase *tc = tcase_create("conf");
    tcase_add_test(tc, conf_set_global_property);
    tcase_add_test(tc, conf_set_unknown_reports_librdkafka_text);
    tcase_add_test(tc, conf_set_bad_value_reports_librdkafka_text);
    tcase_add_test(tc, conf_set_topic_prefix_goes_to_topic_conf);
    tcase_add_test(tc, conf_set_global_topic_named_property_stays_global);
    tcase_add_test(tc, conf_set_topic_prefix_rejects_global_name);
    tcase_add_test(tc, conf_new_applies_brokers_and_pass_through);
    tcase_add_test(tc, conf_new_fails_on_bad_pass_through);
    tcase_add_test(tc, producer_rejects_conflicting_idempotence_settings);
    tcase_add_test(tc, consumer_needs_topics_and_group);
    tcase_add_test(tc, consumer_bad_pass_through_is_reported);
    tcase_add_test(tc, err_class_sorts_codes);
    suite_add_tcase(s, tc);
    tc = tcase_create("stats");
    tcase_add_test(tc, stats_lag_of_consumed_partitions);
    tcase_add_test(tc, stats_lag_counts_beyond_max);
    tcase_add_test(tc, stats_malformed_json_is_decode_error);
    tcase_add_test(tc, stats_brokers_rtt_sorted_by_id);
    tcase_add_test(tc, stats_brokers_limits_and_errors);
    tcase_add_test(tc, producer_metrics_collector_leaves_with_the_producer);
    suite_add_tcase(s, tc);
    tc = tcase_create("stack");
    tcase_add_test(tc, stack_topics_defaults);
    tcase_add_test(tc, stack_topics_override_and_add);
    tcase_add_test(tc, stack_topics_errors);
    suite_add_tcase(s, tc);
    return s;
}
