/*
 * table_v1_tools.c: kv check and kv dump of one v1 table (table.h).
 *
 * Both open the table as a lookup would (header and footer checked), then
 * walk every record with the table's iterator, which checks each record's
 * two checksums and that it fills exactly the span the offset array gives
 * it.  check adds what no lookup looks at: the offset array's checksum,
 * the order of every key, the footer's counts and keys against the
 * records.
 */
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "escape.h"
#include "log_report.h"
#include "table_v1_format.h"

#define TABLE_V1_DUMP_BYTES 64u

/* The offset array's checksum, read in 64 KiB pieces. */
static int table_v1_check_array(table *t, uint32_t *crc)
{
    uint8_t *buf = malloc(65536);
    if (buf == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a buffer", table_path(t));
    *crc = 0;
    int rc = KV_OK;
    for (uint64_t at = t->array_at, end = t->array_at + 8 * t->n; rc == KV_OK && at < end;) {
        size_t n = end - at < 65536 ? (size_t)(end - at) : 65536;
        rc = table_v1_read(t, at, buf, n, NULL);
        *crc = crc32c_extend(*crc, buf, n);
        at += n;
    }
    free(buf);
    return rc;
}

/* Walks every record, in order; calls show (if not NULL) on each, and
 * counts problems with order and counts in *problems. */
typedef void (*table_v1_show_fn)(void *ctx, const iter *it);

static int table_v1_walk(table *t, const char *label, kv_line_fn line, void *line_ctx,
                         table_v1_show_fn show, void *show_ctx, int *problems)
{
    iter *it;
    int rc = table_iter_new(t, &it);
    if (rc != KV_OK)
        return rc;
    uint8_t *prev = NULL;
    size_t prev_len = 0, prev_cap = 0;
    uint64_t n = 0, deletes = 0;
    for (iter_seek_first(it); iter_valid(it); iter_next(it), n++) {
        if (show != NULL)
            show(show_ctx, it);
        unsigned long long at = (unsigned long long)table_v1_iter_offset(it);
        if (n == 0 && ikey_compare(it->key, it->key_len, t->smallest, t->smallest_len) != 0) {
            log_report_line(line, line_ctx, "%s: offset %llu: the first key is not the "
                            "footer's smallest key", label, at);
            (*problems)++;
        }
        if (n > 0 && ikey_compare(prev, prev_len, it->key, it->key_len) >= 0) {
            log_report_line(line, line_ctx, "%s: offset %llu: record %llu is not above the "
                            "record before it", label, at, (unsigned long long)n);
            (*problems)++;
        }
        if (ikey_type_of(it->key, it->key_len) == IKEY_DELETE)
            deletes++;
        if (it->key_len > prev_cap) {
            uint8_t *grown = realloc(prev, it->key_len);
            if (grown == NULL) {
                rc = kv_error(KV_ERR_NOMEM, "%s: cannot allocate a key", table_path(t));
                break;
            }
            prev = grown;
            prev_cap = it->key_len;
        }
        memcpy(prev, it->key, it->key_len);
        prev_len = it->key_len;
    }
    if (rc == KV_OK)
        rc = iter_status(it);
    if (rc == KV_OK && n > 0 && ikey_compare(prev, prev_len, t->largest, t->largest_len) != 0) {
        log_report_line(line, line_ctx, "%s: the last key is not the footer's largest key",
                        label);
        (*problems)++;
    }
    if (rc == KV_OK && (n != t->n || deletes != t->deletes)) {
        log_report_line(line, line_ctx, "%s: the footer counts %llu records (%llu "
                        "tombstones); there are %llu (%llu)", label,
                        (unsigned long long)t->n, (unsigned long long)t->deletes,
                        (unsigned long long)n, (unsigned long long)deletes);
        (*problems)++;
    }
    free(prev);
    iter_free(it);
    return rc;
}

/* Opens the table for a tool, with a context of its own. */
static int table_v1_tool_open(const char *path, const char *label, kv_line_fn line,
                              void *line_ctx, table_ctx **ctx, table **t)
{
    *t = NULL;
    int rc = table_ctx_new(NULL, ctx);
    if (rc == KV_OK)
        rc = table_open(*ctx, path, t);
    if (rc != KV_OK)
        log_report_line(line, line_ctx, "%s: %s: %s", label,
                        rc == KV_ERR_CORRUPT ? "CORRUPT" : "cannot read", kv_errmsg());
    return rc;
}

int table_check(const char *path, const char *label, kv_line_fn line, void *line_ctx)
{
    table_ctx *ctx = NULL;
    table *t;
    int rc = table_v1_tool_open(path, label, line, line_ctx, &ctx, &t);
    int problems = 0;
    uint32_t crc = 0;
    if (rc == KV_OK)
        rc = table_v1_check_array(t, &crc);
    if (rc == KV_OK && crc != t->array_crc) {
        log_report_line(line, line_ctx, "%s: offset %llu: the offset array's checksum does "
                        "not match", label, (unsigned long long)t->array_at);
        problems++;
    }
    if (rc == KV_OK)
        rc = table_v1_walk(t, label, line, line_ctx, NULL, NULL, &problems);
    if (t != NULL && rc != KV_OK)
        log_report_line(line, line_ctx, "%s: %s: %s", label,
                        rc == KV_ERR_CORRUPT ? "CORRUPT" : "cannot read", kv_errmsg());
    if (rc == KV_OK)
        log_report_line(line, line_ctx, "%s: table v1, %llu bytes, %llu records (%llu "
                        "tombstones): %s", label, (unsigned long long)t->file_bytes,
                        (unsigned long long)t->n, (unsigned long long)t->deletes,
                        problems ? "CORRUPT" : "ok");
    table_unref(t);
    table_ctx_free(ctx);
    if (rc == KV_OK && problems > 0)
        rc = kv_error(KV_ERR_CORRUPT, "%s: %d problems", path, problems);
    return rc;
}

typedef struct table_v1_dump_ctx {
    kv_line_fn line;
    void *ctx;
} table_v1_dump_ctx;

static void table_v1_dump_record(void *ctx, const iter *it)
{
    table_v1_dump_ctx *c = ctx;
    char key[4 * TABLE_V1_DUMP_BYTES + 8], val[4 * TABLE_V1_DUMP_BYTES + 8];
    ikey_parsed k;
    ikey_decode(it->key, it->key + it->key_len, &k);
    escape_bytes(key, sizeof key, k.user_key, k.user_len, TABLE_V1_DUMP_BYTES);
    unsigned long long at = (unsigned long long)table_v1_iter_offset(it);
    if (k.type == IKEY_DELETE) {
        log_report_line(c->line, c->ctx, "%10llu  del seq=%llu key_len=%zu key=\"%s\"", at,
                        (unsigned long long)k.seq, k.user_len, key);
        return;
    }
    escape_bytes(val, sizeof val, it->value, it->value_len, TABLE_V1_DUMP_BYTES);
    log_report_line(c->line, c->ctx, "%10llu  put seq=%llu key_len=%zu value_len=%zu "
                    "key=\"%s\" value=\"%s\"", at, (unsigned long long)k.seq, k.user_len,
                    it->value_len, key, val);
}

/* "key" and sequence of an internal key, for the dump's first lines. */
static void table_v1_dump_key(kv_line_fn line, void *ctx, const char *what, const uint8_t *p,
                              size_t n)
{
    char key[4 * TABLE_V1_DUMP_BYTES + 8];
    ikey_parsed k;
    ikey_decode(p, p + n, &k);
    escape_bytes(key, sizeof key, k.user_key, k.user_len, TABLE_V1_DUMP_BYTES);
    log_report_line(line, ctx, "# %s key: \"%s\" seq=%llu %s", what, key,
                    (unsigned long long)k.seq, ikey_type_word(k.type));
}

int table_dump(const char *path, const char *label, kv_line_fn line, void *line_ctx)
{
    table_ctx *ctx = NULL;
    table *t;
    int rc = table_v1_tool_open(path, label, line, line_ctx, &ctx, &t);
    int problems = 0;
    if (rc == KV_OK) {
        log_report_line(line, line_ctx, "# %s: table v1, %llu bytes: %llu records (%llu "
                        "tombstones) from offset 16, offset array at %llu (see "
                        "docs/04-lsm.md)", label, (unsigned long long)t->file_bytes,
                        (unsigned long long)t->n, (unsigned long long)t->deletes,
                        (unsigned long long)t->array_at);
        table_v1_dump_key(line, line_ctx, "smallest", t->smallest, t->smallest_len);
        table_v1_dump_key(line, line_ctx, "largest", t->largest, t->largest_len);
        table_v1_dump_ctx c = {.line = line, .ctx = line_ctx};
        rc = table_v1_walk(t, label, line, line_ctx, table_v1_dump_record, &c, &problems);
        if (rc != KV_OK)
            log_report_line(line, line_ctx, "# %s: %s: %s", label,
                            rc == KV_ERR_CORRUPT ? "CORRUPT" : "cannot read", kv_errmsg());
    }
    table_unref(t);
    table_ctx_free(ctx);
    if (rc == KV_OK && problems > 0)
        rc = kv_error(KV_ERR_CORRUPT, "%s: %d problems", path, problems);
    return rc;
}
