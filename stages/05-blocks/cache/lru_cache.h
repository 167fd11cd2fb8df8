/*
 * lru_cache.h: a sharded, thread-safe LRU cache of reference-counted
 * entries keyed by two 64-bit numbers: the core of the block cache
 * (block_cache.h, key = a table's cache id and a block's offset) and of
 * the open-file cache (file_cache.h, key = a table's cache id).
 *
 * An entry is one allocation: a small header and the payload after it (a
 * block's bytes, or the pointer to an open file).  The cache charges each
 * entry what its owner says it costs (bytes, or 1 per open file) and,
 * when the charges of a shard pass its capacity, frees the least recently
 * used entries that nobody holds.  LevelDB's util/cache.cc is built the
 * same way; this one is written for this project.
 *
 * Shards: the key's hash picks one of `shards` independent caches, each
 * with its own mutex, hash table, LRU list and capacity (capacity /
 * shards, the remainder spread one each over the first shards: the
 * capacities add up to `capacity` exactly), so threads looking up
 * different blocks seldom wait for each other.  With one shard the order
 * of eviction is exactly LRU.
 *
 * Life of an entry:
 *   lru_cache_entry_new     allocated, one reference (the caller's), not in
 *                           the cache; the caller fills its payload
 *   lru_cache_insert        in the cache under its key: the cache holds a
 *                           reference of its own; the caller keeps theirs
 *   lru_cache_lookup        a hit adds a reference for the caller
 *   lru_cache_release       drops one; the entry is freed (the on_free
 *                           callback first) when the last one goes
 *   eviction, erase,        the cache drops its reference: the entry leaves
 *   a newer insert          the table at once, and is freed when its last
 *                           holder releases it
 *
 * Invariants:
 *   LRU1. An entry someone holds is never freed: eviction only takes entries
 *       whose only reference is the cache's (the shard's LRU list holds
 *       exactly those, oldest first).
 *   LRU2. A shard's usage is the sum of the charges of the entries in its
 *       table; after an insert or a release it is at most the shard's
 *       capacity, unless entries held by callers alone exceed it.
 *   LRU3. An entry whose charge is above its shard's capacity (and every
 *       entry when the capacity is 0) is never cached: insert leaves it
 *       the caller's alone.
 *   LRU4. A hit allocates nothing; a lookup or release takes one shard's
 *       mutex for a few pointer moves.  Allocation failure never breaks
 *       the cache: entry_new returns NULL (the caller goes on uncached),
 *       and a hash table that cannot grow keeps its longer chains.
 *
 * Threads: every function may be called from any thread at once, except
 * lru_cache_free.  A payload is written only before the entry is inserted
 * (after that it is shared, read-only).
 */
#ifndef KV_BLOCKS_LRU_CACHE_H
#define KV_BLOCKS_LRU_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

typedef struct lru_cache lru_cache;
typedef struct lru_entry lru_entry;

/* Called with an entry's payload just before the entry is freed (the file
 * cache closes the file there).  NULL: nothing to do. */
typedef void (*lru_free_fn)(void *payload, size_t payload_bytes);

/* A cache of `capacity` charge units in `shards` shards.
 * REQUIRES: shards is a power of two, 1..64.  KV_OK or KV_ERR_NOMEM. */
int lru_cache_new(size_t capacity, unsigned shards, lru_free_fn on_free, lru_cache **out);
/* REQUIRES: no entry is held (every lookup and entry_new released).
 * Frees every cached entry.  NULL is a no-op. */
void lru_cache_free(lru_cache *c);

/* A new entry with room for payload_bytes, not in the cache, one reference.
 * NULL if memory runs out (nothing else happens: no message is set). */
lru_entry *lru_cache_entry_new(lru_cache *c, size_t payload_bytes);
/* The bytes an entry's header takes besides its payload: what a caller
 * adds to the payload's size to charge the memory an entry really uses. */
size_t lru_entry_overhead(void);
void *lru_entry_payload(lru_entry *e);
size_t lru_entry_payload_bytes(const lru_entry *e);
/* The payload's size as allocated (payload_bytes before any shrink). */
size_t lru_entry_allocated(const lru_entry *e);
/* Says only the first payload_bytes of the payload are in use (the memory
 * stays allocated).  REQUIRES: before insert; not more than allocated. */
void lru_entry_shrink(lru_entry *e, size_t payload_bytes);

/* Puts e in the cache under (k1, k2), charged `charge`, replacing any entry
 * with that key (LRU1: its holders keep it).  The caller's reference stays
 * the caller's.  Then evicts as LRU2 says.
 * REQUIRES: e came from lru_cache_entry_new(c) and was never inserted. */
void lru_cache_insert(lru_cache *c, lru_entry *e, uint64_t k1, uint64_t k2, size_t charge);

/* The entry under (k1, k2) with a reference for the caller, or NULL.
 * Counts a hit or a miss. */
lru_entry *lru_cache_lookup(lru_cache *c, uint64_t k1, uint64_t k2);

/* Drops the caller's reference (LRU1).  NULL is a no-op. */
void lru_cache_release(lru_cache *c, lru_entry *e);

/* Takes the entry under (k1, k2) out of the cache, if there is one (freed
 * once its holders release it). */
void lru_cache_erase(lru_cache *c, uint64_t k1, uint64_t k2);

typedef struct lru_cache_stats {
    uint64_t hits, misses;
    uint64_t inserts;   /* entries put in the cache */
    uint64_t evictions; /* entries pushed out by capacity */
    uint64_t entries;   /* in the cache now */
    uint64_t usage;     /* charge of those */
    uint64_t capacity;
} lru_cache_stats;

/* The counters summed over the shards (each shard's read under its lock). */
void lru_cache_stats_get(lru_cache *c, lru_cache_stats *s);

/* Emits the counters as "<prefix>.<name>: <value>" lines for kv_stats:
 * hits, misses, inserts, evictions, entries, usage, capacity. */
void lru_cache_report(lru_cache *c, const char *prefix, kv_line_fn line, void *line_ctx);

#endif
