/*
 * log_db.h: stage 01's database: one append-only log file, data.log.
 *
 * Every put and delete appends one record (common/log_record.h) with a single
 * write() call; a read scans the whole log and the last record for its key
 * wins.  Nothing is ever rewritten, so the file only grows.
 *
 * Invariants:
 *   1. [0, end) of data.log is a sequence of valid records.  kv_open makes it
 *      so (cutting off a torn tail, refusing a damaged middle), and a put
 *      moves `end` only after its whole record is in the file.
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

#define LOG_FILE_NAME "data.log"
/* The version of this stage's formats, recorded in the directory's
 * IDENTITY (common/db_identity.h). */
#define LOG_DB_FORMAT 1u

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
    uint64_t open_torn_bytes;   /* cut off at open */
    uint64_t open_scan_us;
    /* Counters since open (updated with __atomic). */
    uint64_t puts, deletes, gets, get_bytes_scanned;
};

uint64_t log_db_end(kv_db *db);

#endif
