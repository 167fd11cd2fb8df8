/*
 * snapshot_iter.c: kv.h's snapshot calls over the stage's snapshots, and
 * the kv_iter that walks a sorted copy (see snapshot_iter.h; the copies
 * are snapshot_copy.c's).
 */
#include "snapshot_iter.h"

#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cost.h"
#include "error.h"
#include "snapshot_copy.h"

/* kv.h's snapshot: the stage's, which the copies of kv_iter_new_at come
 * from. */
struct kv_snapshot {
    kv_db *db;                 /* the database it belongs to */
    snapshot_view view;
};

struct kv_iter {
    snapshot_copy *snap;       /* one reference */
    latency_set *lat;          /* its database's (snapshot_latency) */
    size_t pos;                /* snap->count = not valid */
    int status;
    uint8_t *buf;              /* the last value read, for kv_iter_value */
    size_t cap;
};

/* ---- snapshots ---------------------------------------------------------- */

int kv_snapshot_new(kv_db *db, const kv_snapshot **snap)
{
    int rc;
    if ((rc = args_check_ptr("kv_snapshot_new", db, "db")) != KV_OK ||
        (rc = args_check_ptr("kv_snapshot_new", snap, "snapshot pointer")) != KV_OK)
        return rc;
    *snap = NULL;
    kv_snapshot *s = calloc(1, sizeof *s);
    if (s == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_snapshot_new: out of memory");
    if ((rc = snapshot_open(db, "kv_snapshot_new", &s->view)) != KV_OK) {
        free(s);
        return rc;
    }
    s->db = db;
    __atomic_add_fetch(s->view.live, 1, __ATOMIC_RELAXED);
    *snap = s;
    return KV_OK;
}

void kv_snapshot_free(kv_db *db, const kv_snapshot *snap)
{
    /* Another database's snapshot stays live: its kv_close will say so. */
    if (snap == NULL || snap->db != db)
        return;
    kv_snapshot *s = (kv_snapshot *)snap;
    uint64_t *live = s->view.live;
    s->view.release(s->view.ctx);
    free(s);
    __atomic_sub_fetch(live, 1, __ATOMIC_RELEASE); /* last: kv_close may run now */
}

static int snapshot_check_owner(const char *call, kv_db *db, const kv_snapshot *snap)
{
    if (snap->db != db)
        return kv_error(KV_ERR_INVALID, "%s: the snapshot belongs to another database", call);
    return KV_OK;
}

int kv_get_at(kv_db *db, const kv_snapshot *snap, const void *key, size_t klen, void **val,
              size_t *vlen)
{
    int rc = args_check_get_at(db, snap, key, klen, val, vlen);
    if (rc == KV_OK)
        rc = snapshot_check_owner("kv_get_at", db, snap);
    if (rc != KV_OK)
        return rc;
    cost_mark m = cost_begin(); /* its time and reads (common/cost.h) */
    rc = snap->view.get(snap->view.ctx, key, klen, val, vlen);
    cost_end_get(&m, snapshot_latency(db));
    return rc;
}

/* ---- iterators ---------------------------------------------------------- */

static int snapshot_iter_open(const char *call, kv_db *db, const kv_snapshot *snap,
                              kv_iter **out)
{
    int rc;
    if ((rc = args_check_ptr(call, db, "db")) != KV_OK ||
        (rc = args_check_ptr(call, out, "iterator pointer")) != KV_OK)
        return rc;
    *out = NULL;
    if (snap != NULL && (rc = snapshot_check_owner(call, db, snap)) != KV_OK)
        return rc;
    kv_iter *it = calloc(1, sizeof *it);
    if (it == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", call);
    if (snap != NULL)
        rc = snap->view.capture(snap->view.ctx, call, &it->snap);
    else
        rc = snapshot_capture(db, call, &it->snap);
    if (rc != KV_OK) {
        free(it);
        return rc;
    }
    it->pos = it->snap->count;
    it->lat = snapshot_latency(db);
    *out = it;
    return KV_OK;
}

int kv_iter_new(kv_db *db, kv_iter **it) { return snapshot_iter_open("kv_iter_new", db, NULL, it); }

int kv_iter_new_at(kv_db *db, const kv_snapshot *snap, kv_iter **it)
{
    return snapshot_iter_open("kv_iter_new_at", db, snap, it);
}

/* Seeks and steps are timed: one in 8 and one in 16 (common/latency.h). */
void kv_iter_seek_first(kv_iter *it)
{
    if (it != NULL) {
        uint64_t t0 = latency_call_start(LATENCY_ITER_SEEK);
        it->pos = 0;
        latency_call_record(it->lat, LATENCY_ITER_SEEK, t0);
    }
}

void kv_iter_seek_last(kv_iter *it)
{
    if (it != NULL) {
        uint64_t t0 = latency_call_start(LATENCY_ITER_SEEK);
        it->pos = it->snap->count ? it->snap->count - 1 : 0;
        latency_call_record(it->lat, LATENCY_ITER_SEEK, t0);
    }
}

void kv_iter_seek(kv_iter *it, const void *key, size_t klen)
{
    if (it == NULL)
        return;
    if (key == NULL && klen > 0) {
        it->status = args_check_ptr("kv_iter_seek", key, "key");
        it->pos = it->snap->count;
        return;
    }
    uint64_t t0 = latency_call_start(LATENCY_ITER_SEEK);
    it->pos = snapshot_copy_lower_bound(it->snap, key, klen);
    latency_call_record(it->lat, LATENCY_ITER_SEEK, t0);
}

int kv_iter_valid(const kv_iter *it)
{
    return it != NULL && it->status == KV_OK && it->pos < it->snap->count;
}

void kv_iter_next(kv_iter *it)
{
    if (kv_iter_valid(it)) {
        uint64_t t0 = latency_call_start(LATENCY_ITER_NEXT);
        it->pos++;
        latency_call_record(it->lat, LATENCY_ITER_NEXT, t0);
    }
}

void kv_iter_prev(kv_iter *it)
{
    if (kv_iter_valid(it)) {
        uint64_t t0 = latency_call_start(LATENCY_ITER_NEXT);
        it->pos = it->pos > 0 ? it->pos - 1 : it->snap->count;
        latency_call_record(it->lat, LATENCY_ITER_NEXT, t0);
    }
}

const void *kv_iter_key(const kv_iter *it, size_t *klen)
{
    if (!kv_iter_valid(it)) {
        if (klen)
            *klen = 0;
        return NULL;
    }
    const snapshot_entry *e = &it->snap->entries[it->pos];
    if (klen)
        *klen = e->klen;
    return it->snap->arena + e->key_off;
}

const void *kv_iter_value(const kv_iter *it, size_t *vlen)
{
    if (vlen)
        *vlen = 0;
    if (!kv_iter_valid(it))
        return NULL;
    kv_iter *mut = (kv_iter *)it; /* reading a value fills the iterator's buffer */
    const snapshot_copy *s = it->snap;
    const void *val = NULL;
    size_t n = 0, klen = 0;
    const void *key = kv_iter_key(it, &klen);
    int rc = s->src.read_value(s->src.ctx, &s->entries[it->pos].loc, key, klen, &mut->buf,
                               &mut->cap, &val, &n);
    if (rc != KV_OK) {
        mut->status = rc;
        return NULL;
    }
    if (vlen)
        *vlen = n;
    return val;
}

int kv_iter_status(const kv_iter *it)
{
    return it == NULL ? KV_ERR_INVALID : it->status;
}

void kv_iter_free(kv_iter *it)
{
    if (it == NULL)
        return;
    snapshot_copy_unref(it->snap);
    free(it->buf);
    free(it);
}
