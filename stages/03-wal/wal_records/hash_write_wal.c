/*
 * hash_write_wal.c: stage 03's write path (stage 02's hash_db.h, "The
 * write path"): every put, delete or batch is one record of the
 * write-ahead log, written through the group-commit queue (wal_queue.h),
 * so that with kv_options.sync = 1 it returns only once an fdatasync has
 * put that record on stable storage.
 *
 * One write, top to bottom (hash_write): the record is encoded; the
 * writer joins the queue and either waits while a leader writes it, or
 * leads a group itself: under the write lock it checks a transaction's
 * condition, makes room (stage 02's roll-over, and slots in the index),
 * appends the group with one write and one fsync (wal_queue_append: the
 * commit point), points the index at each record of the group, and wakes
 * the group.  A failure the queue calls final sets stage 02's `failed`, so
 * that kv_compact refuses to run too.  kv_open and kv_close add what the
 * queue cannot know (the log as recovered, what recovery cut);
 * docs/03-wal.md has the fsync rules this keeps.
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
    wal_entry e;            /* in the queue */
    hash_update u;
} wal_write;

static wal_target wal_write_target(segment *seg)
{
    return (wal_target){.file = seg->file, .id = seg->id, .at = seg->size, .log = seg};
}

/* Room for the group in the log and in the index, and where it goes.
 * REQUIRES: write_lock held. */
static int wal_write_make_room(kv_db *db, const wal_group *g, wal_target *t)
{
    int rc = hash_db_make_room(db, g->first->call, g->bytes);
    if (rc == KV_OK) {
        pthread_rwlock_wrlock(&db->index_lock);
        rc = hash_index_reserve(&db->index, g->room);
        pthread_rwlock_unlock(&db->index_lock);
    }
    if (rc == KV_OK)
        *t = wal_write_target(db->active);
    return rc;
}

/* Every op of each record of the group points at its record (a marker's
 * bytes belong to no op).  REQUIRES: write_lock held; the group is in the
 * log. */
static void wal_write_apply(kv_db *db, const wal_group *g, segment *seg)
{
    for (wal_entry *e = g->first; e != NULL; e = wal_group_next(g, e)) {
        wal_write *w = e->ctx;
        for (size_t j = 0; j < w->u.n; j++)
            w->u.locs[j] = (hash_loc){.offset = e->start, .seg = seg->id,
                                      .size = wal_batch_share(e->end - e->start, w->u.n, j)};
        hash_update_apply(db, seg, &w->u, e->end);
    }
}

/* The leader's part: the group g, whose first entry is its own, written
 * and applied under the write lock.  check (NULL: none) is the leader's
 * condition: a transaction's commit, alone in its group.  KV_OK or the
 * group's error. */
static int wal_write_lead(kv_db *db, wal_group *g, txn_check_fn check, void *check_ctx)
{
    pthread_mutex_lock(&db->write_lock);
    int rc = check != NULL ? check(check_ctx) : KV_OK;
    wal_target t;
    if (rc == KV_OK)
        rc = wal_write_make_room(db, g, &t);
    if (rc == KV_OK)
        rc = wal_queue_append(db->writer->q, g, &t);   /* the commit point */
    if (rc == KV_OK)
        wal_write_apply(db, g, t.log);
    else if (wal_queue_failed(db->writer->q))
        hash_db_set_failed(db, kv_errmsg());
    pthread_mutex_unlock(&db->write_lock);
    return rc;
}

int hash_write(kv_db *db, const char *call, const batch_op *ops, size_t n, txn_check_fn check,
               void *ctx)
{
    wal_write w;
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
    w.e = (wal_entry){.call = call, .payload = payload, .len = (size_t)len,
                      .room = n - w.u.deletes, .alone = check != NULL, .ctx = &w};
    wal_group g;
    if (wal_queue_join(db->writer->q, &w.e, &g)) {
        rc = wal_write_lead(db, &g, check, ctx);
        wal_queue_finish(db->writer->q, &g, rc);
    }
    rc = w.e.status;
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
    int rc = wal_queue_new(db->dir.path, db->opt.sync, &w->q);
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
    if (rc != KV_OK && w->q != NULL && wal_queue_failed(w->q))
        hash_db_set_failed(db, kv_errmsg());
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
