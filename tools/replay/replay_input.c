/* rin: file / stdin / gzip-through-a-child input. See replay_input.h. */
#include "replay_input.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct rin {
    char *path;
    int fd;      /* what rin_read reads: the file, stdin or gzip's stdout */
    int own_fd;  /* fd is ours to close */
    pid_t child; /* gzip, or 0 */
    unsigned char peek[2];
    size_t npeek, peek_off; /* bytes read ahead to look for the gzip magic, not yet served */
    int eof;
};

static ssize_t read_full(int fd, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, (char *)buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

static int start_gzip(rin_t *in, int src, ss_err_t *err) {
    int p[2];
    if (pipe(p) < 0)
        return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot create pipe for gzip");
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return ss_err_set_errno(err, SS_ERR_IO, e, "cannot start gzip");
    }
    if (pid == 0) {
        if (dup2(src, 0) < 0 || dup2(p[1], 1) < 0)
            _exit(127);
        close(p[0]);
        close(p[1]);
        if (src > 2)
            close(src);
        signal(SIGPIPE, SIG_DFL);
        execlp("gzip", "gzip", "-dc", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    if (in->own_fd)
        close(in->fd);
    in->fd = p[0];
    in->own_fd = 1;
    in->child = pid;
    return 0;
}

rin_t *rin_open(const char *path, ss_err_t *err) {
    rin_t *in = ss_xcalloc(1, sizeof(*in));
    in->path = ss_xstrdup(path);
    in->fd = -1;
    if (!strcmp(path, "-")) {
        in->fd = 0;
    } else {
        in->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (in->fd < 0) {
            ss_err_set_errno(err, SS_ERR_IO, errno, "cannot open '%s'", path);
            goto fail;
        }
        in->own_fd = 1;
    }
    ssize_t k = read_full(in->fd, in->peek, 2);
    if (k < 0) {
        ss_err_set_errno(err, SS_ERR_IO, errno, "cannot read '%s'", path);
        goto fail;
    }
    in->npeek = (size_t)k;
    if (k == 2 && in->peek[0] == 0x1f && in->peek[1] == 0x8b) {
        if (lseek(in->fd, 0, SEEK_SET) != 0) {
            ss_err_set(err, SS_ERR_INVAL,
                       "'%s' is gzip data on a pipe: decompress it first (gzip -dc)", path);
            goto fail;
        }
        in->npeek = 0;
        if (start_gzip(in, in->fd, err))
            goto fail;
    }
    return in;
fail:
    if (in->own_fd)
        close(in->fd);
    free(in->path);
    free(in);
    return NULL;
}

int rin_compressed(const rin_t *in) { return in->child != 0; }

ssize_t rin_read(rin_t *in, void *buf, size_t n, ss_err_t *err) {
    if (n == 0)
        return 0;
    if (in->peek_off < in->npeek) {
        size_t k = in->npeek - in->peek_off;
        if (k > n)
            k = n;
        memcpy(buf, in->peek + in->peek_off, k);
        in->peek_off += k;
        return (ssize_t)k;
    }
    for (;;) {
        ssize_t k = read(in->fd, buf, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return ss_err_set_errno(err, SS_ERR_IO, errno, "cannot read '%s'", in->path);
        if (k == 0)
            in->eof = 1;
        return k;
    }
}

int rin_close(rin_t *in, ss_err_t *err) {
    if (!in)
        return 0;
    int rc = 0;
    if (in->own_fd)
        close(in->fd);
    if (in->child) {
        int st;
        pid_t w;
        do
            w = waitpid(in->child, &st, 0);
        while (w < 0 && errno == EINTR);
        /* Closing early kills gzip with SIGPIPE: only a failure after EOF is an error. */
        if (w == in->child && in->eof && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            if (WIFEXITED(st))
                rc = ss_err_set(err, SS_ERR_IO, "gzip -dc '%s' failed: exit status %d", in->path,
                                WEXITSTATUS(st));
            else
                rc = ss_err_set(err, SS_ERR_IO, "gzip -dc '%s' failed: signal %d", in->path,
                                WTERMSIG(st));
        }
    }
    free(in->path);
    free(in);
    return rc;
}
