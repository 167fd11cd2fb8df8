/*
 * io_posix_file.h: the POSIX backend's file (io_posix.c), shared with its
 * mapped appends (io_posix_grow.c), inside common/ only.
 *
 * Invariants of a file opened with IO_GROW (grow = 1):
 *   G1. `end` is the file's size as the engine sees it: every byte appended
 *       and nothing else; the file on disk may be longer (grown = 1), the
 *       rest zeros, until io_close or a truncate trims it.
 *   G2. win, when not NULL, maps file bytes [win_off, win_off +
 *       IO_GROW_STEP), all of them reserved with fallocate before the
 *       mapping was made, and win_off <= end < win_off + IO_GROW_STEP
 *       after each append.
 */
#ifndef KV_COMMON_IO_POSIX_FILE_H
#define KV_COMMON_IO_POSIX_FILE_H

#include <stdint.h>
#include <sys/uio.h>

#include "io.h"

typedef struct posix_file {
    io_file base;
    int fd;
    /* IO_GROW: appends are copied into win (G2); the next one lands at
     * `end` (G1). */
    int grow;
    int grown;          /* the file has been grown past `end` */
    uint8_t *win;
    uint64_t win_off;
    uint64_t end;
} posix_file;

/* writev of the whole iovec (IOV_MAX at a time), retried on EINTR: bytes
 * written, or -errno (io_posix.c). */
long posix_writev(posix_file *f, const struct iovec *iov, int iovcnt);

/* io_posix_grow.c: an append through the mapping (G1, G2), falling back to
 * posix_writev where the file system cannot reserve or map; the window
 * unmapped; growing stopped, the file trimmed to `end`.  -errno on
 * failure. */
long posix_grow_append(posix_file *f, const struct iovec *iov, int iovcnt);
void posix_grow_unmap(posix_file *f);
int  posix_grow_stop(posix_file *f);

#endif
