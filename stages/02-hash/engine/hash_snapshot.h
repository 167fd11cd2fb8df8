/*
 * hash_snapshot.h: stage 02's snapshots, as layers of the places that
 * writes replace (copy on write, for the index).
 *
 * The index holds each key's latest place only.  A snapshot needs the
 * place each key had when it was taken; copying the whole index for it
 * would cost O(n) time and memory per snapshot, for keys that are mostly
 * never written again while it lives.  So taking a snapshot opens a
 * layer, and costs nothing else; from then on, the first write of each
 * key saves the key's place at that moment (or "absent") in the newest
 * layer, before the index changes.  A read at snapshot S looks for its key
 * in S's layer, then in each newer layer, and takes the first place it
 * finds; a key in none of them has not been written since S was taken, so
 * the index's place is S's.  PostgreSQL and InnoDB keep old versions for
 * their snapshots in the same spirit (an undo log that readers walk back
 * through); here what is kept is a place in a log file, since the records
 * themselves are never rewritten.
 *
 * Layers, oldest first, each begun by a snapshot:
 *
 *   layer 1 (S1)      layer 2 (S2)       index (now)
 *   a -> 0:100        a -> 0:180         a -> 1:40
 *                     b -> absent        b -> 1:90
 *   S1 reads a at 0:100, b absent; S2 reads a at 0:180, b absent.
 *
 * When a snapshot is freed, its layer's places are what an older
 * snapshot needs: they move into the layer below (unless that layer
 * already has the key: its place is older), and the layer goes.  The
 * oldest layer goes with its snapshot.  So a layer's cost is one saved
 * place per key written while it was the newest; a write costs one lookup
 * in the newest layer while snapshots are live, and nothing otherwise.
 *
 * A saved place names a segment that a merge may drop meanwhile; each
 * layer holds a reference on every segment its places name (segment.h),
 * so the file stays readable until the layer goes.
 *
 * Invariants (all under the database's index_lock; hash_db.h):
 *   L1. For each layer k and each key in it: the key's place (or absence)
 *       at the moment layer k began, and the key was written since.
 *   L2. A key in no layer from k on was not written since layer k began:
 *       its place in the index is its place then.
 *   L3. Every place in a layer names a segment in the layer's `segs`.
 *   L4. A layer that could not save a place (no memory) is `broken`:
 *       reads at the snapshots that look through it fail with
 *       KV_ERR_NOMEM, since the place they would need is lost.
 */
#ifndef KV_HASH_SNAPSHOT_H
#define KV_HASH_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "hash_index.h"
#include "segment.h"

typedef struct kv_db kv_db;

/* The place a layer saves for a key that was absent. */
#define HASH_SNAPSHOT_ABSENT UINT32_MAX  /* in hash_loc.seg; no segment has it */

typedef struct hash_layer {
    struct hash_layer *older, *newer;
    hash_index saved;       /* L1 */
    segment_table segs;     /* L3: one reference each */
    int held;               /* its snapshot is live */
    int broken;             /* L4 */
} hash_layer;

/* Opens a new (newest) layer for a snapshot taken now.  KV_OK or NOMEM.
 * REQUIRES: index_lock not held. */
int  hash_snapshot_begin(kv_db *db, hash_layer **out);
/* The snapshot of `l` is freed: its places move to the layer below, or go.
 * REQUIRES: index_lock not held. */
void hash_snapshot_end(kv_db *db, hash_layer *l);

/* Before a write changes key's place in the index: saves its place in the
 * newest layer, if there is one and it has none for the key yet (L1).
 * Cannot fail: without memory the layer becomes broken (L4).
 * REQUIRES: index_lock held exclusively. */
void hash_snapshot_note(kv_db *db, const void *key, size_t klen);

/* Where key was at the snapshot of layer l: *loc and *seg (not
 * referenced; NULL if the key was absent), from the layers (L1) or from
 * the index (L2).  KV_OK, or KV_ERR_NOMEM if a broken layer was in the
 * way.  REQUIRES: index_lock held (shared is enough). */
int  hash_snapshot_find(kv_db *db, const hash_layer *l, const void *key, size_t klen,
                        hash_loc *loc, segment **seg);

/* Calls fn on every key live at the snapshot of layer l with its place
 * then, and adds to `segs` (reserving room; one reference each) every
 * segment those places name.  KV_OK, fn's error, or NOMEM.
 * REQUIRES: index_lock held (shared is enough). */
int  hash_snapshot_foreach(kv_db *db, const hash_layer *l, hash_index_fn fn, void *ctx,
                           segment_table *segs);

/* How many layers there are and how many places they save (kv_stats).
 * REQUIRES: index_lock held. */
void hash_snapshot_count(const kv_db *db, uint64_t *layers, uint64_t *saved);

#endif
