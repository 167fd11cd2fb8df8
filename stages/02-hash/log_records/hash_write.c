/*
 * hash_write.c: stage 02's write path (hash_db.h, "The write path").  A
 * put, a delete or a whole batch is one write() of its records
 * (common/log_record.h) to the active segment, under write_lock, then one
 * update of the index.  Nothing is synced: kv_options.sync is ignored in
 * this stage.  The writer's state is what it counted: appends (one per
 * call, however many records a batch holds) and the bytes they wrote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash_db.h"
#include "hash_write.h"
#include "log_record.h"

struct hash_writer {
    /* Changed under write_lock, read with __atomic. */
    uint64_t appends, bytes;
};

/* The records of a write: one header per op, and iovecs that lay out
 * header, key and value of each, end to end. */
typedef struct hash_write_records {
    uint8_t one_header[LOG_RECORD_HEADER];
    struct iovec one_iov[3];
    uint8_t *headers;
    struct iovec *iov;
    uint64_t total;
} hash_write_records;

static void hash_write_records_free(hash_write_records *r)
{
    if (r->headers != r->one_header)
        free(r->headers);
    if (r->iov != r->one_iov)
        free(r->iov);
}

static int hash_write_records_make(hash_write_records *r, const char *call,
                                   const batch_op *ops, size_t n)
{
    memset(r, 0, sizeof *r);
    r->headers = n == 1 ? r->one_header : malloc(n * LOG_RECORD_HEADER);
    r->iov = n == 1 ? r->one_iov : malloc(3 * n * sizeof *r->iov);
    if (r->headers == NULL || r->iov == NULL) {
        hash_write_records_free(r);
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for %zu records", call, n);
    }
    for (size_t i = 0; i < n; i++) {
        const batch_op *op = &ops[i];
        uint8_t *h = r->headers + i * LOG_RECORD_HEADER;
        log_record_header(h, op->key, op->klen, op->val, op->vlen, op->is_delete);
        r->iov[3 * i] = (struct iovec){.iov_base = h, .iov_len = LOG_RECORD_HEADER};
        r->iov[3 * i + 1] = (struct iovec){.iov_base = (void *)op->key, .iov_len = op->klen};
        r->iov[3 * i + 2] = (struct iovec){.iov_base = (void *)op->val,
                                           .iov_len = op->is_delete ? 0 : op->vlen};
        r->total += log_record_size(op->klen, op->vlen, op->is_delete);
    }
    return KV_OK;
}

/* Appends the records with a single write, then points the index at them.
 * REQUIRES: write_lock held. */
static int hash_write_locked(kv_db *db, const char *call, hash_write_records *r,
                             hash_update *u)
{
    int rc = hash_db_make_room(db, call, r->total);
    if (rc == KV_OK)
        rc = hash_update_reserve(db, u);
    if (rc != KV_OK)
        return rc;
    segment *seg = db->active;
    if ((rc = io_append(seg->file, r->iov, (int)(3 * u->n))) != KV_OK)
        return hash_db_undo_append(db, call, rc);
    uint64_t offset = seg->size;
    for (size_t i = 0; i < u->n; i++) {
        const batch_op *op = &u->ops[i];
        uint64_t size = log_record_size(op->klen, op->vlen, op->is_delete);
        u->locs[i] = (hash_loc){.offset = offset, .seg = seg->id, .size = (uint32_t)size};
        offset += size;
    }
    hash_update_apply(db, seg, u, offset);
    __atomic_add_fetch(&db->writer->appends, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->writer->bytes, r->total, __ATOMIC_RELAXED);
    return KV_OK;
}

int hash_write(kv_db *db, const char *call, const batch_op *ops, size_t n, txn_check_fn check,
               void *ctx)
{
    hash_write_records r;
    hash_update u;
    int rc = hash_write_records_make(&r, call, ops, n);
    if (rc != KV_OK)
        return rc;
    if ((rc = hash_update_init(&u, call, ops, n)) != KV_OK) {
        hash_write_records_free(&r);
        return rc;
    }
    pthread_mutex_lock(&db->write_lock);
    int absent = 0;
    if (check != NULL && !db->failed && (rc = check(ctx)) != KV_OK) {
        pthread_mutex_unlock(&db->write_lock); /* refused: nothing written */
        hash_update_free(&u);
        hash_write_records_free(&r);
        return rc;
    }
    if (n == 1 && ops[0].is_delete) {
        /* The index knows every live key: deleting an absent one writes
         * nothing.  (write_lock keeps the answer true until we act on it.) */
        pthread_rwlock_rdlock(&db->index_lock);
        absent = hash_index_find(&db->index, ops[0].key, ops[0].klen) == NULL;
        pthread_rwlock_unlock(&db->index_lock);
    }
    if (!absent || db->failed)
        rc = hash_write_locked(db, call, &r, &u);
    pthread_mutex_unlock(&db->write_lock);
    hash_update_free(&u);
    hash_write_records_free(&r);
    return rc;
}

int hash_write_open(kv_db *db)
{
    db->writer = calloc(1, sizeof *db->writer);
    if (db->writer == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", db->dir.path);
    return KV_OK;
}

int hash_write_close(kv_db *db)
{
    free(db->writer);
    db->writer = NULL;
    return KV_OK;
}

int hash_write_stats(kv_db *db, char **text)
{
    struct hash_writer *w = db->writer;
    int n = asprintf(text,
        "session.write.appends: %llu\n"
        "session.write.bytes: %llu\n"
        "durability: writes reach the OS before returning; no fsync of writes "
        "(kv_options.sync is ignored in this stage); kv_compact syncs what it writes\n",
        (unsigned long long)__atomic_load_n(&w->appends, __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&w->bytes, __ATOMIC_RELAXED));
    return n < 0 ? kv_error(KV_ERR_NOMEM, "kv_stats: out of memory") : KV_OK;
}
