/*
 * hash_index.c: the open-addressing hash table of stage 02 (see
 * hash_index.h for its invariants and docs/02-hash.md for the reasoning).
 *
 * Growth doubles the slot array when a put would pass 3/4 full and moves
 * every entry to its new home, using the stored hash, so keys are never
 * hashed twice.  That is one O(n) pause per doubling, and the reason a put
 * is O(1) only on average.
 */
#include "hash_index.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kv.h"

#define HASH_INDEX_MIN_CAP 16u

void hash_index_init(hash_index *ix) { memset(ix, 0, sizeof *ix); }

void hash_index_free(hash_index *ix)
{
    for (size_t i = 0; i < ix->cap; i++)
        free(ix->slots[i].key);
    free(ix->slots);
    hash_index_init(ix);
}

uint32_t hash_index_hash(const void *key, size_t klen)
{
    const uint8_t *p = key;
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 offset basis */
    for (size_t i = 0; i < klen; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;          /* FNV prime */
    }
    /* FNV's low bits mix poorly and the table uses the low bits: finish with
     * the MurmurHash3 64-bit mixer so every input bit reaches them. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (uint32_t)h;
}

/* The slot holding key, or the empty slot where it would go. */
static hash_slot *hash_index_probe(const hash_index *ix, const void *key, size_t klen,
                                   uint32_t hash)
{
    size_t mask = ix->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        hash_slot *s = &ix->slots[i];
        if (s->key == NULL)
            return s;
        if (s->hash == hash && s->klen == klen && memcmp(s->key, key, klen) == 0)
            return s;
    }
}

hash_loc *hash_index_find(const hash_index *ix, const void *key, size_t klen)
{
    if (ix->count == 0)
        return NULL;
    hash_slot *s = hash_index_probe(ix, key, klen, hash_index_hash(key, klen));
    return s->key ? &s->loc : NULL;
}

static int hash_index_grow(hash_index *ix)
{
    size_t ncap = ix->cap ? ix->cap * 2 : HASH_INDEX_MIN_CAP;
    if (ncap - 1 > UINT32_MAX || ncap > SIZE_MAX / sizeof(hash_slot))
        return kv_error(KV_ERR_NOMEM, "hash index: more than 2^32 slots needed");
    hash_slot *slots = calloc(ncap, sizeof *slots);
    if (slots == NULL)
        return kv_error(KV_ERR_NOMEM, "hash index: no memory to grow to %zu slots (%zu keys)",
                        ncap, ix->count);
    size_t mask = ncap - 1;
    for (size_t i = 0; i < ix->cap; i++) {
        const hash_slot *s = &ix->slots[i];
        if (s->key == NULL)
            continue;
        size_t j = s->hash & mask;
        while (slots[j].key != NULL)
            j = (j + 1) & mask;
        slots[j] = *s;
    }
    free(ix->slots);
    ix->slots = slots;
    ix->cap = ncap;
    return KV_OK;
}

int hash_index_reserve(hash_index *ix, size_t more)
{
    while ((ix->count + more) * 4 > ix->cap * 3) {
        int rc = hash_index_grow(ix);
        if (rc != KV_OK)
            return rc;
    }
    return KV_OK;
}

void hash_index_adopt(hash_index *ix, uint8_t *copy, size_t klen, const hash_loc *loc,
                      hash_loc *old, int *replaced)
{
    uint32_t hash = hash_index_hash(copy, klen);
    hash_slot *s = hash_index_probe(ix, copy, klen, hash);
    if (s->key != NULL) {
        free(copy);
        *old = s->loc;
        s->loc = *loc;
        *replaced = 1;
        return;
    }
    *s = (hash_slot){.key = copy, .loc = *loc, .hash = hash, .klen = (uint16_t)klen};
    ix->count++;
    ix->key_bytes += klen;
    *replaced = 0;
}

int hash_index_put(hash_index *ix, const void *key, size_t klen, const hash_loc *loc,
                   hash_loc *old, int *replaced)
{
    hash_loc *present = hash_index_find(ix, key, klen);
    if (present != NULL) {
        *old = *present;
        *present = *loc;
        *replaced = 1;
        return KV_OK;
    }
    /* A new key: make room first (invariant 1), then copy it in. */
    int rc = hash_index_reserve(ix, 1);
    if (rc != KV_OK)
        return rc;
    uint8_t *copy = malloc(klen);
    if (copy == NULL)
        return kv_error(KV_ERR_NOMEM, "hash index: no memory for a %zu-byte key", klen);
    memcpy(copy, key, klen);
    hash_index_adopt(ix, copy, klen, loc, old, replaced);
    return KV_OK;
}

int hash_index_remove(hash_index *ix, const void *key, size_t klen, hash_loc *old)
{
    if (ix->count == 0)
        return 0;
    hash_slot *s = hash_index_probe(ix, key, klen, hash_index_hash(key, klen));
    if (s->key == NULL)
        return 0;
    if (old)
        *old = s->loc;
    free(s->key);
    ix->count--;
    ix->key_bytes -= s->klen;

    /* Backward-shift deletion (invariant 2): walk the run after the hole;
     * an entry whose home is not cyclically in (hole, j] would be cut off
     * from it by the hole, so it moves into the hole, which moves to j. */
    size_t mask = ix->cap - 1;
    size_t hole = (size_t)(s - ix->slots);
    for (size_t j = (hole + 1) & mask; ix->slots[j].key != NULL; j = (j + 1) & mask) {
        size_t home = ix->slots[j].hash & mask;
        int stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        ix->slots[hole] = ix->slots[j];
        hole = j;
    }
    memset(&ix->slots[hole], 0, sizeof ix->slots[hole]);
    return 1;
}

int hash_index_foreach(const hash_index *ix, hash_index_fn fn, void *ctx)
{
    for (size_t i = 0; i < ix->cap; i++) {
        const hash_slot *s = &ix->slots[i];
        if (s->key == NULL)
            continue;
        int rc = fn(ctx, s->key, s->klen, &s->loc);
        if (rc != 0)
            return rc;
    }
    return 0;
}

uint64_t hash_index_bytes(const hash_index *ix)
{
    return (uint64_t)ix->cap * sizeof(hash_slot) + ix->key_bytes;
}
