/*
 * snapshot_iter.c: the sorted copies of the log stages' live keys, the
 * kv_iter that walks them, and kv.h's snapshot calls over the stage's
 * snapshots (see snapshot_iter.h).
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
    const char *call;   /* for messages */
    snapshot_entry *entries;
    size_t count, cap;
    uint8_t *arena;     /* every key's bytes, end to end */
    size_t arena_len, arena_cap;
};

struct snapshot_copy {
    uint64_t *live;            /* invariant 3 */
    int refs;                  /* invariant 2; changed with atomics */
    snapshot_entry *entries;   /* sorted, live keys only (invariant 1) */
    size_t count;
    uint8_t *arena;
    snapshot_source src;
};

/* kv.h's snapshot: the stage's, which the copies of kv_iter_new_at come
 * from. */
struct kv_snapshot {
    kv_db *db;                 /* the database it belongs to */
    snapshot_view view;
};

struct kv_iter {
    snapshot_copy *snap;       /* one reference */
    size_t pos;                /* snap->count = not valid */
    int status;
    uint8_t *buf;              /* the last value read, for kv_iter_value */
    size_t cap;
};

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

static void snapshot_unref(snapshot_copy *s)
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

int kv_snapshot_new(kv_db *db, const kv_snapshot **snap)
{
    int rc;
    if ((rc = args_check_ptr("kv_snapshot_new", db, "db")) != KV_OK ||
        (rc = args_check_ptr("kv_snapshot_new", snap, "snapshot pointer")) != KV_OK)
        return rc;
    *snap = NULL;
    kv_snapshot *s = calloc(1, sizeof *s);
    if (s == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_snapshot_new: out of memory");
    if ((rc = snapshot_open(db, "kv_snapshot_new", &s->view)) != KV_OK) {
        free(s);
        return rc;
    }
    s->db = db;
    __atomic_add_fetch(s->view.live, 1, __ATOMIC_RELAXED);
    *snap = s;
    return KV_OK;
}

void kv_snapshot_free(kv_db *db, const kv_snapshot *snap)
{
    /* Another database's snapshot stays live: its kv_close will say so. */
    if (snap == NULL || snap->db != db)
        return;
    kv_snapshot *s = (kv_snapshot *)snap;
    uint64_t *live = s->view.live;
    s->view.release(s->view.ctx);
    free(s);
    __atomic_sub_fetch(live, 1, __ATOMIC_RELEASE); /* last: kv_close may run now */
}

/* Index of the first entry >= key. */
static size_t snapshot_lower_bound(const snapshot_copy *s, const void *key, size_t klen)
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

static int snapshot_check_owner(const char *call, kv_db *db, const kv_snapshot *snap)
{
    if (snap->db != db)
        return kv_error(KV_ERR_INVALID, "%s: the snapshot belongs to another database", call);
    return KV_OK;
}

int kv_get_at(kv_db *db, const kv_snapshot *snap, const void *key, size_t klen, void **val,
              size_t *vlen)
{
    int rc = args_check_get_at(db, snap, key, klen, val, vlen);
    if (rc == KV_OK)
        rc = snapshot_check_owner("kv_get_at", db, snap);
    if (rc != KV_OK)
        return rc;
    return snap->view.get(snap->view.ctx, key, klen, val, vlen);
}

/* ---- iterators ---------------------------------------------------------- */

static int snapshot_iter_open(const char *call, kv_db *db, const kv_snapshot *snap,
                              kv_iter **out)
{
    int rc;
    if ((rc = args_check_ptr(call, db, "db")) != KV_OK ||
        (rc = args_check_ptr(call, out, "iterator pointer")) != KV_OK)
        return rc;
    *out = NULL;
    if (snap != NULL && (rc = snapshot_check_owner(call, db, snap)) != KV_OK)
        return rc;
    kv_iter *it = calloc(1, sizeof *it);
    if (it == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", call);
    if (snap != NULL)
        rc = snap->view.capture(snap->view.ctx, call, &it->snap);
    else
        rc = snapshot_capture(db, call, &it->snap);
    if (rc != KV_OK) {
        free(it);
        return rc;
    }
    it->pos = it->snap->count;
    *out = it;
    return KV_OK;
}

int kv_iter_new(kv_db *db, kv_iter **it) { return snapshot_iter_open("kv_iter_new", db, NULL, it); }

int kv_iter_new_at(kv_db *db, const kv_snapshot *snap, kv_iter **it)
{
    return snapshot_iter_open("kv_iter_new_at", db, snap, it);
}

void kv_iter_seek_first(kv_iter *it)
{
    if (it != NULL)
        it->pos = 0;
}

void kv_iter_seek_last(kv_iter *it)
{
    if (it != NULL)
        it->pos = it->snap->count ? it->snap->count - 1 : 0;
}

void kv_iter_seek(kv_iter *it, const void *key, size_t klen)
{
    if (it == NULL)
        return;
    if (key == NULL && klen > 0) {
        it->status = args_check_ptr("kv_iter_seek", key, "key");
        it->pos = it->snap->count;
        return;
    }
    it->pos = snapshot_lower_bound(it->snap, key, klen);
}

int kv_iter_valid(const kv_iter *it)
{
    return it != NULL && it->status == KV_OK && it->pos < it->snap->count;
}

void kv_iter_next(kv_iter *it)
{
    if (kv_iter_valid(it))
        it->pos++;
}

void kv_iter_prev(kv_iter *it)
{
    if (kv_iter_valid(it))
        it->pos = it->pos > 0 ? it->pos - 1 : it->snap->count;
}

const void *kv_iter_key(const kv_iter *it, size_t *klen)
{
    if (!kv_iter_valid(it)) {
        if (klen)
            *klen = 0;
        return NULL;
    }
    const snapshot_entry *e = &it->snap->entries[it->pos];
    if (klen)
        *klen = e->klen;
    return it->snap->arena + e->key_off;
}

const void *kv_iter_value(const kv_iter *it, size_t *vlen)
{
    if (vlen)
        *vlen = 0;
    if (!kv_iter_valid(it))
        return NULL;
    kv_iter *mut = (kv_iter *)it; /* reading a value fills the iterator's buffer */
    const snapshot_copy *s = it->snap;
    const void *val = NULL;
    size_t n = 0, klen = 0;
    const void *key = kv_iter_key(it, &klen);
    int rc = s->src.read_value(s->src.ctx, &s->entries[it->pos].loc, key, klen, &mut->buf,
                               &mut->cap, &val, &n);
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
    snapshot_unref(it->snap);
    free(it->buf);
    free(it);
}
