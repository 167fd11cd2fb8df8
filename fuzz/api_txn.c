/*
 * api_txn.c: the API fuzz harness's transaction (see api_calls.h,
 * api_txn): one read-modify-write transaction, begun, read, written and
 * ended inside one call, with the write that makes it conflict (or not)
 * made between its read and its commit.
 *
 * The harness is one thread, so the model knows exactly what a commit must
 * answer on every stage: a plain write of a *different* value to a key the
 * transaction read is a change by values (stages 01-06) and by versions
 * (stage 07) alike; the cases where the two rules part (the same value
 * written back) are left to tests/txn_model.c, which knows the stage.
 */
#include "api_calls.h"

#include <stdlib.h>
#include <string.h>

/* The value the meddling write puts at key: what the model holds there
 * with one byte more (so it differs from it), or "m". */
static void api_txn_meddle(api_db *d, const void *key, size_t klen)
{
    const model_entry *e = model_map_find(&d->now, key, klen);
    size_t n = e ? e->vl + 1 : 1;
    if (n > KV_MAX_VALUE)
        n = 1;   /* a value of KV_MAX_VALUE + 1 would be refused; "m" differs from it */
    uint8_t *v = malloc(n);
    if (v == NULL)
        api_fail("out of memory for the meddling value");
    if (n > 1)
        memcpy(v, e->v, n - 1);
    v[n - 1] = 'm';
    api_put(d, key, klen, v, n);
    free(v);
}

/* kv_txn_get of key in txn must answer what the model m holds there. */
static void api_txn_expect(kv_txn *txn, const model_map *m, const void *key, size_t klen)
{
    void *v = NULL;
    size_t vl = 0;
    int rc = kv_txn_get(txn, key, klen, &v, &vl);
    const model_entry *e = model_map_find(m, key, klen);
    api_expect_rc("kv_txn_get", rc, e ? KV_OK : KV_NOT_FOUND);
    if (e && (vl != e->vl || (vl && memcmp(v, e->v, vl) != 0)))
        api_fail("kv_txn_get: a value of %zu bytes where the model holds %zu", vl, e->vl);
    kv_free(v);
}

void api_txn(api_db *d, int serializable, api_txn_case what, const void *key, size_t klen,
             const void *val, size_t vlen)
{
    kv_txn *txn = NULL;
    api_expect_rc("kv_txn_begin",
                  kv_txn_begin(d->db, serializable ? KV_TXN_SERIALIZABLE : KV_TXN_SNAPSHOT,
                               &txn),
                  KV_OK);

    /* The other key it reads but does not write: key with one byte more,
     * or with its last byte changed if it is as long as a key may be. */
    uint8_t *other = malloc(klen + 1);
    if (other == NULL)
        api_fail("out of memory for the transaction's other key");
    memcpy(other, key, klen);
    size_t olen = klen < KV_MAX_KEY ? klen + 1 : klen;
    other[olen - 1] = klen < KV_MAX_KEY ? 'r' : (uint8_t)(other[olen - 1] ^ 1);

    api_txn_expect(txn, &d->now, key, klen);
    api_txn_expect(txn, &d->now, other, olen);
    model_map seen = {0};   /* the snapshot, for the reads after the meddling */
    if (model_map_copy(&seen, &d->now) != 0)
        api_fail("out of memory in the model");

    int meddled = 0;
    if (!d->opt.read_only && (what == API_TXN_MEDDLE_WRITTEN || what == API_TXN_MEDDLE_READ)) {
        api_txn_meddle(d, what == API_TXN_MEDDLE_WRITTEN ? key : other,
                       what == API_TXN_MEDDLE_WRITTEN ? klen : olen);
        meddled = 1;
    }
    /* Its reads stay at its snapshot, whatever was written since. */
    api_txn_expect(txn, &seen, key, klen);
    api_txn_expect(txn, &seen, other, olen);

    api_expect_rc("kv_txn_put", kv_txn_put(txn, key, klen, val, vlen), KV_OK);
    if (model_map_put(&seen, key, klen, val, vlen) != 0)
        api_fail("out of memory in the model");
    api_txn_expect(txn, &seen, key, klen);   /* its own write, over the snapshot */
    model_map_free(&seen);

    if (what == API_TXN_ABORT) {
        kv_txn_abort(txn);
    } else {
        int want = KV_OK;
        if (d->opt.read_only)
            want = KV_ERR_INVALID;
        else if (meddled && (what == API_TXN_MEDDLE_WRITTEN || serializable))
            want = KV_ERR_CONFLICT;
        api_expect_rc("kv_txn_commit", kv_txn_commit(txn), want);
        if (want == KV_OK) {
            api_view_unref(d->now_view);   /* invariant 3 */
            d->now_view = NULL;
            if (model_map_put(&d->now, key, klen, val, vlen) != 0)
                api_fail("out of memory in the model");
            d->written += klen + vlen;
        }
    }
    /* Nothing of an aborted or refused transaction shows; a commit all. */
    api_check_get(d->db, NULL, &d->now, key, klen);
    api_check_get(d->db, NULL, &d->now, other, olen);
    free(other);
}
