/*
 * table_v2_entry.c: table.h's context, lookup and builder functions for
 * format v2, each handing over to the format's own (table_v2_open.c,
 * table_v2_read.c, table_v2_batch.c, table_v2_build.c).
 *
 * They sit in a part of their own (05-blocks/table_v2/entry), apart from
 * the format: what the tables of a database share, a lookup and a build
 * in table.h's words, each a call or two into the format's steps
 * (table_v2_parts.h; a table_builder is format v2's builder, with how far
 * its last add said it was).  A first reading skips this file.
 */
#include <stdlib.h>

#include "bloom.h"
#include "error.h"
#include "table_inspect.h"
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

/* Its counters and caches, for kv_stats; nothing for kv_inspect, whose
 * lines about the tables are the table set's. */
void table_ctx_describe(table_ctx *ctx, int inspect, kv_line_fn line, void *line_ctx)
{
    if (!inspect)
        table_v2_ctx_stats(ctx, line, line_ctx);
}

int table_get(table *t, const ikey_lookup *lk, table_get_result *r)
{
    return table_v2_get(t, lk, 0, r);
}

int table_get_last(table *t, const ikey_lookup *lk, table_get_result *r)
{
    return table_v2_get(t, lk, 1, r);
}

int table_get_last_skips(const table *t)
{
    const table_v2_kept *k = table_v2_kept_of(t);
    return k->ctx->filters_for_hits && k->filter != NULL;
}

int table_get_start(table *t, const ikey_lookup *lk, int last, table_get_result *r,
                    table_pending *p, int *pending)
{
    return table_v2_get_start(t, lk, last, r, p, pending);
}

/* kv_inspect_get's question (table_inspect.h): step 2 of a lookup asked
 * alone, which kv check's walk asks of every key too: the filter the
 * table keeps. */
int table_inspect_filter_says_absent(const table *t, const uint8_t *ukey, size_t ulen)
{
    const table_v2_kept *k = table_v2_kept_of(t);
    return k->filter != NULL && !bloom_may_contain(k->filter, k->filter + k->filter_len, ukey,
                                                   ulen);
}

/* table.h's builder: format v2's, and how far it is as of its last add
 * (table_builder_entries, table_builder_file_bytes: nothing before the
 * first). */
struct table_builder {
    table_v2_builder *v2;
    table_v2_progress now;
};

int table_builder_new(table_ctx *ctx, const char *path, table_builder **out)
{
    *out = NULL;
    table_builder *b = calloc(1, sizeof *b);
    if (b == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a table builder", path);
    int rc = table_v2_builder_new(ctx, path, TABLE_V2_VERSION, 1, &b->v2);
    if (rc != KV_OK) {
        free(b);
        return rc;
    }
    *out = b;
    return KV_OK;
}

int table_builder_add(table_builder *b, const uint8_t *ikey, size_t ikey_len,
                      const uint8_t *value, size_t value_len)
{
    return table_v2_builder_add(b->v2, ikey, ikey_len, value, value_len, &b->now);
}

uint64_t table_builder_entries(const table_builder *b)
{
    return b->now.entries;
}

uint64_t table_builder_file_bytes(const table_builder *b)
{
    return b->now.file_bytes;
}

uint64_t table_builder_written(const table_builder *b)
{
    return b->now.written;
}

int table_builder_finish(table_builder *b, table_meta *meta)
{
    int rc = table_v2_builder_finish(b->v2, meta); /* frees b->v2 */
    free(b);
    return rc;
}

void table_builder_abandon(table_builder *b)
{
    if (b == NULL)
        return;
    table_v2_builder_abandon(b->v2);
    free(b);
}
