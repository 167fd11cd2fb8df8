/*
 * log_scan.c: buffered sequential reading of a record log (see log_scan.h).
 */
#include "log_scan.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kv.h"

void log_scan_init(log_scan *s, io_file *file, uint64_t start, uint64_t limit)
{
    memset(s, 0, sizeof *s);
    s->file = file;
    s->pos = start;
    s->limit = limit;
    s->verify_checksums = 1;
}

void log_scan_free(log_scan *s)
{
    free(s->buf);
    s->buf = NULL;
    s->buf_cap = s->buf_len = 0;
}

/* Makes the buffer hold [pos, pos + need) if the file has those bytes, and as
 * much more as fits, up to limit.  On KV_OK the buffer may hold fewer than
 * `need` bytes only when the region ends first. */
static int log_scan_fill(log_scan *s, uint64_t need)
{
    if (s->pos >= s->buf_off && s->pos + need <= s->buf_off + s->buf_len)
        return KV_OK;
    uint64_t want = need > LOG_SCAN_CHUNK ? need : LOG_SCAN_CHUNK;
    if (want > s->limit - s->pos)
        want = s->limit - s->pos;
    if (want > s->buf_cap) {
        uint8_t *grown = realloc(s->buf, (size_t)want);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "%s: no memory for a %llu-byte record at offset %llu",
                            io_path(s->file), (unsigned long long)need,
                            (unsigned long long)s->pos);
        s->buf = grown;
        s->buf_cap = (size_t)want;
    }
    size_t got = 0;
    int rc = io_read_at(s->file, s->pos, s->buf, (size_t)want, &got);
    s->buf_off = s->pos;
    s->buf_len = rc == KV_OK ? got : 0;
    return rc;
}

int log_scan_next(log_scan *s)
{
    if (s->pos >= s->limit)
        return LOG_SCAN_END;
    uint64_t need = LOG_RECORD_HEADER;
    for (;;) {
        int rc = log_scan_fill(s, need);
        if (rc != KV_OK)
            return rc;
        const uint8_t *p = s->buf + (s->pos - s->buf_off);
        const uint8_t *end = s->buf + s->buf_len;
        uint64_t size = 0;
        const char *why = NULL;
        int d = s->verify_checksums ? log_record_decode(p, end, &s->rec, &size, &why)
                                    : log_record_parse(p, end, &s->rec, &size, &why);
        if (d == LOG_DECODE_OK) {
            s->rec_offset = s->pos;
            s->rec_size = size;
            s->pos += size;
            return LOG_SCAN_RECORD;
        }
        if (d == LOG_DECODE_BAD) {
            s->why = why;
            s->short_record = 0;
            return LOG_SCAN_BAD;
        }
        /* Short: the region ends first, or the file did although we asked
         * for these bytes already, or the buffer just needs more. */
        if (s->pos + size > s->limit || size <= need) {
            s->why = "record runs past the end of the file";
            s->short_record = 1;
            return LOG_SCAN_BAD;
        }
        need = size;
    }
}

int log_read_record_at(io_file *file, uint64_t offset, uint64_t size,
                       uint8_t **buf, size_t *cap, log_record *rec)
{
    if (size < LOG_RECORD_HEADER || size > LOG_RECORD_HEADER + KV_MAX_KEY + (uint64_t)KV_MAX_VALUE)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %llu: impossible record size %llu",
                        io_path(file), (unsigned long long)offset,
                        (unsigned long long)size);
    if (*cap < size) {
        uint8_t *grown = realloc(*buf, (size_t)size);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "%s: no memory for a %llu-byte record",
                            io_path(file), (unsigned long long)size);
        *buf = grown;
        *cap = (size_t)size;
    }
    size_t got = 0;
    int rc = io_read_at(file, offset, *buf, (size_t)size, &got);
    if (rc != KV_OK)
        return rc;
    uint64_t decoded = 0;
    const char *why = "record runs past the end of the file";
    if (got == size &&
        log_record_decode(*buf, *buf + got, rec, &decoded, &why) == LOG_DECODE_OK &&
        decoded == size)
        return KV_OK;
    if (got == size && decoded != size)
        why = "record length differs from the index";
    return kv_error(KV_ERR_CORRUPT, "%s: offset %llu: %s", io_path(file),
                    (unsigned long long)offset, why);
}
