/*
 * lsm_flush_values.c: what a flush writes for each value, as the value
 * store says (value_store.h): an iterator over a memtable's iterator that
 * shows each entry as its table entry, the entry itself, or, for a value
 * the store keeps elsewhere, an IKEY_PUT_ELSEWHERE saying where.  Stage
 * 04's store keeps every value in place, and the flush does not wrap its
 * iterator at all (value_store_flush_begin gives no value_flush).
 * Forward only: a flush reads its memtable once, from the first entry.
 */
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "error.h"
#include "lsm_db.h"

typedef struct values_iter {
    iter base;
    iter *in;
    value_flush *vf;
    uint8_t *key;       /* an entry's key with its type changed */
    size_t cap;
} values_iter;

/* Shows in's entry, as the store says.  REQUIRES: in valid. */
static void values_show(values_iter *v)
{
    iter *in = v->in;
    v->base.key = in->key;
    v->base.key_len = in->key_len;
    v->base.value = in->value;
    v->base.value_len = in->value_len;
    v->base.valid = 1;
    if (ikey_type_of(in->key, in->key_len) == IKEY_DELETE)
        return;
    ikey_type type = IKEY_PUT;
    int rc = value_store_flush_entry(v->vf, in->key, in->key_len, in->value, in->value_len,
                                     &type, &v->base.value, &v->base.value_len);
    if (rc != KV_OK) {
        iter_fail(&v->base, rc);
        return;
    }
    if (type == IKEY_PUT)
        return;
    if (in->key_len > v->cap) {
        uint8_t *grown = realloc(v->key, in->key_len);
        if (grown == NULL) {
            iter_fail(&v->base, kv_error(KV_ERR_NOMEM, "flush: out of memory for a key"));
            return;
        }
        v->key = grown;
        v->cap = in->key_len;
    }
    memcpy(v->key, in->key, in->key_len);
    coding_put_u64(v->key + in->key_len - IKEY_TRAILER_SIZE,
                   ikey_trailer(ikey_seq(in->key, in->key_len), type));
    v->base.key = v->key;
}

static void values_follow(values_iter *v)
{
    if (v->in->status != KV_OK)
        iter_fail(&v->base, v->in->status);
    else if (!v->in->valid)
        v->base.valid = 0;
    else
        values_show(v);
}

static void values_seek_first(iter *it)
{
    values_iter *v = (values_iter *)it;
    iter_seek_first(v->in);
    values_follow(v);
}

static void values_next(iter *it)
{
    values_iter *v = (values_iter *)it;
    iter_next(v->in);
    values_follow(v);
}

static void values_unsupported(iter *it)
{
    iter_fail(it, kv_error(KV_ERR_INVALID, "flush: its entries are read forward only"));
}

static void values_seek(iter *it, const uint8_t *target, size_t len)
{
    (void)target, (void)len;
    values_unsupported(it);
}

static void values_free(iter *it)
{
    values_iter *v = (values_iter *)it;
    iter_free(v->in);
    free(v->key);
    free(v);
}

static const iter_ops values_ops = {
    .seek_first = values_seek_first,
    .seek_last = values_unsupported,
    .seek = values_seek,
    .next = values_next,
    .prev = values_unsupported,
    .free = values_free,
};

int lsm_flush_values_iter(value_flush *vf, iter **it)
{
    values_iter *v = calloc(1, sizeof *v);
    if (v == NULL) {
        iter_free(*it);
        *it = NULL;
        return kv_error(KV_ERR_NOMEM, "flush: out of memory");
    }
    iter_init(&v->base, &values_ops);
    v->in = *it;
    v->vf = vf;
    *it = &v->base;
    return KV_OK;
}
