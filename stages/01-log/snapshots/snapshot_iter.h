/*
 * snapshot_iter.h: snapshots and iterators of the log stages.
 *
 * A snapshot (kv_snapshot_new) is the stage's own, and costs O(1) to take:
 * stage 01 notes the log's length (bytes below it never change); stage 02
 * opens a layer that keeps the places of the records later writes replace
 * (hash_snapshot.h).  kv_get_at asks the stage to read at it.
 *
 * An iterator needs order, which these stages do not keep (no order on
 * disk in stage 01, none in memory in stage 02), so kv_iter_new and
 * kv_iter_new_at make a sorted copy: every live key with where its value
 * lives, sorted.  The iterator walks it, forward or backward.  Values are
 * read only when asked for, from the place the copy recorded, which stays
 * valid because log files are only ever appended to (and, in stage 02, a
 * merge keeps old segments until the last copy or snapshot using them is
 * freed).
 *
 * Cost, the lesson of this design: an iterator is O(n log n) in the number
 * of records to make and holds every live key in memory until it is freed.
 * Stage 04 keeps keys sorted all the time and makes both a number.
 *
 * This file implements the parts of kv.h that do not depend on the stage:
 * kv_snapshot_new, kv_snapshot_free, kv_get_at, kv_iter_new, kv_iter_new_at
 * and every kv_iter_* call.  It needs two things of the stage, through
 * an interface: snapshot_open, which takes a snapshot and says how to read
 * at it and how to copy it, and snapshot_capture, which makes the sorted
 * copy of the database now with the builder below (stage 01 implements
 * both in log_iter.c, stage 02 again in hash_iter.c).
 *
 * Invariants:
 *   1. A finished copy never changes: its entries are sorted by key, one
 *      per live key, so any number of threads may read it at once.
 *   2. refs counts a copy's holders (its iterators).  The copy, and the
 *      source behind it, are released exactly when it drops to 0.
 *   3. *live (a counter in the database) counts the snapshots and copies
 *      not yet released; kv_close refuses while it is not 0
 *      (snapshot_check_close), so nothing outlives the database it reads.
 */
#ifndef KV_SNAPSHOT_ITER_H
#define KV_SNAPSHOT_ITER_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"
#include "latency.h"

/* Where a key's value lives; opaque to the copy. */
typedef struct snapshot_loc {
    uint32_t file;
    uint64_t offset;
    uint64_t size;
} snapshot_loc;

/* How a copy reads a value (of `key`, whose place is loc): reads into
 * *buf (grown as needed, *cap its size; the caller's, one per reader) and
 * points *val into it, or returns an error with kv_errmsg set.  It may be
 * called from several threads at once.  release is called once, when the
 * copy is released. */
typedef struct snapshot_source {
    void *ctx;
    int (*read_value)(void *ctx, const snapshot_loc *loc, const void *key, size_t klen,
                      uint8_t **buf, size_t *cap, const void **val, size_t *vlen);
    void (*release)(void *ctx);
} snapshot_source;

/* A sorted copy of the live keys at one moment (what an iterator walks). */
typedef struct snapshot_copy snapshot_copy;

/* A snapshot as the stage keeps it (snapshot_open fills it in):
 *   get      kv_get at the snapshot, arguments already checked: KV_OK with
 *            *val malloc'd, KV_NOT_FOUND, or an error;
 *   capture  the sorted copy of the keys at the snapshot, for `call`;
 *   release  called once, by kv_snapshot_free.
 * All three may be called from several threads at once but release. */
typedef struct snapshot_view {
    void *ctx;
    uint64_t *live;     /* the database's counter (invariant 3) */
    int (*get)(void *ctx, const void *key, size_t klen, void **val, size_t *vlen);
    int (*capture)(void *ctx, const char *call, snapshot_copy **out);
    void (*release)(void *ctx);
} snapshot_view;

/* Provided by the stage: takes a snapshot of db now, in O(1) of the
 * database's size.  REQUIRES: db and out are not NULL. */
int  snapshot_open(kv_db *db, const char *call, snapshot_view *out);
/* Provided by the stage: the sorted copy of db now (kv_iter_new), for
 * `call` (named in messages).  REQUIRES: db and out are not NULL. */
int  snapshot_capture(kv_db *db, const char *call, snapshot_copy **out);
/* Provided by the stage: db's latency histograms (common/latency.h), which
 * kv_get_at, the seeks and the steps of an iterator record into. */
latency_set *snapshot_latency(kv_db *db);

typedef struct snapshot_builder snapshot_builder;

int  snapshot_builder_new(const char *call, snapshot_builder **b);
/* Records that `key` was put (is_delete = 0) or deleted at loc; later calls
 * for the same key win. */
int  snapshot_add(snapshot_builder *b, const void *key, size_t klen, snapshot_loc loc,
                  int is_delete);
/* Sorts, keeps the last record of each key unless it is a delete, and
 * turns the builder into a copy that reads values through src, counted in
 * *live (invariant 3).  Frees the builder, also on failure, when
 * src.release is called too. */
int  snapshot_finish(snapshot_builder *b, snapshot_source src, uint64_t *live,
                     snapshot_copy **out);
void snapshot_builder_free(snapshot_builder *b);

/* kv_close's first step: KV_ERR_INVALID, with a message naming `path`, if
 * any snapshot or iterator counted in *live is not yet freed. */
int  snapshot_check_close(const uint64_t *live, const char *path);

#endif
