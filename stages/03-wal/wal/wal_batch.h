/*
 * wal_batch.h: the payload of a write-ahead log record: one batch of puts
 * and deletes (common/batch.h), applied all together or not at all.
 *
 *   count       varint32, 1 .. 2^32-1: the number of ops
 *   then, per op:
 *     type      1 byte: 1 put, 2 delete
 *     key_len   varint32, 1 .. 65535
 *     value_len varint32, 0 .. 64 MiB (a put only)
 *     key       key_len bytes
 *     value     value_len bytes (a put only)
 *
 * Nothing may follow the last op.  A payload that starts with the byte 0
 * (a count of 0) is not a batch but a sync marker or a seal
 * (wal_marker.h, included here for the readers of a log, who meet both).
 *
 * A single kv_put is a batch of one op: a put of a 3-byte key and a 5-byte
 * value takes 1+1+1+1+3+5 = 12 bytes of payload, 19 with its fragment
 * header.  Invariant: the decoder looks only inside [p, limit) and checks
 * every length before it uses it.
 */
#ifndef KV_WAL_BATCH_H
#define KV_WAL_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "wal_marker.h"

enum { WAL_OP_PUT = 1, WAL_OP_DELETE = 2 };

/* Bytes the payload of ops[0..n) takes. */
uint64_t wal_batch_size(const batch_op *ops, size_t n);
/* Writes it at dst (room for wal_batch_size bytes); returns the end. */
uint8_t *wal_batch_encode(uint8_t *dst, const batch_op *ops, size_t n);

/* Decodes the payload [p, limit): checks all of it first, then calls fn
 * for each op in order (stopping at a non-zero return, which it returns).
 * Returns -1 with *why set if the bytes are not a batch, else 0 or fn's
 * value.  *count (if not NULL) gets the number of ops. */
typedef int (*wal_batch_fn)(void *ctx, size_t i, const batch_op *op);
int wal_batch_decode(const uint8_t *p, const uint8_t *limit, wal_batch_fn fn, void *ctx,
                     size_t *count, const char **why);

/* Op i's share of a record of `size` bytes holding `count` ops: equal
 * shares, the last op taking the remainder, so that they add up to size
 * (stage 02's live-byte accounting counts shares; record_io.h). */
static inline uint32_t wal_batch_share(uint64_t size, size_t count, size_t i)
{
    uint64_t share = size / count;
    return (uint32_t)(i + 1 == count ? size - share * (count - 1) : share);
}

#endif
