/*
 * lsm_write.c: the engine's write path: kv_put, kv_delete and kv_write
 * (and a transaction's commit, txn_stage_write_checked: common/txn.h).
 * One write, top to bottom (lsm_write, as LevelDB's DBImpl::Write):
 *   1. admission: a write that puts a value is refused if the disk is down
 *      to its reserve (lsm_room.h); the table set may say its tables are
 *      behind (stage 06: too many level-0 tables), and the writer waits
 *      (lsm_admit.c);
 *   2. the record is encoded, and the writer joins stage 03's group-commit
 *      queue (wal_queue.h): it waits while a leader writes its record, or
 *      it leads a group itself, and then, under write_lock:
 *   3. a transaction's condition is checked (its commit goes alone);
 *   4. room is made: a full memtable is frozen for the flush and a new log
 *      started (lsm_switch), waiting if the frozen one before is still
 *      being flushed, and the memtable bytes the group will take are
 *      reserved, so that inserting cannot fail;
 *   5. each record is numbered (queue order is log order, so numbers grow
 *      along the log), and the group is appended to the log with one write
 *      and, with sync = 1, one fsync: the commit point;
 *   6. each op goes into the memtable, then last_seq is published: readers
 *      see the group now;
 *   7. the group is told, and the next writer in the queue leads.
 * No allocation per write: the record is built on the stack (a malloc only
 * for a large batch), the memtable takes its bytes from its arena, and the
 * queue reuses one buffer for the group.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error.h"
#include "lsm_db.h"
#include "lsm_elsewhere.h"
#include "lsm_room.h"
#include "txn.h"

/* Records up to this size are built on the writer's stack. */
#define LSM_WRITE_STACK_BYTES 512

/* One writer: its ops, and its record in the queue. */
typedef struct lsm_writer {
    wal_entry e;
    const batch_op *ops;
    size_t n;
    uint8_t *rec;
    uint64_t seq;           /* the first op's, given by the leader */
} lsm_writer;

/* ---- making room: the memtable switch ------------------------------------------- */

/* Waits while the frozen memtable is still being flushed.  A flush that
 * failed is reported if no call has yet (this one fails with its error,
 * so that a disk that keeps failing fails writes instead of hanging them),
 * else retried and waited for.  REQUIRES: write_lock held. */
static int lsm_wait_for_flush(kv_db *db, const char *call)
{
    while (db->memtables.imm != NULL) {
        int rc = lsm_refuse_if_failed(db, call);
        if (rc != KV_OK)
            return rc;
        if (db->fail.flush_failed) {
            if ((rc = lsm_take_bg_error(db, call)) != KV_OK)
                return rc;
            db->fail.flush_failed = 0; /* reported already: retry, and wait */
            lsm_bg_wake(db);
            continue;
        }
        uint64_t t0 = lsm_now_us(), ns0 = latency_start();
        lsm_count(&db->count.stats, LSM_STALLS, 1);
        pthread_cond_wait(&db->bg.done, &db->write_lock);
        lsm_count(&db->count.stats, LSM_STALL_US, lsm_now_us() - t0);
        latency_record(&db->count.stats.lat, LATENCY_STALL_MEMTABLE, ns0);
    }
    return lsm_refuse_if_failed(db, call);
}

/* Seals the last log and starts a new one for writes from next_seq on.
 * A failed seal is final (D4) when a sync failed or the partial seal could
 * not be cut off; a failed creation is not: the sealed log takes no more
 * writes, and the next write tries again.
 * REQUIRES: write_lock held, room in db->logs.v for one more. */
static int lsm_new_log(kv_db *db)
{
    lsm_wal *cur = db->logs.v[db->logs.n - 1];
    int rc, final = 0;
    if (!cur->sealed && (rc = lsm_wal_seal(cur, &final)) != KV_OK) {
        if (!final)
            return kv_error(rc, "%s (sealing %s; nothing was written)", kv_errmsg(),
                            io_path(cur->file));
        kv_error_append(" (sealing %s; writes are refused until the database is reopened)",
                        io_path(cur->file));
        lsm_set_failed(db, kv_errmsg());
        return rc;
    }
    lsm_wal *w = NULL;
    if ((rc = lsm_wal_create(db->dir.path, db->seq.next, &w)) != KV_OK)
        return rc;
    db->logs.v[db->logs.n++] = w;
    return KV_OK;
}

/* Freezes mem (if it holds anything) into imm for the flush thread, and
 * starts a new log unless the last one holds no record yet.  All or
 * nothing: what can fail is done before anything changes.
 * REQUIRES: write_lock held. */
static int lsm_switch(kv_db *db, const char *call)
{
    int rc = memtable_entries(db->memtables.mem) > 0 ? lsm_wait_for_flush(db, call) : KV_OK;
    /* Read again after the wait, which released write_lock: kv_compact may
     * have switched meanwhile, leaving an empty mem and a fresh log. */
    int freeze = memtable_entries(db->memtables.mem) > 0;
    if (rc == KV_OK && !freeze && !db->logs.v[db->logs.n - 1]->sealed)
        return KV_OK;
    memtable *fresh = NULL;
    lsm_view *v = NULL;
    if (rc == KV_OK && freeze && (rc = memtable_new(db->memtables.limit, &fresh)) == KV_OK)
        rc = lsm_view_new(db, fresh, db->memtables.mem, &v);
    if (rc == KV_OK && db->logs.n == db->logs.cap) {
        size_t cap = 2 * db->logs.cap + 2;
        lsm_wal **grown = realloc(db->logs.v, cap * sizeof *grown);
        if (grown == NULL)
            rc = kv_error(KV_ERR_NOMEM, "%s: out of memory", call);
        else {
            db->logs.v = grown;
            db->logs.cap = cap;
        }
    }
    lsm_wal *cur = db->logs.v[db->logs.n - 1];
    if (rc == KV_OK && (cur->sealed || cur->records > 0)) {
        uint64_t t0 = lsm_now_us(); /* the writer waits for its syncs */
        rc = lsm_new_log(db);
        lsm_count(&db->count.stats, LSM_NEW_LOG_US, lsm_now_us() - t0);
    }
    if (rc != KV_OK) {
        lsm_view_unref(v);
        memtable_unref(fresh);
        return rc;
    }
    if (freeze) {
        db->memtables.imm = db->memtables.mem;
        db->memtables.imm_lo = db->memtables.mem_lo;
        db->memtables.imm_hi = atomic_load_explicit(&db->seq.last, memory_order_relaxed);
        db->memtables.mem = fresh; /* the reference memtable_new gave; the view took its own */
        db->memtables.mem_lo = 0;
        lsm_view_publish(db, v);
        lsm_count(&db->count.stats, LSM_SWITCHES, 1);
        lsm_bg_wake(db);
    }
    return KV_OK;
}

int lsm_write_flush_all(kv_db *db, const char *call)
{
    pthread_mutex_lock(&db->write_lock);
    int rc = lsm_refuse_if_failed(db, call);
    if (rc == KV_OK && memtable_entries(db->memtables.mem) > 0)
        rc = lsm_switch(db, call);
    if (rc == KV_OK)
        rc = lsm_wait_for_flush(db, call);
    if (rc == KV_OK) /* a failure of the flush waited for (removing its logs) */
        rc = lsm_take_bg_error(db, call);
    pthread_mutex_unlock(&db->write_lock);
    return rc;
}

/* ---- the leader's steps ------------------------------------------------------- */

static wal_target lsm_target(lsm_wal *w)
{
    return (wal_target){.file = w->file, .id = w->start, .at = w->size, .log = w};
}

/* Step 4: room for the group (g->bytes of log, g->room bytes of memtable)
 * in the last log and mem, after a switch if they are full; *t is where
 * the group goes.  Refused if the database failed, or a background failure
 * waits to be reported.  REQUIRES: write_lock held. */
static int lsm_make_room(kv_db *db, const wal_group *g, wal_target *t)
{
    const char *call = g->first->call;
    int rc = lsm_refuse_if_failed(db, call);
    if (rc == KV_OK)
        rc = lsm_take_bg_error(db, call);
    if (rc != KV_OK)
        return rc;
    /* Numbers end at IKEY_MAX_SEQ, and a new log is named after the next
     * one, so writes stop at IKEY_MAX_SEQ - 1.  The group's op count is
     * not known here, but it is at most `room` (every op reserves more
     * than a byte): refusing on that is safe, and early by a few hundred
     * numbers out of 2^56.  (A log replayed at open may have used the last
     * one already: then next is past it.) */
    if (db->seq.next > IKEY_MAX_SEQ || g->room > IKEY_MAX_SEQ - db->seq.next)
        return kv_error(KV_ERR_INVALID, "%s: %s: sequence numbers are nearly used up (the "
                        "next is %" PRIu64 ", the last %" PRIu64 "); copy the data to a new "
                        "database", call, db->dir.path, db->seq.next, IKEY_MAX_SEQ - 1);
    /* Full: past its size already (a replayed log may do that), or the
     * group's room is not in the arena's current block and a new block
     * would take the memtable past its size. */
    lsm_wal *cur = db->logs.v[db->logs.n - 1];
    size_t usage = memtable_memory_usage(db->memtables.mem), limit = db->memtables.limit;
    int full = usage > limit || memtable_reserve_growth(db->memtables.mem, (size_t)g->room) > limit - usage ||
               cur->size > lsm_room_log_cap(db->room); /* a nearly full disk */
    if (cur->sealed || (memtable_entries(db->memtables.mem) > 0 && full))
        rc = lsm_switch(db, call);
    if (rc == KV_OK && (rc = memtable_reserve(db->memtables.mem, (size_t)g->room)) != KV_OK)
        kv_error_append(" (%s: nothing was written)", call);
    if (rc == KV_OK)
        *t = lsm_target(db->logs.v[db->logs.n - 1]);
    return rc;
}

/* Step 5's numbering: each record gets its first op's sequence number,
 * written into its bytes before the queue frames them.
 * REQUIRES: write_lock held. */
static void lsm_number(kv_db *db, const wal_group *g)
{
    for (wal_entry *e = g->first; e != NULL; e = wal_group_next(g, e)) {
        lsm_writer *w = e->ctx;
        w->seq = db->seq.next;
        db->seq.next += w->n;
        lsm_wal_record_stamp(w->rec, e->len, w->seq);
    }
}

/* Step 6 (D1): the group is in the log; its ops go into mem, then become
 * visible.  REQUIRES: write_lock held; lsm_make_room reserved the room. */
static void lsm_apply(kv_db *db, const wal_group *g, lsm_wal *log)
{
    uint64_t deletes = 0, ops = 0, batches = 0;
    for (wal_entry *e = g->first; e != NULL; e = wal_group_next(g, e)) {
        lsm_writer *w = e->ctx;
        for (size_t i = 0; i < w->n; i++) {
            const batch_op *op = &w->ops[i];
            deletes += (uint64_t)op->is_delete;
            /* Cannot fail: the room was reserved (arena.h, invariant 5). */
            (void)memtable_add(db->memtables.mem, w->seq + i, op->is_delete ? IKEY_DELETE : IKEY_PUT,
                               op->key, op->klen, op->val, op->vlen);
        }
        if (db->memtables.mem_lo == 0)
            db->memtables.mem_lo = w->seq;
        ops += w->n;
        batches += w->n > 1;
        log->size = e->end;
        log->records++;
    }
    if (!db->opt.sync) /* with sync, the queue has synced it already */
        lsm_wal_write_behind(log);
    lsm_writer *last = g->last->ctx;
    atomic_store_explicit(&db->seq.last, last->seq + last->n - 1, memory_order_release);
    lsm_count(&db->count.stats, LSM_PUTS, ops - deletes);
    lsm_count(&db->count.stats, LSM_DELETES, deletes);
    lsm_count(&db->count.stats, LSM_BATCHES, batches);
}

/* Steps 3 to 6, the leader's, for the group g (its own record first);
 * check (NULL: none) is its condition.  KV_OK or the group's error.
 * REQUIRES: write_lock not held. */
static int lsm_lead(kv_db *db, wal_group *g, txn_check_fn check, void *check_ctx)
{
    pthread_mutex_lock(&db->write_lock);
    int rc = check != NULL ? check(check_ctx) : KV_OK;
    wal_target t;
    if (rc == KV_OK)
        rc = lsm_make_room(db, g, &t);
    if (rc == KV_OK) {
        lsm_number(db, g);
        rc = wal_queue_append(db->commit_queue, g, &t);  /* the commit point */
    }
    if (rc == KV_OK)
        lsm_apply(db, g, t.log);
    else if (wal_queue_failed(db->commit_queue))
        lsm_set_failed(db, kv_errmsg());
    pthread_mutex_unlock(&db->write_lock);
    return rc;
}

/* ---- writes -------------------------------------------------------------------- */

/* Steps 2 to 7 (lsm_write): ops[0..n) as one record if check (NULL: none)
 * lets them in.  REQUIRES: n > 0, the database writable, ops checked. */
static int lsm_write_queued(kv_db *db, const char *call, const batch_op *ops, size_t n,
                            txn_check_fn check, void *check_ctx)
{
    int rc;
    uint8_t stack[LSM_WRITE_STACK_BYTES];                       /* 2 */
    uint64_t len = lsm_wal_record_size(ops, n), room = 0;
    uint8_t *rec = len <= sizeof stack ? stack : malloc((size_t)len);
    if (rec == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for a record of %" PRIu64 " bytes",
                        call, len);
    lsm_wal_record_encode(rec, ops, n);
    for (size_t i = 0; i < n; i++)
        room += memtable_entry_max(ops[i].klen, ops[i].is_delete ? 0 : ops[i].vlen);
    lsm_writer w = {.ops = ops, .n = n, .rec = rec};
    w.e = (wal_entry){.call = call, .payload = rec, .len = (size_t)len, .room = room,
                      .alone = check != NULL, .ctx = &w};
    wal_group g;
    if (wal_queue_join(db->commit_queue, &w.e, &g)) {
        rc = lsm_lead(db, &g, check, check_ctx);                /* 3 to 6 */
        wal_queue_finish(db->commit_queue, &g, rc);                        /* 7 */
    }
    rc = w.e.status;
    if (rec != stack)
        free(rec);
    return rc;
}

/* Writes ops[0..n) as one record if check (NULL: none) lets them in,
 * timed as `op` (lsm_stats.h).
 * REQUIRES: n > 0, the database writable, ops checked (batch.h). */
static int lsm_write(kv_db *db, const char *call, latency_op op, const batch_op *ops, size_t n,
                     txn_check_fn check, void *check_ctx)
{
    uint64_t t0 = latency_call_start(op); /* (puts and deletes: sampled) */
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += ops[i].klen + ops[i].vlen;
    int rc = lsm_room_check(db->room, ops, n, bytes, call);    /* 1 */
    if (rc == KV_OK)
        rc = lsm_admit(db, call);
    if (rc == KV_OK)
        rc = lsm_write_queued(db, call, ops, n, check, check_ctx);
    latency_call_record(&db->count.stats.lat, op, t0);
    return rc;
}

/* ---- the calls of kv.h ------------------------------------------------------- */

int kv_put(kv_db *db, const void *key, size_t klen, const void *val, size_t vlen)
{
    int rc;
    if ((rc = args_check_ptr("kv_put", db, "db")) != KV_OK ||
        (rc = args_check_key("kv_put", key, klen)) != KV_OK ||
        (rc = args_check_value("kv_put", val, vlen)) != KV_OK)
        return rc;
    if (db->opt.read_only)
        return kv_error(KV_ERR_INVALID, "kv_put: the database was opened read-only");
    batch_op op = {.key = key, .klen = klen, .val = val ? val : "", .vlen = vlen};
    return lsm_write(db, "kv_put", LATENCY_PUT, &op, 1, NULL, NULL);
}

int kv_delete(kv_db *db, const void *key, size_t klen)
{
    int rc;
    if ((rc = args_check_ptr("kv_delete", db, "db")) != KV_OK ||
        (rc = args_check_key("kv_delete", key, klen)) != KV_OK)
        return rc;
    if (db->opt.read_only)
        return kv_error(KV_ERR_INVALID, "kv_delete: the database was opened read-only");
    batch_op op = {.is_delete = 1, .key = key, .klen = klen};
    return lsm_write(db, "kv_delete", LATENCY_DELETE, &op, 1, NULL, NULL);
}

/* A batch is one record: one append, consecutive sequence numbers, made
 * visible by one store of last_seq. */
int kv_write(kv_db *db, const kv_batch *b)
{
    batch_op *ops = NULL;
    size_t n = 0;
    int rc = batch_ops_for_write(db, b, &ops, &n);
    if (rc != KV_OK)
        return rc;
    if (db->opt.read_only)
        rc = kv_error(KV_ERR_INVALID, "kv_write: the database was opened read-only");
    else if (n > 0)
        rc = lsm_write(db, "kv_write", LATENCY_BATCH, ops, n, NULL, NULL);
    free(ops);
    return rc;
}

/* A transaction's commit (common/txn.h): its batch, if its check passes;
 * read-only is refused as kv_write refuses it. */
int txn_stage_write_checked(kv_db *db, const batch_op *ops, size_t n, txn_check_fn check,
                            void *ctx)
{
    if (n == 0) { /* kv_txn_check: under write_lock, as a commit's check */
        pthread_mutex_lock(&db->write_lock);
        int rc = check(ctx);
        pthread_mutex_unlock(&db->write_lock);
        return rc;
    }
    if (db->opt.read_only)
        return kv_error(KV_ERR_INVALID, "kv_txn_commit: the database was opened read-only");
    return lsm_write(db, "kv_txn_commit", LATENCY_TXN_COMMIT, ops, n, check, ctx);
}

int lsm_write_moved(kv_db *db, const batch_op *op, txn_check_fn check, void *ctx)
{
    return lsm_write_queued(db, "value store", op, 1, check, ctx);
}

int lsm_write_sync_log(kv_db *db, uint64_t *durable)
{
    pthread_mutex_lock(&db->write_lock);
    uint64_t seq = atomic_load_explicit(&db->seq.last, memory_order_relaxed);
    int rc = lsm_refuse_if_failed(db, "value store");
    lsm_wal *cur = db->logs.v[db->logs.n - 1];
    /* The logs before the last were sealed, synced, when it was made. */
    if (rc == KV_OK && !cur->sealed) {
        wal_target t = lsm_target(cur);
        if ((rc = wal_queue_sync(db->commit_queue, &t, "value store")) != KV_OK &&
            wal_queue_failed(db->commit_queue))
            lsm_set_failed(db, kv_errmsg());
    }
    pthread_mutex_unlock(&db->write_lock);
    if (rc == KV_OK)
        *durable = seq;
    return rc;
}

int lsm_write_flush_soon(kv_db *db, uint64_t min_log_bytes)
{
    pthread_mutex_lock(&db->write_lock);
    int asked = 0;
    lsm_wal *cur = db->logs.v[db->logs.n - 1];
    /* Nothing to do, or a failure the users have not heard of yet: theirs
     * to hear, not this call's to take. */
    if (!db->fail.failed && db->fail.bg_error == KV_OK && memtable_entries(db->memtables.mem) > 0 &&
        cur->size >= min_log_bytes)
        asked = lsm_switch(db, "value store") == KV_OK;
    pthread_mutex_unlock(&db->write_lock);
    return asked;
}

/* ---- open and close ------------------------------------------------------------- */

int lsm_write_open(kv_db *db, int sync_dir)
{
    int rc = wal_queue_new(db->dir.path, db->opt.sync, &db->commit_queue);
    /* The log as recovered is synced, so that what recovery cut off stays
     * cut off, and the first group's sync marker can vouch for all of it. */
    lsm_wal *cur = db->logs.v[db->logs.n - 1];
    if (rc == KV_OK && cur->size > LSM_WAL_START && (rc = io_sync(cur->file)) == KV_OK) {
        wal_target t = lsm_target(cur);
        wal_queue_log_synced(db->commit_queue, &t);
    }
    /* Files recovery removed, cut or made stay so. */
    if (rc == KV_OK && sync_dir)
        rc = wal_queue_sync_dir(db->commit_queue, "kv_open");
    if (rc != KV_OK && db->commit_queue != NULL && wal_queue_failed(db->commit_queue))
        lsm_set_failed(db, kv_errmsg());
    return rc;
}

int lsm_write_close(kv_db *db)
{
    if (db->commit_queue == NULL)
        return KV_OK;
    /* A sealed log takes nothing more, not even a marker; after a final
     * failure no marker may claim that anything was synced. */
    lsm_wal *cur = db->logs.n ? db->logs.v[db->logs.n - 1] : NULL;
    int usable = cur != NULL && !cur->sealed && !db->fail.failed;
    wal_target t = usable ? lsm_target(cur) : (wal_target){0};
    int rc = wal_queue_close(db->commit_queue, usable ? &t : NULL, db->count.stats.open_torn_cut > 0);
    db->commit_queue = NULL;
    if (rc != KV_OK)
        kv_error_append(" (kv_close %s: the database is closed, but what it wrote may not "
                        "be on stable storage)", db->dir.path);
    return rc;
}
