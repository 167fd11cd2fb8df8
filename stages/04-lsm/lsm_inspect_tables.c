/*
 * lsm_inspect_tables.c: the tables' part of kv_inspect and kv_inspect_get
 * (lsm_inspect.h) for stage 04's flat list, newest first, as
 * lsm_view_tables_get looks (lsm_db.c): every table, in that order, until
 * one has a version of the key.  Stage 05 links it unchanged; stage 06
 * replaces it (level_inspect.c).
 *
 *   table file=000007.sst bytes=B entries=N smallest="a" largest="k"
 */
#include "lsm_inspect.h"

int lsm_inspect_tables(kv_db *db, const lsm_view *v, unsigned flags, kv_line_fn line,
                       void *ctx)
{
    (void)db;
    int rc = KV_OK;
    for (size_t i = 0; rc == KV_OK && i < v->ntables; i++)
        rc = lsm_inspect_table(v->tables[i].t, -1, flags, line, ctx);
    return rc;
}

int lsm_inspect_tables_get(kv_db *db, const lsm_view *v, const ikey_lookup *lk,
                           kv_line_fn line, void *ctx, ikey_lookup_state *state, size_t *vlen)
{
    (void)db;
    *state = IKEY_ABSENT;
    int rc = KV_OK;
    for (size_t i = 0; rc == KV_OK && *state == IKEY_ABSENT && i < v->ntables; i++)
        rc = lsm_inspect_table_look(v->tables[i].t, -1, lk, line, ctx, state, vlen);
    return rc;
}
