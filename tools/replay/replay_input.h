/* rin: the replay input as a byte stream: a file, `-` for stdin, and gzip files (detected by
 * their magic bytes, not the name) decompressed by a `gzip -dc` child process, so no library is
 * needed. Depends on ss_err and POSIX. One reader per thread. */
#ifndef SS_REPLAY_INPUT_H
#define SS_REPLAY_INPUT_H

#include <stddef.h>
#include <sys/types.h>

#include "ss_err.h"

typedef struct rin rin_t;

/* Returns new: the input at path ("-" = stdin), or NULL with SS_ERR_IO ("cannot open 'x': No
 * such file or directory") or SS_ERR_INVAL for gzip data on a non-seekable input (stdin pipe:
 * decompress it before the pipe). */
rin_t *rin_open(const char *path, ss_err_t *err);

/* Reads up to n bytes: returns how many, 0 at end of input, SS_ERR_IO on a read error. */
ssize_t rin_read(rin_t *in, void *buf, size_t n, ss_err_t *err);

/* 1 if the input is being decompressed. */
int rin_compressed(const rin_t *in);

/* Closes the input and reaps the gzip child. Returns 0, or SS_ERR_IO when gzip reported corrupt
 * data after the whole input was read ("gzip -dc 'x' failed: exit status 1"). Closing before the
 * end is not an error. NULL is a no-op returning 0. */
int rin_close(rin_t *in, ss_err_t *err);

#endif
