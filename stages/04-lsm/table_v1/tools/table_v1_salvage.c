/*
 * table_v1_salvage.c: table_salvage for format v1 (table.h): what kv
 * repair can still read of a damaged table.
 *
 * A v1 table's records lie back to back from offset 16, each with a
 * checksum of its head and one of its value (table_v1_format.h), so they
 * can be read in order without the offset array or the footer: a table
 * cut short, or whose footer or array is damaged, keeps every record
 * before the damage.  Where a record does not check, the scan moves on a
 * byte at a time until one does again (its head and value checksums hold,
 * and its key is above the last one kept): a flipped byte costs only the
 * record it falls in.  The records end where the footer says (its offset
 * array), or, if the footer cannot be read, at the end of the file: the
 * array is then found where the last record ends, by the offsets of the
 * first records, and nothing after it is taken for a record (no record can
 * match there by chance but with the odds of two CRC-32Cs).
 */
#include <string.h>

#include "crc32c.h"
#include "file_bytes.h"
#include "table_salvage.h"
#include "table_v1_format.h"

typedef struct v1_scan {
    salvage_sink sink;
    const uint8_t *p;
    uint64_t first_at[2];    /* where the first two records kept start */
    uint64_t kept_end;       /* where the last record kept ends */
} v1_scan;

/* 1 and *r if a whole record that checks starts at `at` (before `end`);
 * else 0 and *why. */
static int v1_record(const v1_scan *s, uint64_t at, uint64_t end, table_v1_record *r,
                     const char **why)
{
    uint64_t room = end - at;
    if (table_v1_record_decode(s->p + at, (size_t)room, room, 0, r, why) != TABLE_V1_REC_OK)
        return 0;
    if (crc32c_value(s->p + at + r->head_len, r->value_len) != r->value_crc) {
        *why = "the value's checksum does not match";
        return 0;
    }
    if (!salvage_sink_follows(&s->sink, r->ikey, r->ikey_len)) {
        *why = "a record whose key is not above the one before it";
        return 0;
    }
    return 1;
}

/* 1 if, the footer being unreadable, what follows the last record kept
 * is the offset array: the offsets of the first records kept (every
 * record was read, and only the table's own structure is damaged). */
static int v1_array_follows(const v1_scan *s, uint64_t end)
{
    const table_salvage_info *info = s->sink.info;
    uint64_t n = info->entries < 2 ? info->entries : 2, at = s->kept_end;
    if (n == 0 || !s->sink.damaged || s->sink.bad != at || end - at < 8 * n ||
        info->losses > 0)
        return 0;
    for (uint64_t i = 0; i < n; i++)
        if (coding_get_u64(s->p + at + 8 * i) != s->first_at[i])
            return 0;
    return 1;
}

/* Where the records end, from the footer if it can be read (and the
 * number of records it counts), else the file's end. */
static uint64_t v1_records_end(const char *path, uint64_t size, uint64_t *expected)
{
    table_ctx *ctx = NULL;
    table *t = NULL;
    uint64_t end = size;
    *expected = 0;
    if (table_ctx_new(NULL, &ctx) == KV_OK && table_open(ctx, path, &t) == KV_OK) {
        end = t->array_at;
        *expected = t->n;
    }
    table_unref(t);
    table_ctx_free(ctx);
    return end;
}

int table_salvage(const char *path, table_entry_fn entry, table_loss_fn loss, void *ctx,
                  table_salvage_info *info)
{
    memset(info, 0, sizeof *info);
    v1_scan s = {.first_at = {0, 0}};
    salvage_sink_init(&s.sink, path, entry, loss, ctx, info);
    file_bytes fb;
    int rc = file_bytes_open(path, &fb);
    s.p = fb.p;
    info->file_bytes = fb.n;
    uint64_t end = rc == KV_OK ? v1_records_end(path, fb.n, &info->expected) : 0;
    /* A damaged header is no lost entry: the records after it are read. */
    for (uint64_t at = TABLE_V1_RECORDS_AT; rc == KV_OK && at < end;) {
        table_v1_record r;
        const char *why = NULL;
        if (!v1_record(&s, at, end, &r, &why)) {
            salvage_sink_damage(&s.sink, at, why);
            at++;
            continue;
        }
        if (info->entries < 2)
            s.first_at[info->entries] = at;
        rc = salvage_sink_keep(&s.sink, at, r.ikey, r.ikey_len, fb.p + at + r.head_len,
                               r.value_len);
        at += r.head_len + r.value_len;
        s.kept_end = at;
    }
    if (rc == KV_OK && info->expected == 0 && v1_array_follows(&s, end)) {
        s.sink.damaged = 0; /* nothing lost after all */
        info->expected = info->entries;
    }
    if (rc == KV_OK)
        salvage_sink_end(&s.sink, end);
    salvage_sink_free(&s.sink);
    file_bytes_close(&fb);
    return rc;
}
