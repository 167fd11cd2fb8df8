/*
 * lsm_wal_scan.c: reading one of stage 04's logs the way kv_open reads it,
 * and the verdict on what it found (lsm_wal.h), which kv_open acts on and
 * kv_check reports.  The rule is stage 03's (docs/03-wal.md, "Recovery"),
 * for a log that holds sequence numbers: damage after which nothing valid
 * follows, or only writes no sync marker vouches for, is what a crash
 * leaves, and only in the last log; anything else is corruption.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "file_start.h"
#include "kv.h"
#include "error.h"
#include "lsm_wal.h"
#include "wal_marker.h"
#include "wal_reader.h"

/* The record r holds, checked against the sequence numbers before it.
 * 0, or -1 with *why. */
static int lsm_wal_scan_record(const wal_reader *r, uint64_t after, lsm_wal_record *rec,
                               const char **why)
{
    if (lsm_wal_record_decode(r->rec, r->rec_len, rec, why) != 0)
        return -1;
    if (rec->seq <= after) {
        *why = "a sequence number not above the one before it (or below the log's name)";
        return -1;
    }
    return 0;
}

/* After damage: valid records further on, and does a marker after them say
 * the damaged bytes had been synced? */
static int lsm_wal_scan_past(wal_reader *r, lsm_wal_scan *s)
{
    int rc;
    s->unsynced = 1;
    while ((rc = wal_reader_next(r)) == WAL_READ_RECORD || rc == WAL_READ_DAMAGE) {
        uint64_t synced_to = 0;
        lsm_wal_record rec;
        const char *why;
        if (rc != WAL_READ_RECORD)
            continue;
        if (wal_marker_decode(r->rec, r->rec + r->rec_len, &synced_to)) {
            if (synced_to > s->bad)
                s->unsynced = 0; /* synced bytes are never damaged by a crash */
        } else if (lsm_wal_record_decode(r->rec, r->rec_len, &rec, &why) != 0) {
            continue;
        }
        if (!s->has_next) {
            s->has_next = 1;
            s->next = r->rec_start;
        }
        s->records_after++;
    }
    return rc;
}

/* The header's verdict; returns 1 if records follow it to be read. */
static int lsm_wal_scan_header(io_file *f, uint64_t size, lsm_wal_scan *s, int *rc)
{
    file_start fs;
    *rc = file_start_read(f, size, FILE_MAGIC_LOG04, LSM_WAL_VERSION, &fs);
    if (*rc != KV_OK)
        return 0;
    s->header = fs.state;
    if (fs.state == FILE_START_OK)
        return 1;
    if (fs.state != FILE_START_EMPTY) {
        snprintf(s->why_text, sizeof s->why_text, "%s", fs.why);
        s->why = s->why_text;
        s->damaged = 1;
        s->torn = fs.state == FILE_START_TORN;
    }
    return 0;
}

/* *zeros = 1 if bytes [from, size) of f are all zeros.  KV_OK or an I/O
 * error. */
static int lsm_wal_zeros_to_end(io_file *f, uint64_t from, uint64_t size, int *zeros)
{
    uint8_t buf[16384];
    uint64_t at = io_data_after(f, from);
    *zeros = 0;
    while (at < size) {
        size_t want = size - at < sizeof buf ? (size_t)(size - at) : sizeof buf, got;
        int rc = io_read_at(f, at, buf, want, &got);
        if (rc != KV_OK || got != want)
            return rc; /* an I/O error, or the file shrank: not room */
        for (size_t i = 0; i < got; i++)
            if (buf[i] != 0)
                return KV_OK;
        at += got;
    }
    *zeros = 1;
    return KV_OK;
}

int lsm_wal_scan_file(io_file *f, uint64_t size, uint64_t start, lsm_wal_record_fn fn,
                      void *ctx, lsm_wal_scan *s)
{
    memset(s, 0, sizeof *s);
    int rc;
    if (!lsm_wal_scan_header(f, size, s, &rc))
        return rc;
    s->end = size;
    wal_reader r;
    wal_reader_init_file(&r, f, LSM_WAL_START, size);
    uint64_t after = start - 1;
    while ((rc = wal_reader_next(&r)) == WAL_READ_RECORD) {
        uint64_t synced_to = 0;
        int kind = wal_marker_decode(r.rec, r.rec + r.rec_len, &synced_to);
        s->sealed = kind == 2 && synced_to == r.rec_offset;
        if (kind)
            continue;
        lsm_wal_record rec;
        const char *why = NULL;
        if (lsm_wal_scan_record(&r, after, &rec, &why) != 0) {
            rc = WAL_READ_DAMAGE;
            r.bad_offset = r.rec_start;
            r.why = why;
            break;
        }
        s->records++;
        after = s->last_seq = rec.seq + rec.count - 1;
        if (fn != NULL && (rc = fn(ctx, &rec, r.rec_offset, r.rec_end)) != KV_OK)
            break;
    }
    if (rc == WAL_READ_DAMAGE) {
        int sealed = s->sealed;
        s->damaged = 1;
        s->bad = s->end = r.bad_offset;
        s->why = r.why;
        s->sealed = 0;
        rc = lsm_wal_scan_past(&r, s);
        s->torn = !s->has_next || s->unsynced;
        /* Zeros to the end, no more than a log grows by at a time: room
         * the log had grown into and not yet filled (lsm_wal.h). */
        int zeros = 0;
        if (rc == WAL_READ_END && !s->has_next && size - s->bad <= IO_GROW_STEP &&
            lsm_wal_zeros_to_end(f, s->bad, size, &zeros) != KV_OK)
            rc = KV_ERR_IO;
        if (zeros) {
            s->spare = size - s->bad;
            s->damaged = s->torn = s->unsynced = 0;
            s->sealed = sealed;
        }
    }
    wal_reader_free(&r);
    return rc == WAL_READ_END ? KV_OK : rc;
}

void lsm_wal_judge(uint64_t size, const lsm_wal_scan *s, int last, int strict,
                   lsm_wal_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->keep = size - s->spare;
    v->spare = s->spare;
    v->action = LSM_WAL_REFUSE;
    unsigned long long at = (unsigned long long)s->bad;
    if (!s->damaged && (last || s->sealed))
        v->action = LSM_WAL_KEEP;
    else if (!s->damaged)
        snprintf(v->text, sizeof v->text, "%" PRIu64 " bytes: a log that is not the last one "
                 "and does not end with its seal: it was cut short (or emptied) after it was "
                 "closed", size);
    else if (!s->torn && s->has_next)
        snprintf(v->text, sizeof v->text, "offset %llu: %s, and valid records follow at "
                 "offset %" PRIu64 " with a sync marker saying these bytes had been synced: "
                 "the log is damaged in the middle", at, s->why, s->next);
    else if (!s->torn)
        snprintf(v->text, sizeof v->text, "offset %llu: %s: damage, not a torn write", at,
                 s->why);
    else if (!last)
        snprintf(v->text, sizeof v->text, "offset %llu: %s, in a log that is not the last "
                 "one: only the last log can end in a torn write, so this is damage", at,
                 s->why);
    else if (strict)
        snprintf(v->text, sizeof v->text, "offset %llu: torn tail of %" PRIu64 " bytes (%s), "
                 "and strict_recovery is set", at, size - s->bad, s->why);
    else {
        v->action = LSM_WAL_CUT;
        v->keep = s->bad;
        v->cut = size - s->bad;
        v->records_lost = s->records_after;
        snprintf(v->text, sizeof v->text, "offset %llu: torn %s: the next kv_open that may "
                 "write cuts it off (%" PRIu64 " bytes: the last write, cut short; intact "
                 "records after the tear: %" PRIu64 "); a read-only open leaves it, "
                 "strict_recovery refuses it (%s)", at,
                 s->bad < LSM_WAL_START ? "header" : "tail", v->cut, v->records_lost, s->why);
    }
}

int lsm_wal_check_owed(const char *dir, const lsm_listed_wal *wals, size_t n, uint64_t flushed)
{
    size_t at = 0;
    int owed = lsm_listing_owed_log(wals, n, flushed, &at);
    if (owed == 0)
        return KV_OK;
    if (owed < 0)
        return kv_error(KV_ERR_CORRUPT, "%s: no log is named above %" PRIu64 ": the tables "
                        "hold every write up to it, and the writes after it went to a log "
                        "made before any table took them (a crash cannot remove it); the log "
                        "is missing, and those writes are lost", dir, flushed);
    lsm_wal *w = NULL;
    int rc = lsm_wal_open(dir, wals[at].start, IO_READ, &w);
    uint64_t size = w ? w->size : 0;
    lsm_wal_free(w);
    if (rc != KV_OK || size >= LSM_WAL_START)
        return rc;
    char name[LSM_NAME_MAX];
    lsm_wal_name(name, wals[at].start);
    return kv_error(KV_ERR_CORRUPT, "%s: log %s holds %" PRIu64 " bytes, not even its header: "
                    "the tables hold every write up to %" PRIu64 ", and the writes after it "
                    "went to that log, whose header was synced before any table took them "
                    "(a crash cannot leave it so); those writes are lost", dir, name, size,
                    flushed);
}
