/*
 * block_hash.h: a hash index inside a data block (RocksDB's data-block
 * hash index), so that a get finds the run of entries its key lies in by
 * one probe of a small table instead of a binary search over the restart
 * points' keys.  An optimisation: a first reading skips this file; a
 * block without the index is searched by block_iter_seek (block.h), and
 * one with it answers every get the same.
 *
 * The bytes (block_builder.h has the whole block):
 *
 *   contents := entry*  restart: u32 * R  bucket: u8 * N  N: u16  R | 2^31: u32
 *
 * The top bit of the last word says the index is there; a block without
 * one ends in R alone (R < 2^31), as it always did.  A key's bucket is
 * block_hash_bucket(its user key, N): the internal key without its
 * 8-byte trailer, hashed as the bloom filter hashes it (bloom_hash),
 * mapped onto [0, N) by a multiply.  A bucket holds
 *   BLOCK_HASH_EMPTY      no user key of the block falls in it;
 *   r < R                 every entry of every user key that falls in it
 *                         lies in run r: from restart point r up to
 *                         restart point r + 1 (or the entries' end);
 *   BLOCK_HASH_COLLISION  keys of different runs fall in it, or one key's
 *                         versions cross a restart point: the binary
 *                         search decides.
 *
 * Invariants:
 *   BH1. (builder) A block has an index only if the table asked for one
 *        (kv_options.block_hash_index) and it has at most
 *        BLOCK_HASH_MAX_RESTARTS restart points; N = 4 entries + 1, at
 *        most 65535 (BLOCK_HASH_BUCKETS_PER_ENTRY).
 *   BH2. (builder) Every user key of the block is in its bucket: the
 *        bucket names its run, or is a collision.
 *   BH3. (reader) A bucket's run is believed only after r < R is checked:
 *        a damaged bucket is KV_ERR_CORRUPT, never a read outside the
 *        restart array.  A bucket that names the wrong run of an intact
 *        array can only make a get miss its key, which the block's
 *        checksum makes as unlikely as any other undetected damage; kv
 *        check reads every key's bucket (block_hash_check_entry).
 *
 * What a get gains: the binary search reads the entry at each restart
 * point it compares, each a line of the block no cache holds; the probe
 * reads one byte next to the restart array, which the get has read
 * already, and the one run it names.
 */
#ifndef KV_BLOCKS_BLOCK_HASH_H
#define KV_BLOCKS_BLOCK_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "block.h"

#define BLOCK_HASH_FLAG 0x80000000u
#define BLOCK_HASH_EMPTY 255u
#define BLOCK_HASH_COLLISION 254u
#define BLOCK_HASH_MAX_RESTARTS 253u
#define BLOCK_HASH_MAX_BUCKETS 65535u
/* Buckets a key (BH1).  A key collides when a key of another run falls in
 * its bucket: of a block of E entries in runs of r, with N buckets, about
 * 1 - e^(-(E - r) / N) of its keys do.  At RocksDB's default (N = 4E/3),
 * 32 entries in runs of 4 (a block of 4 KiB of 100-byte values, a
 * restart point every 4 entries) collide for half their keys, and each of
 * those gets is a binary search after all; at 4 a key, for a fifth, for
 * 4 bytes more an entry (3% of such a block). */
#define BLOCK_HASH_BUCKETS_PER_ENTRY 4u

/* The 32 bits of a user key's hash the index uses. */
uint32_t block_hash_of(const uint8_t *ukey, size_t ulen);

/* The bucket of hash h among n >= 1. */
static inline uint32_t block_hash_bucket(uint32_t h, uint32_t n)
{
    return (uint32_t)(((uint64_t)h * n) >> 32);
}

/* The buckets of a block of this many entries (BH1). */
uint32_t block_hash_buckets_for(uint64_t entries);

/* For a get: positions *it on the first entry >= target (ikey_compare) if
 * the block holds target's user key, as block_iter_seek would.  If the
 * block does not hold it, the iterator may be left invalid (status
 * KV_OK) instead of on a later key: the same answer for a get (absent),
 * not for an iterator's seek.  A block without an index is searched by
 * block_iter_seek.  REQUIRES: as block_iter_seek. */
void block_hash_seek(block_iter *it, const uint8_t *target, size_t tlen);

/* ---- building (block_builder.c calls these; with h NULL, each does
 * nothing and the block gets no index) ---------------------------------- */

/* The index of one block being built: each entry's user-key hash and run,
 * then the buckets made from them.  Reset for each block, its buffers
 * kept. */
typedef struct block_hash_builder {
    uint64_t *hashes;       /* each entry's block_hash_of << 32 | its run */
    size_t n, cap;
    uint8_t *buckets;
    size_t buckets_cap;
    uint32_t nbuckets;      /* made by the last finish; 0: no index */
} block_hash_builder;

block_hash_builder *block_hash_builder_new(void); /* NULL: no memory */
void block_hash_builder_free(block_hash_builder *h);
void block_hash_builder_reset(block_hash_builder *h);
/* Room for one more entry's note: KV_OK, or KV_ERR_NOMEM (nothing
 * changed), so that a note after it cannot fail. */
int block_hash_builder_room(block_hash_builder *h);
/* The entry of internal key [ikey, ikey + klen), in run `run`. */
void block_hash_builder_note(block_hash_builder *h, const uint8_t *ikey, size_t klen,
                             uint32_t run);
/* The bytes of the index of a block of this many entries and restart
 * points (restarts 0: as if it could have one), or 0 if it gets none. */
size_t block_hash_builder_bytes(const block_hash_builder *h, uint64_t entries, size_t restarts);
/* Makes the buckets (BH2) of the block of these restart points, and
 * returns the bytes of its index: 0 if it gets none (BH1, or no memory
 * for them: a block without an index answers the same). */
size_t block_hash_builder_finish(block_hash_builder *h, size_t restarts);
/* Writes the index block_hash_builder_finish made at p (buckets, then N)
 * and sets the flag in *last; returns where the last word goes. */
uint8_t *block_hash_builder_put(const block_hash_builder *h, uint8_t *p, uint32_t *last);

/* For kv check: NULL if every bucket is empty, a collision or a restart
 * point of the block, else what is wrong, at byte *at of the contents.  A
 * block without an index: NULL. */
const char *block_hash_check_buckets(const block *b, size_t *at);
/* For kv check: NULL if the entry of this key, in run `restart`, is where
 * its bucket says (BH2), else what is wrong.  A block without an index:
 * NULL. */
const char *block_hash_check_entry(const block *b, const uint8_t *key, size_t klen,
                                   uint32_t restart);

#endif
