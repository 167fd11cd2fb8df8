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
    uint64_t cap;
};

int table_builder_new(table_ctx *ctx, const char *path, table_builder **out)
{
    *out = NULL;
    table_builder *b = calloc(1, sizeof *b);
    if (b == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a table builder", path);
    b->ctx = ctx;
    int rc = table_writer_open(&b->w, path, FILE_MAGIC_TBL04, TABLE_V1_VERSION);
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
    ikey_parsed k;
    int rc = table_writer_check_entry(&b->w, ikey, ikey_len, value_len, &k);
    if (rc != KV_OK)
        return rc;
    if (k.type == IKEY_DELETE)
        value_len = 0;
    uint64_t n = b->w.entries;
    if (n == b->cap) {
        uint64_t cap = b->cap ? 2 * b->cap : 1024;
        uint64_t *grown = realloc(b->offsets, cap * sizeof *grown);
        if (grown == NULL)
            return table_writer_fail(&b->w, kv_error(KV_ERR_NOMEM, "%s: cannot allocate the "
                                                     "offsets of %" PRIu64 " records",
                                                     b->w.path, cap));
        b->offsets = grown;
        b->cap = cap;
    }

    /* The head, in the buffer: crcs, lengths, key (at most 65561 bytes,
     * so it always fits after a flush). */
    size_t head_len = 8 + (size_t)coding_varint_length(ikey_len) +
                      (size_t)coding_varint_length(value_len) + ikey_len;
    uint8_t *h = table_writer_reserve(&b->w, head_len);
    if (h == NULL)
        return b->w.failed;
    b->offsets[n] = table_writer_pos(&b->w);
    coding_put_u32(h + 4, crc32c_value(value_len ? value : (const uint8_t *)"", value_len));
    uint8_t *p = coding_put_varint32(h + 8, (uint32_t)ikey_len);
    p = coding_put_varint32(p, (uint32_t)value_len);
    memcpy(p, ikey, ikey_len);
    coding_put_u32(h, crc32c_value(h + 4, head_len - 4));
    table_writer_commit(&b->w, head_len);
    if ((rc = table_writer_write(&b->w, value, value_len)) != KV_OK)
        return rc;
    return table_writer_added(&b->w, ikey, ikey_len, k.type);
}

uint64_t table_builder_entries(const table_builder *b)
{
    return b->w.entries;
}

uint64_t table_builder_file_bytes(const table_builder *b)
{
    return table_writer_pos(&b->w) + 8 * b->w.entries + b->w.first_len + b->w.last_len +
           TABLE_V1_TAIL;
}

uint64_t table_builder_written(const table_builder *b)
{
    return b->w.written;
}

/* The offset array, the two keys, the tail. */
static int table_builder_footer(table_builder *b)
{
    const table_writer *w = &b->w;
    uint64_t array_at = table_writer_pos(w), n = w->entries;
    uint32_t array_crc = 0;
    uint8_t chunk[4096];
    for (uint64_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < sizeof chunk / 8 && i < n; k++, i++)
            coding_put_u64(chunk + 8 * k, b->offsets[i]);
        array_crc = crc32c_extend(array_crc, chunk, 8 * k);
        if (table_writer_write(&b->w, chunk, 8 * k) != KV_OK)
            return w->failed;
    }
    uint8_t tail[TABLE_V1_TAIL];
    memcpy(tail, FILE_MAGIC_TBL04, FILE_MAGIC_SIZE);
    coding_put_u32(tail + 8, TABLE_V1_VERSION);
    coding_put_u32(tail + 12, array_crc);
    coding_put_u64(tail + 16, n);
    coding_put_u64(tail + 24, w->deletes);
    coding_put_u64(tail + 32, array_at);
    coding_put_u32(tail + 40, (uint32_t)w->first_len);
    coding_put_u32(tail + 44, (uint32_t)w->last_len);
    uint32_t crc = crc32c_value(w->first, w->first_len);
    crc = crc32c_extend(crc, w->last, w->last_len);
    coding_put_u32(tail + 48, crc32c_extend(crc, tail, 48));
    if (table_writer_write(&b->w, w->first, w->first_len) != KV_OK ||
        table_writer_write(&b->w, w->last, w->last_len) != KV_OK ||
        table_writer_write(&b->w, tail, sizeof tail) != KV_OK)
        return w->failed;
    return table_writer_finish(&b->w);
}

int table_builder_finish(table_builder *b, table_meta *meta)
{
    int rc = table_writer_check(&b->w);
    if (rc == KV_OK && b->w.entries == 0)
        rc = kv_error(KV_ERR_INVALID, "%s: a table needs at least one entry", b->w.path);
    if (rc == KV_OK)
        rc = table_builder_footer(b);
    if (rc != KV_OK) {
        table_builder_abandon(b);
        return rc;
    }
    if (meta != NULL) {
        meta->file_bytes = b->w.written;
        meta->entries = b->w.entries;
        meta->deletes = b->w.deletes;
    }
    free(b->offsets);
    free(b);
    return KV_OK;
}

void table_builder_abandon(table_builder *b)
{
    if (b == NULL)
        return;
    table_writer_abandon(&b->w);
    free(b->offsets);
    free(b);
}
