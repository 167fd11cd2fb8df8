/*
 * snapshot_iter.h: an iterator over a sorted copy of the keys.
 *
 * The log stages keep no order on disk (stage 01) or in memory (stage 02),
 * so iteration works on a snapshot: kv_iter_new collects every live key with
 * where its value lives, sorts them, and the iterator walks that array.
 * Values are read only when asked for, from the place the snapshot recorded,
 * which stays valid because log files are only ever appended to (and, in
 * stage 02, a merge keeps old segments until the last iterator using them is
 * freed).
 *
 * Cost, the lesson of this design: kv_iter_new is O(n log n) in the number of
 * records and holds every live key in memory until the iterator is freed.
 * Stage 04 keeps keys sorted all the time and makes this cheap.
 *
 * Building: add every record in the order it was written (snapshot_add);
 * snapshot_finish sorts by key, keeps the last record of each key, drops keys
 * whose last record is a delete, and returns the iterator.
 */
#ifndef KV_SNAPSHOT_ITER_H
#define KV_SNAPSHOT_ITER_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

/* Where a key's value lives; opaque to the iterator. */
typedef struct snapshot_loc {
    uint32_t file;
    uint64_t offset;
    uint64_t size;
} snapshot_loc;

/* How the iterator reads a value (of `key`, whose place is loc): fills *val and *vlen (pointing into storage
 * the source owns for this iterator, valid until the next call) or returns an
 * error with kv_errmsg set.  release is called once, by kv_iter_free. */
typedef struct snapshot_source {
    void *ctx;
    int (*read_value)(void *ctx, const snapshot_loc *loc, const void *key, size_t klen,
                      const void **val, size_t *vlen);
    void (*release)(void *ctx);
} snapshot_source;

typedef struct snapshot_builder snapshot_builder;

int  snapshot_builder_new(snapshot_builder **b);
/* Records that `key` was put (is_delete = 0) or deleted at loc; later calls
 * for the same key win. */
int  snapshot_add(snapshot_builder *b, const void *key, size_t klen, snapshot_loc loc,
                  int is_delete);
/* Sorts, turns the builder into an iterator that reads values through src,
 * and frees the builder (also on failure, when src.release is called too). */
int  snapshot_finish(snapshot_builder *b, snapshot_source src, kv_iter **it);
void snapshot_builder_free(snapshot_builder *b);

#endif
