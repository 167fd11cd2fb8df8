/*
 * hash_iter.c: kv_iter_new for stage 02.  The index has no order, so the
 * iterator is a sorted snapshot (stages/01-log/snapshot_iter.c): under the
 * index lock, copy every live key with its place and take a reference on
 * every segment; then, without the lock, sort.  That costs O(n log n) time
 * and a copy of every key per iterator: the lesson of an unordered index
 * (docs/02-hash.md measures it; stage 04 keeps keys sorted instead).
 *
 * The snapshot stays readable whatever happens next: later writes go to new
 * places, and a merge that drops a segment the snapshot points into only
 * unlinks its file, which stays open until kv_iter_free drops the
 * iterator's reference (segment.h).
 */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error.h"
#include "hash_db.h"
#include "record_io.h"
#include "snapshot_iter.h"

typedef struct hash_iter_source {
    segment **segs;     /* every segment at kv_iter_new, ids ascending, one ref each */
    size_t nsegs;
    uint8_t *buf;       /* the last record read, for kv_iter_value */
    size_t cap;
} hash_iter_source;

static int hash_iter_read_value(void *ctx, const snapshot_loc *loc, const void *key,
                                size_t klen, const void **val, size_t *vlen)
{
    hash_iter_source *src = ctx;
    segment_table t = {.v = src->segs, .n = src->nsegs, .cap = src->nsegs};
    const segment *seg = segment_table_find(&t, loc->file);
    hash_loc at = {.offset = loc->offset, .seg = loc->file, .size = (uint32_t)loc->size};
    const uint8_t *v = NULL;
    int rc = record_read_value(seg->file, __atomic_load_n(&seg->size, __ATOMIC_ACQUIRE), &at,
                               key, klen, &src->buf, &src->cap, &v, vlen);
    *val = v;
    return rc;
}

static void hash_iter_release(void *ctx)
{
    hash_iter_source *src = ctx;
    for (size_t i = 0; i < src->nsegs; i++)
        segment_unref(src->segs[i]);
    free(src->segs);
    free(src->buf);
    free(src);
}

static int hash_iter_add(void *ctx, const uint8_t *key, size_t klen, const hash_loc *loc)
{
    snapshot_loc at = {.file = loc->seg, .offset = loc->offset, .size = loc->size};
    return snapshot_add(ctx, key, klen, at, 0);
}

int kv_iter_new(kv_db *db, kv_iter **it)
{
    int rc;
    if ((rc = args_check_ptr("kv_iter_new", db, "db")) != KV_OK ||
        (rc = args_check_ptr("kv_iter_new", it, "iterator pointer")) != KV_OK)
        return rc;
    *it = NULL;
    snapshot_builder *b = NULL;
    hash_iter_source *src = calloc(1, sizeof *src);
    if (src == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_iter_new: out of memory");
    if ((rc = snapshot_builder_new(&b)) != KV_OK) {
        free(src);
        return rc;
    }
    pthread_rwlock_rdlock(&db->index_lock);
    src->segs = malloc((db->segs.n + 1) * sizeof *src->segs);
    if (src->segs == NULL)
        rc = kv_error(KV_ERR_NOMEM, "kv_iter_new: out of memory");
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
    return snapshot_finish(b, source, it);
}
