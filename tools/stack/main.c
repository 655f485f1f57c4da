/* streamscore-stack: the local stack for development and integration tests. Starts librdkafka's
 * mock cluster (3 brokers on 127.0.0.1, every topic created) and a private redis-server, writes
 * a config file for `-c`, then waits for signals:
 *   SIGINT/SIGTERM  stop everything (redis killed, temp dir and conf files removed)
 *   SIGUSR1/SIGUSR2 take broker `fault.broker` down / bring it up again (fault tests)
 *   SIGHUP          restart redis-server on the same port and data dir (after a test killed it)
 * and serves its control directory (`control`, default `<out>.ctl/` beside the conf file; see
 * stack_ctl.h): broker request errors, delays, outages and leader moves for fault tests.
 * See docs/operations.md "Local stack". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ss_cfg.h"
#include "ss_err.h"
#include "ss_kafka.h"
#include "ss_log.h"
#include "stack_ctl.h"
#include "stack_redis.h"
#include "stack_topics.h"

#define ALL_TOPICS                                                                                 \
    "transactions,transactions.dlq,customer-features,churn-scores,recommendations,"                \
    "demand-forecasts,drift-alerts"

static const ss_cfg_def_t defs[] = {
    {"out", SS_CFG_STR, ".stack/stack.conf", 0, 0,
     "config file to write (brokers, redis.host, redis.port); an .env file is written beside it",
     0},
    {"brokers.count", SS_CFG_INT, "3", 1, 10, "number of mock brokers", 0},
    {"topics", SS_CFG_STR, ALL_TOPICS, 0, 0, "comma-separated topics to create", 0},
    {"partitions", SS_CFG_STR, "", 0, 0,
     "partition counts, e.g. transactions=12,mytest=2 (adds topics not in 'topics'); defaults: "
     "transactions 12, *.dlq 3, others 6",
     0},
    {"replication", SS_CFG_INT, "3", 1, 10, "replication factor of created topics", 0},
    {"fault.broker", SS_CFG_INT, "1", 1, 10, "broker id that SIGUSR1/SIGUSR2 take down/up", 0},
    {"control", SS_CFG_STR, "", 0, 0,
     "control directory for injected broker errors (NAME.cmd in, NAME.out back; see "
     "docs/reliability.md); empty: <out without .conf>.ctl",
     0},
    {"no-redis", SS_CFG_BOOL, "false", 0, 0, "do not start redis-server", 0},
    {"redis-port", SS_CFG_INT, "0", 0, 65535, "redis port (0: a free loopback port)", 0},
    {"redis-server", SS_CFG_STR, "redis-server", 0, 0, "redis-server executable", 0},
    {"redis-appendonly", SS_CFG_BOOL, "true", 0, 0, "run redis with --appendonly yes", 0},
    {"redis-appendfsync", SS_CFG_STR, "everysec", 0, 0, "redis --appendfsync policy", 0},
};

static volatile sig_atomic_t stop_sig, usr1, usr2, hup;

static void on_signal(int sig) {
    if (sig == SIGUSR1)
        usr1 = 1;
    else if (sig == SIGUSR2)
        usr2 = 1;
    else if (sig == SIGHUP)
        hup = 1;
    else
        stop_sig = sig;
}

/* Creates the parent directories of path (mkdir -p of dirname). */
static int mkdirs_for(const char *path, ss_err_t *err) {
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot create directory '%s'", buf);
        *p = '/';
    }
    return 0;
}

/* Writes path atomically (tmp + rename) so a waiting test never reads half a file. */
static int write_file(const char *path, const char *text, ss_err_t *err) {
    char tmp[4200];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
    if (!(f = fopen(tmp, "w")))
        return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot write '%s'", tmp);
    fputs(text, f);
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return ss_err_set_errno(err, SS_ERR_IO, e, "cannot write '%s'", path);
    }
    return 0;
}

/* conf path with its ".conf" suffix (if any) replaced by ext */
static void sibling_path(const char *conf, const char *ext, char *out, size_t size) {
    size_t n = strlen(conf);
    if (n > 5 && strcmp(conf + n - 5, ".conf") == 0)
        snprintf(out, size, "%.*s%s", (int)(n - 5), conf, ext);
    else
        snprintf(out, size, "%s%s", conf, ext);
}

static void env_path(const char *conf, char *out, size_t size) {
    sibling_path(conf, ".env", out, size);
}

/* The control directory's path, set once by main before the first write_outputs. */
static char ctl_dir[4200];

static int write_outputs(const char *conf, const char *brokers, stk_redis_t *redis, const char *dir,
                         ss_err_t *err) {
    char text[8192], envp[4200];
    int port = redis ? stk_redis_port(redis) : 0;
    int rpid = redis ? (int)stk_redis_pid(redis) : 0;
    int n;

    n = snprintf(text, sizeof(text),
                 "# written by streamscore-stack; removed when it stops\n"
                 "# pid=%d redis.pid=%d dir=%s\n"
                 "brokers=%s\n",
                 (int)getpid(), rpid, dir, brokers);
    if (redis)
        snprintf(text + n, sizeof(text) - (size_t)n, "redis.host=127.0.0.1\nredis.port=%d\n", port);
    if (write_file(conf, text, err) < 0)
        return SS_ERR_IO;
    env_path(conf, envp, sizeof(envp));
    snprintf(text, sizeof(text),
             "# source me: written by streamscore-stack\n"
             "export SS_STACK_CONF='%s'\nexport SS_STACK_PID=%d\nexport BROKERS='%s'\n"
             "export SS_BROKERS='%s'\nexport REDIS_HOST=127.0.0.1\nexport REDIS_PORT=%d\n"
             "export SS_REDIS_PID=%d\nexport SS_STACK_CTL='%s'\n",
             conf, (int)getpid(), brokers, brokers, port, rpid, ctl_dir);
    return write_file(envp, text, err);
}

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    ss_cfg_t *cfg = NULL;
    stk_topics_t *topics = ss_xcalloc(1, sizeof(*topics));
    rd_kafka_t *rk = NULL;
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    stk_redis_t *redis = NULL;
    char dir[] = "/tmp/ss-stack.XXXXXX", conf_path[4096], envp[4200], errstr[512];
    const char *brokers;
    int have_dir = 0, have_ctl = 0, wrote = 0, rc = 1, fault, nbrokers, ctl_failed = 0;
    struct sigaction sa;

    ss_log_init("stack");
    cfg = ss_cfg_new("stack", "local mock Kafka cluster + private redis-server for dev and tests",
                     defs, sizeof(defs) / sizeof(defs[0]));
    if (ss_cfg_load(cfg, argc, argv, &err) < 0) {
        rc = err.code == SS_ERR_EXIT ? 0 : 2;
        if (rc)
            fprintf(stderr, "streamscore-stack: %s\n", err.msg);
        goto out;
    }
    if (stk_topics_parse(topics, ss_cfg_str(cfg, "topics"), ss_cfg_str(cfg, "partitions"), &err) <
        0) {
        fprintf(stderr, "streamscore-stack: %s\n", err.msg);
        rc = 2;
        goto out;
    }
    fault = (int)ss_cfg_int(cfg, "fault.broker");
    if (fault > ss_cfg_int(cfg, "brokers.count")) {
        fprintf(stderr, "streamscore-stack: fault.broker %d exceeds brokers.count\n", fault);
        rc = 2;
        goto out;
    }
    {
        /* absolute path: tests and other shells read it from elsewhere */
        const char *out = ss_cfg_str(cfg, "out");
        char cwd[2048];
        if (out[0] == '/' || !getcwd(cwd, sizeof(cwd)))
            snprintf(conf_path, sizeof(conf_path), "%s", out);
        else
            snprintf(conf_path, sizeof(conf_path), "%s/%s", cwd, out);
        env_path(conf_path, envp, sizeof(envp));
        if (*ss_cfg_str(cfg, "control"))
            snprintf(ctl_dir, sizeof(ctl_dir), "%s", ss_cfg_str(cfg, "control"));
        else
            sibling_path(conf_path, ".ctl", ctl_dir, sizeof(ctl_dir));
    }
    nbrokers = (int)ss_cfg_int(cfg, "brokers.count");

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The mock cluster lives inside a (never used) producer handle. */
    if (!(conf = ss_kafka_conf_new(NULL, NULL, &err)))
        goto fail;
    /* no bootstrap.servers on purpose: silence that CONFWARN (notice), keep warnings */
    if (ss_kafka_conf_set(conf, "log_level", "4", &err) < 0) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        ss_err_set(&err, SS_ERR_INVAL, "cannot create kafka handle: %s", errstr);
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    if (!(mc = rd_kafka_mock_cluster_new(rk, (int)ss_cfg_int(cfg, "brokers.count")))) {
        ss_err_set(&err, SS_ERR_IO, "cannot start the mock kafka cluster");
        goto fail;
    }
    brokers = rd_kafka_mock_cluster_bootstraps(mc);
    for (int i = 0; i < topics->n; i++) {
        int repl = (int)ss_cfg_int(cfg, "replication");
        rd_kafka_resp_err_t e;
        if (repl > ss_cfg_int(cfg, "brokers.count"))
            repl = (int)ss_cfg_int(cfg, "brokers.count");
        e = rd_kafka_mock_topic_create(mc, topics->v[i].name, topics->v[i].partitions, repl);
        if (e) {
            ss_err_set(&err, SS_ERR_INVAL, "cannot create topic '%s': %s", topics->v[i].name,
                       rd_kafka_err2str(e));
            goto fail;
        }
        SS_LOG(LOG_INFO, "stack", "topic created topic=%s partitions=%d replication=%d",
               topics->v[i].name, topics->v[i].partitions, repl);
    }

    if (!ss_cfg_bool(cfg, "no-redis")) {
        stk_redis_opts_t ro = {0};
        if (!mkdtemp(dir)) {
            ss_err_set_errno(&err, SS_ERR_IO, errno, "cannot create temp dir '%s'", dir);
            goto fail;
        }
        have_dir = 1;
        ro.server = ss_cfg_str(cfg, "redis-server");
        ro.port = (int)ss_cfg_int(cfg, "redis-port");
        ro.dir = dir;
        ro.no_appendonly = !ss_cfg_bool(cfg, "redis-appendonly");
        ro.appendfsync = ss_cfg_str(cfg, "redis-appendfsync");
        if (!(redis = stk_redis_start(&ro, &err)))
            goto fail;
    }

    if (mkdirs_for(conf_path, &err) < 0 || mkdirs_for(ctl_dir, &err) < 0)
        goto fail;
    if (mkdir(ctl_dir, 0755) < 0 && errno != EEXIST) {
        ss_err_set_errno(&err, SS_ERR_IO, errno, "cannot create control directory '%s'", ctl_dir);
        goto fail;
    }
    have_ctl = 1;
    /* the directory of a killed stack may hold old commands: start empty */
    stk_ctl_clean(ctl_dir, 0);
    if (write_outputs(conf_path, brokers, redis, have_dir ? dir : "-", &err) < 0)
        goto fail;
    wrote = 1;
    printf("brokers=%s\n", brokers);
    if (redis)
        printf("redis=127.0.0.1:%d\n", stk_redis_port(redis));
    printf("conf=%s\nenv=%s\ncontrol=%s\npid=%d\nready\n", conf_path, envp, ctl_dir, (int)getpid());
    fflush(stdout);
    SS_LOG(LOG_NOTICE, "stack", "ready brokers=%s conf=%s", brokers, conf_path);

    while (!stop_sig) {
        if (usr1) {
            usr1 = 0;
            rd_kafka_mock_broker_set_down(mc, fault);
            SS_LOG(LOG_NOTICE, "stack", "broker %d down (SIGUSR1)", fault);
        }
        if (usr2) {
            usr2 = 0;
            rd_kafka_mock_broker_set_up(mc, fault);
            SS_LOG(LOG_NOTICE, "stack", "broker %d up (SIGUSR2)", fault);
        }
        if (redis)
            stk_redis_alive(redis);
        {
            ss_err_t e2 = SS_ERR_INIT;
            if (stk_ctl_poll_dir(ctl_dir, mc, nbrokers, &e2) < 0 && !ctl_failed++)
                SS_LOG(LOG_ERR, "stack", "%s", e2.msg);
        }
        if (hup) {
            hup = 0;
            if (redis) {
                ss_err_t e2 = SS_ERR_INIT;
                if (stk_redis_restart(redis, &e2) < 0)
                    SS_LOG(LOG_ERR, "stack", "redis restart failed: %s", e2.msg);
                else if (write_outputs(conf_path, brokers, redis, dir, &e2) < 0)
                    SS_LOG(LOG_ERR, "stack", "%s", e2.msg);
                else
                    SS_LOG(LOG_NOTICE, "stack", "redis restarted (SIGHUP) pid=%d",
                           (int)stk_redis_pid(redis));
            }
        }
        rd_kafka_poll(rk, 100);
    }
    SS_LOG(LOG_NOTICE, "stack", "stopping (signal %d)", (int)stop_sig);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "streamscore-stack: %s\n", err.msg);
    rc = 1;
out:
    stk_redis_stop(redis);
    if (have_dir) {
        ss_err_t e2 = SS_ERR_INIT;
        if (stk_rm_rf(dir, &e2) < 0)
            SS_LOG(LOG_WARNING, "stack", "%s", e2.msg);
    }
    if (wrote) {
        unlink(conf_path);
        unlink(envp);
    }
    if (have_ctl)
        stk_ctl_clean(ctl_dir, 1);
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk)
        rd_kafka_destroy(rk);
    ss_cfg_destroy(cfg);
    free(topics);
    return rc;
}
