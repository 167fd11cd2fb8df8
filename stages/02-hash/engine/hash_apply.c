/*
 * hash_apply.c: what a write does to stage 02's database, whichever write
 * path wrote its record (hash_write.h: stage 02's hash_write.c, stage 03's
 * hash_write_wal.c): room made in the active segment (the roll-over to a
 * new one), an append that failed undone, a final failure kept, and the
 * index pointed at each op of a record (hash_update).  The design, its
 * locks and invariants are in hash_db.h.
 */
#include "hash_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "error.h"
#include "record_io.h"

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
            if (db->active != NULL)
                segment_settle(db->active); /* sealed above: read it mapped */
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

