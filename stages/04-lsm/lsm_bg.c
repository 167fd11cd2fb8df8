/*
 * lsm_bg.c: the background thread, which keeps the write path free of
 * disk work.  It does, whatever there is to do, in this order:
 *   1. the flush of the frozen memtable (imm) to tables: a writer that
 *      fills mem again waits for it, so it always comes first;
 *   2. the table set's own work (table_set_work: nothing in stage 04; a
 *      compaction in stage 06);
 * and after either, when a minute has passed since the last save, it
 * saves the totals (lsm_totals.c);
 * then sleeps until a writer freezes a memtable, or the oldest snapshot
 * moves past what the table set waits for (bg_work: lsm_snapshot.c).
 * After each job it wakes whoever waits for one (bg_done).
 *
 * The flush protocol, step by step (docs/04-lsm.md walks through a crash
 * at each step):
 *   1. a writer that finds mem full freezes it: mem becomes imm, holding
 *      the writes lo..hi; the log that took them is synced and sealed, and
 *      a new log and a new mem take the writes from hi + 1 on (lsm_write.c,
 *      lsm_switch); the thread is woken;
 *   2. the thread writes imm to tables and makes them durable, then, under
 *      write_lock, installs them and drops imm from the view: readers find
 *      those writes in the tables (table_set_flush);
 *   3. it deletes the logs whose writes are all at or below hi;
 *   4. it wakes writers waiting for imm to go (a second mem filled up
 *      meanwhile: the only time a writer waits for the disk without sync).
 * A failed flush (an I/O error, no memory) keeps imm, and its log, as
 * they are.  The next call that can report it does (a write, which then
 * writes nothing; kv_compact; kv_close); the flush is retried by the next
 * call that waits for imm (a writer that needs room, kv_compact), so a
 * disk that keeps failing fails writes instead of hanging them, and the
 * retry's I/O happens inside a call that can report its failure.  Nothing
 * of the flush runs under write_lock but the install and steps 3 and 4.
 *
 * Built with KV_BG_INLINE (a browser runs no threads), there is no thread:
 * lsm_bg_wake does the same jobs, in the same order, on the thread that
 * froze the memtable, before its write goes on.  A first reading may skip
 * those lines.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "lsm_db.h"

/* Step 3: the logs, all but the last, whose writes are all at or below
 * hi, from the list and from the directory (no directory sync: a log that
 * comes back is removed at open, unread, lsm_files.h F3).
 * REQUIRES: write_lock held. */
static void lsm_wals_drop_covered(kv_db *db, uint64_t hi)
{
    size_t k = 0;
    while (k + 1 < db->nwals && db->wals[k + 1]->start - 1 <= hi) {
        uint64_t start = db->wals[k]->start;
        lsm_wal_free(db->wals[k]);
        int rc = lsm_wal_remove(db->dir.path, start);
        if (rc == KV_OK)
            __atomic_add_fetch(&db->wals_removed, 1, __ATOMIC_RELAXED);
        else
            lsm_set_bg_error(db, rc); /* harmless (F3), but said */
        k++;
    }
    memmove(db->wals, db->wals + k, (db->nwals - k) * sizeof *db->wals);
    db->nwals -= k;
}

int lsm_flush_imm(kv_db *db)
{
    memtable *m = db->imm;
    uint64_t lo = db->imm_lo, hi = db->imm_hi, t0 = lsm_now_us();
    memtable_ref(m);
    pthread_mutex_unlock(&db->write_lock);
    table_meta meta = {0};
    int rc = table_set_flush(db->tables, m, lo, hi, &meta);
    memtable_unref(m);
    pthread_mutex_lock(&db->write_lock);
    if (rc == KV_OK) {
        lsm_wals_drop_covered(db, hi);
        __atomic_add_fetch(&db->flushes, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->flush_bytes, meta.file_bytes, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->flush_entries, meta.entries, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->flush_us, lsm_now_us() - t0, __ATOMIC_RELAXED);
    } else {
        db->flush_failed = 1;
        lsm_set_bg_error(db, rc);
        __atomic_add_fetch(&db->flush_failures, 1, __ATOMIC_RELAXED);
    }
    pthread_cond_broadcast(&db->bg_done);
    return rc;
}

/* One job, if there is one: 1 if it did one; *wake_us as table_set_work
 * says.  REQUIRES: write_lock held (released while working). */
static int lsm_bg_step(kv_db *db, uint64_t *wake_us)
{
    *wake_us = 0;
    if (db->imm != NULL && !db->flush_failed && !db->failed) {
        lsm_flush_imm(db);
        lsm_totals_tick(db);
        return 1;
    }
    int worked = 0;
    uint64_t wake_seq = 0;
    table_set_work(db->tables, &worked, wake_us, &wake_seq);
    atomic_store_explicit(&db->bg_wake_seq, wake_seq, memory_order_release);
    if (worked) {
        pthread_cond_broadcast(&db->bg_done);
        lsm_totals_tick(db);
    }
    return worked;
}

#ifdef KV_BG_INLINE

int lsm_bg_start(kv_db *db)
{
    db->bg_running = 0; /* nothing runs beside the caller */
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
        pthread_cond_wait(&db->bg_work, &db->write_lock);
        return;
    }
    /* bg_work waits on CLOCK_MONOTONIC, lsm_now_us's clock (lsm_open.c). */
    struct timespec at = {.tv_sec = (time_t)(wake_us / 1000000u),
                          .tv_nsec = (long)(wake_us % 1000000u) * 1000};
    pthread_cond_timedwait(&db->bg_work, &db->write_lock, &at);
}

static void *lsm_bg_main(void *arg)
{
    kv_db *db = arg;
    pthread_mutex_lock(&db->write_lock);
    for (;;) {
        uint64_t wake_us = 0;
        if (lsm_bg_step(db, &wake_us))
            continue;
        pthread_cond_broadcast(&db->bg_done);
        if (db->bg_stop)
            break;
        lsm_bg_sleep(db, wake_us);
    }
    pthread_mutex_unlock(&db->write_lock);
    return NULL;
}

int lsm_bg_start(kv_db *db)
{
    int rc = pthread_create(&db->bg_thread, NULL, lsm_bg_main, db);
    if (rc != 0)
        return kv_error(KV_ERR_IO, "kv_open %s: cannot start the background thread: %s",
                        db->dir.path, strerror(rc));
    db->bg_running = 1;
    return KV_OK;
}

void lsm_bg_stop(kv_db *db)
{
    if (!db->bg_running)
        return;
    pthread_mutex_lock(&db->write_lock);
    db->bg_stop = 1;
    pthread_cond_signal(&db->bg_work);
    pthread_mutex_unlock(&db->write_lock);
    pthread_join(db->bg_thread, NULL);
    db->bg_running = 0;
}

void lsm_bg_wake(kv_db *db)
{
    pthread_cond_signal(&db->bg_work);
}

#endif
