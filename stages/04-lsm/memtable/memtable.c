/*
 * memtable.c: entries in a skiplist over an arena (memtable.h).
 */
#include "memtable.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "arena.h"
#include "coding.h"
#include "error.h"
#include "kv.h"
#include "skiplist.h"

/* Arena blocks: about 1/16 of the memtable's size, so the last block
 * overshoots memtable_bytes by little, kept between 256 bytes (so that a
 * tiny memtable, which tests use to flush often, holds more than one
 * block's worth) and 64 KiB (below glibc's threshold for serving a malloc
 * with its own mmap). */
#define MEMTABLE_BLOCK_MIN 256u
#define MEMTABLE_BLOCK_MAX 65536u

struct memtable {
    arena arena;
    skiplist list;
    atomic_int refs;
    atomic_uint_least64_t entries;
};

/* The varint32 at p, and the byte after it.  Entries are written by
 * memtable_add, so their varints are well formed (at most 5 bytes, the last
 * without the top bit); the common one-byte case costs one test. */
static inline const uint8_t *memtable_varint(const uint8_t *p, size_t *v)
{
    if (p[0] < 0x80) {
        *v = p[0];
        return p + 1;
    }
    uint32_t n = 0;
    for (int shift = 0; shift <= 28; shift += 7) {
        uint8_t b = *p++;
        n |= (uint32_t)(b & 0x7f) << shift;
        if (b < 0x80)
            break;
    }
    *v = n;
    return p;
}

/* The internal key at the start of an entry. */
static inline const uint8_t *memtable_entry_ikey(const uint8_t *e, size_t *len)
{
    return memtable_varint(e, len);
}

/* 8 bytes as a big-endian number: two such words compare as memcmp
 * compares their bytes.  (Compilers turn this into one load and a byte
 * swap.) */
static inline uint64_t memtable_be64(const uint8_t *p)
{
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
           (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
           (uint64_t)p[6] << 8 | (uint64_t)p[7];
}

/* The skiplist's order: entries by internal key (M1), as ikey_compare
 * orders them.  Not inlined into memtable_cmp, whose common case then
 * needs no registers saved. */
__attribute__((noinline)) static int memtable_cmp_general(const uint8_t *a, const uint8_t *b)
{
    size_t alen, blen;
    const uint8_t *ka = memtable_entry_ikey(a, &alen);
    const uint8_t *kb = memtable_entry_ikey(b, &blen);
    return ikey_compare(ka, alen, kb, blen);
}

/* The same order, written out for the common case.  The skiplist's search
 * calls it about 2 log2(n) times per insert and per lookup (some 25 times
 * in a memtable of 30,000 entries): it is the write path's inner loop.
 * When both internal keys are shorter than 128 bytes (one-byte lengths)
 * and both user keys are at most 64 bytes, the three steps of THE ORDER
 * (internal_key.h) are done here without a call: the user keys bytewise,
 * 8 bytes at a time as big-endian words while both have 8 left, then byte
 * by byte; then the shorter key first; then the trailers as one 64-bit
 * number, the larger first.  Anything else goes to memtable_cmp_general.
 * memtable_test checks that both give one order. */
static int memtable_cmp(const uint8_t *a, const uint8_t *b)
{
    size_t alen = a[0], blen = b[0];
    if (alen > 64 + IKEY_TRAILER_SIZE || blen > 64 + IKEY_TRAILER_SIZE)
        return memtable_cmp_general(a, b); /* long keys, or lengths of 2+ bytes */
    const uint8_t *ka = a + 1, *kb = b + 1;
    size_t ulen_a = alen - IKEY_TRAILER_SIZE, ulen_b = blen - IKEY_TRAILER_SIZE;
    size_t n = ulen_a < ulen_b ? ulen_a : ulen_b, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x = memtable_be64(ka + i), y = memtable_be64(kb + i);
        if (x != y)
            return x < y ? -1 : 1;
    }
    for (; i < n; i++)
        if (ka[i] != kb[i])
            return ka[i] < kb[i] ? -1 : 1;
    if (ulen_a != ulen_b)
        return ulen_a < ulen_b ? -1 : 1;
    uint64_t ta = coding_get_u64(ka + ulen_a), tb = coding_get_u64(kb + ulen_b);
    return ta > tb ? -1 : ta < tb;
}

/* Splits an entry into internal key and value. */
static void memtable_entry_split(const uint8_t *e, const uint8_t **ikey, size_t *ilen,
                                 const uint8_t **val, size_t *vlen)
{
    const uint8_t *k = memtable_entry_ikey(e, ilen);
    const uint8_t *v = k + *ilen;
    *val = memtable_varint(v, vlen);
    *ikey = k;
}

int memtable_new(size_t target_bytes, memtable **out)
{
    *out = NULL;
    memtable *m = malloc(sizeof *m);
    if (m == NULL)
        return kv_error(KV_ERR_NOMEM, "memtable: cannot allocate %zu bytes", sizeof *m);
    size_t block = target_bytes / 16;
    block = block < MEMTABLE_BLOCK_MIN ? MEMTABLE_BLOCK_MIN
            : block > MEMTABLE_BLOCK_MAX ? MEMTABLE_BLOCK_MAX
                                         : block;
    arena_init(&m->arena, block);
    int rc = skiplist_init(&m->list, &m->arena, memtable_cmp);
    if (rc != KV_OK) {
        arena_destroy(&m->arena);
        free(m);
        return rc;
    }
    atomic_init(&m->refs, 1);
    atomic_init(&m->entries, 0);
    *out = m;
    return KV_OK;
}

void memtable_ref(memtable *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void memtable_unref(memtable *m)
{
    if (m == NULL)
        return;
    /* acq_rel: every use of the memtable by other holders happens before
     * the free by the last one. */
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
        arena_destroy(&m->arena);
        free(m);
    }
}

int memtable_add(memtable *m, uint64_t seq, ikey_type type, const void *key, size_t klen,
                 const void *val, size_t vlen)
{
    if (type == IKEY_DELETE)
        vlen = 0;
    size_t ilen = klen + IKEY_TRAILER_SIZE;
    size_t bytes = (size_t)coding_varint_length(ilen) + ilen +
                   (size_t)coding_varint_length(vlen) + vlen;
    int height;
    uint8_t *e = skiplist_alloc(&m->list, bytes, &height);
    if (e == NULL)
        return KV_ERR_NOMEM;
    uint8_t *p = coding_put_varint32(e, (uint32_t)ilen);
    ikey_encode(p, key, klen, seq, type);
    p = coding_put_varint32(p + ilen, (uint32_t)vlen);
    if (vlen > 0)
        memcpy(p, val, vlen);
    skiplist_insert(&m->list, e, height);
    atomic_fetch_add_explicit(&m->entries, 1, memory_order_relaxed);
    return KV_OK;
}

int memtable_reserve(memtable *m, size_t bytes)
{
    return arena_reserve(&m->arena, bytes);
}

size_t memtable_reserve_growth(const memtable *m, size_t bytes)
{
    return arena_reserve_growth(&m->arena, bytes);
}

ikey_lookup_state memtable_get(const memtable *m, const ikey_lookup *lk, const uint8_t **val,
                               size_t *vlen)
{
    skiplist_iter it;
    skiplist_iter_init(&it, &m->list);
    skiplist_iter_seek(&it, ikey_lookup_entry(lk));
    if (!skiplist_iter_valid(&it))
        return IKEY_ABSENT;
    const uint8_t *ikey, *v;
    size_t ilen, n, ulen;
    memtable_entry_split(skiplist_iter_key(&it), &ikey, &ilen, &v, &n);
    const uint8_t *ukey = ikey_lookup_user(lk, &ulen);
    /* The first entry at or after the lookup key: if it has the same user
     * key, it is the newest version visible at the lookup's sequence. */
    if (ikey_user_compare(ikey, ilen - IKEY_TRAILER_SIZE, ukey, ulen) != 0)
        return IKEY_ABSENT;
    if (ikey_type_of(ikey, ilen) == IKEY_DELETE)
        return IKEY_DELETED;
    *val = v;
    *vlen = n;
    return IKEY_FOUND;
}

size_t memtable_memory_usage(const memtable *m)
{
    return arena_memory_usage(&m->arena);
}

uint64_t memtable_entries(const memtable *m)
{
    return atomic_load_explicit(&((memtable *)(uintptr_t)m)->entries, memory_order_relaxed);
}

/* ---- the iterator ------------------------------------------------------- */

typedef struct memtable_iter {
    iter base;
    memtable *m;
    skiplist_iter pos;
    uint8_t *target;        /* seek's target as an entry prefix */
    size_t target_cap;
} memtable_iter;

static void memtable_iter_show(memtable_iter *it)
{
    if (!skiplist_iter_valid(&it->pos)) {
        it->base.valid = 0;
        return;
    }
    memtable_entry_split(skiplist_iter_key(&it->pos), &it->base.key, &it->base.key_len,
                         &it->base.value, &it->base.value_len);
    it->base.valid = 1;
}

static void memtable_iter_seek_first(iter *base)
{
    memtable_iter *it = (memtable_iter *)base;
    skiplist_iter_seek_first(&it->pos);
    memtable_iter_show(it);
}

static void memtable_iter_seek_last(iter *base)
{
    memtable_iter *it = (memtable_iter *)base;
    skiplist_iter_seek_last(&it->pos);
    memtable_iter_show(it);
}

static void memtable_iter_seek(iter *base, const uint8_t *target, size_t len)
{
    memtable_iter *it = (memtable_iter *)base;
    size_t need = CODING_MAX_VARINT32 + len;
    if (need > it->target_cap) {
        uint8_t *grown = realloc(it->target, need);
        if (grown == NULL) {
            iter_fail(base, kv_error(KV_ERR_NOMEM, "memtable iterator: cannot allocate "
                                                   "%zu bytes for a seek", need));
            return;
        }
        it->target = grown;
        it->target_cap = need;
    }
    uint8_t *p = coding_put_varint32(it->target, (uint32_t)len);
    memcpy(p, target, len);
    skiplist_iter_seek(&it->pos, it->target);
    memtable_iter_show(it);
}

static void memtable_iter_next(iter *base)
{
    memtable_iter *it = (memtable_iter *)base;
    skiplist_iter_next(&it->pos);
    memtable_iter_show(it);
}

static void memtable_iter_prev(iter *base)
{
    memtable_iter *it = (memtable_iter *)base;
    skiplist_iter_prev(&it->pos);
    memtable_iter_show(it);
}

static void memtable_iter_free(iter *base)
{
    memtable_iter *it = (memtable_iter *)base;
    memtable_unref(it->m);
    free(it->target);
    free(it);
}

static const iter_ops memtable_iter_ops = {
    .seek_first = memtable_iter_seek_first,
    .seek_last = memtable_iter_seek_last,
    .seek = memtable_iter_seek,
    .next = memtable_iter_next,
    .prev = memtable_iter_prev,
    .free = memtable_iter_free,
};

int memtable_iter_new(memtable *m, iter **out)
{
    *out = NULL;
    memtable_iter *it = malloc(sizeof *it);
    if (it == NULL)
        return kv_error(KV_ERR_NOMEM, "memtable iterator: cannot allocate %zu bytes",
                        sizeof *it);
    iter_init(&it->base, &memtable_iter_ops);
    memtable_ref(m);
    it->m = m;
    skiplist_iter_init(&it->pos, &m->list);
    it->target = NULL;
    it->target_cap = 0;
    *out = &it->base;
    return KV_OK;
}
