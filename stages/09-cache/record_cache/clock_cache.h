/*
 * clock_cache.h: a byte-budgeted map from keys to values, evicting by CLOCK
 * (second chance), split into shards so concurrent readers rarely meet.
 *
 * Each shard keeps its entries in a ring.  A hit sets the entry's
 * referenced bit; to make room, the shard's hand sweeps the ring: an entry
 * with its bit set has the bit cleared and is passed over (its second
 * chance), an entry with the bit clear is evicted.  So an entry read since
 * the hand last passed it survives one more sweep.
 *
 * Invariants:
 *   - In each shard, bytes (the sum of its entries' charges, clock_cache_charge:
 *     key, value and what holding them costs) never exceeds the shard's
 *     budget (budget / shards) once clock_cache_put returns; a pair whose charge
 *     is larger than a shard's budget is not kept.
 *   - A key is held at most once: clock_cache_put of a held key replaces it.
 *   - Every call takes only its shard's mutex; counts are per shard and
 *     summed by clock_cache_stats.
 *
 * This module knows nothing of versions or snapshots: the caller chooses
 * keys so that a held value is never stale for the read that finds it.
 */
#ifndef KV_CLOCK_CACHE_H
#define KV_CLOCK_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct clock_cache clock_cache;

typedef struct clock_cache_stats {
    uint64_t hits, misses, evictions, bytes, entries;
} clock_cache_stats;

/* What an entry of a klen-byte key and a vlen-byte value is charged: its
 * bytes, and CLOCK_ENTRY_OVERHEAD for what holding them costs besides (the
 * entry's header and its allocation's, its ring and free-list slots, its
 * share of the hash buckets), so that the budget bounds the memory held,
 * not only the bytes: a record of a 16-byte key and a 100-byte value costs
 * nearly twice its bytes. */
#define CLOCK_ENTRY_OVERHEAD 112u
static inline size_t clock_cache_charge(size_t klen, size_t vlen)
{
    return klen + vlen + CLOCK_ENTRY_OVERHEAD;
}

/* A cache of at most budget bytes over nshards shards (at least 1).
 * KV_OK, or KV_ERR_NOMEM; KV_ERR_INVALID for nshards 0. */
int clock_cache_new(size_t budget, unsigned nshards, clock_cache **out);
void clock_cache_free(clock_cache *c);

/* KV_OK with *val a fresh allocation of *vlen bytes (the caller frees it),
 * KV_NOT_FOUND (a miss), or KV_ERR_NOMEM. */
int clock_cache_get(clock_cache *c, const void *key, size_t klen, void **val,
              size_t *vlen);
/* Keeps a copy of key and value, evicting as needed.  KV_OK (kept, or too
 * large to keep) or KV_ERR_NOMEM (nothing changed). */
int clock_cache_put(clock_cache *c, const void *key, size_t klen, const void *val,
              size_t vlen);
/* Drops key if held. */
void clock_cache_erase(clock_cache *c, const void *key, size_t klen);
void clock_cache_stats_get(clock_cache *c, clock_cache_stats *out);

#endif
