/*
 * table_inspect.h: what kv_inspect shows inside one table, and whether a
 * table's filter rules a key out without a read.  This is an interface,
 * the inspecting side of table.h, implemented by each table format beside
 * its reader
 * (table_v1_inspect.c here; stages/05-blocks/table_v2/tools/table_v2_inspect.c for
 * format v2).  The lines are docs/lab.md's.
 *
 * Both read only what the open table keeps in memory or its file, which
 * never changes (table.h), so they take no lock; like table_get they may
 * run on any thread.
 */
#ifndef KV_LSM_TABLE_INSPECT_H
#define KV_LSM_TABLE_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"
#include "table.h"

/* Emits the lines of the parts inside t (its entries, its blocks, its
 * index, its filter: whatever the format has), at most
 * KV_INSPECT_DETAIL_MAX, each with the field table=label.  KV_OK or an
 * error (a damaged table: KV_ERR_CORRUPT naming file and offset). */
int table_inspect_parts(table *t, const char *label, kv_line_fn line, void *ctx);

/* 1 if t's filter says the user key [ukey, ukey + ulen) is in no entry of
 * t (so a lookup would read nothing); 0 if it may be, or t has no filter. */
int table_inspect_filter_says_absent(const table *t, const uint8_t *ukey, size_t ulen);

#endif
