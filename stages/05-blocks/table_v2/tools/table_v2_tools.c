/*
 * table_v2_tools.c: kv check and kv dump of one v2 table (table.h).
 *
 * Both take the table opened as the engine opens it (header, footer,
 * every meta block checked: table.h's table_open, by the caller) and the
 * index of its data blocks, one entry per block (version 1's is the one
 * it keeps), then walk that index entry by entry and read each data
 * block whole: its checksum, its decompression, its entries.  check adds
 * what no lookup looks at:
 *   - the index's handles tile the data blocks exactly, from offset 16 to
 *     D, in order, and its separators ascend;
 *   - every key ascends across the whole table, lies at or below its
 *     block's separator and above the previous block's;
 *   - the filter answers "may contain" for every user key (a filter that
 *     missed one would make a lookup miss a key), as table_inspect.h's
 *     table_inspect_filter_says_absent asks it;
 *   - the properties' counts and keys match the blocks.
 * A block whose values are cells (block_value.h) has each value unpacked:
 * a cell that does not unpack is a problem of check's.
 * dump prints the meta blocks (the filter's bits, hashes and measured
 * fill; the file's compression ratio), then each block (offset, stored
 * and raw size, compression, restart points) and its entries, a value in
 * a cell with the bytes it is stored in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_hash.h"
#include "block_value.h"
#include "bloom.h"
#include "error.h"
#include "escape.h"
#include "log_report.h"
#include "table_inspect.h"
#include "table_v2_format.h"

#define TABLE_V2_SHOW 64u

typedef unsigned long long ull;

typedef struct table_v2_walk {
    table *t;
    const char *label;
    kv_line_fn line;
    void *line_ctx;
    int dump;
    int problems;
    uint8_t *buf, *raw, *prev;      /* a stored block, its contents, the last key */
    size_t buf_cap, raw_cap, prev_cap, prev_len;
    uint8_t *value;                 /* a value unpacked from its cell */
    size_t value_cap;
    uint64_t entries, deletes, blocks, raw_bytes, stored_bytes;
} table_v2_walk;

#define PROBLEM(w, ...)                                                      \
    do {                                                                     \
        log_report_line((w)->line, (w)->line_ctx, __VA_ARGS__);              \
        (w)->problems++;                                                     \
    } while (0)

/* "key" seq=N put|del of an internal key, into out. */
static const char *table_v2_show_key(char *out, size_t cap, const uint8_t *k, size_t n)
{
    ikey_parsed p;
    char shown[4 * TABLE_V2_SHOW + 8];
    if (!ikey_decode(k, k + n, &p)) {
        snprintf(out, cap, "(not an internal key)");
        return out;
    }
    escape_bytes(shown, sizeof shown, p.user_key, p.user_len, TABLE_V2_SHOW);
    snprintf(out, cap, "\"%s\" seq=%llu %s", shown, (ull)p.seq,
             ikey_type_word(p.type));
    return out;
}

static int table_v2_keep(table_v2_walk *w, const uint8_t *k, size_t n)
{
    if (n > w->prev_cap) {
        uint8_t *grown = realloc(w->prev, n);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a key", w->t->path);
        w->prev = grown;
        w->prev_cap = n;
    }
    memcpy(w->prev, k, n);
    w->prev_len = n;
    return KV_OK;
}

/* The value of entry e of a block whose values are cells, unpacked into
 * w->value: *v and *n, and *why NULL or what is wrong with the cell (a
 * problem of the table's); KV_OK, or KV_ERR_NOMEM where its room cannot
 * be had (a problem of this process's, never called the table's). */
static int table_v2_walk_unpack(table_v2_walk *w, const block_iter *e, const uint8_t **v,
                                size_t *n, const char **why)
{
    *why = block_value_size(e->value, e->value_len, n);
    *v = e->value;
    if (*why == NULL && *n > w->value_cap) {
        uint8_t *grown = realloc(w->value, *n);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "%s: out of memory for a value of %zu bytes",
                            w->label, *n);
        w->value = grown;
        w->value_cap = *n;
    }
    if (*why == NULL)
        *why = block_value_unpack(e->value, e->value_len, w->value, *n);
    *v = *n > 0 ? w->value : e->value; /* never NULL */
    return KV_OK;
}

/* The entries of block i: order, separators, filter, counts. */
static int table_v2_walk_entries(table_v2_walk *w, uint64_t i, const block *b,
                                 table_v2_handle h, const block_iter *ix,
                                 const uint8_t *low, size_t low_len)
{
    table *t = w->t;
    block_iter e = {0};
    block_iter_init(&e, b, TABLE_V2_IKEY_MIN);
    int rc = KV_OK;
    char key[4 * TABLE_V2_SHOW + 64], val[4 * TABLE_V2_SHOW + 8];
    size_t bucket_at;
    const char *buckets = block_hash_check_buckets(b, &bucket_at);
    if (buckets != NULL)
        PROBLEM(w, "%s: block %llu at %llu: byte %zu of its contents: %s", w->label, (ull)i,
                (ull)h.offset, bucket_at, buckets);
    for (block_iter_seek_first(&e); e.valid && rc == KV_OK; block_iter_next(&e)) {
        ikey_parsed k;
        if (!ikey_decode(e.key, e.key + e.key_len, &k)) {
            PROBLEM(w, "%s: block %llu at %llu: the entry at +%zu has no internal key",
                    w->label, (ull)i, (ull)h.offset, e.at);
            continue;
        }
        const uint8_t *v = e.value;
        size_t vlen = e.value_len;
        char cell[48] = "";
        if (b->cells) {
            const char *why = NULL;
            if ((rc = table_v2_walk_unpack(w, &e, &v, &vlen, &why)) != KV_OK)
                break;
            if (why != NULL) {
                PROBLEM(w, "%s: block %llu at %llu: the entry at +%zu: %s", w->label, (ull)i,
                        (ull)h.offset, e.at, why);
                v = e.value;
                vlen = 0;
            } else if (e.value_len > 0) {
                snprintf(cell, sizeof cell, " (%s in %zu)", e.value[0] ? "lz4" : "as it is",
                         e.value_len);
            }
        }
        if (w->dump) {
            table_v2_show_key(key, sizeof key, e.key, e.key_len);
            escape_bytes(val, sizeof val, v, vlen, TABLE_V2_SHOW);
            log_report_line(w->line, w->line_ctx, "  %6zu  %s value_len=%zu%s%s%s%s", e.at, key,
                            vlen, cell, k.type == IKEY_PUT ? " value=\"" : "",
                            k.type == IKEY_PUT ? val : "", k.type == IKEY_PUT ? "\"" : "");
        }
        if (k.type == IKEY_DELETE && e.value_len != 0)
            PROBLEM(w, "%s: block %llu at %llu: the tombstone at +%zu carries a value",
                    w->label, (ull)i, (ull)h.offset, e.at);
        if (w->entries > 0 && ikey_compare(w->prev, w->prev_len, e.key, e.key_len) >= 0)
            PROBLEM(w, "%s: block %llu at %llu: the entry at +%zu is not above the one before "
                    "it", w->label, (ull)i, (ull)h.offset, e.at);
        if (ikey_compare(e.key, e.key_len, ix->key, ix->key_len) > 0 ||
            (low != NULL && ikey_compare(e.key, e.key_len, low, low_len) <= 0))
            PROBLEM(w, "%s: block %llu at %llu: the entry at +%zu lies outside the key range "
                    "the index gives the block", w->label, (ull)i, (ull)h.offset, e.at);
        const char *hashed = block_hash_check_entry(b, e.key, e.key_len, e.restart);
        if (hashed != NULL)
            PROBLEM(w, "%s: block %llu at %llu: the entry at +%zu: %s", w->label, (ull)i,
                    (ull)h.offset, e.at, hashed);
        if (table_inspect_filter_says_absent(t, k.user_key, k.user_len))
            PROBLEM(w, "%s: block %llu at %llu: the filter rules out the key of the entry at "
                    "+%zu, which the table holds", w->label, (ull)i, (ull)h.offset, e.at);
        if (w->entries == 0 && (e.key_len != t->kept.smallest_len ||
                                memcmp(e.key, t->kept.smallest, e.key_len) != 0))
            PROBLEM(w, "%s: the first key is not the properties' smallest key", w->label);
        w->entries++;
        w->deletes += k.type == IKEY_DELETE;
        rc = table_v2_keep(w, e.key, e.key_len);
    }
    if (rc == KV_OK && e.status != KV_OK)
        rc = table_v2_block_iter_error(t, &e, "data", h.offset);
    block_iter_free(&e);
    return rc;
}

/* Every data block through the index, in order. */
static int table_v2_walk_blocks(table_v2_walk *w, const block *index)
{
    table *t = w->t;
    int rc = KV_OK;
    block_iter ix = {0};
    block_iter_init(&ix, index, TABLE_V2_IKEY_MIN);
    uint64_t expect = TABLE_V2_DATA_AT, i = 0;
    uint8_t *low = NULL;   /* the previous separator */
    size_t low_len = 0;
    char key[4 * TABLE_V2_SHOW + 64];
    for (block_iter_seek_first(&ix); ix.valid && rc == KV_OK; block_iter_next(&ix), i++) {
        table_v2_handle h;
        if ((rc = table_v2_index_handle(t, &ix, &h)) != KV_OK)
            break;
        if (h.offset != expect)
            PROBLEM(w, "%s: index entry %llu points at %llu, where the block before it ends "
                    "at %llu", w->label, (ull)i, (ull)h.offset, (ull)expect);
        if (low != NULL && ikey_compare(low, low_len, ix.key, ix.key_len) >= 0)
            PROBLEM(w, "%s: index entry %llu: its separator is not above the one before it",
                    w->label, (ull)i);
        expect = h.offset + h.size + TABLE_V2_TRAILER;
        size_t n = (size_t)h.size + TABLE_V2_TRAILER;
        if (n > w->buf_cap) {
            uint8_t *grown = realloc(w->buf, n);
            if (grown == NULL) {
                rc = kv_error(KV_ERR_NOMEM, "%s: cannot allocate %zu bytes", t->path, n);
                break;
            }
            w->buf = grown;
            w->buf_cap = n;
        }
        block b;
        rc = table_v2_read(t, NULL, h.offset, w->buf, n, NULL);
        if (rc == KV_OK)
            rc = table_v2_block_decode(t, h, w->buf, &w->raw, &w->raw_cap, &b);
        if (rc == KV_ERR_CORRUPT && !w->dump) {
            /* check goes on: the next block may tell more */
            PROBLEM(w, "%s: block %llu: %s", w->label, (ull)i, kv_errmsg());
            rc = KV_OK;
            continue;
        }
        if (rc != KV_OK)
            break;
        w->blocks++;
        w->raw_bytes += b.size;
        w->stored_bytes += h.size;
        if (w->dump) {
            char hashed[48] = "";
            if (b.buckets != NULL)
                snprintf(hashed, sizeof hashed, ", a hash index of %u buckets",
                         (unsigned)b.nbuckets);
            log_report_line(w->line, w->line_ctx, "block %llu at %llu: %u bytes stored, %s, %zu "
                            "raw, %u restart points%s; index key %s", (ull)i, (ull)h.offset,
                            (unsigned)h.size, w->buf[h.size] == TABLE_V2_LZ4 ? "lz4"
                                              : b.cells ? "raw, values lz4 one by one" : "raw",
                            b.size, (unsigned)b.nrestarts, hashed,
                            table_v2_show_key(key, sizeof key, ix.key, ix.key_len));
        }
        rc = table_v2_walk_entries(w, i, &b, h, &ix, low, low_len);
        if (rc == KV_ERR_CORRUPT && !w->dump) {
            PROBLEM(w, "%s: block %llu: %s", w->label, (ull)i, kv_errmsg());
            rc = KV_OK;
        }
        if (rc != KV_OK)
            break; /* (dump: the first damage ends it, named) */
        uint8_t *grown = realloc(low, ix.key_len);
        if (grown == NULL) {
            rc = kv_error(KV_ERR_NOMEM, "%s: cannot allocate a key", t->path);
            break;
        }
        low = grown;
        memcpy(low, ix.key, ix.key_len);
        low_len = ix.key_len;
    }
    if (rc == KV_OK && ix.status != KV_OK)
        rc = table_v2_block_iter_error(t, &ix, "index", t->kept.index_h.offset);
    if (rc == KV_OK && expect != t->kept.data_end)
        PROBLEM(w, "%s: the index's blocks end at %llu; the data blocks end at %llu", w->label,
                (ull)expect, (ull)t->kept.data_end);
    free(low);
    block_iter_free(&ix);
    return rc;
}

/* The counts and the last key against the properties. */
static void table_v2_walk_totals(table_v2_walk *w)
{
    table *t = w->t;
    if (w->entries != t->entries || w->deletes != t->deletes || w->blocks != t->kept.data_blocks ||
        w->raw_bytes != t->raw_bytes)
        PROBLEM(w, "%s: the properties count %llu entries (%llu tombstones) in %llu blocks of "
                "%llu raw bytes; there are %llu (%llu) in %llu of %llu", w->label,
                (ull)t->entries, (ull)t->deletes, (ull)t->kept.data_blocks, (ull)t->raw_bytes,
                (ull)w->entries, (ull)w->deletes, (ull)w->blocks, (ull)w->raw_bytes);
    if (w->entries > 0 &&
        (w->prev_len != t->kept.largest_len || memcmp(w->prev, t->kept.largest, w->prev_len) != 0))
        PROBLEM(w, "%s: the last key is not the properties' largest key", w->label);
}

/* The meta blocks, for the dump. */
static void table_v2_dump_meta(table_v2_walk *w)
{
    table *t = w->t;
    char key[4 * TABLE_V2_SHOW + 64];
    char version[32] = "";
    if (t->kept.version != TABLE_V2_VERSION)
        snprintf(version, sizeof version, " version %u", (unsigned)t->kept.version);
    log_report_line(w->line, w->line_ctx, "# %s: table v2%s, %llu bytes: %llu entries (%llu "
                    "tombstones) in %llu data blocks, [16, %llu); meta blocks up to %llu, then "
                    "the footer (see docs/05-blocks.md)", w->label, version, (ull)t->file_bytes,
                    (ull)t->entries, (ull)t->deletes, (ull)t->kept.data_blocks, (ull)t->kept.data_end,
                    (ull)(t->file_bytes - TABLE_V2_FOOTER));
    log_report_line(w->line, w->line_ctx, "# smallest key: %s",
                    table_v2_show_key(key, sizeof key, t->kept.smallest, t->kept.smallest_len));
    log_report_line(w->line, w->line_ctx, "# largest key: %s",
                    table_v2_show_key(key, sizeof key, t->kept.largest, t->kept.largest_len));
    bloom_info bi;
    const uint8_t *f = t->kept.filter;
    if (f != NULL && bloom_check(f, f + t->kept.filter_len, &bi) == KV_OK)
        log_report_line(w->line, w->line_ctx, "# filter at %llu: %u bytes, %llu bits, %d "
                        "hashes, %llu bits set (fill %.1f%%), %.1f bits per entry",
                        (ull)t->filter_h.offset, (unsigned)t->filter_h.size, (ull)bi.bits, bi.k,
                        (ull)bi.bits_set, 100.0 * (double)bi.bits_set / (double)bi.bits,
                        (double)bi.bits / (double)t->entries);
    else if (t->kept.version == TABLE_V2_VERSION)
        log_report_line(w->line, w->line_ctx, "# filter: none");
    log_report_line(w->line, w->line_ctx, "# properties at %llu (%u bytes), metaindex at %llu "
                    "(%u bytes), index at %llu (%u bytes, %u entries)", (ull)t->props_h.offset,
                    (unsigned)t->props_h.size, (ull)t->metaindex_h.offset,
                    (unsigned)t->metaindex_h.size, (ull)t->kept.index_h.offset,
                    (unsigned)t->kept.index_h.size, (unsigned)t->kept.index.nrestarts);
}

/* Walks the table the caller opened (t: NULL where rc says why not)
 * through index (NULL where rc says why not); kv_inspect's parts are
 * table_v2_inspect.c's. */
int table_v2_tool(const char *label, kv_line_fn line, void *line_ctx, int what, table *t,
                  const block *index, int rc)
{
    if (what == TABLE_V2_PARTS) {
        int parts = table_v2_inspect_parts(t, rc == KV_OK ? index : NULL, label, line,
                                           line_ctx);
        return rc != KV_OK ? rc : parts;
    }
    int dump = what == TABLE_V2_DUMP;
    table_v2_walk w = {.t = t, .label = label, .line = line, .line_ctx = line_ctx, .dump = dump};
    if (t != NULL && dump)
        table_v2_dump_meta(&w);
    if (rc == KV_OK && (rc = table_v2_walk_blocks(&w, index)) == KV_OK)
        table_v2_walk_totals(&w);
    if (rc != KV_OK)
        log_report_line(line, line_ctx, "%s%s: %s: %s", dump ? "# " : "", label,
                        rc == KV_ERR_CORRUPT ? "CORRUPT" : "cannot read", kv_errmsg());
    else if (dump)
        log_report_line(line, line_ctx, "# %s: data blocks: %llu raw bytes stored in %llu "
                        "(%.1f%%)", label, (ull)w.raw_bytes, (ull)w.stored_bytes,
                        w.raw_bytes ? 100.0 * (double)w.stored_bytes / (double)w.raw_bytes : 0);
    else
        log_report_line(line, line_ctx, "%s: table v2, %llu bytes, %llu entries (%llu "
                        "tombstones) in %llu blocks: %s", label, (ull)w.t->file_bytes,
                        (ull)w.entries, (ull)w.deletes, (ull)w.blocks,
                        w.problems ? "CORRUPT" : "ok");
    free(w.buf);
    free(w.raw);
    free(w.value);
    free(w.prev);
    if (rc == KV_OK && w.problems > 0)
        rc = kv_error(KV_ERR_CORRUPT, "%s: %d problems", t->path, w.problems);
    return rc;
}
