/*
 * model_disk.c: a slow disk modeled over the I/O backend in place (see
 * model_disk.h for the model).  The device is one number, busy_until: the
 * time at which every request queued so far is done.  Queuing a request
 * of n bytes moves it to max(now, busy_until) + access + n / rate and
 * says when that request ends; a read sleeps until then, an append does
 * not (its bytes are written back later), a sync sleeps until its file's
 * last piece ends.  Reads first add a second number, reads_until, the
 * end of the reads queued: a read goes after those and the piece being
 * written, and busy_until moves on by its time (pushed_back adds it up,
 * for the syncs of pieces queued before it).
 */
#include "model_disk.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io.h"

typedef struct model_file {
    io_wrapped w;        /* first: the file io.c sees, and the one beneath */
    uint64_t unwritten;  /* appended bytes not yet queued for the device */
    uint64_t written_at; /* when its last queued piece ends (ns) */
    uint64_t pushed_at;  /* reads first: pushed_back when it was queued */
} model_file;

static const io_ops *inner_ops, *saved_ops;
static const io_ops model_ops;
static const char *skip;
static double ns_per_byte;
static uint64_t access_ns;

static int reads_first;

static pthread_mutex_t device_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t busy_until;  /* every request queued is done */
static uint64_t reads_until; /* reads first: every read queued is done */
static uint64_t pushed_back; /* reads first: read time put before writes */
static model_disk_counts counts;

uint64_t model_disk_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void model_sleep_until(uint64_t t)
{
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000ull),
                          .tv_nsec = (long)(t % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* Queues a request of n bytes; when it ends.  REQUIRES: device_lock. */
static uint64_t device_queue(uint64_t n, int is_read)
{
    uint64_t now = model_disk_now();
    uint64_t start = busy_until > now ? busy_until : now;
    uint64_t took = access_ns + (uint64_t)((double)n * ns_per_byte);
    if (is_read && reads_first) {
        /* Past the write-back queued: after the reads ahead and the piece
         * being written, and the pieces not started move back by took. */
        uint64_t piece = access_ns + (uint64_t)((double)MODEL_DISK_WRITEBACK * ns_per_byte);
        uint64_t after = busy_until > now ? (busy_until < now + piece ? busy_until : now + piece)
                                          : now;
        if (reads_until > after)
            after = reads_until;
        reads_until = after + took;
        busy_until = start + took > reads_until ? start + took : reads_until;
        pushed_back += took;
        counts.busy_ns += took;
        counts.reads++;
        counts.read_bytes += n;
        counts.last_read_end_ns = reads_until;
        return reads_until;
    }
    busy_until = start + took;
    counts.busy_ns += took;
    if (is_read) {
        counts.reads++;
        counts.read_bytes += n;
        counts.last_read_end_ns = busy_until;
    } else {
        counts.writes++;
        counts.write_bytes += n;
    }
    return busy_until;
}

/* Queues f's appended bytes in write-back pieces: every whole piece, or
 * all of them (all). */
static void model_write_back(model_file *f, int all)
{
    pthread_mutex_lock(&device_lock);
    while (f->unwritten >= MODEL_DISK_WRITEBACK) {
        f->written_at = device_queue(MODEL_DISK_WRITEBACK, 0);
        f->pushed_at = pushed_back;
        f->unwritten -= MODEL_DISK_WRITEBACK;
    }
    if (all && f->unwritten > 0) {
        f->written_at = device_queue(f->unwritten, 0);
        f->pushed_at = pushed_back;
        f->unwritten = 0;
    }
    pthread_mutex_unlock(&device_lock);
}

static int model_skips(const char *path)
{
    size_t n = strlen(path), s = skip != NULL ? strlen(skip) : 0;
    return s > 0 && n >= s && strcmp(path + n - s, skip) == 0;
}

static int model_open(const char *path, int flags, io_file **out)
{
    if (model_skips(path))
        return inner_ops->open(path, flags, out);
    return io_wrapped_open(&model_ops, inner_ops, path, flags, sizeof(model_file), out);
}

static long model_append(io_file *file, const struct iovec *iov, int iovcnt)
{
    model_file *f = (model_file *)file;
    long n = f->w.inner->ops->append(f->w.inner, iov, iovcnt);
    if (n <= 0)
        return n;
    pthread_mutex_lock(&device_lock);
    f->unwritten += (uint64_t)n;
    pthread_mutex_unlock(&device_lock);
    model_write_back(f, 0);
    /* The dirty limit: wait while the queue holds too much work. */
    pthread_mutex_lock(&device_lock);
    uint64_t now = model_disk_now(), until = busy_until;
    pthread_mutex_unlock(&device_lock);
    if (until > now + MODEL_DISK_DIRTY_NS)
        model_sleep_until(until - MODEL_DISK_DIRTY_NS);
    return n;
}

static long model_read_at(io_file *file, uint64_t off, void *buf, size_t n)
{
    model_file *f = (model_file *)file;
    pthread_mutex_lock(&device_lock);
    uint64_t done = device_queue(n, 1);
    pthread_mutex_unlock(&device_lock);
    model_sleep_until(done);
    return f->w.inner->ops->read_at(f->w.inner, off, buf, n);
}

static int model_sync(io_file *file)
{
    model_file *f = (model_file *)file;
    model_write_back(f, 1);
    pthread_mutex_lock(&device_lock);
    /* Reads put first since its last piece was queued moved it back (all
     * of them: an upper bound, where some came after it was written). */
    uint64_t pushed = pushed_back >= f->pushed_at ? pushed_back - f->pushed_at : 0;
    uint64_t until = f->written_at + pushed;
    pthread_mutex_unlock(&device_lock);
    model_sleep_until(until);
    return f->w.inner->ops->sync(f->w.inner);
}

static int model_truncate(io_file *file, uint64_t size)
{
    model_file *f = (model_file *)file;
    return f->w.inner->ops->truncate(f->w.inner, size);
}

static int model_size(io_file *file, uint64_t *size)
{
    model_file *f = (model_file *)file;
    return f->w.inner->ops->size(f->w.inner, size);
}

static uint64_t model_data_after(io_file *file, uint64_t off)
{
    io_file *inner = ((model_file *)file)->w.inner;
    return inner->ops->data_after != NULL ? inner->ops->data_after(inner, off) : off;
}

static int model_close(io_file *file)
{
    model_file *f = (model_file *)file;
    model_write_back(f, 1); /* written back later; nobody waits */
    return io_wrapped_close(file);
}

static int model_sync_dir(const char *dir, int *opened)
{
    pthread_mutex_lock(&device_lock);
    uint64_t done = device_queue(4096, 0);
    pthread_mutex_unlock(&device_lock);
    model_sleep_until(done);
    return inner_ops->sync_dir(dir, opened);
}

static int model_rename(const char *from, const char *to) { return inner_ops->rename(from, to); }
static int model_unlink(const char *path) { return inner_ops->unlink(path); }
static int model_mkdir(const char *path) { return inner_ops->mkdir(path); }
static int model_exists(const char *path) { return inner_ops->exists(path); }

static int model_list(const char *dir, char ***names, size_t *count)
{
    return inner_ops->list(dir, names, count);
}

static int model_lock(const char *path, int exclusive, io_lock **lock)
{
    return inner_ops->lock(path, exclusive, lock);
}

static int model_unlock(io_lock *lock) { return lock->ops->unlock(lock); }

static int model_space(const char *dir, uint64_t *avail, uint64_t *total)
{
    return inner_ops->space != NULL ? inner_ops->space(dir, avail, total) : 1;
}

static const io_ops model_ops = {
    .name = "model-disk",
    .open = model_open,
    .append = model_append,
    .read_at = model_read_at,
    .sync = model_sync,
    .truncate = model_truncate,
    .size = model_size,
    .close = model_close,
    .sync_dir = model_sync_dir,
    .rename = model_rename,
    .unlink = model_unlink,
    .mkdir = model_mkdir,
    .exists = model_exists,
    .list = model_list,
    .lock = model_lock,
    .unlock = model_unlock,
    .data_after = model_data_after,
    .space = model_space,
};

void model_disk_install(double bytes_per_sec, double access_us, const char *skip_suffix,
                        int order)
{
    pthread_mutex_lock(&device_lock);
    reads_first = order == MODEL_DISK_READS_FIRST;
    reads_until = 0;
    ns_per_byte = 1e9 / bytes_per_sec;
    access_ns = (uint64_t)(access_us * 1000);
    busy_until = 0;
    pushed_back = 0;
    memset(&counts, 0, sizeof counts);
    pthread_mutex_unlock(&device_lock);
    skip = skip_suffix;
    if (io_get_ops() != &model_ops) {
        saved_ops = io_get_ops();
        inner_ops = saved_ops;
    }
    io_set_ops(&model_ops);
}

void model_disk_uninstall(void)
{
    if (io_get_ops() == &model_ops)
        io_set_ops(saved_ops);
}

void model_disk_get_counts(model_disk_counts *out)
{
    pthread_mutex_lock(&device_lock);
    *out = counts;
    out->queued_until_ns = busy_until;
    pthread_mutex_unlock(&device_lock);
}
