/*
 * lsm_elsewhere.c: the engine's side of values kept elsewhere, where the
 * value store says (value_store.h).  Stage 04's store keeps every value in
 * place, so none of this changes what it does; stage 08's keeps large
 * values in its logs.
 *   - the logs a flush hands the store to read (lsm_flush_logs);
 *   - what a flush writes for each value: an iterator over a memtable's
 *     iterator that shows each entry as its table entry, the entry itself
 *     or, for a value the store keeps elsewhere, an IKEY_PUT_ELSEWHERE
 *     saying where (forward only: a flush reads its memtable once);
 *   - a read of a table value that says where the value is (lsm_value_load).
 */
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "error.h"
#include "lsm_db.h"
#include "lsm_elsewhere.h"

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

int lsm_flush_logs(kv_db *db, uint64_t hi, value_logs *logs)
{
    size_t n = db->logs.n + 1;
    io_file **files = malloc(n * (sizeof *files + 2 * sizeof(uint64_t)));
    if (files == NULL)
        return kv_error(KV_ERR_NOMEM, "flush: out of memory");
    uint64_t *starts = (uint64_t *)(files + n), *sizes = starts + n;
    size_t k = 0;
    for (size_t i = 0; i + 1 < db->logs.n && db->logs.v[i]->start <= hi; i++, k++) {
        files[k] = db->logs.v[i]->file;
        starts[k] = db->logs.v[i]->start;
        sizes[k] = db->logs.v[i]->size;
    }
    *logs = (value_logs){.files = files, .starts = starts, .sizes = sizes, .n = k};
    return KV_OK;
}

int lsm_value_load(kv_db *db, void **val, size_t *vlen)
{
    value_buf buf = {0};
    const uint8_t *v = NULL;
    size_t n = 0;
    int rc = value_store_load(db->values.store, *val, *vlen, &buf, &v, &n);
    free(*val);
    *val = NULL;
    if (rc == KV_OK && (*val = malloc(n ? n : 1)) == NULL)
        rc = kv_error(KV_ERR_NOMEM, "kv_get: out of memory for a value of %zu bytes", n);
    if (rc == KV_OK) {
        memcpy(*val, v, n);
        *vlen = n;
    }
    value_buf_free(&buf);
    return rc;
}
