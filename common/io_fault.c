/*
 * io_fault.c: the fault-injecting I/O backend (see io_fault.h).
 *
 * Every wrapped call asks io_fault_should_fail(kind) first; if the answer is
 * yes it returns the plan's errno without touching the file (or, for a short
 * write, after appending half the bytes through the wrapped backend).
 */
#include "io_fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

/* A file of this backend: the file io.c sees, and the wrapped one. */
typedef io_wrapped fault_file;

static const io_ops *inner_ops;
static const io_ops *saved_ops;
/* The installed plan; engine threads read it while a test installs the
 * next one, so it is copied under a lock (fault_plan). */
static io_fault_plan installed_plan;
static pthread_mutex_t plan_lock = PTHREAD_MUTEX_INITIALIZER;

static io_fault_plan fault_plan(void)
{
    pthread_mutex_lock(&plan_lock);
    io_fault_plan p = installed_plan;
    pthread_mutex_unlock(&plan_lock);
    return p;
}
static long calls;
static long failures;
static _Thread_local long failures_here;

/* ---- a disk of plan.disk_bytes: each file's bytes, by path ------------------ */

typedef struct disk_file {
    char *path;
    uint64_t bytes;
} disk_file;

static pthread_mutex_t disk_lock = PTHREAD_MUTEX_INITIALIZER;
static disk_file *disk_files;
static size_t disk_n, disk_cap;
static uint64_t disk_used;

/* The file at path (added with 0 bytes if add), or NULL.  REQUIRES: disk_lock. */
static disk_file *disk_find(const char *path, int add)
{
    for (size_t i = 0; i < disk_n; i++)
        if (strcmp(disk_files[i].path, path) == 0)
            return &disk_files[i];
    if (!add)
        return NULL;
    if (disk_n == disk_cap) {
        size_t cap = disk_cap ? 2 * disk_cap : 64;
        disk_file *grown = realloc(disk_files, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        disk_files = grown;
        disk_cap = cap;
    }
    char *copy = strdup(path);
    if (copy == NULL)
        return NULL;
    disk_files[disk_n] = (disk_file){.path = copy, .bytes = 0};
    return &disk_files[disk_n++];
}

/* The file at path is gone (or emptied): its bytes are free. */
static void disk_forget(const char *path, int remove)
{
    pthread_mutex_lock(&disk_lock);
    disk_file *f = disk_find(path, 0);
    if (f != NULL) {
        disk_used -= f->bytes;
        f->bytes = 0;
        if (remove) {
            free(f->path);
            *f = disk_files[--disk_n];
        }
    }
    pthread_mutex_unlock(&disk_lock);
}

/* How many of n bytes appended to path fit (all, with no disk); taken. */
static size_t disk_take(const char *path, size_t n)
{
    const io_fault_plan plan = fault_plan();
    if (plan.disk_bytes == 0)
        return n;
    pthread_mutex_lock(&disk_lock);
    disk_file *f = disk_find(path, 1);
    uint64_t left = disk_used < plan.disk_bytes ? plan.disk_bytes - disk_used : 0;
    size_t fit = f == NULL ? 0 : n < left ? n : (size_t)left;
    if (f != NULL) {
        f->bytes += fit;
        disk_used += fit;
    }
    pthread_mutex_unlock(&disk_lock);
    return fit;
}

/* Gives back what an append took but did not write. */
static void disk_give(const char *path, size_t n)
{
    const io_fault_plan plan = fault_plan();
    if (plan.disk_bytes == 0 || n == 0)
        return;
    pthread_mutex_lock(&disk_lock);
    disk_file *f = disk_find(path, 0);
    if (f != NULL) {
        f->bytes -= n < f->bytes ? n : f->bytes;
        disk_used -= n < disk_used ? n : disk_used;
    }
    pthread_mutex_unlock(&disk_lock);
}

static void disk_truncated(const char *path, uint64_t size)
{
    pthread_mutex_lock(&disk_lock);
    disk_file *f = disk_find(path, 0);
    if (f != NULL && size < f->bytes) {
        disk_used -= f->bytes - size;
        f->bytes = size;
    }
    pthread_mutex_unlock(&disk_lock);
}

static void disk_renamed(const char *from, const char *to)
{
    disk_forget(to, 1); /* the file the rename replaces */
    pthread_mutex_lock(&disk_lock);
    disk_file *f = disk_find(from, 0);
    char *copy = f != NULL ? strdup(to) : NULL;
    if (copy != NULL) {
        free(f->path);
        f->path = copy;
    }
    pthread_mutex_unlock(&disk_lock);
}

static int fault_space(const char *dir, uint64_t *avail, uint64_t *total)
{
    const io_fault_plan plan = fault_plan();
    (void)dir;
    if (plan.disk_bytes == 0)
        return 1; /* the file system's own count */
    pthread_mutex_lock(&disk_lock);
    *avail = disk_used < plan.disk_bytes ? plan.disk_bytes - disk_used : 0;
    *total = plan.disk_bytes;
    pthread_mutex_unlock(&disk_lock);
    return 0;
}

/* 0 = let the call through; 1 = fail it; 2 = fail it, and it is the
 * fail_at call itself (the one a short write applies to). */
static int io_fault_should_fail(unsigned kind)
{
    const io_fault_plan plan = fault_plan();
    if ((plan.kinds & kind) == 0)
        return 0;
    long n = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
    if (plan.fail_at <= 0 || n < plan.fail_at || (n > plan.fail_at && !plan.persistent))
        return 0;
    __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
    failures_here++;
    return n == plan.fail_at ? 2 : 1;
}

static int fault_errno(void)
{
    const io_fault_plan plan = fault_plan();
    return plan.err ? plan.err : EIO;
}

static const io_ops fault_ops;

static int fault_open(const char *path, int flags, io_file **out)
{
    if (io_fault_should_fail(IO_FAULT_OPEN))
        return -fault_errno();
    int rc = io_wrapped_open(&fault_ops, inner_ops, path, flags, sizeof(fault_file), out);
    if (rc < 0)
        return rc;
    if (flags & IO_TRUNC)
        disk_forget(path, 0);
    return 0;
}

/* An append to a disk of plan.disk_bytes: what fits is written, and the
 * rest fails with ENOSPC (a retry of the rest fails at once). */
static long fault_append_on_disk(fault_file *f, const struct iovec *iov, int iovcnt)
{
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    size_t fit = disk_take(f->base.path, total);
    if (fit == total) {
        long n = f->inner->ops->append(f->inner, iov, iovcnt);
        disk_give(f->base.path, n < 0 ? total : total - (size_t)n);
        return n;
    }
    size_t left = fit, done = 0;
    for (int i = 0; i < iovcnt && left > 0; i++) {
        struct iovec part = iov[i];
        if (part.iov_len > left)
            part.iov_len = left;
        long n = f->inner->ops->append(f->inner, &part, 1);
        if (n <= 0)
            break;
        left -= (size_t)n;
        done += (size_t)n;
    }
    disk_give(f->base.path, fit - done);
    return done > 0 ? (long)done : -ENOSPC;
}

static long fault_append(io_file *file, const struct iovec *iov, int iovcnt)
{
    const io_fault_plan plan = fault_plan();
    fault_file *f = (fault_file *)file;
    int fail = io_fault_should_fail(IO_FAULT_APPEND);
    if (fail) {
        if (plan.short_write && fail == 2 && iovcnt > 0) {
            size_t total = 0;
            for (int i = 0; i < iovcnt; i++)
                total += iov[i].iov_len;
            size_t half = total / 2, left = half;
            for (int i = 0; i < iovcnt && left > 0; i++) {
                struct iovec part = iov[i];
                if (part.iov_len > left)
                    part.iov_len = left;
                long n = f->inner->ops->append(f->inner, &part, 1);
                if (n <= 0)
                    break;
                left -= (size_t)n;
            }
            if (half > left)
                return (long)(half - left); /* a short write; the retry fails */
        }
        return -fault_errno();
    }
    return fault_append_on_disk(f, iov, iovcnt);
}

static long fault_read_at(io_file *file, uint64_t off, void *buf, size_t n)
{
    fault_file *f = (fault_file *)file;
    if (io_fault_should_fail(IO_FAULT_READ))
        return -fault_errno();
    return f->inner->ops->read_at(f->inner, off, buf, n);
}

static io_file *fault_inner(io_file *file) { return ((fault_file *)file)->inner; }

/* Each range counts as one read, in order: the ranges chosen to fail get
 * the plan's errno, and the rest go to the wrapped backend as one batch. */
static void fault_read_batch(io_read_req *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        r[i].res = io_fault_should_fail(IO_FAULT_READ) ? -fault_errno() : IO_READ_PENDING;
    io_read_batch_inner(r, n, fault_inner);
}

static int fault_sync(io_file *file)
{
    fault_file *f = (fault_file *)file;
    if (io_fault_should_fail(IO_FAULT_SYNC))
        return -fault_errno();
    return f->inner->ops->sync(f->inner);
}

static int fault_truncate(io_file *file, uint64_t size)
{
    fault_file *f = (fault_file *)file;
    if (io_fault_should_fail(IO_FAULT_TRUNCATE))
        return -fault_errno();
    int rc = f->inner->ops->truncate(f->inner, size);
    if (rc == 0)
        disk_truncated(f->base.path, size);
    return rc;
}

static int fault_size(io_file *file, uint64_t *size)
{
    fault_file *f = (fault_file *)file;
    if (io_fault_should_fail(IO_FAULT_META))
        return -fault_errno();
    return f->inner->ops->size(f->inner, size);
}


static int fault_sync_dir(const char *dir, int *opened)
{
    if (io_fault_should_fail(IO_FAULT_DIR_OPEN))
        return -fault_errno();
    if (io_fault_should_fail(IO_FAULT_SYNC)) {
        *opened = 1;
        return -fault_errno();
    }
    return inner_ops->sync_dir(dir, opened);
}

static int fault_rename(const char *from, const char *to)
{
    if (io_fault_should_fail(IO_FAULT_META))
        return -fault_errno();
    int rc = inner_ops->rename(from, to);
    if (rc == 0)
        disk_renamed(from, to);
    return rc;
}

static int fault_unlink(const char *path)
{
    if (io_fault_should_fail(IO_FAULT_META))
        return -fault_errno();
    int rc = inner_ops->unlink(path);
    if (rc == 0)
        disk_forget(path, 1);
    return rc;
}

static int fault_mkdir(const char *path)
{
    return io_fault_should_fail(IO_FAULT_META) ? -fault_errno() : inner_ops->mkdir(path);
}

static int fault_exists(const char *path)
{
    return io_fault_should_fail(IO_FAULT_META) ? -fault_errno() : inner_ops->exists(path);
}

static int fault_list(const char *dir, char ***names, size_t *count)
{
    return io_fault_should_fail(IO_FAULT_META) ? -fault_errno()
                                               : inner_ops->list(dir, names, count);
}

static int fault_lock(const char *path, int exclusive, io_lock **lock)
{
    return io_fault_should_fail(IO_FAULT_META) ? -fault_errno()
                                               : inner_ops->lock(path, exclusive, lock);
}

static int fault_unlock(io_lock *lock)
{
    return lock->ops->unlock(lock); /* the lock belongs to the inner backend */
}

static const io_ops fault_ops = {
    .name = "fault",
    .open = fault_open,
    .append = fault_append,
    .read_at = fault_read_at,
    .sync = fault_sync,
    .truncate = fault_truncate,
    .size = fault_size,
    .close = io_wrapped_close,
    .sync_dir = fault_sync_dir,
    .rename = fault_rename,
    .unlink = fault_unlink,
    .mkdir = fault_mkdir,
    .exists = fault_exists,
    .list = fault_list,
    .lock = fault_lock,
    .unlock = fault_unlock,
    .read_batch = fault_read_batch,
    .space = fault_space,
};

/* The disk's files forgotten (free_all: and the array that lists them). */
static void disk_clear(int free_all)
{
    pthread_mutex_lock(&disk_lock);
    for (size_t i = 0; i < disk_n; i++)
        free(disk_files[i].path);
    disk_n = 0;
    disk_used = 0;
    if (free_all) {
        free(disk_files);
        disk_files = NULL;
        disk_cap = 0;
    }
    pthread_mutex_unlock(&disk_lock);
}

void io_fault_install(const io_fault_plan *p)
{
    pthread_mutex_lock(&plan_lock);
    installed_plan = *p;
    pthread_mutex_unlock(&plan_lock);
    disk_clear(0);
    __atomic_store_n(&calls, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&failures, 0, __ATOMIC_SEQ_CST);
    if (io_get_ops() != &fault_ops) {
        saved_ops = io_get_ops();
        inner_ops = saved_ops;
    }
    io_set_ops(&fault_ops);
}

void io_fault_uninstall(void)
{
    if (io_get_ops() == &fault_ops)
        io_set_ops(saved_ops);
}

void io_fault_reset(void)
{
    io_fault_uninstall();
    disk_clear(1);
}

long io_fault_calls(void) { return __atomic_load_n(&calls, __ATOMIC_SEQ_CST); }
long io_fault_failures(void) { return __atomic_load_n(&failures, __ATOMIC_SEQ_CST); }
long io_fault_failures_here(void) { return failures_here; }
