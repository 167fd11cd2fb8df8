/*
 * table_v2_file_entry.c: table.h's functions that take a table file
 * whole (table_open, table_iter_new) and the tools' (table_check,
 * table_dump, table_salvage, table_inspect_parts), each handing over to
 * format v2's own
 * (table_v2_open.c, table_v2_iter.c, tools/).
 *
 * They sit in a part of their own (05-blocks/table_v2/file_entry), apart
 * from entry/: where a table file is opened, walked, checked and mended,
 * in table.h's words.  Each is one call (check and dump a few: they open
 * the table, then walk it through the index it keeps).  A first reading
 * skips this file.
 */
#include "table_inspect.h"
#include "table_salvage.h"
#include "table_v2_format.h"

int table_open(table_ctx *ctx, const char *path, table **out)
{
    return table_v2_open(ctx, path, out);
}

int table_iter_new(table *t, iter **out)
{
    return table_v2_iter_new(t, out);
}

/* kv check and kv dump: the table opened with a context of its own, and
 * walked through the index it keeps. */
static int table_v2_file_tool(const char *path, const char *label, kv_line_fn line,
                              void *line_ctx, int what)
{
    table_ctx *ctx = NULL;
    table *t = NULL;
    int rc = table_ctx_new(NULL, &ctx);
    if (rc == KV_OK)
        rc = table_v2_open(ctx, path, &t);
    const block *index = t != NULL ? &table_v2_kept_of(t)->index : NULL;
    rc = table_v2_tool(label, line, line_ctx, what, t, index, rc);
    table_unref(t);
    table_ctx_free(ctx);
    return rc;
}

int table_check(const char *path, const char *label, kv_line_fn line, void *line_ctx)
{
    return table_v2_file_tool(path, label, line, line_ctx, TABLE_V2_CHECK);
}

int table_dump(const char *path, const char *label, kv_line_fn line, void *line_ctx)
{
    return table_v2_file_tool(path, label, line, line_ctx, TABLE_V2_DUMP);
}

int table_salvage(const char *path, table_entry_fn entry, table_loss_fn loss, void *ctx,
                  table_salvage_info *info)
{
    return table_v2_salvage(path, entry, loss, ctx, info);
}

int table_inspect_parts(table *t, const char *label, kv_line_fn line, void *ctx)
{
    return table_v2_tool(label, line, ctx, TABLE_V2_PARTS, t, &table_v2_kept_of(t)->index,
                         KV_OK);
}
