/*
 * lsm_elsewhere.h: the engine's side of values kept elsewhere, where the
 * value store says (value_store.h): the flush's entries and the logs it
 * hands the store (lsm_elsewhere.c), a read of a value kept elsewhere, and
 * the store's own jobs on a thread of their own (lsm_values.c).  Stage
 * 04's store keeps every value in place: none of this changes what it
 * does, and a first reading skips it.
 */
#ifndef KV_LSM_ELSEWHERE_H
#define KV_LSM_ELSEWHERE_H

#include "lsm_db.h"
#include "txn.h"
#include "value_store.h"

/* The logs holding the writes up to hi, for the value store to read while
 * a flush runs (logs->files: one malloc'd block).  REQUIRES: write_lock. */
int  lsm_flush_logs(kv_db *db, uint64_t hi, value_logs *logs);
/* A memtable's iterator *it, its entries as the flush writes them (vf).
 * Takes over *it, also when it fails (NOMEM: *it freed and NULL). */
int  lsm_flush_values_iter(value_flush *vf, iter **it);
/* *val, a table value saying where the value is, replaced by the value
 * (malloc'd).  REQUIRES: a pin taken before the view it came from. */
int  lsm_value_load(kv_db *db, void **val, size_t *vlen);

/* A value the value store moves (lsm_write.c): a put, applied if check
 * (under write_lock, as a commit's) says its key still holds it; never
 * held back by admission, since it is how the store makes room.
 * REQUIRES: no lock held. */
int  lsm_write_moved(kv_db *db, const batch_op *op, txn_check_fn check, void *ctx);

/* Every write acknowledged so far made durable without a write of its
 * own: the last log synced (a no-op with sync, which syncs every write).
 * *durable: the last write it covers.  KV_OK or the sync's failure (final:
 * D4).  REQUIRES: no lock held, the database writable. */
int  lsm_write_sync_log(kv_db *db, uint64_t *durable);

/* An idle engine's flush (lsm_values.c): the memtable frozen for the
 * flush thread if its log holds min_log_bytes or more, without waiting for
 * the flush.  A failure here, or the flush's own (reported once to the
 * users' next call, lsm_bg.c), changes nothing: the next idle round asks
 * again.  1 if it froze one.  REQUIRES: no lock held. */
int  lsm_write_flush_soon(kv_db *db, uint64_t min_log_bytes);

/* The thread of the store's jobs, if the store has any (a no-op with
 * KV_BG_INLINE); its end (after the job in progress); kv_compact's part:
 * every job run now, and what they freed removed (KV_OK or the first
 * error; REQUIRES no lock held). */
int  lsm_values_start(kv_db *db, int has_jobs);
void lsm_values_stop(kv_db *db);
int  lsm_values_run_all(kv_db *db);
/* The sequence numbers of the puts that only moved a value, ascending, as
 * far as a live snapshot may be older (lsm_sources.h).  REQUIRES:
 * write_lock held, while the array is read. */
void lsm_values_moved(kv_db *db, const uint64_t **moved, size_t *n);

#endif
