/*
 * log_inspect.c: kv_inspect and kv_inspect_get for stage 01 (kv.h; the
 * lines are docs/lab.md's table).  The database is one part, its log:
 *
 *   db stage=01-log bytes=B records=N
 *   log file=data.log start=16 bytes=B records=N
 *   record file=data.log off=O size=S op=put key="k" vlen=V     (DETAIL)
 *
 * and a get looks in one place, the whole log, and answers with the last
 * record of its key:
 *
 *   look part=log file=data.log records=N matches=M result=found at=O vlen=V
 *   answer result=found vlen=V
 *
 * Both read below a snapshot of `end`, without a lock, as kv_get does
 * (log_db.h, invariant 2), so a writer is never held up.
 */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error.h"
#include "inspect_line.h"
#include "log_db.h"
#include "log_record.h"
#include "log_scan.h"

static uint64_t log_inspect_records(kv_db *db)
{
    return db->open_records + __atomic_load_n(&db->puts, __ATOMIC_RELAXED) +
           __atomic_load_n(&db->deletes, __ATOMIC_RELAXED);
}

/* One "record" line per record of [LOG_DB_START, end), at most
 * KV_INSPECT_DETAIL_MAX. */
static int log_inspect_records_detail(kv_db *db, uint64_t end, kv_line_fn line, void *ctx)
{
    log_scan s;
    log_scan_init(&s, db->log, LOG_DB_START, end);
    s.verify_checksums = 0; /* below end: verified at open or written here */
    inspect_cap cap = {0};
    int rc;
    while ((rc = log_scan_next(&s)) == LOG_SCAN_RECORD) {
        if (!inspect_cap_take(&cap, "log", LOG_FILE_NAME, line, ctx))
            break;
        inspect_line l;
        inspect_begin(&l, "record");
        inspect_word(&l, "file", LOG_FILE_NAME);
        inspect_u64(&l, "off", s.rec_offset);
        inspect_u64(&l, "size", s.rec_size);
        inspect_word(&l, "op", s.rec.is_delete ? "del" : "put");
        inspect_key(&l, "key", s.rec.key, s.rec.klen);
        inspect_u64(&l, "vlen", s.rec.vlen);
        inspect_emit(&l, line, ctx);
    }
    if (rc == LOG_SCAN_BAD)
        rc = kv_error(KV_ERR_CORRUPT, "kv_inspect: %s: offset %llu: %s", io_path(db->log),
                      (unsigned long long)s.pos, s.why);
    log_scan_free(&s);
    return rc < 0 ? rc : KV_OK;
}

int kv_inspect(kv_db *db, unsigned flags, kv_line_fn line, void *ctx)
{
    int rc = args_check_ptr("kv_inspect", db, "db");
    if (rc != KV_OK)
        return rc;
    uint64_t end = db->log ? log_db_end(db) : 0;
    uint64_t records = log_inspect_records(db);
    inspect_line l;
    inspect_begin(&l, "db");
    inspect_word(&l, "stage", kv_stage());
    inspect_u64(&l, "bytes", end);
    inspect_u64(&l, "records", records);
    inspect_emit(&l, line, ctx);
    if (db->log == NULL)
        return KV_OK; /* a read-only open of an empty directory */
    inspect_begin(&l, "log");
    inspect_word(&l, "file", LOG_FILE_NAME);
    inspect_u64(&l, "start", LOG_DB_START);
    inspect_u64(&l, "bytes", end);
    inspect_u64(&l, "records", records);
    inspect_emit(&l, line, ctx);
    if ((flags & KV_INSPECT_DETAIL) && end > LOG_DB_START)
        rc = log_inspect_records_detail(db, end, line, ctx);
    return rc;
}

int kv_inspect_get(kv_db *db, const void *key, size_t klen, kv_line_fn line, void *ctx)
{
    int rc;
    if ((rc = args_check_ptr("kv_inspect_get", db, "db")) != KV_OK ||
        (rc = args_check_key("kv_inspect_get", key, klen)) != KV_OK)
        return rc;
    uint64_t end = db->log ? log_db_end(db) : 0;
    uint64_t records = 0, matches = 0, at = 0, size = 0;
    int found = 0;
    if (end > LOG_DB_START) {
        /* kv_get's scan: every record, the last one of the key wins. */
        log_scan s;
        log_scan_init(&s, db->log, LOG_DB_START, end);
        s.verify_checksums = 0;
        while ((rc = log_scan_next(&s)) == LOG_SCAN_RECORD) {
            records++;
            if (s.rec.klen == klen && memcmp(s.rec.key, key, klen) == 0) {
                matches++;
                found = !s.rec.is_delete;
                at = s.rec_offset;
                size = s.rec_size;
            }
        }
        if (rc == LOG_SCAN_BAD)
            rc = kv_error(KV_ERR_CORRUPT, "kv_inspect_get: %s: offset %llu: %s",
                          io_path(db->log), (unsigned long long)s.pos, s.why);
        log_scan_free(&s);
        if (rc < 0)
            return rc;
    }
    uint64_t vlen = 0;
    if (found) {
        /* Read back and verified, as kv_get does before it answers. */
        uint8_t *buf = NULL;
        size_t cap = 0;
        log_record rec;
        rc = log_read_record_at(db->log, at, size, &buf, &cap, &rec);
        vlen = rec.vlen;
        free(buf);
        if (rc != KV_OK)
            return rc;
    }
    inspect_line l;
    inspect_begin(&l, "look");
    inspect_word(&l, "part", "log");
    inspect_word(&l, "file", LOG_FILE_NAME);
    inspect_u64(&l, "records", records);
    inspect_u64(&l, "matches", matches);
    inspect_word(&l, "result", found ? "found" : matches ? "deleted" : "absent");
    if (matches > 0)
        inspect_u64(&l, "at", at);
    if (found)
        inspect_u64(&l, "vlen", vlen);
    inspect_emit(&l, line, ctx);
    inspect_begin(&l, "answer");
    inspect_word(&l, "result", found ? "found" : "not_found");
    if (found)
        inspect_u64(&l, "vlen", vlen);
    inspect_emit(&l, line, ctx);
    return KV_OK;
}
