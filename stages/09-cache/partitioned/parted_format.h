/*
 * parted_format.h: format v2, version 2: a table whose index and filter
 * are cut into partitions of about a block each, found through a small
 * top-level index, the only part an open table keeps.  The partitions are
 * read through the block cache like data blocks, so what the indexes and
 * filters of open tables take is bounded by the cache, not by the data
 * (RocksDB's partitioned index and filters work this way: its wiki page
 * "Partitioned Index/Filters").  Version 1 (stage 05's, one index block
 * and one filter kept whole) is still read, as stage 05 reads it.
 *
 * All integers are little-endian; stored blocks, handles and the footer
 * as version 1's (stage 05's table_v2_format.h).  This stage's code reads
 * and writes them through format v2's parts (table_v2_parts.h), and
 * calls on version 1's own steps for version-1 files.
 *
 *   offset      size   field
 *   0           16     file header: "KVS05TBL", version 2, crc32c
 *   16          ...    data blocks, as version 1's, ending at D
 *   D           ...    partitions, stored blocks, never compressed, back to
 *                      back, ending at P; for each partition j in key
 *                      order: its index partition, then (if the table has
 *                      filters) its filter partition
 *   P           ...    what an open table keeps: the top-level index (at
 *                      P), the properties, the metaindex
 *   size - 48   48     footer, as version 1's but version 2: D, the
 *                      top-level index's handle (its offset is P), the
 *                      metaindex's handle
 *
 *   index partition j   a block, a restart point at each entry: one entry
 *                       per data block of the partition, as version 1's
 *                       index (separator -> the data block's handle);
 *                       about block_bytes, cut after a data block's entry
 *   filter partition j  a block of one entry: key "f", value bloom.h's
 *                       bytes over the user keys of partition j's data
 *                       blocks (a key whose versions straddle two
 *                       partitions is in both filters)
 *   top-level index     a block, a restart point at each entry: key the
 *                       last separator of partition j, value the index
 *                       partition's handle, then, if the table has
 *                       filters, the filter partition's handle
 *   metaindex           "properties" -> its handle (filters are named by
 *                       the top level)
 *
 * A lookup of (K, s): K outside the table's keys: no work.  The top level
 * (in memory): the first partition whose key is >= (K, s); none: absent.
 * Its filter partition (block cache, or one read): rules K out, done.
 * Its index partition (block cache, or one read): the data block, then
 * steps 4 and 5 as version 1's (table_v2_get_at).
 *
 * Invariants:
 *   P1. The partitions tile [D, P) exactly, in the top level's order
 *       (index, then filter, partition after partition), and every entry
 *       of the top level names one or, for all of them alike, two
 *       handles: checked at open, so a lookup reads only inside [D, P).
 *   P2. A data block's separator is in the partition the top level sends
 *       its lookups to: partition j holds the data blocks whose
 *       separators are in (key of j - 1, key of j].  So a lookup finds in
 *       partition j the data block a whole index would give.
 *   P3. No false negatives: every user key of partition j's data blocks
 *       is in its filter.  The lookup's answer lies in the data block P2
 *       names, so a filter that rules K out rules out K there.
 *   P4. An open table keeps [P, size - 48): nothing per data block.
 */
#ifndef KV_CACHE_PARTED_FORMAT_H
#define KV_CACHE_PARTED_FORMAT_H

#include "table_v2_parts.h"

#define PARTED_VERSION 2u
/* The key of a filter partition's one entry. */
#define PARTED_FILTER_KEY "f"

/* The partition the top-level entry *top of t (k its kept) shows: its
 * index partition's handle, and its filter partition's (*has_filter 0 if
 * it has none), each inside [D, P).  KV_OK or KV_ERR_CORRUPT naming the
 * entry. */
int parted_top_entry(table *t, const table_v2_kept *k, const block_iter *top,
                     table_v2_handle *index, table_v2_handle *filter, int *has_filter);

/* Version 2's meta, after table_v2_open_kept has read and checked [P,
 * size - 48) (f the footer): no whole filter named (table_v2_kept's
 * filter), and the top level walked (P1). */
int parted_open_meta(table *t, const table_v2_footer *f);

/* Steps 2 and 3 of a lookup in a version-2 table (the top level, a filter
 * partition, an index partition), as format v2 takes them for version 1
 * (table_v2_find_block), and with its contract: k is t's kept, hash the
 * user key's bloom_hash, the key in t's range, the filter partition
 * asked only if ask_filter is 1.  Every iterator it makes is freed and
 * every partition it reads released before it returns, an error (the
 * top level's entry parted_top_entry refuses, a damaged partition)
 * included. */
int parted_find_block(table *t, const table_v2_kept *k, const ikey_lookup *lk, uint64_t hash,
                      int ask_filter, table_get_result *r, table_v2_handle *h, int *found);

/* Steps 2 and 3 of a lookup as the file's version has them: version 2's
 * here, version 1's format v2's own; either asks its filter only if
 * ask_filter is 1 (0: table_get_last, with filters_for_hits on).
 * table_v2_get_at takes it from there. */
static inline int parted_find(table *t, const table_v2_kept *k, const ikey_lookup *lk,
                              uint64_t hash, int ask_filter, table_get_result *r,
                              table_v2_handle *h, int *found)
{
    if (k->version == PARTED_VERSION)
        return parted_find_block(t, k, lk, hash, ask_filter, r, h, found);
    return table_v2_find_block(t, lk, hash, ask_filter, r, h, found);
}

/* Every index partition of t joined into one block, ref->b (released by
 * table_v2_block_release): what an iterator and the tools walk.  Each
 * partition is read and checked; together they must hold one entry per
 * data block.  The joined block is kept in the block cache under the
 * offset P, so iterators after the first find it there.  KV_OK,
 * KV_ERR_CORRUPT, KV_ERR_IO, KV_ERR_NOMEM.  For a version-1 table, its
 * kept index (nothing to release). */
int parted_join_index(table *t, table_v2_blockref *ref);

/* Whether the filter partition a lookup of (K, newest) reads rules K out
 * (0 where it cannot be read, or the table has no filters). */
int parted_filter_says_absent(table *t, const uint8_t *ukey, size_t ulen);

/* The builder of this stage's tables (under table.h's, paced_build/).
 * Of version 2 (kv_options.table_partitions = KV_PARTITIONS), over format
 * v2's builder keeping no filter, whose finish names the top level this
 * builder stored as the index (table_v2_parts.h); of version 1 (the
 * default), format v2's builder as stage 05 has it. */
typedef struct parted_builder parted_builder;
int parted_builder_new(table_ctx *ctx, const char *path, uint32_t version,
                       parted_builder **out);
int parted_builder_add(parted_builder *b, const uint8_t *ikey, size_t ikey_len,
                       const uint8_t *value, size_t value_len);
/* How far it is as of its last add (table_v2_parts.h's
 * table_v2_progress, as format v2's add said it: its file_bytes format
 * v2's alone; nothing before the first add), and the estimate of the
 * whole file, partitions included. */
void parted_builder_progress(const parted_builder *b, table_v2_progress *p);
uint64_t parted_builder_file_bytes(const parted_builder *b);
/* Writes the partitions, the kept blocks and the footer, syncs; frees b
 * whatever happens. */
int parted_builder_finish(parted_builder *b, table_meta *meta);
void parted_builder_abandon(parted_builder *b);

#endif
