/*
 * io_posix.c: the I/O backend that talks to the operating system.
 *
 * Each operation is the plain system call, retried on EINTR, returning
 * -errno on failure (see io_ops in io.h).  Files are opened with O_APPEND for
 * writing, so every append lands at the end whatever the offset says.  Syncs
 * use fdatasync: the file's data and the metadata needed to read it back
 * (its size), without its timestamps.  A file opened with IO_GROW (io.h)
 * takes its appends through a mapping instead (io_posix_grow.c, an
 * optimisation a first reading skips).  Locks use flock(), which conflicts between two opens of
 * the same file even inside one process, so a second kv_open of a
 * directory in the same process is refused like one in another process.
 */
#include "io.h"
#include "io_posix_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct posix_lockfile {
    io_lock base;
    int fd;
} posix_lockfile;

int posix_open(const char *path, int flags, io_file **out)
{
    int oflags = O_CLOEXEC;
    oflags |= (flags & IO_WRITE) ? (O_RDWR | O_APPEND) : O_RDONLY;
    if (flags & IO_CREATE)
        oflags |= O_CREAT;
    if (flags & IO_EXCL)
        oflags |= O_EXCL;
    if (flags & IO_TRUNC)
        oflags |= O_TRUNC;

    posix_file *f = calloc(1, sizeof *f);
    char *copy = strdup(path);
    if (f == NULL || copy == NULL) {
        free(f);
        free(copy);
        return -ENOMEM;
    }
    int fd;
    do
        fd = open(path, oflags, (flags & IO_PRIVATE) ? 0600 : 0644);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int err = errno;
        free(f);
        free(copy);
        return -err;
    }
    f->base.ops = &io_posix_ops;
    f->base.path = copy;
    f->fd = fd;
    if (flags & IO_RANDOM) /* a hint: a refusal costs only read-ahead */
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    struct stat st;
    if ((flags & IO_GROW) && (flags & IO_WRITE) && fstat(fd, &st) == 0) {
        f->grow = 1;
        f->end = (uint64_t)st.st_size;
    }
    *out = &f->base;
    return 0;
}

long posix_append(io_file *file, const struct iovec *iov, int iovcnt)
{
    posix_file *f = (posix_file *)file;
    return f->grow ? posix_grow_append(f, iov, iovcnt) : posix_writev(f, iov, iovcnt);
}

long posix_read_at(io_file *file, uint64_t off, void *buf, size_t n)
{
    posix_file *f = (posix_file *)file;
    if (f->grow) /* the zeros it has grown into are not the file's yet */
        n = off >= f->end ? 0 : n < f->end - off ? n : (size_t)(f->end - off);
    ssize_t r;
    do
        r = pread(f->fd, buf, n, (off_t)off);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : (long)r;
}

int posix_sync(io_file *file)
{
    posix_file *f = (posix_file *)file;
    return fdatasync(f->fd) < 0 ? -errno : 0;
}

int posix_write_behind(io_file *file, uint64_t off, uint64_t len)
{
    posix_file *f = (posix_file *)file;
    return sync_file_range(f->fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE) < 0 ? -errno
                                                                                     : 0;
}

int posix_truncate(io_file *file, uint64_t size)
{
    posix_file *f = (posix_file *)file;
    posix_grow_unmap(f); /* a store past the new end would raise SIGBUS */
    int rc;
    do
        rc = ftruncate(f->fd, (off_t)size);
    while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        f->end = size;
        f->grown = 0;
    }
    return rc < 0 ? -errno : 0;
}

int posix_size(io_file *file, uint64_t *size)
{
    posix_file *f = (posix_file *)file;
    if (f->grow) {
        *size = f->end;
        return 0;
    }
    struct stat st;
    if (fstat(f->fd, &st) < 0)
        return -errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

uint64_t posix_data_after(io_file *file, uint64_t off)
{
    posix_file *f = (posix_file *)file;
    /* It moves the file's offset, which nothing here uses (reads are
     * pread, appends O_APPEND). */
    off_t at = lseek(f->fd, (off_t)off, SEEK_DATA);
    if (at >= 0)
        return (uint64_t)at;
    /* ENXIO: nothing but a hole from off to the end; anything else (a file
     * system without SEEK_DATA): data may be anywhere. */
    return errno == ENXIO ? UINT64_MAX : off;
}

int posix_close(io_file *file)
{
    posix_file *f = (posix_file *)file;
    /* A grown file is trimmed to what was appended: not synced, so a
     * crash may still bring the zeros back (io.h, IO_GROW). */
    if (f->grow)
        (void)posix_grow_stop(f);
    int rc = close(f->fd) < 0 ? -errno : 0;
    free(f->base.path);
    free(f);
    return rc == -EINTR ? 0 : rc; /* on Linux the descriptor is gone anyway */
}

int posix_sync_dir(const char *dir, int *opened)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    *opened = 1;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int posix_rename(const char *from, const char *to)
{
    return rename(from, to) < 0 ? -errno : 0;
}

int posix_unlink(const char *path)
{
    return unlink(path) < 0 ? -errno : 0;
}

int posix_mkdir(const char *path)
{
    return mkdir(path, 0755) < 0 ? -errno : 0;
}

int posix_exists(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return 1;
    return errno == ENOENT ? 0 : -errno;
}

int posix_list(const char *dir, char ***names_out, size_t *count_out)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    char **names = NULL;
    size_t count = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **grown = realloc(names, ncap * sizeof *names);
            if (grown == NULL) {
                rc = -ENOMEM;
                break;
            }
            names = grown;
            cap = ncap;
        }
        if ((names[count] = strdup(e->d_name)) == NULL) {
            rc = -ENOMEM;
            break;
        }
        count++;
        errno = 0;
    }
    if (rc == 0 && errno != 0)
        rc = -errno;
    closedir(d);
    if (rc < 0) {
        io_list_free(names, count);
        return rc;
    }
    *names_out = names;
    *count_out = count;
    return 0;
}

int posix_lock(const char *path, int exclusive, io_lock **out)
{
    posix_lockfile *l = calloc(1, sizeof *l);
    char *copy = strdup(path);
    if (l == NULL || copy == NULL) {
        free(l);
        free(copy);
        return -ENOMEM;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 && !exclusive && (errno == EACCES || errno == EROFS))
        fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        free(l);
        free(copy);
        return -err;
    }
    int rc;
    do
        rc = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        int err = errno;
        close(fd);
        free(l);
        free(copy);
        return -err;
    }
    l->base.ops = &io_posix_ops;
    l->base.path = copy;
    l->fd = fd;
    *out = &l->base;
    return 0;
}

int posix_unlock(io_lock *lock)
{
    posix_lockfile *l = (posix_lockfile *)lock;
    flock(l->fd, LOCK_UN);
    close(l->fd);
    free(l->base.path);
    free(l);
    return 0;
}

int posix_map(io_file *file, uint64_t size, const void **addr)
{
    if (size > SIZE_MAX)
        return -EFBIG;
    void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, ((posix_file *)file)->fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    (void)madvise(p, (size_t)size, MADV_RANDOM);
    *addr = p;
    return 0;
}

int posix_unmap(const void *addr, uint64_t size)
{
    return munmap((void *)(uintptr_t)addr, (size_t)size) == 0 ? 0 : -errno;
}

const io_ops io_posix_ops = {
    .name = "posix",
    .open = posix_open,
    IO_POSIX_FILE_OPS,
};
