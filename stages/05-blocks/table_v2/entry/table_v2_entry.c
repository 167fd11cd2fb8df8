/*
 * table_v2_entry.c: table.h's context and lookup functions for format v2,
 * each handing over to the format's own (table_v2_open.c,
 * table_v2_read.c, table_v2_batch.c).
 *
 * They sit in a part of their own (05-blocks/table_v2/entry) because they
 * are the whole of what a layer kept per database over the tables would
 * stand in front of: the context it lives in, and the lookups it answers
 * before a table is asked.  This stage has no such layer, so each is one
 * call.  A first reading skips this file.
 */
#include <stdlib.h>

#include "error.h"
#include "table_v2_format.h"

int table_ctx_new(const kv_options *opt, table_ctx **out)
{
    *out = NULL;
    table_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return kv_error(KV_ERR_NOMEM, "table: cannot allocate a context");
    int rc = table_v2_ctx_init(ctx, opt);
    if (rc != KV_OK) {
        free(ctx);
        return rc;
    }
    *out = ctx;
    return KV_OK;
}

void table_ctx_free(table_ctx *ctx)
{
    if (ctx == NULL)
        return;
    table_v2_ctx_release(ctx);
    free(ctx);
}

void table_ctx_stats(table_ctx *ctx, kv_line_fn line, void *line_ctx)
{
    table_v2_ctx_stats(ctx, line, line_ctx);
}

int table_get(table *t, const ikey_lookup *lk, table_get_result *r)
{
    return table_v2_get(t, lk, r);
}

int table_get_start(table *t, const ikey_lookup *lk, table_get_result *r, table_pending *p,
                    int *pending)
{
    return table_v2_get_start(t, lk, r, p, pending);
}

int table_get_finish(table_pending *p, const io_read_req *done, const ikey_lookup *lk,
                     table_get_result *r)
{
    return table_v2_get_finish(p, done, lk, r);
}
