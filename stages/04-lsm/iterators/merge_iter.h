/*
 * merge_iter.h: many sorted sources read as one.
 *
 * A read of the LSM tree must see the memtable, the frozen memtable and
 * every table at once, in one order.  The merging iterator does that: it
 * holds one iterator per source (its children) and a binary heap of the
 * children by their current key, so each step costs O(log n) comparisons
 * for n children.  It streams: it holds one entry per child, never the
 * whole set of keys.
 *
 * Forward, the heap is a min-heap and the merged position is its top.
 * Backward, a max-heap.  When the direction changes, every child other
 * than the current one is first moved to the other side of the current key
 * (LevelDB's table/merger.cc does the same), so that the next step again
 * takes the neighbouring key of the merged order.
 *
 * Keys are internal keys (internal_key.h), so entries of different
 * sources never compare equal in the stage (every write has its own
 * sequence number).  If two children do hold equal keys, both are
 * returned, the child with the lower index first going forward: pass the
 * newest source first.
 */
#ifndef KV_LSM_MERGE_ITER_H
#define KV_LSM_MERGE_ITER_H

#include <stddef.h>

#include "iterator.h"

/* An iterator over the union of children[0..n) (iterator.h rules).  It
 * takes ownership of every child, also when it fails (KV_ERR_NOMEM: they
 * are freed).  With n == 1 the child itself is returned; with n == 0 an
 * iterator that is never valid.  The children array itself stays the
 * caller's. */
int merge_iter_new(iter *const *children, size_t n, iter **out);

#endif
