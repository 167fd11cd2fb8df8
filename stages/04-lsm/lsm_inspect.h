/*
 * lsm_inspect.h: kv_inspect and kv_inspect_get of the LSM stages:
 * lsm_inspect.c shows the memtables and asks the table set for the rest
 * (table_set_inspect, table_set_inspect_get: stage 04's flat list in
 * lsm_inspect_tables.c, stage 06's levels in level_inspect.c); both use
 * the helpers below for one table.  The lines are docs/lab.md's.
 *
 * REQUIRES (all of them): the caller holds a reference on what it shows
 * (a view, lsm_view_get), so its memtables and tables stay open; no lock
 * held.
 */
#ifndef KV_LSM_INSPECT_H
#define KV_LSM_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "lsm_db.h"

/* For both implementations: one table's "table" line (level < 0: none),
 * and its parts with KV_INSPECT_DETAIL. */
int lsm_inspect_table(table *t, int level, unsigned flags, kv_line_fn line, void *ctx);
/* One table's "look" line for the lookup at lk: skipped by its key range,
 * skipped by its filter, or table_get's answer (in *state, *vlen). */
int lsm_inspect_table_look(table *t, int level, const ikey_lookup *lk, kv_line_fn line,
                           void *ctx, ikey_lookup_state *state, size_t *vlen);
/* The table's file name, the last part of its path. */
const char *lsm_inspect_table_name(const table *t);

#endif
