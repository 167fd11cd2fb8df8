/*
 * io.c: the engine-facing half of the I/O layer (see io.h).  It dispatches
 * each call to the backend the file was opened with, loops over short reads
 * and writes, and turns a backend's -errno into a KV_ status with a message
 * naming the operation, the file and the offset.
 */
#include "io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "error.h"
#include "kv.h"

static const io_ops *current_ops = &io_default_ops;

/* What this thread read (io_thread_reads). */
static _Thread_local uint64_t io_my_reads, io_my_read_bytes;

void io_thread_reads(uint64_t *reads, uint64_t *bytes)
{
    *reads = io_my_reads;
    *bytes = io_my_read_bytes;
}

const io_ops *io_get_ops(void) { return __atomic_load_n(&current_ops, __ATOMIC_ACQUIRE); }

const io_ops *io_set_ops(const io_ops *ops)
{
    return __atomic_exchange_n(&current_ops, ops ? ops : &io_default_ops, __ATOMIC_ACQ_REL);
}

static int io_fail(int neg_errno, const char *what, const char *path)
{
    if (neg_errno == -ENOMEM) /* a backend's allocation, or the kernel's */
        return kv_error(KV_ERR_NOMEM, "%s %s: out of memory", what, path);
    return kv_error(KV_ERR_IO, "%s %s: %s", what, path, strerror(-neg_errno));
}

int io_open(const char *path, int flags, io_file **f)
{
    const io_ops *ops = io_get_ops();
    io_file *file = NULL;
    int rc = ops->open(path, flags, &file);
    if (rc < 0) {
        if (rc == -ENOMEM)
            return kv_error(KV_ERR_NOMEM, "open %s: out of memory", path);
        return io_fail(rc, "open", path);
    }
    uint64_t size = 0;
    rc = file->ops->size(file, &size);
    if (rc < 0) {
        int status = io_fail(rc, "stat", path);
        file->ops->close(file);
        return status;
    }
    file->end = size;
    *f = file;
    return KV_OK;
}

int io_append(io_file *f, const struct iovec *iov_in, int iovcnt)
{
    struct iovec stack_iov[8];
    struct iovec *iov = stack_iov;
    if (iovcnt > 8) {
        iov = malloc(sizeof *iov * (size_t)iovcnt);
        if (iov == NULL)
            return kv_error(KV_ERR_NOMEM, "append to %s: out of memory", f->path);
    }
    memcpy(iov, iov_in, sizeof *iov * (size_t)iovcnt);

    int status = KV_OK;
    int first = 0;
    while (first < iovcnt) {
        if (iov[first].iov_len == 0) {
            first++;
            continue;
        }
        long n = f->ops->append(f, iov + first, iovcnt - first);
        if (n <= 0) {
            status = n == 0 ? kv_error(KV_ERR_IO, "append to %s at offset %llu: "
                                       "wrote 0 bytes", f->path,
                                       (unsigned long long)f->end)
                            : kv_error(KV_ERR_IO, "append to %s at offset %llu: %s",
                                       f->path, (unsigned long long)f->end,
                                       strerror((int)-n));
            break;
        }
        f->end += (uint64_t)n;
        size_t done = (size_t)n;
        while (first < iovcnt && done >= iov[first].iov_len) {
            done -= iov[first].iov_len;
            first++;
        }
        if (first < iovcnt) {
            iov[first].iov_base = (char *)iov[first].iov_base + done;
            iov[first].iov_len -= done;
        }
    }
    if (iov != stack_iov)
        free(iov);
    return status;
}

int io_append_bytes(io_file *f, const void *buf, size_t n)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
    return io_append(f, &iov, 1);
}

/* Reads on from *done bytes into [off, off + n) until n bytes or the end of
 * the file: 0, or -errno with *done the bytes read before the failure. */
static int io_read_rest(io_file *f, uint64_t off, void *buf, size_t n, size_t *done)
{
    while (*done < n) {
        long r = f->ops->read_at(f, off + *done, (char *)buf + *done, n - *done);
        if (r < 0)
            return (int)r;
        if (r == 0)
            break;
        *done += (size_t)r;
    }
    return 0;
}

static int io_read_fail(const io_file *f, uint64_t at, int err)
{
    if (err == ENOMEM) /* the kernel's, or a batch's bookkeeping (io_read_batch_inner) */
        return kv_error(KV_ERR_NOMEM, "read %s at offset %llu: out of memory", f->path,
                        (unsigned long long)at);
    return kv_error(KV_ERR_IO, "read %s at offset %llu: %s", f->path,
                    (unsigned long long)at, strerror(err));
}

int io_read_at(io_file *f, uint64_t off, void *buf, size_t n, size_t *got)
{
    size_t done = 0;
    int rc = io_read_rest(f, off, buf, n, &done);
    io_my_reads++;
    io_my_read_bytes += done;
    if (rc < 0)
        return io_read_fail(f, off + done, -rc);
    *got = done;
    return KV_OK;
}

void io_read_batch_ops(io_read_req *r, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const io_ops *ops = r[i].f->ops;
        size_t end = i + 1;
        while (end < n && r[end].f->ops == ops)
            end++;
        if (ops->read_batch != NULL) {
            ops->read_batch(r + i, end - i);
        } else {
            for (size_t k = i; k < end; k++)
                r[k].res = r[k].len ? ops->read_at(r[k].f, r[k].off, r[k].buf, r[k].len) : 0;
        }
        i = end;
    }
}

int io_wrapped_open(const io_ops *ops, const io_ops *inner, const char *path, int flags,
                    size_t size, io_file **out)
{
    io_wrapped *w = calloc(1, size);
    char *copy = strdup(path);
    if (w == NULL || copy == NULL) {
        free(w);
        free(copy);
        return -ENOMEM;
    }
    int rc = inner->open(path, flags, &w->inner);
    if (rc < 0) {
        free(w);
        free(copy);
        return rc;
    }
    w->base.ops = ops;
    w->base.path = copy;
    *out = &w->base;
    return 0;
}

int io_wrapped_close(io_file *f)
{
    io_wrapped *w = (io_wrapped *)f;
    int rc = w->inner->ops->close(w->inner);
    free(w->base.path);
    free(w);
    return rc;
}

void io_read_batch_inner(io_read_req *r, size_t n, io_file *(*inner)(io_file *f))
{
    size_t pending = 0;
    for (size_t i = 0; i < n; i++)
        pending += r[i].res == IO_READ_PENDING;
    if (pending == 0)
        return;
    /* The pending requests, on their inner files, and where each came from. */
    io_read_req stack_req[16];
    size_t stack_at[16];
    io_read_req *sub = stack_req;
    size_t *at = stack_at;
    if (pending > 16) {
        sub = malloc(pending * sizeof *sub);
        at = malloc(pending * sizeof *at);
        if (sub == NULL || at == NULL) {
            free(sub);
            free(at);
            for (size_t i = 0; i < n; i++)
                if (r[i].res == IO_READ_PENDING)
                    r[i].res = -ENOMEM;
            return;
        }
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].res != IO_READ_PENDING)
            continue;
        sub[m] = r[i];
        sub[m].f = inner(r[i].f);
        at[m++] = i;
    }
    io_read_batch_ops(sub, m);
    for (size_t k = 0; k < m; k++)
        r[at[k]].res = sub[k].res;
    if (sub != stack_req) {
        free(sub);
        free(at);
    }
}

int io_read_batch(io_read_req *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        r[i].got = 0;
        r[i].status = KV_OK;
        r[i].err = 0;
        r[i].res = 0;
    }
    io_read_batch_ops(r, n);
    long first = -1;
    for (size_t i = 0; i < n; i++) {
        int rc = 0;
        if (r[i].res == IO_READ_PENDING) { /* a backend that left one unread */
            rc = -EIO;
        } else if (r[i].res < 0) {
            rc = (int)r[i].res;
        } else {
            r[i].got = (size_t)r[i].res;
            /* A short read that is not the end of the file: read on, as
             * io_read_at would. */
            if (r[i].got > 0 && r[i].got < r[i].len)
                rc = io_read_rest(r[i].f, r[i].off, r[i].buf, r[i].len, &r[i].got);
        }
        io_my_reads += r[i].len > 0;
        io_my_read_bytes += r[i].got;
        if (rc < 0) {
            r[i].err = -rc;
            r[i].status = rc == -ENOMEM ? KV_ERR_NOMEM : KV_ERR_IO;
            if (first < 0)
                first = (long)i;
        }
    }
    return first < 0 ? KV_OK : io_read_req_error(&r[first]);
}

int io_read_req_error(const io_read_req *r)
{
    return r->status == KV_OK ? KV_OK : io_read_fail(r->f, r->off + r->got, r->err);
}

int io_sync(io_file *f)
{
    int rc = f->ops->sync(f);
    return rc < 0 ? io_fail(rc, "fsync", f->path) : KV_OK;
}

int io_truncate(io_file *f, uint64_t size)
{
    int rc = f->ops->truncate(f, size);
    if (rc < 0)
        return kv_error(KV_ERR_IO, "truncate %s to %llu bytes: %s", f->path,
                        (unsigned long long)size, strerror(-rc));
    f->end = size;
    return KV_OK;
}

int io_size(io_file *f, uint64_t *size)
{
    int rc = f->ops->size(f, size);
    return rc < 0 ? io_fail(rc, "stat", f->path) : KV_OK;
}

int io_close(io_file *f)
{
    if (f == NULL)
        return KV_OK;
    char *path = strdup(f->path ? f->path : "?");
    int rc = f->ops->close(f);
    int status = rc < 0 ? io_fail(rc, "close", path ? path : "?") : KV_OK;
    free(path);
    return status;
}

uint64_t io_data_after(io_file *f, uint64_t off)
{
    uint64_t at = f->ops->data_after ? f->ops->data_after(f, off) : off;
    return at > off ? at : off;
}

void io_write_behind(io_file *f, uint64_t off, uint64_t len)
{
    if (f->ops->write_behind && len > 0)
        (void)f->ops->write_behind(f, off, len);
}

int io_map(io_file *f, const void **addr, uint64_t *len)
{
    *addr = NULL;
    *len = 0;
    if (f->ops->map == NULL)
        return KV_OK;
    uint64_t size;
    int rc = io_size(f, &size);
    if (rc != KV_OK || size == 0)
        return rc;
    rc = f->ops->map(f, size, addr);
    if (rc < 0) {
        *addr = NULL;
        return io_fail(rc, "mmap", f->path);
    }
    *len = size;
    return KV_OK;
}

void io_unmap(io_file *f, const void *addr, uint64_t size)
{
    /* An unmap fails only for a range that was never mapped: nothing to
     * report, nothing lost. */
    if (addr != NULL && f->ops->unmap != NULL)
        (void)f->ops->unmap(addr, size);
}

const char *io_path(const io_file *f) { return f->path; }

int io_sync_dir(const char *dir)
{
    int fsync_failed;
    return io_sync_dir_status(dir, &fsync_failed);
}

int io_sync_dir_status(const char *dir, int *fsync_failed)
{
    int opened = 0;
    int rc = io_get_ops()->sync_dir(dir, &opened);
    *fsync_failed = rc < 0 && opened;
    if (rc < 0 && !opened)
        return io_fail(rc, "open directory (to fsync it)", dir);
    return rc < 0 ? io_fail(rc, "fsync directory", dir) : KV_OK;
}

int io_rename(const char *from, const char *to)
{
    int rc = io_get_ops()->rename(from, to);
    if (rc < 0)
        return kv_error(KV_ERR_IO, "rename %s to %s: %s", from, to, strerror(-rc));
    return KV_OK;
}

int io_unlink(const char *path)
{
    int rc = io_get_ops()->unlink(path);
    return rc < 0 ? io_fail(rc, "unlink", path) : KV_OK;
}

int io_mkdir(const char *path)
{
    int rc = io_get_ops()->mkdir(path);
    return rc < 0 && rc != -EEXIST ? io_fail(rc, "mkdir", path) : KV_OK;
}

int io_space(const char *dir, uint64_t *avail, uint64_t *total)
{
    const io_ops *ops = io_get_ops();
    int rc = ops->space != NULL ? ops->space(dir, avail, total) : 1;
    if (rc == 1) {
        rc = 0;
#ifdef __EMSCRIPTEN__
        *avail = *total = UINT64_MAX; /* (a browser's memory: no count to read) */
#else
        struct statvfs v;
        if (statvfs(dir, &v) != 0) {
            rc = -errno;
        } else {
            *avail = (uint64_t)v.f_bavail * v.f_frsize;
            *total = (uint64_t)v.f_blocks * v.f_frsize;
        }
#endif
    }
    return rc < 0 ? io_fail(rc, "statvfs", dir) : KV_OK;
}

int io_exists(const char *path, int *exists)
{
    int rc = io_get_ops()->exists(path);
    if (rc < 0)
        return io_fail(rc, "stat", path);
    *exists = rc;
    return KV_OK;
}

static int io_name_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int io_list(const char *dir, char ***names, size_t *count)
{
    int rc = io_get_ops()->list(dir, names, count);
    if (rc < 0)
        return io_fail(rc, "list directory", dir);
    if (*count > 1)
        qsort(*names, *count, sizeof **names, io_name_compare);
    return KV_OK;
}

void io_list_free(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

int io_lock_acquire(const char *path, int exclusive, io_lock **lock)
{
    int rc = io_get_ops()->lock(path, exclusive, lock);
    if (rc == -EWOULDBLOCK || rc == -EAGAIN)
        return kv_error(KV_ERR_BUSY, "lock %s: the database is already open "
                        "(in this process or another)", path);
    return rc < 0 ? io_fail(rc, "lock", path) : KV_OK;
}

void io_lock_release(io_lock *lock)
{
    if (lock != NULL)
        lock->ops->unlock(lock);
}

char *io_join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p = malloc(dl + 1 + nl + 1);
    if (p == NULL) {
        kv_error(KV_ERR_NOMEM, "out of memory joining %s and %s", dir, name);
        return NULL;
    }
    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, name, nl + 1);
    return p;
}
