/*
 * level_work.c: stage 06's background work (table_set_work, which stage
 * 04's background thread, lsm_bg.c, calls whenever it has no memtable to
 * flush) and kv_compact's part (table_set_compact).  In this order:
 *   1. kv_compact's request: every level pushed down into the deepest one;
 *   2. the compaction the picker chooses (compaction_pick.h) while some
 *      level's score is >= 1 (level_compact.c).
 * Each job leaves write_lock while it reads and writes files, and takes it
 * to install what it made (version_set.c).  After each job the table files
 * no version holds any more are deleted.
 *
 * Failures: a failed compaction or manifest append stops writes until
 * reopen (D4 of lsm_db.h): its outputs are garbage the next open removes,
 * its inputs are still in the manifest.  One that ran out of memory before
 * its edit was in the manifest changed nothing durable: it is reported
 * once and tried again after the next flush.
 */
#include <stdio.h>

#include "error.h"
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

void table_set_work(table_set *ts, int *worked)
{
    kv_db *db = ts->db;
    int rc = KV_OK, done = 1, manual = 0;
    *worked = 1;
    if (ts->compact_waiters > 0 && !ts->compact_done && version_set_usable(ts)) {
        rc = level_compact_all(ts);
        ts->compact_rc = rc;
        if (rc != KV_OK)
            snprintf(ts->compact_why, sizeof ts->compact_why, "%s", kv_errmsg());
        manual = 1;
    } else if (version_set_usable(ts) && !ts->compact_paused &&
               (rc = level_compact_some(ts, &done)) == KV_OK && !done) {
        /* one more compaction done */
    } else {
        *worked = 0;
    }
    if (rc == KV_ERR_NOMEM && !db->failed) {
        /* Out of memory before its edit was in the manifest (once it is,
         * installing it cannot fail): nothing durable changed, its
         * outputs are garbage, and it is tried again after the next
         * flush.  kv_compact's caller gets the error itself. */
        if (!manual) {
            kv_error_append(" (a background compaction; it is tried again later)");
            lsm_set_bg_error(db, rc);
            ts->compact_paused = 1;
        }
    } else if (rc != KV_OK && !db->failed) {
        kv_error_append(" (a background compaction; writes are refused until the "
                        "database is reopened)");
        lsm_set_failed(db, kv_errmsg());
        lsm_set_bg_error(db, rc); /* kv_close reports it if no call did */
    }
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
