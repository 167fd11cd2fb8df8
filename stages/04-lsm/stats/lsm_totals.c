/*
 * lsm_totals.c: the totals, the counters a database keeps from one
 * session to the next in DIR/STATS (stats_file.h): the flushes and the
 * compactions since the database was created, the entries and bytes they
 * wrote and read, and each level's, if the table set has levels (stage 06):
 * S1 of lsm_stats.h.
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
#include "lsm_stats.h"

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

const char *lsm_total_name(lsm_counter c)
{
    return c < LSM_TOTALS ? lsm_total_names[c] : NULL;
}

/* S1 of lsm_stats.h: the totals, and each level's of the levels the table
 * set has. */
static void lsm_totals_bind(lsm_stats *st, stats_counters *s)
{
    stats_counters_add(s, &st->since_seq, "since_seq");
    for (int c = 0; c < LSM_TOTALS; c++)
        stats_counters_add(s, &st->c[c], "%s", lsm_total_names[c]);
    for (int l = 0; l < st->levels && l < TABLE_LEVELS_MAX; l++)
        for (int k = 0; k < TABLE_LEVEL_COUNTERS; k++)
            stats_counters_add(s, &st->level[l][k], "level.%d.%s", l, lsm_level_names[k]);
}

int lsm_totals_open(lsm_stats *st, const char *dir, int read_only, uint64_t last_seq,
                    const lsm_listing *l, uint64_t flushed)
{
    st->dir = dir;
    st->read_only = read_only;
    int listed = 0, tmp_listed = 0;
    for (size_t i = 0; i < l->nothers; i++) {
        listed |= strcmp(l->others[i], STATS_FILE_NAME) == 0;
        tmp_listed |= strcmp(l->others[i], STATS_FILE_TMP) == 0;
    }
    st->period_us = LSM_TOTALS_PERIOD_US;
    st->saved_us = lsm_now_us();
    if ((st->bound = calloc(1, sizeof *st->bound)) == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", dir);
    lsm_totals_bind(st, st->bound);
    uint64_t seq = last_seq;
    int found = 0;
    int rc = stats_file_load_listed(dir, st->bound, listed, tmp_listed, !read_only, &found);
    if (rc != KV_OK && rc != KV_ERR_CORRUPT)
        return rc;
    size_t n = st->bound->n;
    st->at_open = calloc(n + 1, sizeof *st->at_open);
    st->saved = calloc(n + 1, sizeof *st->saved);
    if (st->at_open == NULL || st->saved == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", dir);
    if (rc == KV_OK && found) {
        if (st->since_seq == 0)
            snprintf(st->since, sizeof st->since, "the database was created");
        else
            snprintf(st->since, sizeof st->since, "write %" PRIu64 " (an open "
                     "found no STATS it could use then)", st->since_seq);
    } else if (rc == KV_ERR_CORRUPT) {
        /* Count from here, and say why; the next save replaces the file. */
        st->since_seq = seq;
        st->rewrite = 1;
        snprintf(st->since, sizeof st->since, "write %" PRIu64 ", this open: "
                 "%s; kv_open ignored it (kv check reports it, kv repair sets it aside)", seq,
                 kv_errmsg());
        kv_error_clear();
    } else if (flushed == 0) {
        /* No STATS and no table: no flush or compaction has left anything,
         * so the totals, all zero, are the database's since its creation.
         * (STATS is first written once they change.) */
        snprintf(st->since, sizeof st->since, "the database was created");
    } else {
        /* Tables but no STATS: kept from when a total changes (the write
         * it counts from is saved with it). */
        st->since_seq = seq;
        snprintf(st->since, sizeof st->since, "write %" PRIu64 ", this open: "
                 "there was no STATS file (written by a build that kept none, or removed)",
                 seq);
    }
    for (size_t i = 0; i < n; i++)
        st->at_open[i] = *st->bound->c[i].value;
    /* What a save compares with: a total that changes from here.  (Without a
     * STATS, since_seq alone differs from the zeros of no file, and is
     * saved with the first total that changes.) */
    memcpy(st->saved, st->at_open, n * sizeof *st->saved);
    return KV_OK;
}

/* REQUIRES: totals_lock held. */
static int lsm_totals_save_locked(lsm_stats *st)
{
    size_t n = st->bound->n;
    uint64_t *now = calloc(n + 1, sizeof *now);
    if (now == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory (saving STATS)", st->dir);
    for (size_t i = 0; i < n; i++)
        now[i] = __atomic_load_n(st->bound->c[i].value, __ATOMIC_RELAXED);
    int rc = stats_file_save(st->dir, st->bound);
    st->saved_us = lsm_now_us();
    if (rc == KV_OK) {
        /* What the file holds is at least `now` (a counter may have grown
         * since): a later save compares with these. */
        memcpy(st->saved, now, n * sizeof *now);
        st->rewrite = 0;
    } else {
        st->save_failures++;
        snprintf(st->save_error, sizeof st->save_error, "%s", kv_errmsg());
    }
    free(now);
    return rc;
}

/* 1 if STATS must be written: a total changed since the last save, or the
 * file must be replaced.  REQUIRES: totals_lock held. */
static int lsm_totals_changed(const lsm_stats *st)
{
    if (st->rewrite)
        return 1;
    for (size_t i = 0; i < st->bound->n; i++)
        if (__atomic_load_n(st->bound->c[i].value, __ATOMIC_RELAXED) != st->saved[i])
            return 1;
    return 0;
}

void lsm_totals_tick(lsm_stats *st, pthread_mutex_t *held)
{
    if (st->bound == NULL || st->read_only)
        return;
    pthread_mutex_lock(&st->lock);
    int due = lsm_now_us() - st->saved_us >= st->period_us;
    pthread_mutex_unlock(&st->lock);
    if (!due)
        return;
    pthread_mutex_unlock(held);
    pthread_mutex_lock(&st->lock);
    if (lsm_totals_changed(st))
        lsm_totals_save_locked(st); /* a failure is counted and shown, and tried again */
    pthread_mutex_unlock(&st->lock);
    pthread_mutex_lock(held);
}

int lsm_totals_save(lsm_stats *st)
{
    if (st->bound == NULL || st->read_only)
        return KV_OK;
    pthread_mutex_lock(&st->lock);
    int rc = lsm_totals_changed(st) ? lsm_totals_save_locked(st) : KV_OK;
    pthread_mutex_unlock(&st->lock);
    return rc;
}

void lsm_totals_stats(lsm_stats *st, stats_text *s)
{
    stats_text_add(s, "totals.since: %s", st->since);
    stats_text_add(s, "totals.since_seq: %" PRIu64, st->since_seq);
    pthread_mutex_lock(&st->lock);
    uint64_t failures = st->save_failures;
    char why[sizeof st->save_error];
    memcpy(why, st->save_error, sizeof why);
    pthread_mutex_unlock(&st->lock);
    if (failures > 0)
        stats_text_add(s, "totals.save_failures: %" PRIu64 " (the last: %s)", failures, why);
}

uint64_t lsm_totals_session(const lsm_stats *st, const uint64_t *counter)
{
    for (size_t i = 0; st->bound != NULL && i < st->bound->n; i++)
        if (st->bound->c[i].value == counter)
            return __atomic_load_n(counter, __ATOMIC_RELAXED) - st->at_open[i];
    return 0;
}
