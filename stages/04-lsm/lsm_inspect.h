/*
 * lsm_inspect.h: kv_inspect and kv_inspect_get of the LSM stages, split as
 * lookups are (lsm_db.h, "views: their tables"): lsm_inspect.c shows the
 * memtables and asks the view's tables part for the rest, which stage 04
 * (and stage 05, with it) implements for its flat list of tables newest
 * first (lsm_inspect_tables.c) and stage 06 for its levels
 * (stages/06-leveled/level_inspect.c).  The lines are docs/lab.md's.
 *
 * REQUIRES (all of them): v is a view the caller holds a reference on
 * (lsm_view_get), so its memtables and tables stay open; no lock held.
 */
#ifndef KV_LSM_INSPECT_H
#define KV_LSM_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "lsm_db.h"

/* The "table" lines of v's tables (and what else groups them: levels),
 * with KV_INSPECT_DETAIL each table's parts (table_inspect.h). */
int lsm_inspect_tables(kv_db *db, const lsm_view *v, unsigned flags, kv_line_fn line,
                       void *ctx);

/* The tables' part of kv_inspect_get: a "look" line for each table (or
 * level) the lookup at lk meets, in the order lsm_view_tables_get looks,
 * up to the one that answers.  *state: IKEY_FOUND (*vlen its value's
 * length), IKEY_DELETED or IKEY_ABSENT.  KV_OK or an error. */
int lsm_inspect_tables_get(kv_db *db, const lsm_view *v, const ikey_lookup *lk,
                           kv_line_fn line, void *ctx, ikey_lookup_state *state, size_t *vlen);

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
