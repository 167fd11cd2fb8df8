/*
 * lsm_failure.h: what the engine keeps of its failures (lsm_failure.c):
 * struct lsm_failure, the engine's `fail`, and the calls that set and
 * report them.  Two kinds (lsm_db.h, D4):
 *   failed      final: a failed fsync, or a seal or cut that could not be
 *               made; every later write and kv_compact is refused, naming
 *               why, until the database is reopened;
 *   bg_error    a failure in the background (a flush, a log's removal, a
 *               compaction) that no call has reported yet: the next write
 *               fails with it (nothing written), or kv_close returns it;
 *               then it is gone, and the work is tried again.
 * Every field is guarded by the engine's write_lock (`failed` is read
 * with __atomic without it).
 */
#ifndef KV_LSM_FAILURE_H
#define KV_LSM_FAILURE_H

#include "kv.h"

typedef struct lsm_failure {
    int failed;                 /* D4 (read with __atomic) */
    char why[512];              /* why it failed */
    int flush_failed;           /* the last flush failed; retried by the
                                   next call that waits for it, once the
                                   failure has been reported */
    int bg_error;               /* the code of the failure not reported yet */
    char bg_message[512];
} lsm_failure;

/* Sets `failed` (D4) with why.  REQUIRES: write_lock held. */
void lsm_set_failed(kv_db *db, const char *why);
/* KV_ERR_IO naming the first failure if `failed` is set; else KV_OK. */
int  lsm_refuse_if_failed(kv_db *db, const char *call);
/* Records a background failure (kv_errmsg) for the next call to report.
 * REQUIRES: write_lock held. */
void lsm_set_bg_error(kv_db *db, int rc);
/* Reports (and clears) a background failure: its code, with the message
 * set for `call`; KV_OK if there is none.  A failed flush is retried only
 * when a later call waits for it (lsm_write.c), so that its I/O happens
 * inside a call that can report it.  REQUIRES: write_lock held. */
int  lsm_take_bg_error(kv_db *db, const char *call);

#endif
