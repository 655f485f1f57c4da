/* stack_ctl: control commands of streamscore-stack (see stack_ctl.h). Parsing is pure; exec and
 * the directory poll touch the mock cluster and the file system. Main loop only. */
#include "stack_ctl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ss_log.h"

/* Request names as Kafka's protocol guide spells them (ApiKey order). */
static const struct {
    int key;
    const char *name;
} apis[] = {
    {0, "Produce"},
    {1, "Fetch"},
    {2, "ListOffsets"},
    {3, "Metadata"},
    {8, "OffsetCommit"},
    {9, "OffsetFetch"},
    {10, "FindCoordinator"},
    {11, "JoinGroup"},
    {12, "Heartbeat"},
    {13, "LeaveGroup"},
    {14, "SyncGroup"},
    {15, "DescribeGroups"},
    {16, "ListGroups"},
    {18, "ApiVersions"},
    {19, "CreateTopics"},
    {22, "InitProducerId"},
    {24, "AddPartitionsToTxn"},
    {25, "AddOffsetsToTxn"},
    {26, "EndTxn"},
    {28, "TxnOffsetCommit"},
    {32, "DescribeConfigs"},
    {36, "SaslAuthenticate"},
};

/* Parses a whole decimal int in [lo, hi]; 0 or -1. */
static int parse_int(const char *s, long lo, long hi, int *out) {
    char *end;
    long v;

    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int stk_ctl_api_key(const char *name) {
    int k;

    for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
        if (strcasecmp(name, apis[i].name) == 0)
            return apis[i].key;
    /* "ApiVersion" is librdkafka's spelling */
    if (strcasecmp(name, "ApiVersion") == 0)
        return 18;
    return parse_int(name, 0, 99, &k) == 0 ? k : -1;
}

const char *stk_ctl_api_name(int key) {
    static char buf[32];

    for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
        if (apis[i].key == key)
            return apis[i].name;
    snprintf(buf, sizeof(buf), "ApiKey%d", key);
    return buf;
}

int stk_ctl_err_code(const char *name, rd_kafka_resp_err_t *out, ss_err_t *err) {
    const struct rd_kafka_err_desc *descs;
    size_t n;
    const char *s = name;
    int num;

    if (strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18) == 0)
        s += 18;
    if (strcasecmp(s, "NOT_LEADER_OR_FOLLOWER") == 0) { /* Kafka 2.6+ name of the same code */
        *out = RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
        return 0;
    }
    if (strcasecmp(s, "NO_ERROR") == 0 || strcmp(s, "0") == 0) {
        *out = RD_KAFKA_RESP_ERR_NO_ERROR;
        return 0;
    }
    if (parse_int(s, -200, 1000, &num) == 0) {
        *out = (rd_kafka_resp_err_t)num;
        return 0;
    }
    /* librdkafka's own errors are named "_TRANSPORT"; the C constant has two underscores */
    if (s[0] == '_' && s[1] == '_')
        s++;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name && strcasecmp(descs[i].name, s) == 0) {
            *out = descs[i].code;
            return 0;
        }
    }
    return ss_err_set(err, SS_ERR_INVAL, "unknown error '%s'", name);
}

/* Splits line into at most max whitespace-separated words (in buf); returns the count. */
static int split_words(char *buf, char **w, int max) {
    int n = 0;
    char *p = buf;

    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p)
            break;
        if (n == max)
            return max + 1;
        w[n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            p++;
        if (*p)
            *p++ = '\0';
    }
    return n;
}

static int parse_broker(const char *s, int allow_all, int *out) {
    if (allow_all && strcmp(s, "all") == 0) {
        *out = 0;
        return 0;
    }
    return parse_int(s, 1, 1000, out);
}

/* "A,B:ms,C" into cmd->err/rtt_ms; rtt allowed only if with_rtt. */
static int parse_err_list(const char *what, char *list, int with_rtt, stk_ctl_cmd_t *cmd,
                          ss_err_t *err) {
    char *save = NULL;

    cmd->nerr = 0;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        int ms = 0;

        if (cmd->nerr == STK_CTL_MAX_ERRS)
            return ss_err_set(err, SS_ERR_INVAL, "%s: more than %d errors in the list", what,
                              STK_CTL_MAX_ERRS);
        if (colon) {
            if (!with_rtt)
                return ss_err_set(err, SS_ERR_INVAL, "%s: no delay allowed in '%s'", what, tok);
            *colon = '\0';
            if (parse_int(colon + 1, 0, 600000, &ms) < 0)
                return ss_err_set(err, SS_ERR_INVAL, "%s: bad delay '%s' (0..600000 ms)", what,
                                  colon + 1);
        }
        if (stk_ctl_err_code(tok, &cmd->err[cmd->nerr], err) < 0)
            return ss_err_set(err, SS_ERR_INVAL, "%s: unknown error '%s'", what, tok);
        cmd->rtt_ms[cmd->nerr++] = ms;
    }
    if (!cmd->nerr)
        return ss_err_set(err, SS_ERR_INVAL, "%s: empty error list", what);
    return 0;
}

static int parse_api(const char *what, const char *s, int *out, ss_err_t *err) {
    if ((*out = stk_ctl_api_key(s)) < 0)
        return ss_err_set(err, SS_ERR_INVAL, "%s: unknown request type '%s'", what, s);
    return 0;
}

int stk_ctl_parse(const char *line, stk_ctl_cmd_t *cmd, ss_err_t *err) {
    char buf[4096], *w[8];
    int n;

    memset(cmd, 0, sizeof(*cmd));
    if (strlen(line) >= sizeof(buf))
        return ss_err_set(err, SS_ERR_INVAL, "command line longer than %zu bytes", sizeof(buf) - 1);
    snprintf(buf, sizeof(buf), "%s", line);
    n = split_words(buf, w, 8);
    if (n == 0)
        return ss_err_set(err, SS_ERR_INVAL, "empty command");
#define NEED(k, usage)                                                                             \
    do {                                                                                           \
        if (n != (k))                                                                              \
            return ss_err_set(err, SS_ERR_INVAL, "usage: %s", usage);                              \
    } while (0)
    if (strcmp(w[0], "errors") == 0) {
        NEED(4, "errors API COUNT ERR[,ERR...]");
        cmd->op = STK_CTL_ERRORS;
        if (parse_api("errors", w[1], &cmd->api, err) < 0)
            return SS_ERR_INVAL;
        if (parse_int(w[2], 1, STK_CTL_MAX_COUNT, &cmd->count) < 0)
            return ss_err_set(err, SS_ERR_INVAL, "errors: bad count '%s' (1..%d)", w[2],
                              STK_CTL_MAX_COUNT);
        return parse_err_list("errors", w[3], 0, cmd, err);
    }
    if (strcmp(w[0], "broker-errors") == 0) {
        NEED(5, "broker-errors BROKER|all API COUNT ERR[:MS][,...]");
        cmd->op = STK_CTL_BROKER_ERRORS;
        if (parse_broker(w[1], 1, &cmd->broker) < 0)
            return ss_err_set(err, SS_ERR_INVAL, "broker-errors: bad broker '%s'", w[1]);
        if (parse_api("broker-errors", w[2], &cmd->api, err) < 0)
            return SS_ERR_INVAL;
        if (parse_int(w[3], 1, STK_CTL_MAX_COUNT, &cmd->count) < 0)
            return ss_err_set(err, SS_ERR_INVAL, "broker-errors: bad count '%s' (1..%d)", w[3],
                              STK_CTL_MAX_COUNT);
        return parse_err_list("broker-errors", w[4], 1, cmd, err);
    }
    if (strcmp(w[0], "pending") == 0) {
        NEED(3, "pending BROKER|all API");
        cmd->op = STK_CTL_PENDING;
        if (parse_broker(w[1], 1, &cmd->broker) < 0)
            return ss_err_set(err, SS_ERR_INVAL, "pending: bad broker '%s'", w[1]);
        return parse_api("pending", w[2], &cmd->api, err);
    }
    if (strcmp(w[0], "clear") == 0) {
        NEED(2, "clear API");
        cmd->op = STK_CTL_CLEAR;
        return parse_api("clear", w[1], &cmd->api, err);
    }
    if (strcmp(w[0], "topic-error") == 0) {
        NEED(3, "topic-error TOPIC ERR");
        cmd->op = STK_CTL_TOPIC_ERROR;
        if (strlen(w[1]) >= sizeof(cmd->topic))
            return ss_err_set(err, SS_ERR_INVAL, "topic-error: topic name too long");
        snprintf(cmd->topic, sizeof(cmd->topic), "%s", w[1]);
        cmd->nerr = 1;
        return stk_ctl_err_code(w[2], &cmd->err[0], err);
    }
    if (strcmp(w[0], "rtt") == 0) {
        NEED(3, "rtt BROKER|all MS");
        cmd->op = STK_CTL_RTT;
        if (parse_broker(w[1], 1, &cmd->broker) < 0)
            return ss_err_set(err, SS_ERR_INVAL, "rtt: bad broker '%s'", w[1]);
        if (parse_int(w[2], 0, 600000, &cmd->ms) < 0)
            return ss_err_set(err, SS_ERR_INVAL, "rtt: bad delay '%s' (0..600000 ms)", w[2]);
        return 0;
    }
    if (strcmp(w[0], "down") == 0 || strcmp(w[0], "up") == 0) {
        NEED(2, "down|up BROKER");
        cmd->op = w[0][0] == 'd' ? STK_CTL_DOWN : STK_CTL_UP;
        if (parse_broker(w[1], 0, &cmd->broker) < 0)
            return ss_err_set(err, SS_ERR_INVAL, "%s: bad broker '%s'", w[0], w[1]);
        return 0;
    }
    if (strcmp(w[0], "leader") == 0) {
        NEED(4, "leader TOPIC PARTITION BROKER|-1");
        cmd->op = STK_CTL_LEADER;
        if (strlen(w[1]) >= sizeof(cmd->topic))
            return ss_err_set(err, SS_ERR_INVAL, "leader: topic name too long");
        snprintf(cmd->topic, sizeof(cmd->topic), "%s", w[1]);
        if (parse_int(w[2], 0, 100000, &cmd->partition) < 0)
            return ss_err_set(err, SS_ERR_INVAL, "leader: bad partition '%s'", w[2]);
        if (strcmp(w[3], "-1") == 0)
            cmd->broker = -1;
        else if (parse_broker(w[3], 0, &cmd->broker) < 0)
            return ss_err_set(err, SS_ERR_INVAL, "leader: bad broker '%s'", w[3]);
        return 0;
    }
#undef NEED
    return ss_err_set(err, SS_ERR_INVAL, "unknown command '%s'", w[0]);
}

static int check_broker(int b, int nbrokers, ss_err_t *err) {
    if (b > nbrokers)
        return ss_err_set(err, SS_ERR_INVAL, "no broker %d (the cluster has %d)", b, nbrokers);
    return 0;
}

int stk_ctl_exec(rd_kafka_mock_cluster_t *mc, int nbrokers, const stk_ctl_cmd_t *cmd, char *out,
                 size_t size, ss_err_t *err) {
    const char *api = stk_ctl_api_name(cmd->api);
    int lo = cmd->broker > 0 ? cmd->broker : 1, hi = cmd->broker > 0 ? cmd->broker : nbrokers;
    rd_kafka_resp_err_t e;

    switch (cmd->op) {
    case STK_CTL_ERRORS: {
        rd_kafka_resp_err_t *v = ss_xmalloc(sizeof(*v) * (size_t)cmd->count);
        for (int i = 0; i < cmd->count; i++)
            v[i] = cmd->err[i % cmd->nerr];
        rd_kafka_mock_push_request_errors_array(mc, (int16_t)cmd->api, (size_t)cmd->count, v);
        free(v);
        snprintf(out, size, "pushed %d %s errors cluster-wide", cmd->count, api);
        return 0;
    }
    case STK_CTL_BROKER_ERRORS:
        if (check_broker(cmd->broker, nbrokers, err) < 0)
            return SS_ERR_INVAL;
        for (int b = lo; b <= hi; b++) {
            /* 2.0.2 has no array form: one (error, delay) pair per call, appended in order */
            for (int i = 0; i < cmd->count; i++) {
                e = rd_kafka_mock_broker_push_request_error_rtts(mc, b, (int16_t)cmd->api, 1,
                                                                 cmd->err[i % cmd->nerr],
                                                                 cmd->rtt_ms[i % cmd->nerr]);
                if (e)
                    return ss_err_set(err, SS_ERR_INVAL, "broker %d: %s", b, rd_kafka_err2str(e));
            }
        }
        if (cmd->broker)
            snprintf(out, size, "pushed %d %s errors on broker %d", cmd->count, api, cmd->broker);
        else
            snprintf(out, size, "pushed %d %s errors on each of %d brokers", cmd->count, api,
                     nbrokers);
        return 0;
    case STK_CTL_PENDING: {
        size_t total = 0;
        if (check_broker(cmd->broker, nbrokers, err) < 0)
            return SS_ERR_INVAL;
        for (int b = lo; b <= hi; b++) {
            size_t cnt = 0; /* left unset when the broker has no stack for the api */
            e = rd_kafka_mock_broker_error_stack_cnt(mc, b, (int16_t)cmd->api, &cnt);
            if (e)
                return ss_err_set(err, SS_ERR_INVAL, "broker %d: %s", b, rd_kafka_err2str(e));
            total += cnt;
        }
        snprintf(out, size, "%zu", total);
        return 0;
    }
    case STK_CTL_CLEAR:
        rd_kafka_mock_clear_request_errors(mc, (int16_t)cmd->api);
        snprintf(out, size, "cleared cluster-wide %s errors", api);
        return 0;
    case STK_CTL_TOPIC_ERROR:
        rd_kafka_mock_topic_set_error(mc, cmd->topic, cmd->err[0]);
        snprintf(out, size, "topic %s error %s", cmd->topic, rd_kafka_err2name(cmd->err[0]));
        return 0;
    case STK_CTL_RTT:
        if (check_broker(cmd->broker, nbrokers, err) < 0)
            return SS_ERR_INVAL;
        for (int b = lo; b <= hi; b++)
            if ((e = rd_kafka_mock_broker_set_rtt(mc, b, cmd->ms)))
                return ss_err_set(err, SS_ERR_INVAL, "broker %d: %s", b, rd_kafka_err2str(e));
        snprintf(out, size, "rtt %d ms", cmd->ms);
        return 0;
    case STK_CTL_DOWN:
    case STK_CTL_UP:
        if (check_broker(cmd->broker, nbrokers, err) < 0)
            return SS_ERR_INVAL;
        e = cmd->op == STK_CTL_DOWN ? rd_kafka_mock_broker_set_down(mc, cmd->broker)
                                    : rd_kafka_mock_broker_set_up(mc, cmd->broker);
        if (e)
            return ss_err_set(err, SS_ERR_INVAL, "broker %d: %s", cmd->broker, rd_kafka_err2str(e));
        snprintf(out, size, "broker %d %s", cmd->broker, cmd->op == STK_CTL_DOWN ? "down" : "up");
        return 0;
    case STK_CTL_LEADER:
        if (check_broker(cmd->broker, nbrokers, err) < 0)
            return SS_ERR_INVAL;
        e = rd_kafka_mock_partition_set_leader(mc, cmd->topic, cmd->partition, cmd->broker);
        if (e)
            return ss_err_set(err, SS_ERR_INVAL, "leader of '%s' [%d]: %s", cmd->topic,
                              cmd->partition, rd_kafka_err2str(e));
        snprintf(out, size, "leader of %s [%d] is %d", cmd->topic, cmd->partition, cmd->broker);
        return 0;
    }
    SS_BUG("unknown control op %d", (int)cmd->op);
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Executes the lines of path; writes the answers to outp (tmp + rename). */
static void serve_file(const char *path, const char *outp, rd_kafka_mock_cluster_t *mc,
                       int nbrokers) {
    FILE *in = fopen(path, "r"), *out;
    char tmp[4300], line[4096];

    snprintf(tmp, sizeof(tmp), "%s.tmp", outp);
    if (!(out = fopen(tmp, "w"))) {
        SS_LOG(LOG_ERR, "ctl", "cannot write '%s': %s", tmp, strerror(errno));
        if (in)
            fclose(in);
        return;
    }
    if (!in)
        fprintf(out, "error: cannot read '%s': %s\n", path, strerror(errno));
    while (in && fgets(line, sizeof(line), in)) {
        stk_ctl_cmd_t cmd;
        ss_err_t err = SS_ERR_INIT;
        char answer[512];
        size_t n = strlen(line);

        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (!n || line[0] == '#')
            continue;
        if (stk_ctl_parse(line, &cmd, &err) < 0 ||
            stk_ctl_exec(mc, nbrokers, &cmd, answer, sizeof(answer), &err) < 0) {
            fprintf(out, "error: %s\n", err.msg);
            SS_LOG(LOG_WARNING, "ctl", "control command failed: '%s': %s", line, err.msg);
            continue;
        }
        fprintf(out, "ok %s\n", answer);
        if (cmd.op != STK_CTL_PENDING)
            SS_LOG(LOG_NOTICE, "ctl", "%s (command '%s')", answer, line);
    }
    if (in)
        fclose(in);
    if (fclose(out) != 0 || rename(tmp, outp) < 0)
        SS_LOG(LOG_ERR, "ctl", "cannot write '%s': %s", outp, strerror(errno));
}

int stk_ctl_poll_dir(const char *dir, rd_kafka_mock_cluster_t *mc, int nbrokers, ss_err_t *err) {
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;

    if (!d)
        return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot read control directory '%s'", dir);
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".cmd") != 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            names = ss_xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = ss_xstrdup(de->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        char path[4200], outp[4200];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        snprintf(outp, sizeof(outp), "%s/%.*s.out", dir, (int)(strlen(names[i]) - 4), names[i]);
        serve_file(path, outp, mc, nbrokers);
        unlink(path);
        free(names[i]);
    }
    free(names);
    return (int)n;
}

void stk_ctl_clean(const char *dir, int rmdir_too) {
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        char path[4200];
        if (len < 5 || (strcmp(de->d_name + len - 4, ".cmd") != 0 &&
                        strcmp(de->d_name + len - 4, ".out") != 0 &&
                        strcmp(de->d_name + len - 4, ".tmp") != 0))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    if (rmdir_too)
        rmdir(dir);
}
