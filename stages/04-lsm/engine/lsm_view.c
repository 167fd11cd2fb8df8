/*
 * lsm_view.c: the readers' view (lsm_db.h): the memtables and a version
 * of the tables, taken together so that a read sees one moment; and the
 * oldest moment any reader still reads at (lsm_oldest_snapshot), which is
 * what a merge may not drop below.  A reader
 * takes a reference on the current view under view_lock and then reads
 * without any lock; a writer makes a new view and publishes it by swapping
 * one pointer; the last reference on a view releases what it holds.
 */
#include <stdlib.h>

#include "error.h"
#include "lsm_db.h"

/* Fills v (allocated) with mem, imm and the current tables. */
static void lsm_view_fill(kv_db *db, lsm_view *v, memtable *mem, memtable *imm)
{
    atomic_init(&v->refs, 1);
    v->mem = mem;
    v->imm = imm;
    memtable_ref(mem);
    if (imm != NULL)
        memtable_ref(imm);
    table_set_version_ref(db->tables.current);
    v->tables = db->tables.current;
}

int lsm_view_reserve(kv_db *db, lsm_view **spare)
{
    *spare = calloc(1, sizeof **spare);
    if (*spare == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for a view", db->dir.path);
    return KV_OK;
}

int lsm_view_new(kv_db *db, memtable *mem, memtable *imm, lsm_view **out)
{
    int rc = lsm_view_reserve(db, out);
    if (rc == KV_OK)
        lsm_view_fill(db, *out, mem, imm);
    return rc;
}

lsm_view *lsm_view_get(kv_db *db, uint64_t *seq)
{
    pthread_mutex_lock(&db->view.lock);
    lsm_view *v = db->view.current;
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
    /* Read under view_lock: every write up to it is in this view (D2), and
     * no compaction installed since has dropped what it needs. */
    if (seq != NULL)
        *seq = atomic_load_explicit(&db->seq.last, memory_order_acquire);
    pthread_mutex_unlock(&db->view.lock);
    return v;
}

void lsm_view_unref(lsm_view *v)
{
    if (v == NULL || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    memtable_unref(v->mem);
    memtable_unref(v->imm);
    table_set_version_unref(v->tables);
    free(v);
}

void lsm_view_publish(kv_db *db, lsm_view *v)
{
    pthread_mutex_lock(&db->view.lock);
    lsm_view *old = db->view.current;
    db->view.current = v;
    pthread_mutex_unlock(&db->view.lock);
    lsm_view_unref(old);
}

void lsm_view_install(kv_db *db, lsm_view *spare, table_set_version *tables,
                      int imm_flushed)
{
    if (tables != NULL) {
        table_set_version_unref(db->tables.current);
        db->tables.current = tables;
    }
    if (imm_flushed) {
        memtable_unref(db->memtables.imm);
        db->memtables.imm = NULL;
    }
    lsm_view_fill(db, spare, db->memtables.mem, db->memtables.imm);
    lsm_view_publish(db, spare);
}

int lsm_view_iters(const lsm_view *v, iter ***out, size_t *n)
{
    /* The tables' iterators after two slots for the memtables. */
    iter **children = NULL;
    size_t total = 0;
    int rc = table_set_iters(v->tables, 2, &children, &total);
    if (rc != KV_OK)
        return rc;
    size_t k = 0;
    if ((rc = memtable_iter_new(v->mem, &children[k])) == KV_OK)
        k++;
    if (rc == KV_OK && v->imm != NULL && (rc = memtable_iter_new(v->imm, &children[k])) == KV_OK)
        k++;
    if (rc != KV_OK) {
        while (k > 0)
            iter_free(children[--k]);
        for (size_t i = 2; i < total; i++)
            iter_free(children[i]);
        free(children);
        return rc;
    }
    /* Newest first, no gap: the tables move up if imm left its slot empty. */
    memmove(children + k, children + 2, (total - 2) * sizeof *children);
    *n = k + total - 2;
    *out = children;
    return KV_OK;
}

uint64_t lsm_oldest_snapshot(kv_db *db)
{
    pthread_mutex_lock(&db->snaps.lock);
    uint64_t seq = db->snaps.head ? db->snaps.head->seq
                                 : atomic_load_explicit(&db->seq.last, memory_order_acquire);
    pthread_mutex_unlock(&db->snaps.lock);
    return seq;
}
