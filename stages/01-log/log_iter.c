/*
 * log_iter.c: kv_iter_new for stage 01: scan the log up to the current end,
 * collect every record's key and place, and hand them to snapshot_iter,
 * which sorts them and keeps the last record of each key.  The snapshot is
 * the log's length at this moment: later appends lie beyond it.
 */
#include <stdlib.h>

#include "args.h"
#include "error.h"
#include "log_db.h"
#include "log_scan.h"
#include "snapshot_iter.h"

typedef struct log_iter_source {
    io_file *log;   /* REQUIRES: the database outlives the iterator */
    uint8_t *buf;   /* the last record read, for kv_iter_value */
    size_t cap;
} log_iter_source;

static int log_iter_read_value(void *ctx, const snapshot_loc *loc, const void *key,
                               size_t klen, const void **val, size_t *vlen)
{
    (void)key;
    (void)klen;
    log_iter_source *src = ctx;
    log_record rec;
    int rc = log_read_record_at(src->log, loc->offset, loc->size, &src->buf, &src->cap, &rec);
    if (rc != KV_OK)
        return rc;
    *val = rec.value;
    *vlen = rec.vlen;
    return KV_OK;
}

static void log_iter_release(void *ctx)
{
    log_iter_source *src = ctx;
    free(src->buf);
    free(src);
}

int kv_iter_new(kv_db *db, kv_iter **it)
{
    int rc;
    if ((rc = args_check_ptr("kv_iter_new", db, "db")) != KV_OK ||
        (rc = args_check_ptr("kv_iter_new", it, "iterator pointer")) != KV_OK)
        return rc;
    *it = NULL;
    log_iter_source *src = calloc(1, sizeof *src);
    snapshot_builder *b = NULL;
    if (src == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_iter_new: out of memory");
    src->log = db->log;
    if ((rc = snapshot_builder_new(&b)) != KV_OK) {
        free(src);
        return rc;
    }
    uint64_t end = log_db_end(db);
    log_scan s;
    log_scan_init(&s, db->log, LOG_DB_START, db->log ? end : 0);
    /* As in kv_get: bytes below `end` were verified and never change; each
     * value is verified again when kv_iter_value reads it. */
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
        rc = kv_error(KV_ERR_CORRUPT, "%s: offset %llu: %s (the file changed since it "
                      "was opened)", io_path(db->log), (unsigned long long)s.pos, s.why);
    log_scan_free(&s);
    if (rc < 0) {
        snapshot_builder_free(b);
        free(src);
        return rc;
    }
    snapshot_source source = {.ctx = src, .read_value = log_iter_read_value,
                              .release = log_iter_release};
    return snapshot_finish(b, source, it);
}
