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
 *     since the last save (totals_period_us), and kv_close saves it;
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

int lsm_totals_open(kv_db *db)
{
    db->totals_period_us = LSM_TOTALS_PERIOD_US;
    db->totals_saved_us = lsm_now_us();
    if ((db->totals = calloc(1, sizeof *db->totals)) == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", db->dir.path);
    lsm_totals_bind(db, db->totals);
    uint64_t seq = atomic_load(&db->last_seq);
    int found = 0;
    int rc = stats_file_load(db->dir.path, db->totals, !db->opt.read_only, &found);
    if ((db->totals_at_open = calloc(db->totals->n + 1, sizeof *db->totals_at_open)) == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", db->dir.path);
    for (size_t i = 0; i < db->totals->n; i++)
        db->totals_at_open[i] = *db->totals->c[i].value;
    if (rc == KV_OK && found) {
        if (db->totals_since_seq == 0)
            snprintf(db->totals_since, sizeof db->totals_since, "the database was created");
        else
            snprintf(db->totals_since, sizeof db->totals_since, "write %" PRIu64 " (an open "
                     "found no STATS it could use then)", db->totals_since_seq);
        return KV_OK;
    }
    if (rc != KV_OK && rc != KV_ERR_CORRUPT)
        return rc;
    /* No usable STATS: count from here.  With no write ever made, "here"
     * is the database's creation (no flush or compaction came before). */
    db->totals_since_seq = seq;
    if (rc == KV_ERR_CORRUPT)
        snprintf(db->totals_since, sizeof db->totals_since, "write %" PRIu64 ", this open: "
                 "%s; kv_open ignored it (kv check reports it, kv repair sets it aside)", seq,
                 kv_errmsg());
    else if (seq == 0)
        snprintf(db->totals_since, sizeof db->totals_since, "the database was created");
    else
        snprintf(db->totals_since, sizeof db->totals_since, "write %" PRIu64 ", this open: "
                 "there was no STATS file (written by a build that kept none, or removed)",
                 seq);
    kv_error_clear();
    return KV_OK;
}

/* REQUIRES: totals_lock held. */
static int lsm_totals_save_locked(kv_db *db)
{
    int rc = stats_file_save(db->dir.path, db->totals);
    db->totals_saved_us = lsm_now_us();
    if (rc != KV_OK) {
        db->totals_save_failures++;
        snprintf(db->totals_save_error, sizeof db->totals_save_error, "%s", kv_errmsg());
    }
    return rc;
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
    lsm_totals_save_locked(db); /* a failure is counted and shown, and tried again */
    pthread_mutex_unlock(&db->totals_lock);
    pthread_mutex_lock(&db->write_lock);
}

int lsm_totals_save(kv_db *db)
{
    if (db->totals == NULL || db->opt.read_only)
        return KV_OK;
    pthread_mutex_lock(&db->totals_lock);
    int rc = lsm_totals_save_locked(db);
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
