/*
 * level_work.c: stage 06's background work (table_set_work, which stage
 * 04's background thread, lsm_bg.c, calls whenever it has no memtable to
 * flush) and kv_compact's part (table_set_compact).  In this order:
 *   1. kv_compact's request: every level pushed down into the deepest one;
 *   2. the compaction the picker chooses (compaction_pick.h) while some
 *      level's score is >= 1 (level_compact.c);
 *   3. else a garbage compaction: a table full of versions that no reader
 *      can read since the oldest snapshot moved on, rewritten in place
 *      (compaction_pick_garbage); if one waits for the oldest snapshot to
 *      move on, the engine is told (wake_seq) and wakes the thread then.
 * Each job leaves write_lock while it reads and writes files, and takes it
 * to install what it made (version_set.c).  After each job the table files
 * no version holds any more are deleted.
 *
 * Failures: a compaction that fails before its edit is in the manifest (a
 * full disk, no file descriptor left, no memory, an append that left a
 * torn record: version_set.h) changed nothing durable: its outputs are
 * removed, it is reported once (the next write, or kv_close), and tried
 * again after a pause that doubles with each failure in a row (from
 * COMPACT_RETRY_FIRST_US to COMPACT_RETRY_MAX_US), or after the next
 * flush, whichever comes first.  Meanwhile writes go on, held back only
 * by the level-0 brake (level_admit.c).  Only a failure that leaves the
 * manifest's state unknown stops writes until reopen (D4 of lsm_db.h).
 */
#include <stdio.h>

#include "error.h"

#define COMPACT_RETRY_FIRST_US 100000u      /* 0.1 s */
#define COMPACT_RETRY_MAX_US 10000000u      /* 10 s */
#include "level_compact.h"
#include "version_set.h"

/* Step 1: every level down into the deepest one that holds a table (at
 * least level 1).  REQUIRES: write_lock held. */
static int level_compact_all(table_set *ts)
{
    int deepest = 0;
    for (int level = 0; level < VERSION_LEVELS; level++)
        if (ts->current->nfiles[level] > 0)
            deepest = level;
    if (deepest == 0)
        deepest = 1;
    int rc = KV_OK;
    for (int level = 0; rc == KV_OK && level < deepest; level++) {
        compaction *c = NULL;
        rc = compaction_pick_range(ts->current, &ts->copt, level, NULL, 0, NULL, 0, &c);
        if (rc == KV_OK && c != NULL)
            rc = level_compact(ts, c, 1);
        compaction_free(c);
    }
    return rc;
}

/* Step 2: one compaction if some score is >= 1.  *done = 1 if none.
 * REQUIRES: write_lock held. */
static int level_compact_some(table_set *ts, int *done)
{
    compaction_pointers p;
    for (int i = 0; i < VERSION_LEVELS; i++) {
        p.key[i] = ts->pointer[i];
        p.len[i] = ts->pointer_len[i];
    }
    compaction *c = NULL;
    int rc = compaction_pick(ts->current, &ts->copt, &p, &c);
    *done = rc == KV_OK && c == NULL;
    if (rc == KV_OK && c != NULL)
        rc = level_compact(ts, c, 0);
    compaction_free(c);
    return rc;
}

/* Step 3: one garbage compaction, if a table is due.  *done = 1 if none;
 * *wake_seq as table_set_work says.  REQUIRES: write_lock held. */
static int level_compact_garbage(table_set *ts, int *done, uint64_t *wake_seq)
{
    compaction *c = NULL;
    int rc = compaction_pick_garbage(ts->current, &ts->copt, lsm_oldest_snapshot(ts->db), &c,
                                     wake_seq);
    *done = rc == KV_OK && c == NULL;
    if (rc == KV_OK && c != NULL) {
        rc = level_compact(ts, c, 0);
        if (rc == KV_OK)
            __atomic_add_fetch(&ts->garbage_compactions, 1, __ATOMIC_RELAXED);
    }
    compaction_free(c);
    return rc;
}

/* A failed background compaction that changed nothing durable: said once,
 * tried again later.  REQUIRES: write_lock held. */
static void level_work_failed(table_set *ts, int rc)
{
    kv_db *db = ts->db;
    __atomic_add_fetch(&ts->compact_failures, 1, __ATOMIC_RELAXED);
    if (ts->compact_backoff_us == 0)
        ts->compact_backoff_us = COMPACT_RETRY_FIRST_US;
    ts->compact_retry_us = lsm_now_us() + ts->compact_backoff_us;
    kv_error_append(" (a background compaction; nothing of it was kept, and it is tried "
                    "again in %.1f s)", (double)ts->compact_backoff_us / 1e6);
    if (ts->compact_backoff_us < COMPACT_RETRY_MAX_US)
        ts->compact_backoff_us *= 2;
    lsm_set_bg_error(db, rc);
}

void table_set_work(table_set *ts, int *worked, uint64_t *wake_us, uint64_t *wake_seq)
{
    kv_db *db = ts->db;
    int rc = KV_OK, done = 1, manual = 0;
    int paused = ts->compact_retry_us != 0 && lsm_now_us() < ts->compact_retry_us;
    *worked = 1;
    *wake_us = 0;
    *wake_seq = 0;
    if (ts->compact_waiters > 0 && !ts->compact_done && version_set_usable(ts)) {
        rc = level_compact_all(ts);
        ts->compact_rc = rc;
        if (rc != KV_OK)
            snprintf(ts->compact_why, sizeof ts->compact_why, "%s", kv_errmsg());
        manual = 1;
    } else if (version_set_usable(ts) && !paused &&
               (rc = level_compact_some(ts, &done)) == KV_OK &&
               (!done || ((rc = level_compact_garbage(ts, &done, wake_seq)) == KV_OK && !done))) {
        ts->compact_backoff_us = 0; /* one more compaction done */
        ts->compact_retry_us = 0;
    } else {
        *worked = 0;
    }
    /* (kv_compact's failure is its caller's to hear: compact_rc.) */
    if (rc != KV_OK && !db->failed && !manual)
        level_work_failed(ts, rc);
    if (!*worked && ts->compact_retry_us != 0 && version_set_usable(ts))
        *wake_us = ts->compact_retry_us;
    if (*worked) {
        pthread_mutex_unlock(&db->write_lock);
        version_set_delete_obsolete(ts);
        pthread_mutex_lock(&db->write_lock);
        if (manual)
            ts->compact_done = 1; /* its inputs deleted (or the failure kept) */
    }
}

int table_set_compact(table_set *ts)
{
    kv_db *db = ts->db;
    pthread_mutex_lock(&db->write_lock);
    ts->compact_waiters = 1;
    ts->compact_done = 0;
    lsm_bg_wake(db);
    while (!ts->compact_done && !db->failed)
        pthread_cond_wait(&db->bg_done, &db->write_lock);
    int rc = ts->compact_done ? ts->compact_rc : lsm_refuse_if_failed(db, "kv_compact");
    if (rc != KV_OK && ts->compact_done)
        rc = kv_error(rc, "kv_compact %s: %s", db->dir.path, ts->compact_why);
    if (rc == KV_OK) /* a removal that failed meanwhile */
        rc = lsm_take_bg_error(db, "kv_compact");
    ts->compact_waiters = 0;
    pthread_mutex_unlock(&db->write_lock);
    return rc;
}
