/*
 * hash_snapshot.c: the layers of places kept for stage 02's snapshots
 * (hash_snapshot.h has the design and the invariants).
 */
#include "hash_snapshot.h"

#include <stdlib.h>

#include "error.h"
#include "hash_db.h"

static void layer_free(hash_layer *l)
{
    hash_index_free(&l->saved);
    segment_table_clear(&l->segs);
    free(l);
}

/* Takes l out of the list.  REQUIRES: index_lock held exclusively. */
static void layer_unlink(kv_db *db, hash_layer *l)
{
    if (l->older != NULL)
        l->older->newer = l->newer;
    else
        db->oldest_layer = l->newer;
    if (l->newer != NULL)
        l->newer->older = l->older;
    else
        db->newest_layer = l->older;
}

int hash_snapshot_begin(kv_db *db, hash_layer **out)
{
    hash_layer *l = calloc(1, sizeof *l);
    if (l == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_snapshot_new: out of memory");
    hash_index_init(&l->saved);
    l->held = 1;
    pthread_rwlock_wrlock(&db->index_lock);
    l->older = db->newest_layer;
    if (l->older != NULL)
        l->older->newer = l;
    else
        db->oldest_layer = l;
    db->newest_layer = l;
    pthread_rwlock_unlock(&db->index_lock);
    *out = l;
    return KV_OK;
}

/* Moves l's places into `into`, the layer below, keeping into's own for a
 * key both have (it is the older place: L1), and l's segment references.
 * 0, or -1 for want of memory, with nothing moved.
 * REQUIRES: index_lock held exclusively. */
static int layer_merge(hash_layer *l, hash_layer *into)
{
    if (hash_index_reserve(&into->saved, l->saved.count) != KV_OK ||
        segment_table_reserve(&into->segs, l->segs.n) != KV_OK)
        return -1;
    for (size_t i = 0; i < l->saved.cap; i++) {
        hash_slot *s = &l->saved.slots[i];
        if (s->key == NULL || hash_index_find(&into->saved, s->key, s->klen) != NULL)
            continue;
        hash_loc old;
        int replaced = 0;
        hash_index_adopt(&into->saved, s->key, s->klen, &s->loc, &old, &replaced);
        s->key = NULL; /* into owns the copy now; l is freed right after */
    }
    for (size_t i = 0; i < l->segs.n; i++) {
        segment *seg = l->segs.v[i];
        if (segment_table_find(&into->segs, seg->id) == NULL) {
            segment_ref(seg);
            segment_table_insert(&into->segs, seg);
        }
    }
    into->broken |= l->broken;
    return 0;
}

void hash_snapshot_end(kv_db *db, hash_layer *l)
{
    pthread_rwlock_wrlock(&db->index_lock);
    l->held = 0;
    if (l->older != NULL) {
        /* An older snapshot reads through l: its places go one layer down
         * (or, without memory for that, l stays, unheld, until the
         * snapshots below it are gone). */
        if (layer_merge(l, l->older) == 0) {
            layer_unlink(db, l);
            layer_free(l);
        }
    } else {
        /* The oldest: no snapshot reads through it, nor through the
         * unheld layers right above it. */
        while (db->oldest_layer != NULL && !db->oldest_layer->held) {
            hash_layer *gone = db->oldest_layer;
            layer_unlink(db, gone);
            layer_free(gone);
        }
    }
    pthread_rwlock_unlock(&db->index_lock);
}

void hash_snapshot_note(kv_db *db, const void *key, size_t klen)
{
    hash_layer *l = db->newest_layer;
    if (l == NULL || l->broken || hash_index_find(&l->saved, key, klen) != NULL)
        return;
    const hash_loc *now = hash_index_find(&db->index, key, klen);
    hash_loc loc = now != NULL ? *now : (hash_loc){.seg = HASH_SNAPSHOT_ABSENT};
    segment *seg = now != NULL ? segment_table_find(&db->segs, now->seg) : NULL;
    if (seg != NULL && segment_table_find(&l->segs, seg->id) == NULL) {
        if (segment_table_reserve(&l->segs, 1) != KV_OK) {
            l->broken = 1;
            return;
        }
        segment_ref(seg);
        segment_table_insert(&l->segs, seg);
    }
    hash_loc old;
    int replaced = 0;
    if (hash_index_put(&l->saved, key, klen, &loc, &old, &replaced) != KV_OK)
        l->broken = 1;
}

/* The layer from l on that saved key's place, or NULL: *broken is 1 if a
 * broken layer was passed on the way (L4). */
static const hash_layer *layer_with(const hash_layer *l, const void *key, size_t klen,
                                    const hash_loc **loc, int *broken)
{
    *broken = 0;
    for (; l != NULL; l = l->newer) {
        if ((*loc = hash_index_find(&l->saved, key, klen)) != NULL)
            return l;
        *broken |= l->broken;
    }
    return NULL;
}

static int layer_broken_error(void)
{
    return kv_error(KV_ERR_NOMEM, "a read at a snapshot: a write could not keep the place "
                    "the snapshot needs (out of memory when it was written): the snapshot "
                    "cannot be read; free it and take a new one");
}

int hash_snapshot_find(kv_db *db, const hash_layer *l, const void *key, size_t klen,
                       hash_loc *loc, segment **seg)
{
    const hash_loc *p = NULL;
    int broken = 0;
    const hash_layer *k = layer_with(l, key, klen, &p, &broken);
    if (k == NULL && broken)
        return layer_broken_error();
    if (k == NULL)
        p = hash_index_find(&db->index, key, klen); /* L2 */
    if (p == NULL || p->seg == HASH_SNAPSHOT_ABSENT) {
        *seg = NULL;
        return KV_OK;
    }
    *loc = *p;
    *seg = segment_table_find(k != NULL ? &k->segs : &db->segs, p->seg);
    return KV_OK;
}

/* ---- every key of a snapshot ---------------------------------------------- */

typedef struct foreach_ctx {
    kv_db *db;
    const hash_layer *from;     /* the snapshot's layer */
    const hash_layer *layer;    /* pass 2: the layer being walked */
    hash_index_fn fn;
    void *ctx;
    segment_table *segs;
} foreach_ctx;

/* Hands key at place p (in a segment of table t) to the caller's fn, the
 * segment added to the caller's table. */
static int foreach_emit(foreach_ctx *f, const uint8_t *key, size_t klen, const hash_loc *p,
                        const segment_table *t)
{
    if (p->seg == HASH_SNAPSHOT_ABSENT)
        return KV_OK;
    if (segment_table_find(f->segs, p->seg) == NULL) {
        segment *seg = segment_table_find(t, p->seg);
        if (segment_table_reserve(f->segs, 1) != KV_OK)
            return kv_error(KV_ERR_NOMEM, "kv_iter_new_at: out of memory");
        segment_ref(seg);
        segment_table_insert(f->segs, seg);
    }
    return f->fn(f->ctx, key, klen, p);
}

/* Pass 1: every key of the index, at its place then. */
static int foreach_indexed(void *ctx, const uint8_t *key, size_t klen, const hash_loc *loc)
{
    foreach_ctx *f = ctx;
    const hash_loc *p = NULL;
    int broken = 0;
    const hash_layer *k = layer_with(f->from, key, klen, &p, &broken);
    return k != NULL ? foreach_emit(f, key, klen, p, &k->segs)
                     : foreach_emit(f, key, klen, loc, &f->db->segs);
}

/* Pass 2: the keys a layer saved that the index no longer has (deleted
 * since), each from the first layer that has it. */
static int foreach_saved(void *ctx, const uint8_t *key, size_t klen, const hash_loc *loc)
{
    foreach_ctx *f = ctx;
    if (hash_index_find(&f->db->index, key, klen) != NULL)
        return KV_OK; /* pass 1 had it */
    for (const hash_layer *k = f->from; k != f->layer; k = k->newer)
        if (hash_index_find(&k->saved, key, klen) != NULL)
            return KV_OK; /* an older layer had it */
    return foreach_emit(f, key, klen, loc, &f->layer->segs);
}

int hash_snapshot_foreach(kv_db *db, const hash_layer *l, hash_index_fn fn, void *ctx,
                          segment_table *segs)
{
    for (const hash_layer *k = l; k != NULL; k = k->newer)
        if (k->broken)
            return layer_broken_error();
    foreach_ctx f = {.db = db, .from = l, .fn = fn, .ctx = ctx, .segs = segs};
    int rc = hash_index_foreach(&db->index, foreach_indexed, &f);
    for (f.layer = l; rc == KV_OK && f.layer != NULL; f.layer = f.layer->newer)
        rc = hash_index_foreach(&f.layer->saved, foreach_saved, &f);
    return rc;
}

void hash_snapshot_count(const kv_db *db, uint64_t *layers, uint64_t *saved)
{
    *layers = *saved = 0;
    for (const hash_layer *l = db->oldest_layer; l != NULL; l = l->newer) {
        (*layers)++;
        *saved += l->saved.count;
    }
}
