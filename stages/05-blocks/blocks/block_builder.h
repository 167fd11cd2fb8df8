/*
 * block_builder.h: builds the contents of one block of a v2 table: sorted
 * entries whose keys share prefixes, and restart points to search them
 * (table_v2_format.h has the byte table; docs/05-blocks.md a worked
 * example).
 *
 *   contents := entry*  restart: u32 * R  R: u32
 *   or, with a hash index (block_hash.h; block_builder_hash_index):
 *   contents := entry*  restart: u32 * R  bucket: u8 * N  N: u16  R | 2^31: u32
 *   with its values in cells (block_value.h; block_builder_value_cells),
 *   bit 30 of the last word set too.
 *   entry    := shared: varint32   unshared: varint32   value_len: varint32
 *               key_delta: unshared bytes   value: value_len bytes
 *
 * An entry's key is the first `shared` bytes of the previous entry's key
 * followed by key_delta.  Every `interval` entries the builder starts a
 * restart point: an entry with shared = 0, whose offset in the contents
 * goes in the restart array.  A reader binary-searches the restart points
 * (their keys are whole, in place) and decodes at most interval - 1
 * entries after one of them.
 *
 * Invariants:
 *   BB1. The first entry is a restart point (restart[0] = 0), and restart
 *       offsets strictly increase.
 *   BB2. An entry at a restart point has shared = 0; any other entry shares
 *       as many leading bytes with the previous key as the two keys have
 *       in common.
 *   BB3. The builder does not look at the order of keys: the table builder
 *       adds them in order (a reader relies on it, and kv check verifies
 *       it).
 * Memory: one buffer for the entries, one for the restart offsets and one
 * for the last key; reused by block_builder_reset, so a table of many
 * blocks allocates them once.
 */
#ifndef KV_BLOCKS_BLOCK_BUILDER_H
#define KV_BLOCKS_BLOCK_BUILDER_H

#include <stddef.h>
#include <stdint.h>

typedef struct block_builder {
    unsigned interval;      /* entries per restart point (>= 1) */
    unsigned counter;       /* entries since the last restart point */
    uint8_t *buf;           /* the entries so far */
    size_t len, cap;
    uint32_t *restarts;     /* their offsets */
    size_t nrestarts, restarts_cap;
    uint8_t *last;          /* the previous key (BB2) */
    size_t last_len, last_cap;
    uint64_t entries;
    struct block_hash_builder *hash; /* NULL, or the block's hash index
                               being built (block_hash.h) */
    struct block_value_packer *cells; /* NULL, or what packs each value
                               into a cell (block_value.h) */
} block_builder;

/* An empty builder.  REQUIRES: interval >= 1.  Allocates nothing yet. */
void block_builder_init(block_builder *b, unsigned interval);
/* From now on, each block gets a hash index of its user keys (keys added
 * are internal keys) if it can (block_hash.h).  KV_OK or KV_ERR_NOMEM. */
int block_builder_hash_index(block_builder *b);
/* From now on, each value added goes in a cell, and each block says so
 * (block_value.h).  KV_OK or KV_ERR_NOMEM. */
int block_builder_value_cells(block_builder *b);
/* Frees its buffers.  The builder may be initialized again. */
void block_builder_free(block_builder *b);
/* Empties it for the next block, keeping its buffers. */
void block_builder_reset(block_builder *b);

/* Appends an entry.  KV_OK or KV_ERR_NOMEM (nothing appended).
 * REQUIRES: klen + vlen and the block stay below 4 GiB. */
int block_builder_add(block_builder *b, const uint8_t *key, size_t klen, const uint8_t *value,
                      size_t vlen);

/* The size of the contents if finished now, and if an entry of these
 * lengths were added first (an upper bound: it assumes no shared prefix,
 * and a value's cell one byte longer than the value). */
size_t block_builder_size(const block_builder *b);
size_t block_builder_size_with(const block_builder *b, size_t klen, size_t vlen);
static inline int block_builder_empty(const block_builder *b) { return b->entries == 0; }

/* Appends the restart array, the hash index if it has one, and the count
 * (with the index's flag), and returns the whole
 * contents (valid until the next call that changes the builder).
 * KV_OK or KV_ERR_NOMEM.  REQUIRES: not empty. */
int block_builder_finish(block_builder *b, const uint8_t **contents, size_t *len);

#endif
