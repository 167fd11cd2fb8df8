/*
 * table_lines.h: kv_inspect's lines about one table (docs/lab.md), which
 * the engine's kv_inspect_get (lsm_inspect.c) and each table set's
 * kv_inspect lines (table_set_describe) share:
 *
 *   table file=000007.tbl level=L bytes=B entries=N smallest="a" largest="k"
 *   look part=table file=000007.tbl level=L result=skipped_range
 *   look part=table file=000005.tbl result=found reads=R vlen=V
 *
 * level < 0: the set has no levels, and the lines say none.
 */
#ifndef KV_TABLE_LINES_H
#define KV_TABLE_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "internal_key.h"
#include "kv.h"
#include "table.h"

/* The table's file name, the last part of its path. */
const char *table_lines_name(const table *t);
/* One table's "table" line, and its parts with KV_INSPECT_DETAIL.  KV_OK
 * or an error. */
int table_lines_table(table *t, int level, unsigned flags, kv_line_fn line, void *ctx);
/* One table's "look" line for the lookup at lk: skipped by its key range,
 * skipped by its filter, or the answer of table_get (table_get_last if
 * last is 1, as the set asks its last table), which *r gets too (its
 * value freed: r->value NULL).  KV_OK or table_get's error. */
int table_lines_look(table *t, int level, int last, const ikey_lookup *lk, kv_line_fn line,
                     void *ctx, table_get_result *r);
/* A lookup's word for a state: "absent", "found", "deleted". */
const char *table_lines_result(ikey_lookup_state state);

#endif
