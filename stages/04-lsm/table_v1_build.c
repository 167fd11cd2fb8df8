/*
 * table_v1_build.c: writing a v1 table (the byte table is in
 * table_v1_format.h).
 *
 * Records go to the file through a table_writer (a 256 KiB buffer: a
 * table of a few megabytes costs a few dozen system calls).  The offset of
 * every record is kept in memory until finish writes the offset array: 8
 * bytes per record, while the table is being built only (an open table
 * holds nothing per record).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "table_v1_format.h"
#include "table_writer.h"

struct table_builder {
    table_ctx *ctx;
    table_writer w;          /* the file; its failure is the builder's */
    uint64_t *offsets;       /* each record's offset */
    uint64_t n, cap, deletes;
    uint8_t *first, *last;   /* the smallest and (so far) largest keys */
    size_t first_len, last_len, last_cap;
};

int table_builder_new(table_ctx *ctx, const char *path, table_builder **out)
{
    *out = NULL;
    table_builder *b = calloc(1, sizeof *b);
    if (b == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a table builder", path);
    b->ctx = ctx;
    int rc = table_writer_open(&b->w, path);
    uint8_t header[FILE_HEADER_SIZE];
    file_header_encode(header, FILE_MAGIC_TBL04, TABLE_V1_VERSION);
    if (rc == KV_OK)
        rc = table_writer_write(&b->w, header, sizeof header);
    if (rc != KV_OK) {
        free(b);
        return rc;
    }
    *out = b;
    return KV_OK;
}

/* Keeps a copy of key in *dst (growing it), for order checks and the
 * footer. */
static int table_builder_keep(uint8_t **dst, size_t *cap, const uint8_t *key, size_t len)
{
    if (len > *cap) {
        uint8_t *grown = realloc(*dst, len);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "table: cannot allocate %zu bytes for a key", len);
        *dst = grown;
        *cap = len;
    }
    memcpy(*dst, key, len);
    return KV_OK;
}

int table_builder_add(table_builder *b, const uint8_t *ikey, size_t ikey_len,
                      const uint8_t *value, size_t value_len)
{
    int rc = table_writer_check(&b->w);
    if (rc != KV_OK)
        return rc;
    ikey_parsed k;
    if (ikey_len > TABLE_V1_IKEY_MAX || !ikey_decode(ikey, ikey + ikey_len, &k))
        return kv_error(KV_ERR_INVALID, "%s: entry %" PRIu64 ": not an internal key with a "
                        "user key of 1..%u bytes", b->w.path, b->n, KV_MAX_KEY);
    if (value_len > KV_MAX_VALUE)
        return kv_error(KV_ERR_INVALID, "%s: entry %" PRIu64 ": a value of %zu bytes",
                        b->w.path, b->n, value_len);
    if (b->n > 0 && ikey_compare(b->last, b->last_len, ikey, ikey_len) >= 0)
        return kv_error(KV_ERR_INVALID, "%s: entry %" PRIu64 ": keys out of order (not above "
                        "the previous one)", b->w.path, b->n);
    if (k.type == IKEY_DELETE)
        value_len = 0;
    if (b->n == b->cap) {
        uint64_t cap = b->cap ? 2 * b->cap : 1024;
        uint64_t *grown = realloc(b->offsets, cap * sizeof *grown);
        if (grown == NULL)
            return table_writer_fail(&b->w, kv_error(KV_ERR_NOMEM, "%s: cannot allocate the "
                                                     "offsets of %" PRIu64 " records",
                                                     b->w.path, cap));
        b->offsets = grown;
        b->cap = cap;
    }
    size_t keep_cap = b->last_cap;
    if (table_builder_keep(&b->last, &keep_cap, ikey, ikey_len) != KV_OK)
        return table_writer_fail(&b->w, KV_ERR_NOMEM);
    b->last_cap = keep_cap;
    b->last_len = ikey_len;
    if (b->n == 0) {
        size_t first_cap = 0;
        if (table_builder_keep(&b->first, &first_cap, ikey, ikey_len) != KV_OK)
            return table_writer_fail(&b->w, KV_ERR_NOMEM);
        b->first_len = ikey_len;
    }

    /* The head, in the buffer: crcs, lengths, key (at most 65561 bytes,
     * so it always fits after a flush). */
    size_t head_len = 8 + (size_t)coding_varint_length(ikey_len) +
                      (size_t)coding_varint_length(value_len) + ikey_len;
    uint8_t *h = table_writer_reserve(&b->w, head_len);
    if (h == NULL)
        return b->w.failed;
    b->offsets[b->n] = table_writer_pos(&b->w);
    coding_put_u32(h + 4, crc32c_value(value_len ? value : (const uint8_t *)"", value_len));
    uint8_t *p = coding_put_varint32(h + 8, (uint32_t)ikey_len);
    p = coding_put_varint32(p, (uint32_t)value_len);
    memcpy(p, ikey, ikey_len);
    coding_put_u32(h, crc32c_value(h + 4, head_len - 4));
    table_writer_commit(&b->w, head_len);
    if ((rc = table_writer_write(&b->w, value, value_len)) != KV_OK)
        return rc;
    b->n++;
    if (k.type == IKEY_DELETE)
        b->deletes++;
    return KV_OK;
}

uint64_t table_builder_entries(const table_builder *b)
{
    return b->n;
}

uint64_t table_builder_file_bytes(const table_builder *b)
{
    return table_writer_pos(&b->w) + 8 * b->n + b->first_len + b->last_len + TABLE_V1_TAIL;
}

/* The offset array, the two keys, the tail. */
static int table_builder_footer(table_builder *b)
{
    uint64_t array_at = table_writer_pos(&b->w);
    uint32_t array_crc = 0;
    uint8_t chunk[4096];
    for (uint64_t i = 0; i < b->n;) {
        size_t k = 0;
        for (; k < sizeof chunk / 8 && i < b->n; k++, i++)
            coding_put_u64(chunk + 8 * k, b->offsets[i]);
        array_crc = crc32c_extend(array_crc, chunk, 8 * k);
        if (table_writer_write(&b->w, chunk, 8 * k) != KV_OK)
            return b->w.failed;
    }
    uint8_t tail[TABLE_V1_TAIL];
    memcpy(tail, FILE_MAGIC_TBL04, FILE_MAGIC_SIZE);
    coding_put_u32(tail + 8, TABLE_V1_VERSION);
    coding_put_u32(tail + 12, array_crc);
    coding_put_u64(tail + 16, b->n);
    coding_put_u64(tail + 24, b->deletes);
    coding_put_u64(tail + 32, array_at);
    coding_put_u32(tail + 40, (uint32_t)b->first_len);
    coding_put_u32(tail + 44, (uint32_t)b->last_len);
    uint32_t crc = crc32c_value(b->first, b->first_len);
    crc = crc32c_extend(crc, b->last, b->last_len);
    coding_put_u32(tail + 48, crc32c_extend(crc, tail, 48));
    if (table_writer_write(&b->w, b->first, b->first_len) != KV_OK ||
        table_writer_write(&b->w, b->last, b->last_len) != KV_OK ||
        table_writer_write(&b->w, tail, sizeof tail) != KV_OK)
        return b->w.failed;
    return table_writer_finish(&b->w);
}

static void table_builder_free(table_builder *b)
{
    free(b->offsets);
    free(b->first);
    free(b->last);
    free(b);
}

int table_builder_finish(table_builder *b, table_meta *meta)
{
    int rc = table_writer_check(&b->w);
    if (rc == KV_OK && b->n == 0)
        rc = kv_error(KV_ERR_INVALID, "%s: a table needs at least one entry", b->w.path);
    if (rc == KV_OK)
        rc = table_builder_footer(b);
    if (rc != KV_OK) {
        table_builder_abandon(b);
        return rc;
    }
    if (meta != NULL) {
        meta->file_bytes = b->w.written;
        meta->entries = b->n;
        meta->deletes = b->deletes;
    }
    table_builder_free(b);
    return KV_OK;
}

void table_builder_abandon(table_builder *b)
{
    if (b == NULL)
        return;
    table_writer_abandon(&b->w);
    table_builder_free(b);
}
