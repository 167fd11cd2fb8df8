/*
 * lsm_stats.h: the engine's counters, one block per database (LevelDB
 * keeps its per-level stats_ in DBImpl the same way): a table of named
 * counters, the work per level the table set's jobs did, and what kv_open
 * found.  The engine counts (lsm_count, no lock: relaxed atomics) and
 * times (latency_record into `lat`, common/latency.h: the calls of kv.h
 * that read or write, each flush and compaction, each stall; a job of the
 * value store may record LATENCY_VALUE_GC the same way); kv_stats prints
 * (lsm_stats.c).  The totals above them (lsm_totals.h) keep some of them
 * in DIR/STATS from one session to the next; nothing here calls them.
 *
 * Invariants:
 *   S1. The counters below LSM_TOTALS, and every per-level counter of a
 *       level the table set has, are totals: kept in STATS, loaded at open
 *       and saved when they change; the rest count this session only.
 *   S2. A counter only grows (lsm_count adds); kv_stats and the totals
 *       read each with one atomic load, so a line may be a moment older
 *       than the next, never torn.
 */
#ifndef KV_LSM_STATS_H
#define KV_LSM_STATS_H

#include <stdint.h>
#include <time.h>

#include "latency.h"
#include "stats_text.h"
#include "level_counters.h"

typedef enum lsm_counter {
    /* Totals (S1), in STATS under these names (lsm_totals.h). */
    LSM_FLUSH_COUNT,            /* flush.count */
    LSM_FLUSH_BYTES,            /* flush.bytes */
    LSM_FLUSH_ENTRIES,          /* flush.entries */
    LSM_FLUSH_US,               /* flush.us */
    LSM_COMPACT_COUNT,          /* compact.count */
    LSM_COMPACT_BYTES_READ,     /* compact.bytes_read */
    LSM_COMPACT_BYTES_WRITTEN,  /* compact.bytes_written */
    LSM_COMPACT_DROPPED,        /* compact.entries_dropped */
    LSM_COMPACT_US,             /* compact.us */
    LSM_TOTALS,
    /* This session's. */
    LSM_PUTS = LSM_TOTALS,
    LSM_DELETES,
    LSM_BATCHES,
    LSM_GETS,
    LSM_GET_TABLE_READS,        /* positioned reads of the tables */
    LSM_GET_TABLES_SEARCHED,    /* tables that had to be read */
    LSM_STALLS,                 /* writers that waited for a flush */
    LSM_STALL_US,
    LSM_SWITCHES,               /* memtables frozen */
    LSM_NEW_LOG_US,
    LSM_FLUSH_FAILURES,
    LSM_LOGS_REMOVED,           /* logs a flush made redundant */
    LSM_SLOWDOWNS,              /* writes the table set slowed down */
    LSM_SLOWDOWN_US,
    LSM_STOPS,                  /* writes it stopped until a job ended */
    LSM_STOP_US,
    LSM_FILES_DELETED,          /* table files no version held, removed */
    LSM_COMPACT_FAILURES,       /* background jobs that failed */
    LSM_FLUSHES_IN_MERGE,       /* flushes made while a merge ran */
    LSM_GARBAGE_MERGES,         /* merges picked for their dead versions */
    LSM_COUNTERS
} lsm_counter;

typedef struct lsm_stats {
    uint64_t c[LSM_COUNTERS];
    uint64_t level[TABLE_LEVELS_MAX][TABLE_LEVEL_COUNTERS];   /* totals (S1) */
    int levels;                 /* the table set's (table_set_found.levels) */

    /* What kv_open found (lsm_replay.c and the table set). */
    uint64_t open_us, open_records, open_records_skipped, open_wal_bytes;
    uint64_t open_torn_found, open_torn_cut, open_tail_records_dropped;
    uint64_t open_tables_removed, open_wals_removed, open_tmps_removed, open_others_removed;
    int open_wal_created;

    /* The totals' values when this session began counting (what kv_open
     * loaded): a total's growth in this session is its value less this. */
    uint64_t opened[LSM_TOTALS];
    uint64_t opened_level[TABLE_LEVELS_MAX][TABLE_LEVEL_COUNTERS];

    latency_set lat;            /* how long each operation took (this session) */
} lsm_stats;

/* The database's clock, in microseconds. */
static inline uint64_t lsm_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- what kv_stats prints of them (lsm_stats.c) ---------------------------------- */

/* kv_stats's lines of the counters: the levels' work (if the table set has
 * levels), the totals, what kv_open found, this session's counts.  The
 * engine prints its own state around them (lsm_describe.c). */
void lsm_stats_lines(lsm_stats *st, stats_text *s);

static inline void lsm_count(lsm_stats *s, lsm_counter c, uint64_t n)
{
    __atomic_add_fetch(&s->c[c], n, __ATOMIC_RELAXED);
}

static inline uint64_t lsm_counted(const lsm_stats *s, lsm_counter c)
{
    return __atomic_load_n(&s->c[c], __ATOMIC_RELAXED);
}

/* How much a total (c < LSM_TOTALS) grew in this session. */
static inline uint64_t lsm_counted_session(const lsm_stats *s, lsm_counter c)
{
    return lsm_counted(s, c) - s->opened[c];
}

static inline void lsm_count_level(lsm_stats *s, int level, int which, uint64_t n)
{
    if (level >= 0 && level < TABLE_LEVELS_MAX)
        __atomic_add_fetch(&s->level[level][which], n, __ATOMIC_RELAXED);
}

#endif
