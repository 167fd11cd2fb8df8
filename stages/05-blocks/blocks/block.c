/*
 * block.c: the restart array and the iterator of one block (block.h).
 */
#include "block.h"
#include "block_hash.h"
#include "block_value.h"

#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "internal_key.h"
#include "kv.h"

/* The most restart points whose entries a seek asks for at once, and the
 * most bytes of the entries after the one it lands on. */
#define BLOCK_PREFETCH_RESTARTS 16
#define BLOCK_PREFETCH_RUN 512u

const char *block_init_known(block *b, const uint8_t *p, size_t n)
{
    memset(b, 0, sizeof *b);
    if (n < 4)
        return "the block is shorter than its restart count";
    uint32_t r = coding_get_u32(p + n - 4);
    size_t tail = 4; /* the last word, and the hash index if there is one */
    if (r & BLOCK_HASH_FLAG) {
        r &= ~BLOCK_HASH_FLAG;
        if (n < 6)
            return "the block is shorter than its hash index's bucket count";
        uint32_t nb = coding_get_u16(p + n - 6);
        if (nb == 0)
            return "the block's hash index has no buckets";
        if (nb > n - 6)
            return "the hash index's buckets do not fit in the block";
        tail = 6 + (size_t)nb;
        b->nbuckets = nb;
        b->buckets = p + n - tail;
    }
    int cells = (r & BLOCK_VALUE_FLAG) != 0;
    r &= ~BLOCK_VALUE_FLAG;
    if (r == 0)
        return "the block has no restart point (no entries)";
    if (r > (n - tail) / 4)
        return "the restart count does not fit in the block";
    b->data = p;
    b->size = n;
    b->nrestarts = r;
    b->cells = cells;
    b->entries_end = n - tail - 4 * (size_t)r;
    return b->entries_end == 0 ? "the block has restart points but no entries" : NULL;
}

const char *block_init(block *b, const uint8_t *p, size_t n)
{
    const char *why = block_init_known(b, p, n);
    const uint8_t *a = p + b->entries_end;
    if (why != NULL || coding_get_u32(a) != 0)
        return why != NULL ? why : "the first restart point is not the first entry";
    for (uint32_t i = 1, prev = 0; i < b->nrestarts; i++) {
        uint32_t off = coding_get_u32(a + 4 * (size_t)i);
        if (off <= prev || off >= b->entries_end)
            return "the restart offsets do not increase within the entries";
        prev = off;
    }
    return NULL;
}

uint32_t block_restart(const block *b, uint32_t i)
{
    return coding_get_u32(b->data + b->entries_end + 4 * (size_t)i);
}

const uint8_t *block_entry_decode(const uint8_t *p, const uint8_t *limit, uint32_t *shared,
                                  uint32_t *unshared, uint32_t *value_len)
{
    if (limit - p >= 3 && (p[0] | p[1] | p[2]) < 128) {
        *shared = p[0];
        *unshared = p[1];
        *value_len = p[2];
        p += 3;
    } else if ((p = coding_get_varint32(p, limit, shared)) == NULL ||
               (p = coding_get_varint32(p, limit, unshared)) == NULL ||
               (p = coding_get_varint32(p, limit, value_len)) == NULL) {
        return NULL;
    }
    if ((uint64_t)(limit - p) < (uint64_t)*unshared + *value_len)
        return NULL;
    return p;
}

/* ---- the iterator ------------------------------------------------------------ */

void block_iter_init(block_iter *it, const block *b, size_t min_key)
{
    it->b = *b;
    it->min_key = min_key;
    it->valid = 0;
    it->status = KV_OK;
    it->why = NULL;
    it->why_at = 0;
    it->at = it->next = b->entries_end;
    it->restart = 0;
    it->run_start = it->run_end = 0;
    if (it->key == NULL || it->key_cap < BLOCK_ITER_KEY_INLINE) {
        it->key = it->key_space;
        it->key_cap = sizeof it->key_space;
    }
    it->key_len = 0;
    it->value = NULL;
    it->value_len = 0;
}

void block_iter_free(block_iter *it)
{
    if (it->key != NULL && it->key != it->key_space)
        free(it->key);
    it->key = it->key_space;
    it->key_cap = sizeof it->key_space;
}

static void block_iter_damage(block_iter *it, const char *why, size_t at)
{
    it->valid = 0;
    it->status = KV_ERR_CORRUPT;
    it->why = why;
    it->why_at = at;
}

/* Finds where the run of restart point it->restart starts and ends. */
static void block_iter_run(block_iter *it)
{
    const block *b = &it->b;
    it->run_start = block_restart(b, it->restart);
    it->run_end =
        it->restart + 1 < b->nrestarts ? block_restart(b, it->restart + 1) : b->entries_end;
}

/* Decodes the entry at offset at, whose key shares bytes with the key in
 * it->key, and shows it.  Returns 1, or 0 with the iterator failed.
 * Inlined into each step: the call was a fifth of a walk's instructions. */
__attribute__((always_inline)) static inline int block_iter_parse(block_iter *it, size_t at)
{
    const block *b = &it->b;
    uint32_t shared, unshared, vlen;
    /* Keep `restart` the last restart point at or before at; a restart
     * offset skipped over lies inside an entry.  An entry before the next
     * restart point is in the run of `restart` (run_end: no restart
     * offset read again). */
    if (at >= it->run_end) {
        uint32_t r0 = it->restart;
        while (it->restart + 1 < b->nrestarts && block_restart(b, it->restart + 1) <= at)
            it->restart++;
        block_iter_run(it);
        uint32_t passed = it->restart - r0;
        if (passed > 1 || (passed == 1 && it->run_start != at)) {
            block_iter_damage(it, "a restart offset is not where an entry starts", at);
            return 0;
        }
    }
    int at_restart = it->run_start == at;
    const uint8_t *p =
        block_entry_decode(b->data + at, b->data + b->entries_end, &shared, &unshared, &vlen);
    if (p == NULL) {
        block_iter_damage(it, "an entry runs past the end of the entries", at);
        return 0;
    }
    if (at_restart ? shared != 0 : shared > it->key_len) {
        block_iter_damage(it, at_restart ? "an entry at a restart point shares key bytes"
                                         : "an entry shares more bytes than the key before it",
                          at);
        return 0;
    }
    size_t klen = (size_t)shared + unshared;
    if (klen < it->min_key) {
        block_iter_damage(it, "an entry's key is too short", at);
        return 0;
    }
    if (klen > it->key_cap) {
        uint8_t *grown = it->key == it->key_space ? malloc(klen) : realloc(it->key, klen);
        if (grown == NULL) {
            it->valid = 0;
            it->status = KV_ERR_NOMEM;
            return 0;
        }
        if (it->key == it->key_space)
            memcpy(grown, it->key_space, it->key_len);
        it->key = grown;
        it->key_cap = klen;
    }
    if (unshared > 0)
        memcpy(it->key + shared, p, unshared);
    it->key_len = klen;
    it->value = p + unshared;
    it->value_len = vlen;
    it->at = at;
    it->next = (size_t)(it->value + vlen - b->data);
    if (it->next > it->run_end) { /* the next restart offset inside this entry */
        block_iter_damage(it, "a restart offset is not where an entry starts", at);
        return 0;
    }
    it->valid = 1;
    return 1;
}

/* Positions just before restart point i (the next parse starts there). */
static void block_iter_to_restart(block_iter *it, uint32_t i)
{
    it->restart = i;
    block_iter_run(it);
    it->key_len = 0;
    it->next = it->run_start;
}

void block_iter_seek_first(block_iter *it)
{
    if (it->status != KV_OK)
        return;
    block_iter_to_restart(it, 0);
    block_iter_parse(it, it->next);
}

void block_iter_next(block_iter *it)
{
    if (!it->valid)
        return;
    if (it->next >= it->b.entries_end) {
        it->valid = 0;
        return;
    }
    block_iter_parse(it, it->next);
}

void block_iter_seek_last(block_iter *it)
{
    if (it->status != KV_OK)
        return;
    block_iter_to_restart(it, it->b.nrestarts - 1);
    if (!block_iter_parse(it, it->next))
        return;
    while (it->next < it->b.entries_end)
        if (!block_iter_parse(it, it->next))
            return;
}

void block_iter_prev(block_iter *it)
{
    if (!it->valid)
        return;
    size_t target = it->at;
    if (target == 0) {
        it->valid = 0;
        return;
    }
    /* The last restart point before the current entry, then forward to
     * the entry that ends where the current one starts. */
    uint32_t r = it->restart;
    while (r > 0 && block_restart(&it->b, r) >= target)
        r--;
    block_iter_to_restart(it, r);
    do {
        if (!block_iter_parse(it, it->next))
            return;
    } while (it->next < target);
    if (it->next != target)
        block_iter_damage(it, "an entry overlaps the next one", it->at);
}

void block_iter_seek(block_iter *it, const uint8_t *target, size_t tlen)
{
    if (it->status != KV_OK)
        return;
    const block *b = &it->b;
    const uint8_t *limit = b->data + b->entries_end;
    /* The last restart point whose key is below target: its key is whole
     * (shared = 0), so it is compared in place. */
    uint32_t lo = 0, hi = b->nrestarts - 1;
    /* A block read from a mapping is mostly in no CPU cache, and each step
     * of the search below waits for the entry it compares: asking for every
     * restart point's entry first lets the memory fetch them side by side
     * (a few restart points a block: block_restart_interval). */
    if (b->nrestarts <= BLOCK_PREFETCH_RESTARTS)
        for (uint32_t i = 1; i < b->nrestarts; i++)
            __builtin_prefetch(b->data + block_restart(b, i));
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        uint32_t off = block_restart(b, mid), shared, unshared, vlen;
        const uint8_t *k = block_entry_decode(b->data + off, limit, &shared, &unshared, &vlen);
        if (k == NULL || shared != 0 || unshared < it->min_key) {
            block_iter_damage(it, k == NULL ? "an entry runs past the end of the entries"
                                            : "a restart point's key is not whole",
                              off);
            return;
        }
        if (ikey_compare(k, unshared, target, tlen) < 0)
            lo = mid;
        else
            hi = mid - 1;
    }
    block_iter_seek_run(it, lo, target, tlen);
}

void block_iter_seek_run(block_iter *it, uint32_t r, const uint8_t *target, size_t tlen)
{
    const block *b = &it->b;
    /* The entries from restart point r to the next (a few lines of them),
     * which the walk below reads in turn, asked for together. */
    uint32_t from = block_restart(b, r);
    uint32_t to = r + 1 < b->nrestarts ? block_restart(b, r + 1) : (uint32_t)b->entries_end;
    if (to - from > BLOCK_PREFETCH_RUN)
        to = from + BLOCK_PREFETCH_RUN;
    for (uint32_t at = from + 64; at < to; at += 64)
        __builtin_prefetch(b->data + at);
    block_iter_to_restart(it, r);
    while (block_iter_parse(it, it->next)) {
        if (ikey_compare(it->key, it->key_len, target, tlen) >= 0)
            return;
        if (it->next >= b->entries_end) {
            it->valid = 0;
            return;
        }
    }
}
