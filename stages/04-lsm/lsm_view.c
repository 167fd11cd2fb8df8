/*
 * lsm_view.c: how the readers' view (lsm_db.h) is shared.  A reader takes
 * a reference on the current view under view_lock and then reads without
 * any lock; a writer makes a new view and publishes it by swapping one
 * pointer; the last reference on a view releases its memtables and frees
 * it.  What a view holds besides its memtables, its tables, is made, read
 * and freed in lsm_db.c.
 */
#include "lsm_db.h"

void lsm_view_init(lsm_view *v, memtable *mem, memtable *imm)
{
    atomic_init(&v->refs, 1);
    v->mem = mem;
    v->imm = imm;
    memtable_ref(mem);
    if (imm != NULL)
        memtable_ref(imm);
}

lsm_view *lsm_view_get(kv_db *db, uint64_t *seq)
{
    pthread_mutex_lock(&db->view_lock);
    lsm_view *v = db->view;
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
    /* Read under view_lock: every write up to it is in this view (D2), and
     * no compaction installed since has dropped what it needs. */
    if (seq != NULL)
        *seq = atomic_load_explicit(&db->last_seq, memory_order_acquire);
    pthread_mutex_unlock(&db->view_lock);
    return v;
}

void lsm_view_unref(lsm_view *v)
{
    if (v == NULL || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    memtable_unref(v->mem);
    memtable_unref(v->imm);
    lsm_view_free(v);
}

void lsm_view_publish(kv_db *db, lsm_view *v)
{
    pthread_mutex_lock(&db->view_lock);
    lsm_view *old = db->view;
    db->view = v;
    pthread_mutex_unlock(&db->view_lock);
    lsm_view_unref(old);
}

int lsm_view_install(kv_db *db)
{
    lsm_view *v = NULL;
    int rc = lsm_view_new(db, db->mem, db->imm, db->tables, db->ntables, &v);
    if (rc == KV_OK)
        lsm_view_publish(db, v);
    return rc;
}
