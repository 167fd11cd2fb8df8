/*
 * hash_iter.c: snapshots for stage 02 (snapshot_capture, from stage 01's
 * snapshot_iter.h, which also gives kv_get_at and the iterator).  The index
 * has no order, so a snapshot is a sorted copy: under the index lock, copy
 * every live key with its place and take a reference on every segment;
 * then, without the lock, sort.  That costs O(n log n) time and a copy of
 * every key per snapshot (and per kv_iter_new): the lesson of an unordered
 * index (docs/02-hash.md measures it; stage 04 keeps keys sorted instead).
 *
 * The snapshot stays readable whatever happens next: later writes go to new
 * places, and a merge that drops a segment the snapshot points into only
 * unlinks its file, which stays open until the snapshot's reference is
 * dropped (segment.h).
 */
#include <stdlib.h>

#include "error.h"
#include "hash_db.h"
#include "record_io.h"
#include "snapshot_iter.h"

typedef struct hash_snapshot_source {
    segment **segs;     /* every segment when it was taken, ids ascending, one ref each */
    size_t nsegs;
} hash_snapshot_source;

static int hash_iter_read_value(void *ctx, const snapshot_loc *loc, const void *key,
                                size_t klen, uint8_t **buf, size_t *cap, const void **val,
                                size_t *vlen)
{
    hash_snapshot_source *src = ctx;
    segment_table t = {.v = src->segs, .n = src->nsegs, .cap = src->nsegs};
    const segment *seg = segment_table_find(&t, loc->file);
    hash_loc at = {.offset = loc->offset, .seg = loc->file, .size = (uint32_t)loc->size};
    const uint8_t *v = NULL;
    int rc = record_read_value(seg->file, __atomic_load_n(&seg->size, __ATOMIC_ACQUIRE), &at,
                               key, klen, buf, cap, &v, vlen);
    *val = v;
    return rc;
}

static void hash_iter_release(void *ctx)
{
    hash_snapshot_source *src = ctx;
    for (size_t i = 0; i < src->nsegs; i++)
        segment_unref(src->segs[i]);
    free(src->segs);
    free(src);
}

static int hash_iter_add(void *ctx, const uint8_t *key, size_t klen, const hash_loc *loc)
{
    snapshot_loc at = {.file = loc->seg, .offset = loc->offset, .size = loc->size};
    return snapshot_add(ctx, key, klen, at, 0);
}

int snapshot_capture(kv_db *db, const char *call, kv_snapshot **out)
{
    snapshot_builder *b = NULL;
    hash_snapshot_source *src = calloc(1, sizeof *src);
    if (src == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", call);
    int rc = snapshot_builder_new(call, &b);
    if (rc != KV_OK) {
        free(src);
        return rc;
    }
    pthread_rwlock_rdlock(&db->index_lock);
    src->segs = malloc((db->segs.n + 1) * sizeof *src->segs);
    if (src->segs == NULL)
        rc = kv_error(KV_ERR_NOMEM, "%s: out of memory", call);
    else
        rc = hash_index_foreach(&db->index, hash_iter_add, b);
    if (rc == KV_OK) {
        for (size_t i = 0; i < db->segs.n; i++) {
            src->segs[i] = db->segs.v[i];
            segment_ref(src->segs[i]);
        }
        src->nsegs = db->segs.n;
    }
    pthread_rwlock_unlock(&db->index_lock);
    if (rc != KV_OK) {
        snapshot_builder_free(b);
        hash_iter_release(src);
        return rc;
    }
    snapshot_source source = {.ctx = src, .read_value = hash_iter_read_value,
                              .release = hash_iter_release};
    return snapshot_finish(b, source, db, &db->snapshots_live, out);
}
