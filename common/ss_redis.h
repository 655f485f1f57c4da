/* ss_redis: one synchronous hiredis 0.14 connection with AUTH, reconnect with capped exponential
 * backoff, pipelining, Lua scripts (SCRIPT LOAD at connect, EVALSHA, transparent reload on
 * NOSCRIPT) and error classification. Depends on ss_err, ss_log and hiredis only.
 * Thread rules: a handle is used by one thread at a time (one handle per thread). */
#ifndef SS_REDIS_H
#define SS_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "ss_err.h"

typedef struct ss_redis ss_redis_t; /* opaque; one per thread */

/* Zero means "default" for every field. */
typedef struct ss_redis_opts {
    const char *host;       /* default "127.0.0.1" (copied) */
    int port;               /* default 6379 */
    const char *user;       /* ACL user for AUTH user password; empty = AUTH password (copied) */
    const char *password;   /* AUTH when non-empty (copied; never logged) */
    int db;                 /* SELECT when > 0 */
    int connect_timeout_ms; /* default 2000 */
    int timeout_ms;         /* per command/reply; default 10000 (a batch script can be long) */
    int backoff_min_ms;     /* first reconnect delay; default 100 */
    int backoff_max_ms;     /* cap of the doubling delay; default 5000 */
} ss_redis_opts_t;

/* Returns new: a handle (free with ss_redis_destroy). Does not connect: the first command (or
 * ss_redis_connect) does. Never NULL. */
ss_redis_t *ss_redis_new(const ss_redis_opts_t *opts);
void ss_redis_destroy(ss_redis_t *r); /* NULL is a no-op */

/* Connects if not connected: TCP connect with timeout, AUTH, SELECT, SCRIPT LOAD of every
 * registered script. Returns 0; SS_ERR_RETRIABLE when the server is unreachable, loading, or
 * AUTH/SCRIPT LOAD failed for a transient reason; SS_ERR_FATAL for a wrong password. */
int ss_redis_connect(ss_redis_t *r, ss_err_t *err);
/* 1 when a connection is up (as far as we know). */
int ss_redis_connected(const ss_redis_t *r);
/* Drops the connection (next command reconnects). Use after a pipelining error. */
void ss_redis_disconnect(ss_redis_t *r);

/* Sleeps the current backoff delay, then doubles it up to backoff_max_ms. Returns the delay slept
 * (ms). ss_redis_backoff_reset (called by every successful command) restores backoff_min_ms. */
int ss_redis_backoff(ss_redis_t *r);
void ss_redis_backoff_reset(ss_redis_t *r);

/* Registers a Lua script (copies src) and returns its index (>= 0) for ss_redis_evalsha. Loaded
 * at every (re)connect; if already connected it is loaded now (errors then go to err and the
 * index is still valid: the next connect retries). SHA1 is computed by the server. */
int ss_redis_script_add(ss_redis_t *r, const char *src, ss_err_t *err);
/* Borrows: the script's SHA1 hex (valid until destroy), "" before the first load. */
const char *ss_redis_script_sha(const ss_redis_t *r, int script);

/* Runs EVALSHA sha numkeys keys... args... with argv[0..argc) being keys then args (binary-safe,
 * argvlen may be NULL for C strings). Reloads the script and retries once on NOSCRIPT.
 * On success returns 0 and *reply (returns new: freeReplyObject) is the script's reply.
 * Errors: SS_ERR_RETRIABLE (connection lost: the handle reconnects at next use; BUSY, LOADING,
 * OOM, MASTERDOWN, READONLY), SS_ERR_INVAL (script raised an error; message in err), SS_ERR_FATAL
 * (protocol error). @remark After SS_ERR_RETRIABLE the script may or may not have run. */
int ss_redis_evalsha(ss_redis_t *r, int script, int numkeys, int argc, const char **argv,
                     const size_t *argvlen, redisReply **reply, ss_err_t *err);

/* EVALSHA of a script with no keys whose arguments are already in RESP form: body holds nargs
 * bulk strings ("$<len>\r\n<bytes>\r\n" each; borrowed, sent as is). Saves building an argv
 * and formatting it again for callers that send thousands of arguments per call.
 * ss_redis_evalsha_resp: one round trip, with the return codes of ss_redis_evalsha (NOSCRIPT:
 * reloads and retries once). ss_redis_append_evalsha_resp: pipelined; read the reply with
 * ss_redis_get_reply (a NOSCRIPT error reply is the caller's to handle, e.g. by a synchronous
 * retry). */
int ss_redis_evalsha_resp(ss_redis_t *r, int script, size_t nargs, const char *body, size_t len,
                          redisReply **reply, ss_err_t *err);
int ss_redis_append_evalsha_resp(ss_redis_t *r, int script, size_t nargs, const char *body,
                                 size_t len, ss_err_t *err);

/* Runs one command given as argv (binary-safe). Same return codes as ss_redis_evalsha; an error
 * reply (e.g. WRONGTYPE) gives SS_ERR_INVAL with the server's message. *reply returns new. */
int ss_redis_commandv(ss_redis_t *r, int argc, const char **argv, const size_t *argvlen,
                      redisReply **reply, ss_err_t *err);
/* printf-style convenience form of ss_redis_commandv (hiredis format: %s %b %d ...). reply may
 * be NULL when the caller does not need it. */
int ss_redis_command(ss_redis_t *r, redisReply **reply, ss_err_t *err, const char *fmt, ...);

/* Pipelining: append any number of commands, then read exactly as many replies in order.
 * If any call fails the connection is dropped and the caller must start the pipeline again
 * (appended commands may or may not have run). Returns 0 or SS_ERR_RETRIABLE. */
/* Appends ready-made RESP (one or more complete commands) to the output buffer (connecting
 * first if needed); the caller reads one reply per command. */
int ss_redis_append_raw(ss_redis_t *r, const char *resp, size_t len, ss_err_t *err);
int ss_redis_appendv(ss_redis_t *r, int argc, const char **argv, const size_t *argvlen,
                     ss_err_t *err);
/* Writes everything appended so far to the socket now (hiredis otherwise sends appended commands
 * only when a reply is read), so that the server works while the caller does something else.
 * Returns 0 or SS_ERR_RETRIABLE (connection lost: dropped, reconnects at next use). */
int ss_redis_flush(ss_redis_t *r, ss_err_t *err);

/* Reads the next pipelined reply. *reply returns new (an error reply is returned as a reply of
 * type REDIS_REPLY_ERROR with return 0: the caller decides; use ss_redis_reply_class). */
int ss_redis_get_reply(ss_redis_t *r, redisReply **reply, ss_err_t *err);

/* Classifies an error reply text: SS_ERR_RETRIABLE for BUSY/LOADING/OOM/MASTERDOWN/READONLY/
 * TRYAGAIN/CLUSTERDOWN, otherwise SS_ERR_INVAL. Pure; exposed for tests. */
int ss_redis_reply_class(const char *errstr);

/* Counters since new (for /metrics). */
uint64_t ss_redis_reconnects(const ss_redis_t *r);

#endif
