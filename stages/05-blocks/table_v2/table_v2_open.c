/*
 * table_v2_open.c: the tables of a database (their shared context: the
 * options, the block cache, the open-file cache, the counters), and
 * opening one v2 table: the header, the footer, then every meta block in
 * one read, each checked before anything in it is believed
 * (table_v2_format.h).  What an open table keeps is those meta blocks:
 * the index and the filter, the properties and the metaindex (table.h,
 * T3).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bloom.h"
#include "error.h"
#include "table_v2_format.h"

/* ---- the shared context ------------------------------------------------------ */

static int table_ctx_options(const kv_options *opt, table_ctx *ctx)
{
    kv_options d = {0};
    if (opt == NULL)
        opt = &d;
    ctx->block_bytes = opt->block_bytes ? opt->block_bytes : TABLE_V2_BLOCK_BYTES_DEFAULT;
    if (ctx->block_bytes < TABLE_V2_BLOCK_BYTES_MIN || ctx->block_bytes > TABLE_V2_BLOCK_BYTES_MAX)
        return kv_error(KV_ERR_INVALID, "option block_bytes = %zu is out of range (%u .. %u; "
                        "0 for the default, %u)", opt->block_bytes, TABLE_V2_BLOCK_BYTES_MIN,
                        TABLE_V2_BLOCK_BYTES_MAX, TABLE_V2_BLOCK_BYTES_DEFAULT);
    int ri = opt->block_restart_interval;
    ctx->restart_interval = ri ? (unsigned)ri : TABLE_V2_RESTART_INTERVAL;
    if (ri < 0 || ri > (int)TABLE_V2_RESTART_INTERVAL_MAX)
        return kv_error(KV_ERR_INVALID, "option block_restart_interval = %d is out of range "
                        "(1 .. %u; 0 for the default, %u)", ri, TABLE_V2_RESTART_INTERVAL_MAX,
                        TABLE_V2_RESTART_INTERVAL);
    int hash = opt->block_hash_index;
    if (hash != 0 && hash != 1 && hash != KV_NO_BLOCK_HASH)
        return kv_error(KV_ERR_INVALID, "option block_hash_index = %d is not 0 (the default), "
                        "1 (a hash index in each data block) or KV_NO_BLOCK_HASH (%d)", hash,
                        KV_NO_BLOCK_HASH);
    ctx->block_hash = hash == 1;
    int bits = opt->bloom_bits_per_key;
    ctx->bloom_bits = bits == 0 ? BLOOM_DEFAULT_BITS_PER_KEY : bits == KV_NO_BLOOM ? 0 : bits;
    if (bits < KV_NO_BLOOM || bits > TABLE_V2_BLOOM_BITS_MAX)
        return kv_error(KV_ERR_INVALID, "option bloom_bits_per_key = %d is out of range (1 .. "
                        "%d; 0 for the default, %d; KV_NO_BLOOM for no filters)", bits,
                        TABLE_V2_BLOOM_BITS_MAX, BLOOM_DEFAULT_BITS_PER_KEY);
    int hits = opt->filters_for_hits;
    if (hits != 0 && hits != 1 && hits != KV_FILTERS_ALWAYS)
        return kv_error(KV_ERR_INVALID, "option filters_for_hits = %d is not 0 (the default), "
                        "1 (the last table a get reaches searched without its filter) or "
                        "KV_FILTERS_ALWAYS (%d)", hits, KV_FILTERS_ALWAYS);
    ctx->filters_for_hits = hits == 1;
    switch (opt->compression) {
    case KV_COMPRESSION_DEFAULT:
    case KV_COMPRESSION_LZ4: ctx->compression = TABLE_V2_LZ4; break;
    case KV_COMPRESSION_NONE: ctx->compression = TABLE_V2_RAW; break;
    case KV_COMPRESSION_LZ4_VALUES: ctx->compression = TABLE_V2_LZ4_VALUES; break;
    default:
        return kv_error(KV_ERR_INVALID, "option compression = %d is not one of "
                        "KV_COMPRESSION_DEFAULT (0), _NONE (1), _LZ4 (2), _LZ4_VALUES (3)",
                        opt->compression);
    }
    if (opt->map_tables != 0 && opt->map_tables != KV_NO_MAP)
        return kv_error(KV_ERR_INVALID, "option map_tables = %d is not 0 (map table files, "
                        "the default) or KV_NO_MAP (%d: positioned reads only)",
                        opt->map_tables, KV_NO_MAP);
    if (opt->max_open_files < 0 || opt->max_open_files > TABLE_V2_OPEN_FILES_MAX)
        return kv_error(KV_ERR_INVALID, "option max_open_files = %d is out of range (1 .. %d; "
                        "0 for the default, %d)", opt->max_open_files, TABLE_V2_OPEN_FILES_MAX,
                        FILE_CACHE_DEFAULT_FILES);
    return KV_OK;
}

int table_v2_ctx_init(table_ctx *ctx, const kv_options *opt)
{
    int rc = table_ctx_options(opt, ctx);
    if (rc == KV_OK)
        rc = block_cache_new(opt ? opt->cache_bytes : 0, &ctx->cache);
    if (rc == KV_OK)
        rc = file_cache_new(opt ? opt->max_open_files : 0, &ctx->files);
    if (rc == KV_OK && opt != NULL && opt->map_tables == KV_NO_MAP)
        file_cache_set_map(ctx->files, 0);
    if (rc == KV_OK && opt != NULL)
        file_cache_set_map_bytes(ctx->files, opt->map_bytes);
    if (rc == KV_OK)
        rc = table_v2_check_ahead_new(&ctx->ahead);
    if (rc != KV_OK)
        table_v2_ctx_release(ctx);
    return rc;
}

void table_v2_ctx_release(table_ctx *ctx)
{
    table_v2_check_ahead_stop(ctx->ahead); /* first: its thread reads through the file cache */
    ctx->ahead = NULL;
    block_cache_free(ctx->cache);
    file_cache_free(ctx->files);
    ctx->cache = NULL;
    ctx->files = NULL;
}

void table_v2_ctx_stats(table_ctx *ctx, kv_line_fn line, void *line_ctx)
{
    char text[160];
    uint64_t useful = table_v2_counted(&ctx->filter_negatives);
    uint64_t gets = useful + table_v2_counted(&ctx->searches);
    uint64_t read = table_v2_counted(&ctx->get_blocks_read);
    uint64_t cached = table_v2_counted(&ctx->get_blocks_cached);
    struct {
        const char *name;
        double value;
        int real;
    } rows[] = {
        {"session.table.reads", (double)table_v2_counted(&ctx->reads), 0},
        {"session.table.checked_ahead_blocks", (double)table_v2_counted(&ctx->ahead_blocks), 0},
        {"session.table.checked_ahead_tables", (double)table_v2_counted(&ctx->ahead_tables), 0},
        {"session.table.read_bytes", (double)table_v2_counted(&ctx->read_bytes), 0},
        {"session.table.gets", (double)gets, 0},
        {"session.table.reads_per_get", gets ? (double)table_v2_counted(&ctx->get_reads) / gets : 0, 1},
        {"session.table.filter_useful", (double)useful, 0},
        {"session.table.filter_false_positives", (double)table_v2_counted(&ctx->filter_misses), 0},
        {"session.table.blocks_read", (double)read, 0},
        {"session.table.blocks_from_cache", (double)cached, 0},
        {"session.table.blocks_read_per_get", gets ? (double)read / gets : 0, 1},
        {"session.table.blocks_per_get", gets ? (double)(read + cached) / gets : 0, 1},
        {"table.open", (double)atomic_load(&ctx->tables_open), 0},
        {"table.meta_bytes", (double)atomic_load(&ctx->meta_bytes), 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].real)
            snprintf(text, sizeof text, "%s: %.2f", rows[i].name, rows[i].value);
        else
            snprintf(text, sizeof text, "%s: %.0f", rows[i].name, rows[i].value);
        line(line_ctx, text);
    }
    block_cache_report(ctx->cache, line, line_ctx);
    file_cache_report(ctx->files, line, line_ctx);
}

/* ---- open ----------------------------------------------------------------------- */

/* Damage in the part of the file named `part` ("index block"). */
static int table_v2_corrupt(table *t, uint64_t at, const char *part, const char *what)
{
    return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the %s: %s", t->path, at, part,
                    what);
}

/* The contents of the meta block h (checked: inside the meta region, its
 * trailer, not compressed). */
int table_v2_meta_block(table *t, table_v2_handle h, const char *name, const uint8_t **p)
{
    if (!table_v2_handle_within(h, t->kept.meta_at, t->file_bytes - TABLE_V2_FOOTER))
        return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the %s block's handle "
                        "points outside the meta blocks", t->path, h.offset, name);
    *p = t->meta + (h.offset - t->kept.meta_at);
    int type;
    uint32_t raw;
    const char *why = table_v2_stored_check(*p, h.size, &type, &raw);
    if (why == NULL && type != TABLE_V2_RAW)
        why = "a meta block is compressed";
    if (why != NULL)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the %s block: %s", t->path,
                        h.offset, name, why);
    return KV_OK;
}

static int table_v2_open_props(table *t)
{
    const uint8_t *p;
    int rc = table_v2_meta_block(t, t->props_h, "properties", &p);
    if (rc != KV_OK)
        return rc;
    table_v2_props pr;
    const char *why = table_v2_props_decode(p, t->props_h.size, &pr);
    if (why != NULL)
        return table_v2_corrupt(t, t->props_h.offset, "properties block", why);
    t->entries = pr.entries;
    t->deletes = pr.deletes;
    t->kept.data_blocks = pr.data_blocks;
    t->raw_bytes = pr.raw_bytes;
    t->kept.smallest = pr.smallest;
    t->kept.smallest_len = pr.smallest_len;
    t->kept.largest = pr.largest;
    t->kept.largest_len = pr.largest_len;
    if (t->kept.data_blocks > (t->kept.data_end - TABLE_V2_DATA_AT) / TABLE_V2_TRAILER)
        return table_v2_corrupt(t, t->props_h.offset, "properties block",
                                "they count more data blocks than the data blocks' bytes can "
                                "hold");
    return KV_OK;
}

static int table_v2_open_index(table *t)
{
    const uint8_t *p = NULL;
    int rc = table_v2_meta_block(t, t->kept.index_h, "index", &p);
    const char *why;
    if (rc == KV_OK && (why = block_init(&t->kept.index, p, t->kept.index_h.size)) != NULL)
        return table_v2_corrupt(t, t->kept.index_h.offset, "index block", why);
    return rc;
}

static int table_v2_open_filter(table *t, int has_filter)
{
    const uint8_t *p = NULL;
    int rc = KV_OK;
    if (has_filter && (rc = table_v2_meta_block(t, t->filter_h, "filter", &p)) == KV_OK) {
        t->kept.filter = p;
        t->kept.filter_len = t->filter_h.size;
        if (bloom_check(p, p + t->kept.filter_len, NULL) != KV_OK)
            return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the filter: %s",
                            t->path, t->filter_h.offset, kv_errmsg());
    }
    return rc;
}

/* Version 1's index holds each entry at a restart point of its own: the
 * entry shares no bytes with the one before and ends where the next
 * restart point (or the entries) begins.  Else a scan, which reads every
 * entry, and a search, which reads by restart points, see different
 * indexes.  NULL, or what is wrong. */
static const char *table_v2_index_one_per_restart(const block *ix)
{
    const uint8_t *limit = ix->data + ix->entries_end;
    for (uint32_t i = 0; i < ix->nrestarts; i++) {
        uint32_t off = block_restart(ix, i), shared, unshared, vlen;
        size_t next = i + 1 < ix->nrestarts ? block_restart(ix, i + 1) : ix->entries_end;
        const uint8_t *k = block_entry_decode(ix->data + off, limit, &shared, &unshared, &vlen);
        if (k == NULL || shared != 0 || (size_t)(k - ix->data) + unshared + vlen != next)
            return "an entry is not at a restart point of its own (each is, one per data block)";
    }
    return NULL;
}

int table_v2_open_kept(table *t, const table_v2_footer *f, uint64_t at)
{
    int has_filter = 0;
    t->kept.data_end = f->data_end;
    t->kept.meta_at = at;
    t->kept.index_h = f->index;
    t->metaindex_h = f->metaindex;
    t->meta_len = (size_t)(t->file_bytes - TABLE_V2_FOOTER - at);
    t->meta = malloc(t->meta_len);
    if (t->meta == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate %zu bytes for the meta blocks",
                        t->path, t->meta_len);
    int rc = table_v2_read(t, NULL, at, t->meta, t->meta_len, NULL);
    const uint8_t *p = NULL;
    if (rc == KV_OK && (rc = table_v2_meta_block(t, f->metaindex, "metaindex", &p)) == KV_OK) {
        block mb;
        const char *why = block_init(&mb, p, f->metaindex.size);
        if (why == NULL)
            why = table_v2_metaindex_decode(&mb, &t->filter_h, &has_filter, &t->props_h);
        if (why != NULL)
            return table_v2_corrupt(t, f->metaindex.offset, "metaindex block", why);
    }
    if (rc == KV_OK)
        rc = table_v2_open_props(t);
    if (rc == KV_OK)
        rc = table_v2_open_index(t);
    if (rc == KV_OK)
        rc = table_v2_open_filter(t, has_filter);
    /* Version 1's index: a restart point at every entry, one per data
     * block. */
    if (rc == KV_OK && t->kept.version == TABLE_V2_VERSION &&
        t->kept.index.nrestarts != t->kept.data_blocks)
        rc = table_v2_corrupt(t, f->index.offset, "index block",
                              "it has not one entry per data block the properties count");
    const char *why = NULL;
    if (rc == KV_OK && t->kept.version == TABLE_V2_VERSION &&
        (why = table_v2_index_one_per_restart(&t->kept.index)) != NULL)
        rc = table_v2_corrupt(t, f->index.offset, "index block", why);
    if (rc == KV_OK)
        rc = table_v2_checked_init(t);
    if (rc == KV_OK)
        rc = table_v2_fences_init(t);
    if (rc == KV_OK) {
        t->kept_extra = t->checked_len + table_v2_fences_bytes(t);
        /* Counted from here on; table_unref takes it off again. */
        atomic_fetch_add_explicit(&t->kept.ctx->meta_bytes, t->meta_len + t->kept_extra,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&t->kept.ctx->tables_open, 1, memory_order_relaxed);
        t->counted = 1;
    }
    return rc;
}

int table_v2_open_ends(table_ctx *ctx, const char *path, uint32_t max_version, table **out,
                       table_v2_footer *f)
{
    *out = NULL;
    table *t = calloc(1, sizeof *t);
    char *copy = strdup(path);
    if (t == NULL || copy == NULL) {
        free(t);
        free(copy);
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a table", path);
    }
    t->kept.ctx = ctx;
    t->path = copy;
    t->kept.id = block_cache_new_id(ctx->cache);
    atomic_init(&t->refs, 1);
    file_cache_handle *fh = NULL;
    int rc = file_cache_get(ctx->files, t->kept.id, path, &fh);
    if (rc == KV_OK)
        rc = io_size(file_cache_file(fh), &t->file_bytes);
    file_cache_release(ctx->files, fh);
    uint8_t head[FILE_HEADER_SIZE], foot[TABLE_V2_FOOTER];
    size_t head_len = t->file_bytes < sizeof head ? (size_t)t->file_bytes : sizeof head;
    if (rc == KV_OK && (rc = table_v2_read(t, NULL, 0, head, head_len, NULL)) == KV_OK) {
        /* Any version this reader knows; another is refused as the
         * newest it knows would be. */
        t->kept.version = head_len == sizeof head ? coding_get_u32(head + 8) : 0;
        if (t->kept.version < 1 || t->kept.version > max_version)
            t->kept.version = max_version;
        rc = file_header_check(path, head, head_len, FILE_MAGIC_TBL05, t->kept.version);
    }
    if (rc == KV_OK && t->file_bytes < TABLE_V2_FILE_MIN)
        rc = kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the file ends: %" PRIu64
                      " bytes cannot hold a table (a table has at least %u)", path,
                      t->file_bytes, t->file_bytes, (unsigned)TABLE_V2_FILE_MIN);
    uint64_t foot_at = t->file_bytes - TABLE_V2_FOOTER;
    if (rc == KV_OK)
        rc = table_v2_read(t, NULL, foot_at, foot, sizeof foot, NULL);
    if (rc == KV_OK) {
        unsigned at;
        const char *why = table_v2_footer_decode(foot, t->file_bytes, t->kept.version, f, &at);
        if (why != NULL)
            rc = table_v2_corrupt(t, foot_at + at, "footer", why);
    }
    if (rc != KV_OK) {
        table_unref(t);
        return rc;
    }
    *out = t;
    return KV_OK;
}

/* Version 1's meta region is [D, size - 48): the filter (if any), the
 * properties, the metaindex and the index. */
int table_v2_open(table_ctx *ctx, const char *path, table **out)
{
    table_v2_footer f;
    int rc = table_v2_open_ends(ctx, path, TABLE_V2_VERSION, out, &f);
    if (rc == KV_OK && (rc = table_v2_open_kept(*out, &f, f.data_end)) != KV_OK) {
        table_unref(*out);
        *out = NULL;
    }
    return rc;
}

void table_ref(table *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void table_unref(table *t)
{
    if (t == NULL || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    table_v2_check_ahead_forget(t);
    if (t->retired != NULL)
        file_cache_release(t->kept.ctx->files, t->retired);
    file_cache_unpin(t->kept.ctx->files, atomic_load_explicit(&t->map_pin, memory_order_acquire));
    file_cache_evict(t->kept.ctx->files, t->kept.id);
    if (t->counted) {
        atomic_fetch_sub_explicit(&t->kept.ctx->meta_bytes, t->meta_len + t->kept_extra,
                                  memory_order_relaxed);
        atomic_fetch_sub_explicit(&t->kept.ctx->tables_open, 1, memory_order_relaxed);
    }
    free(t->checked);
    free(t->fence_tops); /* and the lines: one allocation */
    free(t->meta);
    free(t->path);
    free(t);
}

/* A held file stays open and cached (file_cache.h, FC1): every read of
 * this table finds it by the table's id, never opens the name again. */
int table_retire(table *t)
{
    if (t->retired != NULL)
        return KV_OK;
    return file_cache_get(t->kept.ctx->files, t->kept.id, t->path, &t->retired);
}

const uint8_t *table_smallest(const table *t, size_t *len)
{
    *len = t->kept.smallest_len;
    return t->kept.smallest;
}

const uint8_t *table_largest(const table *t, size_t *len)
{
    *len = t->kept.largest_len;
    return t->kept.largest;
}

uint64_t table_entries(const table *t) { return t->entries; }
uint64_t table_file_bytes(const table *t) { return t->file_bytes; }
const char *table_path(const table *t) { return t->path; }
