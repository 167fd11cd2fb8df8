/*
 * vec_iter.c: an iterator over an array of entries, for tests
 * (vec_iter.h).
 */
#include "vec_iter.h"

#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "error.h"
#include "internal_key.h"
#include "kv.h"

void vec_add(vec *v, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 16;
        v->e = realloc(v->e, v->cap * sizeof *v->e);
        CHECK(v->e != NULL);
    }
    vec_entry *e = &v->e[v->n++];
    e->key = malloc(klen + 1);
    e->val = malloc(vlen + 1);
    CHECK(e->key != NULL && e->val != NULL);
    memcpy(e->key, key, klen);
    if (vlen > 0)
        memcpy(e->val, val, vlen);
    e->klen = klen;
    e->vlen = vlen;
}

void vec_free(vec *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->e[i].key);
        free(v->e[i].val);
    }
    free(v->e);
    v->e = NULL;
    v->n = v->cap = 0;
}

typedef struct vec_iter {
    iter base;
    const vec *v;
    int internal_keys;
    long moves_left;
    size_t i;
} vec_iter;

/* Counts a move; 0 if this one fails. */
static int vec_iter_move(vec_iter *it)
{
    if (it->moves_left < 0)
        return 1;
    if (it->moves_left == 0) {
        iter_fail(&it->base, kv_error(KV_ERR_IO, "vec_iter: injected failure"));
        return 0;
    }
    it->moves_left--;
    return 1;
}

static void vec_iter_show(vec_iter *it, size_t i)
{
    it->i = i;
    it->base.valid = i < it->v->n;
    if (it->base.valid) {
        const vec_entry *e = &it->v->e[i];
        it->base.key = e->key;
        it->base.key_len = e->klen;
        it->base.value = e->val;
        it->base.value_len = e->vlen;
    }
}

static void vec_iter_seek_first(iter *base)
{
    vec_iter *it = (vec_iter *)base;
    if (vec_iter_move(it))
        vec_iter_show(it, 0);
}

static void vec_iter_seek_last(iter *base)
{
    vec_iter *it = (vec_iter *)base;
    if (vec_iter_move(it))
        vec_iter_show(it, it->v->n ? it->v->n - 1 : 0);
}

static void vec_iter_seek(iter *base, const uint8_t *target, size_t len)
{
    vec_iter *it = (vec_iter *)base;
    if (!vec_iter_move(it))
        return;
    size_t i = 0;
    for (; i < it->v->n; i++) {
        const vec_entry *e = &it->v->e[i];
        int c = it->internal_keys ? ikey_compare(e->key, e->klen, target, len)
                                  : ikey_user_compare(e->key, e->klen, target, len);
        if (c >= 0)
            break;
    }
    vec_iter_show(it, i);
}

static void vec_iter_next(iter *base)
{
    vec_iter *it = (vec_iter *)base;
    if (vec_iter_move(it))
        vec_iter_show(it, it->i + 1);
}

static void vec_iter_prev(iter *base)
{
    vec_iter *it = (vec_iter *)base;
    if (!vec_iter_move(it))
        return;
    if (it->i == 0)
        it->base.valid = 0;
    else
        vec_iter_show(it, it->i - 1);
}

static void vec_iter_free(iter *base)
{
    free(base);
}

static const iter_ops vec_iter_ops = {
    .seek_first = vec_iter_seek_first,
    .seek_last = vec_iter_seek_last,
    .seek = vec_iter_seek,
    .next = vec_iter_next,
    .prev = vec_iter_prev,
    .free = vec_iter_free,
};

iter *vec_iter_new(const vec *v, int internal_keys, long fail_after)
{
    vec_iter *it = calloc(1, sizeof *it);
    CHECK(it != NULL);
    iter_init(&it->base, &vec_iter_ops);
    it->v = v;
    it->internal_keys = internal_keys;
    it->moves_left = fail_after;
    return &it->base;
}
