/*
 * user_iter.c: the user's view over internal keys (user_iter.h).  U1..U3
 * are the invariants written there.
 */
#include "user_iter.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "internal_key.h"
#include "kv.h"

typedef struct user_buf {
    uint8_t *p;
    size_t len, cap;
} user_buf;

typedef struct user_iter {
    iter base;
    iter *in;            /* internal keys, every version */
    uint64_t seq;        /* what is visible: sequence <= seq */
    int forward;         /* U1 (1) or U2 (0) */
    user_buf skip;       /* forward: the user key whose older versions are hidden */
    user_buf key;        /* backward: the key shown (U2) */
    user_buf value;      /* backward: the value shown (U2) */
    user_buf target;     /* seek: the lookup key */
    int elsewhere;       /* the value shown is an IKEY_PUT_ELSEWHERE's */
} user_iter;

/* Makes room for n bytes in b; KV_OK or KV_ERR_NOMEM (then the iterator
 * fails). */
static int user_buf_reserve(user_iter *u, user_buf *b, size_t n)
{
    if (n <= b->cap)
        return KV_OK;
    size_t cap = n < 64 ? 64 : n;
    uint8_t *grown = realloc(b->p, cap);
    if (grown == NULL)
        return iter_fail(&u->base,
                         kv_error(KV_ERR_NOMEM, "iterator: cannot allocate %zu bytes", cap));
    b->p = grown;
    b->cap = cap;
    return KV_OK;
}

/* Copies p[0..n) into b; KV_OK or KV_ERR_NOMEM (then the iterator fails). */
static int user_buf_set(user_iter *u, user_buf *b, const uint8_t *p, size_t n)
{
    if (user_buf_reserve(u, b, n) != KV_OK)
        return KV_ERR_NOMEM;
    if (n > 0)
        memcpy(b->p, p, n);
    b->len = n;
    return KV_OK;
}

/* The internal iterator's current key, parsed; 0 (and the iterator failed)
 * if it is not an internal key, which no source of the stage yields. */
static int user_parse(user_iter *u, ikey_parsed *k)
{
    if (ikey_decode(u->in->key, u->in->key + u->in->key_len, k))
        return 1;
    iter_fail(&u->base, kv_error(KV_ERR_CORRUPT, "iterator: a malformed internal key of "
                                                 "%zu bytes", u->in->key_len));
    return 0;
}

/* The internal iterator stopped: at the end, or on an error it reports. */
static void user_stop(user_iter *u)
{
    if (u->in->status != KV_OK)
        iter_fail(&u->base, u->in->status);
    else
        u->base.valid = 0;
}

/* Forward: from the internal position on, the first visible put that is
 * not hidden (by a newer version, or a tombstone, of its key).  With
 * `skipping`, every version of keys <= u->skip is hidden. */
static void user_find_next(user_iter *u, int skipping)
{
    while (u->in->valid) {
        ikey_parsed k;
        if (!user_parse(u, &k))
            return;
        if (k.seq <= u->seq) {
            if (k.type == IKEY_DELETE) {
                if (user_buf_set(u, &u->skip, k.user_key, k.user_len) != KV_OK)
                    return;
                skipping = 1;
            } else if (!skipping || ikey_user_compare(k.user_key, k.user_len, u->skip.p,
                                                      u->skip.len) > 0) {
                u->base.valid = 1; /* U1 */
                u->elsewhere = k.type == IKEY_PUT_ELSEWHERE;
                u->base.key = k.user_key;
                u->base.key_len = k.user_len;
                u->base.value = u->in->value;
                u->base.value_len = u->in->value_len;
                return;
            }
        }
        iter_next(u->in);
    }
    user_stop(u);
}

/* Backward: walks back over every entry of the previous visible key, keeps
 * the newest visible version (the last one met), and stops on the first
 * entry of the key before it (U2). */
static void user_find_prev(user_iter *u)
{
    int have = 0; /* u->key/u->value hold a put not yet hidden */
    int elsewhere = 0;
    while (u->in->valid) {
        ikey_parsed k;
        if (!user_parse(u, &k))
            return;
        if (k.seq <= u->seq) {
            if (have && ikey_user_compare(k.user_key, k.user_len, u->key.p, u->key.len) < 0)
                break; /* an earlier key: the one kept is complete */
            if (k.type == IKEY_DELETE) {
                have = 0;
            } else {
                if (user_buf_set(u, &u->key, k.user_key, k.user_len) != KV_OK ||
                    user_buf_set(u, &u->value, u->in->value, u->in->value_len) != KV_OK)
                    return;
                have = 1;
                elsewhere = k.type == IKEY_PUT_ELSEWHERE;
            }
        }
        iter_prev(u->in);
    }
    if (u->in->status != KV_OK) {
        iter_fail(&u->base, u->in->status);
        return;
    }
    u->base.valid = have;
    u->elsewhere = elsewhere;
    if (have) {
        u->base.key = u->key.p;
        u->base.key_len = u->key.len;
        u->base.value = u->value.p;
        u->base.value_len = u->value.len;
    }
}

static void user_seek_first(iter *base)
{
    user_iter *u = (user_iter *)base;
    u->forward = 1;
    iter_seek_first(u->in);
    user_find_next(u, 0);
}

static void user_seek_last(iter *base)
{
    user_iter *u = (user_iter *)base;
    u->forward = 0;
    iter_seek_last(u->in);
    user_find_prev(u);
}

static void user_seek(iter *base, const uint8_t *ukey, size_t len)
{
    user_iter *u = (user_iter *)base;
    size_t ilen = len + IKEY_TRAILER_SIZE;
    if (user_buf_reserve(u, &u->target, ilen) != KV_OK)
        return;
    ikey_encode(u->target.p, ukey, len, u->seq, IKEY_TYPE_FOR_SEEK);
    u->forward = 1;
    iter_seek(u->in, u->target.p, ilen);
    user_find_next(u, 0);
}

static void user_next(iter *base)
{
    user_iter *u = (user_iter *)base;
    if (!u->forward) {
        /* U2 -> U1: the internal iterator is before the shown key's
         * entries; step onto them and hide them all. */
        if (user_buf_set(u, &u->skip, u->key.p, u->key.len) != KV_OK)
            return;
        if (u->in->valid)
            iter_next(u->in);
        else if (u->in->status == KV_OK)
            iter_seek_first(u->in);
        u->forward = 1;
    } else {
        if (user_buf_set(u, &u->skip, u->base.key, u->base.key_len) != KV_OK)
            return;
        iter_next(u->in);
    }
    user_find_next(u, 1);
}

static void user_prev(iter *base)
{
    user_iter *u = (user_iter *)base;
    if (u->forward) {
        /* U1 -> U2: step back over the shown key's entries. */
        if (user_buf_set(u, &u->key, u->base.key, u->base.key_len) != KV_OK)
            return;
        for (;;) {
            iter_prev(u->in);
            if (!u->in->valid) {
                user_stop(u);
                return;
            }
            if (ikey_user_compare(u->in->key, u->in->key_len - IKEY_TRAILER_SIZE, u->key.p,
                                  u->key.len) < 0)
                break;
        }
        u->forward = 0;
    }
    user_find_prev(u);
}

static void user_free(iter *base)
{
    user_iter *u = (user_iter *)base;
    iter_free(u->in);
    free(u->skip.p);
    free(u->key.p);
    free(u->value.p);
    free(u->target.p);
    free(u);
}

static const iter_ops user_ops = {
    .seek_first = user_seek_first,
    .seek_last = user_seek_last,
    .seek = user_seek,
    .next = user_next,
    .prev = user_prev,
    .free = user_free,
};

int user_iter_elsewhere(const iter *it)
{
    return ((const user_iter *)it)->elsewhere;
}

int user_iter_new(iter *internal, uint64_t seq, iter **out)
{
    *out = NULL;
    user_iter *u = calloc(1, sizeof *u);
    if (u == NULL) {
        iter_free(internal);
        return kv_error(KV_ERR_NOMEM, "iterator: cannot allocate %zu bytes", sizeof *u);
    }
    iter_init(&u->base, &user_ops);
    u->in = internal;
    u->seq = seq;
    u->forward = 1;
    *out = &u->base;
    return KV_OK;
}
