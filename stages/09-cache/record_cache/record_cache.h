/*
 * record_cache.h: the record cache: for a (table, user key), the newest
 * version of that key the table holds, kept in memory above the block
 * cache, so that a get it answers reads no filter, no index and no block.
 *
 * Keyed per table, as RocksDB's row cache is keyed per file (its
 * TableCache::Get, db/table_cache.cc): a table never changes once written,
 * and its cache id is never handed out again, so no write, delete,
 * transaction's commit or compaction can make an entry wrong.  Writes
 * land in the memtable, which every get asks before any table; a
 * compaction writes new tables, whose ids no entry has.  Entries of a
 * table that is gone are never asked for again and age out.
 *
 * Invariants:
 *   R1. The entry for (t, K) holds what a lookup of K in t at the
 *       greatest sequence number finds: the newest version of K in t, its
 *       sequence number e, put or tombstone (and whether its value is kept
 *       elsewhere, value_store.h), and its value.  Only such a lookup's
 *       answer is put (record_cache_put's caller's promise); a key t does
 *       not hold is not kept.
 *   R2. A lookup of K in t at sequence s takes the entry only if e <= s:
 *       then the newest version of K at or below s is e itself.  If s < e
 *       (a snapshot older than the version), the entry says nothing about
 *       s, and the lookup goes to the table (counted as bypassed).
 *   R3. Memory: what the entries held are charged (their keys and values
 *       and what holding them costs, clock_cache_charge) never exceeds the
 *       budget (clock_cache.h), evicted by CLOCK, sharded.
 */
#ifndef KV_RECORD_CACHE_H
#define KV_RECORD_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct record_cache record_cache;

/* A version of a key, as a table lookup finds it. */
typedef struct record {
    int deleted;        /* a tombstone: no value */
    int elsewhere;      /* the value is where the value store keeps it */
    uint64_t seq;       /* the version's sequence number */
    void *value;        /* record_cache_get: a malloc'd copy, the caller's */
    size_t value_len;
} record;

typedef struct record_counts {
    uint64_t hits, misses, bypassed; /* bypassed: an entry newer than the lookup (R2) */
    uint64_t evictions, bytes, entries;
} record_counts;

/* A cache of at most budget bytes in nshards shards.  KV_OK, KV_ERR_NOMEM,
 * KV_ERR_INVALID (nshards 0). */
int record_cache_open(size_t budget, unsigned nshards, record_cache **out);
void record_cache_close(record_cache *rc);

/* The newest version of ukey in table table_id, if the cache holds it and
 * it answers a lookup at seq (R2): KV_OK with *hit = 1 and *out filled
 * (out->value a malloc'd copy, never NULL, even empty or deleted).  A miss
 * or a bypass: KV_OK with *hit = 0.  KV_ERR_NOMEM. */
int record_cache_get(record_cache *rc, uint64_t table_id, const void *ukey, size_t ulen,
                     uint64_t seq, record *out, int *hit);

/* Keeps newest as the newest version of ukey in table_id.
 * REQUIRES (R1): newest is what a lookup at the greatest sequence found.
 * KV_OK (kept, or too large to keep) or KV_ERR_NOMEM (nothing kept). */
int record_cache_put(record_cache *rc, uint64_t table_id, const void *ukey, size_t ulen,
                     const record *newest);

/* What record_cache_put(rc, id, ukey, ulen, newest) charges the cache for
 * the entry it makes (clock_cache_charge of its key and value): the size of the
 * entry, wherever it is counted outside the cache. */
size_t record_cache_charge(size_t ulen, const record *newest);

void record_cache_counts(record_cache *rc, record_counts *out);

#endif
