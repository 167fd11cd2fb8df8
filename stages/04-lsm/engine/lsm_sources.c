/*
 * lsm_sources.c: the engine's sources, as a check in its write path reads
 * them (lsm_sources.h).
 */
#include "lsm_sources.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "lsm_db.h"
#include "lsm_elsewhere.h"

uint64_t lsm_sources_seq_of(const kv_snapshot *snap) { return snap->seq; }

void lsm_sources_get(kv_db *db, lsm_sources *s)
{
    lsm_view *v = lsm_view_get(db, NULL);
    s->mem = v->mem;
    s->imm = v->imm;
    s->tables = v->tables;
    s->memory_from = db->memtables.imm != NULL ? db->memtables.imm_lo : db->memtables.mem_lo;
    s->last = atomic_load_explicit(&db->seq.last, memory_order_relaxed);
    s->view = v;
    s->db = db;
}

void lsm_sources_release(lsm_sources *s)
{
    lsm_view_unref(s->view);
    s->view = NULL;
}

/* ---- versions that only moved a value --------------------------------------- */

typedef struct moved_iter {
    iter base;
    iter *in;
    uint64_t *moved;    /* ascending */
    size_t n;
} moved_iter;

static int moved_is(const moved_iter *m, uint64_t seq)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->moved[mid] < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n && m->moved[lo] == seq;
}

/* Past the moves, then shows in's entry. */
static void moved_follow(moved_iter *m)
{
    while (m->in->valid && moved_is(m, ikey_seq(m->in->key, m->in->key_len)))
        iter_next(m->in);
    m->base.status = m->in->status;
    m->base.valid = m->in->valid;
    m->base.key = m->in->key;
    m->base.key_len = m->in->key_len;
    m->base.value = m->in->value;
    m->base.value_len = m->in->value_len;
}

static void moved_seek_first(iter *it)
{
    moved_iter *m = (moved_iter *)it;
    iter_seek_first(m->in);
    moved_follow(m);
}

static void moved_seek(iter *it, const uint8_t *target, size_t len)
{
    moved_iter *m = (moved_iter *)it;
    iter_seek(m->in, target, len);
    moved_follow(m);
}

static void moved_next(iter *it)
{
    moved_iter *m = (moved_iter *)it;
    iter_next(m->in);
    moved_follow(m);
}

static void moved_backward(iter *it)
{
    iter_fail(it, kv_error(KV_ERR_INVALID, "kv_txn_commit: the check reads forward only"));
}

static void moved_free(iter *it)
{
    moved_iter *m = (moved_iter *)it;
    iter_free(m->in);
    free(m->moved);
    free(m);
}

static const iter_ops moved_ops = {
    .seek_first = moved_seek_first,
    .seek_last = moved_backward,
    .seek = moved_seek,
    .next = moved_next,
    .prev = moved_backward,
    .free = moved_free,
};

int lsm_sources_user_writes(const lsm_sources *s, uint64_t snap_seq, iter **it)
{
    const uint64_t *moved = NULL;
    size_t n = 0, k = 0;
    lsm_values_moved(s->db, &moved, &n);
    while (k < n && moved[k] <= snap_seq)
        k++;
    if (k == n)
        return KV_OK;
    moved_iter *m = calloc(1, sizeof *m);
    uint64_t *copy = m != NULL ? malloc((n - k) * sizeof *copy) : NULL;
    if (copy == NULL) {
        free(m);
        iter_free(*it);
        *it = NULL;
        return kv_error(KV_ERR_NOMEM, "kv_txn_commit: out of memory");
    }
    memcpy(copy, moved + k, (n - k) * sizeof *copy);
    iter_init(&m->base, &moved_ops);
    m->in = *it;
    m->moved = copy;
    m->n = n - k;
    *it = &m->base;
    return KV_OK;
}
