/*
 * ex_hash.c: the helpers of ex_hash.h.
 */
#include "ex_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exercise.h"
#include "kv.h"

void ex_hash_table(hash_index *ix, size_t cap)
{
    memset(ix, 0, sizeof *ix);
    ix->slots = calloc(cap, sizeof *ix->slots);
    EX_CHECK(ix->slots != NULL, "out of memory");
    ix->cap = cap;
}

void ex_hash_place(hash_index *ix, const char *key, uint64_t offset)
{
    size_t klen = strlen(key), mask = ix->cap - 1;
    uint32_t h = hash_index_hash(key, klen);
    size_t i = h & mask;
    while (ix->slots[i].key != NULL)
        i = (i + 1) & mask;
    uint8_t *copy = malloc(klen);
    EX_CHECK(copy != NULL, "out of memory");
    memcpy(copy, key, klen);
    ix->slots[i] = (hash_slot){.key = copy, .hash = h, .klen = (uint16_t)klen,
                               .loc = {.offset = offset, .seg = 0, .size = 1}};
    ix->count++;
    ix->key_bytes += klen;
}

hash_slot *ex_hash_slot(const hash_index *ix, const void *key, size_t klen)
{
    if (ix->cap == 0)
        return NULL;
    size_t mask = ix->cap - 1;
    uint32_t h = hash_index_hash(key, klen);
    for (size_t i = h & mask, n = 0; n < ix->cap; i = (i + 1) & mask, n++) {
        hash_slot *s = &ix->slots[i];
        if (s->key == NULL)
            return NULL;
        if (s->klen == klen && memcmp(s->key, key, klen) == 0)
            return s;
    }
    return NULL;
}

void ex_hash_check(const hash_index *ix, const char *when)
{
    EX_CHECK(ix->cap == 0 || (ix->cap & (ix->cap - 1)) == 0,
             "%s: invariant 1: the capacity is 0 or a power of two (it is %zu)", when, ix->cap);
    EX_CHECK(ix->count * 4 <= ix->cap * 3,
             "%s: invariant 1: at most 3/4 of the slots are used (%zu keys in %zu slots)", when,
             ix->count, ix->cap);
    size_t count = 0, mask = ix->cap - 1;
    uint64_t bytes = 0;
    for (size_t i = 0; i < ix->cap; i++) {
        const hash_slot *s = &ix->slots[i];
        if (s->key == NULL)
            continue;
        count++;
        bytes += s->klen;
        EX_CHECK(s->hash == hash_index_hash(s->key, s->klen),
                 "%s: each slot stores its key's hash (slot %zu)", when, i);
        for (size_t j = s->hash & mask; j != i; j = (j + 1) & mask)
            EX_CHECK(ix->slots[j].key != NULL,
                     "%s: invariant 2: the key in slot %zu is reachable from its home slot %zu "
                     "without crossing an empty slot, but slot %zu is empty", when, i,
                     (size_t)(s->hash & mask), j);
        EX_CHECK(ex_hash_slot(ix, s->key, s->klen) == s,
                 "%s: invariant 3: each key is stored once (slot %zu)", when, i);
    }
    EX_CHECK(count == ix->count, "%s: count is the number of used slots (%zu, count says %zu)",
             when, count, ix->count);
    EX_CHECK(bytes == ix->key_bytes,
             "%s: key_bytes is the sum of the stored keys' lengths (%llu, it says %llu)", when,
             (unsigned long long)bytes, (unsigned long long)ix->key_bytes);
}

void ex_hash_colliding(char out[][32], size_t n, const char *prefix, size_t cap, size_t home)
{
    size_t found = 0;
    for (unsigned i = 0; found < n && i < 10000000; i++) {
        char k[32];
        int kl = snprintf(k, sizeof k, "%s%u", prefix, i);
        if ((hash_index_hash(k, (size_t)kl) & (cap - 1)) == home)
            memcpy(out[found++], k, (size_t)kl + 1);
    }
    EX_CHECK(found == n, "test setup: colliding keys");
}
