/*
 * filter_parts.h: a table's bloom filter cut into partitions of about a
 * block each, found through a small top-level index, so that a lookup
 * needs in memory only the top level and the one partition its key falls
 * in, not a filter for the whole table (RocksDB's partitioned filters,
 * its "partitioned index/filters" wiki page, work the same way).
 *
 * Keys are added in ascending order (a table's user keys).  A partition
 * is closed once its filter would reach target_bytes, at a change of user
 * key, so that every version of a key is in one partition.  Its
 * separator is its last user key: the partition for key K is the first
 * whose separator is >= K; a key past the last separator is in no
 * partition, and ruled out.
 *
 * The bytes (all integers little endian):
 *
 *   field         size       meaning
 *   partition i   L_i        bloom.h's bytes over the partition's keys
 *   ...
 *   top entry i   varint32 S, S bytes, u32 E
 *                            the separator (S bytes), and E, the offset
 *                            where partition i ends (it starts where
 *                            partition i - 1 ended, or at 0)
 *   ...
 *   count         u32        the number of partitions, >= 1
 *   top at        u32        the offset of top entry 0
 *
 * Invariants:
 *   FP1. No false negatives: every key added is answered "may contain".
 *   FP2. The top level is checked whole when opened (each entry inside
 *        the top level, partition ends increasing and inside the
 *        partitions' bytes, separators ascending); one that is not well
 *        formed gives KV_ERR_CORRUPT, never a crash or a read outside the
 *        bytes.  A change that leaves it well formed is the table's block
 *        checksum's to catch, as for every block.  A partition is one of
 *        bloom.h's filters (its BF2: a damaged one answers "may contain").
 *   FP3. Readers look only inside the bytes they are given.
 */
#ifndef KV_CACHE_FILTER_PARTS_H
#define KV_CACHE_FILTER_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "bloom.h"

typedef struct filter_parts_builder {
    bloom_builder bloom;    /* the partition being filled */
    size_t target_bytes;
    uint8_t *out;           /* the partitions written so far */
    size_t out_len, out_cap;
    uint8_t *top;           /* their top entries */
    size_t top_len, top_cap;
    uint32_t parts;
    uint8_t *last;          /* the last key added */
    size_t last_len, last_cap;
    int has_last;
} filter_parts_builder;

/* An empty builder.  REQUIRES: bits_per_key >= 1, target_bytes >= 16. */
void filter_parts_builder_init(filter_parts_builder *b, int bits_per_key, size_t target_bytes);
void filter_parts_builder_destroy(filter_parts_builder *b);
/* Adds a user key.  REQUIRES: keys in ascending order (equal keys may
 * repeat).  KV_OK or KV_ERR_NOMEM. */
int filter_parts_add(filter_parts_builder *b, const void *key, size_t len);
/* Closes the last partition and hands out the whole bytes (*out, the
 * caller's to free; at least one partition, empty if no key was added).
 * KV_OK or KV_ERR_NOMEM. */
int filter_parts_finish(filter_parts_builder *b, uint8_t **out, size_t *out_len);

/* The top level of filter bytes, parsed: what a table keeps pinned. */
typedef struct filter_parts_top {
    uint32_t count;
    const uint8_t **sep;    /* into the bytes */
    uint32_t *sep_len;
    uint32_t *end;          /* partition i is [i ? end[i-1] : 0, end[i]) */
} filter_parts_top;

/* Parses the top level of [p, p + n).  KV_OK; KV_ERR_CORRUPT with a
 * message naming the offset and what is wrong (FP2); KV_ERR_NOMEM. */
int filter_parts_open(const uint8_t *p, size_t n, filter_parts_top *top);
void filter_parts_close(filter_parts_top *top);

/* The partition a key falls in: 1 with [*start, *end) its bytes, or 0
 * (past the last separator: the key is ruled out). */
int filter_parts_find(const filter_parts_top *top, const void *key, size_t len,
                      uint32_t *start, uint32_t *end);

/* 0 if the filter bytes [p, p + n), whose top is `top`, rule key out;
 * 1 if it may be there. */
int filter_parts_may_contain(const filter_parts_top *top, const uint8_t *p, const void *key,
                             size_t len);

#endif
