/*
 * lsm_totals.c: the totals, the counters a database keeps from one
 * session to the next in DIR/STATS (stats_file.h): the flushes and the
 * compactions since the database was created, the entries and bytes they
 * wrote and read, and each level's, if the table set has levels (stage 06):
 * S1 of lsm_stats.h, kept above the counters (lsm_totals.h).
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
#include "lsm_totals.h"

#define LSM_TOTALS_PERIOD_US (60u * 1000000u)

static const char *const lsm_total_names[LSM_TOTALS] = {
    [LSM_FLUSH_COUNT] = "flush.count",
    [LSM_FLUSH_BYTES] = "flush.bytes",
    [LSM_FLUSH_ENTRIES] = "flush.entries",
    [LSM_FLUSH_US] = "flush.us",
    [LSM_COMPACT_COUNT] = "compact.count",
    [LSM_COMPACT_BYTES_READ] = "compact.bytes_read",
    [LSM_COMPACT_BYTES_WRITTEN] = "compact.bytes_written",
    [LSM_COMPACT_DROPPED] = "compact.entries_dropped",
    [LSM_COMPACT_US] = "compact.us",
};

static const char *const lsm_level_names[TABLE_LEVEL_COUNTERS] = {
    [TABLE_LEVEL_COMPACTIONS] = "compactions",
    [TABLE_LEVEL_MOVES] = "moves",
    [TABLE_LEVEL_BYTES_READ] = "bytes_read",
    [TABLE_LEVEL_BYTES_WRITTEN] = "bytes_written",
    [TABLE_LEVEL_US] = "us",
};

/* S1 of lsm_stats.h: the totals, and each level's of the levels the table
 * set has. */
static void lsm_totals_bind(lsm_totals *t, lsm_stats *st, stats_counters *s)
{
    stats_counters_add(s, &t->since_seq, "since_seq");
    for (int c = 0; c < LSM_TOTALS; c++)
        stats_counters_add(s, &st->c[c], "%s", lsm_total_names[c]);
    for (int l = 0; l < st->levels && l < TABLE_LEVELS_MAX; l++)
        for (int k = 0; k < TABLE_LEVEL_COUNTERS; k++)
            stats_counters_add(s, &st->level[l][k], "level.%d.%s", l, lsm_level_names[k]);
}

int lsm_totals_open(lsm_totals *t, lsm_stats *st, const char *dir, int read_only,
                    uint64_t last_seq, const lsm_listing *l, uint64_t flushed)
{
    t->dir = dir;
    t->read_only = read_only;
    int listed = 0, tmp_listed = 0;
    for (size_t i = 0; i < l->nothers; i++) {
        listed |= strcmp(l->others[i], STATS_FILE_NAME) == 0;
        tmp_listed |= strcmp(l->others[i], STATS_FILE_TMP) == 0;
    }
    t->period_us = LSM_TOTALS_PERIOD_US;
    t->saved_us = lsm_now_us();
    if ((t->bound = calloc(1, sizeof *t->bound)) == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", dir);
    lsm_totals_bind(t, st, t->bound);
    uint64_t seq = last_seq;
    int found = 0;
    int rc = stats_file_load_listed(dir, t->bound, listed, tmp_listed, !read_only, &found);
    if (rc != KV_OK && rc != KV_ERR_CORRUPT)
        return rc;
    size_t n = t->bound->n;
    if ((t->saved = calloc(n + 1, sizeof *t->saved)) == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", dir);
    if (rc == KV_OK && found) {
        if (t->since_seq == 0)
            snprintf(t->since, sizeof t->since, "the database was created");
        else
            snprintf(t->since, sizeof t->since, "write %" PRIu64 " (an open "
                     "found no STATS it could use then)", t->since_seq);
    } else if (rc == KV_ERR_CORRUPT) {
        /* Count from here, and say why; the next save replaces the file. */
        t->since_seq = seq;
        t->rewrite = 1;
        snprintf(t->since, sizeof t->since, "write %" PRIu64 ", this open: "
                 "%s; kv_open ignored it (kv check reports it, kv repair sets it aside)", seq,
                 kv_errmsg());
        kv_error_clear();
    } else if (flushed == 0) {
        /* No STATS and no table: no flush or compaction has left anything,
         * so the totals, all zero, are the database's since its creation.
         * (STATS is first written once they change.) */
        snprintf(t->since, sizeof t->since, "the database was created");
    } else {
        /* Tables but no STATS: kept from when a total changes (the write
         * it counts from is saved with it). */
        t->since_seq = seq;
        snprintf(t->since, sizeof t->since, "write %" PRIu64 ", this open: "
                 "there was no STATS file (written by a build that kept none, or removed)",
                 seq);
    }
    /* Where this session's counts begin (lsm_stats.h), and what a save
     * compares with: a total that changes from here.  (Without a STATS,
     * since_seq alone differs from the zeros of no file, and is saved with
     * the first total that changes.) */
    memcpy(st->opened, st->c, sizeof st->opened);
    memcpy(st->opened_level, st->level, sizeof st->opened_level);
    for (size_t i = 0; i < n; i++)
        t->saved[i] = *t->bound->c[i].value;
    return KV_OK;
}

/* REQUIRES: t->lock held. */
static int lsm_totals_save_locked(lsm_totals *t)
{
    size_t n = t->bound->n;
    uint64_t *now = calloc(n + 1, sizeof *now);
    if (now == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory (saving STATS)", t->dir);
    for (size_t i = 0; i < n; i++)
        now[i] = __atomic_load_n(t->bound->c[i].value, __ATOMIC_RELAXED);
    int rc = stats_file_save(t->dir, t->bound);
    t->saved_us = lsm_now_us();
    if (rc == KV_OK) {
        /* What the file holds is at least `now` (a counter may have grown
         * since): a later save compares with these. */
        memcpy(t->saved, now, n * sizeof *now);
        t->rewrite = 0;
    } else {
        t->save_failures++;
        snprintf(t->save_error, sizeof t->save_error, "%s", kv_errmsg());
    }
    free(now);
    return rc;
}

/* 1 if STATS must be written: a total changed since the last save, or the
 * file must be replaced.  REQUIRES: t->lock held. */
static int lsm_totals_changed(const lsm_totals *t)
{
    if (t->rewrite)
        return 1;
    for (size_t i = 0; i < t->bound->n; i++)
        if (__atomic_load_n(t->bound->c[i].value, __ATOMIC_RELAXED) != t->saved[i])
            return 1;
    return 0;
}

void lsm_totals_tick(lsm_totals *t, pthread_mutex_t *held)
{
    if (t->bound == NULL || t->read_only)
        return;
    pthread_mutex_lock(&t->lock);
    int due = lsm_now_us() - t->saved_us >= t->period_us;
    pthread_mutex_unlock(&t->lock);
    if (!due)
        return;
    pthread_mutex_unlock(held);
    pthread_mutex_lock(&t->lock);
    if (lsm_totals_changed(t))
        lsm_totals_save_locked(t); /* a failure is counted and shown, and tried again */
    pthread_mutex_unlock(&t->lock);
    pthread_mutex_lock(held);
}

int lsm_totals_save(lsm_totals *t)
{
    if (t->bound == NULL || t->read_only)
        return KV_OK;
    pthread_mutex_lock(&t->lock);
    int rc = lsm_totals_changed(t) ? lsm_totals_save_locked(t) : KV_OK;
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void lsm_totals_stats(lsm_totals *t, stats_text *s)
{
    stats_text_add(s, "totals.since: %s", t->since);
    stats_text_add(s, "totals.since_seq: %" PRIu64, t->since_seq);
    pthread_mutex_lock(&t->lock);
    uint64_t failures = t->save_failures;
    char why[sizeof t->save_error];
    memcpy(why, t->save_error, sizeof why);
    pthread_mutex_unlock(&t->lock);
    if (failures > 0)
        stats_text_add(s, "totals.save_failures: %" PRIu64 " (the last: %s)", failures, why);
}

void lsm_totals_free(lsm_totals *t)
{
    free(t->bound);
    free(t->saved);
    t->bound = NULL;
    t->saved = NULL;
}
