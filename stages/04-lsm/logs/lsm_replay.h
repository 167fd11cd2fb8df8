/*
 * lsm_replay.h: the logs' part of kv_open (lsm_replay.c): what is not yet
 * in tables comes back from the write-ahead logs into a fresh memtable.
 * The table set says which writes its tables hold (table_set_open: stage
 * 04 from the tables' names, lsm_files.h F3; stage 06 from its manifest),
 * and the logs are replayed the same way whichever it is.
 */
#ifndef KV_LSM_REPLAY_H
#define KV_LSM_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "lsm_db.h"
#include "lsm_files.h"

/* Given the logs wals[0..nwals) (oldest first, `covered` set for those
 * whose writes are all in tables) and max_hi (every write numbered up to
 * it is in tables): removes the covered logs unread (unless read-only),
 * replays the others into db->mt.mem, skipping records numbered <= max_hi,
 * cuts a torn tail off the last, makes the last log writable (a new one if
 * it is sealed or there is none), sets next_seq and last_seq and installs
 * the readers' view.  KV_OK, KV_ERR_CORRUPT (a log damaged other than by
 * a crash), an I/O error or NOMEM.
 * REQUIRES: db->mt.mem NULL, db->logs.v empty; the database not yet shared. */
int lsm_replay_logs(kv_db *db, const lsm_listed_wal *wals, size_t nwals, uint64_t max_hi);

#endif
