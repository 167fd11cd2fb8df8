/*
 * flat_set_describe.c: what stage 04's table set says of itself
 * (table_set_describe): for kv_stats, its tables' count, bytes and
 * entries; for kv_inspect, a line per table, newest first, as a lookup
 * meets them (table_lines.h):
 *
 *   table file=000001-000007.tbl bytes=B entries=N smallest="a" largest="k"
 */
#include <inttypes.h>
#include <stdio.h>

#include "flat_set.h"
#include "table_lines.h"

int table_set_describe(table_set *ts, const table_set_version *v, const table_describe *d,
                       kv_line_fn line, void *ctx)
{
    (void)ts; /* the version's list says it all */
    if (d->inspect) {
        int rc = KV_OK;
        for (size_t i = 0; rc == KV_OK && i < v->n; i++)
            rc = table_lines_table(v->tables[i]->t, -1, d->flags, line, ctx);
        return rc;
    }
    uint64_t bytes = 0, entries = 0;
    for (size_t i = 0; i < v->n; i++) {
        bytes += table_file_bytes(v->tables[i]->t);
        entries += table_entries(v->tables[i]->t);
    }
    char text[64];
    snprintf(text, sizeof text, "tables.count: %zu", v->n);
    line(ctx, text);
    snprintf(text, sizeof text, "tables.bytes: %" PRIu64, bytes);
    line(ctx, text);
    snprintf(text, sizeof text, "tables.entries: %" PRIu64, entries);
    line(ctx, text);
    return KV_OK;
}
