/*
 * hash_db.c: stage 02's engine: put, delete, batch, get by one index
 * lookup and one positioned read, roll-over, stats (open and close are in
 * hash_open.c).  The design, its locks and invariants are in hash_db.h;
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
#include "error.h"
#include "record_io.h"
#include "snapshot_iter.h"

uint64_t hash_db_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int hash_db_index_put(kv_db *db, const void *key, size_t klen, const hash_loc *loc)
{
    hash_loc old;
    int replaced = 0;
    int rc = hash_index_put(&db->index, key, klen, loc, &old, &replaced);
    if (rc != KV_OK)
        return rc;
    if (replaced)
        segment_table_find(&db->segs, old.seg)->live_bytes -= old.size;
    segment_table_find(&db->segs, loc->seg)->live_bytes += loc->size;
    return KV_OK;
}

void hash_db_index_remove(kv_db *db, const void *key, size_t klen)
{
    hash_loc old;
    if (hash_index_remove(&db->index, key, klen, &old))
        segment_table_find(&db->segs, old.seg)->live_bytes -= old.size;
}

/* A roll-over that failed may have created its file (an open can fail
 * after the create): remove it, so that no empty segment is left below
 * later ones (it is harmless in stage 02, but stage 03 takes an empty
 * closed segment for a cut one).  Keeps the failure's message; if the
 * unlink fails too, the file stays, and is replaced by the next roll-over
 * to that id or ignored by recovery while it is the last. */
static void hash_db_roll_undo(kv_db *db, uint32_t id)
{
    char msg[512], name[SEGMENT_NAME_MAX];
    snprintf(msg, sizeof msg, "%s", kv_errmsg());
    segment_name(name, id, SEGMENT_SUFFIX);
    char *path = db_dir_file(&db->dir, name);
    if (path != NULL)
        io_unlink(path);
    free(path);
    kv_error(KV_ERR_IO, "%s", msg);
}

int hash_db_roll(kv_db *db, uint64_t id)
{
    if (id > UINT32_MAX)
        return kv_error(KV_ERR_INVALID, "%s: segment ids are used up (the next would be "
                        "%llu); kv_compact cannot help, copy the data to a new database",
                        db->dir.path, (unsigned long long)id);
    /* The segment being closed is synced first, once per segment: a closed
     * segment is then whole on disk, so after a power loss damage in it is
     * real corruption (never a torn tail), and a merge that reads it never
     * makes durable a state older than what it had. */
    int rc = db->active != NULL ? io_sync(db->active->file) : KV_OK;
    if (rc != KV_OK) {
        hash_db_set_failed(db, kv_errmsg());
        return rc;
    }
    /* Then its seal, if the record format has one (record_io.h), synced
     * too, before any later segment exists. */
    uint8_t seal[RECORD_SEAL_MAX];
    size_t n = db->active != NULL ? record_seal(seal, db->active->size) : 0;
    if (n > 0) {
        if ((rc = io_append_bytes(db->active->file, seal, n)) != KV_OK)
            return hash_db_undo_append(db, "roll-over", rc);
        pthread_rwlock_wrlock(&db->index_lock);
        __atomic_store_n(&db->active->size, db->active->size + n, __ATOMIC_RELEASE);
        db->active->live_bytes += n; /* a seal is never garbage: no merge for it */
        pthread_rwlock_unlock(&db->index_lock);
        if ((rc = io_sync(db->active->file)) != KV_OK) {
            hash_db_set_failed(db, kv_errmsg());
            return rc;
        }
    }
    segment *s = NULL;
    rc = segment_create(db->dir.path, (uint32_t)id, &s);
    if (rc == KV_OK) {
        pthread_rwlock_wrlock(&db->index_lock);
        rc = segment_table_reserve(&db->segs, 1);
        if (rc == KV_OK) {
            segment_table_insert(&db->segs, s);
            db->active = s;
            db->next_id = id + 1;
        }
        pthread_rwlock_unlock(&db->index_lock);
        if (rc != KV_OK)
            segment_unref(s);
    }
    if (rc != KV_OK)
        hash_db_roll_undo(db, (uint32_t)id);
    return rc;
}

/* Cuts a write that could not be completed off the active segment, or sets
 * `failed` (invariant 4).  Keeps rc and adds to its message.
 * REQUIRES: write_lock held. */
int hash_db_undo_append(kv_db *db, const char *call, int rc)
{
    char first[512];
    snprintf(first, sizeof first, "%s", kv_errmsg());
    if (io_truncate(db->active->file, db->active->size) != KV_OK) {
        kv_error(rc, "%s: %s; then the partial record could not be cut off (%s): "
                 "writes are refused until the database is reopened", call, first, kv_errmsg());
        hash_db_set_failed(db, kv_errmsg());
        return rc;
    }
    return kv_error(rc, "%s: %s", call, first);
}

void hash_db_set_failed(kv_db *db, const char *why)
{
    if (!db->failed)
        snprintf(db->failure, sizeof db->failure, "%s", why);
    __atomic_store_n(&db->failed, 1, __ATOMIC_RELEASE);
}

int hash_db_refuse_if_failed(kv_db *db, const char *call)
{
    if (!db->failed)
        return KV_OK;
    return kv_error(KV_ERR_IO, "%s: %s: refused since an earlier failure (%s); reopen the "
                    "database", call, db->dir.path, db->failure);
}

int hash_db_make_room(kv_db *db, const char *call, uint64_t bytes)
{
    int rc = hash_db_refuse_if_failed(db, call);
    if (rc != KV_OK)
        return rc;
    if (db->active->size <= SEGMENT_START || db->active->size + bytes <= db->segment_limit)
        return KV_OK;
    rc = hash_db_roll(db, db->next_id);
    if (rc == KV_OK)
        __atomic_add_fetch(&db->rollovers, 1, __ATOMIC_RELAXED);
    return rc;
}

void hash_update_free(hash_update *u)
{
    for (size_t i = 0; u->copies && i < u->n; i++)
        free(u->copies[i]);
    if (u->copies != u->one_copy)
        free(u->copies);
    if (u->locs != u->one_loc)
        free(u->locs);
    u->copies = NULL;
    u->locs = NULL;
}

int hash_update_init(hash_update *u, const char *call, const batch_op *ops, size_t n)
{
    memset(u, 0, sizeof *u);
    u->ops = ops;
    u->n = n;
    u->copies = n == 1 ? u->one_copy : calloc(n, sizeof *u->copies);
    u->locs = n == 1 ? u->one_loc : calloc(n, sizeof *u->locs);
    int nomem = u->copies == NULL || u->locs == NULL;
    for (size_t i = 0; i < n && !nomem; i++) {
        u->deletes += (uint64_t)ops[i].is_delete;
        if (!ops[i].is_delete) {
            nomem = (u->copies[i] = malloc(ops[i].klen)) == NULL;
            if (!nomem)
                memcpy(u->copies[i], ops[i].key, ops[i].klen);
        }
    }
    if (nomem) {
        hash_update_free(u);
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for %zu records", call, n);
    }
    return KV_OK;
}

int hash_update_reserve(kv_db *db, const hash_update *u)
{
    pthread_rwlock_wrlock(&db->index_lock);
    int rc = hash_index_reserve(&db->index, u->n - u->deletes);
    pthread_rwlock_unlock(&db->index_lock);
    return rc;
}

void hash_update_apply(kv_db *db, segment *seg, hash_update *u, uint64_t end)
{
    pthread_rwlock_wrlock(&db->index_lock);
    for (size_t i = 0; i < u->n; i++) {
        const batch_op *op = &u->ops[i];
        hash_loc old;
        int replaced = 0;
        hash_snapshot_note(db, op->key, op->klen);
        if (op->is_delete) {
            replaced = hash_index_remove(&db->index, op->key, op->klen, &old);
        } else {
            hash_index_adopt(&db->index, u->copies[i], op->klen, &u->locs[i], &old, &replaced);
            u->copies[i] = NULL;
            seg->live_bytes += u->locs[i].size;
        }
        if (replaced)
            segment_table_find(&db->segs, old.seg)->live_bytes -= old.size;
    }
    __atomic_store_n(&seg->size, end, __ATOMIC_RELEASE);
    pthread_rwlock_unlock(&db->index_lock);
    __atomic_add_fetch(&db->puts, u->n - u->deletes, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->deletes, u->deletes, __ATOMIC_RELAXED);
}

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
    return hash_write(db, "kv_put", &op, 1, NULL, NULL);
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
    return hash_write(db, "kv_delete", &op, 1, NULL, NULL);
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
    else if (n > 0)
        rc = hash_write(db, "kv_write", ops, n, NULL, NULL);
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
    return hash_write(db, "kv_txn_commit", ops, n, check, ctx);
}

/* The lesson of this stage: one lookup in memory, one read from disk. */
int kv_get(kv_db *db, const void *key, size_t klen, void **val, size_t *vlen)
{
    int rc = args_check_get(db, key, klen, val, vlen);
    if (rc != KV_OK)
        return rc;
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

    rc = hash_db_read_value(seg, &loc, key, klen, val, vlen);
    segment_unref(seg);
    return rc;
}

int hash_db_read_value(segment *seg, const hash_loc *loc, const void *key, size_t klen,
                       void **val, size_t *vlen)
{
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    const uint8_t *value = NULL;
    int rc = record_read_value(seg->file, __atomic_load_n(&seg->size, __ATOMIC_ACQUIRE), loc,
                               key, klen, &buf, &cap, &value, &n);
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
        "%s",
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
        __atomic_load_n(&db->failed, __ATOMIC_ACQUIRE), more);
    free(more);
    if (n < 0)
        return kv_error(KV_ERR_NOMEM, "kv_stats: out of memory");
    *text = out;
    return KV_OK;
}
