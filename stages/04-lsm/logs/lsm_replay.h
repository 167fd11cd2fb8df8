/*
 * lsm_replay.h: the logs' part of kv_open (lsm_replay.c): what is not yet
 * in tables comes back from the write-ahead logs into a fresh memtable.
 * The table set says which writes its tables hold (table_set_open: stage
 * 04 from the tables' names, lsm_files.h F3; stage 06 from its manifest),
 * and the logs are replayed the same way whichever it is.
 *
 * Replay works on what it is given and returns what it found
 * (lsm_replayed): the memtable, the logs to go on with, the last sequence
 * number and its counts.  It never sees the engine's struct: the engine
 * applies the result (lsm_open.c).
 */
#ifndef KV_LSM_REPLAY_H
#define KV_LSM_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "db_dir.h"
#include "lsm_files.h"
#include "lsm_wal.h"
#include "memtable.h"

/* What replay reads: the directory, the options it obeys, and whom to ask
 * before it removes a log the tables made redundant. */
typedef struct lsm_replay_env {
    const db_dir *dir;
    int read_only;              /* change no file */
    int strict_recovery;        /* kv_options.strict_recovery */
    size_t memtable_limit;      /* the fresh memtable's size */
    /* *kept 1 if the log named by start is kept by someone else (the
     * engine asks its value store: value_store_adopt_log), else replay
     * removes it.  KV_OK or an error. */
    int (*adopt_log)(void *ctx, uint64_t start, int *kept);
    void *adopt_ctx;
} lsm_replay_env;

/* What the logs gave back.  Zeroed by lsm_replay_logs; the caller owns what
 * it holds (lsm_replayed_free), also after a failure. */
typedef struct lsm_replayed {
    memtable *mem;              /* the writes not yet in tables */
    uint64_t mem_lo;            /* the first sequence number in mem (0: none) */
    lsm_logs logs;              /* the logs kept, oldest first; the last takes
                                   writes (there is one unless read-only) */
    uint64_t last_seq;          /* every write up to it is back: in the tables
                                   or in mem */
    /* What kv_stats says of this open (lsm_stats.h, open_*). */
    uint64_t records, records_skipped, wal_bytes;
    uint64_t torn_found, torn_cut, tail_records_dropped, wals_removed;
    int wal_created;
} lsm_replayed;

/* Given the logs wals[0..nwals) (oldest first, `covered` set for those
 * whose writes are all in tables) and max_hi (every write numbered up to
 * it is in tables): removes the covered logs unread (unless read-only),
 * replays the others into a fresh memtable, skipping records numbered <=
 * max_hi, cuts a torn tail off the last, and makes the last log writable
 * (a new one if it is sealed or there is none), all into *out.  KV_OK,
 * KV_ERR_CORRUPT (a log damaged other than by a crash), an I/O error or
 * NOMEM. */
int  lsm_replay_logs(const lsm_replay_env *env, const lsm_listed_wal *wals, size_t nwals,
                     uint64_t max_hi, lsm_replayed *out);
/* Releases what r holds (the memtable, the logs) and zeroes it. */
void lsm_replayed_free(lsm_replayed *r);

#endif
