/*
 * lz4_pack.h: a small lz4 compressor for many short inputs one after
 * another (block_value.c packs each value of a block alone), writing
 * lz4's block format, which liblz4's LZ4_decompress_safe reads.
 *
 * Why not liblz4's own: LZ4_compress_fast_extState clears its 16 KiB
 * table for every input, about ten times what compressing a value of 100
 * bytes takes; the call that would not (_fastReset) is not exported by
 * the shared library.  Here
 * the table holds positions counted across inputs, and a position from
 * an earlier input is simply not a candidate, so nothing is cleared
 * between inputs.
 *
 * The format (lz4's block format): sequences of
 *   token: u8  (literal length L: high 4 bits, match length M - 4: low 4)
 *   [L >= 15: more bytes of L - 15, 255 each while there is more]
 *   literals: L bytes
 *   offset: u16 (1..65535, back from here)   } not in the last
 *   [M - 4 >= 15: more bytes of M - 19, as L] } sequence
 * The last sequence is literals only; its last 5 bytes are literals, and
 * no match starts in the last 12 bytes (lz4's rules, which its decoder
 * relies on).
 *
 * Invariants:
 *   LP1. What lz4_pack_compress writes decodes (LZ4_decompress_safe) to exactly
 *        the input, or it writes nothing of use and returns 0.
 *   LP2. It writes only inside [dst, dst + cap).
 */
#ifndef KV_BLOCKS_LZ4_PACK_H
#define KV_BLOCKS_LZ4_PACK_H

#include <stddef.h>
#include <stdint.h>

#define LZ4_PACK_HASH_LOG 12

typedef struct lz4_pack {
    uint32_t next;          /* the position of the next input's first byte */
    uint32_t table[1u << LZ4_PACK_HASH_LOG]; /* the last position of each
                               4-byte hash, or below the input: none */
} lz4_pack;

/* An empty compressor. */
void lz4_pack_init(lz4_pack *z);
/* Compresses [src, src + n) into dst: the bytes written, or 0 if they
 * would not fit in cap (LP1, LP2).  REQUIRES: n <= 2^30. */
size_t lz4_pack_compress(lz4_pack *z, const uint8_t *src, size_t n, uint8_t *dst, size_t cap);

#endif
