/*
 * block_hash.c: a data block's hash index, built (block_builder.c asks),
 * probed by a get, read by kv check (block_hash.h).
 */
#include "block_hash.h"

#include <stdlib.h>
#include <string.h>

#include "bloom.h"
#include "error.h"
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

/* ---- building ------------------------------------------------------------------- */

block_hash_builder *block_hash_builder_new(void)
{
    return calloc(1, sizeof(block_hash_builder));
}

void block_hash_builder_free(block_hash_builder *h)
{
    if (h == NULL)
        return;
    free(h->hashes);
    free(h->buckets);
    free(h);
}

void block_hash_builder_reset(block_hash_builder *h)
{
    if (h != NULL)
        h->n = 0;
}

int block_hash_builder_room(block_hash_builder *h)
{
    if (h == NULL || h->n < h->cap)
        return KV_OK;
    size_t cap = h->cap ? 2 * h->cap : 64;
    uint64_t *grown = realloc(h->hashes, cap * sizeof *grown);
    if (grown == NULL)
        return kv_error(KV_ERR_NOMEM, "block: cannot allocate %zu key hashes", cap);
    h->hashes = grown;
    h->cap = cap;
    return KV_OK;
}

void block_hash_builder_note(block_hash_builder *h, const uint8_t *ikey, size_t klen,
                             uint32_t run)
{
    if (h == NULL)
        return;
    size_t ulen = klen >= IKEY_TRAILER_SIZE ? klen - IKEY_TRAILER_SIZE : 0;
    h->hashes[h->n++] = (uint64_t)block_hash_of(ikey, ulen) << 32 | run;
}

size_t block_hash_builder_bytes(const block_hash_builder *h, uint64_t entries, size_t restarts)
{
    if (h == NULL || restarts > BLOCK_HASH_MAX_RESTARTS)
        return 0;
    return 2 + (size_t)block_hash_buckets_for(entries);
}

size_t block_hash_builder_finish(block_hash_builder *h, size_t restarts)
{
    if (h == NULL)
        return 0;
    h->nbuckets = 0;
    if (h->n == 0 || restarts > BLOCK_HASH_MAX_RESTARTS)
        return 0;
    uint32_t nb = block_hash_buckets_for(h->n);
    if (nb > h->buckets_cap) {
        uint8_t *grown = realloc(h->buckets, nb);
        if (grown == NULL)
            return 0;
        h->buckets = grown;
        h->buckets_cap = nb;
    }
    memset(h->buckets, BLOCK_HASH_EMPTY, nb);
    for (size_t i = 0; i < h->n; i++) {
        uint8_t run = (uint8_t)(h->hashes[i] & 0xff);
        uint8_t *bucket = &h->buckets[block_hash_bucket((uint32_t)(h->hashes[i] >> 32), nb)];
        if (*bucket == BLOCK_HASH_EMPTY)
            *bucket = run;
        else if (*bucket != run)
            *bucket = BLOCK_HASH_COLLISION;
    }
    h->nbuckets = nb;
    return (size_t)nb + 2;
}

uint8_t *block_hash_builder_put(const block_hash_builder *h, uint8_t *p, uint32_t *last)
{
    if (h == NULL || h->nbuckets == 0)
        return p;
    memcpy(p, h->buckets, h->nbuckets);
    p += h->nbuckets;
    coding_put_u16(p, (uint16_t)h->nbuckets);
    *last |= BLOCK_HASH_FLAG;
    return p + 2;
}
