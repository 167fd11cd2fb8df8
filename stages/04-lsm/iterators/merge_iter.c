/*
 * merge_iter.c: the merging iterator, a heap over children (merge_iter.h).
 *
 * The merged order is (key, child index): ascending going forward,
 * descending going backward.  heap[0] is the child at the merged position.
 */
#include "merge_iter.h"

#include <stdlib.h>

#include "error.h"
#include "internal_key.h"
#include "kv.h"

typedef struct merge_iter {
    iter base;
    iter **child;
    size_t n;
    size_t *heap;        /* indexes of the valid children, a binary heap */
    size_t heap_len;
    int forward;         /* 1: min-heap (after next/seek), 0: max-heap */
} merge_iter;

/* 1 if child a comes before child b in the current direction. */
static inline int merge_before(const merge_iter *m, size_t a, size_t b)
{
    const iter *x = m->child[a], *y = m->child[b];
    int c = ikey_compare(x->key, x->key_len, y->key, y->key_len);
    if (c == 0)
        c = a < b ? -1 : 1;
    return m->forward ? c < 0 : c > 0;
}

static void merge_sift_down(merge_iter *m, size_t i)
{
    size_t len = m->heap_len;
    size_t top = m->heap[i];
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= len)
            break;
        size_t best = l;
        if (l + 1 < len && merge_before(m, m->heap[l + 1], m->heap[l]))
            best = l + 1;
        if (!merge_before(m, m->heap[best], top))
            break;
        m->heap[i] = m->heap[best];
        i = best;
    }
    m->heap[i] = top;
}

/* Shows the top child's entry as the merged one. */
static void merge_show(merge_iter *m)
{
    if (m->heap_len == 0) {
        m->base.valid = 0;
        return;
    }
    const iter *c = m->child[m->heap[0]];
    m->base.valid = 1;
    m->base.key = c->key;
    m->base.key_len = c->key_len;
    m->base.value = c->value;
    m->base.value_len = c->value_len;
}

/* Rebuilds the heap over every valid child, in the given direction, after
 * the children were moved; fails the merge if any child failed. */
static void merge_rebuild(merge_iter *m, int forward)
{
    m->forward = forward;
    m->heap_len = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->child[i]->status != KV_OK) {
            iter_fail(&m->base, m->child[i]->status);
            return;
        }
        if (m->child[i]->valid)
            m->heap[m->heap_len++] = i;
    }
    for (size_t i = m->heap_len / 2; i-- > 0;)
        merge_sift_down(m, i);
    merge_show(m);
}

/* After the top child moved one step: back into place, or out. */
static void merge_fix_top(merge_iter *m)
{
    iter *c = m->child[m->heap[0]];
    if (c->status != KV_OK) {
        iter_fail(&m->base, c->status);
        return;
    }
    if (!c->valid)
        m->heap[0] = m->heap[--m->heap_len];
    if (m->heap_len > 0)
        merge_sift_down(m, 0);
    merge_show(m);
}

static void merge_seek_first(iter *base)
{
    merge_iter *m = (merge_iter *)base;
    for (size_t i = 0; i < m->n; i++)
        iter_seek_first(m->child[i]);
    merge_rebuild(m, 1);
}

static void merge_seek_last(iter *base)
{
    merge_iter *m = (merge_iter *)base;
    for (size_t i = 0; i < m->n; i++)
        iter_seek_last(m->child[i]);
    merge_rebuild(m, 0);
}

static void merge_seek(iter *base, const uint8_t *target, size_t len)
{
    merge_iter *m = (merge_iter *)base;
    for (size_t i = 0; i < m->n; i++)
        iter_seek(m->child[i], target, len);
    merge_rebuild(m, 1);
}

static void merge_next(iter *base)
{
    merge_iter *m = (merge_iter *)base;
    if (!m->forward) {
        /* Every other child moves to its first entry after the current
         * (key k, child cur) in the forward order: its first key >= k, or
         * > k if its index is below cur.  The current child's key stays
         * valid meanwhile: only the others move. */
        size_t cur = m->heap[0];
        const uint8_t *k = m->child[cur]->key;
        size_t klen = m->child[cur]->key_len;
        for (size_t i = 0; i < m->n; i++) {
            iter *c = m->child[i];
            if (i == cur)
                continue;
            iter_seek(c, k, klen);
            if (i < cur && c->valid && ikey_compare(c->key, c->key_len, k, klen) == 0)
                iter_next(c);
        }
        merge_rebuild(m, 1);
        if (!m->base.valid)
            return;
    }
    iter_next(m->child[m->heap[0]]);
    merge_fix_top(m);
}

static void merge_prev(iter *base)
{
    merge_iter *m = (merge_iter *)base;
    if (m->forward) {
        /* Every other child moves to its last entry before (k, cur) in the
         * forward order: its last key < k, or <= k if its index is below
         * cur. */
        size_t cur = m->heap[0];
        const uint8_t *k = m->child[cur]->key;
        size_t klen = m->child[cur]->key_len;
        for (size_t i = 0; i < m->n; i++) {
            iter *c = m->child[i];
            if (i == cur)
                continue;
            iter_seek(c, k, klen);
            if (!c->valid)
                iter_seek_last(c);
            else if (!(i < cur && ikey_compare(c->key, c->key_len, k, klen) == 0))
                iter_prev(c);
        }
        merge_rebuild(m, 0);
        if (!m->base.valid)
            return;
    }
    iter_prev(m->child[m->heap[0]]);
    merge_fix_top(m);
}

static void merge_free(iter *base)
{
    merge_iter *m = (merge_iter *)base;
    for (size_t i = 0; i < m->n; i++)
        iter_free(m->child[i]);
    free(m->child);
    free(m->heap);
    free(m);
}

static const iter_ops merge_ops = {
    .seek_first = merge_seek_first,
    .seek_last = merge_seek_last,
    .seek = merge_seek,
    .next = merge_next,
    .prev = merge_prev,
    .free = merge_free,
};

int merge_iter_new(iter *const *children, size_t n, iter **out)
{
    *out = NULL;
    if (n == 1) {
        *out = children[0];
        return KV_OK;
    }
    merge_iter *m = calloc(1, sizeof *m);
    size_t slots = n ? n : 1;
    iter **child = m != NULL ? calloc(slots, sizeof *child) : NULL;
    size_t *heap = child != NULL ? calloc(slots, sizeof *heap) : NULL;
    if (heap == NULL) {
        free(child);
        free(m);
        for (size_t i = 0; i < n; i++)
            iter_free(children[i]);
        return kv_error(KV_ERR_NOMEM, "merging iterator: cannot allocate for %zu sources", n);
    }
    iter_init(&m->base, &merge_ops);
    for (size_t i = 0; i < n; i++)
        child[i] = children[i];
    m->child = child;
    m->heap = heap;
    m->n = n;
    m->forward = 1;
    *out = &m->base;
    return KV_OK;
}
