/*
 * batch.c: kv_batch_* (see batch.h).
 */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error.h"

typedef struct batch_entry {
    int is_delete;
    size_t key_off, klen, val_off, vlen;
} batch_entry;

struct kv_batch {
    batch_entry *entries;
    size_t count, cap;
    uint8_t *arena;
    size_t arena_len, arena_cap;
};

int kv_batch_new(kv_batch **b)
{
    int rc = args_check_ptr("kv_batch_new", b, "batch pointer");
    if (rc != KV_OK)
        return rc;
    *b = calloc(1, sizeof **b);
    return *b ? KV_OK : kv_error(KV_ERR_NOMEM, "kv_batch_new: out of memory");
}

void kv_batch_clear(kv_batch *b)
{
    if (b != NULL)
        b->count = b->arena_len = 0;
}

void kv_batch_free(kv_batch *b)
{
    if (b == NULL)
        return;
    free(b->entries);
    free(b->arena);
    free(b);
}

static int batch_append(kv_batch *b, const char *call, int is_delete, const void *key,
                        size_t klen, const void *val, size_t vlen)
{
    if (b->count >= KV_MAX_BATCH_OPS || klen + vlen > KV_MAX_BATCH_BYTES - b->arena_len)
        return kv_error(KV_ERR_INVALID, "%s: the batch holds %zu ops and %zu bytes of keys "
                        "and values; this one (%zu bytes) would pass KV_MAX_BATCH_OPS (%u) or "
                        "KV_MAX_BATCH_BYTES (%u): write this batch and start another (nothing "
                        "was added)", call, b->count, b->arena_len, klen + vlen,
                        KV_MAX_BATCH_OPS, KV_MAX_BATCH_BYTES);
    if (b->count == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 16;
        batch_entry *grown = realloc(b->entries, ncap * sizeof *grown);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "%s: out of memory", call);
        b->entries = grown;
        b->cap = ncap;
    }
    size_t need = b->arena_len + klen + vlen;
    if (need > b->arena_cap) {
        size_t ncap = b->arena_cap ? b->arena_cap : 256;
        while (ncap < need)
            ncap *= 2;
        uint8_t *grown = realloc(b->arena, ncap);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "%s: out of memory for %zu bytes", call, need);
        b->arena = grown;
        b->arena_cap = ncap;
    }
    batch_entry *e = &b->entries[b->count++];
    e->is_delete = is_delete;
    e->key_off = b->arena_len;
    e->klen = klen;
    memcpy(b->arena + b->arena_len, key, klen);
    b->arena_len += klen;
    e->val_off = b->arena_len;
    e->vlen = vlen;
    if (vlen > 0)
        memcpy(b->arena + b->arena_len, val, vlen);
    b->arena_len += vlen;
    return KV_OK;
}

int kv_batch_put(kv_batch *b, const void *key, size_t klen, const void *val, size_t vlen)
{
    int rc;
    if ((rc = args_check_ptr("kv_batch_put", b, "batch")) != KV_OK ||
        (rc = args_check_key("kv_batch_put", key, klen)) != KV_OK ||
        (rc = args_check_value("kv_batch_put", val, vlen)) != KV_OK)
        return rc;
    return batch_append(b, "kv_batch_put", 0, key, klen, val, vlen);
}

int kv_batch_delete(kv_batch *b, const void *key, size_t klen)
{
    int rc;
    if ((rc = args_check_ptr("kv_batch_delete", b, "batch")) != KV_OK ||
        (rc = args_check_key("kv_batch_delete", key, klen)) != KV_OK)
        return rc;
    return batch_append(b, "kv_batch_delete", 1, key, klen, NULL, 0);
}

size_t batch_count(const kv_batch *b) { return b->count; }

uint64_t batch_payload_bytes(const kv_batch *b) { return b->arena_len; }

batch_op batch_op_at(const kv_batch *b, size_t i)
{
    const batch_entry *e = &b->entries[i];
    return (batch_op){.is_delete = e->is_delete,
                      .key = b->arena + e->key_off,
                      .klen = e->klen,
                      .val = e->is_delete ? NULL : b->arena + e->val_off,
                      .vlen = e->vlen};
}

int batch_ops_for_write(const kv_db *db, const kv_batch *b, batch_op **ops, size_t *n)
{
    int rc;
    if ((rc = args_check_ptr("kv_write", db, "db")) != KV_OK ||
        (rc = args_check_ptr("kv_write", b, "batch")) != KV_OK)
        return rc;
    *n = batch_count(b);
    *ops = malloc((*n ? *n : 1) * sizeof **ops);
    if (*ops == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_write: out of memory for %zu ops", *n);
    for (size_t i = 0; i < *n; i++)
        (*ops)[i] = batch_op_at(b, i);
    return KV_OK;
}
