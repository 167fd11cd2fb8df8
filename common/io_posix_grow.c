/*
 * io_posix_grow.c: appends through a mapping, for a file opened with
 * IO_GROW (io.h): a write-ahead log takes many small appends, and a memcpy
 * into a shared mapping costs far less than a write() system call each.
 * An optimisation of the POSIX backend (io_posix.c): a first reading skips
 * this file; every other file, and this one before its first
 * IO_GROW_AFTER bytes, is appended with writev.
 *
 * Past IO_GROW_AFTER bytes, the file is grown a window of IO_GROW_STEP
 * bytes at a time, reserved with fallocate before it is mapped (so that a
 * full disk is an error from fallocate, not a SIGBUS from a store into the
 * map), and appends are copied into the window; fdatasync writes the
 * mapped pages like any others.  A disk with less than a window left
 * (fallocate's ENOSPC) ends the growing: the file is trimmed and appended
 * with writev, so that a small write still fits where a window does not.
 * The invariants are io_posix_file.h's.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io_posix_file.h"

void posix_grow_unmap(posix_file *f)
{
    if (f->win != NULL)
        munmap(f->win, IO_GROW_STEP);
    f->win = NULL;
}

/* Maps the window that holds `end`, the file grown to its end first.
 * -EOPNOTSUPP: this file system cannot reserve space or map files (append
 * with writev instead). */
static int posix_map_window(posix_file *f)
{
    posix_grow_unmap(f);
    uint64_t off = f->end & ~(uint64_t)4095; /* mmap offsets are page-aligned */
    int rc;
    do
        rc = fallocate(f->fd, 0, (off_t)off, IO_GROW_STEP);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return errno == ENOSYS ? -EOPNOTSUPP : -errno;
    f->grown = 1;
    void *p = mmap(NULL, IO_GROW_STEP, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, (off_t)off);
    if (p == MAP_FAILED)
        return errno == ENODEV ? -EOPNOTSUPP : -errno; /* ENODEV: no mmap here */
    f->win = p;
    f->win_off = off;
    return 0;
}

/* Trims the file back to what was appended and appends with writev from
 * now on. */
int posix_grow_stop(posix_file *f)
{
    posix_grow_unmap(f);
    f->grow = 0;
    if (!f->grown)
        return 0;
    f->grown = 0;
    return ftruncate(f->fd, (off_t)f->end) < 0 ? -errno : 0;
}

long posix_grow_append(posix_file *f, const struct iovec *iov, int iovcnt)
{
    if (f->win == NULL && f->end < IO_GROW_AFTER) {
        long n = posix_writev(f, iov, iovcnt); /* a small file is not grown yet */
        if (n > 0)
            f->end += (uint64_t)n;
        return n;
    }
    long done = 0;
    for (int i = 0; i < iovcnt; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t n = iov[i].iov_len;
        while (n > 0) {
            if (f->win == NULL || f->end >= f->win_off + IO_GROW_STEP) {
                int rc = posix_map_window(f);
                /* No room for a whole window (a nearly full disk): the bytes
                 * themselves may still fit, appended with writev. */
                if ((rc == -EOPNOTSUPP || rc == -ENOSPC) && done == 0 &&
                    (rc = posix_grow_stop(f)) == 0)
                    return posix_writev(f, iov, iovcnt);
                if (rc < 0)
                    return done > 0 ? done : rc;
            }
            uint64_t room = f->win_off + IO_GROW_STEP - f->end;
            size_t k = n < room ? n : (size_t)room;
            memcpy(f->win + (f->end - f->win_off), p, k);
            f->end += k;
            p += k;
            n -= k;
            done += (long)k;
        }
    }
    return done;
}

