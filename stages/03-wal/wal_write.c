/*
 * wal_write.c: stage 03's write path (stage 02's hash_db.h, "The write
 * path"): every put, delete or batch is one record of the write-ahead log,
 * and with kv_options.sync = 1 it returns only once an fdatasync has put
 * that record on stable storage.
 *
 * Group commit (LevelDB's DBImpl::Write is the model).  Writers queue up;
 * the one at the head is the leader.  It takes the records of the writers
 * queued behind it (up to WAL_GROUP_MAX bytes), frames them into one buffer,
 * appends it with one write, syncs once, updates the index for all of them,
 * and wakes each follower with the group's status.  Then the next writer
 * in the queue leads.  While a leader syncs, new writers queue up, so the
 * busier the disk, the bigger the groups: one fsync covers them all.
 *
 * Invariants:
 *   1. Only the head of the queue writes, and a writer leaves the queue
 *      only when its record is written (or failed): records reach the log
 *      in queue order, and the index changes in the same order.
 *   2. A writer's status is final when `done` is set (under queue_lock).
 *   3. Once an fsync of the log or the directory failed, `db->failed` is
 *      set and every later write fails until the database is reopened: a
 *      retried fsync can report success for data the kernel already dropped
 *      (Linux marks the failed pages clean), so nothing written before it
 *      can be trusted to be on disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "hash_db.h"
#include "record_io.h"
#include "wal_batch.h"
#include "wal_writer.h"

/* A leader takes at most this many bytes of records into its group (and
 * always its own), so a follower's latency stays bounded. */
#define WAL_GROUP_MAX (1u << 20)

typedef struct wal_waiter {
    const char *call;
    hash_update u;
    uint8_t *payload;       /* the record: a batch (wal_batch.h) */
    size_t len;
    int status;             /* invariant 2 */
    int done;
    char *errmsg;           /* a copy of the leader's message, if it failed */
    pthread_cond_t cv;
    struct wal_waiter *next;
} wal_waiter;

struct hash_writer {
    pthread_mutex_t queue_lock;
    wal_waiter *head, *tail;
    /* Counters since open (updated under write_lock, read with __atomic). */
    uint64_t records, groups, syncs, dir_syncs, sync_ns, largest_group;
    char failure[512];      /* why db->failed was set by a sync */
    /* Sync markers (wal_batch.h) for the active segment mark_seg: every
     * byte before synced_to is on stable storage; the last marker written
     * says marked_to.  Only the leader (under write_lock) touches these. */
    uint32_t mark_seg;
    uint64_t synced_to, marked_to;
};

static uint32_t seg_id(const segment *seg) { return seg ? seg->id : 0; }

static uint64_t wal_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Syncs the log (dir == NULL) or the directory; a failure is final
 * (invariant 3).  REQUIRES: write_lock held. */
static int wal_sync(kv_db *db, io_file *log, const char *call)
{
    struct hash_writer *w = db->writer;
    uint64_t t0 = wal_now_ns();
    int rc = log ? io_sync(log) : io_sync_dir(db->dir.path);
    __atomic_add_fetch(log ? &w->syncs : &w->dir_syncs, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&w->sync_ns, wal_now_ns() - t0, __ATOMIC_RELAXED);
    if (rc != KV_OK) {
        db->failed = 1;
        snprintf(w->failure, sizeof w->failure, "%s", kv_errmsg());
        return kv_error(rc, "%s: %s; what was written since the last good fsync may be "
                        "lost, so every later write fails until the database is reopened",
                        call, w->failure);
    }
    return KV_OK;
}

/* Writes the group [first, first + n) as one append (and one fsync).
 * REQUIRES: write_lock held; first is the head of the queue. */
static int wal_commit(kv_db *db, wal_waiter *first, size_t n)
{
    struct hash_writer *w = db->writer;
    const char *call = first->call;
    if (db->failed)
        return kv_error(KV_ERR_IO, "%s: %s: writes are refused since an earlier failure "
                        "(%s); reopen the database", call, db->dir.path,
                        w->failure[0] ? w->failure : "a write that could not be undone");
    /* Room for a sync marker ahead of the group's records. */
    const uint8_t **records = malloc((n + 1) * sizeof *records);
    size_t *lens = malloc((n + 1) * sizeof *lens);
    uint64_t *ends = malloc((n + 1) * sizeof *ends);
    int rc = records && lens && ends ? KV_OK
             : kv_error(KV_ERR_NOMEM, "%s: out of memory for a group of %zu", call, n);
    uint64_t max = wal_framed_max(WAL_MARKER_SIZE), puts = 0;
    wal_waiter *x = first;
    for (size_t i = 0; rc == KV_OK && i < n; i++, x = x->next) {
        records[i + 1] = x->payload;
        lens[i + 1] = x->len;
        max += wal_framed_max(x->len);
        puts += x->u.n - x->u.deletes;
    }
    if (rc == KV_OK)
        rc = hash_db_make_room(db, call, max);
    if (rc == KV_OK) {
        pthread_rwlock_wrlock(&db->index_lock);
        rc = hash_index_reserve(&db->index, puts);
        pthread_rwlock_unlock(&db->index_lock);
    }
    segment *seg = db->active;
    uint64_t at = seg->size;
    if (seg->id != w->mark_seg) { /* a new segment: nothing of it synced yet */
        w->mark_seg = seg->id;
        w->synced_to = w->marked_to = 0;
    }
    /* The group starts with a marker if a sync happened since the last one:
     * it is true whatever happens to it, since the sync came first. */
    uint8_t marker[WAL_MARKER_SIZE];
    size_t m = w->synced_to > w->marked_to;
    wal_marker_encode(marker, w->synced_to, 0);
    records[0] = marker; /* used only if m == 1 */
    lens[0] = WAL_MARKER_SIZE;
    if (rc == KV_OK &&
        (rc = wal_append(seg->file, at, records + 1 - m, lens + 1 - m, n + m, ends)) != KV_OK)
        rc = hash_db_undo_append(db, call, rc);
    if (rc == KV_OK && m)
        w->marked_to = w->synced_to;
    if (rc == KV_OK && db->opt.sync && (rc = wal_sync(db, seg->file, call)) == KV_OK)
        w->synced_to = ends[n + m - 1];
    /* The commit point: the group is in the log (and, with sync, on disk).
     * Now readers may see it.  (A marker's bytes belong to no op.) */
    x = first;
    for (size_t i = 0; rc == KV_OK && i < n; i++, x = x->next) {
        uint64_t start = i + m ? ends[i + m - 1] : at, end = ends[i + m];
        for (size_t j = 0; j < x->u.n; j++)
            x->u.locs[j] = (hash_loc){.offset = start, .seg = seg->id,
                                      .size = wal_batch_share(end - start, x->u.n, j)};
        hash_update_apply(db, seg, &x->u, end);
    }
    if (rc == KV_OK) {
        __atomic_add_fetch(&w->records, n, __ATOMIC_RELAXED);
        __atomic_add_fetch(&w->groups, 1, __ATOMIC_RELAXED);
        if (n > w->largest_group)
            __atomic_store_n(&w->largest_group, n, __ATOMIC_RELAXED);
    }
    free(records);
    free(lens);
    free(ends);
    return rc;
}

/* Leads the group that starts with `me` (invariant 1). */
static void wal_lead(kv_db *db, wal_waiter *me)
{
    struct hash_writer *w = db->writer;
    pthread_mutex_lock(&w->queue_lock);
    size_t n = 0;
    uint64_t bytes = 0;
    for (wal_waiter *x = me; x && (n == 0 || bytes + x->len <= WAL_GROUP_MAX); x = x->next) {
        bytes += x->len;
        n++;
    }
    pthread_mutex_unlock(&w->queue_lock);

    pthread_mutex_lock(&db->write_lock);
    int rc = wal_commit(db, me, n);
    pthread_mutex_unlock(&db->write_lock);
    char *msg = rc != KV_OK ? strdup(kv_errmsg()) : NULL;

    pthread_mutex_lock(&w->queue_lock);
    for (size_t i = 0; i < n; i++) {
        wal_waiter *x = w->head;
        w->head = x->next;
        if (w->head == NULL)
            w->tail = NULL;
        x->status = rc;
        x->errmsg = msg ? strdup(msg) : NULL;
        x->done = 1;
        if (x != me)
            pthread_cond_signal(&x->cv);
    }
    if (w->head)
        pthread_cond_signal(&w->head->cv); /* the next leader */
    pthread_mutex_unlock(&w->queue_lock);
    free(msg);
}

int hash_write(kv_db *db, const char *call, const batch_op *ops, size_t n)
{
    struct hash_writer *w = db->writer;
    wal_waiter me = {.call = call};
    int rc = hash_update_init(&me.u, call, ops, n);
    if (rc != KV_OK)
        return rc;
    uint64_t len = wal_batch_size(ops, n);
    if ((me.payload = malloc((size_t)len)) == NULL) {
        hash_update_free(&me.u);
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for a record of %llu bytes", call,
                        (unsigned long long)len);
    }
    wal_batch_encode(me.payload, ops, n);
    me.len = (size_t)len;
    pthread_cond_init(&me.cv, NULL);

    pthread_mutex_lock(&w->queue_lock);
    if (w->tail)
        w->tail->next = &me;
    else
        w->head = &me;
    w->tail = &me;
    while (!me.done && w->head != &me)
        pthread_cond_wait(&me.cv, &w->queue_lock);
    int follower = me.done;
    pthread_mutex_unlock(&w->queue_lock);
    if (!follower)
        wal_lead(db, &me);
    rc = me.status;
    if (rc != KV_OK)
        kv_error(rc, "%s", me.errmsg ? me.errmsg : "write failed");
    pthread_cond_destroy(&me.cv);
    free(me.errmsg);
    free(me.payload);
    hash_update_free(&me.u);
    return rc;
}

int hash_write_open(kv_db *db)
{
    struct hash_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", db->dir.path);
    pthread_mutex_init(&w->queue_lock, NULL);
    db->writer = w;
    if (db->opt.read_only)
        return KV_OK;
    /* The log as recovered is synced, so that what recovery cut off stays
     * cut off (a power loss could otherwise bring a torn tail back under
     * newer records), and so that the first write's sync marker can cover
     * all of it. */
    int rc = KV_OK;
    /* A roll-over that created its file and then failed leaves an empty
     * segment above the last one written, which then becomes the active
     * one: seal the last one written now, as roll-over would have. */
    size_t j = db->segs.n;
    while (j > 0 && db->segs.v[j - 1]->size <= SEGMENT_START)
        j--;
    if (j > 0 && j < db->segs.n) {
        segment *prev = db->segs.v[j - 1];
        uint8_t seal[RECORD_SEAL_MAX];
        size_t n = record_seal(seal, prev->size);
        if ((rc = io_append_bytes(prev->file, seal, n)) == KV_OK)
            rc = io_sync(prev->file);
        prev->size += n; /* kv_open fails if anything did */
    }
    if (rc == KV_OK && db->active && db->active->size > SEGMENT_START &&
        (rc = io_sync(db->active->file)) == KV_OK) {
        w->mark_seg = db->active->id;
        w->synced_to = db->active->size;
    }
    if (rc == KV_OK && (db->open_leftovers_removed || db->open_hints_rejected ||
                        db->open_torn_bytes))
        rc = io_sync_dir(db->dir.path);
    return rc;
}

int hash_write_close(kv_db *db)
{
    struct hash_writer *w = db->writer;
    if (w == NULL)
        return KV_OK;
    /* A clean close leaves the log synced and ending in a marker that says
     * so: damage found in it later is then corruption, never a lost write.
     * The database is closed whatever happens; a failure is reported. */
    segment *seg = db->active;
    int rc = KV_OK;
    int changed = w->records > 0 || db->open_torn_bytes > 0 || w->mark_seg != seg_id(seg);
    if (!db->opt.read_only && !db->failed && seg && seg->size > SEGMENT_START && changed &&
        (rc = io_sync(seg->file)) == KV_OK) {
        uint8_t marker[WAL_MARKER_SIZE];
        const uint8_t *rec = marker;
        size_t len = WAL_MARKER_SIZE;
        wal_marker_encode(marker, seg->size, 0);
        rc = wal_append(seg->file, seg->size, &rec, &len, 1, NULL);
    }
    pthread_mutex_destroy(&w->queue_lock);
    free(w);
    db->writer = NULL;
    if (rc != KV_OK)
        kv_error_append(" (kv_close %s: the database is closed, but its log may not be "
                        "on stable storage)", db->dir.path);
    return rc;
}

/* With sync, a new segment's name must be durable before any record in it
 * is acknowledged (common/io_sim.h, rule 2). */
int hash_write_rolled(kv_db *db)
{
    if (!db->opt.sync)
        return KV_OK;
    if (db->writer == NULL) /* kv_open, starting the first segment */
        return io_sync_dir(db->dir.path);
    return wal_sync(db, NULL, "roll-over");
}

int hash_write_stats(kv_db *db, char **text)
{
    struct hash_writer *w = db->writer;
    uint64_t records = __atomic_load_n(&w->records, __ATOMIC_RELAXED);
    uint64_t groups = __atomic_load_n(&w->groups, __ATOMIC_RELAXED);
    uint64_t syncs = __atomic_load_n(&w->syncs, __ATOMIC_RELAXED);
    uint64_t ns = __atomic_load_n(&w->sync_ns, __ATOMIC_RELAXED);
    uint64_t all_syncs = syncs + __atomic_load_n(&w->dir_syncs, __ATOMIC_RELAXED);
    int n = asprintf(text,
        "wal.records: %llu\n"
        "wal.groups: %llu\n"
        "wal.records_per_group: %.2f\n"
        "wal.largest_group: %llu\n"
        "wal.syncs: %llu\n"
        "wal.dir_syncs: %llu\n"
        "wal.sync_us_avg: %.1f\n"
        "wal.failed: %d\n"
        "durability: %s\n",
        (unsigned long long)records, (unsigned long long)groups,
        groups ? (double)records / (double)groups : 0.0,
        (unsigned long long)__atomic_load_n(&w->largest_group, __ATOMIC_RELAXED),
        (unsigned long long)syncs,
        (unsigned long long)__atomic_load_n(&w->dir_syncs, __ATOMIC_RELAXED),
        all_syncs ? (double)ns / 1000.0 / (double)all_syncs : 0.0, db->failed,
        db->opt.sync ? "sync = 1: each write is on stable storage when it returns "
                       "(fdatasync of the log, group commit)"
                     : "sync = 0: writes reach the OS when they return; after a power "
                       "loss a prefix of them survives");
    if (n < 0)
        return kv_error(KV_ERR_NOMEM, "kv_stats: out of memory");
    return KV_OK;
}
