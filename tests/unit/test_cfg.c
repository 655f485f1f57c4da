/* Unit tests for ss_cfg: precedence, file syntax and errors, validation, pass-through order,
 * masking, help/markdown, positional arguments, @file secrets. Files live in a mkdtemp dir;
 * environment variables are set per test and removed in the teardown. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ss_cfg.h"
#include "ss_log.h"

static const ss_cfg_def_t defs[] = {
    {"brokers", SS_CFG_STR, "127.0.0.1:9092", 0, 0, "Kafka bootstrap servers", 0},
    {"redis.host", SS_CFG_STR, "127.0.0.1", 0, 0, "Redis host", 0},
    {"redis.port", SS_CFG_INT, "6379", 1, 65535, "Redis port", 0},
    {"redis.password", SS_CFG_STR, NULL, 0, 0, "Redis AUTH password", SS_CFG_SECRET},
    {"group.id", SS_CFG_STR, "cfgtest", 0, 0, "consumer group", 0},
    {"topic.churn-scores", SS_CFG_STR, "churn-scores", 0, 0, "output topic", 0},
    {"ratio", SS_CFG_DOUBLE, "0.5", 0, 1, "a fraction", 0},
    {"batch", SS_CFG_INT, "100", 0, 0, "unbounded integer", 0},
    {"dry-run", SS_CFG_BOOL, "false", 0, 0, "do not write", 0},
    {"mode", SS_CFG_STR, "fast", 0, 0, "how to run", 0, "fast|slow"},
    {"limit", SS_CFG_INT, NULL, 0, 0, "optional limit", 0},
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

/* Every variable a test may set; the teardown removes them all. */
static const char *const env_names[] = {"SS_CFGTEST_BROKERS",
                                        "SS_CFGTEST_REDIS_HOST",
                                        "SS_CFGTEST_REDIS_PORT",
                                        "SS_CFGTEST_REDIS_PASSWORD",
                                        "SS_CFGTEST_TOPIC_CHURN_SCORES",
                                        "SS_CFGTEST_RATIO",
                                        "SS_CFGTEST_DRY_RUN",
                                        "SS_CFGTEST_LOG_LEVEL",
                                        "SS_CFGTEST_LOG_FORMAT",
                                        "SS_LOG_LEVEL",
                                        "SS_LOG_FORMAT",
                                        "SS_CFGTEST_MODE",
                                        "SS_CFGTEST_GROUP_ID",
                                        "SS_MY_SVC_A_B_C",
                                        "SS_CFGTEST_BATCH"};

static char tmpdir[256];
static char paths[16][512];
static int npaths;

static void setup(void) {
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ss_cfg_test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    npaths = 0;
    for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
        unsetenv(env_names[i]);
}

static void teardown(void) {
    for (int i = 0; i < npaths; i++)
        unlink(paths[i]);
    rmdir(tmpdir);
    for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
        unsetenv(env_names[i]);
}

/* Writes content to tmpdir/name; returns the path (static storage, valid for the test). */
static const char *write_file(const char *name, const char *content) {
    ck_assert_int_lt(npaths, 16);
    char *p = paths[npaths++];
    snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
    return p;
}

static ss_cfg_t *mk(void) { return ss_cfg_new("cfgtest", "a test service", defs, NDEFS); }

/* Loads with a NULL-terminated argument list (argv[0] is added). */
static int loadv(ss_cfg_t *cfg, ss_err_t *err, ...) {
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"/usr/bin/streamscore-cfgtest";
    va_list ap;
    va_start(ap, err);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 31)
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return ss_cfg_load(cfg, argc, argv, err);
}

/* Runs ss_cfg_load with stdout redirected to a temporary file; returns the output (malloc). */
static char *load_capture(ss_cfg_t *cfg, ss_err_t *err, int *rc, int argc, char **argv) {
    fflush(stdout);
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    int saved = dup(STDOUT_FILENO);
    dup2(fileno(tmp), STDOUT_FILENO);
    *rc = ss_cfg_load(cfg, argc, argv, err);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    fseek(tmp, 0, SEEK_END);
    long n = ftell(tmp);
    rewind(tmp);
    char *buf = calloc(1, (size_t)n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, tmp), (size_t)n);
    fclose(tmp);
    return buf;
}

static char *print_to_string(void (*fn)(const ss_cfg_t *, FILE *), const ss_cfg_t *cfg) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    fn(cfg, f);
    fclose(f);
    return buf;
}

/* ------------------------------------------------------------------ defaults and precedence */

START_TEST(defaults_from_table) {
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(loadv(cfg, &err, NULL), 0);
    ck_assert_str_eq(ss_cfg_str(cfg, "brokers"), "127.0.0.1:9092");
    ck_assert_int_eq(ss_cfg_int(cfg, "redis.port"), 6379);
    ck_assert_double_eq(ss_cfg_double(cfg, "ratio"), 0.5);
    ck_assert_int_eq(ss_cfg_bool(cfg, "dry-run"), 0);
    ck_assert_str_eq(ss_cfg_str(cfg, "redis.password"), "");
    ck_assert_int_eq(ss_cfg_is_set(cfg, "redis.password"), 0);
    ck_assert_int_eq(ss_cfg_is_set(cfg, "limit"), 0);
    ck_assert_int_eq(ss_cfg_int(cfg, "limit"), 0);
    ck_assert_int_eq(ss_cfg_is_set(cfg, "brokers"), 1);
    ck_assert_str_eq(ss_cfg_source(cfg, "brokers"), "default");
    ck_assert_str_eq(ss_cfg_str(cfg, "log.level"), "info");
    ck_assert_str_eq(ss_cfg_str(cfg, "log.format"), "text");
    ck_assert_str_eq(ss_cfg_str(cfg, "redis.port"), "6379"); /* str works for every type */
    ck_assert_int_eq(ss_cfg_argc(cfg), 0);
    ck_assert_int_eq(ss_cfg_kafka_count(cfg), 0);
    ck_assert_int_eq(err.code, 0);
    ss_cfg_destroy(cfg);
    ss_cfg_destroy(NULL);
}
END_TEST

START_TEST(precedence_across_all_sources) {
    const char *conf = write_file("a.conf", "brokers=file:1\n"
                                            "redis.host=file-host\n"
                                            "redis.port=1001\n"
                                            "group.id=file-group\n");
    setenv("SS_CFGTEST_REDIS_HOST", "env-host", 1);
    setenv("SS_CFGTEST_REDIS_PORT", "2002", 1);
    setenv("SS_CFGTEST_GROUP_ID", "env-group", 1);
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    /* cli comes first on the line yet wins: order of application is fixed, not argv order */
    int rc = loadv(cfg, &err, "--group.id=cli-group", "--redis.port", "3003", "-c", conf, NULL);
    unsetenv("SS_CFGTEST_GROUP_ID");
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_str_eq(ss_cfg_str(cfg, "brokers"), "file:1");
    ck_assert_str_eq(ss_cfg_source(cfg, "brokers"), "file");
    ck_assert_str_eq(ss_cfg_str(cfg, "redis.host"), "env-host");
    ck_assert_str_eq(ss_cfg_source(cfg, "redis.host"), "env");
    ck_assert_int_eq(ss_cfg_int(cfg, "redis.port"), 3003);
    ck_assert_str_eq(ss_cfg_source(cfg, "redis.port"), "cli");
    ck_assert_str_eq(ss_cfg_str(cfg, "group.id"), "cli-group");
    ck_assert_str_eq(ss_cfg_str(cfg, "topic.churn-scores"), "churn-scores");
    ck_assert_str_eq(ss_cfg_source(cfg, "topic.churn-scores"), "default");
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(env_names_and_empty_means_unset) {
    setenv("SS_CFGTEST_TOPIC_CHURN_SCORES", "scores-x", 1);
    setenv("SS_CFGTEST_REDIS_HOST", "", 1);
    const char *conf = write_file("b.conf", "redis.host=from-file\n");
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(loadv(cfg, &err, "-c", conf, NULL), 0);
    ck_assert_str_eq(ss_cfg_str(cfg, "topic.churn-scores"), "scores-x");
    ck_assert_str_eq(ss_cfg_str(cfg, "redis.host"), "from-file");
    ss_cfg_destroy(cfg);

    /* service names are upper-cased and '-' becomes '_' too */
    static const ss_cfg_def_t one[] = {{"a.b-c", SS_CFG_STR, "x", 0, 0, "k", 0}};
    setenv("SS_MY_SVC_A_B_C", "from-env", 1);
    cfg = ss_cfg_new("my-svc", NULL, one, 1);
    ck_assert_int_eq(loadv(cfg, &err, NULL), 0);
    unsetenv("SS_MY_SVC_A_B_C");
    ck_assert_str_eq(ss_cfg_str(cfg, "a.b-c"), "from-env");
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(later_file_overrides_earlier) {
    const char *a = write_file("1.conf", "brokers=one\nredis.port=1\n");
    const char *b = write_file("2.conf", "brokers=two\n");
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(loadv(cfg, &err, "-c", a, "--config", b, NULL), 0);
    ck_assert_str_eq(ss_cfg_str(cfg, "brokers"), "two");
    ck_assert_int_eq(ss_cfg_int(cfg, "redis.port"), 1);
    ss_cfg_destroy(cfg);
}
END_TEST

/* ------------------------------------------------------------------ file syntax and errors */

START_TEST(file_syntax) {
    const char *conf = write_file("s.conf", "# a comment\n"
                                            "\n"
                                            "   \t\n"
                                            "  brokers \t=  h1:9092,h2:9092  \n"
                                            "   # indented comment\n"
                                            "group.id=a=b#c\n"
                                            "redis.host=\n"
                                            "redis.port=6390\r\n"
                                            "mode=SLOW\n");
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    ck_assert_msg(loadv(cfg, &err, "-c", conf, NULL) == 0, "%s", err.msg);
    ck_assert_str_eq(ss_cfg_str(cfg, "brokers"), "h1:9092,h2:9092");
    ck_assert_str_eq(ss_cfg_str(cfg, "group.id"), "a=b#c");
    ck_assert_str_eq(ss_cfg_str(cfg, "redis.host"), "");
    ck_assert_int_eq(ss_cfg_int(cfg, "redis.port"), 6390);
    ck_assert_str_eq(ss_cfg_str(cfg, "mode"), "slow"); /* stored as declared */
    ss_cfg_destroy(cfg);
}
END_TEST

static void expect_file_error(const char *content, const char *want_suffix, int want_code) {
    const char *conf = write_file("bad.conf", content);
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(loadv(cfg, &err, "-c", conf, NULL), want_code);
    ck_assert_int_eq(err.code, want_code);
    char want[768];
    snprintf(want, sizeof(want), "%s%s", conf, want_suffix);
    ck_assert_str_eq(err.msg, want);
    ss_cfg_destroy(cfg);
}

START_TEST(file_errors_name_the_line) {
    expect_file_error("brokers=x\n# c\n\nredis.prot=1\n", ":4: unknown key 'redis.prot'",
                      SS_ERR_INVAL);
    expect_file_error("brokers=x\njust words\n", ":2: expected key=value", SS_ERR_INVAL);
    expect_file_error("=value\n", ":1: expected key=value", SS_ERR_INVAL);
    expect_file_error("kafka.=1\n", ":1: expected kafka.<name>=value", SS_ERR_INVAL);
    expect_file_error("\n\nredis.port=abc\n",
                      ":3: invalid value 'abc' for 'redis.port': not an integer", SS_ERR_INVAL);
    expect_file_error("redis.port=70000\n",
                      ":1: value 70000 for 'redis.port' out of range [1, 65535]", SS_ERR_INVAL);
}
END_TEST

START_TEST(missing_file) {
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(loadv(cfg, &err, "-c", "/nonexistent/x.conf", NULL), SS_ERR_IO);
    ck_assert_str_eq(err.msg,
                     "cannot open config file '/nonexistent/x.conf': No such file or directory");
    ss_cfg_destroy(cfg);
}
END_TEST

/* ------------------------------------------------------------------ validation */

static void expect_cli_error(const char *arg, const char *want) {
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(loadv(cfg, &err, arg, NULL), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, want);
    ss_cfg_destroy(cfg);
}

START_TEST(type_and_range_validation) {
    expect_cli_error("--redis.port=abc", "invalid value 'abc' for 'redis.port': not an integer");
    expect_cli_error("--redis.port=12x", "invalid value '12x' for 'redis.port': not an integer");
    expect_cli_error("--redis.port=", "invalid value '' for 'redis.port': not an integer");
    expect_cli_error("--redis.port= 5", "invalid value ' 5' for 'redis.port': not an integer");
    expect_cli_error("--redis.port=70000", "value 70000 for 'redis.port' out of range [1, 65535]");
    expect_cli_error("--redis.port=0", "value 0 for 'redis.port' out of range [1, 65535]");
    expect_cli_error("--batch=99999999999999999999",
                     "invalid value '99999999999999999999' for 'batch': not a 64-bit integer");
    expect_cli_error("--ratio=1.5", "value 1.5 for 'ratio' out of range [0, 1]");
    expect_cli_error("--ratio=half", "invalid value 'half' for 'ratio': not a number");
    expect_cli_error("--ratio=nan", "invalid value 'nan' for 'ratio': not a finite number");
    expect_cli_error("--dry-run=maybe", "invalid value 'maybe' for 'dry-run': not a boolean "
                                        "(true/false/1/0/yes/no/on/off)");
    expect_cli_error("--mode=medium",
                     "invalid value 'medium' for 'mode': expected one of fast|slow");
    expect_cli_error("--log.level=loud", "invalid value 'loud' for 'log.level': expected one of "
                                         "err|warning|notice|info|debug");

    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(loadv(cfg, &err, "--redis.port=65535", "--batch=-7", "--ratio=1e-3", NULL), 0);
    ck_assert_int_eq(ss_cfg_int(cfg, "redis.port"), 65535);
    ck_assert_int_eq(ss_cfg_int(cfg, "batch"), -7);
    ck_assert_double_eq(ss_cfg_double(cfg, "ratio"), 0.001);
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(env_value_errors_name_the_variable) {
    setenv("SS_CFGTEST_REDIS_PORT", "abc", 1);
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(loadv(cfg, &err, "--redis.port=5", NULL), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "environment SS_CFGTEST_REDIS_PORT: invalid value 'abc' for "
                              "'redis.port': not an integer");
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(set_validates) {
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(ss_cfg_set(cfg, "redis.port", "7000", &err), 0);
    ck_assert_int_eq(ss_cfg_int(cfg, "redis.port"), 7000);
    ck_assert_str_eq(ss_cfg_source(cfg, "redis.port"), "set");
    ck_assert_int_eq(ss_cfg_set(cfg, "redis.port", "-1", &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "value -1 for 'redis.port' out of range [1, 65535]");
    ck_assert_int_eq(ss_cfg_int(cfg, "redis.port"), 7000); /* unchanged on error */
    ck_assert_int_eq(ss_cfg_set(cfg, "nope", "1", &err), SS_ERR_NOTFOUND);
    ck_assert_str_eq(err.msg, "unknown key 'nope'");
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(bool_words) {
    static const char *const t[] = {"true", "1", "yes", "on", "TRUE", "Yes", "ON"};
    static const char *const f[] = {"false", "0", "no", "off", "False", "NO", "Off"};
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        ck_assert_int_eq(ss_cfg_set(cfg, "dry-run", t[i], &err), 0);
        ck_assert_int_eq(ss_cfg_bool(cfg, "dry-run"), 1);
        ck_assert_int_eq(ss_cfg_set(cfg, "dry-run", f[i], &err), 0);
        ck_assert_int_eq(ss_cfg_bool(cfg, "dry-run"), 0);
    }
    ck_assert_int_eq(ss_cfg_set(cfg, "dry-run", "2", &err), SS_ERR_INVAL);
    ss_cfg_destroy(cfg);

    /* bare --flag is true; a following boolean word is its value; anything else stays positional */
    cfg = mk();
    ck_assert_int_eq(loadv(cfg, &err, "--dry-run", "input.csv", NULL), 0);
    ck_assert_int_eq(ss_cfg_bool(cfg, "dry-run"), 1);
    ck_assert_int_eq(ss_cfg_argc(cfg), 1);
    ck_assert_str_eq(ss_cfg_arg(cfg, 0), "input.csv");
    ss_cfg_destroy(cfg);
    cfg = mk();
    setenv("SS_CFGTEST_DRY_RUN", "on", 1);
    ck_assert_int_eq(loadv(cfg, &err, "--dry-run", "off", NULL), 0);
    ck_assert_int_eq(ss_cfg_bool(cfg, "dry-run"), 0);
    ck_assert_int_eq(ss_cfg_argc(cfg), 0);
    ss_cfg_destroy(cfg);
}
END_TEST

/* ------------------------------------------------------------------ command line */

START_TEST(cli_errors) {
    expect_cli_error("--foo", "unknown option '--foo'");
    expect_cli_error("--foo=bar", "unknown option '--foo'");
    expect_cli_error("--redis.portx=1", "unknown option '--redis.portx'");
    expect_cli_error("-z", "unknown option '-z'");
    expect_cli_error("--redis.port", "option '--redis.port' needs a value");
    expect_cli_error("-c", "option '-c' needs a value");
    expect_cli_error("-X", "option '-X' needs a value");
    expect_cli_error("-Xdebug", "expected name=value after -X, got 'debug'");
    expect_cli_error("-X=1", "expected name=value after -X, got '=1'");
}
END_TEST

START_TEST(positional_args) {
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(
        loadv(cfg, &err, "first", "--brokers", "b:1", "-", "second", "--", "--batch=5", "-c", NULL),
        0);
    ck_assert_str_eq(ss_cfg_str(cfg, "brokers"), "b:1");
    ck_assert_int_eq(ss_cfg_int(cfg, "batch"), 100);
    ck_assert_int_eq(ss_cfg_argc(cfg), 5);
    ck_assert_str_eq(ss_cfg_arg(cfg, 0), "first");
    ck_assert_str_eq(ss_cfg_arg(cfg, 1), "-");
    ck_assert_str_eq(ss_cfg_arg(cfg, 2), "second");
    ck_assert_str_eq(ss_cfg_arg(cfg, 3), "--batch=5");
    ck_assert_str_eq(ss_cfg_arg(cfg, 4), "-c");
    /* a second load starts the positional and -X lists over */
    ck_assert_int_eq(loadv(cfg, &err, "only", "-X", "debug=all", NULL), 0);
    ck_assert_int_eq(ss_cfg_argc(cfg), 1);
    ck_assert_str_eq(ss_cfg_arg(cfg, 0), "only");
    ck_assert_int_eq(ss_cfg_kafka_count(cfg), 1);
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(kafka_passthrough_order) {
    const char *conf = write_file("k.conf", "kafka.debug=broker\n"
                                            "brokers=x:1\n"
                                            "kafka.topic.auto.offset.reset = earliest\n"
                                            "kafka.session.timeout.ms=6000\n");
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    /* -X given before -c still comes after the file's pairs */
    ck_assert_int_eq(
        loadv(cfg, &err, "-X", "session.timeout.ms=7000", "-c", conf, "-Xclient.id=a=b", NULL), 0);
    ck_assert_int_eq(ss_cfg_kafka_count(cfg), 5);
    static const char *const names[] = {"debug", "topic.auto.offset.reset", "session.timeout.ms",
                                        "session.timeout.ms", "client.id"};
    static const char *const values[] = {"broker", "earliest", "6000", "7000", "a=b"};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_str_eq(ss_cfg_kafka_name(cfg, i), names[i]);
        ck_assert_str_eq(ss_cfg_kafka_value(cfg, i), values[i]);
    }
    ss_cfg_destroy(cfg);
}
END_TEST

/* ------------------------------------------------------------------ printers */

START_TEST(dump_masks_secrets_and_names_sources) {
    const char *conf = write_file("d.conf", "redis.password=hunter2\n"
                                            "kafka.sasl.password=kpass\n"
                                            "kafka.sasl.username=alice\n"
                                            "redis.port=6390\n");
    setenv("SS_CFGTEST_BROKERS", "env:9092", 1);
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(loadv(cfg, &err, "-c", conf, "-X", "ssl.key.password=kp2", "-X",
                           "ssl.keystore.password=kp3", "-X",
                           "sasl.oauthbearer.client.secret=oauth-s4-value", "-X", "debug=all",
                           "--group.id=g1", NULL),
                     0);
    ck_assert_str_eq(ss_cfg_str(cfg, "redis.password"), "hunter2");
    char *out = print_to_string(ss_cfg_print_dump, cfg);
    ck_assert_ptr_null(strstr(out, "hunter2"));
    ck_assert_ptr_null(strstr(out, "kpass"));
    ck_assert_ptr_null(strstr(out, "kp2"));
    ck_assert_ptr_null(strstr(out, "kp3"));
    ck_assert_ptr_null(strstr(out, "oauth-s4-value"));
    ck_assert_ptr_nonnull(strstr(out, "\nredis.password=********\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nkafka.sasl.password=********\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nkafka.ssl.key.password=********\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nkafka.ssl.keystore.password=********\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nkafka.sasl.username=alice\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nkafka.debug=all\n"));
    char want[1024];
    snprintf(want, sizeof(want), "# file %s:4\nredis.port=6390\n", conf);
    ck_assert_ptr_nonnull(strstr(out, want));
    ck_assert_ptr_nonnull(strstr(out, "# env SS_CFGTEST_BROKERS\nbrokers=env:9092\n"));
    ck_assert_ptr_nonnull(strstr(out, "# cli --group.id\ngroup.id=g1\n"));
    ck_assert_ptr_nonnull(strstr(out, "# default\nredis.host=127.0.0.1\n"));
    ck_assert_ptr_nonnull(strstr(out, "# default (unset)\nlimit=\n"));
    ck_assert_ptr_nonnull(strstr(out, "# cli -X\nkafka.debug=all\n"));
    free(out);
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(dump_option_prints_and_exits) {
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    int rc;
    char *argv[] = {(char *)"streamscore-cfgtest", (char *)"--dump-config",
                    (char *)"--redis.password=topsecret", NULL};
    char *out = load_capture(cfg, &err, &rc, 3, argv);
    ck_assert_int_eq(rc, SS_ERR_EXIT);
    ck_assert_ptr_nonnull(strstr(out, "# cli --redis.password\nredis.password=********\n"));
    ck_assert_ptr_null(strstr(out, "topsecret"));
    free(out);
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(help_lists_every_key) {
    ss_cfg_t *cfg = mk();
    ss_cfg_set_usage(cfg, "[FILE...]");
    ss_err_t err = SS_ERR_INIT;
    int rc;
    /* --help wins even after a bad option */
    char *argv[] = {(char *)"bin/streamscore-cfgtest", (char *)"--bogus", (char *)"-h", NULL};
    char *out = load_capture(cfg, &err, &rc, 3, argv);
    ck_assert_int_eq(rc, SS_ERR_EXIT);
    ck_assert_int_eq(err.code, SS_ERR_EXIT); /* not an error: main exits 0 */
    ck_assert_str_eq(err.msg, "exit after --help");
    ck_assert_ptr_nonnull(strstr(out, "usage: streamscore-cfgtest [options] [FILE...]\n"));
    ck_assert_ptr_nonnull(strstr(out, "a test service"));
    for (size_t i = 0; i < NDEFS; i++) {
        char want[256];
        snprintf(want, sizeof(want), "--%s=", defs[i].name);
        ck_assert_msg(strstr(out, want) != NULL, "help lacks %s", want);
        ck_assert_msg(strstr(out, defs[i].help) != NULL, "help lacks '%s'", defs[i].help);
    }
    ck_assert_ptr_nonnull(strstr(out, "--log.level="));
    ck_assert_ptr_nonnull(strstr(out, "--log.format="));
    ck_assert_ptr_nonnull(strstr(out, "env SS_CFGTEST_TOPIC_CHURN_SCORES"));
    ck_assert_ptr_nonnull(strstr(out, "(int in [1, 65535], default '6379')"));
    ck_assert_ptr_nonnull(strstr(out, "-X NAME=VALUE"));
    ck_assert_ptr_nonnull(strstr(out, "--dump-config"));
    ck_assert_ptr_nonnull(strstr(out, "-c FILE"));
    free(out);
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(markdown_table) {
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    int rc;
    char *argv[] = {(char *)"streamscore-cfgtest", (char *)"--config-markdown", NULL};
    setenv("SS_CFGTEST_REDIS_PORT", "bad", 1); /* docs do not depend on the environment */
    char *out = load_capture(cfg, &err, &rc, 2, argv);
    ck_assert_int_eq(rc, SS_ERR_EXIT);
    ck_assert_ptr_nonnull(strstr(out, "## cfgtest\n"));
    ck_assert_ptr_nonnull(strstr(out, "| name | type | default | env var | description |\n"));
    ck_assert_ptr_nonnull(strstr(out, "| `redis.port` | int [1, 65535] | `6379` | "
                                      "`SS_CFGTEST_REDIS_PORT` | Redis port |\n"));
    ck_assert_ptr_nonnull(strstr(out, "| `mode` | enum | `fast` | `SS_CFGTEST_MODE` | how to run "
                                      "(one of `fast\\|slow`) |\n"));
    ck_assert_ptr_nonnull(strstr(out, "| `redis.password` | string | (unset) |"));
    for (size_t i = 0; i < NDEFS; i++) {
        char want[256];
        snprintf(want, sizeof(want), "| `%s` |", defs[i].name);
        ck_assert_msg(strstr(out, want) != NULL, "markdown lacks %s", want);
    }
    free(out);
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(x_list_prints_properties) {
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    int rc;
    char *argv[] = {(char *)"streamscore-cfgtest", (char *)"-X", (char *)"list", NULL};
    char *out = load_capture(cfg, &err, &rc, 3, argv);
    ck_assert_int_eq(rc, SS_ERR_EXIT);
    ck_assert_ptr_nonnull(strstr(out, "bootstrap.servers"));
    free(out);
    ss_cfg_destroy(cfg);
}
END_TEST

/* ------------------------------------------------------------------ secrets */

START_TEST(secret_from_file) {
    const char *sec = write_file("redis.pw", "s3cr=t\nsecond line\n");
    const char *ksec = write_file("kafka.pw", "kafka-pw\r\n");
    char arg[600], xarg[600];
    snprintf(arg, sizeof(arg), "--redis.password=@%s", sec);
    snprintf(xarg, sizeof(xarg), "sasl.password=@%s", ksec);
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    ck_assert_msg(
        loadv(cfg, &err, arg, "-X", xarg, "-X", "client.id=@literal", "--group.id=@g", NULL) == 0,
        "%s", err.msg);
    ck_assert_str_eq(ss_cfg_str(cfg, "redis.password"), "s3cr=t");
    ck_assert_str_eq(ss_cfg_kafka_value(cfg, 0), "kafka-pw");
    ck_assert_str_eq(ss_cfg_kafka_value(cfg, 1), "@literal"); /* not a secret name */
    ck_assert_str_eq(ss_cfg_str(cfg, "group.id"), "@g");      /* not a secret key */
    char *out = print_to_string(ss_cfg_print_dump, cfg);
    ck_assert_ptr_null(strstr(out, "s3cr=t"));
    char want[700];
    snprintf(want, sizeof(want), "(read from %s)\nredis.password=********\n", sec);
    ck_assert_ptr_nonnull(strstr(out, want));
    free(out);

    ck_assert_int_eq(ss_cfg_set(cfg, "redis.password", "@@at-start", &err), 0);
    ck_assert_str_eq(ss_cfg_str(cfg, "redis.password"), "@at-start");
    const char *empty = write_file("empty.pw", "");
    snprintf(arg, sizeof(arg), "@%s", empty);
    ck_assert_int_eq(ss_cfg_set(cfg, "redis.password", arg, &err), 0);
    ck_assert_str_eq(ss_cfg_str(cfg, "redis.password"), "");
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(secret_file_missing) {
    const char *conf = write_file("m.conf", "\nredis.password=@/nonexistent/pw\n");
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(loadv(cfg, &err, "-c", conf, NULL), SS_ERR_IO);
    char want[700];
    snprintf(want, sizeof(want),
             "%s:2: cannot read secret file '/nonexistent/pw' for 'redis.password': No such file "
             "or directory",
             conf);
    ck_assert_str_eq(err.msg, want);
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(secret_values_never_in_errors) {
    static const ss_cfg_def_t sd[] = {
        {"token", SS_CFG_INT, NULL, 0, 0, "numeric token", SS_CFG_SECRET}};
    ss_cfg_t *cfg = ss_cfg_new("cfgtest", NULL, sd, 1);
    ss_err_t err = SS_ERR_INIT;
    ck_assert_int_eq(ss_cfg_set(cfg, "token", "abc123x", &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "invalid value '********' for 'token': not an integer");
    ss_cfg_destroy(cfg);
}
END_TEST

START_TEST(secret_names) {
    ck_assert_int_eq(ss_cfg_name_is_secret("sasl.password"), 1);
    ck_assert_int_eq(ss_cfg_name_is_secret("ssl.key.password"), 1);
    ck_assert_int_eq(ss_cfg_name_is_secret("ssl.keystore.password"), 1);
    ck_assert_int_eq(ss_cfg_name_is_secret("sasl.oauthbearer.client.secret"), 1);
    ck_assert_int_eq(ss_cfg_name_is_secret("ssl.key.pem"), 1);
    ck_assert_int_eq(ss_cfg_name_is_secret("My.Secret.Thing"), 1);
    ck_assert_int_eq(ss_cfg_name_is_secret("sasl.username"), 0);
    ck_assert_int_eq(ss_cfg_name_is_secret("bootstrap.servers"), 0);
}
END_TEST

/* ------------------------------------------------------------------ log settings */

START_TEST(log_settings_applied) {
    ss_cfg_t *cfg = mk();
    ss_err_t err = SS_ERR_INIT;
    setenv("SS_LOG_LEVEL", "debug", 1);
    ck_assert_int_eq(loadv(cfg, &err, NULL), 0);
    ck_assert_int_eq(ss_log_level(), LOG_DEBUG);
    ck_assert_str_eq(ss_cfg_source(cfg, "log.level"), "env");
    ss_cfg_destroy(cfg);

    /* the service's own variable beats the generic one; cli beats both */
    setenv("SS_CFGTEST_LOG_LEVEL", "notice", 1);
    cfg = mk();
    ck_assert_int_eq(loadv(cfg, &err, NULL), 0);
    ck_assert_int_eq(ss_log_level(), LOG_NOTICE);
    ss_cfg_destroy(cfg);
    cfg = mk();
    ck_assert_int_eq(loadv(cfg, &err, "--log.level=ERR", "--log.format=json", NULL), 0);
    ck_assert_str_eq(ss_cfg_str(cfg, "log.level"), "err");
    ck_assert_int_eq(ss_log_level(), LOG_ERR);
    ss_cfg_destroy(cfg);
    ss_log_set_level(LOG_INFO);
    ss_log_set_json(0);
}
END_TEST

Suite *cfg_suite(void) {
    Suite *s = suite_create("cfg");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults_from_table);
    tcase_add_test(tc, precedence_across_all_sources);
    tcase_add_test(tc, env_names_and_empty_means_unset);
    tcase_add_test(tc, later_file_overrides_earlier);
    tcase_add_test(tc, file_syntax);
    tcase_add_test(tc, file_errors_name_the_line);
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, type_and_range_validation);
    tcase_add_test(tc, env_value_errors_name_the_variable);
    tcase_add_test(tc, set_validates);
    tcase_add_test(tc, bool_words);
    tcase_add_test(tc, cli_errors);
    tcase_add_test(tc, positional_args);
    tcase_add_test(tc, kafka_passthrough_order);
    tcase_add_test(tc, dump_masks_secrets_and_names_sources);
    tcase_add_test(tc, dump_option_prints_and_exits);
    tcase_add_test(tc, help_lists_every_key);
    tcase_add_test(tc, markdown_table);
    tcase_add_test(tc, x_list_prints_properties);
    tcase_add_test(tc, secret_from_file);
    tcase_add_test(tc, secret_file_missing);
    tcase_add_test(tc, secret_values_never_in_errors);
    tcase_add_test(tc, secret_names);
    tcase_add_test(tc, log_settings_applied);
    suite_add_tcase(s, tc);
    return s;
}
