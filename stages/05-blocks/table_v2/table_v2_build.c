/*
 * table_v2_build.c: writing a v2 table (the byte table is in
 * table_v2_format.h).
 *
 * Entries fill a data block (block_builder.h) until the next one would
 * take it past block_bytes; the block is then stored: compressed with lz4
 * if that saves at least an eighth of it, with its trailer (type, raw
 * size, checksum), and the index gets an entry: a separator key between
 * the block's last key and the next block's first, as short as can be,
 * and the block's handle.  Every user key's hash goes to the bloom
 * builder (4 bytes a key while building).  finish writes the filter, the
 * properties, the metaindex, the index and the footer, then syncs, in
 * steps that are parts of their own (table_v2_parts.h: end_data,
 * store_meta, store, close).
 *
 * Stored blocks go to the file through stage 04's table_writer (a 256 KiB
 * buffer; a larger block is appended from its own memory).
 */
#include <inttypes.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_builder.h"
#include "bloom.h"
#include "crc32c.h"
#include "error.h"
#include "table_v2_format.h"
#include "table_writer.h"

struct table_v2_builder {
    table_ctx *ctx;
    table_writer w;            /* the file; its failure is the builder's */
    block_builder data, index;
    bloom_builder bloom;       /* used if filter */
    uint8_t *packed;           /* lz4 output */
    size_t packed_cap;
    uint8_t *sep;              /* a separator key */
    size_t sep_cap;
    uint64_t blocks, raw_bytes;
    int filter;                /* a filter is built (ctx->bloom_bits > 0) */
    uint32_t version;          /* the header's, and the footer's */
    int ended;                 /* end_data done: the data blocks end at data_end, */
    uint64_t data_end;         /* and the index's contents are [index_at, +index_len) */
    const uint8_t *index_at;
    size_t index_len;
    int meta_stored;           /* store_meta done: the metaindex is at metaindex */
    table_v2_handle metaindex;
};

/* Grows a buffer of the builder to n bytes; a failure is sticky. */
static int table_v2_builder_room(table_v2_builder *b, uint8_t **p, size_t *cap, size_t n)
{
    if (n <= *cap)
        return KV_OK;
    uint8_t *grown = realloc(*p, n);
    if (grown == NULL)
        return table_writer_fail(&b->w, kv_error(KV_ERR_NOMEM, "%s: cannot allocate %zu bytes",
                                                 b->w.path, n));
    *p = grown;
    *cap = n;
    return KV_OK;
}

/* Stores contents as one block (lz4 if allowed and worth it): fills *h
 * (NULL for none) and, put not NULL, writes the handle at *put and moves
 * it past (the value of the entry that names the block). */
static int table_v2_builder_put(table_v2_builder *b, const uint8_t *contents, size_t len,
                                int may_compress, table_v2_handle *h, uint8_t **put)
{
    const uint8_t *payload = contents;
    size_t stored = len;
    uint8_t trailer[TABLE_V2_TRAILER];
    trailer[0] = TABLE_V2_RAW;
    if (may_compress && b->ctx->compression == TABLE_V2_LZ4 && len >= 8) {
        /* At most 7/8 of the raw size, or not compressed at all: lz4
         * gives up (returns 0) when its output would not fit. */
        size_t limit = len - (len + 7) / 8;
        if (table_v2_builder_room(b, &b->packed, &b->packed_cap, limit) != KV_OK)
            return b->w.failed;
        int n = LZ4_compress_default((const char *)contents, (char *)b->packed, (int)len,
                                     (int)limit);
        if (n > 0) {
            payload = b->packed;
            stored = (size_t)n;
            trailer[0] = TABLE_V2_LZ4;
        }
    }
    coding_put_u32(trailer + 1, (uint32_t)len);
    uint32_t crc = crc32c_extend(crc32c_value(payload, stored), trailer, 5);
    coding_put_u32(trailer + 5, crc);
    table_v2_handle at = {.offset = table_writer_pos(&b->w), .size = (uint32_t)stored};
    if (h != NULL)
        *h = at;
    if (table_writer_write(&b->w, payload, stored) != KV_OK)
        return b->w.failed;
    int rc = table_writer_write(&b->w, trailer, sizeof trailer);
    if (rc == KV_OK && put != NULL)
        *put = table_v2_handle_encode(*put, at);
    return rc;
}

/* Writes into b->sep a short internal key S with a <= S < next (a <
 * next), or a itself when none is shorter: the first byte of a, from
 * where the user keys differ, that can be raised by one (and still stay
 * below next's at the first difference), raised, the rest cut off, and
 * the smallest trailer of that user key.  LevelDB's
 * FindShortestSeparator raises only the first differing byte. */
static size_t table_v2_builder_separator(table_v2_builder *b, const uint8_t *a, size_t alen,
                                      const uint8_t *next, size_t nlen)
{
    size_t ua = alen - IKEY_TRAILER_SIZE, un = nlen - IKEY_TRAILER_SIZE, d = 0;
    while (d < ua && d < un && a[d] == next[d])
        d++;
    memcpy(b->sep, a, alen);
    if (d < ua && d < un) {
        for (size_t m = d; m + 1 < ua; m++) {
            if (m == d ? a[m] + 1 < next[m] : a[m] < 0xff) {
                b->sep[m]++;
                coding_put_u64(b->sep + m + 1, ikey_trailer(IKEY_MAX_SEQ, IKEY_PUT));
                return m + 1 + IKEY_TRAILER_SIZE;
            }
        }
    }
    return alen;
}

/* Stores the data block and adds its index entry; next is the first key
 * of the next block (NULL for the last block, whose entry is its key). */
static int table_v2_builder_end_block(table_v2_builder *b, const uint8_t *next, size_t nlen)
{
    const uint8_t *contents;
    size_t len;
    uint8_t hv[TABLE_V2_HANDLE_MAX], *hend = hv;
    if (block_builder_finish(&b->data, &contents, &len) != KV_OK)
        return table_writer_fail(&b->w, KV_ERR_NOMEM);
    if (table_v2_builder_put(b, contents, len, 1, NULL, &hend) != KV_OK)
        return b->w.failed;
    b->blocks++;
    b->raw_bytes += len;
    block_builder_reset(&b->data);
    const table_writer *w = &b->w;
    size_t slen = w->last_len;
    if (table_v2_builder_room(b, &b->sep, &b->sep_cap, w->last_len) != KV_OK)
        return w->failed;
    if (next != NULL)
        slen = table_v2_builder_separator(b, w->last, w->last_len, next, nlen);
    else
        memcpy(b->sep, w->last, w->last_len);
    if (block_builder_add(&b->index, b->sep, slen, hv, (size_t)(hend - hv)) != KV_OK)
        return table_writer_fail(&b->w, KV_ERR_NOMEM);
    return KV_OK;
}

int table_v2_builder_new(table_ctx *ctx, const char *path, uint32_t version, int filter,
                         table_v2_builder **out)
{
    *out = NULL;
    filter = filter && ctx->bloom_bits > 0;
    table_v2_builder *b = calloc(1, sizeof *b);
    if (b == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a table builder", path);
    b->ctx = ctx;
    b->filter = filter;
    b->version = version;
    block_builder_init(&b->data, ctx->restart_interval);
    block_builder_init(&b->index, 1);
    if (filter)
        bloom_builder_init(&b->bloom, ctx->bloom_bits);
    int rc = ctx->block_hash ? block_builder_hash_index(&b->data) : KV_OK;
    if (rc == KV_OK && ctx->compression == TABLE_V2_LZ4_VALUES)
        rc = block_builder_value_cells(&b->data);
    if (rc == KV_OK)
        rc = table_writer_open(&b->w, path, FILE_MAGIC_TBL05, version);
    if (rc != KV_OK) {
        table_v2_builder_abandon(b);
        return rc;
    }
    *out = b;
    return KV_OK;
}

/* Adds an entry to the data block, storing the block first if the entry
 * would take it past block_bytes. */
static int table_v2_builder_append(table_v2_builder *b, const uint8_t *ikey, size_t ikey_len,
                                   const uint8_t *value, size_t value_len)
{
    ikey_parsed k;
    int rc = table_writer_check_entry(&b->w, ikey, ikey_len, value_len, &k);
    if (rc != KV_OK)
        return rc;
    if (k.type == IKEY_DELETE)
        value_len = 0;
    if (!block_builder_empty(&b->data) &&
        block_builder_size_with(&b->data, ikey_len, value_len) > b->ctx->block_bytes &&
        table_v2_builder_end_block(b, ikey, ikey_len) != KV_OK)
        return b->w.failed;
    if (block_builder_add(&b->data, ikey, ikey_len, value, value_len) != KV_OK)
        return table_writer_fail(&b->w, KV_ERR_NOMEM);
    if (b->filter && bloom_builder_add(&b->bloom, k.user_key, k.user_len) != KV_OK)
        return table_writer_fail(&b->w, KV_ERR_NOMEM);
    return table_writer_added(&b->w, ikey, ikey_len, k.type);
}

/* The file's size if it were finished now, estimated from above. */
static uint64_t table_v2_builder_file_bytes(const table_v2_builder *b)
{
    /* From above: the block as if not compressed, the index with the
     * block's entry (its separator at most the last key), the metaindex at
     * its largest (two entries of at most 33 bytes, three restart words). */
    uint64_t size = table_writer_pos(&b->w) + block_builder_size(&b->data) +
                    block_builder_size_with(&b->index, b->w.last_len, TABLE_V2_HANDLE_MAX) +
                    TABLE_V2_PROPS_FIXED + b->w.first_len + b->w.last_len + 2 * 33 + 12 +
                    5 * TABLE_V2_TRAILER + TABLE_V2_FOOTER;
    if (b->filter)
        size += bloom_builder_bytes(&b->bloom);
    return size;
}

int table_v2_builder_add(table_v2_builder *b, const uint8_t *ikey, size_t ikey_len,
                         const uint8_t *value, size_t value_len, table_v2_progress *p)
{
    int rc = table_v2_builder_append(b, ikey, ikey_len, value, value_len);
    *p = (table_v2_progress){.entries = b->w.entries, .blocks = b->blocks,
                             .written = b->w.written,
                             .file_bytes = table_v2_builder_file_bytes(b)};
    return rc;
}

/* The filter (if kept) and the properties, built in the lz4 buffer (meta
 * blocks are never compressed), each stored with its handle written where
 * the metaindex entry that names it takes it (*fend, *pend); *fend stays
 * where it was without a filter. */
static int table_v2_builder_filter_props(table_v2_builder *b, uint8_t **fend, uint8_t **pend)
{
    if (b->filter) {
        size_t n = bloom_builder_bytes(&b->bloom);
        if (table_v2_builder_room(b, &b->packed, &b->packed_cap, n) != KV_OK)
            return b->w.failed;
        bloom_builder_finish(&b->bloom, b->packed);
        if (table_v2_builder_store(b, b->packed, n, NULL, fend) != KV_OK)
            return b->w.failed;
    }
    const table_writer *w = &b->w;
    table_v2_props p = {w->entries, w->deletes, b->blocks, b->raw_bytes,
                        w->first, w->last, w->first_len, w->last_len};
    size_t n = table_v2_props_encode(NULL, &p);
    if (table_v2_builder_room(b, &b->packed, &b->packed_cap, n) != KV_OK)
        return b->w.failed;
    table_v2_props_encode(b->packed, &p);
    return table_v2_builder_store(b, b->packed, n, NULL, pend);
}

/* Stores the last data block (a table has at least one entry). */
static int table_v2_builder_end_last(table_v2_builder *b)
{
    int rc = table_writer_check(&b->w);
    if (rc == KV_OK && b->w.entries == 0)
        rc = table_writer_fail(&b->w, kv_error(KV_ERR_INVALID, "%s: a table needs at least "
                                               "one entry", b->w.path));
    if (rc == KV_OK && table_v2_builder_end_block(b, NULL, 0) != KV_OK)
        rc = b->w.failed;
    return rc;
}

static void table_v2_builder_free(table_v2_builder *b)
{
    block_builder_free(&b->data);
    block_builder_free(&b->index);
    if (b->filter)
        bloom_builder_destroy(&b->bloom);
    free(b->packed);
    free(b->sep);
    free(b);
}

int table_v2_builder_end_data(table_v2_builder *b, const uint8_t **index, size_t *len)
{
    int rc = KV_OK;
    if (!b->ended) {
        rc = table_v2_builder_end_last(b);
        if (rc == KV_OK && block_builder_finish(&b->index, &b->index_at, &b->index_len) != KV_OK)
            rc = table_writer_fail(&b->w, KV_ERR_NOMEM);
        b->data_end = table_writer_pos(&b->w);
        b->ended = rc == KV_OK;
    }
    *index = b->index_at;
    *len = b->index_len;
    return rc;
}

int table_v2_builder_store(table_v2_builder *b, const uint8_t *contents, size_t len,
                           table_v2_handle *h, uint8_t **put)
{
    if (b->w.failed != KV_OK)
        return b->w.failed;
    return table_v2_builder_put(b, contents, len, 0, h, put);
}

/* The filter's entry (if any), then the properties'. */
int table_v2_builder_store_meta(table_v2_builder *b)
{
    const uint8_t *ix;
    size_t len;
    uint8_t fv[TABLE_V2_HANDLE_MAX], *fend = fv, pv[TABLE_V2_HANDLE_MAX], *pend = pv;
    int rc = table_v2_builder_end_data(b, &ix, &len);
    if (rc == KV_OK && table_v2_builder_filter_props(b, &fend, &pend) != KV_OK)
        rc = b->w.failed;
    if (rc != KV_OK)
        return rc;
    block_builder meta;
    block_builder_init(&meta, 1);
    const uint8_t *contents;
    if (fend != fv)
        rc = block_builder_add(&meta, (const uint8_t *)TABLE_V2_META_FILTER,
                               strlen(TABLE_V2_META_FILTER), fv, (size_t)(fend - fv));
    if (rc == KV_OK)
        rc = block_builder_add(&meta, (const uint8_t *)TABLE_V2_META_PROPS,
                               strlen(TABLE_V2_META_PROPS), pv, (size_t)(pend - pv));
    if (rc == KV_OK)
        rc = block_builder_finish(&meta, &contents, &len);
    if (rc != KV_OK)
        table_writer_fail(&b->w, rc);
    else if ((rc = table_v2_builder_store(b, contents, len, &b->metaindex, NULL)) == KV_OK)
        b->meta_stored = 1;
    block_builder_free(&meta);
    return rc;
}

int table_v2_builder_close(table_v2_builder *b, const table_v2_handle *index, table_meta *meta)
{
    int rc = table_writer_check(&b->w);
    if (rc == KV_OK && !b->meta_stored)
        rc = table_writer_fail(&b->w, kv_error(KV_ERR_INVALID, "%s: closed before its meta "
                                               "blocks were stored", b->w.path));
    table_v2_footer f = {.version = b->version, .data_end = b->data_end, .index = *index,
                         .metaindex = b->metaindex};
    uint8_t footer[TABLE_V2_FOOTER];
    table_v2_footer_encode(footer, &f);
    if (rc == KV_OK)
        rc = table_writer_write(&b->w, footer, sizeof footer);
    if (rc == KV_OK)
        rc = table_writer_finish(&b->w);
    if (rc != KV_OK) {
        table_v2_builder_abandon(b);
        return rc;
    }
    if (meta != NULL) {
        meta->file_bytes = b->w.written;
        meta->entries = b->w.entries;
        meta->deletes = b->w.deletes;
    }
    table_v2_builder_free(b);
    return KV_OK;
}

/* Version 1's end: the kept blocks after the data blocks (the filter and
 * the properties, the metaindex), then the data blocks' own index, last,
 * then the footer. */
int table_v2_builder_finish(table_v2_builder *b, table_meta *meta)
{
    const uint8_t *ix;
    size_t len;
    table_v2_handle index;
    int rc = table_v2_builder_store_meta(b);
    if (rc == KV_OK)
        rc = table_v2_builder_end_data(b, &ix, &len);
    if (rc == KV_OK)
        rc = table_v2_builder_store(b, ix, len, &index, NULL);
    if (rc != KV_OK) {
        table_v2_builder_abandon(b);
        return rc;
    }
    return table_v2_builder_close(b, &index, meta);
}

void table_v2_builder_abandon(table_v2_builder *b)
{
    if (b == NULL)
        return;
    table_writer_abandon(&b->w);
    table_v2_builder_free(b);
}
