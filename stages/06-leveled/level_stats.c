/*
 * level_stats.c: kv_stats for stage 06: stage 04's lines (the memtables,
 * the logs, what kv_open found, the write path, reads, the WAL queue)
 * and, per level, its tables and bytes against its target, the
 * compactions into it, the bytes they read and wrote, and the write
 * amplification they add up to: every byte written to a table (flushes
 * and compactions) over the bytes flushed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "error.h"
#include "level_db.h"
#include "stats_text.h"

static uint64_t stat(const uint64_t *c) { return __atomic_load_n(c, __ATOMIC_RELAXED); }

static double per(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

static void stats_levels(level_db *ldb, stats_text *f)
{
    kv_db *db = &ldb->base;
    uint64_t seq = 0;
    lsm_view *view = lsm_view_get(db, &seq);
    const version *v = ((level_view *)view)->v;
    stats_text_add(f, "seq.last: %" PRIu64 "", seq);
    stats_text_add(f, "memtable.limit_bytes: %zu", db->memtable_limit);
    stats_text_add(f, "memtable.bytes: %zu", memtable_memory_usage(view->mem));
    stats_text_add(f, "memtable.entries: %" PRIu64 "", memtable_entries(view->mem));
    stats_text_add(f, "memtable.frozen_bytes: %zu",
            view->imm ? memtable_memory_usage(view->imm) : 0);
    stats_text_add(f, "tables.count: %zu", version_total_files(v));
    stats_text_add(f, "tables.bytes: %" PRIu64 "", version_total_bytes(v));
    uint64_t written = 0;
    for (int l = 0; l < VERSION_LEVELS; l++)
        written += stat(&ldb->levels[l].bytes_written);
    uint64_t flushed = stat(&ldb->levels[0].bytes_written);
    stats_text_add(f, "levels: level tables bytes target score | compactions moves read_mb "
               "written_mb seconds");
    for (int l = 0; l < VERSION_LEVELS; l++) {
        const level_counters *c = &ldb->levels[l];
        stats_text_add(f, "level.%d: %zu %" PRIu64 " %" PRIu64 " %.2f | %" PRIu64 " %" PRIu64
                   " %.1f %.1f %.2f", l, v->nfiles[l], v->level_bytes[l],
                l == 0 ? (uint64_t)ldb->copt.l0_trigger
                       : compaction_level_target(&ldb->copt, l),
                compaction_level_score(v, &ldb->copt, l), stat(&c->compactions),
                stat(&c->moves), (double)stat(&c->bytes_read) / 1048576.0,
                (double)stat(&c->bytes_written) / 1048576.0, (double)stat(&c->us) / 1e6);
    }
    stats_text_add(f, "compact.write_amplification: %.2f", per(written, flushed));
    lsm_view_unref(view);
    pthread_mutex_lock(&db->write_lock);
    uint64_t wal_bytes = 0;
    for (size_t i = 0; i < db->nwals; i++)
        wal_bytes += db->wals[i]->size;
    stats_text_add(f, "logs.count: %zu", db->nwals);
    stats_text_add(f, "logs.bytes: %" PRIu64, wal_bytes);
    pthread_mutex_unlock(&db->write_lock);
}

static void stats_session(level_db *ldb, stats_text *f)
{
    kv_db *db = &ldb->base;
    uint64_t gets = stat(&db->gets), flushes = stat(&db->flushes);
    stats_text_add(f, "open.ms: %.3f", (double)db->open_us / 1000.0);
    stats_text_add(f, "open.records_replayed: %" PRIu64 "", db->open_records);
    stats_text_add(f, "open.ops_already_in_tables: %" PRIu64 "", db->open_records_skipped);
    stats_text_add(f, "open.torn_tail_bytes_found: %" PRIu64 "", db->open_torn_found);
    stats_text_add(f, "open.torn_tail_bytes_cut: %" PRIu64 "", db->open_torn_cut);
    stats_text_add(f, "open.garbage_tables_removed: %" PRIu64 "", db->open_tables_removed);
    stats_text_add(f, "open.flushed_logs_removed: %" PRIu64 "", db->open_wals_removed);
    stats_text_add(f, "open.temporary_files_removed: %" PRIu64 "", db->open_tmps_removed);
    stats_text_add(f, "open.old_manifests_removed: %" PRIu64 "", ldb->open_garbage_removed);
    stats_text_add(f, "session.puts: %" PRIu64 "", stat(&db->puts));
    stats_text_add(f, "session.deletes: %" PRIu64 "", stat(&db->deletes));
    stats_text_add(f, "session.batches: %" PRIu64 "", stat(&db->batches));
    stats_text_add(f, "session.gets: %" PRIu64 "", gets);
    stats_text_add(f, "get.table_reads_per_get: %.2f", per(stat(&db->get_table_reads), gets));
    stats_text_add(f, "get.tables_per_get: %.2f", per(stat(&db->get_tables_searched), gets));
    stats_text_add(f, "write.memtable_switches: %" PRIu64 "", stat(&db->switches));
    stats_text_add(f, "write.stalls_for_flush: %" PRIu64 "", stat(&db->stalls));
    stats_text_add(f, "write.stall_ms: %.3f", (double)stat(&db->stall_us) / 1000.0);
    stats_text_add(f, "write.l0_slowdowns: %" PRIu64 "", stat(&ldb->slowdowns));
    stats_text_add(f, "write.l0_slowdown_ms: %.3f", (double)stat(&ldb->slowdown_us) / 1000.0);
    stats_text_add(f, "write.l0_stops: %" PRIu64 "", stat(&ldb->stops));
    stats_text_add(f, "write.l0_stop_ms: %.3f", (double)stat(&ldb->stop_us) / 1000.0);
    stats_text_add(f, "write.failed: %d", __atomic_load_n(&db->failed, __ATOMIC_ACQUIRE));
    stats_text_add(f, "flush.count: %" PRIu64 "", flushes);
    stats_text_add(f, "flush.bytes: %" PRIu64 "", stat(&db->flush_bytes));
    stats_text_add(f, "flush.ms_avg: %.3f", per(stat(&db->flush_us), flushes) / 1000.0);
    stats_text_add(f, "flush.failures: %" PRIu64 "", stat(&db->flush_failures));
    stats_text_add(f, "flush.logs_removed: %" PRIu64 "", stat(&db->wals_removed));
    stats_text_add(f, "compact.count: %" PRIu64 "", stat(&db->compactions));
    stats_text_add(f, "compact.bytes_read: %" PRIu64 "", stat(&db->compact_bytes_in));
    stats_text_add(f, "compact.bytes_written: %" PRIu64 "", stat(&db->compact_bytes_out));
    stats_text_add(f, "compact.entries_dropped: %" PRIu64 "", stat(&db->compact_dropped));
    stats_text_add(f, "compact.ms: %.3f", (double)stat(&db->compact_us) / 1000.0);
    stats_text_add(f, "compact.files_deleted: %" PRIu64 "", stat(&ldb->files_deleted));
    stats_text_add(f, "manifest.edits: %" PRIu64 "", stat(&ldb->manifest_edits));
    stats_text_add(f, "manifest.rolls: %" PRIu64 "", stat(&ldb->manifest_rolls));
    stats_text_add(f, "snapshots.live: %" PRIu64 "", atomic_load(&db->live));
    wal_queue_stats q = {0};
    if (db->q != NULL)
        wal_queue_stats_get(db->q, &q);
    stats_text_add(f, "wal.records: %" PRIu64 "", q.records);
    stats_text_add(f, "wal.groups: %" PRIu64 "", q.groups);
    stats_text_add(f, "wal.syncs: %" PRIu64 "", q.syncs);
    stats_text_add(f, "durability: %s",
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
    stats_text f = {0};
    stats_text_add(&f, "stage: %s", kv_stage());
    stats_text_add(&f, "dir: %s", db->dir.path);
    stats_levels(level_db_of(db), &f);
    stats_session(level_db_of(db), &f);
    table_ctx_stats(db->tctx, stats_text_line, &f);
    if (f.failed || f.p == NULL) {
        free(f.p);
        return kv_error(KV_ERR_NOMEM, "kv_stats: out of memory");
    }
    *text = f.p;
    return KV_OK;
}
