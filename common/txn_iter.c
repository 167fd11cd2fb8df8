/*
 * txn_iter.c: a transaction's iterator (kv_txn_iter_*, include/kv.h): the
 * transaction's own writes over its snapshot, in key order, forward.
 *
 * Two sorted sources are merged: an iterator at the snapshot (the
 * stage's kv_iter_new_at) and the transaction's writes (txn.h, X1).  At
 * each step the smaller key of the two answers; on the same key the
 * transaction's write answers (it is newer), and a delete hides the key.
 *
 * The transaction may write while its iterator is live (a scan that
 * updates what it reads).  Its writes array then changes under the
 * iterator (an insert shifts the entries after it, a rewrite frees the old
 * value), so the iterator keeps no index into it across calls: it keeps a
 * copy of the entry it stands on (the key; the value too when it is one of
 * the transaction's writes), which is what kv_txn_iter_key and
 * kv_txn_iter_value answer until it moves, and each step finds its place
 * in the writes again by that key (the first write after it).  So a write
 * is seen from the iterator's next move on, in key order: one ahead of
 * where it stands is shown, one behind it is not.
 *
 * Under KV_TXN_SERIALIZABLE it records what it read: from the key it was
 * positioned at (seek; the first key for seek_first) to the last key it
 * showed, or to the end if it ran off it.  That range, not only the keys
 * in it, is what a later write must not touch (an insert into it is a
 * phantom): kept in the transaction when the iterator is positioned again
 * or freed.
 */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error.h"
#include "txn.h"

struct kv_txn_iter {
    kv_txn *txn;
    kv_iter *snap;              /* the snapshot's iterator */
    size_t w;                   /* while settling: the first write at or after
                                   the position (found again at each step) */
    int from_write;             /* the current entry is a write of the
                                   transaction (its value copied in val) */
    int valid, status;
    uint8_t *last;              /* the key shown last (the current one while
                                   valid): a copy */
    size_t last_len, last_cap;
    uint8_t *val;               /* from_write: a copy of the value shown */
    size_t val_len, val_cap;
    /* SERIALIZABLE: the range read since it was last positioned. */
    int positioned;             /* a range is being read */
    uint8_t *lo;                /* where it was positioned (NULL: the first key) */
    size_t lo_len;
};

static int txn_iter_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c != 0 ? c : (alen > blen) - (alen < blen);
}

/* Keeps the range read so far in the transaction (SERIALIZABLE). */
static void txn_iter_keep_range(kv_txn_iter *it)
{
    kv_txn *t = it->txn;
    if (!it->positioned)
        return;
    it->positioned = 0;
    if (it->status != KV_OK) {
        t->broken = it->status; /* what it showed cannot be vouched for at commit */
        return;
    }
    if (t->nranges == t->ranges_cap) {
        size_t cap = 2 * t->ranges_cap + 4;
        txn_range *grown = realloc(t->ranges, cap * sizeof *grown);
        if (grown == NULL) {
            it->status = t->broken = kv_error(KV_ERR_NOMEM, "kv_txn_iter: out of memory "
                                              "for a range");
            return;
        }
        t->ranges = grown;
        t->ranges_cap = cap;
    }
    /* Open above if it ran off the end: no key after `last` exists. */
    txn_range r = {.lo = it->lo, .lo_len = it->lo_len, .has_lo = it->lo != NULL,
                   .has_hi = it->valid, .hi = NULL, .hi_len = 0};
    if (r.has_hi) {
        r.hi = malloc(it->last_len ? it->last_len : 1);
        if (r.hi == NULL) {
            it->status = t->broken = kv_error(KV_ERR_NOMEM, "kv_txn_iter: out of memory "
                                              "for a range");
            return;
        }
        memcpy(r.hi, it->last, it->last_len);
        r.hi_len = it->last_len;
    }
    t->ranges[t->nranges++] = r;
    it->lo = NULL; /* the transaction owns it now */
    it->lo_len = 0;
}

/* Settles on the next entry to show from the position: skips a snapshot
 * key the transaction rewrote, and the keys it deleted. */
static void txn_iter_settle(kv_txn_iter *it)
{
    const txn_keys *ws = &it->txn->writes;
    for (;;) {
        int snap_ok = kv_iter_valid(it->snap);
        int write_ok = it->w < ws->n;
        if (!snap_ok && (it->status = kv_iter_status(it->snap)) != KV_OK) {
            it->valid = 0;
            return;
        }
        if (!snap_ok && !write_ok) {
            it->valid = 0;
            return;
        }
        int c = 1; /* > 0: the write comes first */
        if (snap_ok && write_ok) {
            size_t sl = 0;
            const void *sk = kv_iter_key(it->snap, &sl);
            c = txn_iter_cmp(sk, sl, ws->e[it->w].key, ws->e[it->w].klen);
        } else if (snap_ok) {
            c = -1;
        }
        if (c < 0) { /* the snapshot's key, untouched by the transaction */
            it->from_write = 0;
            it->valid = 1;
            return;
        }
        if (c == 0)
            kv_iter_next(it->snap); /* the transaction's write replaces it */
        if (!ws->e[it->w].is_delete) {
            it->from_write = 1;
            it->valid = 1;
            return;
        }
        it->w++; /* a key it deleted: not shown */
    }
}

/* Copies n bytes of p into *buf (growing it to *cap); KV_OK or NOMEM. */
static int txn_iter_copy(uint8_t **buf, size_t *cap, size_t *len, const void *p, size_t n)
{
    if (n > *cap) {
        uint8_t *grown = realloc(*buf, n);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "kv_txn_iter: out of memory for %zu bytes", n);
        *buf = grown;
        *cap = n;
    }
    if (n > 0)
        memcpy(*buf, p, n);
    *len = n;
    return KV_OK;
}

/* After a move: copies the entry shown (its key is the last one read). */
static void txn_iter_shown(kv_txn_iter *it)
{
    if (!it->valid)
        return;
    const void *k = NULL;
    size_t klen = 0;
    int rc = KV_OK;
    if (it->from_write) {
        const txn_write *w = &it->txn->writes.e[it->w];
        k = w->key;
        klen = w->klen;
        rc = txn_iter_copy(&it->val, &it->val_cap, &it->val_len, w->val, w->vlen);
    } else {
        k = kv_iter_key(it->snap, &klen);
    }
    if (rc == KV_OK)
        rc = txn_iter_copy(&it->last, &it->last_cap, &it->last_len, k, klen);
    if (rc != KV_OK) {
        it->status = rc;
        it->valid = 0;
    }
}

int kv_txn_iter_new(kv_txn *t, kv_txn_iter **out)
{
    int rc;
    if ((rc = args_check_ptr("kv_txn_iter_new", t, "transaction")) != KV_OK ||
        (rc = args_check_ptr("kv_txn_iter_new", out, "iterator pointer")) != KV_OK)
        return rc;
    *out = NULL;
    kv_txn_iter *it = calloc(1, sizeof *it);
    if (it == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_txn_iter_new: out of memory");
    if ((rc = kv_iter_new_at(t->db, t->snap, &it->snap)) != KV_OK) {
        free(it);
        return rc;
    }
    it->txn = t;
    t->iters++;
    *out = it;
    return KV_OK;
}

/* Positions it at the first key >= key (key NULL: the first key). */
static void txn_iter_position(kv_txn_iter *it, const void *key, size_t klen)
{
    txn_iter_keep_range(it);
    if (it->status != KV_OK)
        return;
    if (key == NULL) {
        kv_iter_seek_first(it->snap);
        it->w = 0;
    } else {
        kv_iter_seek(it->snap, key, klen);
        int found = 0;
        it->w = txn_keys_find(&it->txn->writes, key, klen, &found);
    }
    if (it->txn->isolation == KV_TXN_SERIALIZABLE) {
        if (key != NULL && klen > 0) {
            if ((it->lo = malloc(klen)) == NULL) {
                it->status = kv_error(KV_ERR_NOMEM, "kv_txn_iter_seek: out of memory");
                it->valid = 0;
                return;
            }
            memcpy(it->lo, key, klen);
            it->lo_len = klen;
        }
        it->positioned = 1;
    }
    it->last_len = 0;
    txn_iter_settle(it);
    txn_iter_shown(it);
}

void kv_txn_iter_seek_first(kv_txn_iter *it)
{
    if (it != NULL)
        txn_iter_position(it, NULL, 0);
}

void kv_txn_iter_seek(kv_txn_iter *it, const void *key, size_t klen)
{
    if (it == NULL)
        return;
    if (key == NULL && klen > 0) {
        it->status = args_check_ptr("kv_txn_iter_seek", key, "key");
        it->valid = 0;
        return;
    }
    txn_iter_position(it, klen > 0 ? key : NULL, klen); /* every key is >= the empty key */
}

int kv_txn_iter_valid(const kv_txn_iter *it)
{
    return it != NULL && it->status == KV_OK && it->valid;
}

void kv_txn_iter_next(kv_txn_iter *it)
{
    if (!kv_txn_iter_valid(it))
        return;
    if (!it->from_write)
        kv_iter_next(it->snap); /* (a write shown is already behind the snapshot's) */
    /* The first write after the key shown, however the writes changed since. */
    int found = 0;
    it->w = txn_keys_find(&it->txn->writes, it->last, it->last_len, &found) + (size_t)found;
    txn_iter_settle(it);
    txn_iter_shown(it);
}

const void *kv_txn_iter_key(const kv_txn_iter *it, size_t *klen)
{
    size_t n = 0;
    const void *k = NULL;
    if (kv_txn_iter_valid(it)) {
        k = it->last;
        n = it->last_len;
    }
    if (klen)
        *klen = n;
    return k;
}

const void *kv_txn_iter_value(const kv_txn_iter *it, size_t *vlen)
{
    size_t n = 0;
    const void *v = NULL;
    if (kv_txn_iter_valid(it)) {
        if (it->from_write) {
            v = it->val_len > 0 ? it->val : (const void *)"";
            n = it->val_len;
        } else {
            v = kv_iter_value(it->snap, &n);
        }
    }
    if (vlen)
        *vlen = n;
    return v;
}

int kv_txn_iter_status(const kv_txn_iter *it)
{
    if (it == NULL)
        return kv_error(KV_ERR_INVALID, "kv_txn_iter_status: the iterator is NULL");
    return it->status != KV_OK ? it->status : kv_iter_status(it->snap);
}

void kv_txn_iter_free(kv_txn_iter *it)
{
    if (it == NULL)
        return;
    txn_iter_keep_range(it);
    kv_iter_free(it->snap);
    free(it->lo);
    free(it->last);
    free(it->val);
    kv_txn *t = it->txn;
    free(it);
    if (--t->iters == 0 && t->ended)
        txn_end(t);
}
