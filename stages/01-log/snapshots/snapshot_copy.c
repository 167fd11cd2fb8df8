/*
 * snapshot_copy.c: the sorted copies of the log stages' live keys: built
 * by the stage (snapshot_builder_new, snapshot_add, snapshot_finish),
 * searched, released (snapshot_iter.h; the layout is snapshot_copy.h).
 */
#include "snapshot_copy.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

/* ---- building ----------------------------------------------------------- */

int snapshot_builder_new(const char *call, snapshot_builder **b)
{
    *b = calloc(1, sizeof **b);
    if (*b == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", call);
    (*b)->call = call;
    return KV_OK;
}

void snapshot_builder_free(snapshot_builder *b)
{
    if (b == NULL)
        return;
    free(b->entries);
    free(b->arena);
    free(b);
}

static int snapshot_grow(const char *call, void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return KV_OK;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    void *grown = realloc(*p, ncap * elem);
    if (grown == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for %zu keys", call, need);
    *p = grown;
    *cap = ncap;
    return KV_OK;
}

int snapshot_add(snapshot_builder *b, const void *key, size_t klen, snapshot_loc loc,
                 int is_delete)
{
    int rc = snapshot_grow(b->call, (void **)&b->entries, &b->cap, b->count + 1,
                           sizeof *b->entries);
    if (rc == KV_OK)
        rc = snapshot_grow(b->call, (void **)&b->arena, &b->arena_cap, b->arena_len + klen, 1);
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

/* Sorts, then keeps the last entry of each run of equal keys if it is a
 * put; returns how many are kept, at the front of b->entries. */
static size_t snapshot_keep_live(snapshot_builder *b)
{
    sort_arena = b->arena;
    if (b->count > 1)
        qsort(b->entries, b->count, sizeof *b->entries, snapshot_entry_compare);
    sort_arena = NULL;
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
    return live;
}

/* Gives back what the dropped records took: a shorter entry array, and an
 * arena of the live keys only (stage 01 collects every record's key).  On
 * allocation failure the larger arrays stay, which is still correct. */
static void snapshot_shrink(snapshot_builder *b, size_t live)
{
    size_t live_bytes = 0;
    for (size_t i = 0; i < live; i++)
        live_bytes += b->entries[i].klen;
    if (live_bytes < b->arena_len) {
        uint8_t *arena = malloc(live_bytes ? live_bytes : 1);
        if (arena != NULL) {
            size_t at = 0;
            for (size_t i = 0; i < live; i++) {
                snapshot_entry *e = &b->entries[i];
                memcpy(arena + at, b->arena + e->key_off, e->klen);
                e->key_off = at;
                at += e->klen;
            }
            free(b->arena);
            b->arena = arena;
            b->arena_len = b->arena_cap = live_bytes;
        }
    }
    if (live < b->count) {
        snapshot_entry *entries = realloc(b->entries, (live ? live : 1) * sizeof *entries);
        if (entries != NULL)
            b->entries = entries;
    }
    b->count = live;
}

int snapshot_finish(snapshot_builder *b, snapshot_source src, uint64_t *live,
                    snapshot_copy **out)
{
    snapshot_copy *s = calloc(1, sizeof *s);
    if (s == NULL) {
        int rc = kv_error(KV_ERR_NOMEM, "%s: out of memory", b->call);
        snapshot_builder_free(b);
        if (src.release)
            src.release(src.ctx);
        return rc;
    }
    snapshot_shrink(b, snapshot_keep_live(b));
    *s = (snapshot_copy){.live = live, .refs = 1, .entries = b->entries,
                       .count = b->count, .arena = b->arena, .src = src};
    free(b); /* its arrays now belong to the snapshot */
    __atomic_add_fetch(live, 1, __ATOMIC_RELAXED);
    *out = s;
    return KV_OK;
}

/* ---- a copy's life ------------------------------------------------------- */

void snapshot_copy_unref(snapshot_copy *s)
{
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    uint64_t *live = s->live;
    if (s->src.release)
        s->src.release(s->src.ctx);
    free(s->entries);
    free(s->arena);
    free(s);
    /* Last: from here kv_close may run and free the counter. */
    __atomic_sub_fetch(live, 1, __ATOMIC_RELEASE);
}

int snapshot_check_close(const uint64_t *live, const char *path)
{
    uint64_t n = __atomic_load_n(live, __ATOMIC_ACQUIRE);
    if (n == 0)
        return KV_OK;
    return kv_error(KV_ERR_INVALID, "kv_close %s: %llu snapshot%s or iterator%s still live; "
                    "the database stays open until they are freed",
                    path, (unsigned long long)n, n == 1 ? "" : "s", n == 1 ? " is" : "s are");
}

/* Index of the first entry >= key. */
size_t snapshot_copy_lower_bound(const snapshot_copy *s, const void *key, size_t klen)
{
    size_t lo = 0, hi = s->count; /* the answer is in [lo, hi] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const snapshot_entry *e = &s->entries[mid];
        if (snapshot_key_compare(s->arena + e->key_off, e->klen, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

