/*
 * table_v2_format.h: table format v2, byte by byte (docs/05-blocks.md has
 * a worked example in hex).  Private to table_v2_*.c; the rest of the
 * engine sees only table.h, and code built on the format's parts sees
 * table_v2_parts.h, which this header includes.
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
 *   then the restart offsets (u32 each) and their count (u32); a data
 *   block of a table built with block_hash_index may have a hash index
 *   between the two, its count's top bit set (block_hash.h); a data
 *   block of a table built with KV_COMPRESSION_LZ4_VALUES has a value
 *   cell in each entry's value field, its count's bit 30 set, and is
 *   stored raw (block_value.h; never in a block stored lz4).
 *     data block   keys: internal keys in order; values: the values (a
 *                  tombstone's is empty); a restart point every
 *                  block_restart_interval entries (kv.h; 16 by default)
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

#include "bloom.h"
#include "io.h"
#include "table_v2_parts.h"

#define TABLE_V2_RESTART_INTERVAL 16u   /* the default; the index's is 1 */
#define TABLE_V2_RESTART_INTERVAL_MAX 1024u
#define TABLE_V2_PROPS_FIXED 40u
#define TABLE_V2_IKEY_MAX (KV_MAX_KEY + IKEY_TRAILER_SIZE)
/* The largest raw contents a reader accepts: one entry of the largest key
 * and value alone in a block, or a full block of the largest block_bytes. */
#define TABLE_V2_RAW_MAX (KV_MAX_VALUE + (2u << 20))

/* The filter's name in the metaindex. */
#define TABLE_V2_META_FILTER ("filter." BLOOM_FORMAT_NAME)
/* The properties' name in the metaindex. */
#define TABLE_V2_META_PROPS "properties"
/* A lower bound on a file: the header, four stored blocks (a data block,
 * the properties, the metaindex, the index), the footer. */
#define TABLE_V2_FILE_MIN (FILE_HEADER_SIZE + 4 * TABLE_V2_TRAILER + TABLE_V2_FOOTER)

/* kv_options ranges (table_ctx_new refuses others with KV_ERR_INVALID). */
#define TABLE_V2_BLOCK_BYTES_DEFAULT 4096u
#define TABLE_V2_BLOCK_BYTES_MIN 64u
#define TABLE_V2_BLOCK_BYTES_MAX (1u << 20)
#define TABLE_V2_BLOOM_BITS_MAX 64
#define TABLE_V2_OPEN_FILES_MAX 1000000

/* An open table: its meta blocks, kept (T3: the index and the filter). */
struct table {
    table_v2_kept kept;      /* what it shows (table_v2_parts.h): its
                                context, id, version, D, index, keys */
    char *path;
    atomic_int refs;
    uint64_t file_bytes;
    uint8_t *meta;           /* file bytes [kept.meta_at, size - 48) */
    size_t meta_len;
    table_v2_handle metaindex_h, props_h, filter_h;
    uint64_t entries, deletes, raw_bytes;
    int counted;             /* in the context's meta_bytes and tables_open */
    file_cache_handle *retired; /* table_retire: its file, held until the end */
    atomic_uchar *checked;   /* two bits per data block: checked in the
                                mapping, and read in place there
                                (table_v2_checked.c); NULL: none */
    size_t checked_len;      /* its bytes */
    uint64_t *fence_lines;   /* a number per data block, and its place
                                (table_v2_fences.c); NULL: none */
    uint64_t *fence_tops;    /* the last fence of every line */
    int block_places;        /* 0: handles read from the index */
    size_t fence_skip;       /* the bytes every separator shares */
    size_t kept_extra;       /* bytes of both, in the context's meta_bytes */
    _Atomic(uintptr_t) map_hint; /* where the file was mapped when last read
                                    there, or 0: only for a prefetch, which
                                    an old address cannot harm
                                    (table_v2_block.c) */
    _Atomic(file_cache_handle *) map_pin; /* the file, held open and mapped
                                    while the table is (file_cache_pin), or
                                    NULL: lookups ask the file cache */
    atomic_int map_pin_tried; /* the pin was asked for once */
    atomic_int ahead_asked;   /* handed to the checker ahead once
                                 (table_v2_check_ahead.c) */
};

/* table_open and table_iter_new for a v2 table (table_v2_open.c,
 * table_v2_iter.c), which table_v2_file_entry.c calls; table_get and
 * table_get_start (table_v2_read.c, table_v2_batch.c), which
 * table_v2_entry.c calls: step 1 (table_v2_in_range), steps 2 and 3
 * (table_v2_find_block), then table_v2_get_at.  Their last: the lookup
 * is table_get_last's (table.h), whose filter the context's
 * filters_for_hits skips. */
int table_v2_open(table_ctx *ctx, const char *path, table **out);
int table_v2_iter_new(table *t, iter **out);
int table_v2_get(table *t, const ikey_lookup *lk, int last, table_get_result *r);
int table_v2_get_start(table *t, const ikey_lookup *lk, int last, table_get_result *r,
                       table_pending *p, int *pending);
/* The contents of the meta block h of an open table: inside the region it
 * keeps ([meta_at, size - 48)), its trailer checked, not compressed; name
 * says which block for an error.  KV_OK or KV_ERR_CORRUPT. */
int table_v2_meta_block(table *t, table_v2_handle h, const char *name, const uint8_t **p);

/* table_inspect_parts over the data blocks index names (NULL: the lines
 * of the table's kept blocks only): table_v2_tool's TABLE_V2_PARTS. */
int table_v2_inspect_parts(table *t, const block *index, const char *label, kv_line_fn line,
                           void *ctx);

/* The tools' salvage (table_salvage.h) for a table of version 1. */
int table_v2_salvage(const char *path, table_entry_fn entry, table_loss_fn loss, void *ctx,
                     table_salvage_info *info);

/* ---- handles, footer, properties (table_v2_meta.c) --------------------------- */

/* Writes h at p (at most TABLE_V2_HANDLE_MAX bytes); returns the end. */
uint8_t *table_v2_handle_encode(uint8_t *p, table_v2_handle h);
/* Decodes a handle from [p, limit); NULL if it is not one. */
const uint8_t *table_v2_handle_decode(const uint8_t *p, const uint8_t *limit,
                                      table_v2_handle *h);
/* Whether the block h lies inside [lo, hi) of the file, trailer included. */
int table_v2_handle_within(table_v2_handle h, uint64_t lo, uint64_t hi);
/* Decodes the footer that ends a file of file_bytes bytes: magic, version
 * (version, the header's), checksum, D inside the file, both handles
 * inside [D, size - 48).  Returns NULL, or what is wrong (with *why_at its
 * offset in the footer). */
const char *table_v2_footer_decode(const uint8_t p[TABLE_V2_FOOTER], uint64_t file_bytes,
                                   uint32_t version, table_v2_footer *f, unsigned *why_at);

void table_v2_footer_encode(uint8_t out[TABLE_V2_FOOTER], const table_v2_footer *f);
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
/* The same without the checksum: type and raw size.  NULL or why. */
const char *table_v2_trailer_check(const uint8_t *p, uint32_t size, int *type, uint32_t *raw);

/* ---- a mapped table's blocks checked in the background (table_v2_check_ahead.c) -- */

typedef struct table_v2_check_ahead table_v2_check_ahead;
/* The context's checker (no thread until a table is asked for).  KV_OK or
 * KV_ERR_NOMEM; *out NULL where threads are not built (KV_BG_INLINE). */
int  table_v2_check_ahead_new(table_v2_check_ahead **out);
/* t's data blocks checked in file order by the checker's thread, once per
 * open of t (CA2); nothing if there is no thread.  Called when a lookup
 * has checked one of its blocks in the mapping (table_v2_block.c). */
void table_v2_check_ahead_ask(table *t);
/* t leaves the checker, walked or not, once no walk of it is under way
 * (CA2): its last table_unref, before it goes. */
void table_v2_check_ahead_forget(table *t);
/* Ends the thread (CA3).  NULL: a no-op. */
void table_v2_check_ahead_stop(table_v2_check_ahead *a);

/* ---- a mapped block checked once (table_v2_checked.c) -------------------------- */

/* Makes t's bits, two per data block (version 1: its index has an entry
 * per data block), or none.  KV_OK or KV_ERR_NOMEM. */
int table_v2_checked_init(table *t);
/* table_v2_stored_check of the data block h of t, its bytes in the
 * file's mapping (mapped 1) or a buffer just read (mapped 0): checksum
 * only if its bit is clear; a block of the mapping that passes sets it,
 * and the second bit if raw and block_init passes (table_v2_checked.c). */
const char *table_v2_check_stored(table *t, table_v2_handle h, const uint8_t *stored,
                                  int mapped, int *type, uint32_t *raw);
/* Whether the data block h of t has both bits: a lookup searches it in
 * the mapping, without asking the block cache or block_init again. */
int table_v2_checked_in_place(const table *t, table_v2_handle h);
/* table_v2_block_get's first steps for such a block (in_place: the
 * above): its end asked of memory; read through the pinned file (1, *why
 * NULL or what is wrong), or 0: the lookup takes the way of every other
 * read. */
void table_v2_checked_prefetch(const table *t, table_v2_handle h, int in_place);
int table_v2_checked_pinned(table *t, table_v2_handle h, table_v2_blockref *ref,
                            unsigned *reads, const char **why);

/* ---- the index answered by numbers (table_v2_fences.c) -------------------------- */

/* Makes t's fences (version 1, its index checked: one entry per data
 * block), or none where the index does not allow them.  KV_OK or
 * KV_ERR_NOMEM. */
int table_v2_fences_init(table *t);
size_t table_v2_fences_bytes(const table *t);
/* REQUIRES: t->fence_lines, user key ukey in t's range (S3).  1 and *entry
 * the index entry of the first separator at or above every internal key
 * of ukey, where the fences say it alone; 0 where the index must be
 * searched (a fence equal to ukey's). */
int table_v2_fences_find(const table *t, const uint8_t *ukey, size_t ulen, uint32_t *entry);
/* The handle in index entry `entry` (a restart point: its key whole),
 * checked to lie inside the data blocks, its place in nth1.  KV_OK or
 * KV_ERR_CORRUPT naming t. */
int table_v2_fences_handle(table *t, uint32_t entry, table_v2_handle *h);
/* KV_ERR_CORRUPT or KV_ERR_NOMEM for a block iterator that failed, in the
 * block at block_at ("index" or "data") of t. */
int table_v2_block_iter_error(table *t, const block_iter *it, const char *what,
                              uint64_t block_at);

/* block_init of [p, p + n), stored as type says; and block_value.h's BV3
 * (no cells in a block stored lz4).  NULL or why. */
const char *table_v2_block_init(block *b, const uint8_t *p, size_t n, int type);
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

/* The data block at h from the block cache (*hit = 1), or nothing (*hit =
 * 0).  KV_OK, or KV_ERR_CORRUPT. */
int table_v2_block_cached(table *t, table_v2_handle h, table_v2_blockref *ref, int *hit);
/* The data block at h from its stored bytes [stored, stored + h.size + 9)
 * (just read; mapped: in the file's mapping, whose blocks are checked
 * once, table_v2_checked.c): checked, decompressed and put in the cache (or, if the
 * cache has no memory, into ref->owned; or, if the cache turns it away,
 * into once as table_v2_block_get says, or, if in_map is not NULL (stored
 * lies in the mapping of the file *in_map holds), left there: *in_map
 * moves to ref->held).  KV_OK, KV_ERR_CORRUPT naming the block,
 * KV_ERR_NOMEM. */
int table_v2_block_keep(table *t, table_v2_handle h, const uint8_t *stored, int mapped,
                        file_cache_handle **in_map, uint8_t *once, size_t once_cap,
                        table_v2_blockref *ref);
/* Decodes the stored block [p, p + h.size + 9) read from t at h.offset
 * into *b: the contents in place if not compressed (b points into p),
 * else decompressed into *scratch (grown as needed; the caller frees it).
 * KV_ERR_CORRUPT naming the block, or KV_ERR_NOMEM. */
int table_v2_block_decode(table *t, table_v2_handle h, const uint8_t *p, uint8_t **scratch,
                          size_t *scratch_cap, block *b);

/* ---- reading (table_v2_read.c) ------------------------------------------------ */

/* Step 1 of a lookup of lk in t, as format v2's own table_get and
 * table_get_start take it: *r reset, the range checked (S3); 1 if the key
 * is in it, and then *hash its bloom_hash if t has a filter (else 0). */
int table_v2_in_range(table *t, const ikey_lookup *lk, table_get_result *r, uint64_t *hash);
/* The counters a lookup ends with, however far it got (found) and
 * however it ended (rc, *r); a lookup its filter did not rule out says
 * its entries were searched (r->searched). */
void table_v2_get_done(table *t, int found, int rc, table_get_result *r);
/* The handle in the value of the index entry the iterator shows, checked
 * to lie inside the data blocks.  KV_OK or KV_ERR_CORRUPT naming t. */
int table_v2_index_handle(table *t, const block_iter *ix, table_v2_handle *h);

/* ---- step 5 (table_v2_search.c; table_v2_scan.c) ----------------------------- */

/* Step 5: the first entry >= target in the data block b (read from
 * block_at): *r says found (a malloc'd value, from its cell if b has
 * cells), deleted or absent. */
int table_v2_block_search(table *t, const block *b, uint64_t block_at, const uint8_t *target,
                          size_t tlen, table_get_result *r);
/* KV_ERR_CORRUPT: the cell of the entry at entry_at of block block_at. */
int table_v2_value_error(table *t, uint64_t block_at, size_t entry_at, const char *why);
/* The answer of the first entry >= target, (key, value): found (a
 * malloc'd copy of the value; value NULL: vlen bytes, left for the caller
 * to fill), deleted, or absent if its user key is another.  KV_OK or
 * KV_ERR_NOMEM. */
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
#endif
