/*
 * log_db.h: stage 01's database: one append-only log file, data.log.
 *
 * The file starts with a 16-byte header (common/file_header.h, magic
 * KVS01LOG).  Every put and delete appends one record (common/log_record.h)
 * with a single write() call; a read scans the whole log and the last record
 * for its key wins.  Nothing is ever rewritten, so the file only grows.
 *
 * Invariants:
 *   1. [0, LOG_DB_START) of data.log is its header and [LOG_DB_START, end) a
 *      sequence of valid records.  kv_open makes it so (cutting off a torn
 *      tail, refusing any other damage: log_verdict_judge), and a put moves
 *      `end` only after its whole record is in the file.  (A read-only open
 *      of a file whose header a crash cut short has end < LOG_DB_START: no
 *      records.)
 *   2. Writers hold `write_lock`; readers take a snapshot of `end` and read
 *      below it without a lock, which is safe because bytes below `end` never
 *      change while the database is open.
 *   3. If a failed append cannot be undone (the partial record cannot be cut
 *      off), `failed` is set and every later write is refused until the
 *      database is reopened, so a partial record never ends up in the
 *      middle of the log.
 */
#ifndef KV_LOG_DB_H
#define KV_LOG_DB_H

#include <pthread.h>
#include <stdint.h>

#include "db_dir.h"
#include "io.h"
#include "kv.h"
#include "latency.h"
#include "log_replay.h"

#define LOG_FILE_NAME "data.log"
/* The version of this stage's formats, recorded in the directory's
 * IDENTITY (common/db_identity.h). */
#define LOG_DB_FORMAT 1u
/* Where the records of data.log start: after its header. */
#define LOG_DB_START LOG_REPLAY_START

struct kv_db {
    db_dir dir;
    kv_options opt;
    io_file *log;               /* NULL for a read-only open of an empty directory */
    pthread_mutex_t write_lock;
    uint64_t end;               /* valid bytes in the log; read with __atomic */
    int failed;                 /* see invariant 3 */
    uint64_t snapshots_live;    /* snapshots and iterators not yet freed
                                   (snapshot_iter.h); kv_close waits for 0 */

    /* What kv_open found. */
    uint64_t open_records;
    uint64_t open_torn_bytes;   /* a torn tail found at open (cut off unless
                                   read-only) */
    uint64_t open_scan_us;
    /* Counters since open (updated with __atomic). */
    uint64_t puts, deletes, gets, get_bytes_scanned;
    latency_set lat;            /* how long each call took (common/latency.h) */
};

uint64_t log_db_end(kv_db *db);

/* kv_get over the log's first `end` bytes (kv_get: its current end; a
 * snapshot: the end it noted, log_iter.c).  REQUIRES: arguments checked,
 * end <= the log's end. */
int  log_db_get_below(kv_db *db, uint64_t end, const void *key, size_t klen, void **val,
                      size_t *vlen);

/*
 * What kv_open does with data.log, decided from its bytes alone
 * (log_verdict.c).  kv_open acts on the verdict and kv_check reports it, so
 * that check says exactly what open will do:
 *   KEEP    every byte is header or a valid record (or the file is empty);
 *   CUT     a torn tail (common/log_damage.h), or a header a crash cut short
 *           (common/file_start.h): kv_open cuts it off, unless read-only
 *           (it is left in place) or strict_recovery (then it is REFUSE);
 *   REFUSE  any other damage: KV_ERR_CORRUPT naming the file and offset.
 */
enum { LOG_VERDICT_KEEP, LOG_VERDICT_CUT, LOG_VERDICT_REFUSE };

typedef struct log_verdict {
    int action;
    log_replay r;       /* what the file holds */
    uint64_t keep;      /* kv_open keeps [0, keep): where the records end */
    uint64_t cut;       /* CUT: the bytes after keep */
} log_verdict;

/* Judges data.log (f, of `size` bytes).  KV_OK or an I/O error. */
int  log_verdict_judge(io_file *f, uint64_t size, int strict, log_verdict *v);
/* What v means, from the offset on ("offset 42: ..."): the caller names
 * the file. */
void log_verdict_text(const log_verdict *v, int strict, char *out, size_t n);

#endif
