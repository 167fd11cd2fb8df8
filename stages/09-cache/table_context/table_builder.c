/*
 * table_builder.c: table.h's builder in this stage: the partitioned
 * format's (parted_format.h), of the version the context says
 * (record_ctx.h): version 2, tables of partitions, with
 * kv_options.table_partitions = KV_PARTITIONS; else version 1, as stage
 * 05 writes it.  What it writes is paced by the engine, which asks for
 * the bytes as the file grows (table_builder_written; stage 04's
 * bg_rate.h, rate_limiter/ in this stage).
 */
#include <stdlib.h>

#include "error.h"
#include "parted_format.h"
#include "record_ctx.h"

struct table_builder {
    parted_builder *v2;
};

int table_builder_new(table_ctx *ctx, const char *path, table_builder **out)
{
    *out = NULL;
    table_builder *b = calloc(1, sizeof *b);
    if (b == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a table builder", path);
    uint32_t version = record_ctx_of(ctx)->parted_tables ? PARTED_VERSION : TABLE_V2_VERSION;
    int rc = parted_builder_new(ctx, path, version, &b->v2);
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
    return parted_builder_add(b->v2, ikey, ikey_len, value, value_len);
}

uint64_t table_builder_entries(const table_builder *b)
{
    table_v2_progress p;
    parted_builder_progress(b->v2, &p);
    return p.entries;
}

uint64_t table_builder_file_bytes(const table_builder *b)
{
    return parted_builder_file_bytes(b->v2);
}

uint64_t table_builder_written(const table_builder *b)
{
    table_v2_progress p;
    parted_builder_progress(b->v2, &p);
    return p.written;
}

int table_builder_finish(table_builder *b, table_meta *meta)
{
    int rc = parted_builder_finish(b->v2, meta); /* frees b->v2 whatever happens */
    free(b);
    return rc;
}

void table_builder_abandon(table_builder *b)
{
    if (b == NULL)
        return;
    parted_builder_abandon(b->v2);
    free(b);
}
