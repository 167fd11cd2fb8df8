/*
 * lsm_stats.c: kv_stats's lines of the engine's counters (lsm_stats.h):
 * the totals, what flushes and compactions did since the database was
 * created (the totals above keep them in STATS and print where they
 * count from); the work of a table set with
 * levels; what kv_open found; and, named session.*, what the write path and
 * the reads did since this open.  Read costs are the lesson of stage 04:
 * session.get.table_reads_per_get is the positioned reads a lookup made,
 * and session.get.tables_per_get how many tables it had to search.  The
 * engine feeds the counters (lsm_count) and prints its own state around
 * these lines (lsm_describe.c); nothing here reads the engine.
 */
#include <inttypes.h>
#include <stdio.h>

#include "lsm_stats.h"

static double per(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

/* The engine's work that only a table set with levels does: a brake on
 * writers, moves, compactions in the background. */
static void stats_levels(const lsm_stats *st, stats_text *s)
{
    stats_text_add(s, "session.write.l0_slowdowns: %" PRIu64, lsm_counted(st, LSM_SLOWDOWNS));
    stats_text_add(s, "session.write.l0_slowdown_ms: %.3f",
                   (double)lsm_counted(st, LSM_SLOWDOWN_US) / 1000.0);
    stats_text_add(s, "session.write.l0_stops: %" PRIu64, lsm_counted(st, LSM_STOPS));
    stats_text_add(s, "session.write.l0_stop_ms: %.3f",
                   (double)lsm_counted(st, LSM_STOP_US) / 1000.0);
    uint64_t moves = 0;
    for (int l = 0; l < st->levels && l < TABLE_LEVELS_MAX; l++)
        moves += __atomic_load_n(&st->level[l][TABLE_LEVEL_MOVES], __ATOMIC_RELAXED) -
                 st->opened_level[l][TABLE_LEVEL_MOVES];
    stats_text_add(s, "session.compact.moves: %" PRIu64, moves);
    stats_text_add(s, "session.compact.files_deleted: %" PRIu64,
                   lsm_counted(st, LSM_FILES_DELETED));
    stats_text_add(s, "session.compact.failures: %" PRIu64,
                   lsm_counted(st, LSM_COMPACT_FAILURES));
    stats_text_add(s, "session.flush.during_compaction: %" PRIu64,
                   lsm_counted(st, LSM_FLUSHES_IN_MERGE));
    stats_text_add(s, "session.compact.garbage: %" PRIu64, lsm_counted(st, LSM_GARBAGE_MERGES));
}

/* Kept in STATS from one session to the next (S1). */
static void stats_totals(lsm_stats *st, stats_text *s)
{
    uint64_t flushes = lsm_counted(st, LSM_FLUSH_COUNT);
    stats_text_add(s, "flush.count: %" PRIu64, flushes);
    stats_text_add(s, "flush.bytes: %" PRIu64, lsm_counted(st, LSM_FLUSH_BYTES));
    stats_text_add(s, "flush.entries: %" PRIu64, lsm_counted(st, LSM_FLUSH_ENTRIES));
    stats_text_add(s, "flush.ms_avg: %.3f",
                   per(lsm_counted(st, LSM_FLUSH_US), flushes) / 1000.0);
    stats_text_add(s, "compact.count: %" PRIu64, lsm_counted(st, LSM_COMPACT_COUNT));
    stats_text_add(s, "compact.bytes_read: %" PRIu64, lsm_counted(st, LSM_COMPACT_BYTES_READ));
    stats_text_add(s, "compact.bytes_written: %" PRIu64,
                   lsm_counted(st, LSM_COMPACT_BYTES_WRITTEN));
    stats_text_add(s, "compact.entries_dropped: %" PRIu64, lsm_counted(st, LSM_COMPACT_DROPPED));
    stats_text_add(s, "compact.ms: %.3f", (double)lsm_counted(st, LSM_COMPACT_US) / 1000.0);
}

static void stats_open(const lsm_stats *st, stats_text *s)
{
    stats_text_add(s, "open.ms: %.3f", (double)st->open_us / 1000.0);
    stats_text_add(s, "open.log_bytes: %" PRIu64, st->open_wal_bytes);
    stats_text_add(s, "open.records_replayed: %" PRIu64, st->open_records);
    stats_text_add(s, "open.ops_already_in_tables: %" PRIu64, st->open_records_skipped);
    stats_text_add(s, "open.torn_tail_bytes_found: %" PRIu64, st->open_torn_found);
    stats_text_add(s, "open.torn_tail_bytes_cut: %" PRIu64, st->open_torn_cut);
    stats_text_add(s, "open.tail_cut_hid_valid_records: %" PRIu64, st->open_tail_records_dropped);
    stats_text_add(s, "open.obsolete_tables_removed: %" PRIu64, st->open_tables_removed);
    stats_text_add(s, "open.flushed_logs_removed: %" PRIu64, st->open_wals_removed);
    stats_text_add(s, "open.temporary_files_removed: %" PRIu64, st->open_tmps_removed);
}

/* Counted since this kv_open, and gone with it. */
static void stats_session(const lsm_stats *st, stats_text *s)
{
    uint64_t gets = lsm_counted(st, LSM_GETS);
    stats_text_add(s, "session.puts: %" PRIu64, lsm_counted(st, LSM_PUTS));
    stats_text_add(s, "session.deletes: %" PRIu64, lsm_counted(st, LSM_DELETES));
    stats_text_add(s, "session.batches: %" PRIu64, lsm_counted(st, LSM_BATCHES));
    stats_text_add(s, "session.gets: %" PRIu64, gets);
    stats_text_add(s, "session.get.table_reads: %" PRIu64, lsm_counted(st, LSM_GET_TABLE_READS));
    stats_text_add(s, "session.get.tables_searched: %" PRIu64,
                   lsm_counted(st, LSM_GET_TABLES_SEARCHED));
    stats_text_add(s, "session.get.table_reads_per_get: %.2f",
                   per(lsm_counted(st, LSM_GET_TABLE_READS), gets));
    stats_text_add(s, "session.get.tables_per_get: %.2f",
                   per(lsm_counted(st, LSM_GET_TABLES_SEARCHED), gets));
    stats_text_add(s, "session.write.memtable_switches: %" PRIu64, lsm_counted(st, LSM_SWITCHES));
    stats_text_add(s, "session.write.new_log_ms: %.3f",
                   (double)lsm_counted(st, LSM_NEW_LOG_US) / 1000.0);
    stats_text_add(s, "session.write.stalls: %" PRIu64, lsm_counted(st, LSM_STALLS));
    stats_text_add(s, "session.write.stall_ms: %.3f",
                   (double)lsm_counted(st, LSM_STALL_US) / 1000.0);
    stats_text_add(s, "session.flush.count: %" PRIu64,
                   lsm_counted_session(st, LSM_FLUSH_COUNT));
    stats_text_add(s, "session.flush.failures: %" PRIu64, lsm_counted(st, LSM_FLUSH_FAILURES));
    stats_text_add(s, "session.flush.logs_removed: %" PRIu64, lsm_counted(st, LSM_LOGS_REMOVED));
    stats_text_add(s, "session.compact.count: %" PRIu64,
                   lsm_counted_session(st, LSM_COMPACT_COUNT));
}

void lsm_stats_lines(lsm_stats *st, stats_text *s)
{
    if (st->levels > 0)
        stats_levels(st, s);
    stats_totals(st, s);
    stats_open(st, s);
    stats_session(st, s);
}
