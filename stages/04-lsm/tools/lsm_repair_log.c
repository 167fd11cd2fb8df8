/*
 * lsm_repair_log.c: a repair's start and end, and the rewrite of a
 * damaged log (lsm_repair.h), as
 * stage 03's repair does its segments (docs/03-wal-reference.md, "Repair").
 *
 * A log with damage anywhere (its header, any record) is copied into
 * <name>.log.tmp: a fresh header, each intact record whole (a batch stays
 * a batch) whose sequence numbers follow the ones before it, in order,
 * then a seal; synced, renamed over the log, the directory synced.  Each
 * damaged region gets a line: its offset, its bytes, why, and which
 * sequence numbers it took with it (the gap between the records kept on
 * either side of it; after the last record kept, how many is unknown).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_dir.h"
#include "db_identity.h"
#include "error.h"
#include "file_start.h"
#include "log_report.h"
#include "lsm_files.h"
#include "lsm_repair.h"
#include "lsm_wal.h"
#include "offline.h"
#include "wal_marker.h"
#include "wal_reader.h"
#include "wal_writer.h"

/* ---- a repair's start and end -------------------------------------------------- */

int repair_start(repair_run *r, const char *dir, uint32_t format, kv_line_fn line, void *ctx)
{
    memset(r, 0, sizeof *r);
    r->dir = dir;
    r->line = line;
    r->ctx = ctx;
    int rc = offline_dir_check("kv_repair", dir);
    if (rc != KV_OK)
        return rc;
    /* Quietly: repair says what it changes, not that the identity is fine. */
    rc = db_identity_check(dir, kv_stage(), format, NULL, NULL);
    if (rc == KV_ERR_CORRUPT)
        return kv_error(KV_ERR_CORRUPT, "kv_repair %s: its %s file is damaged, so which stage "
                        "wrote its files cannot be known, and nothing was changed (kv check "
                        "says what is wrong with it)", dir, DB_IDENTITY_FILE);
    if (rc != KV_OK)
        return rc;
    char *lock_path = io_join(dir, DB_LOCK_FILE);
    rc = lock_path ? io_lock_acquire(lock_path, 1, &r->lock) : KV_ERR_NOMEM;
    free(lock_path);
    if (rc == KV_OK && (rc = table_ctx_new(NULL, &r->tables)) != KV_OK) {
        io_lock_release(r->lock);
        r->lock = NULL;
    }
    return rc;
}

void repair_end(repair_run *r)
{
    table_ctx_free(r->tables);
    r->tables = NULL;
    io_lock_release(r->lock);
    r->lock = NULL;
}

void repair_say_done(const repair_run *r, const char *more)
{
    if (r->logs_rewritten == 0 && r->tables_rewritten == 0 && r->tables_dropped == 0 &&
        more == NULL) {
        log_report_line(r->line, r->ctx, "repair: nothing to repair: every table and log "
                        "reads whole");
        return;
    }
    char said[1400];
    size_t n = 0;
#define SAY(...)                                                                        \
    do {                                                                                \
        if (n < sizeof said)                                                            \
            n += (size_t)snprintf(said + n, sizeof said - n, __VA_ARGS__);              \
    } while (0)
    if (r->tables_rewritten > 0)
        SAY("%s%zu table%s rewritten", n ? "; " : "", r->tables_rewritten,
            r->tables_rewritten == 1 ? "" : "s");
    if (r->tables_dropped > 0)
        SAY("%s%zu table%s dropped", n ? "; " : "", r->tables_dropped,
            r->tables_dropped == 1 ? "" : "s");
    if (r->tables_rewritten + r->tables_dropped > 0) {
        if (r->entries_lost_unknown && r->entries_lost == 0)
            SAY(" (an unknown number of entries lost)");
        else if (r->entries_lost_unknown)
            SAY(" (%" PRIu64 " entries lost, and an unknown number more)", r->entries_lost);
        else
            SAY(" (%" PRIu64 " entr%s lost)", r->entries_lost,
                r->entries_lost == 1 ? "y" : "ies");
    }
    if (r->logs_rewritten > 0)
        SAY("%s%zu log%s rewritten (%" PRIu64 " bytes lost)", n ? "; " : "",
            r->logs_rewritten, r->logs_rewritten == 1 ? "" : "s", r->log_bytes_lost);
    if (more != NULL)
        SAY("%s%s", n ? "; " : "", more);
    if (r->set_aside > 0)
        SAY("; what was damaged is kept in %s/", OFFLINE_LOST_DIR);
#undef SAY
    log_report_line(r->line, r->ctx, "repair: %s", said);
}

int repair_set_aside(repair_run *r, const char *name, char *kept_as, size_t cap)
{
    int rc = offline_set_aside(r->dir, name, kept_as, cap);
    r->set_aside += rc == KV_OK;
    return rc;
}

/* ---- a log --------------------------------------------------------------------------- */

typedef struct repair_log_copy {
    repair_run *run;
    const char *name;
    io_file *out;
    uint64_t at, kept, after, lost;
    uint64_t next_log;      /* the next log's first sequence number (0: none) */
    int damaged;            /* inside a damaged region, since `bad` */
    uint64_t bad;
    const char *why;
    size_t regions;
} repair_log_copy;

/* The damaged region [c->bad, end) ends; next_seq is the first sequence
 * number of the record kept after it (0: none, the log's end). */
static void repair_region_end(repair_log_copy *c, uint64_t end, uint64_t next_seq)
{
    if (!c->damaged)
        return;
    c->damaged = 0;
    c->regions++;
    c->lost += end - c->bad;
    char seqs[160];
    if (next_seq == 0 && c->next_log != 0)
        next_seq = c->next_log; /* the next log takes up from there */
    if (next_seq == 0)
        snprintf(seqs, sizeof seqs, "the writes after sequence %" PRIu64 " in this log, if it "
                 "held any (how many cannot be known: it is the last log)", c->after);
    else if (next_seq == c->after + 2)
        snprintf(seqs, sizeof seqs, "sequence number %" PRIu64 " (1 write)", c->after + 1);
    else if (next_seq > c->after + 2)
        snprintf(seqs, sizeof seqs, "sequence numbers %" PRIu64 "..%" PRIu64 " (%" PRIu64
                 " writes)", c->after + 1, next_seq - 1, next_seq - 1 - c->after);
    else
        snprintf(seqs, sizeof seqs, "no write (the records around it follow each other)");
    log_report_line(c->run->line, c->run->ctx, "%s:   offset %" PRIu64 ": %" PRIu64 " bytes "
                    "lost: %s; they held %s", c->name, c->bad, end - c->bad, c->why, seqs);
}

static void repair_region_start(repair_log_copy *c, uint64_t at, const char *why)
{
    if (c->damaged)
        return;
    c->damaged = 1;
    c->bad = at;
    c->why = why;
}

/* Copies every intact record of `in` (size bytes, its header at 0) to c->out. */
static int repair_log_copy_records(repair_log_copy *c, io_file *in, uint64_t size, int header_ok)
{
    if (!header_ok)
        repair_region_start(c, 0, "a damaged file header");
    wal_reader rd;
    wal_reader_init_file(&rd, in, size < LSM_WAL_START ? size : LSM_WAL_START, size);
    int n = WAL_READ_END, rc = KV_OK;
    while (rc == KV_OK && ((n = wal_reader_next(&rd)) == WAL_READ_RECORD || n == WAL_READ_DAMAGE)) {
        lsm_wal_record rec;
        const char *why = NULL;
        uint64_t synced_to;
        if (n == WAL_READ_DAMAGE) {
            repair_region_start(c, rd.bad_offset, rd.why);
            continue;
        }
        if (wal_marker_decode(rd.rec, rd.rec + rd.rec_len, &synced_to))
            continue; /* old markers name old offsets: one seal ends the copy */
        if (lsm_wal_record_decode(rd.rec, rd.rec_len, &rec, &why) != 0 || rec.seq <= c->after) {
            repair_region_start(c, rd.rec_start, why ? why : "a record whose sequence "
                                "numbers do not follow the ones before it");
            continue;
        }
        repair_region_end(c, rd.rec_start, rec.seq);
        const uint8_t *p = rd.rec;
        size_t len = rd.rec_len;
        if ((rc = wal_append(c->out, c->at, &p, &len, 1, &c->at)) == KV_OK) {
            c->kept++;
            c->after = rec.seq + rec.count - 1;
        }
    }
    if (rc == KV_OK && n < 0)
        rc = n;
    repair_region_end(c, size, 0);
    wal_reader_free(&rd);
    return rc;
}

/* Rewrites the log `start`, known to be damaged. */
static int repair_log_rewrite(repair_run *r, uint64_t start, uint64_t next_log)
{
    char name[LSM_NAME_MAX], tmp_name[LSM_NAME_MAX + 8], kept_as[LSM_NAME_MAX + 16];
    lsm_wal_name(name, start);
    snprintf(tmp_name, sizeof tmp_name, "%s" LSM_TMP_SUFFIX, name);
    char *tmp = io_join(r->dir, tmp_name);
    lsm_wal *w = NULL;
    repair_log_copy c = {.run = r, .name = name, .after = start - 1, .next_log = next_log};
    int rc = tmp ? repair_set_aside(r, name, kept_as, sizeof kept_as) : KV_ERR_NOMEM;
    if (rc == KV_OK)
        rc = lsm_wal_open(r->dir, start, IO_READ, &w);
    file_start fs = {0};
    if (rc == KV_OK)
        rc = file_start_read(w->file, w->size, FILE_MAGIC_LOG04, LSM_WAL_VERSION, &fs);
    if (rc == KV_OK && (rc = io_open(tmp, IO_WRITE | IO_CREATE | IO_TRUNC, &c.out)) == KV_OK &&
        (rc = file_start_write(c.out, FILE_MAGIC_LOG04, LSM_WAL_VERSION)) == KV_OK) {
        c.at = LSM_WAL_START;
        log_report_line(r->line, r->ctx, "%s: damaged: rewriting it with every intact record "
                        "(%" PRIu64 " bytes; the damaged file is kept as %s); lost:", name,
                        w->size, kept_as);
        rc = repair_log_copy_records(&c, w->file, w->size,
                                     fs.state == FILE_START_OK || fs.state == FILE_START_EMPTY);
    }
    if (rc == KV_OK) {
        /* Written before the sync, but the file has no name until after
         * it, so the seal is true by the time anyone can read it. */
        uint8_t seal[WAL_SEAL_SIZE];
        const uint8_t *p = seal;
        size_t len = wal_marker_encode(seal, c.at, 1);
        if ((rc = wal_append(c.out, c.at, &p, &len, 1, &c.at)) == KV_OK)
            rc = io_sync(c.out);
    }
    int crc = io_close(c.out);
    rc = rc == KV_OK ? crc : rc;
    if (rc == KV_OK && (rc = io_rename(tmp, io_path(w->file))) == KV_OK)
        rc = io_sync_dir(r->dir);
    if (rc == KV_OK) {
        r->log_bytes_lost += c.lost;
        log_report_line(r->line, r->ctx, "%s: repaired: kept %" PRIu64 " intact record%s; lost "
                        "%" PRIu64 " bytes in %zu damaged region%s", name, c.kept,
                        c.kept == 1 ? "" : "s", c.lost, c.regions, c.regions == 1 ? "" : "s");
    } else if (tmp != NULL) {
        io_unlink(tmp);
    }
    lsm_wal_free(w);
    free(tmp);
    return rc;
}

int repair_log(repair_run *r, uint64_t start, uint64_t next_log, int *rewritten)
{
    lsm_wal *w = NULL;
    lsm_wal_scan s;
    *rewritten = 0;
    int rc = lsm_wal_open(r->dir, start, IO_READ, &w);
    if (rc == KV_OK)
        rc = lsm_wal_scan_file(w->file, w->size, w->start, NULL, NULL, &s);
    /* What a strict kv_open would do with it: a log it keeps as it is
     * stays; any other (damage anywhere, a torn tail, or a log before the
     * last that does not end with its seal) is rewritten, and sealed. */
    lsm_wal_verdict v = {.action = LSM_WAL_KEEP};
    if (rc == KV_OK)
        lsm_wal_judge(w->size, &s, next_log == 0, 1, &v);
    lsm_wal_free(w);
    if (rc != KV_OK || v.action == LSM_WAL_KEEP)
        return rc;
    if ((rc = repair_log_rewrite(r, start, next_log)) == KV_OK) {
        *rewritten = 1;
        r->logs_rewritten++;
    }
    return rc;
}

int repair_owed_log(repair_run *r, const lsm_listed_wal *wals, size_t n, uint64_t flushed)
{
    size_t at = 0;
    int owed = lsm_listing_owed_log(wals, n, flushed, &at);
    if (owed == 0 || lsm_wal_check_owed(r->dir, wals, n, flushed) == KV_OK)
        return KV_OK;
    uint64_t start = owed > 0 ? wals[at].start : flushed + 1;
    char name[LSM_NAME_MAX], kept_as[300] = "";
    lsm_wal_name(name, start);
    int rc = owed > 0 ? repair_set_aside(r, name, kept_as, sizeof kept_as) : KV_OK;
    lsm_wal *w = NULL;
    if (rc == KV_OK && (rc = lsm_wal_create(r->dir, start, &w)) == KV_OK)
        rc = io_sync_dir(r->dir);
    lsm_wal_free(w);
    if (rc != KV_OK)
        return rc;
    log_report_line(r->line, r->ctx, "%s: %s: the tables hold every write up to %" PRIu64
                    ", and the writes after it, which it held, are lost; an empty log takes "
                    "its place%s%s%s", name, owed > 0 ? "holds not even its header" : "missing",
                    flushed, kept_as[0] ? " (the damaged file is kept as " : "", kept_as,
                    kept_as[0] ? ")" : "");
    r->logs_rewritten++;
    return KV_OK;
}
