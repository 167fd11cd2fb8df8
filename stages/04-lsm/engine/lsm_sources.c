/*
 * lsm_sources.c: the engine's sources, as a check in its write path reads
 * them (lsm_sources.h).
 */
#include "lsm_sources.h"

#include "lsm_db.h"

uint64_t lsm_sources_seq_of(const kv_snapshot *snap) { return snap->seq; }

void lsm_sources_get(kv_db *db, lsm_sources *s)
{
    lsm_view *v = lsm_view_get(db, NULL);
    s->mem = v->mem;
    s->imm = v->imm;
    s->tables = v->tables;
    s->memory_from = db->imm != NULL ? db->imm_lo : db->mem_lo;
    s->last = atomic_load_explicit(&db->last_seq, memory_order_relaxed);
    s->view = v;
}

void lsm_sources_release(lsm_sources *s)
{
    lsm_view_unref(s->view);
    s->view = NULL;
}
