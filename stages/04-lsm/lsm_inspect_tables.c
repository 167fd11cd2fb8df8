/*
 * lsm_inspect_tables.c: the tables' part of kv_inspect and kv_inspect_get
 * (table_set.h) for stage 04's flat list, newest first, as table_set_get
 * looks (lsm_tables.c): every table, in that order, until one has a
 * version of the key.  Stage 05 links it unchanged.
 *
 *   table file=000007.sst bytes=B entries=N smallest="a" largest="k"
 */
#include "lsm_inspect.h"
#include "lsm_tables.h"

int table_set_inspect(table_set *ts, const table_set_version *v, unsigned flags,
                      kv_line_fn line, void *ctx)
{
    (void)ts;
    int rc = KV_OK;
    for (size_t i = 0; rc == KV_OK && i < v->n; i++)
        rc = lsm_inspect_table(v->tables[i]->t, -1, flags, line, ctx);
    return rc;
}

int table_set_inspect_get(table_set *ts, const table_set_version *v, const ikey_lookup *lk,
                          kv_line_fn line, void *ctx, ikey_lookup_state *state, size_t *vlen)
{
    (void)ts;
    *state = IKEY_ABSENT;
    int rc = KV_OK;
    for (size_t i = 0; rc == KV_OK && *state == IKEY_ABSENT && i < v->n; i++)
        rc = lsm_inspect_table_look(v->tables[i]->t, -1, lk, line, ctx, state, vlen);
    return rc;
}
