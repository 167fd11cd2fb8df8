/*
 * batch.h: kv_batch, a list of puts and deletes that kv_write applies
 * together.  The same for every stage; what "together" means after a crash
 * is each stage's business (see kv.h).
 *
 * Invariants: every op in a batch passed the same argument checks as kv_put
 * or kv_delete, so an engine's kv_write can apply them without checking
 * again; a batch holds at most KV_MAX_BATCH_OPS ops and KV_MAX_BATCH_BYTES
 * bytes of keys and values (kv.h), so an engine never sees a larger one.
 * Keys and values are copied into the batch's arena.
 */
#ifndef KV_COMMON_BATCH_H
#define KV_COMMON_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

typedef struct batch_op {
    int is_delete;
    const void *key;
    size_t klen;
    const void *val;   /* NULL for a delete */
    size_t vlen;
} batch_op;

size_t   batch_count(const kv_batch *b);
/* Bytes of keys and values in the batch. */
uint64_t batch_payload_bytes(const kv_batch *b);
/* The i-th op; pointers stay valid until the batch is changed or freed.
 * REQUIRES: i < batch_count(b). */
batch_op batch_op_at(const kv_batch *b, size_t i);

/* Checks kv_write's arguments and lists the batch's ops in a fresh array
 * (*ops, *n; free(*ops) when done, also when *n is 0).  KV_OK, or
 * KV_ERR_INVALID / KV_ERR_NOMEM with kv_errmsg set. */
int batch_ops_for_write(const kv_db *db, const kv_batch *b, batch_op **ops, size_t *n);

#endif
