/*
 * hash_db.c: stage 02's engine: put, delete, batch, get by one index
 * lookup and one positioned read, stats (open and close are in
 * hash_open.c; what a write does to the segments and the index, whichever
 * write path wrote its record, in hash_apply.c).  The design, its locks and invariants are in hash_db.h;
 * the formats in docs/02-hash.md.
 */
#include "hash_db.h"
#include "hash_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "batch.h"
#include "cost.h"
#include "error.h"
#include "record_io.h"
#include "snapshot_iter.h"

latency_set *snapshot_latency(kv_db *db) { return &db->lat; }

int kv_put(kv_db *db, const void *key, size_t klen, const void *val, size_t vlen)
{
    int rc;
    if ((rc = args_check_ptr("kv_put", db, "db")) != KV_OK ||
        (rc = args_check_key("kv_put", key, klen)) != KV_OK ||
        (rc = args_check_value("kv_put", val, vlen)) != KV_OK)
        return rc;
    batch_op op = {.key = key, .klen = klen, .val = val ? val : "", .vlen = vlen};
    if (db->opt.read_only)
        return kv_error(KV_ERR_INVALID, "kv_put: the database was opened read-only");
    uint64_t t0 = latency_call_start(LATENCY_PUT);
    rc = hash_write(db, "kv_put", &op, 1, NULL, NULL);
    latency_call_record(&db->lat, LATENCY_PUT, t0);
    return rc;
}

int kv_delete(kv_db *db, const void *key, size_t klen)
{
    int rc;
    if ((rc = args_check_ptr("kv_delete", db, "db")) != KV_OK ||
        (rc = args_check_key("kv_delete", key, klen)) != KV_OK)
        return rc;
    batch_op op = {.is_delete = 1, .key = key, .klen = klen};
    if (db->opt.read_only)
        return kv_error(KV_ERR_INVALID, "kv_delete: the database was opened read-only");
    uint64_t t0 = latency_call_start(LATENCY_DELETE);
    rc = hash_write(db, "kv_delete", &op, 1, NULL, NULL);
    latency_call_record(&db->lat, LATENCY_DELETE, t0);
    return rc;
}

/* A batch is one hash_write: one write of all its records, and one update
 * of the index that readers see at once.  What a crash can do to it is the
 * write path's business (stage 02: a kill or power loss can cut it short,
 * and recovery keeps the records that are whole; stage 03: all or nothing). */
int kv_write(kv_db *db, const kv_batch *b)
{
    batch_op *ops = NULL;
    size_t n = 0;
    int rc = batch_ops_for_write(db, b, &ops, &n);
    if (rc != KV_OK)
        return rc;
    if (db->opt.read_only)
        rc = kv_error(KV_ERR_INVALID, "kv_write: the database was opened read-only");
    else if (n > 0) {
        uint64_t t0 = latency_start();
        rc = hash_write(db, "kv_write", ops, n, NULL, NULL);
        latency_record(&db->lat, LATENCY_BATCH, t0);
    }
    free(ops);
    return rc;
}

/* A transaction's commit (common/txn.h): its batch, if its check passes. */
int txn_stage_write_checked(kv_db *db, const batch_op *ops, size_t n, txn_check_fn check,
                            void *ctx)
{
    if (n == 0) { /* kv_txn_check: under the lock a commit's check runs under */
        pthread_mutex_lock(&db->write_lock);
        int rc = check(ctx);
        pthread_mutex_unlock(&db->write_lock);
        return rc;
    }
    if (db->opt.read_only)
        return kv_error(KV_ERR_INVALID, "kv_txn_commit: the database was opened read-only");
    uint64_t t0 = latency_start();
    int rc = hash_write(db, "kv_txn_commit", ops, n, check, ctx);
    latency_record(&db->lat, LATENCY_TXN_COMMIT, t0);
    return rc;
}

/* The lesson of this stage: one lookup in memory, one read from disk. */
static int hash_db_get(kv_db *db, const void *key, size_t klen, void **val, size_t *vlen)
{
    __atomic_add_fetch(&db->gets, 1, __ATOMIC_RELAXED);
    pthread_rwlock_rdlock(&db->index_lock);
    const hash_loc *found = hash_index_find(&db->index, key, klen);
    hash_loc loc = found ? *found : (hash_loc){0};
    segment *seg = found ? segment_table_find(&db->segs, loc.seg) : NULL;
    if (seg)
        segment_ref(seg); /* keeps the file open if a merge drops it now */
    pthread_rwlock_unlock(&db->index_lock);
    if (seg == NULL)
        return KV_NOT_FOUND;

    int rc = hash_db_read_value(seg, &loc, key, klen, val, vlen);
    segment_unref(seg);
    return rc;
}

int kv_get(kv_db *db, const void *key, size_t klen, void **val, size_t *vlen)
{
    int rc = args_check_get(db, key, klen, val, vlen);
    if (rc != KV_OK)
        return rc;
    cost_mark m = cost_begin(); /* its time and reads (common/cost.h) */
    rc = hash_db_get(db, key, klen, val, vlen);
    cost_end_get(&m, &db->lat);
    return rc;
}

int hash_db_read_value(segment *seg, const hash_loc *loc, const void *key, size_t klen,
                       void **val, size_t *vlen)
{
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    const uint8_t *value = NULL;
    int rc = record_read_value(segment_reader(seg), __atomic_load_n(&seg->size, __ATOMIC_ACQUIRE),
                               loc, key, klen, &buf, &cap, &value, &n);
    if (rc != KV_OK) {
        free(buf);
        return rc;
    }
    /* Hand back just the value: move it to the front of the buffer. */
    memmove(buf, value, n);
    uint8_t *small = realloc(buf, n ? n : 1);
    *val = small ? small : buf;
    *vlen = n;
    return KV_OK;
}

int kv_stats(kv_db *db, char **text)
{
    int rc;
    if ((rc = args_check_ptr("kv_stats", db, "db")) != KV_OK ||
        (rc = args_check_ptr("kv_stats", text, "text pointer")) != KV_OK)
        return rc;
    pthread_rwlock_rdlock(&db->index_lock);
    uint64_t disk = 0, live = 0;
    for (size_t i = 0; i < db->segs.n; i++) {
        disk += __atomic_load_n(&db->segs.v[i]->size, __ATOMIC_ACQUIRE);
        live += db->segs.v[i]->live_bytes;
    }
    size_t nsegs = db->segs.n;
    uint32_t active = db->active ? db->active->id : 0;
    uint64_t keys = db->index.count, index_bytes = hash_index_bytes(&db->index);
    uint64_t slots = db->index.cap, layers = 0, saved = 0;
    hash_snapshot_count(db, &layers, &saved);
    pthread_rwlock_unlock(&db->index_lock);

    char *more = NULL;
    if ((rc = hash_write_stats(db, &more)) != KV_OK)
        return rc;
    stats_text io = {0}; /* the I/O backend's line */
    db_dir_stats(&db->dir, &io);
    if (io.failed) {
        free(io.p);
        free(more);
        return kv_error(KV_ERR_NOMEM, "kv_stats: out of memory");
    }
    double open_ms = (double)db->open_us / 1000.0;
    double ms_per_gb = db->open_bytes_read ? open_ms * 1e9 / (double)db->open_bytes_read : 0.0;
    char *out = NULL;
    int n = asprintf(&out,
        "stage: %s\n"
        "dir: %s\n"
        "segments.count: %zu\n"
        "segments.active_id: %u\n"
        "segments.limit_bytes: %llu\n"
        "segments.bytes: %llu\n"
        "live.keys: %llu\n"
        "live.bytes: %llu\n"
        "dead.bytes: %llu\n"
        "index.slots: %llu\n"
        "index.bytes: %llu\n"
        "index.bytes_per_key: %.1f\n"
        "snapshots.live: %llu\n"
        "snapshots.layers: %llu\n"
        "snapshots.saved_places: %llu\n"
        "open.bytes_read: %llu\n"
        "open.records: %llu\n"
        "open.segments_scanned: %llu\n"
        "open.segments_from_hint: %llu\n"
        "open.hints_rejected: %llu\n"
        "open.leftovers_removed: %llu\n"
        "open.torn_tail_bytes_found: %llu\n"
        "open.torn_tail_bytes_cut: %llu\n"
        "open.tail_cut_hid_valid_records: %llu\n"
        "open.ms: %.3f\n"
        "open.ms_per_gb: %.1f\n"
        "session.puts: %llu\n"
        "session.deletes: %llu\n"
        "session.gets: %llu\n"
        "session.rollovers: %llu\n"
        "session.merges: %llu\n"
        "session.merge_bytes_read: %llu\n"
        "session.merge_bytes_written: %llu\n"
        "session.merge_ms: %.3f\n"
        "write.failed: %d\n"
        "%s%s",
        kv_stage(), db->dir.path, nsegs, active, (unsigned long long)db->segment_limit,
        (unsigned long long)disk, (unsigned long long)keys, (unsigned long long)live,
        (unsigned long long)(disk - live), (unsigned long long)slots,
        (unsigned long long)index_bytes, keys ? (double)index_bytes / (double)keys : 0.0,
        (unsigned long long)__atomic_load_n(&db->snapshots_live, __ATOMIC_ACQUIRE),
        (unsigned long long)layers, (unsigned long long)saved,
        (unsigned long long)db->open_bytes_read, (unsigned long long)db->open_records,
        (unsigned long long)db->open_segments_scanned,
        (unsigned long long)db->open_segments_from_hint,
        (unsigned long long)db->open_hints_rejected,
        (unsigned long long)db->open_leftovers_removed,
        (unsigned long long)db->open_torn_bytes,
        (unsigned long long)(db->opt.read_only ? 0 : db->open_torn_bytes),
        (unsigned long long)(db->opt.read_only ? 0 : db->open_tail_records_dropped), open_ms,
        ms_per_gb,
        (unsigned long long)__atomic_load_n(&db->puts, __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&db->deletes, __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&db->gets, __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&db->rollovers, __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&db->merges, __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&db->merge_bytes_read, __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&db->merge_bytes_written, __ATOMIC_RELAXED),
        (double)__atomic_load_n(&db->merge_us, __ATOMIC_RELAXED) / 1000.0,
        __atomic_load_n(&db->failed, __ATOMIC_ACQUIRE), more, io.p != NULL ? io.p : "");
    free(more);
    free(io.p);
    if (n < 0)
        return kv_error(KV_ERR_NOMEM, "kv_stats: out of memory");
    if ((rc = latency_stats_append(&out, &db->lat,
                                   LATENCY_CALLS | LATENCY_MASK(LATENCY_COMPACT))) != KV_OK)
        return rc;
    *text = out;
    return KV_OK;
}
