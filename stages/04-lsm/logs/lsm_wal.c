/*
 * lsm_wal.c: stage 04's log records (a batch and its sequence number) and
 * log files: create, open, seal, remove (lsm_wal.h has the format).
 */
#include "lsm_wal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "file_start.h"
#include "internal_key.h"
#include "kv.h"
#include "lsm_files.h"
#include "wal_batch.h"
#include "wal_marker.h"
#include "wal_writer.h"

uint64_t lsm_wal_record_size(const batch_op *ops, size_t n)
{
    return wal_batch_size(ops, n) + LSM_WAL_SEQ_BYTES;
}

void lsm_wal_record_encode(uint8_t *dst, const batch_op *ops, size_t n)
{
    uint8_t *end = wal_batch_encode(dst, ops, n);
    coding_put_u64(end, 0);
}

int lsm_wal_record_decode(const uint8_t *p, size_t len, lsm_wal_record *r, const char **why)
{
    if (len <= LSM_WAL_SEQ_BYTES) {
        *why = "a record too short to hold a batch and its sequence number";
        return -1;
    }
    r->batch = p;
    r->batch_end = p + len - LSM_WAL_SEQ_BYTES;
    if (wal_batch_decode(r->batch, r->batch_end, NULL, NULL, &r->count, why) != 0)
        return -1;
    r->seq = coding_get_u64(r->batch_end);
    if (r->seq == 0 || r->seq > IKEY_MAX_SEQ || r->count - 1 > IKEY_MAX_SEQ - r->seq) {
        *why = "a sequence number out of range (1 .. 2^56 - 1)";
        return -1;
    }
    return 0;
}

static char *lsm_wal_path(const char *dir, uint64_t start)
{
    char name[LSM_NAME_MAX];
    lsm_wal_name(name, start);
    return io_join(dir, name);
}

int lsm_wal_open(const char *dir, uint64_t start, int flags, lsm_wal **out)
{
    *out = NULL;
    lsm_wal *w = calloc(1, sizeof *w);
    char *path = lsm_wal_path(dir, start);
    /* A log takes many small appends: through a mapping (io.h, IO_GROW). */
    if (flags & IO_WRITE)
        flags |= IO_GROW;
    int rc = w && path ? io_open(path, flags, &w->file) : KV_ERR_NOMEM;
    if (rc == KV_ERR_NOMEM)
        kv_error(rc, "%s: out of memory for a log", dir);
    free(path);
    if (rc != KV_OK) {
        free(w);
        return rc;
    }
    w->start = start;
    w->size = w->file->end;
    *out = w;
    return KV_OK;
}

int lsm_wal_create(const char *dir, uint64_t start, lsm_wal **out)
{
    int rc = lsm_wal_open(dir, start, IO_WRITE | IO_CREATE | IO_TRUNC, out);
    if (rc != KV_OK)
        return rc;
    lsm_wal *w = *out;
    if ((rc = file_start_write(w->file, FILE_MAGIC_LOG04, LSM_WAL_VERSION)) == KV_OK)
        rc = io_sync(w->file);
    if (rc == KV_OK) {
        w->size = LSM_WAL_START;
        return KV_OK;
    }
    /* Nothing was written into it but its header: it goes, and with it
     * whatever a failed sync may have left unsaid. */
    char msg[512];
    snprintf(msg, sizeof msg, "%s", kv_errmsg());
    lsm_wal_free(w);
    lsm_wal_remove(dir, start);
    *out = NULL;
    return kv_error(rc, "%s (creating the log for writes from %" PRIu64 " on)", msg, start);
}

int lsm_wal_seal(lsm_wal *w, int *final)
{
    *final = 1; /* a failed fsync: what it should have saved may be lost */
    int rc = io_sync(w->file);
    if (rc != KV_OK)
        return rc;
    uint8_t seal[WAL_SEAL_SIZE], framed[64]; /* framed: at most a trailer and one fragment */
    size_t n = wal_frame(framed, w->size, seal, wal_marker_encode(seal, w->size, 1));
    if ((rc = io_append_bytes(w->file, framed, n)) != KV_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", kv_errmsg());
        if (io_truncate(w->file, w->size) != KV_OK)
            return kv_error(rc, "%s; then the partial seal could not be cut off (%s)", msg,
                            kv_errmsg());
        *final = 0; /* nothing of it is left: the log is as it was */
        return kv_error(rc, "%s", msg);
    }
    w->size += n;
    w->sealed = 1;
    return io_sync(w->file);
}

void lsm_wal_write_behind(lsm_wal *w)
{
    if (w->size - w->behind < LSM_WAL_WRITE_BEHIND_BYTES + IO_GROW_STEP)
        return;
    uint64_t to = w->size - IO_GROW_STEP;
    io_write_behind(w->file, w->behind, to - w->behind);
    w->behind = to;
}

void lsm_wal_free(lsm_wal *w)
{
    if (w == NULL)
        return;
    io_close(w->file);
    free(w);
}

int lsm_wal_remove(const char *dir, uint64_t start)
{
    char *path = lsm_wal_path(dir, start);
    if (path == NULL)
        return KV_ERR_NOMEM; /* io_join said so */
    int rc = io_unlink(path);
    free(path);
    return rc;
}
