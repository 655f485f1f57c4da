/* stack_ctl: the control channel of streamscore-stack, used by fault tests to inject broker
 * request errors, delays and outages into the running mock cluster (librdkafka 2.0.2's
 * rdkafka_mock.h). Parsing (stk_ctl_parse and the name tables) is pure; stk_ctl_exec calls the
 * mock API; stk_ctl_poll_dir serves the control directory. Not thread-safe: main loop only.
 *
 * Protocol: a client writes NAME.cmd (write NAME.tmp, then rename) into the control directory,
 * one command per line; the stack executes the lines in order and writes NAME.out (atomically)
 * with one line per command, "ok ..." or "error: ...", then removes NAME.cmd. Commands:
 *   errors API COUNT ERR[,ERR...]          cluster-wide: the next COUNT API requests (to any
 *                                          broker) fail, cycling through the error list
 *   broker-errors B|all API COUNT ERR[:MS][,...]  per broker (all: each broker), error (NO_ERROR
 *                                          allowed) and response delay in ms, cycling
 *   pending B|all API                      errors left on the broker stacks ("ok N")
 *   clear API                              drop the cluster-wide errors left for API
 *   topic-error TOPIC ERR                  Metadata (and AddPartitionsToTxn) error of a topic
 *   rtt B|all MS                           broker round-trip delay
 *   down B / up B                          broker down (refuses connections) / up
 *   leader TOPIC PARTITION B               move a partition's leader (-1: leaderless)
 * API is a name (Produce, Fetch, OffsetCommit, ...) or a number; ERR a librdkafka error name
 * with or without RD_KAFKA_RESP_ERR_ (NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT, _TRANSPORT;
 * Kafka's newer NOT_LEADER_OR_FOLLOWER is accepted) or a number. */
#ifndef STACK_CTL_H
#define STACK_CTL_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "ss_err.h"

#define STK_CTL_MAX_ERRS 64
#define STK_CTL_MAX_COUNT 100000

typedef enum stk_ctl_op {
    STK_CTL_ERRORS,
    STK_CTL_BROKER_ERRORS,
    STK_CTL_PENDING,
    STK_CTL_CLEAR,
    STK_CTL_TOPIC_ERROR,
    STK_CTL_RTT,
    STK_CTL_DOWN,
    STK_CTL_UP,
    STK_CTL_LEADER,
} stk_ctl_op_t;

typedef struct stk_ctl_cmd {
    stk_ctl_op_t op;
    int broker; /* broker id; 0 = every broker (broker-errors, pending, rtt); -1 = none (leader) */
    int api;    /* Kafka ApiKey (errors, broker-errors, pending, clear) */
    int count;  /* errors to push (errors, broker-errors) */
    int nerr;   /* entries in err[] and rtt_ms[] */
    rd_kafka_resp_err_t err[STK_CTL_MAX_ERRS]; /* errors, cycled through until count */
    int rtt_ms[STK_CTL_MAX_ERRS];              /* response delay per error, ms (broker-errors) */
    char topic[250];                           /* topic-error, leader */
    int partition;                             /* leader */
    int ms;                                    /* rtt: delay in ms */
} stk_ctl_cmd_t;

/* ApiKey of a request name (case-insensitive: "Produce", "offsetcommit") or of a number in
 * 0..99; -1 if unknown. */
int stk_ctl_api_key(const char *name);

/* Name of an ApiKey ("Produce"), or "ApiKey<n>" for keys without a name here (static buffer
 * for those: main thread only). */
const char *stk_ctl_api_name(int key);

/* Error code of a librdkafka error name (see the header comment) or number; 0 on success,
 * SS_ERR_INVAL with "unknown error 'x'" otherwise. */
int stk_ctl_err_code(const char *name, rd_kafka_resp_err_t *out, ss_err_t *err);

/* Parses one command line into *cmd. Returns 0, or SS_ERR_INVAL with a message naming what is
 * wrong ("unknown command 'x'", "errors: bad count 'y'", ...). Pure. */
int stk_ctl_parse(const char *line, stk_ctl_cmd_t *cmd, ss_err_t *err);

/* Runs cmd against the mock cluster of nbrokers brokers (ids 1..nbrokers). Writes a one-line
 * answer without "ok" into out (e.g. "pushed 20 Produce errors cluster-wide"). Returns 0 or
 * SS_ERR_INVAL (bad broker id, unknown partition: the mock's error text). */
int stk_ctl_exec(rd_kafka_mock_cluster_t *mc, int nbrokers, const stk_ctl_cmd_t *cmd, char *out,
                 size_t size, ss_err_t *err);

/* Serves the control directory once: executes every DIR/ *.cmd file in name order (see the
 * header comment) and answers in DIR/NAME.out. Returns the number of files served, or
 * SS_ERR_IO if DIR cannot be read. Each command is logged. */
int stk_ctl_poll_dir(const char *dir, rd_kafka_mock_cluster_t *mc, int nbrokers, ss_err_t *err);

/* Removes the protocol's files (*.cmd, *.out, *.tmp) from dir, then dir itself if rmdir is set
 * and it is empty; nothing else is touched. Errors are ignored (best effort at start and exit). */
void stk_ctl_clean(const char *dir, int rmdir_too);

#endif
