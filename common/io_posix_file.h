/*
 * io_posix_file.h: the POSIX backend's file and calls (io_posix.c), shared
 * with its mapped appends (io_posix_grow.c) and with the io_uring backend
 * (io_ring.c), whose files are POSIX's files and whose single calls are
 * POSIX's; inside common/ only.
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

#include <errno.h>
#include <limits.h>
#include <stddef.h>
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

/* The POSIX backend's operations (io_ops in io.h), for io_ring.c's table. */
int      posix_open(const char *path, int flags, io_file **out);
long     posix_append(io_file *f, const struct iovec *iov, int iovcnt);
long     posix_read_at(io_file *f, uint64_t off, void *buf, size_t n);
int      posix_sync(io_file *f);
int      posix_truncate(io_file *f, uint64_t size);
int      posix_size(io_file *f, uint64_t *size);
int      posix_close(io_file *f);
int      posix_sync_dir(const char *dir, int *opened);
int      posix_rename(const char *from, const char *to);
int      posix_unlink(const char *path);
int      posix_mkdir(const char *path);
int      posix_exists(const char *path);
int      posix_list(const char *dir, char ***names, size_t *count);
int      posix_lock(const char *path, int exclusive, io_lock **lock);
int      posix_unlock(io_lock *lock);
uint64_t posix_data_after(io_file *f, uint64_t off);
int      posix_map(io_file *f, uint64_t size, const void **addr);
int      posix_unmap(const void *addr, uint64_t size);
int      posix_write_behind(io_file *f, uint64_t off, uint64_t len);

/* Every entry of io_posix_ops but its name and open: the tables that open
 * POSIX's files in their own way (io_default_ops, io_ring.c's) share them. */
#define IO_POSIX_FILE_OPS                                                      \
    .append = posix_append, .read_at = posix_read_at, .sync = posix_sync,      \
    .truncate = posix_truncate, .size = posix_size, .close = posix_close,      \
    .sync_dir = posix_sync_dir, .rename = posix_rename,                        \
    .unlink = posix_unlink, .mkdir = posix_mkdir, .exists = posix_exists,      \
    .list = posix_list, .lock = posix_lock, .unlock = posix_unlock,            \
    .data_after = posix_data_after, .map = posix_map, .unmap = posix_unmap,    \
    .write_behind = posix_write_behind

/* writev of the iovec (IOV_MAX of it at a time), retried on EINTR: bytes
 * written, or -errno.  Here, not in io_posix.c, so that the mapped
 * appends (io_posix_grow.c), which fall back to it, call nothing of the
 * file that calls them. */
static inline long posix_writev(posix_file *f, const struct iovec *iov, int iovcnt)
{
    ssize_t n;
    do
        n = writev(f->fd, iov, iovcnt > IOV_MAX ? IOV_MAX : iovcnt);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (long)n;
}

/* io_posix_grow.c: an append through the mapping (G1, G2), falling back to
 * posix_writev where the file system cannot reserve or map; the window
 * unmapped; growing stopped, the file trimmed to `end`.  -errno on
 * failure. */
long posix_grow_append(posix_file *f, const struct iovec *iov, int iovcnt);
void posix_grow_unmap(posix_file *f);
int  posix_grow_stop(posix_file *f);

#endif
