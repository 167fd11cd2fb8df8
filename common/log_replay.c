/*
 * log_replay.c: a log file read as kv_open reads it (log_replay.h).
 */
#include "log_replay.h"

#include <string.h>

#include "kv.h"

int log_replay_file(io_file *f, uint64_t size, const char *magic, uint32_t version,
                    log_replay_fn fn, void *ctx, log_replay *r)
{
    memset(r, 0, sizeof *r);
    int rc = file_start_read(f, size, magic, version, &r->start);
    if (rc != KV_OK || r->start.state == FILE_START_EMPTY)
        return rc;
    if (r->start.state != FILE_START_OK) {
        r->damaged = 1;
        r->d.why = r->start.why;
        r->d.torn = r->start.state == FILE_START_TORN;
        r->d.searched = 1;
        return KV_OK;
    }
    log_scan s;
    log_scan_init(&s, f, LOG_REPLAY_START, size);
    while ((rc = log_scan_next(&s)) == LOG_SCAN_RECORD) {
        r->records++;
        r->sealed = s.rec.is_seal && s.rec.seal_at == s.rec_offset;
        if (fn != NULL && (rc = fn(ctx, &s)) != 0)
            break;
    }
    r->end = s.pos;
    if (rc == LOG_SCAN_BAD) {
        r->damaged = 1;
        rc = log_damage_classify(f, s.pos, s.why, s.short_record, size, &r->d);
    } else if (rc == LOG_SCAN_END) {
        rc = KV_OK;
    }
    log_scan_free(&s);
    return rc;
}
