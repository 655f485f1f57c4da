/* stack_redis: redis-server child process management (see stack_redis.h). */
#include "stack_redis.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "ss_log.h"

struct stk_redis {
    char *server, *dir, *appendfsync;
    int port;
    int appendonly;
    int ready_timeout_ms;
    pid_t pid; /* 0 when not running */
};

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int stk_free_port(ss_err_t *err) {
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    if (fd < 0)
        return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot create socket");
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        int e = errno;
        close(fd);
        return ss_err_set_errno(err, SS_ERR_IO, e, "cannot find a free port on 127.0.0.1");
    }
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

int stk_rm_rf(const char *path, ss_err_t *err) {
    struct stat st;
    int rc = 0;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0
                               : ss_err_set_errno(err, SS_ERR_IO, errno, "cannot stat '%s'", path);
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        if (!d)
            return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot open directory '%s'", path);
        while ((de = readdir(d)) != NULL) {
            char sub[4096];
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
            if (stk_rm_rf(sub, err) < 0)
                rc = SS_ERR_IO;
        }
        closedir(d);
        if (rmdir(path) < 0)
            rc = ss_err_set_errno(err, SS_ERR_IO, errno, "cannot remove '%s'", path);
    } else if (unlink(path) < 0) {
        rc = ss_err_set_errno(err, SS_ERR_IO, errno, "cannot remove '%s'", path);
    }
    return rc;
}

/* 1 when redis answers PING with PONG. */
static int ping(int port) {
    struct timeval tv = {0, 500000};
    redisContext *rc = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *reply;
    int ok = 0;

    if (!rc)
        return 0;
    if (!rc->err) {
        redisSetTimeout(rc, tv);
        reply = redisCommand(rc, "PING");
        ok = reply && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
        if (reply)
            freeReplyObject(reply);
    }
    redisFree(rc);
    return ok;
}

/* Appends the last lines of the redis log to err->msg, to say why it did not start. */
static void log_tail(const stk_redis_t *r, char *buf, size_t size) {
    char path[4096], all[4096];
    FILE *f;
    size_t n;

    buf[0] = '\0';
    snprintf(path, sizeof(path), "%s/redis.log", r->dir);
    if (!(f = fopen(path, "r")))
        return;
    if (fseek(f, -300, SEEK_END) < 0)
        rewind(f);
    n = fread(all, 1, sizeof(all) - 1, f);
    fclose(f);
    all[n] = '\0';
    for (char *p = all; *p; p++)
        if (*p == '\n')
            *p = ' ';
    n = strlen(all) < size - 1 ? strlen(all) : size - 1;
    memcpy(buf, all, n);
    buf[n] = '\0';
}

static int spawn(stk_redis_t *r, ss_err_t *err) {
    char port[16], logfile[4096];
    int64_t deadline;
    int status;
    pid_t pid;

    snprintf(port, sizeof(port), "%d", r->port);
    snprintf(logfile, sizeof(logfile), "%s/redis.log", r->dir);
    pid = fork();
    if (pid < 0)
        return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot fork redis-server");
    if (pid == 0) {
        /* Child: dies with the stack even on SIGKILL; no stdin/stdout chatter. */
        const char *argv[] = {r->server,
                              "--port",
                              port,
                              "--bind",
                              "127.0.0.1",
                              "--dir",
                              r->dir,
                              "--save",
                              "",
                              "--appendonly",
                              r->appendonly ? "yes" : "no",
                              "--appendfsync",
                              r->appendfsync,
                              "--daemonize",
                              "no",
                              "--logfile",
                              logfile,
                              "--protected-mode",
                              "no",
                              NULL};
        int fd = open("/dev/null", O_RDWR);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
        }
        execvp(r->server, (char *const *)argv);
        fprintf(stderr, "cannot run '%s': %s\n", r->server, strerror(errno));
        _exit(127);
    }
    r->pid = pid;
    deadline = mono_ms() + r->ready_timeout_ms;
    while (!ping(r->port)) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            char tail[300];
            r->pid = 0;
            log_tail(r, tail, sizeof(tail));
            return ss_err_set(err, SS_ERR_IO, "redis-server exited with status %d before ready: %s",
                              WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                              tail[0] ? tail : "(no log)");
        }
        if (mono_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            r->pid = 0;
            return ss_err_set(err, SS_ERR_IO, "redis-server on port %d not ready after %d ms",
                              r->port, r->ready_timeout_ms);
        }
        sleep_ms(50);
    }
    SS_LOG(LOG_INFO, "stack", "redis-server ready port=%d pid=%d dir=%s", r->port, (int)pid,
           r->dir);
    return 0;
}

stk_redis_t *stk_redis_start(const stk_redis_opts_t *opts, ss_err_t *err) {
    stk_redis_t *r;

    if (!opts || !opts->dir) {
        ss_err_set(err, SS_ERR_INVAL, "redis data dir is required");
        return NULL;
    }
    r = ss_xcalloc(1, sizeof(*r));
    r->server = ss_xstrdup(opts->server && *opts->server ? opts->server : "redis-server");
    r->dir = ss_xstrdup(opts->dir);
    r->appendfsync =
        ss_xstrdup(opts->appendfsync && *opts->appendfsync ? opts->appendfsync : "everysec");
    r->appendonly = !opts->no_appendonly;
    r->ready_timeout_ms = opts->ready_timeout_ms > 0 ? opts->ready_timeout_ms : 10000;
    /* A free port can be taken between our probe and redis' bind: try a few. */
    for (int attempt = 0; attempt < 3; attempt++) {
        ss_err_t e = SS_ERR_INIT;
        r->port = opts->port > 0 ? opts->port : stk_free_port(&e);
        if (r->port < 0 || spawn(r, &e) < 0) {
            if (opts->port > 0 || attempt == 2) {
                ss_err_set(err, e.code ? e.code : SS_ERR_IO, "%s", e.msg);
                stk_redis_stop(r);
                return NULL;
            }
            SS_LOG(LOG_WARNING, "stack", "redis start failed, retrying: %s", e.msg);
            continue;
        }
        return r;
    }
    stk_redis_stop(r);
    return NULL;
}

int stk_redis_port(const stk_redis_t *r) { return r->port; }

pid_t stk_redis_pid(const stk_redis_t *r) { return r->pid; }

int stk_redis_alive(stk_redis_t *r) {
    int status;

    if (!r->pid)
        return 0;
    if (waitpid(r->pid, &status, WNOHANG) != r->pid)
        return 1;
    SS_LOG(LOG_WARNING, "stack", "redis-server exited pid=%d status=%d (SIGHUP restarts it)",
           (int)r->pid, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    r->pid = 0;
    return 0;
}

static void kill_wait(stk_redis_t *r) {
    int status;
    int64_t deadline;

    if (!r->pid)
        return;
    kill(r->pid, SIGTERM);
    deadline = mono_ms() + 5000;
    for (;;) {
        pid_t w = waitpid(r->pid, &status, WNOHANG);
        if (w == r->pid || (w < 0 && errno != EINTR))
            break;
        if (mono_ms() > deadline) {
            kill(r->pid, SIGKILL);
            waitpid(r->pid, &status, 0);
            break;
        }
        sleep_ms(20);
    }
    r->pid = 0;
}

int stk_redis_restart(stk_redis_t *r, ss_err_t *err) {
    kill_wait(r);
    return spawn(r, err);
}

void stk_redis_stop(stk_redis_t *r) {
    if (!r)
        return;
    kill_wait(r);
    free(r->server);
    free(r->dir);
    free(r->appendfsync);
    free(r);
}
