/*
 * lsm_iter_ahead.c: the read-ahead window of a scan (lsm_iter_ahead.h).
 * A first reading skips this file: it changes how fast a scan reads
 * values kept elsewhere, not what it reads.
 */
#include "lsm_iter_ahead.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "user_iter.h"

/* Forward steps in a row before a window opens, at least: a seek followed
 * by a step or two reads as before.  A store that gains only from long
 * batches (value_store_ahead_min) waits for as many steps as it wants
 * values: a seek followed by a few steps opens no window. */
#define LSM_AHEAD_AFTER 2

int lsm_ahead_wanted(lsm_ahead *a, iter *u, value_store *vs)
{
    if (a->steps < LSM_AHEAD_AFTER) {
        a->steps++;
        return 0;
    }
    if (a->min == 0)
        a->min = value_store_ahead_min(vs);
    if (a->steps < a->min) {
        a->steps++;
        return 0;
    }
    return user_iter_elsewhere(u);
}

static int ahead_copy(uint8_t **p, size_t *cap, const void *src, size_t n)
{
    if (*cap < n || *p == NULL) {
        size_t want = n > 64 ? n : 64;
        uint8_t *q = realloc(*p, want);
        if (q == NULL)
            return kv_error(KV_ERR_NOMEM, "kv_iter: out of memory reading ahead");
        *p = q;
        *cap = want;
    }
    if (n > 0)
        memcpy(*p, src, n);
    return KV_OK;
}

/* What the store keeps for the window's values not read, let go. */
static void ahead_let_go(lsm_ahead *a, value_store *vs)
{
    if (a->e != NULL)
        for (size_t i = 0; i < LSM_AHEAD_ENTRIES; i++)
            value_store_let_go(vs, &a->e[i].loaded);
}

int lsm_ahead_fill(lsm_ahead *a, iter *u, value_store *vs)
{
    ahead_let_go(a, vs);
    a->n = a->at = 0;
    if (a->e == NULL && (a->e = calloc(LSM_AHEAD_ENTRIES, sizeof *a->e)) == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_iter: out of memory reading ahead");
    const uint8_t *where[LSM_AHEAD_ENTRIES];
    size_t wlen[LSM_AHEAD_ENTRIES], idx[LSM_AHEAD_ENTRIES], m = 0;
    value_buf bufs[LSM_AHEAD_ENTRIES];
    const uint8_t *vals[LSM_AHEAD_ENTRIES];
    size_t vlens[LSM_AHEAD_ENTRIES];
    int rcs[LSM_AHEAD_ENTRIES];
    uint64_t bytes = 0;
    int rc = KV_OK;
    size_t first = a->min > LSM_AHEAD_FIRST ? a->min : LSM_AHEAD_FIRST;
    size_t take = a->next ? a->next : first < LSM_AHEAD_ENTRIES ? first : LSM_AHEAD_ENTRIES;
    a->next = take * 2 < LSM_AHEAD_ENTRIES ? take * 2 : LSM_AHEAD_ENTRIES;
    while (a->n < take && iter_valid(u)) {
        ahead_entry *e = &a->e[a->n];
        size_t klen, vlen;
        const void *k = iter_key(u, &klen), *v = iter_value(u, &vlen);
        size_t size = user_iter_elsewhere(u) ? value_store_value_size(vs, v, vlen) : vlen;
        if (a->n > 0 && bytes + size > LSM_AHEAD_BYTES)
            break; /* (the first entry is taken whatever its size) */
        bytes += size;
        if ((rc = ahead_copy(&e->key, &e->kcap, k, klen)) != KV_OK ||
            (rc = ahead_copy(&e->val, &e->vcap, v, vlen)) != KV_OK)
            break;
        e->klen = klen;
        e->vlen = vlen;
        e->elsewhere = user_iter_elsewhere(u);
        e->lval = NULL;
        e->llen = 0;
        e->read = 0;
        if (e->elsewhere) {
            where[m] = e->val;
            wlen[m] = vlen;
            bufs[m] = e->loaded;
            idx[m++] = a->n;
        }
        a->n++;
        iter_next(u);
    }
    if (m > 0) {
        (void)value_store_read_ahead(vs, m, where, wlen, bufs, vals, vlens, rcs);
        for (size_t j = 0; j < m; j++) {
            ahead_entry *e = &a->e[idx[j]];
            e->loaded = bufs[j];
            e->read = rcs[j] == KV_OK && vals[j] != NULL;
            e->lval = e->read ? vals[j] : NULL;
            e->llen = e->read ? vlens[j] : 0;
        }
    }
    if (rc != KV_OK)
        a->n = 0; /* (u has moved past what it took: the caller fails the iterator) */
    return rc;
}

const void *lsm_ahead_value(lsm_ahead *a, value_store *vs, size_t *vlen, int *rc)
{
    ahead_entry *e = &a->e[a->at];
    *rc = KV_OK;
    if (!e->elsewhere) {
        *vlen = e->vlen;
        return e->val;
    }
    if (!e->read) {
        const uint8_t *v = NULL;
        size_t n = 0;
        if ((*rc = value_store_load(vs, e->val, e->vlen, &e->loaded, &v, &n)) != KV_OK) {
            *vlen = 0;
            return NULL;
        }
        e->lval = v;
        e->llen = n;
        e->read = 1;
    }
    *vlen = e->llen;
    return e->lval;
}

void lsm_ahead_close(lsm_ahead *a, iter *u, value_store *vs, int put_back)
{
    ahead_let_go(a, vs);
    if (a->n > 0 && put_back) {
        const ahead_entry *e = &a->e[a->at];
        iter_seek(u, e->key, e->klen); /* the same view: it stands on that entry */
    }
    a->n = a->at = 0;
    a->steps = 0;
    a->next = 0;
}

void lsm_ahead_free(lsm_ahead *a, value_store *vs)
{
    if (a->e == NULL)
        return;
    ahead_let_go(a, vs);
    for (size_t i = 0; i < LSM_AHEAD_ENTRIES; i++) {
        free(a->e[i].key);
        free(a->e[i].val);
        value_buf_free(&a->e[i].loaded);
    }
    free(a->e);
    a->e = NULL;
}
