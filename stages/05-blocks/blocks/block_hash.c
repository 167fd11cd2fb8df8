/*
 * block_hash.c: a data block's hash index, probed by a get and read by
 * kv check (block_hash.h); block_builder.c writes it.
 */
#include "block_hash.h"

#include "bloom.h"
#include "internal_key.h"
#include "kv.h"

uint32_t block_hash_of(const uint8_t *ukey, size_t ulen)
{
    return (uint32_t)(bloom_hash(ukey, ulen) >> 32);
}

uint32_t block_hash_buckets_for(uint64_t entries)
{
    uint64_t n = BLOCK_HASH_BUCKETS_PER_ENTRY * entries + 1;
    return n > BLOCK_HASH_MAX_BUCKETS ? BLOCK_HASH_MAX_BUCKETS : (uint32_t)n;
}

void block_hash_seek(block_iter *it, const uint8_t *target, size_t tlen)
{
    const block *b = &it->b;
    if (it->status != KV_OK)
        return;
    if (b->buckets == NULL) {
        block_iter_seek(it, target, tlen);
        return;
    }
    uint32_t h = block_hash_of(target, tlen - IKEY_TRAILER_SIZE);
    size_t at = block_hash_bucket(h, b->nbuckets);
    uint8_t run = b->buckets[at];
    if (run == BLOCK_HASH_EMPTY) {
        it->valid = 0; /* the user key is not in the block */
        return;
    }
    if (run == BLOCK_HASH_COLLISION) {
        block_iter_seek(it, target, tlen);
        return;
    }
    if (run >= b->nrestarts) {
        it->valid = 0;
        it->status = KV_ERR_CORRUPT;
        it->why = "a hash bucket names a restart point past the last";
        it->why_at = (size_t)(b->buckets - b->data) + at;
        return;
    }
    /* Every entry before run `run` has a smaller user key (BH2). */
    block_iter_seek_run(it, run, target, tlen);
}

const char *block_hash_check_entry(const block *b, const uint8_t *key, size_t klen,
                                   uint32_t restart)
{
    if (b->buckets == NULL || klen < IKEY_TRAILER_SIZE)
        return NULL;
    uint32_t h = block_hash_of(key, klen - IKEY_TRAILER_SIZE);
    uint8_t run = b->buckets[block_hash_bucket(h, b->nbuckets)];
    if (run == BLOCK_HASH_COLLISION || run == restart)
        return NULL;
    if (run == BLOCK_HASH_EMPTY)
        return "a key's hash bucket is empty";
    if (run >= b->nrestarts)
        return "a hash bucket names a restart point past the last";
    return "a key's hash bucket names another run of entries";
}

const char *block_hash_check_buckets(const block *b, size_t *at)
{
    for (uint32_t i = 0; b->buckets != NULL && i < b->nbuckets; i++) {
        uint8_t run = b->buckets[i];
        if (run != BLOCK_HASH_EMPTY && run != BLOCK_HASH_COLLISION && run >= b->nrestarts) {
            *at = (size_t)(b->buckets - b->data) + i;
            return "a hash bucket names a restart point past the last";
        }
    }
    return NULL;
}
