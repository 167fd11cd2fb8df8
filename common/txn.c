/*
 * txn.c: kv_txn_begin, kv_txn_get, kv_txn_put, kv_txn_delete, kv_txn_check,
 * kv_txn_commit and kv_txn_abort, for every stage (txn.h has the design; the stage
 * provides its write path, txn_stage_write_checked, and how it finds a
 * conflict, txn_validate), and txn_check_each: what a commit depends on,
 * asked of the stage's probe.
 */
#include "txn.h"

#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error.h"
#include "escape.h"

/* ---- sorted key sets (X1) --------------------------------------------------- */

static int txn_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c != 0 ? c : (alen > blen) - (alen < blen);
}

size_t txn_keys_find(const txn_keys *k, const void *key, size_t klen, int *found)
{
    size_t lo = 0, hi = k->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = txn_key_cmp(k->e[mid].key, k->e[mid].klen, key, klen);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static void txn_write_clear(txn_write *w)
{
    free(w->key);
    free(w->val);
    memset(w, 0, sizeof *w);
}

static void txn_keys_free(txn_keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        txn_write_clear(&k->e[i]);
    free(k->e);
    memset(k, 0, sizeof *k);
}

/* Sets key's entry in k (a put of val, a delete, or, for the read set, a
 * key alone), replacing what it had.  KV_OK or NOMEM (k unchanged). */
static int txn_keys_set(txn_keys *k, const void *key, size_t klen, const void *val,
                        size_t vlen, int is_delete, const char *call)
{
    int found = 0;
    size_t at = txn_keys_find(k, key, klen, &found);
    txn_write w = {.klen = klen, .vlen = val ? vlen : 0, .is_delete = is_delete};
    if (!found && (w.key = malloc(klen ? klen : 1)) == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", call);
    if (val != NULL && vlen > 0 && (w.val = malloc(vlen)) == NULL) {
        free(w.key);
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for a value of %zu bytes", call, vlen);
    }
    if (!found && k->n == k->cap) {
        size_t cap = 2 * k->cap + 8;
        txn_write *grown = realloc(k->e, cap * sizeof *grown);
        if (grown == NULL) {
            free(w.key);
            free(w.val);
            return kv_error(KV_ERR_NOMEM, "%s: out of memory", call);
        }
        k->e = grown;
        k->cap = cap;
    }
    if (w.val != NULL)
        memcpy(w.val, val, vlen);
    if (found) {
        free(k->e[at].val);
        w.key = k->e[at].key;
        k->e[at] = w;
        return KV_OK;
    }
    memcpy(w.key, key, klen);
    memmove(k->e + at + 1, k->e + at, (k->n - at) * sizeof *k->e);
    k->e[at] = w;
    k->n++;
    return KV_OK;
}

/* ---- begin and end ----------------------------------------------------------- */

int kv_txn_begin(kv_db *db, int isolation, kv_txn **out)
{
    int rc;
    if ((rc = args_check_ptr("kv_txn_begin", db, "db")) != KV_OK ||
        (rc = args_check_ptr("kv_txn_begin", out, "transaction pointer")) != KV_OK)
        return rc;
    *out = NULL;
    if (isolation != KV_TXN_SNAPSHOT && isolation != KV_TXN_SERIALIZABLE)
        return kv_error(KV_ERR_INVALID, "kv_txn_begin: isolation %d is neither "
                        "KV_TXN_SNAPSHOT (0) nor KV_TXN_SERIALIZABLE (1)", isolation);
    kv_txn *t = calloc(1, sizeof *t);
    if (t == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_txn_begin: out of memory");
    if ((rc = kv_snapshot_new(db, &t->snap)) != KV_OK) {
        free(t);
        return rc;
    }
    t->db = db;
    t->isolation = isolation;
    *out = t;
    return KV_OK;
}

/* X3. */
static void txn_free(kv_txn *t)
{
    kv_snapshot_free(t->db, t->snap);
    txn_keys_free(&t->writes);
    txn_keys_free(&t->reads);
    for (size_t i = 0; i < t->nranges; i++) {
        free(t->ranges[i].lo);
        free(t->ranges[i].hi);
    }
    free(t->ranges);
    free(t);
}

void txn_end(kv_txn *t)
{
    if (t->iters > 0)
        t->ended = 1;
    else
        txn_free(t);
}

void kv_txn_abort(kv_txn *t)
{
    if (t != NULL)
        txn_end(t);
}

/* The condition of the commit's batch (txn_check_fn). */
static int txn_commit_check(void *ctx) { return txn_validate(ctx); }

/* What the commit would check, asked now: the stage runs the check where
 * a commit's runs, with no batch. */
int kv_txn_check(kv_txn *t)
{
    int rc = args_check_ptr("kv_txn_check", t, "transaction");
    if (rc != KV_OK)
        return rc;
    if (t->broken != KV_OK)
        return kv_error(t->broken, "kv_txn_check: an iterator of the transaction failed, so "
                        "what it read cannot be checked");
    return txn_stage_write_checked(t->db, NULL, 0, txn_commit_check, t);
}

/* The transaction's writes as batch ops (pointing into it), validated and
 * applied by the stage in one step. */
int kv_txn_commit(kv_txn *t)
{
    int rc = args_check_ptr("kv_txn_commit", t, "transaction");
    if (rc != KV_OK)
        return rc;
    if (t->iters > 0)
        rc = kv_error(KV_ERR_INVALID, "kv_txn_commit: %d of the transaction's iterators are "
                      "still live (free them first): nothing was written, the transaction "
                      "is ended", t->iters);
    else if (t->broken != KV_OK)
        rc = kv_error(t->broken, "kv_txn_commit: an iterator of the transaction failed, so "
                      "what it read cannot be checked: nothing was written");
    if (rc != KV_OK || t->writes.n == 0) {
        txn_end(t); /* read only: it read one snapshot, serializable as it is */
        return rc;
    }
    batch_op *ops = malloc(t->writes.n * sizeof *ops);
    if (ops == NULL) {
        rc = kv_error(KV_ERR_NOMEM, "kv_txn_commit: out of memory for %zu writes: nothing "
                      "was written", t->writes.n);
        txn_free(t);
        return rc;
    }
    for (size_t i = 0; i < t->writes.n; i++) {
        const txn_write *w = &t->writes.e[i];
        ops[i] = (batch_op){.is_delete = w->is_delete, .key = w->key, .klen = w->klen,
                            .val = w->val ? w->val : (const void *)"", .vlen = w->vlen};
    }
    rc = txn_stage_write_checked(t->db, ops, t->writes.n, txn_commit_check, t);
    free(ops);
    txn_free(t);
    return rc;
}

/* ---- reads and writes ------------------------------------------------------------ */

/* Sets key's write (X1) if the transaction's batch stays within kv.h's
 * bounds: KV_OK, KV_ERR_INVALID (past a bound) or NOMEM, the transaction
 * unchanged on failure. */
static int txn_write_set(kv_txn *t, const void *key, size_t klen, const void *val,
                         size_t vlen, int is_delete, const char *call)
{
    int found = 0;
    size_t at = txn_keys_find(&t->writes, key, klen, &found);
    uint64_t old = found ? t->writes.e[at].klen + t->writes.e[at].vlen : 0;
    uint64_t bytes = t->write_bytes - old + klen + vlen;
    if ((!found && t->writes.n >= KV_MAX_BATCH_OPS) || bytes > KV_MAX_BATCH_BYTES)
        return kv_error(KV_ERR_INVALID, "%s: the transaction writes %zu keys and %llu bytes "
                        "of keys and values; this write would take it past KV_MAX_BATCH_OPS "
                        "(%u) or KV_MAX_BATCH_BYTES (%u), the most one commit writes: the "
                        "transaction is unchanged (commit it, and write the rest in another)",
                        call, t->writes.n, (unsigned long long)t->write_bytes, KV_MAX_BATCH_OPS,
                        KV_MAX_BATCH_BYTES);
    int rc = txn_keys_set(&t->writes, key, klen, val, vlen, is_delete, call);
    if (rc == KV_OK)
        t->write_bytes = bytes;
    return rc;
}

int kv_txn_put(kv_txn *t, const void *key, size_t klen, const void *val, size_t vlen)
{
    int rc;
    if ((rc = args_check_ptr("kv_txn_put", t, "transaction")) != KV_OK ||
        (rc = args_check_key("kv_txn_put", key, klen)) != KV_OK ||
        (rc = args_check_value("kv_txn_put", val, vlen)) != KV_OK)
        return rc;
    return txn_write_set(t, key, klen, val ? val : "", vlen, 0, "kv_txn_put");
}

int kv_txn_delete(kv_txn *t, const void *key, size_t klen)
{
    int rc;
    if ((rc = args_check_ptr("kv_txn_delete", t, "transaction")) != KV_OK ||
        (rc = args_check_key("kv_txn_delete", key, klen)) != KV_OK)
        return rc;
    return txn_write_set(t, key, klen, NULL, 0, 1, "kv_txn_delete");
}

int kv_txn_get(kv_txn *t, const void *key, size_t klen, void **val, size_t *vlen)
{
    int rc;
    if ((rc = args_check_ptr("kv_txn_get", t, "transaction")) != KV_OK ||
        (rc = args_check_get(t->db, key, klen, val, vlen)) != KV_OK)
        return rc;
    int found = 0;
    size_t at = txn_keys_find(&t->writes, key, klen, &found);
    if (found) { /* X2: its own write answers */
        const txn_write *w = &t->writes.e[at];
        if (w->is_delete)
            return KV_NOT_FOUND;
        void *copy = malloc(w->vlen ? w->vlen : 1);
        if (copy == NULL)
            return kv_error(KV_ERR_NOMEM, "kv_txn_get: out of memory for a value of %zu "
                            "bytes", w->vlen);
        if (w->vlen > 0)
            memcpy(copy, w->val, w->vlen);
        *val = copy;
        *vlen = w->vlen;
        return KV_OK;
    }
    if (t->isolation == KV_TXN_SERIALIZABLE &&
        (rc = txn_keys_set(&t->reads, key, klen, NULL, 0, 0, "kv_txn_get")) != KV_OK)
        return rc;
    return kv_get_at(t->db, t->snap, key, klen, val, vlen);
}

/* ---- what a commit depends on (txn_check_each) ------------------------------- */

/* The key, quoted, for messages. */
static const char *txn_quote(char *buf, size_t cap, const void *key, size_t klen)
{
    escape_bytes(buf, cap, key, klen, 40);
    return buf;
}

/* Asks p about every key of ks; KV_ERR_CONFLICT naming the first changed. */
static int txn_check_keys(kv_txn *t, const txn_probe *p, const txn_keys *ks, const char *what)
{
    for (size_t i = 0; i < ks->n; i++) {
        int changed = 0;
        int rc = p->key_changed(p->ctx, t, ks->e[i].key, ks->e[i].klen, &changed);
        if (rc != KV_OK)
            return rc;
        if (changed) {
            char q[200];
            return kv_error(KV_ERR_CONFLICT, "kv_txn_commit: the key \"%s\", which the "
                            "transaction %s, was written since it began: nothing was "
                            "written (retry)", txn_quote(q, sizeof q, ks->e[i].key,
                                                         ks->e[i].klen), what);
        }
    }
    return KV_OK;
}

static int txn_check_range(kv_txn *t, const txn_probe *p, const txn_range *r)
{
    int changed = 0;
    int rc = p->range_changed(p->ctx, t, r, &changed);
    if (rc != KV_OK || !changed)
        return rc;
    char lo[200], hi[200];
    return kv_error(KV_ERR_CONFLICT, "kv_txn_commit: the keys from %s%s%s to %s%s%s, which "
                    "the transaction's iterator read, were written since it began: nothing "
                    "was written (retry)", r->has_lo ? "\"" : "",
                    r->has_lo ? txn_quote(lo, sizeof lo, r->lo, r->lo_len) : "the first",
                    r->has_lo ? "\"" : "", r->has_hi ? "\"" : "",
                    r->has_hi ? txn_quote(hi, sizeof hi, r->hi, r->hi_len) : "the last",
                    r->has_hi ? "\"" : "");
}

int txn_check_each(kv_txn *t, const txn_probe *p)
{
    int rc = txn_check_keys(t, p, &t->writes, "writes");
    if (rc != KV_OK || t->isolation != KV_TXN_SERIALIZABLE)
        return rc;
    if ((rc = txn_check_keys(t, p, &t->reads, "read")) != KV_OK)
        return rc;
    for (size_t i = 0; rc == KV_OK && i < t->nranges; i++)
        rc = txn_check_range(t, p, &t->ranges[i]);
    return rc;
}
