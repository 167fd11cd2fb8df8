/*
 * log_iter.c: snapshots for stage 01 (snapshot_capture, snapshot_iter.h):
 * scan the log up to the current end, collect every record's key and
 * place, and hand them to snapshot_iter, which sorts them and keeps the
 * last record of each key.  The snapshot is the log's length at this
 * moment: later appends lie beyond it, and bytes below it never change.
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
    io_file *log = ctx; /* the database's, which outlives the snapshot */
    log_record rec;
    int rc = log_read_record_at(log, loc->offset, loc->size, buf, cap, &rec);
    if (rc != KV_OK)
        return rc;
    *val = rec.value;
    *vlen = rec.vlen;
    return KV_OK;
}

int snapshot_capture(kv_db *db, const char *call, kv_snapshot **out)
{
    snapshot_builder *b = NULL;
    int rc = snapshot_builder_new(call, &b);
    if (rc != KV_OK)
        return rc;
    uint64_t end = log_db_end(db);
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
    return snapshot_finish(b, source, db, &db->snapshots_live, out);
}
