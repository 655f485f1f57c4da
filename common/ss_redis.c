/* ss_redis: synchronous hiredis 0.14 connection with reconnect, scripts and error classes.
 * hiredis errors: REDIS_ERR_IO/EOF/OTHER (timeouts too) mean "reconnect and retry";
 * REDIS_ERR_PROTOCOL means a bug or a non-Redis peer. One handle per thread. */
#include "ss_redis.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ss_log.h"

typedef struct ss_redis_script {
    char *src;
    char sha[41]; /* "" until loaded once */
} ss_redis_script_t;

struct ss_redis {
    redisContext *rc; /* NULL while disconnected */
    char *host;
    int port;
    char *user; /* ACL user, NULL for the default user */
    char *password;
    int db;
    int connect_timeout_ms;
    int timeout_ms;
    int backoff_min_ms, backoff_max_ms;
    int backoff_ms; /* next delay */
    ss_redis_script_t *scripts;
    int n_scripts;
    uint64_t reconnects;
    int ever_connected;
};

static struct timeval ms_tv(int ms) {
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

ss_redis_t *ss_redis_new(const ss_redis_opts_t *opts) {
    ss_redis_opts_t zero = {0};
    if (!opts)
        opts = &zero;
    ss_redis_t *r = ss_xcalloc(1, sizeof(*r));
    r->host = ss_xstrdup(opts->host && *opts->host ? opts->host : "127.0.0.1");
    r->port = opts->port > 0 ? opts->port : 6379;
    r->user = opts->user && *opts->user ? ss_xstrdup(opts->user) : NULL;
    r->password = opts->password && *opts->password ? ss_xstrdup(opts->password) : NULL;
    r->db = opts->db;
    r->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 2000;
    r->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
    r->backoff_min_ms = opts->backoff_min_ms > 0 ? opts->backoff_min_ms : 100;
    r->backoff_max_ms = opts->backoff_max_ms > 0 ? opts->backoff_max_ms : 5000;
    if (r->backoff_max_ms < r->backoff_min_ms)
        r->backoff_max_ms = r->backoff_min_ms;
    r->backoff_ms = r->backoff_min_ms;
    return r;
}

void ss_redis_disconnect(ss_redis_t *r) {
    if (r && r->rc) {
        redisFree(r->rc);
        r->rc = NULL;
    }
}

void ss_redis_destroy(ss_redis_t *r) {
    if (!r)
        return;
    ss_redis_disconnect(r);
    for (int i = 0; i < r->n_scripts; i++)
        free(r->scripts[i].src);
    free(r->scripts);
    free(r->user);
    if (r->password) {
        memset(r->password, 0, strlen(r->password));
        free(r->password);
    }
    free(r->host);
    free(r);
}

int ss_redis_connected(const ss_redis_t *r) { return r->rc != NULL; }

uint64_t ss_redis_reconnects(const ss_redis_t *r) { return r->reconnects; }

int ss_redis_reply_class(const char *e) {
    static const char *const retriable[] = {"BUSY",     "LOADING",     "OOM",     "MASTERDOWN",
                                            "READONLY", "CLUSTERDOWN", "TRYAGAIN"};
    if (!e)
        return SS_ERR_INVAL;
    for (size_t i = 0; i < sizeof(retriable) / sizeof(retriable[0]); i++) {
        size_t n = strlen(retriable[i]);
        if (strncmp(e, retriable[i], n) == 0 && (e[n] == ' ' || e[n] == '\0'))
            return SS_ERR_RETRIABLE;
    }
    return SS_ERR_INVAL;
}

/* Turns a failed context into an error code, dropping the connection. */
static int ctx_error(ss_redis_t *r, ss_err_t *err, const char *what) {
    int code = SS_ERR_RETRIABLE;
    const char *msg = "unknown error";
    if (r->rc) {
        if (r->rc->err == REDIS_ERR_PROTOCOL)
            code = SS_ERR_FATAL;
        if (r->rc->errstr[0])
            msg = r->rc->errstr;
    }
    ss_err_set(err, code, "redis %s on '%s:%d' failed: %s", what, r->host, r->port, msg);
    ss_redis_disconnect(r);
    return code;
}

static int load_script(ss_redis_t *r, ss_redis_script_t *s, ss_err_t *err) {
    redisReply *rep = redisCommand(r->rc, "SCRIPT LOAD %s", s->src);
    if (!rep)
        return ctx_error(r, err, "SCRIPT LOAD");
    int rc = 0;
    if (rep->type == REDIS_REPLY_STRING && rep->len == 40) {
        memcpy(s->sha, rep->str, 40);
        s->sha[40] = '\0';
    } else if (rep->type == REDIS_REPLY_ERROR) {
        /* LOADING/BUSY... are transient; anything else means the script does not compile. */
        rc = ss_err_set(err, ss_redis_reply_class(rep->str), "redis SCRIPT LOAD failed: %s",
                        rep->str);
    } else {
        rc =
            ss_err_set(err, SS_ERR_FATAL, "redis SCRIPT LOAD: unexpected reply type %d", rep->type);
    }
    freeReplyObject(rep);
    return rc;
}

int ss_redis_connect(ss_redis_t *r, ss_err_t *err) {
    if (r->rc)
        return 0;
    redisContext *rc = redisConnectWithTimeout(r->host, r->port, ms_tv(r->connect_timeout_ms));
    if (!rc)
        return ss_err_set(err, SS_ERR_RETRIABLE, "cannot connect to redis '%s:%d': out of memory",
                          r->host, r->port);
    if (rc->err) {
        ss_err_set(err, SS_ERR_RETRIABLE, "cannot connect to redis '%s:%d': %s", r->host, r->port,
                   rc->errstr);
        redisFree(rc);
        return SS_ERR_RETRIABLE;
    }
    r->rc = rc;
    if (redisSetTimeout(rc, ms_tv(r->timeout_ms)) != REDIS_OK)
        return ctx_error(r, err, "set timeout");
    redisEnableKeepAlive(rc);
    if (r->password) {
        redisReply *rep = r->user ? redisCommand(rc, "AUTH %s %s", r->user, r->password)
                                  : redisCommand(rc, "AUTH %s", r->password);
        if (!rep)
            return ctx_error(r, err, "AUTH");
        int bad = rep->type == REDIS_REPLY_ERROR;
        int code = bad && ss_redis_reply_class(rep->str) == SS_ERR_RETRIABLE ? SS_ERR_RETRIABLE
                                                                             : SS_ERR_FATAL;
        if (bad)
            ss_err_set(err, code, "redis AUTH on '%s:%d' failed: %s", r->host, r->port, rep->str);
        freeReplyObject(rep);
        if (bad) {
            ss_redis_disconnect(r);
            return code;
        }
    }
    if (r->db > 0) {
        redisReply *rep = redisCommand(rc, "SELECT %d", r->db);
        if (!rep)
            return ctx_error(r, err, "SELECT");
        int bad = rep->type == REDIS_REPLY_ERROR;
        if (bad)
            ss_err_set(err, SS_ERR_FATAL, "redis SELECT %d failed: %s", r->db, rep->str);
        freeReplyObject(rep);
        if (bad) {
            ss_redis_disconnect(r);
            return SS_ERR_FATAL;
        }
    }
    for (int i = 0; i < r->n_scripts; i++) {
        int rc2 = load_script(r, &r->scripts[i], err);
        if (rc2 < 0) {
            ss_redis_disconnect(r);
            /* A script that does not compile is a bug; a server that cannot load now may later. */
            return rc2 == SS_ERR_INVAL ? SS_ERR_FATAL : rc2;
        }
    }
    if (r->ever_connected) {
        r->reconnects++;
        SS_LOG(LOG_NOTICE, "redis", "reconnected to '%s:%d'", r->host, r->port);
    } else {
        SS_LOG(LOG_INFO, "redis", "connected to '%s:%d'", r->host, r->port);
    }
    r->ever_connected = 1;
    return 0;
}

int ss_redis_backoff(ss_redis_t *r) {
    int ms = r->backoff_ms;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* EINTR (a signal) just shortens the wait */
    r->backoff_ms = ms * 2 > r->backoff_max_ms ? r->backoff_max_ms : ms * 2;
    return ms;
}

void ss_redis_backoff_reset(ss_redis_t *r) { r->backoff_ms = r->backoff_min_ms; }

int ss_redis_script_add(ss_redis_t *r, const char *src, ss_err_t *err) {
    r->scripts = ss_xrealloc(r->scripts, sizeof(*r->scripts) * (size_t)(r->n_scripts + 1));
    ss_redis_script_t *s = &r->scripts[r->n_scripts];
    s->src = ss_xstrdup(src);
    s->sha[0] = '\0';
    int idx = r->n_scripts++;
    if (r->rc)
        load_script(r, s, err);
    return idx;
}

const char *ss_redis_script_sha(const ss_redis_t *r, int script) {
    SS_ASSERT(script >= 0 && script < r->n_scripts);
    return r->scripts[script].sha;
}

/* Sends argv and reads one reply; connection failures become SS_ERR_RETRIABLE/FATAL. An error
 * reply is returned as a reply (rc 0). */
static int roundtrip(ss_redis_t *r, int argc, const char **argv, const size_t *argvlen,
                     redisReply **reply, ss_err_t *err) {
    int rc = ss_redis_connect(r, err);
    if (rc < 0)
        return rc;
    redisReply *rep = redisCommandArgv(r->rc, argc, argv, argvlen);
    if (!rep)
        return ctx_error(r, err, argc > 0 ? argv[0] : "command");
    *reply = rep;
    return 0;
}

static int error_reply(ss_redis_t *r, redisReply *rep, const char *what, ss_err_t *err) {
    int code = ss_redis_reply_class(rep->str);
    ss_err_set(err, code, "redis %s on '%s:%d' failed: %s", what, r->host, r->port, rep->str);
    freeReplyObject(rep);
    return code;
}

int ss_redis_commandv(ss_redis_t *r, int argc, const char **argv, const size_t *argvlen,
                      redisReply **reply, ss_err_t *err) {
    redisReply *rep = NULL;
    int rc = roundtrip(r, argc, argv, argvlen, &rep, err);
    if (rc < 0)
        return rc;
    if (rep->type == REDIS_REPLY_ERROR)
        return error_reply(r, rep, argv[0], err);
    ss_redis_backoff_reset(r);
    if (reply)
        *reply = rep;
    else
        freeReplyObject(rep);
    return 0;
}

int ss_redis_command(ss_redis_t *r, redisReply **reply, ss_err_t *err, const char *fmt, ...) {
    int rc = ss_redis_connect(r, err);
    if (rc < 0)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(r->rc, fmt, ap);
    va_end(ap);
    if (!rep)
        return ctx_error(r, err, "command");
    if (rep->type == REDIS_REPLY_ERROR)
        return error_reply(r, rep, "command", err);
    ss_redis_backoff_reset(r);
    if (reply)
        *reply = rep;
    else
        freeReplyObject(rep);
    return 0;
}

int ss_redis_evalsha(ss_redis_t *r, int script, int numkeys, int argc, const char **argv,
                     const size_t *argvlen, redisReply **reply, ss_err_t *err) {
    SS_ASSERT(script >= 0 && script < r->n_scripts);
    SS_ASSERT(numkeys >= 0 && numkeys <= argc);
    int total = argc + 3;
    const char **av = ss_xmalloc(sizeof(*av) * (size_t)total);
    size_t *al = ss_xmalloc(sizeof(*al) * (size_t)total);
    char nk[16];
    snprintf(nk, sizeof(nk), "%d", numkeys);
    av[0] = "EVALSHA";
    al[0] = 7;
    av[2] = nk;
    al[2] = strlen(nk);
    for (int i = 0; i < argc; i++) {
        av[3 + i] = argv[i];
        al[3 + i] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        rc = ss_redis_connect(r, err);
        if (rc < 0)
            break;
        ss_redis_script_t *s = &r->scripts[script];
        if (!s->sha[0] && (rc = load_script(r, s, err)) < 0)
            break;
        av[1] = s->sha;
        al[1] = 40;
        redisReply *rep = NULL;
        rc = roundtrip(r, total, av, al, &rep, err);
        if (rc < 0)
            break;
        if (rep->type == REDIS_REPLY_ERROR) {
            if (strncmp(rep->str, "NOSCRIPT", 8) == 0 && attempt == 0) {
                /* The server lost its script cache (restart, failover, SCRIPT FLUSH). */
                freeReplyObject(rep);
                SS_LOG(LOG_NOTICE, "redis", "script %d missing on server, reloading", script);
                if ((rc = load_script(r, s, err)) < 0)
                    break;
                continue;
            }
            rc = error_reply(r, rep, "EVALSHA", err);
            break;
        }
        ss_redis_backoff_reset(r);
        *reply = rep;
        break;
    }
    free(av);
    free(al);
    return rc;
}

/* Appends the EVALSHA header and the ready-made argument body to the output buffer. */
static int append_evalsha_resp(ss_redis_t *r, ss_redis_script_t *s, size_t nargs, const char *body,
                               size_t len, ss_err_t *err) {
    char hdr[128];
    int n = snprintf(hdr, sizeof(hdr), "*%zu\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n$1\r\n0\r\n",
                     nargs + 3, s->sha);
    if (redisAppendFormattedCommand(r->rc, hdr, (size_t)n) != REDIS_OK ||
        redisAppendFormattedCommand(r->rc, body, len) != REDIS_OK)
        return ctx_error(r, err, "append");
    return 0;
}

int ss_redis_append_evalsha_resp(ss_redis_t *r, int script, size_t nargs, const char *body,
                                 size_t len, ss_err_t *err) {
    SS_ASSERT(script >= 0 && script < r->n_scripts);
    int rc = ss_redis_connect(r, err);
    if (rc < 0)
        return rc;
    ss_redis_script_t *s = &r->scripts[script];
    if (!s->sha[0] && (rc = load_script(r, s, err)) < 0)
        return rc;
    return append_evalsha_resp(r, s, nargs, body, len, err);
}

int ss_redis_evalsha_resp(ss_redis_t *r, int script, size_t nargs, const char *body, size_t len,
                          redisReply **reply, ss_err_t *err) {
    for (int attempt = 0;; attempt++) {
        int rc = ss_redis_append_evalsha_resp(r, script, nargs, body, len, err);
        redisReply *rep = NULL;
        if (rc < 0 || (rc = ss_redis_get_reply(r, &rep, err)) < 0)
            return rc;
        if (rep->type == REDIS_REPLY_ERROR) {
            if (strncmp(rep->str, "NOSCRIPT", 8) == 0 && attempt == 0) {
                freeReplyObject(rep);
                SS_LOG(LOG_NOTICE, "redis", "script %d missing on server, reloading", script);
                if ((rc = load_script(r, &r->scripts[script], err)) < 0)
                    return rc;
                continue;
            }
            return error_reply(r, rep, "EVALSHA", err);
        }
        *reply = rep;
        return 0;
    }
}

int ss_redis_append_raw(ss_redis_t *r, const char *resp, size_t len, ss_err_t *err) {
    int rc = ss_redis_connect(r, err);
    if (rc < 0)
        return rc;
    if (redisAppendFormattedCommand(r->rc, resp, len) != REDIS_OK)
        return ctx_error(r, err, "append");
    return 0;
}

int ss_redis_appendv(ss_redis_t *r, int argc, const char **argv, const size_t *argvlen,
                     ss_err_t *err) {
    int rc = ss_redis_connect(r, err);
    if (rc < 0)
        return rc;
    if (redisAppendCommandArgv(r->rc, argc, argv, argvlen) != REDIS_OK)
        return ctx_error(r, err, "append");
    return 0;
}

int ss_redis_flush(ss_redis_t *r, ss_err_t *err) {
    if (!r->rc)
        return ss_err_set(err, SS_ERR_RETRIABLE, "redis connection to '%s:%d' lost in pipeline",
                          r->host, r->port);
    int done = 0;
    while (!done)
        if (redisBufferWrite(r->rc, &done) != REDIS_OK)
            return ctx_error(r, err, "pipeline write");
    return 0;
}

int ss_redis_get_reply(ss_redis_t *r, redisReply **reply, ss_err_t *err) {
    if (!r->rc)
        return ss_err_set(err, SS_ERR_RETRIABLE, "redis connection to '%s:%d' lost in pipeline",
                          r->host, r->port);
    void *rep = NULL;
    if (redisGetReply(r->rc, &rep) != REDIS_OK || !rep)
        return ctx_error(r, err, "pipeline read");
    ss_redis_backoff_reset(r);
    *reply = rep;
    return 0;
}
