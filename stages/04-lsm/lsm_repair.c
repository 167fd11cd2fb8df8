/*
 * lsm_repair.c: kv_repair for stage 04: it rewrites each damaged log, as
 * stage 03's does its segments (docs/03-wal.md, "Repair").  Over a closed
 * database (it takes the lock, so an open one is KV_ERR_BUSY), every log
 * whose header or records are damaged is copied: a fresh header, each
 * intact record whole (a batch stays a batch) whose sequence numbers
 * follow the ones before it, in order, and a seal; into <name>.log.tmp,
 * which is synced, renamed over the log, and the directory synced.  Each
 * rewritten log gets a line saying which byte ranges were lost and why.
 * A crash in the middle leaves the old log or the new one (and a .tmp that
 * kv_open removes).  Tables are not repaired: a damaged table is reported
 * by kv check, and its writes are gone with it (no log holds them any
 * more).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "db_dir.h"
#include "error.h"
#include "file_start.h"
#include "log_report.h"
#include "lsm_db.h"
#include "lsm_files.h"
#include "wal_marker.h"
#include "wal_reader.h"
#include "wal_writer.h"

typedef struct repair_log {
    const char *name;
    kv_line_fn line;
    void *ctx;
    io_file *out;
    uint64_t at, kept, after, lost;
    int damaged;            /* inside a damaged region, since `bad` */
    uint64_t bad;
    const char *why;
    size_t regions;
} repair_log;

/* A damaged region [r->bad, end) ends. */
static void repair_region_end(repair_log *r, uint64_t end)
{
    if (!r->damaged)
        return;
    r->damaged = 0;
    r->regions++;
    r->lost += end - r->bad;
    log_report_line(r->line, r->ctx, "%s:   offset %" PRIu64 ": %" PRIu64 " bytes lost: %s",
                    r->name, r->bad, end - r->bad, r->why);
}

static void repair_region_start(repair_log *r, uint64_t at, const char *why)
{
    if (r->damaged)
        return;
    r->damaged = 1;
    r->bad = at;
    r->why = why;
}

/* Copies every intact record of `in` (size bytes, its header at 0) to r->out. */
static int repair_copy(repair_log *r, io_file *in, uint64_t size, int header_ok)
{
    if (!header_ok)
        repair_region_start(r, 0, "a damaged file header");
    wal_reader rd;
    wal_reader_init_file(&rd, in, size < LSM_WAL_START ? size : LSM_WAL_START, size);
    int n = WAL_READ_END, rc = KV_OK;
    while (rc == KV_OK && ((n = wal_reader_next(&rd)) == WAL_READ_RECORD || n == WAL_READ_DAMAGE)) {
        lsm_wal_record rec;
        const char *why = NULL;
        uint64_t synced_to;
        if (n == WAL_READ_DAMAGE) {
            repair_region_start(r, rd.bad_offset, rd.why);
            continue;
        }
        if (wal_marker_decode(rd.rec, rd.rec + rd.rec_len, &synced_to))
            continue; /* old markers name old offsets: one seal ends the copy */
        if (lsm_wal_record_decode(rd.rec, rd.rec_len, &rec, &why) != 0 || rec.seq <= r->after) {
            repair_region_start(r, rd.rec_start, why ? why : "a record whose sequence "
                                "numbers do not follow the ones before it");
            continue;
        }
        repair_region_end(r, rd.rec_start);
        const uint8_t *p = rd.rec;
        size_t len = rd.rec_len;
        if ((rc = wal_append(r->out, r->at, &p, &len, 1, &r->at)) == KV_OK) {
            r->kept++;
            r->after = rec.seq + rec.count - 1;
        }
    }
    if (rc == KV_OK && n < 0)
        rc = n;
    repair_region_end(r, size);
    wal_reader_free(&rd);
    return rc;
}

/* Rewrites the log `start` of dir, known to be damaged. */
static int repair_one(const char *dir, uint64_t start, kv_line_fn line, void *ctx,
                      uint64_t *lost)
{
    char name[LSM_NAME_MAX], tmp_name[LSM_NAME_MAX + 8];
    lsm_wal_name(name, start);
    snprintf(tmp_name, sizeof tmp_name, "%s" LSM_TMP_SUFFIX, name);
    char *tmp = io_join(dir, tmp_name);
    lsm_wal *w = NULL;
    repair_log r = {.name = name, .line = line, .ctx = ctx, .after = start - 1};
    int rc = tmp ? lsm_wal_open(dir, start, IO_READ, &w) : KV_ERR_NOMEM;
    file_start fs = {0};
    if (rc == KV_OK)
        rc = file_start_read(w->file, w->size, FILE_MAGIC_LOG04, LSM_WAL_VERSION, &fs);
    if (rc == KV_OK && (rc = io_open(tmp, IO_WRITE | IO_CREATE | IO_TRUNC, &r.out)) == KV_OK &&
        (rc = file_start_write(r.out, FILE_MAGIC_LOG04, LSM_WAL_VERSION)) == KV_OK) {
        r.at = LSM_WAL_START;
        log_report_line(line, ctx, "%s: repairing (%" PRIu64 " bytes); lost:", name, w->size);
        rc = repair_copy(&r, w->file, w->size,
                         fs.state == FILE_START_OK || fs.state == FILE_START_EMPTY);
    }
    if (rc == KV_OK) {
        /* Written before the sync, but the file has no name until after
         * it, so the seal is true by the time anyone can read it. */
        uint8_t seal[WAL_SEAL_SIZE];
        const uint8_t *p = seal;
        size_t len = wal_marker_encode(seal, r.at, 1);
        if ((rc = wal_append(r.out, r.at, &p, &len, 1, &r.at)) == KV_OK)
            rc = io_sync(r.out);
    }
    int crc = io_close(r.out);
    rc = rc == KV_OK ? crc : rc;
    if (rc == KV_OK && (rc = io_rename(tmp, io_path(w->file))) == KV_OK)
        rc = io_sync_dir(dir);
    if (rc == KV_OK) {
        *lost += r.lost;
        log_report_line(line, ctx, "%s: repaired: kept %" PRIu64 " intact records; lost %"
                        PRIu64 " bytes in %zu damaged regions", name, r.kept, r.lost, r.regions);
    } else if (tmp != NULL) {
        io_unlink(tmp);
    }
    lsm_wal_free(w);
    free(tmp);
    return rc;
}

/* 1 if the log needs a repair: any damage, or a header that is not OK. */
static int repair_needed(const char *dir, uint64_t start, int *needed)
{
    lsm_wal *w = NULL;
    lsm_wal_scan s;
    int rc = lsm_wal_open(dir, start, IO_READ, &w);
    if (rc == KV_OK)
        rc = lsm_wal_scan_file(w->file, w->size, w->start, NULL, NULL, &s);
    *needed = rc == KV_OK && s.damaged;
    lsm_wal_free(w);
    return rc;
}

int kv_repair(const char *dir, kv_line_fn line, void *ctx)
{
    int rc = args_check_ptr("kv_repair", dir, "directory");
    int exists = 0;
    if (rc == KV_OK && (rc = io_exists(dir, &exists)) == KV_OK && !exists)
        rc = kv_error(KV_ERR_INVALID, "kv_repair: %s does not exist", dir);
    if (rc != KV_OK)
        return rc;
    char *lock_path = io_join(dir, DB_LOCK_FILE);
    io_lock *lock = NULL;
    rc = lock_path ? io_lock_acquire(lock_path, 1, &lock) : KV_ERR_NOMEM;
    free(lock_path);
    lsm_listing l = {0};
    if (rc == KV_OK)
        rc = lsm_listing_read(dir, &l);
    size_t repaired = 0;
    uint64_t lost = 0;
    for (size_t i = 0; rc == KV_OK && i < l.nwals; i++) {
        int needed = 0;
        if (l.wals[i].covered || (rc = repair_needed(dir, l.wals[i].start, &needed)) != KV_OK ||
            !needed)
            continue;
        rc = repair_one(dir, l.wals[i].start, line, ctx, &lost);
        repaired++;
    }
    lsm_listing_free(&l);
    io_lock_release(lock);
    if (rc == KV_OK)
        log_report_line(line, ctx, "repair: %zu logs rewritten, %" PRIu64 " bytes lost%s",
                        repaired, lost, repaired ? "" : ": nothing to repair");
    return rc;
}
