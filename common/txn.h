/*
 * txn.h: transactions (include/kv.h, kv_txn_*), the part every stage
 * shares: a transaction reads at its snapshot (kv_snapshot_new), keeps its
 * writes to itself, sorted, until it commits, and, under
 * KV_TXN_SERIALIZABLE, remembers what it read: the keys, and the ranges
 * its iterators stepped over.
 *
 * Committing is optimistic (no lock is held while the transaction runs):
 * the writes go to the stage's write path as one batch, with a condition
 * the write path checks where no other write can come between the check
 * and the batch (txn_stage_write_checked), and the condition is that
 * nothing the transaction depends on was written since its snapshot
 * (txn_validate).  Two functions, then, make an interface each stage
 * implements:
 *   txn_stage_write_checked  the stage's write path (stage 01: one lock
 *                            around its append; stage 02: its write_lock;
 *                            stages 03 on: a group of its own in the
 *                            group-commit queue, wal_queue.h's check);
 *   txn_validate             how a conflict is found: stages 01 to 06
 *                            compare values, at the snapshot and now
 *                            (stages/01-log/txn_values/txn_values.c); stage 07 asks
 *                            for the versions written since the snapshot
 *                            (stages/07-txn/txn_versions/txn_versions.c).
 *
 * Invariants:
 *   X1. writes holds at most one entry per key, sorted: the transaction's
 *       last put or delete of each key.
 *   X2. A read that the transaction's own writes answer is not recorded:
 *       it depends on nothing anyone else does.
 *   X3. Once the transaction ends (commit or abort) and its last iterator
 *       is freed, nothing of it is live: its snapshot freed, its memory
 *       freed.  Ending it with iterators live writes nothing (commit
 *       refuses), and what it holds goes with the last iterator.
 */
#ifndef KV_COMMON_TXN_H
#define KV_COMMON_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "kv.h"

/* One key a transaction wrote: a put (value) or a delete. */
typedef struct txn_write {
    uint8_t *key;
    size_t klen;
    uint8_t *val;           /* NULL for a delete (or an empty value: vlen 0) */
    size_t vlen;
    int is_delete;
} txn_write;

/* A sorted set of keys with what the transaction wrote to each (X1); the
 * read set of keys uses it too, with no values. */
typedef struct txn_keys {
    txn_write *e;
    size_t n, cap;
} txn_keys;

/* A range of keys an iterator stepped over, both ends included;
 * has_lo/has_hi 0: open on that side (from the first key, to the last). */
typedef struct txn_range {
    uint8_t *lo, *hi;
    size_t lo_len, hi_len;
    int has_lo, has_hi;
} txn_range;

struct kv_txn {
    kv_db *db;
    int isolation;              /* KV_TXN_SNAPSHOT or KV_TXN_SERIALIZABLE */
    const kv_snapshot *snap;    /* what it reads */
    txn_keys writes;            /* X1 */
    uint64_t write_bytes;       /* its keys' and values' bytes: the batch's
                                   (at most KV_MAX_BATCH_BYTES, and writes.n
                                   at most KV_MAX_BATCH_OPS: kv.h) */
    txn_keys reads;             /* SERIALIZABLE: keys read at the snapshot */
    txn_range *ranges;          /* SERIALIZABLE: ranges iterated over */
    size_t nranges, ranges_cap;
    int iters;                  /* its iterators not yet freed */
    int ended;                  /* committed or aborted with iterators live:
                                   freed with the last of them (X3) */
    int broken;                 /* what it read could not all be recorded
                                   (no memory): commit refuses, with this */
};

/* Ends t (X3): frees it now, or with its last iterator. */
void txn_end(kv_txn *t);

/* Where `key` is in k (its index), or where it would go: *found says. */
size_t txn_keys_find(const txn_keys *k, const void *key, size_t klen, int *found);

/* ---- what each stage provides (the two interfaces above) ---------------- */

/* A condition a write checks before it is applied: KV_OK lets it in; any
 * other code refuses it (KV_ERR_CONFLICT, or an error), kv_error set. */
typedef int (*txn_check_fn)(void *ctx);

/* Applies ops[0..n) as one atomic batch, as kv_write does, if check(ctx),
 * called where no other write of the database can come between it and
 * the batch, returns KV_OK; otherwise writes nothing and returns what
 * check returned.  With n == 0 (kv_txn_check) it only calls check, where
 * a commit's check runs (so that the stage's conflict check finds what it
 * needs steady), and returns what check returned; on a read-only database
 * too.  REQUIRES: ops checked (n > 0), no lock held. */
int txn_stage_write_checked(kv_db *db, const batch_op *ops, size_t n, txn_check_fn check,
                            void *ctx);

/* The condition of txn's commit: KV_OK if no write committed since its
 * snapshot conflicts with it (kv.h, the isolation levels), else
 * KV_ERR_CONFLICT naming what changed, or an error (a read failed).
 * Called as txn_stage_write_checked calls its check. */
int txn_validate(kv_txn *txn);

/* ---- for txn_validate ------------------------------------------------------ */

/* How a stage tells whether something the transaction depends on was
 * written since its snapshot: each sets *changed (0 or 1) and returns KV_OK,
 * or returns an error. */
typedef struct txn_probe {
    int (*key_changed)(void *ctx, kv_txn *txn, const void *key, size_t klen, int *changed);
    int (*range_changed)(void *ctx, kv_txn *txn, const txn_range *r, int *changed);
    void *ctx;
} txn_probe;

/* Asks p about everything txn depends on at its isolation level (the keys
 * it writes; under KV_TXN_SERIALIZABLE also the keys it read and the ranges
 * its iterators read), stopping at the first change: KV_OK, KV_ERR_CONFLICT
 * with a message naming what changed, or a probe's error. */
int txn_check_each(kv_txn *txn, const txn_probe *p);

#endif
