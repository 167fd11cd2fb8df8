/*
 * txn_versions.c: how a commit finds a conflict (txn_validate,
 * common/txn.h) in stage 07: by versions.  Every write has a sequence
 * number, and the engine keeps every version a live snapshot may need
 * (compaction drops a version only when a newer one is at or below the
 * oldest live snapshot: the watermark).  So "was key k written since the
 * transaction's snapshot s?" is "is the newest version of k numbered above
 * s?", and for a range, "is any version in it numbered above s?".
 *
 * What is answered, and where it is looked for:
 *   - Each key: seek the internal key (k, the largest sequence) in the
 *     merged sources; the first entry, if its user key is k, is k's newest
 *     version, put or tombstone.  Any write counts, even one that wrote the
 *     value back: the first committer wins, exactly.
 *   - Each range: every entry from (lo, the largest sequence) to the last
 *     version of hi; one above s is a write into the range.
 *   - Which sources: a version above s can only be in a memtable if the
 *     oldest write the memtables hold is at or before s + 1 (then every
 *     later write is in mem or imm): a short transaction, the usual case,
 *     is checked against memory alone.  Otherwise (a flush ran while the
 *     transaction was open) the tables too, through the same merging
 *     iterator a read uses.
 * It runs in the write path's check (txn_stage_write_checked), under
 * write_lock: mem, imm and the view cannot change under it.
 *
 * Compare stages 01 to 06 (stages/01-log/txn_values/txn_values.c), which compare
 * values: two reads per key, two scans per range, and a key written back
 * to its old value is missed.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "internal_key.h"
#include "lsm_sources.h"
#include "merge_iter.h"
#include "txn.h"

/* The merged sources a version after snap_seq may be in.
 * REQUIRES: write_lock held. */
static int txn_versions_sources(kv_db *db, uint64_t snap_seq, iter **out)
{
    lsm_sources src;
    lsm_sources_get(db, &src);
    uint64_t oldest = src.memory_from; /* 0: memory holds none */
    int memory_only = src.last <= snap_seq || (oldest != 0 && oldest <= snap_seq + 1);
    iter **children = NULL;
    size_t n = 0;
    int rc = KV_OK;
    if (memory_only) {
        children = malloc(2 * sizeof *children);
        if (children == NULL)
            rc = kv_error(KV_ERR_NOMEM, "kv_txn_commit: out of memory");
    } else {
        /* The tables' iterators after two slots for the memtables. */
        rc = table_set_iters(src.tables, 2, &children, &n);
    }
    size_t k = 0;
    if (rc == KV_OK && (rc = memtable_iter_new(src.mem, &children[k])) == KV_OK)
        k++;
    if (rc == KV_OK && src.imm != NULL &&
        (rc = memtable_iter_new(src.imm, &children[k])) == KV_OK)
        k++;
    if (n > 2) /* newest first, no gap */
        memmove(children + k, children + 2, (n - 2) * sizeof *children);
    n = k + (n > 2 ? n - 2 : 0);
    if (rc == KV_OK) {
        rc = merge_iter_new(children, n, out); /* takes the children, even on failure */
        if (rc == KV_OK) /* the engine's own writes are not the user's (lsm_sources.h) */
            rc = lsm_sources_user_writes(&src, snap_seq, out);
    } else {
        while (n > 0)
            iter_free(children[--n]);
    }
    free(children);
    lsm_sources_release(&src); /* the iterators hold what they read */
    if (rc != KV_OK)
        kv_error_append(" (kv_txn_commit: checking for conflicts; nothing was written)");
    return rc;
}

typedef struct txn_versions {
    iter *it;           /* over the sources, made on the first question */
    uint64_t snap_seq;
} txn_versions;

/* Positions x->it at the newest version of key (the first entry at or
 * after (key, the largest sequence)). */
static int txn_versions_seek(kv_txn *t, txn_versions *x, const void *key, size_t klen)
{
    int rc = KV_OK;
    if (x->it == NULL && (rc = txn_versions_sources(t->db, x->snap_seq, &x->it)) != KV_OK)
        return rc;
    ikey_lookup lk;
    if ((rc = ikey_lookup_init(&lk, key, klen, IKEY_MAX_SEQ)) != KV_OK)
        return rc;
    size_t len = 0;
    const uint8_t *target = ikey_lookup_ikey(&lk, &len);
    iter_seek(x->it, target, len);
    ikey_lookup_free(&lk);
    return x->it->status;
}

/* The user key of the iterator's entry ends before (or at) key? */
static int txn_versions_at_or_before(const iter *it, const void *key, size_t klen)
{
    size_t ulen = it->key_len - IKEY_TRAILER_SIZE;
    return ikey_user_compare(it->key, ulen, key, klen) <= 0;
}

static int txn_version_key_changed(void *ctx, kv_txn *t, const void *key, size_t klen,
                                   int *changed)
{
    txn_versions *x = ctx;
    int rc = txn_versions_seek(t, x, key, klen);
    if (rc != KV_OK)
        return rc;
    const iter *it = x->it;
    *changed = it->valid && ikey_user_compare(it->key, it->key_len - IKEY_TRAILER_SIZE,
                                              key, klen) == 0 &&
               ikey_seq(it->key, it->key_len) > x->snap_seq;
    return KV_OK;
}

static int txn_version_range_changed(void *ctx, kv_txn *t, const txn_range *r, int *changed)
{
    txn_versions *x = ctx;
    int rc = KV_OK;
    if (r->has_lo)
        rc = txn_versions_seek(t, x, r->lo, r->lo_len);
    else if (x->it != NULL || (rc = txn_versions_sources(t->db, x->snap_seq, &x->it)) == KV_OK)
        iter_seek_first(x->it);
    *changed = 0;
    while (rc == KV_OK && x->it->valid && !*changed &&
           (!r->has_hi || txn_versions_at_or_before(x->it, r->hi, r->hi_len))) {
        *changed = ikey_seq(x->it->key, x->it->key_len) > x->snap_seq;
        iter_next(x->it);
    }
    return rc == KV_OK ? x->it->status : rc;
}

int txn_validate(kv_txn *t)
{
    txn_versions x = {.snap_seq = lsm_sources_seq_of(t->snap)};
    txn_probe versions = {.key_changed = txn_version_key_changed,
                          .range_changed = txn_version_range_changed, .ctx = &x};
    int rc = txn_check_each(t, &versions);
    if (x.it != NULL)
        iter_free(x.it);
    return rc;
}
