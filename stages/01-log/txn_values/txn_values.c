/*
 * txn_values.c: how a commit finds a conflict (txn_validate, common/txn.h)
 * in stages 01 to 06, the simplest way that is correct for every one of
 * them: compare values.  For each key the transaction depends on, its
 * value at the transaction's snapshot (what the transaction saw, or would
 * have) and its value now must be the same; for each range a
 * SERIALIZABLE iterator stepped over, the keys and values in it must be.
 *   KV_TXN_SNAPSHOT      the keys it writes;
 *   KV_TXN_SERIALIZABLE  the keys it writes, the keys it read, the ranges.
 * The check runs inside the stage's write path (txn_stage_write_checked),
 * so nothing is written between it and the commit: a transaction that
 * passes behaves as if it had run, whole, at that moment.
 *
 * What it costs and misses: two reads per key (at the snapshot and now),
 * two scans per range, all while writers wait.  And a key written and
 * written back to the value it had (A, then B, then A) reads as unchanged:
 * under SERIALIZABLE that is harmless (what the transaction read is still
 * true when it commits), under SNAPSHOT it lets through a commit that
 * first-committer-wins would refuse.  Stage 07 compares versions instead
 * (stages/07-txn/txn_versions/txn_versions.c).
 */
#include <stdlib.h>
#include <string.h>

#include "txn.h"

/* *changed = 0 if key has the same value (or is absent both times) at the
 * snapshot and now.  KV_OK or a read's error. */
static int txn_value_changed(void *ctx, kv_txn *t, const void *key, size_t klen, int *changed)
{
    (void)ctx;
    void *then = NULL, *now = NULL;
    size_t then_len = 0, now_len = 0;
    int a = kv_get_at(t->db, t->snap, key, klen, &then, &then_len);
    int b = a == KV_OK || a == KV_NOT_FOUND ? kv_get(t->db, key, klen, &now, &now_len) : a;
    int rc = b == KV_OK || b == KV_NOT_FOUND ? KV_OK : b;
    *changed = rc == KV_OK &&
               !(a == b && (a == KV_NOT_FOUND ||
                            (then_len == now_len && memcmp(then, now, now_len) == 0)));
    kv_free(then);
    kv_free(now);
    return rc;
}

/* Whether it is inside r (it is at or after r's start: both seek there). */
static int txn_in_range(const txn_range *r, const kv_iter *it)
{
    if (!kv_iter_valid(it))
        return 0;
    if (!r->has_hi)
        return 1;
    size_t klen = 0;
    const void *k = kv_iter_key(it, &klen);
    int c = memcmp(k, r->hi, klen < r->hi_len ? klen : r->hi_len);
    return c < 0 || (c == 0 && klen <= r->hi_len);
}

/* *changed = 0 if the keys and values in r are the same at the snapshot
 * and now: the two scans, step by step. */
static int txn_range_values_changed(void *ctx, kv_txn *t, const txn_range *r, int *changed)
{
    (void)ctx;
    kv_iter *then = NULL, *now = NULL;
    int rc = kv_iter_new_at(t->db, t->snap, &then);
    if (rc == KV_OK)
        rc = kv_iter_new(t->db, &now);
    int same = rc == KV_OK;
    if (same) {
        if (r->has_lo) {
            kv_iter_seek(then, r->lo, r->lo_len);
            kv_iter_seek(now, r->lo, r->lo_len);
        } else {
            kv_iter_seek_first(then);
            kv_iter_seek_first(now);
        }
    }
    while (same) {
        int a = txn_in_range(r, then), b = txn_in_range(r, now);
        if (!a || !b) {
            same = a == b;
            break;
        }
        size_t al = 0, bl = 0, avl = 0, bvl = 0;
        const void *ak = kv_iter_key(then, &al), *bk = kv_iter_key(now, &bl);
        const void *av = kv_iter_value(then, &avl), *bv = kv_iter_value(now, &bvl);
        same = al == bl && memcmp(ak, bk, al) == 0 && av != NULL && bv != NULL &&
               avl == bvl && memcmp(av, bv, avl) == 0;
        kv_iter_next(then);
        kv_iter_next(now);
    }
    if (rc == KV_OK && (rc = kv_iter_status(then)) == KV_OK)
        rc = kv_iter_status(now);
    kv_iter_free(then);
    kv_iter_free(now);
    *changed = !same;
    return rc;
}

int txn_validate(kv_txn *t)
{
    static const txn_probe values = {.key_changed = txn_value_changed,
                                     .range_changed = txn_range_values_changed};
    return txn_check_each(t, &values);
}
