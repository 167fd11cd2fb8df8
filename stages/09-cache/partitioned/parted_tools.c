/*
 * parted_tools.c: kv check, kv dump and kv_inspect of this stage's tables:
 * the table opened (table_open: either version), then format v2's walk
 * of its data blocks, handed the index partitions joined
 * (parted_join_index; a version-1 table's index as it is), which asks
 * each key's filter through table_inspect_filter_says_absent (in
 * parted_entry.c: the filter partition, parted_filter_says_absent, or
 * version 1's filter).
 * What they add for a version-2 table (parted_format.h):
 *   - every partition, one line each in the dump: where its index and
 *     filter partitions lie, their entries, the filter's bits, hashes
 *     and fill;
 *   - check: every filter partition read and checked (its checksum, its
 *     one entry, bloom.h's bytes), so that a damaged filter a lookup
 *     would stumble on is found even where no key's lookup reads it; and
 *     every index partition's separators against the top level's keys
 *     (P2: the top level's key of a partition is its last separator, and
 *     its first is above the partition before's), which the walk of the
 *     joined index cannot see: a top-level key out of place sends lookups
 *     to the wrong partition, and they miss keys the table holds;
 *   - kv_inspect's parts: one "filter" line for the table, its
 *     partitions' bits, hashes and bits set added up, as a version-1
 *     table's one filter gives them (the lab draws it), and a
 *     "partition" line for each partition: where its index and filter
 *     partitions lie, and its last separator (kv draw draws them).
 * A first reading skips this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bloom.h"
#include "error.h"
#include "inspect_line.h"
#include "log_report.h"
#include "parted_format.h"

typedef unsigned long long ull;

/* One partition's filter: its bloom bytes checked, into *info.  NULL or
 * what is wrong (kv_errmsg for a block that cannot be read). */
static const char *parted_filter_info(table *t, table_v2_handle h, bloom_info *info)
{
    table_v2_blockref ref;
    int from_cache;
    if (table_v2_block_get(t, NULL, h, NULL, 0, NULL, &ref, &from_cache, NULL) != KV_OK)
        return kv_errmsg();
    block_iter it = {0};
    block_iter_init(&it, &ref.b, 1);
    block_iter_seek_first(&it);
    const char *why = NULL;
    if (!it.valid || it.key_len != 1 || it.key[0] != PARTED_FILTER_KEY[0])
        why = "it holds no filter entry";
    else if (bloom_check(it.value, it.value + it.value_len, info) != KV_OK)
        why = "its filter is not one bloom.h reads";
    block_iter_free(&it);
    table_v2_block_release(t, &ref);
    return why;
}

/* P2 for the index partition at ih, whose top-level key is top (the one
 * before it: prev, NULL for the first): NULL or what is wrong. */
static const char *parted_separators(table *t, table_v2_handle ih, const uint8_t *top,
                                     size_t top_len, const uint8_t *prev, size_t prev_len)
{
    table_v2_blockref ref;
    int from_cache;
    if (table_v2_block_get(t, NULL, ih, NULL, 0, NULL, &ref, &from_cache, NULL) != KV_OK)
        return "its index partition cannot be read";
    block_iter it = {0};
    block_iter_init(&it, &ref.b, TABLE_V2_IKEY_MIN);
    const char *why = NULL;
    block_iter_seek_first(&it);
    if (it.valid && prev != NULL && ikey_compare(it.key, it.key_len, prev, prev_len) <= 0)
        why = "its first separator is not above the top level's key of the partition before";
    int any = 0;
    for (; it.valid && why == NULL; block_iter_next(&it))
        any = 1;
    if (why == NULL && it.status != KV_OK)
        why = "its index partition's entries cannot be read";
    else if (why == NULL && !any)
        why = "its index partition is empty";
    else if (why == NULL) {
        block_iter_seek_last(&it);
        if (!it.valid || it.key_len != top_len || memcmp(it.key, top, top_len) != 0)
            why = "its last separator is not the top level's key of the partition";
    }
    block_iter_free(&it);
    table_v2_block_release(t, &ref);
    return why;
}

/* Walks the partitions of t, a version-2 table: dump prints each, check
 * reports each damaged filter.  KV_OK, or KV_ERR_CORRUPT with the count
 * of damaged filters. */
static int parted_walk(table *t, const char *label, kv_line_fn line, void *line_ctx, int dump)
{
    const table_v2_kept *k = table_v2_kept_of(t);
    int problems = 0;
    block_iter top = {0};
    block_iter_init(&top, &k->index, TABLE_V2_IKEY_MIN);
    ull j = 0;
    if (dump)
        log_report_line(line, line_ctx, "# %s: version 2: partitions [%llu, %llu), the top "
                        "level at %llu (%u entries), kept with the properties and the "
                        "metaindex (see docs/09-cache.md)", label, (ull)k->data_end,
                        (ull)k->meta_at, (ull)k->meta_at, (unsigned)k->index.nrestarts);
    uint8_t *prev = NULL; /* the top level's key before */
    size_t prev_len = 0;
    for (block_iter_seek_first(&top); top.valid; block_iter_next(&top), j++) {
        table_v2_handle ih, fh;
        int has_filter;
        if (parted_top_entry(t, k, &top, &ih, &fh, &has_filter) != KV_OK)
            break; /* checked at open */
        const char *sep = dump ? NULL : parted_separators(t, ih, top.key, top.key_len, prev,
                                                          prev_len);
        if (sep != NULL) {
            log_report_line(line, line_ctx, "%s: partition %llu: the index partition at %llu: "
                            "%s (a lookup is sent to another partition)", label, j,
                            (ull)ih.offset, sep);
            problems++;
        }
        uint8_t *grown = realloc(prev, top.key_len);
        if (grown == NULL)
            free(prev); /* (out of memory: the next one's lower bound goes unchecked) */
        else
            memcpy(grown, top.key, top.key_len);
        prev = grown;
        prev_len = top.key_len;
        bloom_info info = {0};
        const char *why = has_filter ? parted_filter_info(t, fh, &info) : NULL;
        if (why != NULL) {
            log_report_line(line, line_ctx, "%s%s: partition %llu: the filter partition at "
                            "%llu: %s", dump ? "# " : "", label, j, (ull)fh.offset, why);
            problems++;
        } else if (dump && has_filter) {
            log_report_line(line, line_ctx, "# partition %llu: index at %llu (%u bytes), "
                            "filter at %llu (%u bytes, %llu bits, %d hashes, fill %.1f%%)",
                            j, (ull)ih.offset, (unsigned)ih.size, (ull)fh.offset,
                            (unsigned)fh.size, (ull)info.bits, info.k,
                            info.bits ? 100.0 * (double)info.bits_set / (double)info.bits : 0);
        } else if (dump) {
            log_report_line(line, line_ctx, "# partition %llu: index at %llu (%u bytes), no "
                            "filter", j, (ull)ih.offset, (unsigned)ih.size);
        }
    }
    block_iter_free(&top);
    free(prev);
    return problems ? kv_error(KV_ERR_CORRUPT, "%s: %d damaged partitions", table_path(t),
                               problems)
                    : KV_OK;
}

/* kv check (dump 0) and kv dump of the table at path: check walks a
 * version-2 table's filter partitions first, dump after format v2's
 * walk.  The table's context has no record cache: a walk makes no
 * lookup whose answer it could keep, and the cache and its doorkeeper,
 * allocated and zeroed at every call (kv check calls it for each table),
 * cost more than the walk of a small table. */
static int parted_tool(const char *path, const char *label, kv_line_fn line, void *line_ctx,
                       int dump)
{
    table_ctx *ctx = NULL;
    table *t = NULL;
    kv_options walk;
    kv_options_init(&walk);
    walk.record_cache_percent = KV_NO_RECORD_CACHE;
    int rc = table_ctx_new(&walk, &ctx);
    if (rc == KV_OK)
        rc = table_open(ctx, path, &t);
    int parted = t != NULL && table_v2_kept_of(t)->version == PARTED_VERSION;
    int filters = KV_OK;
    if (parted && !dump)
        filters = parted_walk(t, label, line, line_ctx, 0);
    table_v2_blockref index = {.cached = NULL};
    if (rc == KV_OK)
        rc = parted_join_index(t, &index);
    const block *b = t != NULL && rc == KV_OK ? &index.b : NULL;
    rc = table_v2_tool(label, line, line_ctx, dump ? TABLE_V2_DUMP : TABLE_V2_CHECK, t, b, rc);
    if (b != NULL)
        table_v2_block_release(t, &index);
    if (parted && dump)
        filters = parted_walk(t, label, line, line_ctx, 1);
    table_unref(t);
    table_ctx_free(ctx);
    return rc != KV_OK ? rc : filters;
}

int table_check(const char *path, const char *label, kv_line_fn line, void *line_ctx)
{
    return parted_tool(path, label, line, line_ctx, 0);
}

int table_dump(const char *path, const char *label, kv_line_fn line, void *line_ctx)
{
    return parted_tool(path, label, line, line_ctx, 1);
}

/* The "filter" line of a version-2 table: off the first filter
 * partition's offset, size all of them with their trailers, bits and
 * bits_set their sums, k the first's.  Partitions that cannot be read are
 * left out (kv check says which). */
static void parted_inspect_filters(table *t, const char *label, kv_line_fn line, void *ctx)
{
    const table_v2_kept *kept = table_v2_kept_of(t);
    block_iter top = {0};
    block_iter_init(&top, &kept->index, TABLE_V2_IKEY_MIN);
    uint64_t off = 0, size = 0, bits = 0, set = 0;
    int k = 0, any = 0;
    for (block_iter_seek_first(&top); top.valid; block_iter_next(&top)) {
        table_v2_handle ih, fh;
        int has_filter;
        bloom_info info;
        if (parted_top_entry(t, kept, &top, &ih, &fh, &has_filter) != KV_OK || !has_filter)
            break;
        if (parted_filter_info(t, fh, &info) != NULL)
            continue;
        if (!any)
            off = fh.offset, k = info.k;
        any = 1;
        size += (uint64_t)fh.size + TABLE_V2_TRAILER;
        bits += info.bits;
        set += info.bits_set;
    }
    block_iter_free(&top);
    if (!any)
        return;
    inspect_line l;
    inspect_begin(&l, "filter");
    inspect_word(&l, "table", label);
    inspect_u64(&l, "off", off);
    inspect_u64(&l, "size", size);
    inspect_u64(&l, "bits", bits);
    inspect_u64(&l, "k", (uint64_t)k);
    inspect_u64(&l, "bits_set", set);
    inspect_emit(&l, line, ctx);
}

/* A "partition" line for each entry of the top level, in order: n, its
 * index partition's offset and size (index_off, index_size), its filter
 * partition's (filter_off, filter_size; none in a table without
 * filters), sizes with their trailers, and last, its last separator.  A
 * top level that cannot be read is kv check's to report. */
static void parted_inspect_partitions(table *t, const char *label, kv_line_fn line, void *ctx)
{
    const table_v2_kept *k = table_v2_kept_of(t);
    block_iter top = {0};
    block_iter_init(&top, &k->index, TABLE_V2_IKEY_MIN);
    inspect_cap cap = {0};
    uint64_t n = 0;
    for (block_iter_seek_first(&top); top.valid; block_iter_next(&top), n++) {
        table_v2_handle ih, fh;
        int has_filter;
        if (parted_top_entry(t, k, &top, &ih, &fh, &has_filter) != KV_OK ||
            top.key_len < IKEY_TRAILER_SIZE || !inspect_cap_take(&cap, "table", label, line, ctx))
            break;
        inspect_line l;
        inspect_begin(&l, "partition");
        inspect_word(&l, "table", label);
        inspect_u64(&l, "n", n);
        inspect_u64(&l, "index_off", ih.offset);
        inspect_u64(&l, "index_size", (uint64_t)ih.size + TABLE_V2_TRAILER);
        if (has_filter) {
            inspect_u64(&l, "filter_off", fh.offset);
            inspect_u64(&l, "filter_size", (uint64_t)fh.size + TABLE_V2_TRAILER);
        }
        inspect_key(&l, "last", top.key, top.key_len - IKEY_TRAILER_SIZE);
        inspect_emit(&l, line, ctx);
    }
    block_iter_free(&top);
}

int table_inspect_parts(table *t, const char *label, kv_line_fn line, void *ctx)
{
    table_v2_blockref index;
    int joined = parted_join_index(t, &index);
    int rc = table_v2_tool(label, line, ctx, TABLE_V2_PARTS, t, &index.b, joined);
    if (joined != KV_OK)
        return rc;
    table_v2_block_release(t, &index);
    if (rc == KV_OK && table_v2_kept_of(t)->version == PARTED_VERSION) {
        parted_inspect_filters(t, label, line, ctx);
        parted_inspect_partitions(t, label, line, ctx);
    }
    return rc;
}
