/*
 * block_builder.c: the contents of one block, entries with shared
 * prefixes and restart points (block_builder.h).
 */
#include "block_builder.h"
#include "block_hash.h"

#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "error.h"
#include "kv.h"

void block_builder_init(block_builder *b, unsigned interval)
{
    memset(b, 0, sizeof *b);
    b->interval = interval;
}

void block_builder_free(block_builder *b)
{
    free(b->buf);
    free(b->restarts);
    free(b->last);
    free(b->hashes);
    free(b->buckets);
    int hashed = b->hashed;
    block_builder_init(b, b->interval);
    b->hashed = hashed;
}

void block_builder_reset(block_builder *b)
{
    b->len = 0;
    b->nrestarts = 0;
    b->last_len = 0;
    b->counter = 0;
    b->entries = 0;
}

/* Makes room for `more` bytes after len in a buffer of cap bytes. */
static int block_builder_grow(uint8_t **p, size_t *cap, size_t len, size_t more)
{
    if (more <= *cap - len)
        return KV_OK;
    size_t want = *cap ? *cap : 256;
    while (want - len < more)
        want *= 2;
    uint8_t *grown = realloc(*p, want);
    if (grown == NULL)
        return kv_error(KV_ERR_NOMEM, "block: cannot allocate %zu bytes", want);
    *p = grown;
    *cap = want;
    return KV_OK;
}

/* The bytes of the hash index of a block of this many entries and
 * restart points (0: it gets none, BH1). */
static size_t block_builder_hash_bytes(const block_builder *b, uint64_t entries,
                                       size_t restarts)
{
    if (!b->hashed || restarts > BLOCK_HASH_MAX_RESTARTS)
        return 0;
    return 2 + (size_t)block_hash_buckets_for(entries);
}

size_t block_builder_size(const block_builder *b)
{
    return b->len + 4 * b->nrestarts + block_builder_hash_bytes(b, b->entries, b->nrestarts) + 4;
}

size_t block_builder_size_with(const block_builder *b, size_t klen, size_t vlen)
{
    return b->len + 4 * b->nrestarts + block_builder_hash_bytes(b, b->entries + 1, 0) + 4 +
           3 * CODING_MAX_VARINT32 + klen + vlen + 4;
}

int block_builder_add(block_builder *b, const uint8_t *key, size_t klen, const uint8_t *value,
                      size_t vlen)
{
    size_t shared = 0;
    int restart = b->entries == 0 || b->counter >= b->interval;
    if (!restart) {
        size_t n = klen < b->last_len ? klen : b->last_len;
        while (shared < n && b->last[shared] == key[shared])
            shared++;
    }
    size_t unshared = klen - shared;
    if (restart && b->nrestarts == b->restarts_cap) {
        size_t cap = b->restarts_cap ? 2 * b->restarts_cap : 16;
        uint32_t *grown = realloc(b->restarts, cap * sizeof *grown);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "block: cannot allocate %zu restart points", cap);
        b->restarts = grown;
        b->restarts_cap = cap;
    }
    if (b->hashed && b->entries == b->hashes_cap) {
        size_t cap = b->hashes_cap ? 2 * b->hashes_cap : 64;
        uint64_t *grown = realloc(b->hashes, cap * sizeof *grown);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "block: cannot allocate %zu key hashes", cap);
        b->hashes = grown;
        b->hashes_cap = cap;
    }
    size_t last_cap = b->last_cap;
    if (block_builder_grow(&b->buf, &b->cap, b->len, 3 * CODING_MAX_VARINT32 + unshared + vlen) !=
            KV_OK ||
        block_builder_grow(&b->last, &last_cap, 0, klen) != KV_OK)
        return KV_ERR_NOMEM;
    b->last_cap = last_cap;
    if (restart) {
        b->restarts[b->nrestarts++] = (uint32_t)b->len;
        b->counter = 0;
    }
    uint8_t *p = b->buf + b->len;
    p = coding_put_varint32(p, (uint32_t)shared);
    p = coding_put_varint32(p, (uint32_t)unshared);
    p = coding_put_varint32(p, (uint32_t)vlen);
    if (unshared > 0)
        memcpy(p, key + shared, unshared);
    p += unshared;
    if (vlen > 0)
        memcpy(p, value, vlen);
    p += vlen;
    b->len = (size_t)(p - b->buf);
    if (unshared > 0)
        memcpy(b->last + shared, key + shared, unshared);
    b->last_len = klen;
    if (b->hashed) {
        size_t ulen = klen >= 8 ? klen - 8 : 0; /* the internal key's trailer off */
        b->hashes[b->entries] = (uint64_t)block_hash_of(key, ulen) << 32 | (b->nrestarts - 1);
    }
    b->counter++;
    b->entries++;
    return KV_OK;
}

/* The buckets of the hash index (BH2), in b->buckets; 0 if the block
 * gets none (BH1), else their number. */
static size_t block_builder_hash_finish(block_builder *b)
{
    if (!b->hashed || b->nrestarts > BLOCK_HASH_MAX_RESTARTS)
        return 0;
    uint32_t n = block_hash_buckets_for(b->entries);
    if (block_builder_grow(&b->buckets, &b->buckets_cap, 0, n) != KV_OK)
        return 0; /* no index: a block without one is as good, only slower */
    memset(b->buckets, BLOCK_HASH_EMPTY, n);
    for (uint64_t i = 0; i < b->entries; i++) {
        uint8_t run = (uint8_t)(b->hashes[i] & 0xff);
        uint8_t *bucket = &b->buckets[block_hash_bucket((uint32_t)(b->hashes[i] >> 32), n)];
        if (*bucket == BLOCK_HASH_EMPTY)
            *bucket = run;
        else if (*bucket != run)
            *bucket = BLOCK_HASH_COLLISION;
    }
    return n;
}

int block_builder_finish(block_builder *b, const uint8_t **contents, size_t *len)
{
    size_t nb = block_builder_hash_finish(b);
    size_t hash_bytes = nb > 0 ? nb + 2 : 0;
    if (block_builder_grow(&b->buf, &b->cap, b->len, 4 * b->nrestarts + hash_bytes + 4) != KV_OK)
        return KV_ERR_NOMEM;
    uint8_t *p = b->buf + b->len;
    for (size_t i = 0; i < b->nrestarts; i++, p += 4)
        coding_put_u32(p, b->restarts[i]);
    uint32_t last = (uint32_t)b->nrestarts;
    if (nb > 0) {
        memcpy(p, b->buckets, nb);
        p += nb;
        coding_put_u16(p, (uint16_t)nb);
        p += 2;
        last |= BLOCK_HASH_FLAG;
    }
    coding_put_u32(p, last);
    *contents = b->buf;
    *len = b->len + 4 * b->nrestarts + hash_bytes + 4;
    return KV_OK;
}
