/*
 * lsm_bg.h: the engine's background thread (lsm_bg.c): what it keeps
 * (struct lsm_bg, the engine's `bg`) and how the engine starts, wakes and
 * stops it.  The thread flushes the frozen memtable, runs the table set's
 * jobs and kv_compact's request, and after a failure waits before the next
 * job (retry_us, backoff_us doubling), so that a full disk is not retried
 * in a loop.
 *
 * Every field is guarded by the engine's write_lock, except wake_seq
 * (atomic: kv_snapshot_free reads it without the lock) and compact_lock.
 * work and done are conditions of write_lock.
 */
#ifndef KV_LSM_BG_H
#define KV_LSM_BG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "kv.h"

typedef struct lsm_bg {
    pthread_mutex_t compact_lock; /* one kv_compact at a time (taken before
                                     write_lock) */
    pthread_cond_t work;        /* the thread waits for work */
    pthread_cond_t done;        /* it finished a job, or has none left:
                                   writers waiting for imm to go, for the
                                   tables to make room, and kv_compact,
                                   wait for this */
    int stop;                   /* kv_close: the thread ends */
    pthread_t thread;
    int running;
    int deferred;               /* not started: the first wake starts it */
    _Atomic uint64_t wake_seq;  /* the table set has work once the oldest
                                   snapshot reaches this (table_set_pick;
                                   0: none): kv_snapshot_free wakes the
                                   thread then */
    int compact_asked;          /* kv_compact waits for the thread */
    int compact_done;           /* ... which did it (compact_rc, compact_why) */
    int compact_rc;
    char compact_why[512];
    uint64_t retry_us;          /* a job failed: none is picked before this
                                   time (lsm_now_us), or the next flush; 0:
                                   none failed */
    uint64_t backoff_us;        /* the wait after the next failure */
} lsm_bg;

/* The thread that flushes imm and does the table set's work: started now
 * if there is work (imm, or a job of the table set), else by the first
 * lsm_bg_wake.  REQUIRES: write_lock not held. */
int  lsm_bg_start(kv_db *db);
/* Lets the job in progress (and a flush pending) finish, ends the thread.
 * A no-op if it was never started. */
void lsm_bg_stop(kv_db *db);
/* There is work: imm was frozen, kv_compact asks, or the table set has
 * some.  With threads, wakes the thread, or starts it (if it cannot start,
 * the database fails: lsm_set_failed); built with KV_BG_INLINE (no
 * threads, as in a browser), does the work now, on the calling thread,
 * until none is left.  REQUIRES: write_lock held. */
void lsm_bg_wake(kv_db *db);

#endif
