/*
 * block.h: reading the contents of one block of a v2 table (written by
 * block_builder.h, whose comment has the byte layout): finding its
 * restart points, and an iterator over its entries, both ways, with a
 * seek by binary search over the restart points.
 *
 * Everything here looks only inside the contents [data, data + size) it
 * is given; no length read from them is believed before it is checked
 * against what is left (block_init checks the restart array, and each
 * step of the iterator checks the entry it decodes).  Damage never
 * crashes: the iterator stops with status KV_ERR_CORRUPT, a reason
 * (`why`) and the offset in the contents where it was found; the caller,
 * which knows the file and the block's offset, writes the message.
 *
 * Invariants the iterator checks as it goes (block_builder.h, B1 and B2):
 *   - an entry decodes within the entries (before the restart array);
 *   - its key is at least min_key bytes (internal keys: 9) and shares no
 *     more bytes than the previous key has;
 *   - an entry at a restart offset has shared = 0, and no restart offset
 *     falls inside an entry.
 * The order of keys is not checked here: seek trusts it (a damaged order
 * can only make a seek land on a wrong entry of an intact block, which
 * the per-block checksum makes as unlikely as any undetected damage), and
 * kv check verifies it.
 *
 * Keys are compared with ikey_compare (internal_key.h): seek needs
 * min_key >= 8.  A block whose keys are names (the metaindex) is only
 * walked.
 */
#ifndef KV_BLOCKS_BLOCK_H
#define KV_BLOCKS_BLOCK_H

#include <stddef.h>
#include <stdint.h>

/* The contents of one block, its restart array found. */
typedef struct block {
    const uint8_t *data;
    size_t size;            /* the whole contents */
    size_t entries_end;     /* where the restart array starts */
    uint32_t nrestarts;     /* R >= 1 */
    const uint8_t *buckets; /* the hash index's buckets (block_hash.h), or
                               NULL: the block has none */
    uint32_t nbuckets;      /* N >= 1 with buckets, else 0 */
    int cells;              /* its values are cells (block_value.h): a
                               value is read through block_value_unpack */
} block;

/* Finds the restart array of [p, p + n) and checks it: R >= 1, the array
 * inside the contents, restart[0] = 0, offsets increasing and inside the
 * entries; and the hash index if the last word's top bit says there is
 * one (block_hash.h): N >= 1 buckets, inside the contents; and whether
 * its values are cells (the word's bit 30: block_value.h).  Returns NULL,
 * or what is wrong (b is then unusable). */
const char *block_init(block *b, const uint8_t *p, size_t n);
/* block_init of bytes that passed it before: the restart offsets are
 * not read again (a lookup of a block in no CPU cache: table_v2_checked.c). */
const char *block_init_known(block *b, const uint8_t *p, size_t n);

/* The offset of restart point i.  REQUIRES: i < b->nrestarts. */
uint32_t block_restart(const block *b, uint32_t i);

#define BLOCK_ITER_KEY_INLINE 128u

typedef struct block_iter {
    block b;
    size_t min_key;         /* shorter keys are damage */
    int valid;
    int status;             /* KV_OK, KV_ERR_CORRUPT or KV_ERR_NOMEM */
    const char *why;        /* KV_ERR_CORRUPT: what, at offset why_at */
    size_t why_at;
    size_t at, next;        /* the entry shown: [at, next) */
    uint32_t restart;       /* the last restart point at or before at */
    size_t run_start;       /* restart point `restart`'s offset, and the next's */
    size_t run_end;         /* (entries_end past the last); 0: not yet known */
    uint8_t *key;           /* key_space, or an allocation */
    size_t key_len, key_cap;
    const uint8_t *value;   /* into the block */
    size_t value_len;
    uint8_t key_space[BLOCK_ITER_KEY_INLINE];
} block_iter;

/* Not positioned.  The iterator reads *b's bytes, which must outlive it
 * (or the next block_iter_init on it).  REQUIRES: *it is zeroed, or was
 * initialized before (its key buffer is kept); it is never copied. */
void block_iter_init(block_iter *it, const block *b, size_t min_key);
/* Frees a grown key buffer.  The iterator may be initialized again. */
void block_iter_free(block_iter *it);

void block_iter_seek_first(block_iter *it);
void block_iter_seek_last(block_iter *it);
/* The first entry whose key is >= target (ikey_compare); invalid if none.
 * REQUIRES: min_key >= 8 and tlen >= 8. */
void block_iter_seek(block_iter *it, const uint8_t *target, size_t tlen);
/* The walk that ends a seek: from restart point r, the first entry whose
 * key is >= target; invalid if none.  Right when every entry before
 * restart point r is below target.  REQUIRES: r < nrestarts; as
 * block_iter_seek. */
void block_iter_seek_run(block_iter *it, uint32_t r, const uint8_t *target, size_t tlen);
/* The next entry, or the one before; an iterator that is not valid stays
 * so (either call does nothing). */
void block_iter_next(block_iter *it);
void block_iter_prev(block_iter *it);

/* Decodes the entry head at [p, limit): the three lengths, checked to fit
 * before limit.  Returns where the key delta starts, or NULL. */
const uint8_t *block_entry_decode(const uint8_t *p, const uint8_t *limit, uint32_t *shared,
                                  uint32_t *unshared, uint32_t *value_len);

#endif
