/*
 * table_v2_format.h: table format v2, byte by byte (docs/05-blocks.md has
 * a worked example in hex).  Private to table_v2_*.c; the rest of the
 * engine sees only table.h.
 *
 * All integers are little-endian; varints as common/coding.h.  D is where
 * the data blocks end and the meta blocks begin.
 *
 *   offset      size   field
 *   0           16     file header: "KVS05TBL", version 1, crc32c
 *                      (common/file_header.h)
 *   16          ...    data blocks, each a stored block, back to back,
 *                      in key order (the first at 16, the last ending at D)
 *   D           ...    meta blocks, stored blocks, never compressed:
 *                      the filter (if the table has one), the properties,
 *                      the metaindex, the index
 *   size - 48   48     footer:
 *                +0  8   D
 *                +8  8   the index's offset
 *                +16 4   the index's stored size
 *                +20 8   the metaindex's offset
 *                +28 4   the metaindex's stored size
 *                +32 8   magic "KVS05TBL"
 *                +40 4   format version, 1
 *                +44 4   crc32c of footer bytes 0..43
 *
 *   stored block := contents (stored size bytes), then a 9-byte trailer:
 *                +0  1   compression: 0 none, 1 lz4
 *                +1  4   raw size: the contents' size once decompressed
 *                        (the stored size itself when not compressed)
 *                +5  4   crc32c of the contents and trailer bytes 0..4
 *   block handle := offset: varint64, stored size: varint32 (the block
 *                   takes stored size + 9 bytes from offset)
 *
 *   block contents (block_builder.h): entries with shared key prefixes,
 *   then the restart offsets (u32 each) and their count (u32).
 *     data block   keys: internal keys in order; values: the values (a
 *                  tombstone's is empty); a restart point every 16 entries
 *     index block  one entry per data block, a restart point at each: key
 *                  S_i with (last key of block i) <= S_i < (first key of
 *                  block i + 1), and for the last block the table's
 *                  largest key; value: block i's handle
 *     metaindex    name -> handle, a restart point at each, names in
 *                  bytewise order: "filter.bloom.v1" (only with a
 *                  filter), "properties"
 *   filter contents: bloom.h's bytes (the bits, then k)
 *   properties contents (exactly 40 + S + L bytes):
 *                +0  8   entries (>= 1)      +8  8   of which tombstones
 *                +16 8   data blocks (>= 1)  +24 8   their raw bytes
 *                +32 4   S                   +36 4   L
 *                +40 S   smallest internal key, then L bytes: the largest
 *
 * Invariants of table_v2_*.c (besides table.h's T1-T3):
 *   T1. No byte of a block is believed before its trailer's CRC matched;
 *       no raw size is allocated before it was checked against the stored
 *       size; lz4 writes exactly the recorded raw size, or the block is
 *       damaged.
 *   T2. Every offset and length read from the file is checked against
 *       what holds it (the file's size, D, the meta region, the block)
 *       before it is used; every decoder looks only inside its [p, limit).
 *   T3. Only checked blocks enter the block cache (block_cache.h, C2).
 *   T4. An open table keeps [D, size - 48) and nothing per entry; a
 *       lookup reads at most one data block, with one positioned read.
 *
 * Why a stored block has its own checksum and raw size: a lookup reads one
 * block and checks just that block before believing it, and allocates the
 * raw size (bounded: at most 256 times the stored size plus 64, which lz4
 * cannot exceed, and TABLE_V2_RAW_MAX) before decompressing into exactly
 * that many bytes.  Why the footer holds D: an open reads the footer, then
 * every meta block in one read of [D, size - 48), and keeps it: the index
 * and the filter are all of a table it keeps in memory (table.h, T3).
 */
#ifndef KV_BLOCKS_TABLE_V2_FORMAT_H
#define KV_BLOCKS_TABLE_V2_FORMAT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "block_cache.h"
#include "bloom.h"
#include "coding.h"
#include "file_cache.h"
#include "file_header.h"
#include "io.h"
#include "table.h"
#include "table_batch.h"

#define TABLE_V2_VERSION 1u
#define TABLE_V2_DATA_AT FILE_HEADER_SIZE   /* the first data block */
#define TABLE_V2_TRAILER 9u
#define TABLE_V2_FOOTER 48u
#define TABLE_V2_HANDLE_MAX (CODING_MAX_VARINT64 + CODING_MAX_VARINT32)
#define TABLE_V2_RESTART_INTERVAL 16u
#define TABLE_V2_PROPS_FIXED 40u
#define TABLE_V2_IKEY_MIN (IKEY_TRAILER_SIZE + 1)
#define TABLE_V2_IKEY_MAX (KV_MAX_KEY + IKEY_TRAILER_SIZE)
/* The largest raw contents a reader accepts: one entry of the largest key
 * and value alone in a block, or a full block of the largest block_bytes. */
#define TABLE_V2_RAW_MAX (KV_MAX_VALUE + (2u << 20))
/* A lower bound on a file: the header, four stored blocks (a data block,
 * the properties, the metaindex, the index), the footer. */
#define TABLE_V2_FILE_MIN (FILE_HEADER_SIZE + 4 * TABLE_V2_TRAILER + TABLE_V2_FOOTER)

/* Compression types (the trailer's first byte). */
enum { TABLE_V2_RAW = 0, TABLE_V2_LZ4 = 1 };

/* Meta block names. */
#define TABLE_V2_META_FILTER ("filter." BLOOM_FORMAT_NAME)
#define TABLE_V2_META_PROPS "properties"

/* kv_options ranges (table_ctx_new refuses others with KV_ERR_INVALID). */
#define TABLE_V2_BLOCK_BYTES_DEFAULT 4096u
#define TABLE_V2_BLOCK_BYTES_MIN 64u
#define TABLE_V2_BLOCK_BYTES_MAX (1u << 20)
#define TABLE_V2_BLOOM_BITS_MAX 64
#define TABLE_V2_OPEN_FILES_MAX 1000000

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
 * counters. */
struct table_ctx {
    size_t block_bytes;
    int compression;             /* TABLE_V2_RAW or TABLE_V2_LZ4 */
    int bloom_bits;              /* bits per key; 0: no filters */
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
};

typedef struct table_v2_handle {
    uint64_t offset;
    uint32_t size;           /* stored size, the trailer not counted */
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

/* What a version of the format answers its own way, set by the open that
 * read the file (table_v2_open_meta: version 1's, table_v2_version_1 in
 * table_v2_read.c):
 *   find_block           steps 1 to 3 of a lookup, as
 *                        table_v2_find_block_whole says them;
 *   index_whole          the index as one block, one entry per data
 *                        block, as iterators and the tools walk it:
 *                        ref->b, released by table_v2_block_release;
 *   filter_says_absent   whether the filter a lookup of the user key at
 *                        the newest sequence asks rules it out (0 if the
 *                        table has none, or it cannot be read). */
typedef struct table_v2_version_ops {
    int (*find_block)(table *t, const ikey_lookup *lk, table_get_result *r,
                      table_v2_handle *h, int *found);
    int (*index_whole)(table *t, table_v2_blockref *ref);
    int (*filter_says_absent)(table *t, const uint8_t *ukey, size_t ulen);
} table_v2_version_ops;

/* An open table: its meta blocks, kept (T3: the index and the filter). */
struct table {
    table_ctx *ctx;
    char *path;
    uint64_t id;             /* its key in the block and file caches */
    atomic_int refs;
    uint32_t version;        /* its header's format version */
    const table_v2_version_ops *ops;   /* that version's (above) */
    uint64_t file_bytes;
    uint64_t data_end;       /* D */
    uint8_t *meta;           /* file bytes [meta_at, size - 48) */
    uint64_t meta_at;        /* D */
    size_t meta_len;
    table_v2_handle index_h, metaindex_h, props_h, filter_h;
    block index;             /* inside meta */
    const uint8_t *filter;   /* inside meta; NULL if none */
    size_t filter_len;
    uint64_t entries, deletes, data_blocks, raw_bytes;
    int counted;             /* in the context's meta_bytes and tables_open */
    file_cache_handle *retired; /* table_retire: its file, held until the end */
    const uint8_t *smallest, *largest;   /* inside meta */
    size_t smallest_len, largest_len;
};

/* ---- table.h's context and lookups (table_v2_entry.c calls these) ---------- */

/* Fills a zeroed context: the options, the block cache, the file cache.
 * KV_OK, or as table_ctx_new fails (then nothing is held). */
int  table_v2_ctx_init(table_ctx *ctx, const kv_options *opt);
/* Frees what init made, not ctx itself. */
void table_v2_ctx_release(table_ctx *ctx);
void table_v2_ctx_stats(table_ctx *ctx, kv_line_fn line, void *line_ctx);
/* table_get, table_get_start, table_get_finish (table_v2_read.c,
 * table_v2_batch.c). */
int  table_v2_get(table *t, const ikey_lookup *lk, table_get_result *r);
int  table_v2_get_start(table *t, const ikey_lookup *lk, table_get_result *r,
                        table_pending *p, int *pending);
int  table_v2_get_finish(table_pending *p, const io_read_req *done,
                         const ikey_lookup *lk, table_get_result *r);

/* ---- table.h's whole-table functions (table_v2_file_entry.c calls these) ---- */

/* table_open, table_iter_new (table_v2_open.c, table_v2_iter.c), and the
 * tools' table_check, table_dump, table_salvage, table_inspect_parts and
 * table_inspect_filter_says_absent (tools/), as table.h,
 * table_salvage.h and table_inspect.h say them, for a v2 table; check and
 * dump open it with `open` (table_v2_open, or a reader of later versions
 * too). */
int table_v2_open(table_ctx *ctx, const char *path, table **out);
int table_v2_iter_new(table *t, iter **out);
/* table_v2_open in three steps, for a reader of versions of the format
 * after 1 as well:
 *   _ends   a table of path with its header and footer read and checked,
 *           its version, from 1 to max_version, the header's (and the
 *           footer's, *f); nothing of its meta blocks read yet;
 *   _meta   version 1's meta region [D, size - 48), read and checked;
 *   _done   the open table counted in the context.
 * On failure _ends holds nothing; after it, table_unref frees the table. */
int table_v2_open_ends(table_ctx *ctx, const char *path, uint32_t max_version, table **out,
                       table_v2_footer *f);
int table_v2_open_meta(table *t, const table_v2_footer *f);
void table_v2_open_done(table *t);
/* The first part of _meta, for every version: the region an open table
 * keeps, [at, size - 48), read into t->meta, and the footer's metaindex
 * decoded (t->props_h, and t->filter_h with *has_filter).  KV_OK,
 * KV_ERR_CORRUPT, KV_ERR_IO, KV_ERR_NOMEM. */
int table_v2_open_kept(table *t, const table_v2_footer *f, uint64_t at, int *has_filter);
/* Whether user key [ukey, ukey + ulen) lies in t's [smallest, largest]
 * (step 1 of a lookup). */
static inline int table_v2_holds_user_key(const table *t, const uint8_t *ukey, size_t ulen)
{
    return ikey_user_compare(ukey, ulen, t->smallest, t->smallest_len - IKEY_TRAILER_SIZE) >= 0 &&
           ikey_user_compare(ukey, ulen, t->largest, t->largest_len - IKEY_TRAILER_SIZE) <= 0;
}
/* The properties block of an open table (t->props_h), checked and
 * decoded into t's counts and keys.  KV_OK or KV_ERR_CORRUPT. */
int table_v2_open_props(table *t);
/* The contents of the meta block h of an open table: inside the region it
 * keeps ([meta_at, size - 48)), its trailer checked, not compressed; name
 * says which block for an error.  KV_OK or KV_ERR_CORRUPT. */
int table_v2_meta_block(table *t, table_v2_handle h, const char *name, const uint8_t **p);

typedef int (*table_v2_open_fn)(table_ctx *ctx, const char *path, table **out);
int table_v2_check(const char *path, const char *label, kv_line_fn line, void *line_ctx,
                   table_v2_open_fn open);
int table_v2_dump(const char *path, const char *label, kv_line_fn line, void *line_ctx,
                  table_v2_open_fn open);
int table_v2_salvage(const char *path, table_entry_fn entry, table_loss_fn loss, void *ctx,
                     table_salvage_info *info);
/* The same with the data blocks named by the caller, in order (an index it
 * read itself; NULL: the index block's), instead of the index block's:
 * each is read and checked, and what they leave out is scanned. */
int table_v2_salvage_named(const char *path, const table_v2_handle *named, size_t n,
                           table_entry_fn entry, table_loss_fn loss, void *ctx,
                           table_salvage_info *info);
int table_v2_inspect_parts(table *t, const char *label, kv_line_fn line, void *ctx);
int table_v2_inspect_filter_says_absent(const table *t, const uint8_t *ukey, size_t ulen);

/* ---- table.h's builder (table_v2_entry.c calls these) ------------------------ */

/* table_builder_new, _add, _entries, _file_bytes, _finish, _abandon
 * (table_v2_build.c), as table.h says them. */
typedef struct table_v2_builder table_v2_builder;
int  table_v2_builder_new(table_ctx *ctx, const char *path, table_v2_builder **out);
int  table_v2_builder_add(table_v2_builder *b, const uint8_t *ikey, size_t ikey_len,
                          const uint8_t *value, size_t value_len);
uint64_t table_v2_builder_entries(const table_v2_builder *b);
uint64_t table_v2_builder_file_bytes(const table_v2_builder *b);
/* The bytes appended to the file so far (the rest of file_bytes' estimate
 * is still in memory). */
uint64_t table_v2_builder_written(const table_v2_builder *b);
int  table_v2_builder_finish(table_v2_builder *b, table_meta *meta);
void table_v2_builder_abandon(table_v2_builder *b);

/* For a version of the format after 1, whose code writes the meta blocks
 * itself: a builder of the data blocks alone, keeping no filter, whose
 * file's header says version.  Entries are added as to any builder; then:
 *   _blocks     the data blocks stored so far;
 *   _end_data   stores the last data block: the data blocks end at
 *               _written (D); *index is the index block's contents (one
 *               entry per data block, as version 1's), valid until close;
 *   _store      stores contents as one block, not compressed, at the end
 *               of the file (*h says where);
 *   _props      stores the properties block;
 *   _close      writes the footer, syncs and closes the file, fills meta
 *               (NULL for none) and frees the builder.
 * Any failure is sticky and returned by every step after it; the caller
 * then abandons the builder. */
int  table_v2_builder_new_data(table_ctx *ctx, const char *path, uint32_t version,
                               table_v2_builder **out);
uint64_t table_v2_builder_blocks(const table_v2_builder *b);
int  table_v2_builder_end_data(table_v2_builder *b, const uint8_t **index, size_t *len);
int  table_v2_builder_store(table_v2_builder *b, const uint8_t *contents, size_t len,
                            table_v2_handle *h);
int  table_v2_builder_props(table_v2_builder *b, table_v2_handle *h);
int  table_v2_builder_close(table_v2_builder *b, const table_v2_footer *f, table_meta *meta);

/* ---- handles, footer, properties (table_v2_meta.c) --------------------------- */

uint8_t *table_v2_handle_encode(uint8_t *p, table_v2_handle h);
/* Decodes a handle from [p, limit); NULL if it is not one. */
const uint8_t *table_v2_handle_decode(const uint8_t *p, const uint8_t *limit,
                                      table_v2_handle *h);
/* Whether the block h lies inside [lo, hi) of the file, trailer included. */
int table_v2_handle_within(table_v2_handle h, uint64_t lo, uint64_t hi);

void table_v2_footer_encode(uint8_t out[TABLE_V2_FOOTER], const table_v2_footer *f);
/* Decodes the footer that ends a file of file_bytes bytes: magic, version
 * (version, the header's), checksum, D inside the file, both handles
 * inside [D, size - 48).  Returns NULL, or what is wrong (with *why_at its
 * offset in the footer). */
const char *table_v2_footer_decode(const uint8_t p[TABLE_V2_FOOTER], uint64_t file_bytes,
                                   uint32_t version, table_v2_footer *f, unsigned *why_at);

typedef struct table_v2_props {
    uint64_t entries, deletes, data_blocks, raw_bytes;
    const uint8_t *smallest, *largest;   /* into the decoded bytes */
    size_t smallest_len, largest_len;
} table_v2_props;

/* The properties' bytes for p; writes TABLE_V2_PROPS_FIXED + S + L bytes
 * at out (NULL: only the size). */
size_t table_v2_props_encode(uint8_t *out, const table_v2_props *p);
/* Decodes [p, p + n): exact size, counts possible (entries >= 1, blocks
 * >= 1, tombstones <= entries), two internal keys in order.  NULL or why. */
const char *table_v2_props_decode(const uint8_t *p, size_t n, table_v2_props *out);

/* The metaindex's entries: the filter's and the properties' handles.
 * Unknown names are skipped (a later format's meta blocks).  NULL or why;
 * *has_filter says whether the filter entry was there. */
const char *table_v2_metaindex_decode(const block *b, table_v2_handle *filter,
                                      int *has_filter, table_v2_handle *props);

/* ---- stored blocks (table_v2_block.c) ----------------------------------------- */

/* Checks the stored block whose contents are [p, p + size) and trailer
 * follows: checksum, type, raw size.  NULL or why. */
const char *table_v2_stored_check(const uint8_t *p, uint32_t size, int *type, uint32_t *raw);
/* Decompresses lz4 contents [p, p + size) into exactly raw bytes at dst.
 * NULL or why. */
const char *table_v2_uncompress(const uint8_t *p, uint32_t size, uint8_t *dst, uint32_t raw);

/* A positioned read of exactly n bytes at off of t's file (through the
 * file cache), counted in the context and in *reads if not NULL; a short
 * read is KV_ERR_CORRUPT.  pin: NULL, or where a reader that must go on
 * reading after the file is deleted (an iterator: table.h) keeps the file
 * open: a read fills it if it is NULL, and uses it; the reader releases
 * it (file_cache_release) when done. */
int table_v2_read(table *t, file_cache_handle **pin, uint64_t off, void *buf, size_t n,
                  unsigned *reads);
/* KV_ERR_CORRUPT for a read of n bytes at off of t that found only got
 * (the file ends first). */
int table_v2_read_short(table *t, uint64_t off, size_t got, size_t n);
/* The same n bytes at off, without a copy where the file is mapped
 * (file_cache.h, F4): *p points into the mapping, or at buf, filled by
 * table_v2_read.  The mapping is valid while the file is held: *pin
 * (REQUIRES: pin not NULL) is filled as table_v2_read says, and the caller
 * releases it after its last use of *p. */
int table_v2_read_view(table *t, file_cache_handle **pin, uint64_t off, void *buf, size_t n,
                       const uint8_t **p, unsigned *reads);


/* A lookup reads a stored block of up to this size into its stack. */
#define TABLE_V2_STACK_READ (16u * 1024u)

/* The data block at h, decoded and checked: from the cache, or read (one
 * read of the mapped file or one positioned read, through pin as
 * table_v2_read says) and then put in the cache.  *from_cache says which.
 * once (NULL for none) is a buffer of once_cap bytes of the caller's: a
 * block the full cache turns away (block_cache_admit) that fits in it is
 * decompressed there and kept nowhere, valid while once is; or, where pin
 * is NULL (a lookup), left where it was read: in the file's mapping, held
 * by ref (table_v2_blockref), or, where the file is not mapped, in
 * read_buf (NULL for none: TABLE_V2_STACK_READ bytes of the caller's,
 * valid while it uses ref).  ref->lz4 says whether it still needs
 * decoding (table_v2_scan).
 * KV_OK, KV_ERR_IO, KV_ERR_CORRUPT (naming the file and the block's
 * offset), KV_ERR_NOMEM. */
int table_v2_block_get(table *t, file_cache_handle **pin, table_v2_handle h, uint8_t *once,
                       size_t once_cap, uint8_t *read_buf, table_v2_blockref *ref,
                       int *from_cache, unsigned *reads);
/* The data block at h from the block cache (*hit = 1), or nothing (*hit =
 * 0).  KV_OK, or KV_ERR_CORRUPT. */
int table_v2_block_cached(table *t, table_v2_handle h, table_v2_blockref *ref, int *hit);
/* The data block at h from its stored bytes [stored, stored + h.size + 9)
 * (just read): checked, decompressed and put in the cache (or, if the
 * cache has no memory, into ref->owned; or, if the cache turns it away,
 * into once as table_v2_block_get says, or, if in_map is not NULL (stored
 * lies in the mapping of the file *in_map holds), left there: *in_map
 * moves to ref->held).  KV_OK, KV_ERR_CORRUPT naming the block,
 * KV_ERR_NOMEM. */
int table_v2_block_keep(table *t, table_v2_handle h, const uint8_t *stored,
                        file_cache_handle **in_map, uint8_t *once, size_t once_cap,
                        table_v2_blockref *ref);
/* Decodes the stored block [p, p + h.size + 9) read from t at h.offset
 * into *b: the contents in place if not compressed (b points into p),
 * else decompressed into *scratch (grown as needed; the caller frees it).
 * KV_ERR_CORRUPT naming the block, or KV_ERR_NOMEM. */
int table_v2_block_decode(table *t, table_v2_handle h, const uint8_t *p, uint8_t **scratch,
                          size_t *scratch_cap, block *b);
void table_v2_block_release(table *t, table_v2_blockref *ref);

/* ---- reading (table_v2_read.c) ------------------------------------------------ */

/* How far steps 1 to 3 of a lookup got (table_v2_find_block). */
enum {
    TABLE_V2_RULED_OUT,     /* outside the table's keys, or the filter said no */
    TABLE_V2_NO_BLOCK,      /* the index searched: every entry is below the key */
    TABLE_V2_BLOCK          /* the one data block that may hold it */
};
/* Steps 1 to 3 of a lookup of lk (the key range, the filter, the index),
 * counted, in the table's counters and in *r's costs: *found says how
 * far, and *h is the block for TABLE_V2_BLOCK.  KV_OK, or KV_ERR_CORRUPT /
 * KV_ERR_NOMEM from the index. */
int table_v2_find_block_whole(table *t, const ikey_lookup *lk, table_get_result *r,
                              table_v2_handle *h, int *found);
/* Version 1's ops: the lookup above, t->index whole, t->filter. */
extern const table_v2_version_ops table_v2_version_1;
/* The counters a lookup ends with, however far it got (found) and
 * however it ended (rc, *r). */
void table_v2_get_done(table *t, int found, int rc, const table_get_result *r);
/* The handle in the value of the index entry the iterator shows, checked
 * to lie inside the data blocks.  KV_OK or KV_ERR_CORRUPT naming t. */
int table_v2_index_handle(table *t, const block_iter *ix, table_v2_handle *h);

/* ---- step 5 (table_v2_search.c; table_v2_scan.c) ----------------------------- */

/* Step 5: the first entry >= target in the data block b (read from
 * block_at): *r says found (a malloc'd value), deleted or absent. */
int table_v2_block_search(table *t, const block *b, uint64_t block_at, const uint8_t *target,
                          size_t tlen, table_get_result *r);
/* The answer of the first entry >= target, (key, value): found (a
 * malloc'd copy of the value), deleted, or absent if its user key is
 * another.  KV_OK or KV_ERR_NOMEM. */
int table_v2_block_answer(const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen,
                          const uint8_t *target, size_t tlen, table_get_result *r);
/* Step 5 for a block left in the file's mapping as lz4 bytes (ref->lz4,
 * table_v2_blockref): decoded into once (TABLE_V2_GET_ONCE bytes plus
 * LZ4_STEPS_SLACK) only as far as the first entry >= target, entries read
 * in order from the first; whatever that walk cannot settle (the end of
 * the entries reached, a key longer than its buffer, a malformed entry or
 * lz4 sequence) is settled by decoding the whole block with liblz4 and
 * table_v2_block_search, so answers and errors are those of the whole
 * block (table_v2_scan.c). */
int table_v2_scan(table *t, table_v2_handle h, const table_v2_blockref *ref, uint8_t *once,
                  const uint8_t *target, size_t tlen, table_get_result *r);
/* KV_ERR_CORRUPT or KV_ERR_NOMEM for a block iterator that failed, in the
 * block at block_at ("index" or "data") of t. */
int table_v2_block_iter_error(table *t, const block_iter *it, const char *what,
                              uint64_t block_at);

#endif
