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
#include "log_scan.h"

#define DUMP_SHOW_BYTES 48

void log_report_line(kv_line_fn line, void *ctx, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (line)
        line(ctx, buf);
}

/* Walks the file; calls on_record for each record, and reports damage.
 * Returns KV_OK / KV_ERR_CORRUPT / an I/O error. */
typedef void (*log_report_record_fn)(const log_scan *s, kv_line_fn line, void *ctx);

static int log_report_walk(const char *path, const char *label, kv_line_fn line, void *ctx,
                           log_report_totals *t, log_report_record_fn on_record)
{
    memset(t, 0, sizeof *t);
    io_file *f = NULL;
    int rc = io_open(path, IO_READ, &f);
    if (rc != KV_OK) {
        log_report_line(line, ctx, "%s: cannot open: %s", label, kv_errmsg());
        return rc;
    }
    uint64_t size = 0;
    if ((rc = io_size(f, &size)) != KV_OK) {
        io_close(f);
        return rc;
    }
    t->bytes = size;
    int status = KV_OK;
    log_scan s;
    log_scan_init(&s, f, 0, size);
    for (;;) {
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
        if (rc == LOG_SCAN_END)
            break;
        if (rc < 0) {
            log_report_line(line, ctx, "%s: read failed: %s", label, kv_errmsg());
            status = rc;
            break;
        }
        uint64_t bad = s.pos, next = 0;
        const char *why = s.why;
        int found = log_scan_classify_damage(f, bad, size, &next);
        if (found < 0) {
            status = found;
            break;
        }
        if (!found) {
            t->torn_bytes = size - bad;
            log_report_line(line, ctx, "%s: offset %llu: torn tail of %llu bytes (%s); "
                            "kv_open cuts it off", label, (unsigned long long)bad,
                            (unsigned long long)(size - bad), why);
            break;
        }
        t->corrupt_regions++;
        t->corrupt_bytes += next - bad;
        log_report_line(line, ctx, "%s: offset %llu: CORRUPT: %s; %llu bytes unreadable, "
                        "valid records resume at offset %llu", label,
                        (unsigned long long)bad, why, (unsigned long long)(next - bad),
                        (unsigned long long)next);
        status = KV_ERR_CORRUPT;
        s.pos = next;
    }
    log_scan_free(&s);
    io_close(f);
    if (status == KV_ERR_CORRUPT)
        kv_error(KV_ERR_CORRUPT, "%s: %llu damaged region(s) in the middle of the log",
                 path, (unsigned long long)t->corrupt_regions);
    return status;
}

int log_report_check(const char *path, const char *label, kv_line_fn line, void *ctx,
                     log_report_totals *totals)
{
    log_report_totals t;
    int rc = log_report_walk(path, label, line, ctx, &t, NULL);
    if (rc == KV_OK || rc == KV_ERR_CORRUPT)
        log_report_line(line, ctx, "%s: %llu bytes, %llu records (%llu puts, %llu deletes, "
                        "%llu seals)%s", label, (unsigned long long)t.bytes,
                        (unsigned long long)t.records, (unsigned long long)t.puts,
                        (unsigned long long)t.deletes, (unsigned long long)t.seals,
                        rc == KV_ERR_CORRUPT ? ": DAMAGED" : ": ok");
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

int log_report_dump(const char *path, const char *label, kv_line_fn line, void *ctx)
{
    log_report_line(line, ctx, "# %s: offset, crc32c, type, lengths, key, value "
                    "(see docs/01-log.md)", label);
    log_report_totals t;
    int rc = log_report_walk(path, label, line, ctx, &t, log_report_dump_record);
    log_report_line(line, ctx, "# %s: %llu bytes, %llu records", label,
                    (unsigned long long)t.bytes, (unsigned long long)t.records);
    return rc;
}
