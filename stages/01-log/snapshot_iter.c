/*
 * snapshot_iter.c: the kv_iter of the log stages, over a sorted snapshot of
 * the live keys (see snapshot_iter.h).
 */
#include "snapshot_iter.h"

#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error.h"

typedef struct snapshot_entry {
    uint64_t key_off;   /* into the key arena */
    uint32_t klen;
    uint32_t is_delete;
    uint64_t seq;       /* order of snapshot_add calls: later wins */
    snapshot_loc loc;
} snapshot_entry;

struct snapshot_builder {
    snapshot_entry *entries;
    size_t count, cap;
    uint8_t *arena;     /* every key's bytes, end to end */
    size_t arena_len, arena_cap;
};

struct kv_iter {
    snapshot_entry *entries;   /* sorted, live keys only */
    size_t count;
    uint8_t *arena;
    size_t pos;                /* count = not valid */
    int status;
    snapshot_source src;
};

int snapshot_builder_new(snapshot_builder **b)
{
    *b = calloc(1, sizeof **b);
    return *b ? KV_OK : kv_error(KV_ERR_NOMEM, "kv_iter_new: out of memory");
}

void snapshot_builder_free(snapshot_builder *b)
{
    if (b == NULL)
        return;
    free(b->entries);
    free(b->arena);
    free(b);
}

static int snapshot_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return KV_OK;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    void *grown = realloc(*p, ncap * elem);
    if (grown == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_iter_new: out of memory for %zu keys", need);
    *p = grown;
    *cap = ncap;
    return KV_OK;
}

int snapshot_add(snapshot_builder *b, const void *key, size_t klen, snapshot_loc loc,
                 int is_delete)
{
    int rc = snapshot_grow((void **)&b->entries, &b->cap, b->count + 1, sizeof *b->entries);
    if (rc == KV_OK)
        rc = snapshot_grow((void **)&b->arena, &b->arena_cap, b->arena_len + klen, 1);
    if (rc != KV_OK)
        return rc;
    memcpy(b->arena + b->arena_len, key, klen);
    b->entries[b->count] = (snapshot_entry){.key_off = b->arena_len, .klen = (uint32_t)klen,
                                            .is_delete = (uint32_t)is_delete,
                                            .seq = b->count, .loc = loc};
    b->arena_len += klen;
    b->count++;
    return KV_OK;
}

static int snapshot_key_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0; /* a seek key of length 0 may be NULL */
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* qsort has no context argument in C11, so the arena is passed through a
 * thread-local for the duration of one sort. */
static _Thread_local const uint8_t *sort_arena;

static int snapshot_entry_compare(const void *pa, const void *pb)
{
    const snapshot_entry *a = pa, *b = pb;
    int c = snapshot_key_compare(sort_arena + a->key_off, a->klen, sort_arena + b->key_off,
                                 b->klen);
    if (c != 0)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int snapshot_finish(snapshot_builder *b, snapshot_source src, kv_iter **out)
{
    kv_iter *it = calloc(1, sizeof *it);
    if (it == NULL) {
        snapshot_builder_free(b);
        if (src.release)
            src.release(src.ctx);
        return kv_error(KV_ERR_NOMEM, "kv_iter_new: out of memory");
    }
    sort_arena = b->arena;
    if (b->count > 1)
        qsort(b->entries, b->count, sizeof *b->entries, snapshot_entry_compare);
    sort_arena = NULL;

    /* Keep the last entry of each run of equal keys, if it is a put. */
    size_t live = 0;
    for (size_t i = 0; i < b->count; i++) {
        const snapshot_entry *e = &b->entries[i];
        int last_of_key = i + 1 == b->count ||
                          snapshot_key_compare(b->arena + e->key_off, e->klen,
                                               b->arena + b->entries[i + 1].key_off,
                                               b->entries[i + 1].klen) != 0;
        if (last_of_key && !e->is_delete)
            b->entries[live++] = *e;
    }
    it->entries = b->entries;
    it->count = live;
    it->arena = b->arena;
    it->pos = live;
    it->src = src;
    free(b); /* its arrays now belong to the iterator */
    *out = it;
    return KV_OK;
}

void kv_iter_seek_first(kv_iter *it)
{
    if (it != NULL)
        it->pos = 0;
}

void kv_iter_seek(kv_iter *it, const void *key, size_t klen)
{
    if (it == NULL)
        return;
    if (key == NULL && klen > 0) {
        it->status = args_check_ptr("kv_iter_seek", key, "key");
        it->pos = it->count;
        return;
    }
    size_t lo = 0, hi = it->count; /* first entry >= key is in [lo, hi] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const snapshot_entry *e = &it->entries[mid];
        if (snapshot_key_compare(it->arena + e->key_off, e->klen, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    it->pos = lo;
}

int kv_iter_valid(const kv_iter *it)
{
    return it != NULL && it->status == KV_OK && it->pos < it->count;
}

void kv_iter_next(kv_iter *it)
{
    if (kv_iter_valid(it))
        it->pos++;
}

const void *kv_iter_key(const kv_iter *it, size_t *klen)
{
    if (!kv_iter_valid(it)) {
        if (klen)
            *klen = 0;
        return NULL;
    }
    const snapshot_entry *e = &it->entries[it->pos];
    if (klen)
        *klen = e->klen;
    return it->arena + e->key_off;
}

const void *kv_iter_value(const kv_iter *it, size_t *vlen)
{
    if (vlen)
        *vlen = 0;
    if (!kv_iter_valid(it))
        return NULL;
    kv_iter *mut = (kv_iter *)it; /* reading a value fills the iterator's buffer */
    const void *val = NULL;
    size_t n = 0;
    size_t klen = 0;
    const void *key = kv_iter_key(it, &klen);
    int rc = mut->src.read_value(mut->src.ctx, &it->entries[it->pos].loc, key, klen, &val, &n);
    if (rc != KV_OK) {
        mut->status = rc;
        return NULL;
    }
    if (vlen)
        *vlen = n;
    return val;
}

int kv_iter_status(const kv_iter *it)
{
    return it == NULL ? KV_ERR_INVALID : it->status;
}

void kv_iter_free(kv_iter *it)
{
    if (it == NULL)
        return;
    if (it->src.release)
        it->src.release(it->src.ctx);
    free(it->entries);
    free(it->arena);
    free(it);
}
