/*
 * log_report.c: check and dump of a log file (see log_report.h).
 */
#include "log_report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "escape.h"
#include "io.h"
#include "log_damage.h"
#include "log_scan.h"
#include "file_start.h"

#define DUMP_SHOW_BYTES 48

void log_report_line(kv_line_fn line, void *ctx, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    if (line == NULL)
        return; /* (no one to tell: a repair's check of a table, say) */
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    line(ctx, buf);
}

/* Walks the file; calls on_record for each record, and reports damage.
 * Returns KV_OK / KV_ERR_CORRUPT / an I/O error. */
typedef void (*log_report_record_fn)(const log_scan *s, kv_line_fn line, void *ctx);

/* Reports the header; returns 1 if the records after it are to be read. */
static int log_report_header(const file_start *fs, const char *label, uint64_t size,
                             kv_line_fn line, void *ctx, log_report_totals *t)
{
    t->header = fs->state;
    if (fs->state == FILE_START_EMPTY)
        log_report_line(line, ctx, "%s: 0 bytes: not even its header yet (a file just "
                        "created)", label);
    else if (fs->state == FILE_START_TORN)
        t->torn_bytes = size;
    if (fs->state == FILE_START_TORN || fs->state == FILE_START_BAD)
        log_report_line(line, ctx, "%s: offset 0: %s%s", label,
                        fs->state == FILE_START_BAD ? "CORRUPT: " : "torn header: ",
                        fs->why);
    if (fs->state == FILE_START_BAD) {
        t->corrupt_regions++;
        t->corrupt_bytes += FILE_HEADER_SIZE;
    }
    return fs->state == FILE_START_OK || (fs->state == FILE_START_BAD && size > FILE_HEADER_SIZE);
}

/* Reports the damage the scan stopped at; returns 1 and moves the scan to
 * the next valid record if there is one, 0 at the end. */
static int log_report_damage(io_file *f, log_scan *s, uint64_t size, const char *label,
                             kv_line_fn line, void *ctx, log_report_totals *t, int *status)
{
    uint64_t bad = s->pos;
    log_damage d;
    int rc = log_damage_classify(f, bad, s->why, s->short_record, size, &d);
    if (rc == KV_OK && d.torn) {
        t->torn_bytes = size - bad;
        log_report_line(line, ctx, "%s: offset %llu: torn tail of %llu bytes (%s)", label,
                        (unsigned long long)bad, (unsigned long long)(size - bad), d.why);
        return 0;
    }
    if (rc == KV_OK && !d.searched)
        rc = (d.has_next = log_damage_resync(f, bad + 1, size, &d.next)) < 0 ? d.has_next
                                                                             : KV_OK;
    if (rc != KV_OK) {
        *status = rc;
        return 0;
    }
    uint64_t to = d.has_next ? d.next : size;
    t->corrupt_regions++;
    t->corrupt_bytes += to - bad;
    *status = KV_ERR_CORRUPT;
    if (!d.has_next) {
        log_report_line(line, ctx, "%s: offset %llu: CORRUPT: %s; no valid record follows "
                        "(%llu bytes to the end of the file)", label, (unsigned long long)bad,
                        d.why, (unsigned long long)(size - bad));
        return 0;
    }
    log_report_line(line, ctx, "%s: offset %llu: CORRUPT: %s; %llu bytes unreadable, valid "
                    "records resume at offset %llu", label, (unsigned long long)bad, d.why,
                    (unsigned long long)(to - bad), (unsigned long long)to);
    s->pos = to;
    return 1;
}

static int log_report_walk(const char *path, const char *label, const char *magic,
                           uint32_t version, kv_line_fn line, void *ctx, log_report_totals *t,
                           log_report_record_fn on_record)
{
    memset(t, 0, sizeof *t);
    io_file *f = NULL;
    int rc = io_open(path, IO_READ, &f);
    if (rc != KV_OK) {
        log_report_line(line, ctx, "%s: cannot open: %s", label, kv_errmsg());
        return rc;
    }
    uint64_t size = 0;
    file_start fs;
    if ((rc = io_size(f, &size)) != KV_OK ||
        (rc = file_start_read(f, size, magic, version, &fs)) != KV_OK) {
        io_close(f);
        return rc;
    }
    t->bytes = size;
    int status = fs.state == FILE_START_BAD ? KV_ERR_CORRUPT : KV_OK;
    log_scan s;
    log_scan_init(&s, f, FILE_HEADER_SIZE, size);
    int more = log_report_header(&fs, label, size, line, ctx, t);
    while (more) {
        rc = log_scan_next(&s);
        if (rc == LOG_SCAN_RECORD) {
            t->records++;
            t->ends_with_seal = s.rec.is_seal && s.rec.seal_at == s.rec_offset;
            if (s.rec.is_seal)
                t->seals++;
            else if (s.rec.is_delete)
                t->deletes++;
            else
                t->puts++;
            if (on_record)
                on_record(&s, line, ctx);
            continue;
        }
        if (rc < 0) {
            log_report_line(line, ctx, "%s: read failed: %s", label, kv_errmsg());
            status = rc;
        }
        more = rc == LOG_SCAN_BAD && log_report_damage(f, &s, size, label, line, ctx, t,
                                                       &status);
    }
    log_scan_free(&s);
    io_close(f);
    if (status == KV_ERR_CORRUPT)
        kv_error(KV_ERR_CORRUPT, "%s: %llu damaged region(s)", path,
                 (unsigned long long)t->corrupt_regions);
    return status;
}

int log_report_check(const char *path, const char *label, const char *magic, uint32_t version,
                     kv_line_fn line, void *ctx, log_report_totals *totals)
{
    log_report_totals t;
    int rc = log_report_walk(path, label, magic, version, line, ctx, &t, NULL);
    if (rc == KV_OK || rc == KV_ERR_CORRUPT)
        log_report_line(line, ctx, "%s: %llu bytes, %llu records (%llu puts, %llu deletes, "
                        "%llu seals): %s", label, (unsigned long long)t.bytes,
                        (unsigned long long)t.records, (unsigned long long)t.puts,
                        (unsigned long long)t.deletes, (unsigned long long)t.seals,
                        rc == KV_ERR_CORRUPT ? "DAMAGED" : t.torn_bytes ? "torn tail" : "ok");
    if (totals)
        *totals = t;
    return rc;
}

static void log_report_dump_record(const log_scan *s, kv_line_fn line, void *ctx)
{
    char key[4 * DUMP_SHOW_BYTES + 8], val[4 * DUMP_SHOW_BYTES + 8];
    if (s->rec.is_seal) {
        log_report_line(line, ctx, "%10llu  crc=%08x  seal at=%llu%s",
                        (unsigned long long)s->rec_offset, s->rec.crc,
                        (unsigned long long)s->rec.seal_at,
                        s->rec.seal_at == s->rec_offset ? "" : "  (WRONG: not its offset)");
        return;
    }
    escape_bytes(key, sizeof key, s->rec.key, s->rec.klen, DUMP_SHOW_BYTES);
    if (s->rec.is_delete) {
        log_report_line(line, ctx, "%10llu  crc=%08x  del  key_len=%u  key=\"%s\"",
                        (unsigned long long)s->rec_offset, s->rec.crc, s->rec.klen, key);
        return;
    }
    escape_bytes(val, sizeof val, s->rec.value, s->rec.vlen, DUMP_SHOW_BYTES);
    log_report_line(line, ctx,
                    "%10llu  crc=%08x  put  key_len=%u  value_len=%u  key=\"%s\"  value=\"%s\"",
                    (unsigned long long)s->rec_offset, s->rec.crc, s->rec.klen, s->rec.vlen,
                    key, val);
}

int log_report_dump(const char *path, const char *label, const char *magic, uint32_t version,
                    kv_line_fn line, void *ctx)
{
    log_report_line(line, ctx, "# %s: a %u-byte header (magic %s, version %u), then records: "
                    "offset, crc32c, type, lengths, key, value (see docs/01-log.md)", label,
                    FILE_HEADER_SIZE, magic, version);
    log_report_totals t;
    int rc = log_report_walk(path, label, magic, version, line, ctx, &t,
                             log_report_dump_record);
    log_report_line(line, ctx, "# %s: %llu bytes, %llu records", label,
                    (unsigned long long)t.bytes, (unsigned long long)t.records);
    return rc;
}
