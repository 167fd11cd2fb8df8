/*
 * lsm_bg.c: the background thread, which keeps the write path free of
 * disk work.  It does, whatever there is to do, in this order:
 *   1. the flush of the frozen memtable (imm) to a table (lsm_flush.c): a
 *      writer that fills mem again waits for it, so it always comes first;
 *   2. kv_compact's request: every step the table set gives for it
 *      (lsm_compact_manual), and kv_compact hears how it went;
 *   3. the job the table set wants done, if any (table_set_pick: nothing
 *      in stage 04; a compaction in stage 06), run by lsm_compact_run;
 * after each, the files no version holds any more are removed
 * (lsm_collect), and, when a minute has passed since the last save, the
 * totals saved (lsm_totals.c); then it sleeps until a writer freezes a
 * memtable, kv_compact asks, or the oldest snapshot moves past what the
 * table set waits for (bg_work: lsm_snapshot.c).  After each job it wakes
 * whoever waits for one (bg_done).
 *
 * The thread starts with its first job: at kv_open if the table set has
 * one already (a compaction the last session left due), else at the
 * first wake.  A session that never
 * fills a memtable, compacts or leaves a table for the oldest snapshot to
 * free starts no thread, and its kv_close has none to stop.  A thread that
 * cannot be started at a wake leaves the work undone: the database fails
 * (D4 of lsm_db.h), and writes are refused until it is reopened.
 *
 * Failures: a job that fails before its change is durable (a full disk,
 * no file descriptor left, no memory) changed nothing: its outputs are
 * removed, it is reported once (the next write, or kv_close), and tried
 * again after a pause that doubles with each failure in a row (from
 * BG_RETRY_FIRST_US to BG_RETRY_MAX_US), or after the next flush,
 * whichever comes first.  Meanwhile writes go on, held back only by
 * admission (lsm_admit.c).  Only a failure that leaves the database's
 * state unknown stops writes until reopen (D4 of lsm_db.h).
 *
 * Built with KV_BG_INLINE (a browser runs no threads), there is no thread:
 * lsm_bg_wake does the same jobs, in the same order, on the thread that
 * woke it, before its call goes on.  A first reading may skip those lines.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "lsm_db.h"

#define BG_RETRY_FIRST_US 100000u       /* 0.1 s */
#define BG_RETRY_MAX_US 10000000u       /* 10 s */

/* A background job that failed and changed nothing durable: said once,
 * tried again later.  REQUIRES: write_lock held. */
static void lsm_bg_failed(kv_db *db, int rc)
{
    lsm_count(&db->count.stats, LSM_COMPACT_FAILURES, 1);
    if (db->bg.backoff_us == 0)
        db->bg.backoff_us = BG_RETRY_FIRST_US;
    db->bg.retry_us = lsm_now_us() + db->bg.backoff_us;
    kv_error_append(" (a background compaction; nothing of it was kept, and it is tried "
                    "again in %.1f s)", (double)db->bg.backoff_us / 1e6);
    if (db->bg.backoff_us < BG_RETRY_MAX_US)
        db->bg.backoff_us *= 2;
    lsm_set_bg_error(db, rc);
}

/* The job the table set wants done now, if any (*job NULL if none).
 * REQUIRES: write_lock held. */
static int lsm_bg_pick(kv_db *db, table_job **job)
{
    table_ask ask = {.kind = TABLE_ASK_BACKGROUND};
    uint64_t wake_seq = 0;
    int rc;
    do {
        ask.oldest = lsm_oldest_snapshot(db);
        rc = table_set_pick(db->tables.set, &ask, job, &wake_seq);
        atomic_store_explicit(&db->bg.wake_seq, wake_seq, memory_order_seq_cst);
        /* A snapshot freed between the pick and the store saw no number
         * to wake the thread for: look again rather than sleep on it. */
    } while (rc == KV_OK && *job == NULL && wake_seq != 0 && lsm_oldest_snapshot(db) >= wake_seq);
    return rc;
}

/* Step 3: the table set's own job, if it has one.  1 if it did one.
 * REQUIRES: write_lock held (released while working). */
static int lsm_bg_set_job(kv_db *db, uint64_t *wake_us)
{
    if (db->bg.retry_us != 0 && lsm_now_us() < db->bg.retry_us) {
        *wake_us = db->bg.retry_us;
        return 0;
    }
    table_job *job = NULL;
    int rc = lsm_bg_pick(db, &job);
    if (rc == KV_OK && job == NULL)
        return 0;
    int garbage = job != NULL && job->garbage;
    if (rc == KV_OK)
        rc = lsm_compact_run(db, job);
    if (rc == KV_OK) {
        lsm_count(&db->count.stats, LSM_GARBAGE_MERGES, (uint64_t)garbage);
        db->bg.backoff_us = 0;
        db->bg.retry_us = 0;
    } else if (!db->fail.failed) {
        lsm_bg_failed(db, rc);
    }
    return 1;
}

/* One job, if there is one: 1 if it did one; *wake_us, if not 0: the time
 * to look again even if no one wakes the thread.  REQUIRES: write_lock
 * held (released while working). */
static int lsm_bg_step(kv_db *db, uint64_t *wake_us)
{
    *wake_us = 0;
    int worked = 0;
    if (db->memtables.imm != NULL && !db->fail.flush_failed && !db->fail.failed) {          /* 1 */
        lsm_flush_imm(db, 0);
        worked = 1;
    } else if (db->bg.compact_asked && !db->bg.compact_done && !db->fail.failed) { /* 2 */
        int rc = lsm_compact_manual(db);
        db->bg.compact_rc = rc;
        if (rc != KV_OK)
            snprintf(db->bg.compact_why, sizeof db->bg.compact_why, "%s", kv_errmsg());
        worked = 2;
    } else if (!db->fail.failed) {                                           /* 3 */
        worked = lsm_bg_set_job(db, wake_us);
    }
    if (!worked)
        return 0;
    lsm_collect(db);
    if (worked == 2)
        db->bg.compact_done = 1; /* its inputs removed (or the failure kept) */
    pthread_cond_broadcast(&db->bg.done);
    lsm_totals_tick(&db->count.totals, &db->write_lock);
    return 1;
}

#ifdef KV_BG_INLINE

int lsm_bg_start(kv_db *db)
{
    db->bg.running = 0; /* nothing runs beside the caller */
    return KV_OK;
}

void lsm_bg_stop(kv_db *db) { (void)db; }

void lsm_bg_wake(kv_db *db)
{
    uint64_t wake_us; /* no timer here: a job that failed is tried at the next wake */
    while (lsm_bg_step(db, &wake_us))
        ;
}

#else

/* Sleeps until woken, or until wake_us (lsm_now_us; 0: no time). */
static void lsm_bg_sleep(kv_db *db, uint64_t wake_us)
{
    if (wake_us == 0) {
        pthread_cond_wait(&db->bg.work, &db->write_lock);
        return;
    }
    /* bg_work waits on CLOCK_MONOTONIC, lsm_now_us's clock (lsm_open.c). */
    struct timespec at = {.tv_sec = (time_t)(wake_us / 1000000u),
                          .tv_nsec = (long)(wake_us % 1000000u) * 1000};
    pthread_cond_timedwait(&db->bg.work, &db->write_lock, &at);
}

static void *lsm_bg_main(void *arg)
{
    kv_db *db = arg;
    pthread_mutex_lock(&db->write_lock);
    for (;;) {
        uint64_t wake_us = 0;
        if (lsm_bg_step(db, &wake_us))
            continue;
        pthread_cond_broadcast(&db->bg.done);
        if (db->bg.stop)
            break;
        lsm_bg_sleep(db, wake_us);
    }
    pthread_mutex_unlock(&db->write_lock);
    return NULL;
}

/* Starts the thread (call names who, for the message).  REQUIRES:
 * write_lock held (the thread waits for it). */
static int lsm_bg_launch(kv_db *db, const char *call)
{
    int rc = pthread_create(&db->bg.thread, NULL, lsm_bg_main, db);
    if (rc != 0)
        return kv_error(KV_ERR_IO, "%s%s%s: cannot start the background thread: %s", call,
                        call[0] ? " " : "", db->dir.path, strerror(rc));
    db->bg.running = 1;
    return KV_OK;
}

int lsm_bg_start(kv_db *db)
{
    pthread_mutex_lock(&db->write_lock);
    table_job *job = NULL;
    int rc = db->memtables.imm != NULL ? KV_OK : lsm_bg_pick(db, &job);
    if (job != NULL) {
        /* Only asked whether there is one: the thread picks it again when
         * it gets there (a flush or kv_compact may come first and change
         * the tables).  A job ended with any status but KV_OK changes
         * nothing (table_set.h). */
        table_set_version *installed = NULL;
        int final = 0;
        table_set_apply(db->tables.set, job, KV_ERR_INVALID, &db->write_lock, &installed,
                        &final);
    } else if (rc == KV_OK && db->memtables.imm == NULL) {
        db->bg.deferred = 1; /* nothing to do yet: the first wake starts it */
        pthread_mutex_unlock(&db->write_lock);
        return KV_OK;
    }
    /* Work now, or a pick that failed (the thread picks again). */
    rc = lsm_bg_launch(db, "kv_open");
    pthread_mutex_unlock(&db->write_lock);
    return rc;
}

void lsm_bg_stop(kv_db *db)
{
    pthread_mutex_lock(&db->write_lock);
    db->bg.deferred = 0; /* nothing starts it any more */
    pthread_mutex_unlock(&db->write_lock);
    if (!db->bg.running)
        return;
    bg_rate_set(db->tables.rate, 0); /* the jobs left go at full speed (bg_rate.h, B1) */
    pthread_mutex_lock(&db->write_lock);
    db->bg.stop = 1;
    pthread_cond_signal(&db->bg.work);
    pthread_mutex_unlock(&db->write_lock);
    pthread_join(db->bg.thread, NULL);
    db->bg.running = 0;
}

void lsm_bg_wake(kv_db *db)
{
    if (db->bg.running) {
        pthread_cond_signal(&db->bg.work);
    } else if (db->bg.deferred) {
        db->bg.deferred = 0;
        if (lsm_bg_launch(db, "") != KV_OK)
            lsm_set_failed(db, kv_errmsg());
    }
}

#endif
