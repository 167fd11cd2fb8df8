/*
 * table_v2_parts.h: the parts of table format v2 that code beside it may
 * build on (the byte format is in table_v2_format.h): the tables' shared
 * context, a lookup's steps, stored blocks read and checked through the
 * block cache, block handles, the open in two steps (the file's ends,
 * then the region it keeps), the iterator, the tools and the salvage over
 * the data blocks the caller names, and the builder with the steps of its
 * end.  Format v2's own table.h functions are made of these same calls
 * (table_v2/entry/ and table_v2/file_entry/), so nothing here exists for
 * another caller alone.
 * Code beside the format includes this header only: struct table stays
 * private to table_v2_*.c, and what an open table shows of itself is
 * table_v2_kept.
 *
 * Invariants (besides table.h's T1-T3 and table_v2_format.h's):
 *   S1. Nothing here calls back: no function of format v2 calls through a
 *       pointer a caller set.  Where a step depends on the file's version
 *       (its index, its filter), the caller hands in the data (an index
 *       block, a block's handle, a key's hash) or calls the step itself.
 *   S2. A block a caller reads through table_v2_block_get is checked
 *       (T1) before it is returned, and enters the block cache only then
 *       (T3); the caller releases it with table_v2_block_release.
 *   S3. A lookup's key lies in the table's keys (ikey_user_in_range over
 *       table_v2_kept's smallest and largest) before any of its steps 2
 *       to 5 runs: the range is checked once, by whoever starts the
 *       lookup.
 */
#ifndef KV_BLOCKS_TABLE_V2_PARTS_H
#define KV_BLOCKS_TABLE_V2_PARTS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "block_cache.h"
#include "coding.h"
#include "file_cache.h"
#include "file_header.h"
#include "table.h"
#include "table_batch.h"

#define TABLE_V2_VERSION 1u
#define TABLE_V2_DATA_AT FILE_HEADER_SIZE   /* the first data block */
#define TABLE_V2_TRAILER 9u
#define TABLE_V2_FOOTER 48u
#define TABLE_V2_HANDLE_MAX (CODING_MAX_VARINT64 + CODING_MAX_VARINT32)
#define TABLE_V2_IKEY_MIN (IKEY_TRAILER_SIZE + 1)

/* Compression types (the trailer's first byte). */
enum { TABLE_V2_RAW = 0, TABLE_V2_LZ4 = 1 };
/* The context's third kind, never a trailer's: values in cells
 * (block_value.h). */
#define TABLE_V2_LZ4_VALUES 2

/*
 * A counter of the context: statistics, added to with a relaxed load and
 * store rather than a locked add.  A lookup may search a hundred tables,
 * and a locked instruction per table would cost more than the search of
 * most of them; the price is that two threads counting at the same
 * instant can lose an increment.  One thread's counts are exact.
 */
typedef atomic_uint_least64_t table_v2_counter;
static inline void table_v2_count(table_v2_counter *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}
static inline uint64_t table_v2_counted(table_v2_counter *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* What the tables of one database share (table.h): options, caches,
 * counters.  A context of a later layer may hold it as its first member. */
struct table_ctx {
    size_t block_bytes;
    unsigned restart_interval;   /* a data block's entries per restart point */
    int block_hash;              /* data blocks get a hash index (block_hash.h) */
    int compression;             /* TABLE_V2_RAW, TABLE_V2_LZ4 or
                                    TABLE_V2_LZ4_VALUES */
    int bloom_bits;              /* bits per key; 0: no filters */
    int filters_for_hits;        /* a table_get_last skips the filter */
    block_cache *cache;
    file_cache *files;
    table_v2_counter reads, read_bytes;   /* positioned reads, every table */
    table_v2_counter filter_negatives;    /* lookups in a table's range that
                                             its filter answered */
    table_v2_counter searches;            /* the others: its index searched */
    table_v2_counter get_reads;           /* positioned reads those made */
    table_v2_counter filter_misses;       /* passed the filter, key absent */
    table_v2_counter get_blocks_read;     /* data blocks a lookup read */
    table_v2_counter get_blocks_cached;   /* data blocks a lookup found cached */
    atomic_uint_least64_t meta_bytes;     /* meta regions open tables keep */
    atomic_uint_least64_t tables_open;
    struct table_v2_check_ahead *ahead;   /* mapped tables' blocks checked in
                                             the background (table_v2_check_ahead.c) */
    table_v2_counter ahead_blocks;        /* blocks it checked */
    table_v2_counter ahead_tables;        /* tables it walked to the end */
};

typedef struct table_v2_handle {
    uint64_t offset;
    uint32_t size;           /* stored size, the trailer not counted */
    uint32_t nth1;           /* a data block's place in its table plus 1,
                                where the index that named it says it
                                (table_v2_checked.c); 0: not known */
} table_v2_handle;

typedef struct table_v2_footer {
    uint32_t version;        /* the file's format version */
    uint64_t data_end;
    table_v2_handle index, metaindex;
} table_v2_footer;

/* A data block in memory: in the block cache, or in a buffer of its own;
 * or, for a lookup's block the full cache turned away, still in the file's
 * mapping, held: its contents in place if stored raw (b points there),
 * else its checked lz4 bytes (lz4 not NULL), which table_v2_scan.c
 * decodes only as far as the lookup's answer. */
typedef struct table_v2_blockref {
    block b;
    block_cache_handle *cached;
    uint8_t *owned;          /* malloc'd, or NULL */
    file_cache_handle *held; /* the mapped file the block lies in, or NULL */
    const uint8_t *lz4;      /* the stored lz4 bytes in the mapping, or NULL */
    uint32_t lz4_size, raw;  /* their size, and the contents' */
} table_v2_blockref;

/* What an open table shows of itself, set by its open and fixed after it
 * (read it through table_v2_kept_of). */
typedef struct table_v2_kept {
    table_ctx *ctx;
    uint64_t id;             /* its key in the block and file caches */
    uint32_t version;        /* its header's format version */
    uint64_t data_end;       /* D: the data blocks are [16, D) */
    uint64_t meta_at;        /* where the region it keeps begins (version
                                1: D), which ends at size - 48 */
    table_v2_handle index_h; /* the footer's index handle */
    block index;             /* that block, inside the kept region */
    uint64_t data_blocks;    /* the properties' count */
    const uint8_t *smallest, *largest;   /* internal keys, in the region */
    size_t smallest_len, largest_len;
    const uint8_t *filter;   /* version 1's filter (bloom.h's bytes over
                                its user keys), in the region; NULL if it
                                has none */
    size_t filter_len;
} table_v2_kept;

const table_v2_kept *table_v2_kept_of(const table *t);

/* ---- the context (table_v2_open.c) ------------------------------------------ */

/* Fills a zeroed context: the options, the block cache, the file cache.
 * KV_OK, or as table_ctx_new fails (then nothing is held). */
int  table_v2_ctx_init(table_ctx *ctx, const kv_options *opt);
/* Frees what init made, not ctx itself. */
void table_v2_ctx_release(table_ctx *ctx);
void table_v2_ctx_stats(table_ctx *ctx, kv_line_fn line, void *line_ctx);

/* ---- a lookup's steps (table_v2_read.c, table_v2_batch.c) -------------------- */

/* How far steps 1 to 3 of a lookup got. */
enum {
    TABLE_V2_RULED_OUT,     /* outside the table's keys, or the filter said no */
    TABLE_V2_NO_BLOCK,      /* the index searched: every entry is below the key */
    TABLE_V2_BLOCK          /* the one data block that may hold it */
};
/* Steps 2 and 3 of a lookup of lk as a table of version 1 takes them: its
 * filter (hash the user key's bloom_hash; asked only if ask_filter is 1),
 * then its index, both kept in memory.  *found says how far they got, *h
 * is the data block for TABLE_V2_BLOCK; *r's in_range, filter_asked and
 * filter_said_no are set.  REQUIRES: *r zeroed but its state IKEY_ABSENT,
 * the key in the table's range (S3).  KV_OK, or KV_ERR_CORRUPT from the
 * index. */
int table_v2_find_block(table *t, const ikey_lookup *lk, uint64_t hash, int ask_filter,
                        table_get_result *r, table_v2_handle *h, int *found);
/* Steps 4 and 5 of a lookup of lk after steps 2 and 3 (rc and found say
 * how they ended, h the data block for TABLE_V2_BLOCK, *r as they left
 * it), then the context's counters of the lookup, however far it got and
 * however it ended; returns the lookup's rc.  Steps 4 and 5: the data
 * block h read and searched (table_get), or, with p not NULL, the first
 * step of table_batch.h's lookup (table_get_start): searched if it is in
 * the block cache, else left for the caller to read (*pending = 1, *p the
 * read, the lookup counted when table_get_finish ends it).  pending is
 * NULL where p is.  (table_get_finish, the second step, is format v2's
 * own: table_v2_batch.c.) */
int table_v2_get_at(table *t, const ikey_lookup *lk, int rc, int found, table_v2_handle h,
                    table_get_result *r, table_pending *p, int *pending);

/* ---- stored blocks (table_v2_block.c) ----------------------------------------- */

/* The data block at h, decoded and checked (S2): from the cache, or read
 * (one read of the mapped file or one positioned read, through pin as
 * table_v2_read says) and then put in the cache.  *from_cache says which.
 * once (NULL for none) is a buffer of once_cap bytes of the caller's: a
 * block the full cache turns away (block_cache_admit) that fits in it is
 * decompressed there and kept nowhere, valid while once is; or, where pin
 * is NULL (a lookup), left where it was read: in the file's mapping, held
 * by ref (table_v2_blockref), or, where the file is not mapped, in
 * read_buf (NULL for none: TABLE_V2_STACK_READ bytes of the caller's,
 * valid while it uses ref).  ref->lz4 says whether it still needs
 * decoding (table_v2_scan).  reads (NULL for none) counts the reads.
 * KV_OK, KV_ERR_IO, KV_ERR_CORRUPT (naming the file and the block's
 * offset), KV_ERR_NOMEM. */
int table_v2_block_get(table *t, file_cache_handle **pin, table_v2_handle h, uint8_t *once,
                       size_t once_cap, uint8_t *read_buf, table_v2_blockref *ref,
                       int *from_cache, unsigned *reads);
void table_v2_block_release(table *t, table_v2_blockref *ref);

/* ---- handles (table_v2_meta.c) ------------------------------------------------ */

/* Reads the handle at p, in [p, limit), of a block that lies inside
 * [lo, hi) of the file, trailer included: the byte after it, or NULL if
 * it is not one or the block lies elsewhere (T2).  (A handle is written
 * by the builder that stores its block: table_v2_builder_store.) */
const uint8_t *table_v2_handle_read(const uint8_t *p, const uint8_t *limit, uint64_t lo,
                                    uint64_t hi, table_v2_handle *h);

/* ---- opening, in steps (table_v2_open.c) --------------------------------------- */

/* A table of path with its header and footer read and checked (*f the
 * footer), its version from 1 to max_version the header's (another is
 * refused as max_version would be); nothing of its meta blocks read yet.
 * One reference, the caller's.  On failure nothing is held and *out is
 * NULL. */
int table_v2_open_ends(table_ctx *ctx, const char *path, uint32_t max_version, table **out,
                       table_v2_footer *f);
/* The rest of the open of t (f its footer): the region an open table
 * keeps, [at, size - 48), read in one piece and each block in it
 * checked: the metaindex decoded, the properties (the kept keys and
 * counts, table_v2_kept), the block the footer names as the index made
 * table_v2_kept's index, and the filter the metaindex names, if any,
 * read and checked (table_v2_kept's filter); for version 1, at is D (its
 * kept blocks follow the data blocks) and its index has one entry per
 * data block.  The table is then counted in the context (kv_stats:
 * table.open, table.meta_bytes); table_unref frees it (and takes it off
 * the counts).  On failure the caller unrefs t. */
int table_v2_open_kept(table *t, const table_v2_footer *f, uint64_t at);

/* ---- walking and the tools (table_v2_iter.c, tools/) ---------------------------- */

/* An iterator over the data blocks the block index->b names (one entry
 * per data block, as version 1's index: released with the iterator).
 * KV_OK or KV_ERR_NOMEM. */
int table_v2_iter_over(table *t, table_v2_blockref *index, iter **out);
/* What table_v2_tool does: kv check, kv dump (table.h) or kv_inspect's
 * parts (table_inspect.h's table_inspect_parts). */
enum { TABLE_V2_CHECK, TABLE_V2_DUMP, TABLE_V2_PARTS };
/* The tool `what` of a table over the data blocks' index the caller
 * hands in (one entry per data block): t, the table the caller opened
 * (NULL where its open failed with rc; never for TABLE_V2_PARTS); index
 * that index (NULL where it could not be had, rc saying why: the parts
 * are then those of the table's kept blocks only, and rc is returned).
 * The filter is asked through table_inspect.h's
 * table_inspect_filter_says_absent. */
int table_v2_tool(const char *label, kv_line_fn line, void *line_ctx, int what, table *t,
                  const block *index, int rc);
/* table_salvage with the data blocks named by the caller, in order (an
 * index it read itself; NULL: the index block's), instead of the index
 * block's: each is read and checked, and what they leave out is scanned. */
int table_v2_salvage_named(const char *path, const table_v2_handle *named, size_t n,
                           table_entry_fn entry, table_loss_fn loss, void *ctx,
                           table_salvage_info *info);

/* ---- the builder (table_v2_build.c) ------------------------------------------- */

/* table_builder_new, _add, _finish, _abandon, as table.h says them, _new
 * for a file whose header (and footer) says version (format v2's own:
 * TABLE_V2_VERSION), keeping a filter of the whole table if filter is 1
 * and the context has filters, _add saying how far the builder is after
 * it (*p, table_v2_progress).  _finish is version 1's end, made of these
 * steps, in this order:
 *   _end_data   stores the last data block: the data blocks end here (D,
 *               the footer's); *index is their index's contents (one
 *               entry per data block), valid until the builder is freed;
 *   _store_meta stores the filter (if kept) and the properties, then a
 *               metaindex naming them;
 *   _store      stores contents as one block, not compressed, at the end
 *               of the file: *h (NULL for none) says where, and, put
 *               not NULL, the handle is written at *put (room for
 *               TABLE_V2_HANDLE_MAX bytes) and *put moved past it: the
 *               value of an entry that names the block (the metaindex's
 *               entries name the filter and the properties so);
 *               version 1 stores its data blocks' index so, last;
 *   _close      writes the footer, naming the block at *index as the
 *               index and the metaindex _store_meta stored, syncs and
 *               closes the file, fills meta (NULL for none) and frees
 *               the builder, whatever happens (a file it did not finish
 *               is removed).
 * A failure of any step is sticky: every step after it returns it, and
 * the caller abandons (or closes) the builder. */
typedef struct table_v2_builder table_v2_builder;
int  table_v2_builder_new(table_ctx *ctx, const char *path, uint32_t version, int filter,
                          table_v2_builder **out);
/* How far a builder is: entries added, data blocks stored, bytes
 * appended to the file (the rest is still in memory), and
 * table_builder_file_bytes: the file's size if it were finished now,
 * estimated from above.  _add fills it, whether the entry went in or not
 * (a few loads). */
typedef struct table_v2_progress {
    uint64_t entries, blocks, written, file_bytes;
} table_v2_progress;
int  table_v2_builder_add(table_v2_builder *b, const uint8_t *ikey, size_t ikey_len,
                          const uint8_t *value, size_t value_len, table_v2_progress *p);
int  table_v2_builder_finish(table_v2_builder *b, table_meta *meta);
int  table_v2_builder_end_data(table_v2_builder *b, const uint8_t **index, size_t *len);
int  table_v2_builder_store_meta(table_v2_builder *b);
int  table_v2_builder_store(table_v2_builder *b, const uint8_t *contents, size_t len,
                            table_v2_handle *h, uint8_t **put);
int  table_v2_builder_close(table_v2_builder *b, const table_v2_handle *index,
                            table_meta *meta);
void table_v2_builder_abandon(table_v2_builder *b);

#endif
