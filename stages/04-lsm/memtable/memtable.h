/*
 * memtable.h: the newest writes, sorted, in memory.
 *
 * Every put and delete of the stage lands here first (after the
 * write-ahead log has it): an entry keyed by its internal key
 * (internal_key.h) in a skiplist (skiplist.h) whose nodes live in an arena
 * (arena.h).  When the memtable has grown to kv_options.memtable_bytes it
 * is frozen (no more adds), a fresh one takes the writes, and the frozen
 * one is written to a table in key order by iterating over it.
 *
 * An entry, in the node's key bytes (LevelDB's db/memtable.cc lays its
 * entries out the same way):
 *
 *   field            size
 *   internal_key_len varint32 (user key length + 8)
 *   internal key     internal_key_len bytes (user key, trailer)
 *   value_len        varint32 (0 for a tombstone)
 *   value            value_len bytes
 *
 * Invariants:
 *   M1. Entries are ordered by internal key; no two have the same one (the
 *       writer never reuses a sequence number).
 *   M2. memtable_memory_usage is the arena's byte count (arena.h,
 *       invariant 1): everything the memtable holds is in its arena.
 *   M3. The concurrency contract is the skiplist's: one writer (REQUIRES:
 *       memtable_add calls never overlap), any number of readers
 *       (memtable_get, iterators) at the same time, no lock.
 *   M4. A memtable lives while someone holds a reference: its creator
 *       holds one, each iterator holds one.  Pointers it hands out (values
 *       from memtable_get, iterator keys) stay valid while the caller's
 *       reference does.
 */
#ifndef KV_LSM_MEMTABLE_H
#define KV_LSM_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "internal_key.h"
#include "iterator.h"
#include "skiplist.h"

typedef struct memtable memtable;

/* An empty memtable, expected to grow to about target_bytes (it picks its
 * arena's block size from that).  One reference, the caller's.
 * KV_OK or KV_ERR_NOMEM. */
int memtable_new(size_t target_bytes, memtable **out);

/* M4.  Any thread.  memtable_unref(NULL) is a no-op; the last unref frees. */
void memtable_ref(memtable *m);
void memtable_unref(memtable *m);

/* Adds the entry (key, seq, type) -> value.  For IKEY_DELETE the value is
 * ignored.  KV_OK, or KV_ERR_NOMEM (then nothing was added).
 * REQUIRES: the single writer (M3); 1 <= klen <= KV_MAX_KEY, vlen <=
 * KV_MAX_VALUE; 1 <= seq <= IKEY_MAX_SEQ and (key, seq) not already in it. */
int memtable_add(memtable *m, uint64_t seq, ikey_type type, const void *key, size_t klen,
                 const void *val, size_t vlen);

/* The most arena bytes memtable_add takes for one entry: the node's links
 * at their greatest height, alignment, both lengths, key, trailer, value. */
static inline size_t memtable_entry_max(size_t klen, size_t vlen)
{
    return SKIPLIST_MAX_HEIGHT * sizeof(void *) + ARENA_ALIGN + 2 * CODING_MAX_VARINT32 + klen +
           IKEY_TRAILER_SIZE + vlen;
}

/* Makes sure memtable_add calls whose memtable_entry_max add up to at most
 * `bytes` cannot fail (arena.h, invariant 5).  KV_OK or KV_ERR_NOMEM.
 * REQUIRES: the single writer (M3). */
int memtable_reserve(memtable *m, size_t bytes);

/* What memtable_reserve(m, bytes) would add to memtable_memory_usage (0 if
 * its arena's current block has the room): the writer compares usage plus
 * this with kv_options.memtable_bytes to tell whether the memtable is full.
 * REQUIRES: the single writer (M3). */
size_t memtable_reserve_growth(const memtable *m, size_t bytes);

/* The newest version of lk's user key at or below lk's sequence.  On
 * IKEY_FOUND, *val and *vlen give the value, inside the memtable (M4). */
ikey_lookup_state memtable_get(const memtable *m, const ikey_lookup *lk, const uint8_t **val,
                               size_t *vlen);

/* M2.  Any thread. */
size_t memtable_memory_usage(const memtable *m);

/* Entries added so far.  Any thread. */
uint64_t memtable_entries(const memtable *m);

/* An iterator over every entry, internal keys in order (iterator.h); it
 * holds a reference (M4).  KV_OK or KV_ERR_NOMEM. */
int memtable_iter_new(memtable *m, iter **out);

#endif
