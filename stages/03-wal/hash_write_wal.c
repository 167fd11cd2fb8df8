/*
 * hash_write_wal.c: stage 03's write path (stage 02's hash_db.h, "The
 * write path"): every put, delete or batch is one record of the
 * write-ahead log, written through the group-commit queue (wal_queue.h),
 * so that with kv_options.sync = 1 it returns only once an fdatasync has
 * put that record on stable storage.
 *
 * This file is the adapter between the queue and stage 02's index: the
 * queue's prepare hook makes room (stage 02's roll-over, and slots in the
 * index), its apply callback points the index at each record once it is in
 * the log, and its failed hook sets stage 02's `failed`, so that kv_compact
 * refuses to run too.  kv_open and kv_close add what the queue cannot know
 * (the log as recovered, what recovery cut); docs/03-wal.md has the fsync
 * rules this keeps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash_db.h"
#include "hash_write.h"
#include "wal_batch.h"
#include "wal_queue.h"

struct hash_writer {
    wal_queue *q;           /* NULL for a read-only open */
};

/* One writer's part: its record and the index side of it. */
typedef struct wal_write {
    kv_db *db;
    hash_update u;
    txn_check_fn check;     /* its condition (a transaction's commit), or NULL */
    void *check_ctx;
} wal_write;

static wal_target wal_write_target(segment *seg)
{
    return (wal_target){.file = seg->file, .id = seg->id, .at = seg->size, .log = seg};
}

/* The queue's prepare hook.  REQUIRES: write_lock held. */
static int wal_write_prepare(void *owner, const char *call, uint64_t bytes, uint64_t puts,
                             wal_target *t)
{
    kv_db *db = owner;
    int rc = hash_db_make_room(db, call, bytes);
    if (rc == KV_OK) {
        pthread_rwlock_wrlock(&db->index_lock);
        rc = hash_index_reserve(&db->index, puts);
        pthread_rwlock_unlock(&db->index_lock);
    }
    if (rc == KV_OK)
        *t = wal_write_target(db->active);
    return rc;
}

/* The queue's failed hook.  REQUIRES: write_lock held. */
static void wal_write_failed(void *owner)
{
    hash_db_set_failed(owner, kv_errmsg());
}

/* The queue's apply callback: every op of the batch points at its record
 * (a marker's bytes belong to no op).  REQUIRES: write_lock held. */
static void wal_write_apply(void *ctx, const wal_place *p)
{
    wal_write *w = ctx;
    segment *seg = p->target->log;
    for (size_t j = 0; j < w->u.n; j++)
        w->u.locs[j] = (hash_loc){.offset = p->start, .seg = seg->id,
                                  .size = wal_batch_share(p->end - p->start, w->u.n, j)};
    hash_update_apply(w->db, seg, &w->u, p->end);
}

/* The queue's check (wal_request.check): the writer's condition, run with
 * every earlier record applied.  REQUIRES: write_lock held. */
static int wal_write_check(void *ctx)
{
    wal_write *w = ctx;
    return w->check(w->check_ctx);
}

int hash_write(kv_db *db, const char *call, const batch_op *ops, size_t n, txn_check_fn check,
               void *ctx)
{
    wal_write w = {.db = db, .check = check, .check_ctx = ctx};
    int rc = hash_update_init(&w.u, call, ops, n);
    if (rc != KV_OK)
        return rc;
    uint64_t len = wal_batch_size(ops, n);
    uint8_t *payload = malloc((size_t)len);
    if (payload == NULL) {
        hash_update_free(&w.u);
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for a record of %llu bytes", call,
                        (unsigned long long)len);
    }
    wal_batch_encode(payload, ops, n);
    wal_request r = {.call = call, .payload = payload, .len = (size_t)len,
                     .room = n - w.u.deletes, .apply = wal_write_apply, .ctx = &w,
                     .check = check != NULL ? wal_write_check : NULL};
    rc = wal_queue_write(db->writer->q, &r);
    free(payload);
    hash_update_free(&w.u);
    return rc;
}

int hash_write_open(kv_db *db)
{
    struct hash_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", db->dir.path);
    db->writer = w;
    if (db->opt.read_only)
        return KV_OK;
    wal_queue_config c = {.dir = db->dir.path, .sync = db->opt.sync,
                          .write_lock = &db->write_lock, .owner = db,
                          .prepare = wal_write_prepare, .failed = wal_write_failed};
    int rc = wal_queue_new(&c, &w->q);
    /* The log as recovered is synced, so that what recovery cut off stays
     * cut off (a power loss could otherwise bring a torn tail back under
     * newer records), and so that the first group's sync marker can vouch
     * for all of it. */
    if (rc == KV_OK && db->active->size > SEGMENT_START &&
        (rc = io_sync(db->active->file)) == KV_OK) {
        wal_target t = wal_write_target(db->active);
        wal_queue_log_synced(w->q, &t);
    }
    /* Files recovery removed, and hints it rejected, stay gone. */
    if (rc == KV_OK && (db->open_leftovers_removed || db->open_hints_rejected ||
                        db->open_torn_bytes))
        rc = wal_queue_sync_dir(w->q, "kv_open");
    return rc;
}

int hash_write_close(kv_db *db)
{
    struct hash_writer *w = db->writer;
    if (w == NULL)
        return KV_OK;
    int rc = KV_OK;
    if (w->q != NULL) {
        /* The database is closed whatever happens; a failure is reported. */
        wal_target t = db->active ? wal_write_target(db->active) : (wal_target){0};
        rc = wal_queue_close(w->q, db->active ? &t : NULL, db->open_torn_bytes > 0);
        if (rc != KV_OK)
            kv_error_append(" (kv_close %s: the database is closed, but what it wrote may "
                            "not be on stable storage)", db->dir.path);
    }
    free(w);
    db->writer = NULL;
    return rc;
}

int hash_write_stats(kv_db *db, char **text)
{
    wal_queue_stats s = {0};
    if (db->writer->q != NULL)
        wal_queue_stats_get(db->writer->q, &s);
    uint64_t all_syncs = s.syncs + s.dir_syncs;
    int n = asprintf(text,
        "session.wal.records: %llu\n"
        "session.wal.groups: %llu\n"
        "session.wal.records_per_group: %.2f\n"
        "session.wal.largest_group: %llu\n"
        "session.wal.syncs: %llu\n"
        "session.wal.dir_syncs: %llu\n"
        "session.wal.sync_us_avg: %.1f\n"
        "durability: %s\n",
        (unsigned long long)s.records, (unsigned long long)s.groups,
        s.groups ? (double)s.records / (double)s.groups : 0.0,
        (unsigned long long)s.largest_group, (unsigned long long)s.syncs,
        (unsigned long long)s.dir_syncs,
        all_syncs ? (double)s.sync_ns / 1000.0 / (double)all_syncs : 0.0,
        db->opt.sync ? "sync = 1: each write is on stable storage when it returns "
                       "(fdatasync of the log, group commit)"
                     : "sync = 0: writes reach the OS when they return; after a power "
                       "loss a prefix of them survives; kv_close makes them durable");
    if (n < 0)
        return kv_error(KV_ERR_NOMEM, "kv_stats: out of memory");
    return KV_OK;
}
