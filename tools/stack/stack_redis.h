/* stack_redis: a private redis-server child for the local stack: free loopback port, temp data
 * dir, readiness by PING, restart on the same port and dir, stop. Uses fork/exec and hiredis.
 * Not thread-safe; used by main only (no librdkafka calls between fork and exec). */
#ifndef STACK_REDIS_H
#define STACK_REDIS_H

#include <sys/types.h>

#include "ss_err.h"

typedef struct stk_redis stk_redis_t;

/* Zero means default for every field. */
typedef struct stk_redis_opts {
    const char *server;      /* redis-server executable; default "redis-server" (PATH) */
    int port;                /* 0: a free loopback port */
    const char *dir;         /* data dir (must exist); required */
    int no_appendonly;       /* 1: --appendonly no */
    const char *appendfsync; /* default "everysec" */
    int ready_timeout_ms;    /* how long to wait for PING; default 10000 */
} stk_redis_opts_t;

/* Returns new: a running redis-server answering PING on 127.0.0.1, or NULL (err: cannot exec,
 * exited early with its log tail, not ready in time). Copies the option strings. */
stk_redis_t *stk_redis_start(const stk_redis_opts_t *opts, ss_err_t *err);

int stk_redis_port(const stk_redis_t *r);
pid_t stk_redis_pid(const stk_redis_t *r); /* 0 when not running */

/* Reaps the child if it exited; returns 1 while it runs, 0 once it exited (logged once). */
int stk_redis_alive(stk_redis_t *r);

/* Starts redis again on the same port and dir (after a crash or a test's kill). Stops a running
 * one first. Returns 0 or an error as stk_redis_start. */
int stk_redis_restart(stk_redis_t *r, ss_err_t *err);

/* SIGTERM, wait up to 5 s, then SIGKILL; frees r. NULL is a no-op. Leaves the dir in place. */
void stk_redis_stop(stk_redis_t *r);

/* Returns a currently free TCP port on 127.0.0.1 (bind to port 0), or a negative SS_ERR_IO. */
int stk_free_port(ss_err_t *err);

/* Removes path and everything under it (no symlink following). Returns 0 or SS_ERR_IO. */
int stk_rm_rf(const char *path, ss_err_t *err);

#endif
