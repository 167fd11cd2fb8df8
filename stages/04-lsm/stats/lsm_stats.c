/*
 * lsm_stats.c: kv_stats for the LSM stages: what the tree holds (memtables,
 * tables, logs); the totals, what flushes and compactions did since the
 * database was created (kept in STATS: lsm_totals.c); what kv_open found;
 * and, named session.*, what the write path, the reads and the log did
 * since this open, and how long each call, flush, compaction and stall
 * took (the latency histograms, lsm_stats.h).  Read costs are the lesson
 * of stage 04:
 * session.get.table_reads_per_get is the positioned reads a lookup made,
 * and session.get.tables_per_get how many tables it had to search.  The
 * tables' own lines come from the table set (table_set_describe); the
 * counters are the engine's (lsm_stats.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error.h"
#include "lsm_db.h"
#include "lsm_elsewhere.h"
#include "lsm_room.h"
#include "stats_text.h"


static double per(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

static void stats_tree(kv_db *db, stats_text *s)
{
    uint64_t seq = 0;
    lsm_view *v = lsm_view_get(db, &seq);
    stats_text_add(s, "seq.last: %" PRIu64, seq);
    stats_text_add(s, "memtable.limit_bytes: %zu", db->mt.limit);
    stats_text_add(s, "memtable.bytes: %zu", memtable_memory_usage(v->mem));
    stats_text_add(s, "memtable.entries: %" PRIu64, memtable_entries(v->mem));
    stats_text_add(s, "memtable.frozen_bytes: %zu", v->imm ? memtable_memory_usage(v->imm) : 0);
    table_describe d = {.levels = (const uint64_t (*)[TABLE_LEVEL_COUNTERS])db->stats.level,
                        .lock = &db->write_lock};
    int rc = table_set_describe(db->tables, v->tables, &d, stats_text_line, s);
    if (rc != KV_OK)
        stats_text_add(s, "tables.error: %s", kv_errmsg());
    lsm_view_unref(v);
    pthread_mutex_lock(&db->write_lock);
    size_t nwals = db->logs.n;
    uint64_t wal_bytes = 0;
    for (size_t i = 0; i < nwals; i++)
        wal_bytes += db->logs.v[i]->size;
    pthread_mutex_unlock(&db->write_lock);
    stats_text_add(s, "logs.count: %zu", nwals);
    stats_text_add(s, "logs.bytes: %" PRIu64, wal_bytes);
}

/* The engine's work that only a table set with levels does: a brake on
 * writers, moves, compactions in the background. */
static void stats_levels(kv_db *db, stats_text *s)
{
    const lsm_stats *st = &db->stats;
    stats_text_add(s, "session.write.l0_slowdowns: %" PRIu64, lsm_counted(st, LSM_SLOWDOWNS));
    stats_text_add(s, "session.write.l0_slowdown_ms: %.3f",
                   (double)lsm_counted(st, LSM_SLOWDOWN_US) / 1000.0);
    stats_text_add(s, "session.write.l0_stops: %" PRIu64, lsm_counted(st, LSM_STOPS));
    stats_text_add(s, "session.write.l0_stop_ms: %.3f",
                   (double)lsm_counted(st, LSM_STOP_US) / 1000.0);
    uint64_t moves = 0;
    for (int l = 0; l < st->levels && l < TABLE_LEVELS_MAX; l++)
        moves += lsm_totals_session(db, &st->level[l][TABLE_LEVEL_MOVES]);
    stats_text_add(s, "session.compact.moves: %" PRIu64, moves);
    stats_text_add(s, "session.compact.files_deleted: %" PRIu64,
                   lsm_counted(st, LSM_FILES_DELETED));
    stats_text_add(s, "session.compact.failures: %" PRIu64,
                   lsm_counted(st, LSM_COMPACT_FAILURES));
    stats_text_add(s, "session.flush.during_compaction: %" PRIu64,
                   lsm_counted(st, LSM_FLUSHES_IN_MERGE));
    stats_text_add(s, "session.compact.garbage: %" PRIu64, lsm_counted(st, LSM_GARBAGE_MERGES));
}

static void stats_open(kv_db *db, stats_text *s)
{
    const lsm_stats *st = &db->stats;
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

/* Kept in STATS from one session to the next (lsm_totals.c). */
static void stats_totals(kv_db *db, stats_text *s)
{
    const lsm_stats *st = &db->stats;
    uint64_t flushes = lsm_counted(st, LSM_FLUSH_COUNT);
    lsm_totals_stats(db, s);
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

/* Counted since this kv_open, and gone with it. */
static void stats_session(kv_db *db, stats_text *s)
{
    const lsm_stats *st = &db->stats;
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
                   lsm_totals_session(db, &st->c[LSM_FLUSH_COUNT]));
    stats_text_add(s, "session.flush.failures: %" PRIu64, lsm_counted(st, LSM_FLUSH_FAILURES));
    stats_text_add(s, "session.flush.logs_removed: %" PRIu64, lsm_counted(st, LSM_LOGS_REMOVED));
    stats_text_add(s, "session.compact.count: %" PRIu64,
                   lsm_totals_session(db, &st->c[LSM_COMPACT_COUNT]));
    stats_text_add(s, "write.failed: %d", __atomic_load_n(&db->fail.failed, __ATOMIC_ACQUIRE));
    stats_text_add(s, "snapshots.live: %" PRIu64, atomic_load(&db->live));
}

static void stats_wal(kv_db *db, stats_text *s)
{
    wal_queue_stats q = {0};
    if (db->q != NULL)
        wal_queue_stats_get(db->q, &q);
    uint64_t all_syncs = q.syncs + q.dir_syncs;
    stats_text_add(s, "session.wal.records: %" PRIu64, q.records);
    stats_text_add(s, "session.wal.groups: %" PRIu64, q.groups);
    stats_text_add(s, "session.wal.records_per_group: %.2f", per(q.records, q.groups));
    stats_text_add(s, "session.wal.largest_group: %" PRIu64, q.largest_group);
    stats_text_add(s, "session.wal.syncs: %" PRIu64, q.syncs);
    stats_text_add(s, "session.wal.dir_syncs: %" PRIu64, q.dir_syncs);
    stats_text_add(s, "session.wal.sync_us_avg: %.1f", per(q.sync_ns, all_syncs) / 1000.0);
    stats_text_add(s, "durability: %s",
              db->opt.sync ? "sync = 1: each write is on stable storage when it returns "
                             "(fdatasync of the log, group commit)"
                           : "sync = 0: writes reach the OS when they return; after a power "
                             "loss a prefix of them survives; kv_close makes them durable");
}

int kv_stats(kv_db *db, char **text)
{
    int rc;
    if ((rc = args_check_ptr("kv_stats", db, "db")) != KV_OK ||
        (rc = args_check_ptr("kv_stats", text, "text pointer")) != KV_OK)
        return rc;
    stats_text s = {0};
    stats_text_add(&s, "stage: %s", kv_stage());
    stats_text_add(&s, "dir: %s", db->dir.path);
    db_dir_stats(&db->dir, &s);
    stats_tree(db, &s);
    if (db->stats.levels > 0)
        stats_levels(db, &s);
    stats_totals(db, &s);
    stats_open(db, &s);
    stats_session(db, &s);
    stats_wal(db, &s);
    if (db->room != NULL)
        lsm_room_stats(db->room, &s);
    table_ctx_stats(db->tctx, stats_text_line, &s);
    unsigned timed = LATENCY_CALLS | LATENCY_MASK(LATENCY_FLUSH) | LATENCY_MASK(LATENCY_COMPACT) |
                     LATENCY_MASK(LATENCY_STALL_MEMTABLE);
    if (db->stats.levels > 0) /* a brake on writers (lsm_admit.c) */
        timed |= LATENCY_MASK(LATENCY_STALL_SLOWDOWN) | LATENCY_MASK(LATENCY_STALL_STOP);
    rc = latency_stats(&db->stats.lat, timed, stats_text_line, &s);
    if (rc == KV_OK)
        rc = value_store_describe(db->values, 0, stats_text_line, &s);
    if (rc != KV_OK) {
        free(s.p);
        return rc;
    }
    if (s.failed || s.p == NULL) {
        free(s.p);
        return kv_error(KV_ERR_NOMEM, "kv_stats: out of memory");
    }
    *text = s.p;
    return KV_OK;
}
