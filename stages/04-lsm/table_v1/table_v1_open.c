/*
 * table_v1_open.c: the tables of a database (their shared context), and
 * opening one v1 table: the header, the footer and every number in it
 * checked against the file's size before anything is believed (table.h,
 * table_v1_format.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "table_v1_format.h"

/* ---- the shared context --------------------------------------------------- */

int table_ctx_new(const kv_options *opt, table_ctx **out)
{
    (void)opt; /* v1 has no options */
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return kv_error(KV_ERR_NOMEM, "table: cannot allocate a context");
    return KV_OK;
}

void table_ctx_free(table_ctx *ctx)
{
    free(ctx);
}

static uint64_t table_count(atomic_uint_least64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* Its counters, for kv_stats; nothing for kv_inspect (what the tables of
 * this format share is those counters). */
void table_ctx_describe(table_ctx *ctx, int inspect, kv_line_fn line, void *line_ctx)
{
    if (inspect)
        return;
    char text[128];
    uint64_t gets = table_count(&ctx->gets), get_reads = table_count(&ctx->get_reads);
    snprintf(text, sizeof text, "session.table.reads: %" PRIu64, table_count(&ctx->reads));
    line(line_ctx, text);
    snprintf(text, sizeof text, "session.table.read_bytes: %" PRIu64, table_count(&ctx->read_bytes));
    line(line_ctx, text);
    snprintf(text, sizeof text, "session.table.gets: %" PRIu64, gets);
    line(line_ctx, text);
    snprintf(text, sizeof text, "session.table.reads_per_get: %.2f",
             gets ? (double)get_reads / (double)gets : 0.0);
    line(line_ctx, text);
}

/* ---- open and references --------------------------------------------------------- */

static int table_v1_open_checks(table *t, const char *path)
{
    const uint64_t size = t->file_bytes, tail_at = size - TABLE_V1_TAIL;
    uint64_t keys_at = tail_at - t->smallest_len - t->largest_len;
    if (t->n == 0 || t->n > size / 8 || t->deletes > t->n ||
        t->array_at < TABLE_V1_RECORDS_AT + TABLE_V1_RECORD_MIN || t->array_at > keys_at ||
        keys_at - t->array_at != 8 * t->n ||
        (t->array_at - TABLE_V1_RECORDS_AT) / TABLE_V1_RECORD_MIN < t->n)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the footer's counts do not "
                        "fit a file of %" PRIu64 " bytes (records %" PRIu64 ", tombstones %"
                        PRIu64 ", offset array at %" PRIu64 ")",
                        path, tail_at + 16, size, t->n, t->deletes, t->array_at);
    ikey_parsed a, b;
    if (!ikey_decode(t->smallest, t->smallest + t->smallest_len, &a) ||
        !ikey_decode(t->largest, t->largest + t->largest_len, &b) ||
        ikey_compare(t->smallest, t->smallest_len, t->largest, t->largest_len) > 0)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the footer's smallest and "
                        "largest keys are not two internal keys in order",
                        path, keys_at);
    return KV_OK;
}

int table_open(table_ctx *ctx, const char *path, table **out)
{
    *out = NULL;
    table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a table", path);
    t->ctx = ctx;
    atomic_init(&t->refs, 1);
    uint8_t head[FILE_HEADER_SIZE], tail[TABLE_V1_TAIL];
    size_t got = 0;
    int rc = io_open(path, IO_READ, &t->file);
    if (rc == KV_OK)
        rc = io_size(t->file, &t->file_bytes);
    if (rc == KV_OK)
        rc = io_read_at(t->file, 0, head, sizeof head, &got);
    if (rc == KV_OK)
        rc = file_header_check(path, head, got, FILE_MAGIC_TBL04, TABLE_V1_VERSION);
    if (rc == KV_OK && t->file_bytes < TABLE_V1_FILE_MIN)
        rc = kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the file ends: %" PRIu64
                      " bytes cannot hold a table's footer (a table has at least %u)",
                      path, t->file_bytes, t->file_bytes, (unsigned)TABLE_V1_FILE_MIN);
    uint64_t tail_at = t->file_bytes - TABLE_V1_TAIL;
    if (rc == KV_OK)
        rc = table_v1_read(t, tail_at, tail, sizeof tail, NULL);
    if (rc == KV_OK && (memcmp(tail, FILE_MAGIC_TBL04, FILE_MAGIC_SIZE) != 0 ||
                        coding_get_u32(tail + 8) != TABLE_V1_VERSION))
        rc = kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": no footer of a version-%u "
                      "table here (the file was cut short, or it is not a table)",
                      path, tail_at, TABLE_V1_VERSION);
    if (rc == KV_OK) {
        t->array_crc = coding_get_u32(tail + 12);
        t->n = coding_get_u64(tail + 16);
        t->deletes = coding_get_u64(tail + 24);
        t->array_at = coding_get_u64(tail + 32);
        t->smallest_len = coding_get_u32(tail + 40);
        t->largest_len = coding_get_u32(tail + 44);
        if (t->smallest_len < TABLE_V1_IKEY_MIN || t->smallest_len > TABLE_V1_IKEY_MAX ||
            t->largest_len < TABLE_V1_IKEY_MIN || t->largest_len > TABLE_V1_IKEY_MAX ||
            t->smallest_len + t->largest_len > tail_at - TABLE_V1_RECORDS_AT)
            rc = kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the footer's key lengths "
                          "(%zu, %zu) are impossible", path, tail_at + 40, t->smallest_len,
                          t->largest_len);
    }
    uint64_t keys_at = tail_at - t->smallest_len - t->largest_len;
    if (rc == KV_OK) {
        t->smallest = malloc(t->smallest_len);
        t->largest = malloc(t->largest_len);
        if (t->smallest == NULL || t->largest == NULL)
            rc = kv_error(KV_ERR_NOMEM, "%s: cannot allocate the table's keys", path);
    }
    if (rc == KV_OK)
        rc = table_v1_read(t, keys_at, t->smallest, t->smallest_len, NULL);
    if (rc == KV_OK)
        rc = table_v1_read(t, keys_at + t->smallest_len, t->largest, t->largest_len, NULL);
    if (rc == KV_OK) {
        uint32_t crc = crc32c_value(t->smallest, t->smallest_len);
        crc = crc32c_extend(crc, t->largest, t->largest_len);
        crc = crc32c_extend(crc, tail, 48);
        if (crc != coding_get_u32(tail + 48))
            rc = kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the footer's checksum "
                          "does not match its bytes", path, tail_at + 48);
    }
    if (rc == KV_OK)
        rc = table_v1_open_checks(t, path);
    if (rc != KV_OK) {
        table_unref(t);
        return rc;
    }
    *out = t;
    return KV_OK;
}

void table_ref(table *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void table_unref(table *t)
{
    if (t == NULL || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    io_close(t->file);
    free(t->smallest);
    free(t->largest);
    free(t);
}

int table_retire(table *t)
{
    (void)t; /* a v1 table keeps its file open for as long as it lives */
    return KV_OK;
}

const uint8_t *table_smallest(const table *t, size_t *len)
{
    *len = t->smallest_len;
    return t->smallest;
}

const uint8_t *table_largest(const table *t, size_t *len)
{
    *len = t->largest_len;
    return t->largest;
}

uint64_t table_entries(const table *t) { return t->n; }
uint64_t table_file_bytes(const table *t) { return t->file_bytes; }
const char *table_path(const table *t) { return io_path(t->file); }

