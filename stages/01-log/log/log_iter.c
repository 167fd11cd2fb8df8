/*
 * log_iter.c: snapshots for stage 01 (snapshot_iter.h).  A snapshot is the
 * log's length at one moment: later appends lie beyond it, and bytes below
 * it never change, so noting it is all that taking one costs.  A read at
 * it is kv_get's scan, stopped there (log_db_get_below).  An iterator's
 * sorted copy (snapshot_capture) scans the log up to the end, collects
 * every record's key and place, and hands them to snapshot_iter, which
 * sorts them and keeps the last record of each key.
 */
#include <stdlib.h>

#include "error.h"
#include "log_db.h"
#include "log_scan.h"
#include "snapshot_iter.h"

static int log_iter_read_value(void *ctx, const snapshot_loc *loc, const void *key,
                               size_t klen, uint8_t **buf, size_t *cap, const void **val,
                               size_t *vlen)
{
    (void)key;
    (void)klen;
    io_file *log = ctx; /* the database's, which outlives the copy */
    log_record rec;
    int rc = log_read_record_at(log, loc->offset, loc->size, buf, cap, &rec);
    if (rc != KV_OK)
        return rc;
    *val = rec.value;
    *vlen = rec.vlen;
    return KV_OK;
}

/* The sorted copy of the records below `end`. */
static int log_iter_copy(kv_db *db, uint64_t end, const char *call, snapshot_copy **out)
{
    snapshot_builder *b = NULL;
    int rc = snapshot_builder_new(call, &b);
    if (rc != KV_OK)
        return rc;
    log_scan s;
    log_scan_init(&s, db->log, LOG_DB_START, db->log ? end : 0);
    /* As in kv_get: bytes below `end` were verified and never change; each
     * value is verified again when it is read. */
    s.verify_checksums = 0;
    while ((rc = log_scan_next(&s)) == LOG_SCAN_RECORD) {
        if (s.rec.is_seal) /* stage 01 writes none; a later stage's marker */
            continue;
        snapshot_loc loc = {.file = 0, .offset = s.rec_offset, .size = s.rec_size};
        rc = snapshot_add(b, s.rec.key, s.rec.klen, loc, s.rec.is_delete);
        if (rc != KV_OK)
            break;
    }
    if (rc == LOG_SCAN_BAD)
        rc = kv_error(KV_ERR_CORRUPT, "%s: %s: offset %llu: %s (the file changed since it "
                      "was opened)", call, io_path(db->log), (unsigned long long)s.pos, s.why);
    log_scan_free(&s);
    if (rc < 0) {
        snapshot_builder_free(b);
        return rc;
    }
    snapshot_source source = {.ctx = db->log, .read_value = log_iter_read_value};
    return snapshot_finish(b, source, &db->snapshots_live, out);
}

int snapshot_capture(kv_db *db, const char *call, snapshot_copy **out)
{
    return log_iter_copy(db, log_db_end(db), call, out);
}

/* A snapshot: the database and the end it noted. */
typedef struct log_snapshot {
    kv_db *db;
    uint64_t end;
} log_snapshot;

static int log_snapshot_get(void *ctx, const void *key, size_t klen, void **val, size_t *vlen)
{
    const log_snapshot *s = ctx;
    return log_db_get_below(s->db, s->end, key, klen, val, vlen);
}

static int log_snapshot_capture(void *ctx, const char *call, snapshot_copy **out)
{
    const log_snapshot *s = ctx;
    return log_iter_copy(s->db, s->end, call, out);
}

int snapshot_open(kv_db *db, const char *call, snapshot_view *out)
{
    log_snapshot *s = malloc(sizeof *s);
    if (s == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", call);
    *s = (log_snapshot){.db = db, .end = log_db_end(db)};
    *out = (snapshot_view){.ctx = s, .live = &db->snapshots_live, .get = log_snapshot_get,
                           .capture = log_snapshot_capture, .release = free};
    return KV_OK;
}
