/*
 * block_cache.h: the block cache: uncompressed data blocks of every open
 * table of a database kept in memory, up to cache_bytes (kv_options,
 * default 8 MiB), so that a block read again costs no read and no
 * decompression.
 *
 * A block is keyed by its table's cache id (block_cache_new_id, taken
 * once when the table is opened: ids are never reused, so a block of a
 * table closed, deleted and replaced by another file of the same name is
 * never found for the new one) and the block's offset in the file.  It is
 * charged its size plus the entry's header (lru_entry_overhead), so the
 * capacity bounds the memory the cache really holds.
 *
 * It is an lru_cache (lru_cache.h) of 16 shards, each with its own mutex
 * and an LRU list; its invariants LRU1-LRU4 are this cache's.  How a table
 * reads a block through it:
 *
 *   h = block_cache_lookup(c, id, offset);            a hit: no allocation
 *   if (h == NULL) {
 *       h = block_cache_prepare(c, size);              NULL: out of memory:
 *       ... read and decompress into block_cache_data(h) ... read into a
 *       block_cache_insert(c, h, id, offset);          buffer of one's own,
 *   }                                                  uncached
 *   ... search block_cache_data(h), block_cache_size(h) bytes ...
 *   block_cache_release(c, h);                         (an iterator keeps
 *                                                      h while on the block)
 *
 * Once the cache is full, a lookup's block goes in only if
 * block_cache_admit says so (doorkeeper.h: on its second miss); one
 * turned away is read into the reader's own buffer, as when memory runs
 * out.  Iterators and batches of gets keep every block they read.
 *
 * Invariants (besides LRU1-LRU4):
 *   C1. A block handed out by lookup or insert stays valid and unchanged
 *       until released, whatever is evicted meanwhile.
 *   C2. lookup and insert are the only ways in: the cache never reads a
 *       file, so a block is checked (checksum, lengths) before it is
 *       inserted, and what the cache holds is always what was checked.
 */
#ifndef KV_BLOCKS_BLOCK_CACHE_H
#define KV_BLOCKS_BLOCK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"
#include "lru_cache.h"

#define BLOCK_CACHE_DEFAULT_BYTES ((size_t)8 << 20)
#define BLOCK_CACHE_SHARDS 16

typedef struct block_cache block_cache;
typedef struct lru_entry block_cache_handle;

/* A cache holding up to capacity_bytes (0 = BLOCK_CACHE_DEFAULT_BYTES).
 * KV_OK or KV_ERR_NOMEM. */
int block_cache_new(size_t capacity_bytes, block_cache **out);
/* The same with `shards` shards (a power of two, 1..64): tests use 1 to
 * see the exact LRU order. */
int block_cache_new_sharded(size_t capacity_bytes, unsigned shards, block_cache **out);
/* REQUIRES: every handle released.  NULL is a no-op. */
void block_cache_free(block_cache *c);

/* A cache id for a table being opened: never 0, never handed out twice by
 * this cache. */
uint64_t block_cache_new_id(block_cache *c);

/* The block at (id, offset) with a reference for the caller, or NULL (a
 * miss).  Counts a hit or a miss. */
block_cache_handle *block_cache_lookup(block_cache *c, uint64_t id, uint64_t offset);

/* A block of `size` bytes to fill, not yet in the cache, with a reference
 * for the caller; NULL if memory runs out (then read uncached: this is not
 * an error, and no message is set). */
block_cache_handle *block_cache_prepare(block_cache *c, size_t size);
/* The block's bytes: writable between prepare and insert only. */
uint8_t *block_cache_data(block_cache_handle *h);
size_t block_cache_size(const block_cache_handle *h);
/* Says the block holds only its first `size` bytes (a read that brought a
 * trailer along).  The charge stays what was allocated.
 * REQUIRES: before insert; size <= the size prepared. */
void block_cache_set_size(block_cache_handle *h, size_t size);

/* Puts the filled block in the cache under (id, offset).  The caller keeps
 * its reference (C1).  REQUIRES: h from block_cache_prepare(c), filled,
 * checked (C2), never inserted. */
void block_cache_insert(block_cache *c, block_cache_handle *h, uint64_t id, uint64_t offset);

/* 1 if the block (id, offset), which a lookup just missed, should be put
 * in the cache; 0 if the lookup reads it once and keeps nothing
 * (doorkeeper.h: always 1 until the cache has been filled). */
int block_cache_admit(block_cache *c, uint64_t id, uint64_t offset);

/* Drops the caller's reference.  NULL is a no-op. */
void block_cache_release(block_cache *c, block_cache_handle *h);

/* Counters (lru_cache.h) and the kv_stats lines "session.block_cache.hits: N",
 * ".misses", ".inserts", ".evictions", ".entries", ".usage", ".capacity",
 * and ".declined" (blocks a lookup read and block_cache_admit kept out). */
void block_cache_stats(block_cache *c, lru_cache_stats *s);
void block_cache_report(block_cache *c, kv_line_fn line, void *line_ctx);

#endif
