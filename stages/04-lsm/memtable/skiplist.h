/*
 * skiplist.h: a sorted set of byte strings in an arena, written by one
 * thread and read by any number of threads without locks.
 *
 * A skiplist (William Pugh, 1990) is a sorted linked list with express
 * lanes: every node is on level 0, about a quarter of them also on level 1,
 * a quarter of those on level 2, and so on up to SKIPLIST_MAX_HEIGHT.  A
 * search starts on the highest level and drops a level each time the next
 * node would overshoot, so it visits O(log n) nodes.  With 12 levels and a
 * branching of 4 it stays logarithmic up to about 4^12 = 16 million nodes,
 * far more than a memtable holds.  LevelDB's db/skiplist.h has the same
 * shape and the same concurrency contract; it is the reference this file was
 * written against (not copied).
 *
 * NODE LAYOUT.  A node is one arena allocation: its links first, highest
 * level first, then its key bytes.  A node is named by the address of its
 * key, so the key needs no pointer of its own and a search that follows a
 * link lands right next to the bytes it compares (RocksDB's
 * memtable/inlineskiplist.h does this too):
 *
 *   [ link[h-1] ... link[1] link[0] ][ key bytes ... ]
 *                                    ^ node
 *
 * The skiplist never looks at key bytes itself: the comparison function
 * does (the memtable's compares its entries by internal key).
 *
 * CONCURRENCY.  One writer (REQUIRES: calls to skiplist_alloc and
 * skiplist_insert never overlap; in the stage, the group-commit leader
 * makes them), any number of readers at the same time, no lock.  Why a
 * reader is never confused, as numbered invariants (skiplist.c refers to
 * them):
 *   S1. A node is never removed and its key never changes once it is
 *       published; its memory lives until the arena is destroyed, which the
 *       owner does only when no reader is left (memtable.h: reference
 *       counts).  So any node a reader reaches stays readable.
 *   S2. The writer fills in a node completely (key bytes, and the node's
 *       own link at level i) before it makes the node reachable at level i.
 *   S3. A node becomes reachable at level i by one atomic store with
 *       release order into its predecessor's link[i]; readers load every
 *       link with acquire order.  A reader that loads the new pointer
 *       therefore also sees everything written before that store: by S2,
 *       the node's key and its link[i] (and its links below i, stored
 *       earlier).  It never sees a half-built node.
 *   S4. Links are stored from level 0 up.  At every instant each level is
 *       a sorted list, and every node on level i is on every level below:
 *       a reader that drops down from a node keeps a correct position.
 *   S5. The list's height is read with relaxed order.  A stale, lower
 *       height only makes a search start lower (slower, still right); a
 *       height raised before the new node is linked there shows the head's
 *       empty link at that level, and the search drops down.
 *   S6. So a reader sees every node published before it started, possibly
 *       some published while it runs, and always in order.  In the stage
 *       that is harmless: an entry still being inserted has a sequence
 *       number above any snapshot a reader can hold.
 *
 * BACKWARD.  Nodes have no back links; skiplist_iter_prev searches for the
 * last node before the current one (O(log n), as LevelDB does).  A back
 * link would cost 8 bytes in every node for an operation only reverse
 * scans use, and it could not be kept exact for lock-free readers without
 * more care than it is worth here.
 */
#ifndef KV_LSM_SKIPLIST_H
#define KV_LSM_SKIPLIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define SKIPLIST_MAX_HEIGHT 12
#define SKIPLIST_BRANCHING 4 /* a node reaches the next level with p = 1/4 */

/* Orders two keys (node addresses): <0, 0, >0. */
typedef int (*skiplist_cmp)(const uint8_t *a, const uint8_t *b);

/* REQUIRES: only skiplist.c looks inside. */
typedef struct skiplist {
    arena *arena;
    skiplist_cmp cmp;
    uint8_t *head;           /* a node of full height with an empty key */
    atomic_int height;       /* levels in use, 1..SKIPLIST_MAX_HEIGHT (S5) */
    uint64_t rnd;            /* the writer's random state, for heights */
} skiplist;

/* An empty list whose nodes come from `a` and are ordered by `cmp`.
 * KV_OK or KV_ERR_NOMEM (the head node is allocated in the arena). */
int skiplist_init(skiplist *sl, arena *a, skiplist_cmp cmp);

/* Writer: room for a node with key_bytes of key, at a random height
 * (returned in *height).  Returns where the key goes, or NULL (KV_ERR_NOMEM,
 * message set).  The node is not in the list until skiplist_insert. */
uint8_t *skiplist_alloc(skiplist *sl, size_t key_bytes, int *height);

/* Writer: links the node whose key the caller has just written at `key`.
 * REQUIRES: key and height come from skiplist_alloc; no equal key is in
 * the list. */
void skiplist_insert(skiplist *sl, uint8_t *key, int height);

/* 1 if a key equal to `key` is in the list. */
int skiplist_contains(const skiplist *sl, const uint8_t *key);

/* A position in the list; plain data, no allocation, any thread. */
typedef struct skiplist_iter {
    const skiplist *sl;
    const uint8_t *node;     /* NULL: not positioned */
} skiplist_iter;

void skiplist_iter_init(skiplist_iter *it, const skiplist *sl);
static inline int skiplist_iter_valid(const skiplist_iter *it)
{
    return it->node != NULL;
}
/* The key at the position.  REQUIRES: valid. */
static inline const uint8_t *skiplist_iter_key(const skiplist_iter *it)
{
    return it->node;
}
void skiplist_iter_next(skiplist_iter *it);             /* REQUIRES: valid */
void skiplist_iter_prev(skiplist_iter *it);             /* REQUIRES: valid */
void skiplist_iter_seek(skiplist_iter *it, const uint8_t *target); /* first key >= target */
void skiplist_iter_seek_first(skiplist_iter *it);
void skiplist_iter_seek_last(skiplist_iter *it);

#endif
