/*
 * table_context.c: table.h's context in this stage (record_ctx.h): format
 * v2's context inside a larger one with the record cache, its doorkeeper
 * and the sampling of its lookups.  One budget, cache_bytes:
 * record_cache_percent of it for records, the rest for blocks.  Here it is
 * made and freed, and its counters and its budget reported (kv_stats,
 * kv_inspect's "cache" line).  Its data blocks have a restart point every
 * 4 entries unless the options say otherwise (stage 05's default is 16),
 * and end in a hash index of their keys unless they say KV_NO_BLOCK_HASH
 * (kv_options.block_hash_index; stage 05's default is none), and the last
 * table a get reaches is searched without asking its filter unless they
 * say KV_FILTERS_ALWAYS (kv_options.filters_for_hits: stage 05's default
 * is every filter asked), and their values are compressed one by one
 * unless they say another compression (KV_COMPRESSION_LZ4_VALUES: stage
 * 05's block_value.h; stage 05's default is each block compressed whole).
 */
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "inspect_line.h"
#include "record_ctx.h"

#define RECORD_LOOKUP_DEFAULT_PERCENT 25
#define RECORD_LOOKUP_MAX_PERCENT 90
#define RECORD_LOOKUP_SHARDS 16
/* This stage's default block_restart_interval (kv.h): a lookup reads a
 * raw block where it lies in the mapping (stage 05's table_v2_checked.c),
 * and from the restart point its binary search lands on walks at most 3
 * entries, not 15, for some 1% more bytes a block (docs/perf-09-cache.md). */
#define TABLE_CONTEXT_RESTART_INTERVAL 4

int table_ctx_new(const kv_options *opt, table_ctx **out)
{
    *out = NULL;
    kv_options o = {0};
    if (opt != NULL)
        o = *opt;
    int percent = o.record_cache_percent == 0 ? RECORD_LOOKUP_DEFAULT_PERCENT
                  : o.record_cache_percent == KV_NO_RECORD_CACHE ? 0 : o.record_cache_percent;
    if (o.record_cache_percent < KV_NO_RECORD_CACHE ||
        o.record_cache_percent > RECORD_LOOKUP_MAX_PERCENT)
        return kv_error(KV_ERR_INVALID, "option record_cache_percent = %d is out of range (1 .. "
                        "%d; 0 for the default, %d; KV_NO_RECORD_CACHE for none)",
                        o.record_cache_percent, RECORD_LOOKUP_MAX_PERCENT,
                        RECORD_LOOKUP_DEFAULT_PERCENT);
    if (o.table_partitions != 0 && o.table_partitions != KV_PARTITIONS)
        return kv_error(KV_ERR_INVALID, "option table_partitions = %d is not 0 (whole index "
                        "and filter, the default) or KV_PARTITIONS (%d: tables of partitions)",
                        o.table_partitions, KV_PARTITIONS);
    size_t total = o.cache_bytes ? o.cache_bytes : BLOCK_CACHE_DEFAULT_BYTES;
    size_t for_records = total / 100 * (size_t)percent + total % 100 * (size_t)percent / 100;
    o.cache_bytes = total - for_records;
    if (o.cache_bytes == 0)
        o.cache_bytes = 1; /* 0 would mean the default */
    if (o.block_restart_interval == 0)
        o.block_restart_interval = TABLE_CONTEXT_RESTART_INTERVAL;
    if (o.filters_for_hits == 0)
        o.filters_for_hits = 1;
    if (o.block_hash_index == 0)
        o.block_hash_index = 1;
    /* A get then decompresses the one value it returns, not the block
     * (docs/perf-09-cache.md, "Values compressed one by one"). */
    if (o.compression == KV_COMPRESSION_DEFAULT)
        o.compression = KV_COMPRESSION_LZ4_VALUES;
    record_ctx *x = calloc(1, sizeof *x);
    if (x == NULL)
        return kv_error(KV_ERR_NOMEM, "table: cannot allocate a context");
    record_sampling_init(&x->sampling);
    x->parted_tables = o.table_partitions == KV_PARTITIONS;
    int rc = table_v2_ctx_init(&x->v2, &o);
    if (rc == KV_OK && for_records > 0) {
        x->records_budget = for_records;
        rc = record_cache_open(for_records, RECORD_LOOKUP_SHARDS, &x->records);
        if (rc == KV_OK && (x->admit = doorkeeper_new(for_records * RECORD_ADMIT_SCALE)) == NULL)
            rc = kv_error(KV_ERR_NOMEM, "table: cannot allocate the record cache's doorkeeper");
        if (rc != KV_OK) {
            record_cache_close(x->records);
            table_v2_ctx_release(&x->v2);
        }
    }
    if (rc != KV_OK) {
        free(x);
        return rc;
    }
    *out = &x->v2;
    return KV_OK;
}

void table_ctx_free(table_ctx *ctx)
{
    if (ctx == NULL)
        return;
    record_ctx *x = record_ctx_of(ctx);
    record_cache_close(x->records);
    doorkeeper_free(x->admit);
    table_v2_ctx_release(&x->v2);
    free(x);
}

/* kv_stats's lines: format v2's, then the record cache's. */
static void record_ctx_stats(table_ctx *ctx, kv_line_fn line, void *line_ctx)
{
    table_v2_ctx_stats(ctx, line, line_ctx);
    record_ctx *x = record_ctx_of(ctx);
    record_counts c = {0};
    if (x->records != NULL)
        record_cache_counts(x->records, &c);
    struct {
        const char *name;
        uint64_t n;
    } rows[] = {
        {"session.record_cache.hits", c.hits},
        {"session.record_cache.misses", c.misses},
        {"session.record_cache.bypassed", c.bypassed},
        {"session.record_cache.evictions", c.evictions},
        {"session.record_cache.declined", x->admit ? doorkeeper_declined(x->admit) : 0},
        {"session.record_cache.entries", c.entries},
        {"session.record_cache.usage", c.bytes},
        {"session.record_cache.capacity", x->records_budget},
        {"record_cache.sampling", (uint64_t)atomic_load(&x->sampling.on)},
        {"session.record_cache.left_out", atomic_load(&x->sampling.left_out)},
        {"session.record_cache.sampling_changes", atomic_load(&x->sampling.changes)},
    };
    char text[96];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(text, sizeof text, "%s: %llu", rows[i].name, (unsigned long long)rows[i].n);
        line(line_ctx, text);
    }
}

/* kv_inspect's "cache" line (docs/lab.md): the one budget and what each
 * part of it holds, their hits and misses this session, and what open
 * tables keep outside it (their indexes and filters, pinned; and their
 * files' mappings, whose pages a read leaves resident: kv_options.map_tables). */
static void record_ctx_cache_line(table_ctx *ctx, kv_line_fn line, void *line_ctx)
{
    record_ctx *x = record_ctx_of(ctx);
    record_counts rc = {0};
    if (x->records != NULL)
        record_cache_counts(x->records, &rc);
    lru_cache_stats bc;
    block_cache_stats(ctx->cache, &bc);
    inspect_line l;
    inspect_begin(&l, "cache");
    inspect_u64(&l, "budget", x->records_budget + bc.capacity);
    inspect_u64(&l, "record_budget", x->records_budget);
    inspect_u64(&l, "record_bytes", rc.bytes);
    inspect_u64(&l, "records", rc.entries);
    inspect_u64(&l, "record_hits", rc.hits);
    inspect_u64(&l, "record_misses", rc.misses);
    inspect_u64(&l, "block_budget", bc.capacity);
    inspect_u64(&l, "block_bytes", bc.usage);
    inspect_u64(&l, "blocks", bc.entries);
    inspect_u64(&l, "block_hits", bc.hits);
    inspect_u64(&l, "block_misses", bc.misses);
    inspect_u64(&l, "pinned_bytes", atomic_load(&ctx->meta_bytes));
    inspect_u64(&l, "tables", atomic_load(&ctx->tables_open));
    inspect_u64(&l, "mapped_bytes", file_cache_mapped_bytes(ctx->files));
    inspect_emit(&l, line, line_ctx);
}

void table_ctx_describe(table_ctx *ctx, int inspect, kv_line_fn line, void *line_ctx)
{
    if (inspect)
        record_ctx_cache_line(ctx, line, line_ctx);
    else
        record_ctx_stats(ctx, line, line_ctx);
}
