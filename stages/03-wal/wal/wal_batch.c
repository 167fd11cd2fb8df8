/*
 * wal_batch.c: encoding and decoding a batch as a log record's payload
 * (byte table in wal_batch.h).
 */
#include "wal_batch.h"

#include <string.h>

#include "coding.h"
#include "kv.h"

uint64_t wal_batch_size(const batch_op *ops, size_t n)
{
    uint64_t size = (uint64_t)coding_varint_length(n);
    for (size_t i = 0; i < n; i++) {
        size += 1 + (uint64_t)coding_varint_length(ops[i].klen) + ops[i].klen;
        if (!ops[i].is_delete)
            size += (uint64_t)coding_varint_length(ops[i].vlen) + ops[i].vlen;
    }
    return size;
}

uint8_t *wal_batch_encode(uint8_t *dst, const batch_op *ops, size_t n)
{
    dst = coding_put_varint32(dst, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const batch_op *op = &ops[i];
        *dst++ = op->is_delete ? WAL_OP_DELETE : WAL_OP_PUT;
        dst = coding_put_varint32(dst, (uint32_t)op->klen);
        if (!op->is_delete)
            dst = coding_put_varint32(dst, (uint32_t)op->vlen);
        memcpy(dst, op->key, op->klen);
        dst += op->klen;
        if (!op->is_delete && op->vlen) {
            memcpy(dst, op->val, op->vlen);
            dst += op->vlen;
        }
    }
    return dst;
}

/* Decodes the op at *pp; 0, or -1 with *why. */
static int wal_batch_op(const uint8_t **pp, const uint8_t *limit, batch_op *op,
                        const char **why)
{
    const uint8_t *p = *pp;
    uint32_t klen = 0, vlen = 0;
    if (p >= limit || (*p != WAL_OP_PUT && *p != WAL_OP_DELETE)) {
        *why = p >= limit ? "a batch with fewer ops than its count" : "an unknown op type";
        return -1;
    }
    op->is_delete = *p++ == WAL_OP_DELETE;
    if ((p = coding_get_varint32(p, limit, &klen)) == NULL || klen == 0 || klen > KV_MAX_KEY) {
        *why = "a bad key length in a batch";
        return -1;
    }
    if (!op->is_delete &&
        ((p = coding_get_varint32(p, limit, &vlen)) == NULL || vlen > KV_MAX_VALUE)) {
        *why = "a bad value length in a batch";
        return -1;
    }
    if ((uint64_t)(limit - p) < (uint64_t)klen + vlen) {
        *why = "an op that runs past the end of its batch";
        return -1;
    }
    op->key = p;
    op->klen = klen;
    op->val = op->is_delete ? NULL : p + klen;
    op->vlen = vlen;
    *pp = p + klen + vlen;
    return 0;
}

int wal_batch_decode(const uint8_t *p, const uint8_t *limit, wal_batch_fn fn, void *ctx,
                     size_t *count, const char **why)
{
    uint32_t n = 0;
    const uint8_t *start = coding_get_varint32(p, limit, &n);
    if (start == NULL || n == 0) {
        *why = "a batch without a valid op count";
        return -1;
    }
    batch_op op;
    const uint8_t *q = start;
    for (uint32_t i = 0; i < n; i++)
        if (wal_batch_op(&q, limit, &op, why) != 0)
            return -1;
    if (q != limit) {
        *why = "bytes after the last op of a batch";
        return -1;
    }
    if (count)
        *count = n;
    q = start;
    for (uint32_t i = 0; fn && i < n; i++) {
        wal_batch_op(&q, limit, &op, why);
        int rc = fn(ctx, i, &op);
        if (rc != 0)
            return rc;
    }
    return 0;
}
