/*
 * lsm_totals.c: the totals, the counters a database keeps from one
 * session to the next in DIR/STATS (stats_file.h): the flushes and the
 * compactions since the database was created, the entries and bytes they
 * wrote and read, and the table set's own (stage 06: each level's).
 *
 * What kv_stats shows of the tables needs no file: it is read from the
 * tables at open.  What happened to them, how often they were rewritten,
 * is gone when the process ends unless it is written down, as RocksDB
 * does with DBOptions::persist_stats_to_disk (every
 * stats_persist_period_sec, 600 s by default).
 * Here:
 *   - kv_open loads STATS; the totals go on from what it holds;
 *   - the background thread saves it after a job when a minute has passed
 *     since the last save (totals_period_us), and kv_close saves it; each
 *     only if a total changed since the last save (a database that never
 *     flushed has no STATS: its totals are all zero);
 *   - so a crash loses at most the last minute's counts, never data: the
 *     totals are a record of work done, and no read depends on them.
 * A missing or damaged STATS does not stop kv_open (stats_file.h SF2):
 * the totals count from that open on, and totals.since says from which
 * write and why.  Every other counter of kv_stats is per session and says
 * so (session.*).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "lsm_db.h"

#define LSM_TOTALS_PERIOD_US (60u * 1000000u)

static void lsm_totals_bind(kv_db *db, stats_counters *s)
{
    stats_counters_add(s, &db->totals_since_seq, "since_seq");
    stats_counters_add(s, &db->flushes, "flush.count");
    stats_counters_add(s, &db->flush_bytes, "flush.bytes");
    stats_counters_add(s, &db->flush_entries, "flush.entries");
    stats_counters_add(s, &db->flush_us, "flush.us");
    stats_counters_add(s, &db->compactions, "compact.count");
    stats_counters_add(s, &db->compact_bytes_in, "compact.bytes_read");
    stats_counters_add(s, &db->compact_bytes_out, "compact.bytes_written");
    stats_counters_add(s, &db->compact_dropped, "compact.entries_dropped");
    stats_counters_add(s, &db->compact_us, "compact.us");
    table_set_totals(db->tables, s);
}

int lsm_totals_open(kv_db *db, const lsm_listing *l, uint64_t flushed)
{
    int listed = 0, tmp_listed = 0;
    for (size_t i = 0; i < l->nothers; i++) {
        listed |= strcmp(l->others[i], STATS_FILE_NAME) == 0;
        tmp_listed |= strcmp(l->others[i], STATS_FILE_TMP) == 0;
    }
    db->totals_period_us = LSM_TOTALS_PERIOD_US;
    db->totals_saved_us = lsm_now_us();
    if ((db->totals = calloc(1, sizeof *db->totals)) == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", db->dir.path);
    lsm_totals_bind(db, db->totals);
    uint64_t seq = atomic_load(&db->last_seq);
    int found = 0;
    int rc = stats_file_load_listed(db->dir.path, db->totals, listed, tmp_listed,
                                    !db->opt.read_only, &found);
    if (rc != KV_OK && rc != KV_ERR_CORRUPT)
        return rc;
    size_t n = db->totals->n;
    db->totals_at_open = calloc(n + 1, sizeof *db->totals_at_open);
    db->totals_saved = calloc(n + 1, sizeof *db->totals_saved);
    if (db->totals_at_open == NULL || db->totals_saved == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", db->dir.path);
    if (rc == KV_OK && found) {
        if (db->totals_since_seq == 0)
            snprintf(db->totals_since, sizeof db->totals_since, "the database was created");
        else
            snprintf(db->totals_since, sizeof db->totals_since, "write %" PRIu64 " (an open "
                     "found no STATS it could use then)", db->totals_since_seq);
    } else if (rc == KV_ERR_CORRUPT) {
        /* Count from here, and say why; the next save replaces the file. */
        db->totals_since_seq = seq;
        db->totals_rewrite = 1;
        snprintf(db->totals_since, sizeof db->totals_since, "write %" PRIu64 ", this open: "
                 "%s; kv_open ignored it (kv check reports it, kv repair sets it aside)", seq,
                 kv_errmsg());
        kv_error_clear();
    } else if (flushed == 0) {
        /* No STATS and no table: no flush or compaction has left anything,
         * so the totals, all zero, are the database's since its creation.
         * (STATS is first written once they change.) */
        snprintf(db->totals_since, sizeof db->totals_since, "the database was created");
    } else {
        /* Tables but no STATS: kept from when a total changes (the write
         * it counts from is saved with it). */
        db->totals_since_seq = seq;
        snprintf(db->totals_since, sizeof db->totals_since, "write %" PRIu64 ", this open: "
                 "there was no STATS file (written by a build that kept none, or removed)",
                 seq);
    }
    for (size_t i = 0; i < n; i++)
        db->totals_at_open[i] = *db->totals->c[i].value;
    /* What a save compares with: a total that changes from here.  (Without a
     * STATS, since_seq alone differs from the zeros of no file, and is
     * saved with the first total that changes.) */
    memcpy(db->totals_saved, db->totals_at_open, n * sizeof *db->totals_saved);
    return KV_OK;
}

/* REQUIRES: totals_lock held. */
static int lsm_totals_save_locked(kv_db *db)
{
    size_t n = db->totals->n;
    uint64_t *now = calloc(n + 1, sizeof *now);
    if (now == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory (saving STATS)", db->dir.path);
    for (size_t i = 0; i < n; i++)
        now[i] = __atomic_load_n(db->totals->c[i].value, __ATOMIC_RELAXED);
    int rc = stats_file_save(db->dir.path, db->totals);
    db->totals_saved_us = lsm_now_us();
    if (rc == KV_OK) {
        /* What the file holds is at least `now` (a counter may have grown
         * since): a later save compares with these. */
        memcpy(db->totals_saved, now, n * sizeof *now);
        db->totals_rewrite = 0;
    } else {
        db->totals_save_failures++;
        snprintf(db->totals_save_error, sizeof db->totals_save_error, "%s", kv_errmsg());
    }
    free(now);
    return rc;
}

/* 1 if STATS must be written: a total changed since the last save, or the
 * file must be replaced.  REQUIRES: totals_lock held. */
static int lsm_totals_changed(const kv_db *db)
{
    if (db->totals_rewrite)
        return 1;
    for (size_t i = 0; i < db->totals->n; i++)
        if (__atomic_load_n(db->totals->c[i].value, __ATOMIC_RELAXED) != db->totals_saved[i])
            return 1;
    return 0;
}

void lsm_totals_tick(kv_db *db)
{
    if (db->totals == NULL || db->opt.read_only)
        return;
    pthread_mutex_lock(&db->totals_lock);
    int due = lsm_now_us() - db->totals_saved_us >= db->totals_period_us;
    pthread_mutex_unlock(&db->totals_lock);
    if (!due)
        return;
    pthread_mutex_unlock(&db->write_lock);
    pthread_mutex_lock(&db->totals_lock);
    if (lsm_totals_changed(db))
        lsm_totals_save_locked(db); /* a failure is counted and shown, and tried again */
    pthread_mutex_unlock(&db->totals_lock);
    pthread_mutex_lock(&db->write_lock);
}

int lsm_totals_save(kv_db *db)
{
    if (db->totals == NULL || db->opt.read_only)
        return KV_OK;
    pthread_mutex_lock(&db->totals_lock);
    int rc = lsm_totals_changed(db) ? lsm_totals_save_locked(db) : KV_OK;
    pthread_mutex_unlock(&db->totals_lock);
    return rc;
}

void lsm_totals_stats(kv_db *db, stats_text *s)
{
    stats_text_add(s, "totals.since: %s", db->totals_since);
    stats_text_add(s, "totals.since_seq: %" PRIu64, db->totals_since_seq);
    pthread_mutex_lock(&db->totals_lock);
    uint64_t failures = db->totals_save_failures;
    char why[sizeof db->totals_save_error];
    memcpy(why, db->totals_save_error, sizeof why);
    pthread_mutex_unlock(&db->totals_lock);
    if (failures > 0)
        stats_text_add(s, "totals.save_failures: %" PRIu64 " (the last: %s)", failures, why);
}

uint64_t lsm_totals_session(const kv_db *db, const uint64_t *counter)
{
    for (size_t i = 0; db->totals != NULL && i < db->totals->n; i++)
        if (db->totals->c[i].value == counter)
            return __atomic_load_n(counter, __ATOMIC_RELAXED) - db->totals_at_open[i];
    return 0;
}
