/*
 * snapshot_iter.h: snapshots as sorted copies of the keys, and the iterator
 * over them.
 *
 * The log stages keep no order on disk (stage 01) or in memory (stage 02),
 * so a snapshot (kv_snapshot_new) is a copy: every live key with where its
 * value lives, sorted.  kv_get_at binary-searches it; an iterator walks it,
 * forward or backward.  Values are read only when asked for, from the place
 * the snapshot recorded, which stays valid because log files are only ever
 * appended to (and, in stage 02, a merge keeps old segments until the last
 * snapshot using them is freed).  kv_iter_new is a snapshot taken for one
 * iterator.
 *
 * Cost, the lesson of this design: a snapshot is O(n log n) in the number
 * of records to take and holds every live key in memory until it is freed.
 * Stage 04 keeps keys sorted all the time and makes a snapshot a number.
 *
 * This file implements the parts of kv.h that do not depend on the stage:
 * kv_snapshot_new, kv_snapshot_free, kv_get_at, kv_iter_new, kv_iter_new_at
 * and every kv_iter_* call.  It needs one thing of the stage, through
 * an interface: snapshot_capture, which collects the stage's keys with the
 * builder below (stage 01 implements it in log_iter.c, stage 02 again in
 * hash_iter.c).
 *
 * Invariants:
 *   1. A finished snapshot never changes: its entries are sorted by key,
 *      one per live key, so any number of threads may read it at once.
 *   2. refs counts the holders: the handle kv_snapshot_new returned (until
 *      kv_snapshot_free) and each iterator.  The snapshot, and the source
 *      behind it, are released exactly when it drops to 0.
 *   3. *live (a counter in the database) counts the snapshots not yet
 *      released; kv_close refuses while it is not 0 (snapshot_check_close),
 *      so a source never outlives the database it reads from.
 */
#ifndef KV_SNAPSHOT_ITER_H
#define KV_SNAPSHOT_ITER_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

/* Where a key's value lives; opaque to the snapshot. */
typedef struct snapshot_loc {
    uint32_t file;
    uint64_t offset;
    uint64_t size;
} snapshot_loc;

/* How a snapshot reads a value (of `key`, whose place is loc): reads into
 * *buf (grown as needed, *cap its size; the caller's, one per reader) and
 * points *val into it, or returns an error with kv_errmsg set.  It may be
 * called from several threads at once.  release is called once, when the
 * snapshot is released. */
typedef struct snapshot_source {
    void *ctx;
    int (*read_value)(void *ctx, const snapshot_loc *loc, const void *key, size_t klen,
                      uint8_t **buf, size_t *cap, const void **val, size_t *vlen);
    void (*release)(void *ctx);
} snapshot_source;

/* Provided by the stage: takes a snapshot of db now, for `call` (named in
 * messages).  REQUIRES: db and out are not NULL. */
int  snapshot_capture(kv_db *db, const char *call, kv_snapshot **out);

typedef struct snapshot_builder snapshot_builder;

int  snapshot_builder_new(const char *call, snapshot_builder **b);
/* Records that `key` was put (is_delete = 0) or deleted at loc; later calls
 * for the same key win. */
int  snapshot_add(snapshot_builder *b, const void *key, size_t klen, snapshot_loc loc,
                  int is_delete);
/* Sorts, keeps the last record of each key unless it is a delete, and
 * turns the builder into a snapshot of db that reads values through src,
 * counted in *live (invariant 3).  Frees the builder, also on failure, when
 * src.release is called too. */
int  snapshot_finish(snapshot_builder *b, snapshot_source src, kv_db *db, uint64_t *live,
                     kv_snapshot **out);
void snapshot_builder_free(snapshot_builder *b);

/* kv_close's first step: KV_ERR_INVALID, with a message naming `path`, if
 * any snapshot or iterator counted in *live is not yet freed. */
int  snapshot_check_close(const uint64_t *live, const char *path);

#endif
