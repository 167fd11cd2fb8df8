/*
 * lsm_iter.c: kv_iter for stage 04: the user's view (user_iter.h) at a
 * sequence number, over a merging iterator (merge_iter.h) of every source
 * in the view: mem, imm, and each table, newest first.  It streams: it
 * holds one entry per source, never the whole set of keys.  It holds the
 * view it was made from until it is freed, so a flush or a compaction that
 * replaces the view's memtables or tables leaves the iterator reading what
 * it started with (a table's file stays until no version holds it), and
 * kv_compact may drop what only this iterator could see.
 */
#include <stdlib.h>

#include "args.h"
#include "error.h"
#include "lsm_db.h"
#include "lsm_elsewhere.h"
#include "lsm_iter_ahead.h"
#include "merge_iter.h"
#include "user_iter.h"
#include "value_store_tools.h"

struct kv_iter {
    kv_db *db;
    lsm_view *view;     /* what it reads: held until it is freed */
    uint64_t pin;       /* the value store's, taken before the view */
    iter *u;            /* user keys, at the iterator's sequence number */
    int status;         /* a bad argument to kv_iter_seek, or a value that
                           could not be loaded */
    value_buf buf;      /* a value loaded from where the store keeps it */
    lsm_ahead ahead;    /* a forward scan's next entries, their values read
                           together (lsm_iter_ahead.h): open only where
                           values are kept elsewhere */
};

static int lsm_iter_open(const char *call, kv_db *db, const kv_snapshot *snap, kv_iter **out)
{
    int rc;
    if ((rc = args_check_ptr(call, db, "db")) != KV_OK ||
        (rc = args_check_ptr(call, out, "iterator pointer")) != KV_OK)
        return rc;
    *out = NULL;
    if (snap != NULL && snap->db != db)
        return kv_error(KV_ERR_INVALID, "%s: the snapshot belongs to another database", call);
    uint64_t seq = 0;
    uint64_t pin = value_store_pin(db->values.store); /* before the view (value_store.h) */
    lsm_view *v = lsm_view_get(db, snap ? NULL : &seq);
    if (snap != NULL)
        seq = snap->seq;
    kv_iter *it = calloc(1, sizeof *it);
    iter **children = NULL;
    size_t n = 0;
    iter *merged = NULL;
    if (it == NULL)
        rc = kv_error(KV_ERR_NOMEM, "%s: out of memory", call);
    else
        rc = lsm_view_iters(v, &children, &n);
    /* merge_iter_new and user_iter_new own what they are given, also when
     * they fail. */
    if (rc == KV_OK && (rc = merge_iter_new(children, n, &merged)) == KV_OK)
        rc = user_iter_new(merged, seq, &it->u);
    free(children);
    if (rc != KV_OK) {
        lsm_view_unref(v);
        value_store_unpin(db->values.store, pin);
        free(it);
        return rc;
    }
    it->db = db;
    it->view = v;
    it->pin = pin;
    atomic_fetch_add_explicit(&db->snaps.live, 1, memory_order_relaxed);
    *out = it;
    return KV_OK;
}

int kv_iter_new(kv_db *db, kv_iter **it) { return lsm_iter_open("kv_iter_new", db, NULL, it); }

int kv_iter_new_at(kv_db *db, const kv_snapshot *snap, kv_iter **it)
{
    return lsm_iter_open("kv_iter_new_at", db, snap, it);
}

/* Seeks and steps are timed: one in 8 and one in 16 (latency.h). */
void kv_iter_seek_first(kv_iter *it)
{
    if (it != NULL && it->status == KV_OK) {
        uint64_t t0 = latency_call_start(LATENCY_ITER_SEEK);
        lsm_ahead_close(&it->ahead, it->u, it->db->values.store, 0);
        iter_seek_first(it->u);
        latency_call_record(&it->db->count.stats.lat, LATENCY_ITER_SEEK, t0);
    }
}

void kv_iter_seek_last(kv_iter *it)
{
    if (it != NULL && it->status == KV_OK) {
        uint64_t t0 = latency_call_start(LATENCY_ITER_SEEK);
        lsm_ahead_close(&it->ahead, it->u, it->db->values.store, 0);
        iter_seek_last(it->u);
        latency_call_record(&it->db->count.stats.lat, LATENCY_ITER_SEEK, t0);
    }
}

void kv_iter_seek(kv_iter *it, const void *key, size_t klen)
{
    if (it == NULL || it->status != KV_OK)
        return;
    if (key == NULL && klen > 0) {
        it->status = args_check_ptr("kv_iter_seek", key, "key");
        return;
    }
    uint64_t t0 = latency_call_start(LATENCY_ITER_SEEK);
    lsm_ahead_close(&it->ahead, it->u, it->db->values.store, 0);
    if (klen == 0)
        iter_seek_first(it->u); /* every key is >= the empty key */
    else
        iter_seek(it->u, key, klen);
    latency_call_record(&it->db->count.stats.lat, LATENCY_ITER_SEEK, t0);
}

int kv_iter_valid(const kv_iter *it)
{
    return it != NULL && it->status == KV_OK && (it->ahead.n > 0 || iter_valid(it->u));
}

void kv_iter_next(kv_iter *it)
{
    if (!kv_iter_valid(it))
        return;
    uint64_t t0 = latency_call_start(LATENCY_ITER_NEXT);
    lsm_ahead *a = &it->ahead;
    int rc = KV_OK;
    if (a->n > 0) { /* in the window: its next entry, or the next window */
        if (++a->at == a->n) {
            a->n = a->at = 0;
            rc = lsm_ahead_fill(a, it->u, it->db->values.store);
        }
    } else if (lsm_ahead_wanted(a, it->u, it->db->values.store)) {
        /* a scan of values kept elsewhere */
        iter_next(it->u);
        rc = lsm_ahead_fill(a, it->u, it->db->values.store);
    } else {
        iter_next(it->u);
    }
    if (rc != KV_OK)
        it->status = rc;
    latency_call_record(&it->db->count.stats.lat, LATENCY_ITER_NEXT, t0);
}

void kv_iter_prev(kv_iter *it)
{
    if (kv_iter_valid(it)) {
        uint64_t t0 = latency_call_start(LATENCY_ITER_NEXT);
        lsm_ahead_close(&it->ahead, it->u, it->db->values.store, 1);
        iter_prev(it->u);
        latency_call_record(&it->db->count.stats.lat, LATENCY_ITER_NEXT, t0);
    }
}

const void *kv_iter_key(const kv_iter *it, size_t *klen)
{
    size_t n = 0;
    const void *k = NULL;
    if (kv_iter_valid(it) && it->ahead.n > 0) {
        k = it->ahead.e[it->ahead.at].key;
        n = it->ahead.e[it->ahead.at].klen;
    } else if (kv_iter_valid(it)) {
        k = iter_key(it->u, &n);
    }
    if (klen)
        *klen = n;
    return k;
}

const void *kv_iter_value(const kv_iter *it, size_t *vlen)
{
    size_t n = 0;
    const void *v = NULL;
    if (kv_iter_valid(it) && it->ahead.n > 0) {
        int rc = KV_OK;
        v = lsm_ahead_value((lsm_ahead *)&it->ahead, it->db->values.store, &n, &rc);
        if (rc != KV_OK)
            ((kv_iter *)it)->status = rc;
        else if (v == NULL)
            v = ""; /* an empty value */
    } else if (kv_iter_valid(it)) {
        v = iter_value(it->u, &n);
        if (user_iter_elsewhere(it->u)) {
            /* Where the value store keeps it: loaded into the iterator's
             * buffer (the value is the iterator's until it moves). */
            kv_iter *self = (kv_iter *)it;
            const uint8_t *loaded = NULL;
            int rc = value_store_load(self->db->values.store, v, n, &self->buf, &loaded, &n);
            if (rc != KV_OK) {
                self->status = rc;
                n = 0;
                loaded = NULL;
            }
            v = loaded;
        }
        if (v == NULL && kv_iter_valid(it))
            v = ""; /* an empty value the view holds no bytes for */
    }
    if (vlen)
        *vlen = n;
    return v;
}

int lsm_iter_elsewhere(const kv_iter *it)
{
    if (!kv_iter_valid(it))
        return 0;
    if (it->ahead.n > 0)
        return it->ahead.e[it->ahead.at].elsewhere;
    return user_iter_elsewhere(it->u);
}

int kv_iter_status(const kv_iter *it)
{
    if (it == NULL)
        return kv_error(KV_ERR_INVALID, "kv_iter_status: the iterator is NULL");
    return it->status != KV_OK ? it->status : iter_status(it->u);
}

void kv_iter_free(kv_iter *it)
{
    if (it == NULL)
        return;
    iter_free(it->u);
    lsm_ahead_free(&it->ahead, it->db->values.store);
    lsm_view_unref(it->view);
    value_store_unpin(it->db->values.store, it->pin);
    value_buf_free(&it->buf);
    atomic_fetch_sub_explicit(&it->db->snaps.live, 1, memory_order_release);
    free(it);
}
