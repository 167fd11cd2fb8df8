/*
 * hash_iter.c: snapshots and iterators for stage 02 (stage 01's
 * snapshot_iter.h, which gives kv_get_at and the iterator).
 *
 * A snapshot is a layer (hash_snapshot.h): taking one costs O(1), a read
 * at it finds the key's place then (in the layers, or in the index) and
 * reads it as kv_get does.
 *
 * An iterator needs order, which the index does not keep, so it is made
 * over a sorted copy: under the index lock, every live key with its place
 * (now, or at the iterator's snapshot) and a reference on every segment
 * those places name; then, without the lock, a sort.  That costs O(n log n)
 * time and a copy of every key per iterator: the lesson of an unordered
 * index (docs/02-hash.md measures it; stage 04 keeps keys sorted instead).
 *
 * The copy stays readable whatever happens next: later writes go to new
 * places, and a merge that drops a segment the copy points into only
 * unlinks its file, which stays open until the copy's reference is
 * dropped (segment.h).
 */
#include <stdlib.h>

#include "error.h"
#include "hash_db.h"
#include "record_io.h"
#include "snapshot_iter.h"

/* What a copy reads its values from: the segments its places name. */
typedef struct hash_copy_source {
    segment_table segs;     /* ids ascending, one ref each */
} hash_copy_source;

static int hash_iter_read_value(void *ctx, const snapshot_loc *loc, const void *key,
                                size_t klen, uint8_t **buf, size_t *cap, const void **val,
                                size_t *vlen)
{
    hash_copy_source *src = ctx;
    segment *seg = segment_table_find(&src->segs, loc->file);
    hash_loc at = {.offset = loc->offset, .seg = loc->file, .size = (uint32_t)loc->size};
    const uint8_t *v = NULL;
    int rc = record_read_value(segment_reader(seg), __atomic_load_n(&seg->size, __ATOMIC_ACQUIRE),
                               &at, key, klen, buf, cap, &v, vlen);
    *val = v;
    return rc;
}

static void hash_iter_release(void *ctx)
{
    hash_copy_source *src = ctx;
    segment_table_clear(&src->segs);
    free(src);
}

static int hash_iter_add(void *ctx, const uint8_t *key, size_t klen, const hash_loc *loc)
{
    snapshot_loc at = {.file = loc->seg, .offset = loc->offset, .size = loc->size};
    return snapshot_add(ctx, key, klen, at, 0);
}

/* The sorted copy of the keys now (layer NULL) or at layer's snapshot. */
static int hash_iter_copy(kv_db *db, const hash_layer *layer, const char *call,
                          snapshot_copy **out)
{
    snapshot_builder *b = NULL;
    hash_copy_source *src = calloc(1, sizeof *src);
    if (src == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", call);
    int rc = snapshot_builder_new(call, &b);
    if (rc != KV_OK) {
        free(src);
        return rc;
    }
    pthread_rwlock_rdlock(&db->index_lock);
    if (layer != NULL) {
        rc = hash_snapshot_foreach(db, layer, hash_iter_add, b, &src->segs);
    } else if ((rc = segment_table_reserve(&src->segs, db->segs.n)) == KV_OK) {
        for (size_t i = 0; i < db->segs.n; i++) {
            segment_ref(db->segs.v[i]);
            segment_table_insert(&src->segs, db->segs.v[i]);
        }
        rc = hash_index_foreach(&db->index, hash_iter_add, b);
    }
    pthread_rwlock_unlock(&db->index_lock);
    if (rc != KV_OK) {
        kv_error_append(" (%s)", call);
        snapshot_builder_free(b);
        hash_iter_release(src);
        return rc;
    }
    snapshot_source source = {.ctx = src, .read_value = hash_iter_read_value,
                              .release = hash_iter_release};
    return snapshot_finish(b, source, &db->snapshots_live, out);
}

int snapshot_capture(kv_db *db, const char *call, snapshot_copy **out)
{
    return hash_iter_copy(db, NULL, call, out);
}

/* A snapshot: its database and its layer. */
typedef struct hash_snapshot_view {
    kv_db *db;
    hash_layer *layer;
} hash_snapshot_view;

static int hash_snapshot_get(void *ctx, const void *key, size_t klen, void **val, size_t *vlen)
{
    hash_snapshot_view *s = ctx;
    kv_db *db = s->db;
    hash_loc loc;
    segment *seg = NULL;
    pthread_rwlock_rdlock(&db->index_lock);
    int rc = hash_snapshot_find(db, s->layer, key, klen, &loc, &seg);
    if (seg != NULL)
        segment_ref(seg); /* keeps the file open if a merge drops it now */
    pthread_rwlock_unlock(&db->index_lock);
    if (rc != KV_OK)
        return rc;
    if (seg == NULL)
        return KV_NOT_FOUND;
    rc = hash_db_read_value(seg, &loc, key, klen, val, vlen);
    segment_unref(seg);
    return rc;
}

static int hash_snapshot_capture(void *ctx, const char *call, snapshot_copy **out)
{
    hash_snapshot_view *s = ctx;
    return hash_iter_copy(s->db, s->layer, call, out);
}

static void hash_snapshot_release(void *ctx)
{
    hash_snapshot_view *s = ctx;
    hash_snapshot_end(s->db, s->layer);
    free(s);
}

int snapshot_open(kv_db *db, const char *call, snapshot_view *out)
{
    hash_snapshot_view *s = malloc(sizeof *s);
    if (s == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", call);
    s->db = db;
    int rc = hash_snapshot_begin(db, &s->layer);
    if (rc != KV_OK) {
        free(s);
        return rc;
    }
    *out = (snapshot_view){.ctx = s, .live = &db->snapshots_live, .get = hash_snapshot_get,
                           .capture = hash_snapshot_capture, .release = hash_snapshot_release};
    return KV_OK;
}
