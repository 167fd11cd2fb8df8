/*
 * block_value.h: a data block whose values are compressed one by one
 * (kv_options.compression = KV_COMPRESSION_LZ4_VALUES), so that a get
 * decompresses the one value it returns, not the whole block.  An
 * optimisation: a first reading skips this file; a block stored whole
 * with lz4 (table_v2_format.h) holds the same entries.
 *
 * The block is an ordinary block (block_builder.h): its keys, restart
 * array and hash index stay as they are, searchable where the block lies;
 * only each entry's value field holds a value cell instead of the value,
 * and bit 30 of the block's last word says so:
 *
 *   contents := entry*  restart: u32 * R  [hash index]  R | 2^30 [| 2^31]: u32
 *   cell     := (nothing)                   an empty value (a tombstone's)
 *             | 0x00  value: n bytes        a value of n >= 1 bytes, as it is
 *             | n: varint32 (n >= 1)  lz4   a value of n bytes, lz4's block
 *                                           format, to the field's end
 *
 * A value is stored compressed only if its cell is at most 7/8 of the
 * value (as a whole block is: table_v2_build.c); else as it is, one byte
 * more.  A block stored so is raw in its trailer (type 0): its CRC is
 * computed once, in the mapping, and it is searched there
 * (table_v2_checked.c).
 *
 * Invariants:
 *   BV1. (builder) A cell is what block_value_pack made of the value: it
 *        decodes to exactly the value.
 *   BV2. (reader) A cell is read only inside [p, p + n); its length n is
 *        believed only up to BLOCK_VALUE_MAX and 256 times the lz4 bytes
 *        plus 64 (which lz4 cannot exceed) before anything is allocated,
 *        and lz4 must give exactly n bytes: anything else is a damaged
 *        cell (the caller's KV_ERR_CORRUPT), never a read or a write
 *        outside the buffers.
 *   BV3. A block whose trailer says it is stored with lz4 holds no cells:
 *        a value compressed twice is damage (table_v2_block.c).
 */
#ifndef KV_BLOCKS_BLOCK_VALUE_H
#define KV_BLOCKS_BLOCK_VALUE_H

#include <stddef.h>
#include <stdint.h>

#define BLOCK_VALUE_FLAG 0x40000000u
/* The largest value a cell may say it holds (kv.h's KV_MAX_VALUE). */
#define BLOCK_VALUE_MAX (64u * 1024u * 1024u)
/* A value shorter than this is never compressed: lz4 cannot save an
 * eighth of it. */
#define BLOCK_VALUE_MIN_PACKED 16u

/* What a builder keeps to pack values: lz4's state, and a cell's room. */
typedef struct block_value_packer {
    struct lz4_pack *lz4;    /* made once (lz4_pack.h) */
    uint8_t *cell;
    size_t cap;
} block_value_packer;

/* A packer, or NULL without memory. */
block_value_packer *block_value_packer_new(void);
void block_value_packer_free(block_value_packer *pk);
/* The cell of value [v, v + n): *cell (the packer's, valid until the next
 * call) and its length, at most n + 1 (BV1).  KV_OK or KV_ERR_NOMEM.
 * REQUIRES: n <= BLOCK_VALUE_MAX. */
int block_value_pack(block_value_packer *pk, const uint8_t *v, size_t n, const uint8_t **cell,
                     size_t *cell_len);

/* The length of the value the cell [p, p + n) holds, checked as BV2 says.
 * NULL, or what is wrong. */
const char *block_value_size(const uint8_t *p, size_t n, size_t *len);
/* The value of the cell [p, p + n) into exactly len bytes at dst (len from
 * block_value_size).  NULL, or what is wrong. */
const char *block_value_unpack(const uint8_t *p, size_t n, uint8_t *dst, size_t len);

#endif
