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
 * properties, the metaindex, the index and the footer, then syncs.
 *
 * Stored blocks go through a 256 KiB buffer appended to the file whenever
 * it fills, as table v1 does; a larger block is appended from its own
 * memory.
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

#define TABLE_V2_WRITE_BUFFER (256u * 1024u)

struct table_builder {
    table_ctx *ctx;
    io_file *file;
    char *path;
    int failed;                /* KV_ERR_IO or KV_ERR_NOMEM: sticky */
    char failure[256];
    uint8_t *buf;              /* bytes not yet appended */
    size_t buf_len;
    uint64_t written;
    block_builder data, index;
    bloom_builder bloom;       /* used if ctx->bloom_bits > 0 */
    uint8_t *packed;           /* lz4 output */
    size_t packed_cap;
    uint8_t *first, *last, *sep;    /* smallest key, last key, a separator */
    size_t first_len, last_len, last_cap, sep_cap;
    uint64_t n, deletes, blocks, raw_bytes;
};

static uint64_t table_builder_pos(const table_builder *b) { return b->written + b->buf_len; }

static int table_builder_fail(table_builder *b, int rc)
{
    b->failed = rc;
    snprintf(b->failure, sizeof b->failure, "%s", kv_errmsg());
    return rc;
}

static int table_builder_flush(table_builder *b)
{
    if (b->buf_len == 0)
        return KV_OK;
    int rc = io_append_bytes(b->file, b->buf, b->buf_len);
    if (rc != KV_OK)
        return table_builder_fail(b, rc);
    b->written += b->buf_len;
    b->buf_len = 0;
    return KV_OK;
}

static int table_builder_write(table_builder *b, const void *p, size_t n)
{
    if (n > TABLE_V2_WRITE_BUFFER - b->buf_len) {
        int rc = table_builder_flush(b);
        if (rc != KV_OK)
            return rc;
        if (n >= TABLE_V2_WRITE_BUFFER) {
            if ((rc = io_append_bytes(b->file, p, n)) != KV_OK)
                return table_builder_fail(b, rc);
            b->written += n;
            return KV_OK;
        }
    }
    if (n > 0)
        memcpy(b->buf + b->buf_len, p, n);
    b->buf_len += n;
    return KV_OK;
}

/* Grows a buffer of the builder to n bytes; a failure is sticky. */
static int table_builder_room(table_builder *b, uint8_t **p, size_t *cap, size_t n)
{
    if (n <= *cap)
        return KV_OK;
    uint8_t *grown = realloc(*p, n);
    if (grown == NULL)
        return table_builder_fail(b, kv_error(KV_ERR_NOMEM, "%s: cannot allocate %zu bytes",
                                              b->path, n));
    *p = grown;
    *cap = n;
    return KV_OK;
}

/* Stores contents as one block (lz4 if allowed and worth it), fills *h. */
static int table_builder_store(table_builder *b, const uint8_t *contents, size_t len,
                               int may_compress, table_v2_handle *h)
{
    const uint8_t *payload = contents;
    size_t stored = len;
    uint8_t trailer[TABLE_V2_TRAILER];
    trailer[0] = TABLE_V2_RAW;
    if (may_compress && b->ctx->compression == TABLE_V2_LZ4 && len >= 8) {
        /* At most 7/8 of the raw size, or not compressed at all: lz4
         * gives up (returns 0) when its output would not fit. */
        size_t limit = len - (len + 7) / 8;
        if (table_builder_room(b, &b->packed, &b->packed_cap, limit) != KV_OK)
            return b->failed;
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
    h->offset = table_builder_pos(b);
    h->size = (uint32_t)stored;
    if (table_builder_write(b, payload, stored) != KV_OK ||
        table_builder_write(b, trailer, sizeof trailer) != KV_OK)
        return b->failed;
    return KV_OK;
}

/* Writes into b->sep a short internal key S with a <= S < next (a <
 * next), or a itself when none is shorter: the first byte of a, from
 * where the user keys differ, that can be raised by one (and still stay
 * below next's at the first difference), raised, the rest cut off, and
 * the smallest trailer of that user key.  LevelDB's
 * FindShortestSeparator raises only the first differing byte. */
static size_t table_builder_separator(table_builder *b, const uint8_t *a, size_t alen,
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
                coding_put_u64(b->sep + m + 1, ikey_trailer(IKEY_MAX_SEQ, IKEY_TYPE_FOR_SEEK));
                return m + 1 + IKEY_TRAILER_SIZE;
            }
        }
    }
    return alen;
}

/* Stores the data block and adds its index entry; next is the first key
 * of the next block (NULL for the last block, whose entry is its key). */
static int table_builder_end_block(table_builder *b, const uint8_t *next, size_t nlen)
{
    const uint8_t *contents;
    size_t len;
    table_v2_handle h;
    if (block_builder_finish(&b->data, &contents, &len) != KV_OK)
        return table_builder_fail(b, KV_ERR_NOMEM);
    if (table_builder_store(b, contents, len, 1, &h) != KV_OK)
        return b->failed;
    b->blocks++;
    b->raw_bytes += len;
    block_builder_reset(&b->data);
    size_t slen = b->last_len;
    if (table_builder_room(b, &b->sep, &b->sep_cap, b->last_len) != KV_OK)
        return b->failed;
    if (next != NULL)
        slen = table_builder_separator(b, b->last, b->last_len, next, nlen);
    else
        memcpy(b->sep, b->last, b->last_len);
    uint8_t hv[TABLE_V2_HANDLE_MAX];
    size_t hlen = (size_t)(table_v2_handle_encode(hv, h) - hv);
    if (block_builder_add(&b->index, b->sep, slen, hv, hlen) != KV_OK)
        return table_builder_fail(b, KV_ERR_NOMEM);
    return KV_OK;
}

int table_builder_new(table_ctx *ctx, const char *path, table_builder **out)
{
    *out = NULL;
    table_builder *b = calloc(1, sizeof *b);
    if (b == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a table builder", path);
    b->ctx = ctx;
    block_builder_init(&b->data, TABLE_V2_RESTART_INTERVAL);
    block_builder_init(&b->index, 1);
    if (ctx->bloom_bits > 0)
        bloom_builder_init(&b->bloom, ctx->bloom_bits);
    b->buf = malloc(TABLE_V2_WRITE_BUFFER);
    b->path = strdup(path);
    if (b->buf == NULL || b->path == NULL) {
        table_builder_abandon(b);
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a table builder", path);
    }
    int rc = io_open(path, IO_WRITE | IO_CREATE | IO_TRUNC, &b->file);
    if (rc != KV_OK) {
        b->file = NULL; /* the open may have created the file: remove it */
        table_builder_abandon(b);
        return rc;
    }
    file_header_encode(b->buf, FILE_MAGIC_TBL05, TABLE_V2_VERSION);
    b->buf_len = FILE_HEADER_SIZE;
    *out = b;
    return KV_OK;
}

int table_builder_add(table_builder *b, const uint8_t *ikey, size_t ikey_len,
                      const uint8_t *value, size_t value_len)
{
    if (b->failed)
        return kv_error(b->failed, "table builder failed earlier: %s", b->failure);
    ikey_parsed k;
    if (ikey_len > TABLE_V2_IKEY_MAX || !ikey_decode(ikey, ikey + ikey_len, &k))
        return kv_error(KV_ERR_INVALID, "%s: entry %" PRIu64 ": not an internal key with a "
                        "user key of 1..%u bytes", b->path, b->n, KV_MAX_KEY);
    if (value_len > KV_MAX_VALUE)
        return kv_error(KV_ERR_INVALID, "%s: entry %" PRIu64 ": a value of %zu bytes",
                        b->path, b->n, value_len);
    if (b->n > 0 && ikey_compare(b->last, b->last_len, ikey, ikey_len) >= 0)
        return kv_error(KV_ERR_INVALID, "%s: entry %" PRIu64 ": keys out of order (not above "
                        "the previous one)", b->path, b->n);
    if (k.type == IKEY_DELETE)
        value_len = 0;
    if (!block_builder_empty(&b->data) &&
        block_builder_size_with(&b->data, ikey_len, value_len) > b->ctx->block_bytes &&
        table_builder_end_block(b, ikey, ikey_len) != KV_OK)
        return b->failed;
    if (block_builder_add(&b->data, ikey, ikey_len, value, value_len) != KV_OK)
        return table_builder_fail(b, KV_ERR_NOMEM);
    if (b->ctx->bloom_bits > 0 && bloom_builder_add(&b->bloom, k.user_key, k.user_len) != KV_OK)
        return table_builder_fail(b, KV_ERR_NOMEM);
    if (table_builder_room(b, &b->last, &b->last_cap, ikey_len) != KV_OK)
        return b->failed;
    memcpy(b->last, ikey, ikey_len);
    b->last_len = ikey_len;
    if (b->n == 0) {
        size_t cap = 0;
        if (table_builder_room(b, &b->first, &cap, ikey_len) != KV_OK)
            return b->failed;
        memcpy(b->first, ikey, ikey_len);
        b->first_len = ikey_len;
    }
    b->n++;
    if (k.type == IKEY_DELETE)
        b->deletes++;
    return KV_OK;
}

uint64_t table_builder_entries(const table_builder *b) { return b->n; }

uint64_t table_builder_file_bytes(const table_builder *b)
{
    uint64_t size = table_builder_pos(b) + block_builder_size(&b->data) +
                    block_builder_size(&b->index) + TABLE_V2_HANDLE_MAX + b->last_len +
                    TABLE_V2_PROPS_FIXED + b->first_len + b->last_len + 64 +
                    5 * TABLE_V2_TRAILER + TABLE_V2_FOOTER;
    if (b->ctx->bloom_bits > 0)
        size += bloom_builder_bytes(&b->bloom);
    return size;
}

/* The meta blocks and the footer. */
static int table_builder_meta(table_builder *b)
{
    table_v2_footer f = {.data_end = table_builder_pos(b)};
    table_v2_handle filter_h = {0}, props_h;
    uint8_t *tmp = NULL;
    size_t tmp_cap = 0;
    if (b->ctx->bloom_bits > 0) {
        size_t n = bloom_builder_bytes(&b->bloom);
        if (table_builder_room(b, &tmp, &tmp_cap, n) != KV_OK)
            return b->failed;
        bloom_builder_finish(&b->bloom, tmp);
        if (table_builder_store(b, tmp, n, 0, &filter_h) != KV_OK)
            goto out;
    }
    table_v2_props p = {b->n, b->deletes, b->blocks, b->raw_bytes,
                        b->first, b->last, b->first_len, b->last_len};
    size_t n = table_v2_props_encode(NULL, &p);
    if (table_builder_room(b, &tmp, &tmp_cap, n) != KV_OK)
        goto out;
    table_v2_props_encode(tmp, &p);
    if (table_builder_store(b, tmp, n, 0, &props_h) != KV_OK)
        goto out;
    block_builder meta;
    block_builder_init(&meta, 1);
    uint8_t hv[2][TABLE_V2_HANDLE_MAX];
    size_t fl = (size_t)(table_v2_handle_encode(hv[0], filter_h) - hv[0]);
    size_t pl = (size_t)(table_v2_handle_encode(hv[1], props_h) - hv[1]);
    const uint8_t *contents;
    size_t len;
    int rc = KV_OK;
    if (b->ctx->bloom_bits > 0)
        rc = block_builder_add(&meta, (const uint8_t *)TABLE_V2_META_FILTER,
                               strlen(TABLE_V2_META_FILTER), hv[0], fl);
    if (rc == KV_OK)
        rc = block_builder_add(&meta, (const uint8_t *)TABLE_V2_META_PROPS,
                               strlen(TABLE_V2_META_PROPS), hv[1], pl);
    if (rc == KV_OK)
        rc = block_builder_finish(&meta, &contents, &len);
    if (rc != KV_OK)
        table_builder_fail(b, rc);
    else
        table_builder_store(b, contents, len, 0, &f.metaindex);
    block_builder_free(&meta);
    if (b->failed)
        goto out;
    if (block_builder_finish(&b->index, &contents, &len) != KV_OK) {
        table_builder_fail(b, KV_ERR_NOMEM);
        goto out;
    }
    if (table_builder_store(b, contents, len, 0, &f.index) != KV_OK)
        goto out;
    uint8_t footer[TABLE_V2_FOOTER];
    table_v2_footer_encode(footer, &f);
    if (table_builder_write(b, footer, sizeof footer) == KV_OK &&
        table_builder_flush(b) == KV_OK && (rc = io_sync(b->file)) != KV_OK)
        table_builder_fail(b, rc);
out:
    free(tmp);
    return b->failed;
}

static void table_builder_free(table_builder *b)
{
    block_builder_free(&b->data);
    block_builder_free(&b->index);
    if (b->ctx->bloom_bits > 0)
        bloom_builder_destroy(&b->bloom);
    free(b->buf);
    free(b->packed);
    free(b->first);
    free(b->last);
    free(b->sep);
    free(b->path);
    free(b);
}

int table_builder_finish(table_builder *b, table_meta *meta)
{
    int rc = b->failed;
    if (rc == KV_OK && b->n == 0)
        rc = kv_error(KV_ERR_INVALID, "%s: a table needs at least one entry", b->path);
    else if (rc != KV_OK)
        rc = kv_error(rc, "table builder failed earlier: %s", b->failure);
    if (rc == KV_OK && table_builder_end_block(b, NULL, 0) != KV_OK)
        rc = b->failed;
    if (rc == KV_OK)
        rc = table_builder_meta(b);
    if (rc != KV_OK) {
        table_builder_abandon(b);
        return rc;
    }
    if (meta != NULL) {
        meta->file_bytes = b->written;
        meta->entries = b->n;
        meta->deletes = b->deletes;
    }
    rc = io_close(b->file);
    b->file = NULL;
    if (rc != KV_OK) {
        table_builder_abandon(b);
        return rc;
    }
    table_builder_free(b);
    return KV_OK;
}

void table_builder_abandon(table_builder *b)
{
    if (b == NULL)
        return;
    /* Abandoning follows a failure whose message the caller will report:
     * a failure of the clean-up itself must not replace it. */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", kv_errmsg());
    io_close(b->file);
    if (b->path != NULL)
        io_unlink(b->path);
    kv_error(KV_OK, "%s", saved);
    table_builder_free(b);
}
