/*
 * vlog_store.c: the value log's files, reads and pins (value_log.h).
 *
 * The store lists its files by name (start), each with its counts.  Reads
 * go through stage 05's file cache (file_cache.h): at most max_open_files
 * value-log files open at once, the least recently used closed first, and
 * each open one mapped into memory where the I/O backend maps (a file
 * never changes once the engine hands it over), so a read of a value is a
 * copy, not a system call.  A load decodes where (vlog_where.c), reads the
 * value's span at once, drops the block headers inside it and checks the
 * crc32c.
 *
 * Pins (V3) are epochs, as in epoch-based reclamation (Fraser, "Practical
 * lock-freedom", 2004): a reader adds itself to the count of the epoch it
 * saw; a file emptied at epoch r may go once the epoch is r + 2, and the
 * epoch moves on only when no reader is left in the epoch before it.  So
 * a reader costs two atomic additions, and never a lock.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "inspect_line.h"
#include "lsm_files.h"
#include "offline.h"
#include "value_log.h"

/* ---- the list of files ---------------------------------------------------- */

vlog_file *vlog_find(value_store *vs, uint64_t start)
{
    size_t lo = 0, hi = vs->nfiles;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (vs->files[mid]->start < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < vs->nfiles && vs->files[lo]->start == start ? vs->files[lo] : NULL;
}

int vlog_add(value_store *vs, uint64_t start, int is_log, uint64_t bytes, vlog_file **out)
{
    if (vs->nfiles == vs->cap) {
        size_t cap = vs->cap ? vs->cap * 2 : 16;
        vlog_file **grown = realloc(vs->files, cap * sizeof *grown);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "value log: out of memory for %zu files", cap);
        vs->files = grown;
        vs->cap = cap;
    }
    vlog_file *f = calloc(1, sizeof *f);
    if (f == NULL)
        return kv_error(KV_ERR_NOMEM, "value log: out of memory");
    f->start = start;
    f->is_log = is_log;
    f->bytes = bytes;
    size_t at = vs->nfiles;
    while (at > 0 && vs->files[at - 1]->start > start)
        at--;
    memmove(vs->files + at + 1, vs->files + at, (vs->nfiles - at) * sizeof *vs->files);
    vs->files[at] = f;
    vs->nfiles++;
    *out = f;
    return KV_OK;
}

void vlog_drop(value_store *vs, vlog_file *f)
{
    size_t at = 0;
    while (at < vs->nfiles && vs->files[at] != f)
        at++;
    if (at == vs->nfiles)
        return;
    memmove(vs->files + at, vs->files + at + 1, (vs->nfiles - at - 1) * sizeof *vs->files);
    vs->nfiles--;
    file_cache_evict(vs->fc, f->start); /* closed now, or by its last reader */
    free(f);
}

void vlog_update_behind(value_store *vs)
{
    /* Behind: the garbage in files worth collecting is more than half the
     * live bytes (and past 256 MiB): the collection, which runs beside the
     * writers, is not keeping up with them, and the values' space
     * amplification nears 2 (each file is collected at gc_percent). */
    uint64_t live = 0, due = 0;
    for (size_t i = 0; i < vs->nfiles; i++) {
        const vlog_file *f = vs->files[i];
        if (!f->counted || f->state == VLOG_EMPTIED)
            continue;
        live += f->live_bytes;
        if (f->state == VLOG_LIVE && !f->damaged && vlog_worth_collecting(f, vs->gc_percent))
            due += vlog_garbage(f);
    }
    uint64_t bound = live / 2 > (256u << 20) ? live / 2 : (256u << 20);
    atomic_store_explicit(&vs->behind, due > bound, memory_order_relaxed);
}

/* ---- reading a file -------------------------------------------------------- */

/* dir/000000000101.vlog (log 0) or .log (1) into path (PATH_MAX). */
static int vlog_path(const value_store *vs, uint64_t start, int log, char *path)
{
    char name[LSM_NAME_MAX];
    vlog_file_name(name, sizeof name, start, log);
    int n = snprintf(path, PATH_MAX, "%s/%s", vs->dir, name);
    return n > 0 && n < PATH_MAX ? KV_OK
                                 : kv_error(KV_ERR_INVALID, "%s: a path too long", vs->dir);
}

/* File `start` from the cache: under its value-log name, or, not renamed
 * yet (a read-only open, or a flush between its table and the rename),
 * under its log name; no rename runs meanwhile (names_lock).  Neither
 * there: a dangling pointer. */
static int vlog_get_file(value_store *vs, uint64_t start, file_cache_handle **h)
{
    char path[PATH_MAX];
    int exists = 0, rc = KV_OK;
    pthread_rwlock_rdlock(&vs->names_lock);
    for (int log = 0; log <= 1 && !exists; log++) {
        if ((rc = vlog_path(vs, start, log, path)) == KV_OK &&
            (rc = file_cache_get(vs->fc, start, path, h)) == KV_OK)
            break;
        if (rc == KV_ERR_NOMEM || io_exists(path, &exists) != KV_OK)
            exists = 1; /* rc says what failed */
    }
    pthread_rwlock_unlock(&vs->names_lock);
    if (rc != KV_OK && !exists && vlog_path(vs, start, 0, path) == KV_OK)
        rc = kv_error(KV_ERR_CORRUPT, "%s: missing (and no log of that name): a table entry "
                      "says a value is in it (a dangling pointer: the database lost the "
                      "value-log file)", path);
    return rc;
}

int vlog_hold(value_store *vs, uint64_t start, file_cache_handle **h)
{
    *h = file_cache_find(vs->fc, start); /* open already: no name */
    return *h != NULL ? KV_OK : vlog_get_file(vs, start, h);
}

int vlog_short(file_cache_handle *h, uint64_t off, size_t n, size_t got)
{
    return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": a value of %zu bytes there "
                    "(with its block headers) runs past the end of the file, %zu bytes "
                    "short (a dangling pointer, or a file cut short)",
                    io_path(file_cache_file(h)), off, n, n - got);
}

int vlog_read_held(value_store *vs, file_cache_handle *h, uint64_t off, uint8_t *buf, size_t n)
{
    int rc = KV_OK;
    uint64_t len = 0;
    const uint8_t *map = file_cache_map(h, &len);
    size_t got = 0;
    if (map != NULL) { /* files never change once adopted: mapped (file_cache.h) */
        got = off < len ? (size_t)(len - off < n ? len - off : n) : 0;
        memcpy(buf, map + off, got);
    } else {
        rc = io_read_at(file_cache_file(h), off, buf, n, &got);
    }
    if (rc == KV_OK && got != n)
        rc = vlog_short(h, off, n, got);
    file_cache_release(vs->fc, h);
    return rc;
}

/* ---- open and close ------------------------------------------------------- */

/* The size of dir/name. */
static int vlog_size_of(const char *dir, const char *name, uint64_t *size)
{
    char *path = io_join(dir, name);
    if (path == NULL)
        return kv_error(KV_ERR_NOMEM, "value log: out of memory");
    io_file *f = NULL;
    int rc = io_open(path, IO_READ, &f);
    if (rc == KV_OK)
        rc = io_size(f, size);
    io_close(f);
    free(path);
    return rc;
}

/* A value-log file starting past `flushed` holds no value a table can
 * point at (a table's entry is a write up to `flushed`, and its value is in
 * a log that started before it): no file of this database's, which only
 * ever renames a log once a table holds all of it.  It comes from outside
 * (a directory whose CURRENT was lost, files copied in), and a new log
 * would start under its name.  An open that writes moves it to lost/
 * (offline.h), as kv_repair keeps what it takes out, and goes on. */
static int vlog_set_aside_stray(const char *dir, const char *name)
{
    char kept[512];
    int rc = offline_set_aside(dir, name, kept, sizeof kept);
    char *path = rc == KV_OK ? io_join(dir, name) : NULL;
    if (rc == KV_OK && path == NULL)
        rc = kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", dir);
    if (rc == KV_OK)
        rc = io_unlink(path);
    if (rc == KV_OK)
        rc = io_sync_dir(dir);
    free(path);
    if (rc != KV_OK && kv_errmsg()[0] == '\0')
        rc = kv_error(rc, "kv_open %s: cannot move %s, a value log no table points into, to "
                      "lost/", dir, name);
    return rc;
}

int value_store_open(const value_store_env *env, const lsm_listing *l, uint64_t flushed,
                     value_store **out, int *has_jobs)
{
    *has_jobs = 1;
    value_store *vs = calloc(1, sizeof *vs);
    *out = vs;
    if (vs == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", env->dir->path);
    pthread_mutex_init(&vs->lock, NULL);
    pthread_rwlock_init(&vs->names_lock, NULL);
    if ((vs->dir = strdup(env->dir->path)) == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", env->dir->path);
    int rc = file_cache_new(env->opt->max_open_files, &vs->fc);
    if (rc != KV_OK)
        return rc;
    vs->read_only = env->opt->read_only;
    vs->threshold = env->opt->value_threshold ? env->opt->value_threshold
                                              : VLOG_DEFAULT_THRESHOLD;
    vs->gc_percent = env->opt->value_gc_percent;
    if (vs->gc_percent == 0)
        vs->gc_percent = VLOG_DEFAULT_GC_PERCENT;
    if (vs->gc_percent < 1 || vs->gc_percent > 99)
        return kv_error(KV_ERR_INVALID, "kv_open %s: value_gc_percent %d: want 1 to 99 "
                        "(0: the default, %d)", vs->dir, vs->gc_percent,
                        VLOG_DEFAULT_GC_PERCENT);
    vs->flushed = flushed;
    /* A memtable's logs become one value-log file: a larger memtable makes
     * fewer, larger files, fewer flushes of tables that now hold keys and
     * places only, and fewer new logs (each synced when made). */
    if (env->opt->memtable_bytes == 0 && *env->memtable_limit < VLOG_MEMTABLE_BYTES)
        *env->memtable_limit = VLOG_MEMTABLE_BYTES;
    atomic_init(&vs->epoch, 2);
    atomic_init(&vs->pins[0], 0);
    atomic_init(&vs->pins[1], 0);
    atomic_init(&vs->behind, 0);
    atomic_init(&vs->slowdowns, 0);
    /* Its files: every .vlog, and the logs the tables hold all of (the
     * engine hands them over as it meets them: value_store_adopt_log). */
    for (size_t i = 0; rc == KV_OK && i < l->nothers; i++) {
        uint64_t start = 0, size = 0;
        vlog_file *f = NULL;
        if (!vlog_name_parse(l->others[i], &start))
            continue;
        if (start > flushed && !vs->read_only) {
            rc = vlog_set_aside_stray(vs->dir, l->others[i]);
            continue;
        }
        if ((rc = vlog_size_of(vs->dir, l->others[i], &size)) == KV_OK &&
            (rc = vlog_add(vs, start, 0, size, &f)) == KV_OK)
            f->adopted = 1;
    }
    /* Every log but the last may hold values the tables point at: kv_open
     * hands over those the tables hold all of (adopt_log); the rest are
     * replayed, and their next flush counts them. */
    for (size_t i = 0; rc == KV_OK && i + 1 < l->nwals; i++) {
        char name[LSM_NAME_MAX];
        uint64_t size = 0;
        vlog_file *f = NULL;
        if (vlog_find(vs, l->wals[i].start) != NULL)
            return kv_error(KV_ERR_CORRUPT, "kv_open %s: log %" PRIu64 " is there twice, as "
                            "a log and as a value log", vs->dir, l->wals[i].start);
        lsm_wal_name(name, l->wals[i].start);
        if ((rc = vlog_size_of(vs->dir, name, &size)) == KV_OK)
            rc = vlog_add(vs, l->wals[i].start, 1, size, &f);
    }
    vlog_count *counts = NULL;
    size_t n = 0;
    if (rc == KV_OK)
        rc = vlog_counts_load(vs->dir, vs->read_only, flushed, &counts, &n);
    for (size_t i = 0; i < n; i++) {
        vlog_file *f = vlog_find(vs, counts[i].start);
        if (f == NULL || f->bytes != counts[i].bytes)
            continue; /* gone, or not the file counted: measured */
        f->counted = 1;
        f->value_bytes = counts[i].value_bytes;
        f->live_bytes = counts[i].live_bytes;
        f->undropped = counts[i].undropped;
        f->counted_at = counts[i].counted_at;
    }
    free(counts);
    if (rc == KV_OK) {
        pthread_mutex_lock(&vs->lock);
        vlog_update_behind(vs);
        pthread_mutex_unlock(&vs->lock);
    }
    return rc;
}

/* VLOGCOUNTS: the counts of the files handed over. */
static int vlog_store_save_counts(value_store *vs)
{
    vlog_count *counts = malloc((vs->nfiles + 1) * sizeof *counts);
    if (counts == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", VLOG_COUNTS_NAME);
    size_t n = 0;
    for (size_t i = 0; i < vs->nfiles; i++) {
        const vlog_file *f = vs->files[i];
        if (f->counted && f->adopted && f->state == VLOG_LIVE)
            counts[n++] = (vlog_count){.start = f->start, .bytes = f->bytes,
                                       .value_bytes = f->value_bytes,
                                       .live_bytes = f->live_bytes,
                                       .undropped = f->undropped,
                                       .counted_at = f->counted_at};
    }
    int rc = vlog_counts_save(vs->dir, vs->flushed, counts, n);
    free(counts);
    return rc;
}

int value_store_close(value_store *vs, int clean)
{
    if (vs == NULL)
        return KV_OK;
    int rc = clean && !vs->read_only ? vlog_store_save_counts(vs) : KV_OK;
    while (vs->nfiles > 0)
        vlog_drop(vs, vs->files[vs->nfiles - 1]);
    file_cache_free(vs->fc);
    free(vs->files);
    free(vs->dir);
    pthread_rwlock_destroy(&vs->names_lock);
    pthread_mutex_destroy(&vs->lock);
    free(vs);
    return rc;
}

int value_store_adopt_log(value_store *vs, uint64_t start, int *kept)
{
    pthread_mutex_lock(&vs->lock);
    vlog_file *f = vlog_find(vs, start);
    /* Listed: a flush pointed at values in it, or kv_open found it, and it
     * may hold some.  Else nothing is read in it: the engine removes it. */
    *kept = f != NULL;
    int rc = KV_OK;
    if (f != NULL)
        f->adopted = 1;
    if (f != NULL && f->is_log && !vs->read_only) {
        /* Renamed, not synced: a crash may leave either name, and kv_open
         * hands the log over again. */
        char from[LSM_NAME_MAX], to[LSM_NAME_MAX];
        vlog_file_name(from, sizeof from, start, 1);
        vlog_file_name(to, sizeof to, start, 0);
        char *a = io_join(vs->dir, from), *b = io_join(vs->dir, to);
        pthread_rwlock_wrlock(&vs->names_lock); /* no reader between the names */
        rc = a && b ? io_rename(a, b) : kv_error(KV_ERR_NOMEM, "value log: out of memory");
        pthread_rwlock_unlock(&vs->names_lock);
        if (rc == KV_OK) /* (an open handle of the cache reads on) */
            f->is_log = 0;
        free(a);
        free(b);
    }
    pthread_mutex_unlock(&vs->lock);
    return rc;
}

/* ---- pins ------------------------------------------------------------------- */

uint64_t value_store_pin(value_store *vs)
{
    for (;;) {
        uint64_t e = atomic_load(&vs->epoch);
        atomic_fetch_add(&vs->pins[e & 1], 1);
        if (atomic_load(&vs->epoch) == e)
            return e;
        atomic_fetch_sub(&vs->pins[e & 1], 1); /* it moved on: again */
    }
}

void value_store_unpin(value_store *vs, uint64_t pin)
{
    atomic_fetch_sub(&vs->pins[pin & 1], 1);
}

/* ---- loads ------------------------------------------------------------------ */

void value_buf_free(value_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}

/* Decodes where, naming what is wrong. */
int vlog_where_of(const uint8_t *where, size_t wlen, vlog_where *w)
{
    const char *why = NULL;
    if (vlog_where_decode(where, wlen, w, &why) != 0)
        return kv_error(KV_ERR_CORRUPT, "a table entry's place of its value (%zu bytes) is not "
                        "a place in a value log: %s", wlen, why);
    return KV_OK;
}

int vlog_buf_room(value_buf *buf, file_cache_handle *h, const vlog_where *w)
{
    uint64_t span = vlog_span(w);
    if (buf->cap < span) {
        /* The file must hold the whole span before buf grows to it: the
         * length is the table entry's word, and a damaged one must not
         * size an allocation (only a growth asks: buffers are reused). */
        uint64_t size = 0;
        int rc = file_cache_map(h, &size) != NULL ? KV_OK : io_size(file_cache_file(h), &size);
        if (rc != KV_OK)
            return rc;
        if (w->offset > size || size - w->offset < span)
            return vlog_short(h, w->offset, (size_t)span,
                              (size_t)(w->offset < size ? size - w->offset : 0));
        uint8_t *p = realloc(buf->p, (size_t)span);
        if (p == NULL)
            return kv_error(KV_ERR_NOMEM, "value log: out of memory for a value of %" PRIu32
                            " bytes", w->len);
        buf->p = p;
        buf->cap = (size_t)span;
    }
    return KV_OK;
}

void value_store_let_go(value_store *vs, value_buf *buf)
{
    if (buf->held != NULL) {
        file_cache_release(vs->fc, buf->held);
        atomic_fetch_sub_explicit(&vs->ahead_held, 1, memory_order_relaxed);
    }
    buf->held = NULL;
}

/* Reads w's value into buf, through the file value_store_read_ahead kept
 * in buf if it is w's: KV_OK with *val, or an error.  Nothing is held in
 * buf after. */
static int vlog_load_at(value_store *vs, const vlog_where *w, value_buf *buf,
                        const uint8_t **val)
{
    file_cache_handle *h = buf->held != NULL && buf->held_at == w->file ? buf->held : NULL;
    int rc = KV_OK;
    if (h != NULL) {
        buf->held = NULL; /* (released by the read) */
        atomic_fetch_sub_explicit(&vs->ahead_held, 1, memory_order_relaxed);
    } else {
        value_store_let_go(vs, buf);
        rc = vlog_hold(vs, w->file, &h);
    }
    if (rc == KV_OK && (rc = vlog_buf_room(buf, h, w)) == KV_OK)
        rc = vlog_read_held(vs, h, w->offset, buf->p, (size_t)vlog_span(w));
    else if (h != NULL)
        file_cache_release(vs->fc, h);
    return rc == KV_OK ? vlog_value_check(vs, w, buf, val) : rc;
}

int vlog_value_check(value_store *vs, const vlog_where *w, value_buf *buf, const uint8_t **val)
{
    uint64_t span = vlog_span(w);
    if (span != w->len)
        vlog_gather(w, buf->p, buf->p);
    if (crc32c_value(buf->p, w->len) != w->crc) {
        char name[LSM_NAME_MAX];
        vlog_file_name(name, sizeof name, w->file, 0);
        return kv_error(KV_ERR_CORRUPT, "%s/%s: offset %" PRIu64 ": the value of %" PRIu32
                        " bytes there does not match its crc32c (a damaged value log)",
                        vs->dir, name, w->offset, w->len);
    }
    *val = buf->p;
    return KV_OK;
}

int value_store_load(value_store *vs, const uint8_t *where, size_t wlen, value_buf *buf,
                     const uint8_t **val, size_t *vlen)
{
    vlog_where w;
    int rc = vlog_where_of(where, wlen, &w);
    if (rc == KV_OK)
        rc = vlog_load_at(vs, &w, buf, val);
    if (rc == KV_OK)
        *vlen = w.len;
    return rc;
}

int vlog_load_where(value_store *vs, const vlog_where *w, value_buf *buf, const uint8_t **val)
{
    return vlog_load_at(vs, w, buf, val);
}

/* ---- merges and admission ---------------------------------------------------- */

void value_store_dropped(value_store *vs, const uint8_t *where, size_t wlen)
{
    vlog_where w;
    const char *why = NULL;
    if (vlog_where_decode(where, wlen, &w, &why) != 0)
        return; /* a damaged entry: reads report it */
    pthread_mutex_lock(&vs->lock);
    vlog_file *f = vlog_find(vs, w.file);
    if (f != NULL && f->counted && f->state != VLOG_EMPTIED) {
        /* A value a job found dead is taken off undropped first (V2). */
        uint64_t off_undropped = f->undropped < w.len ? f->undropped : w.len;
        uint64_t off_live = w.len - off_undropped;
        f->undropped -= off_undropped;
        f->live_bytes -= f->live_bytes < off_live ? f->live_bytes : off_live;
        vlog_update_behind(vs);
    }
    pthread_mutex_unlock(&vs->lock);
}

table_admit value_store_admit(value_store *vs)
{
    if (!atomic_load_explicit(&vs->behind, memory_order_relaxed))
        return TABLE_ADMIT_OK;
    atomic_fetch_add_explicit(&vs->slowdowns, 1, memory_order_relaxed);
    return TABLE_ADMIT_SLOW;
}
