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

static uint64_t stat(const uint64_t *c) { return __atomic_load_n(c, __ATOMIC_RELAXED); }

static double per(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

static void stats_line(void *ctx, const char *line) { fprintf(ctx, "%s\n", line); }

static void stats_levels(level_db *ldb, FILE *f)
{
    kv_db *db = &ldb->base;
    uint64_t seq = 0;
    lsm_view *view = lsm_view_get(db, &seq);
    const version *v = ((level_view *)view)->v;
    fprintf(f, "seq.last: %" PRIu64 "\n", seq);
    fprintf(f, "memtable.limit_bytes: %zu\n", db->memtable_limit);
    fprintf(f, "memtable.bytes: %zu\n", memtable_memory_usage(view->mem));
    fprintf(f, "memtable.entries: %" PRIu64 "\n", memtable_entries(view->mem));
    fprintf(f, "memtable.frozen_bytes: %zu\n",
            view->imm ? memtable_memory_usage(view->imm) : 0);
    fprintf(f, "tables.count: %zu\n", version_total_files(v));
    fprintf(f, "tables.bytes: %" PRIu64 "\n", version_total_bytes(v));
    uint64_t written = 0;
    for (int l = 0; l < VERSION_LEVELS; l++)
        written += stat(&ldb->levels[l].bytes_written);
    uint64_t flushed = stat(&ldb->levels[0].bytes_written);
    fprintf(f, "levels: level tables bytes target score | compactions moves read_mb "
               "written_mb seconds\n");
    for (int l = 0; l < VERSION_LEVELS; l++) {
        const level_counters *c = &ldb->levels[l];
        fprintf(f, "level.%d: %zu %" PRIu64 " %" PRIu64 " %.2f | %" PRIu64 " %" PRIu64
                   " %.1f %.1f %.2f\n", l, v->nfiles[l], v->level_bytes[l],
                l == 0 ? (uint64_t)ldb->copt.l0_trigger
                       : compaction_level_target(&ldb->copt, l),
                compaction_level_score(v, &ldb->copt, l), stat(&c->compactions),
                stat(&c->moves), (double)stat(&c->bytes_read) / 1048576.0,
                (double)stat(&c->bytes_written) / 1048576.0, (double)stat(&c->us) / 1e6);
    }
    fprintf(f, "compact.write_amplification: %.2f\n", per(written, flushed));
    lsm_view_unref(view);
    pthread_mutex_lock(&db->write_lock);
    uint64_t wal_bytes = 0;
    for (size_t i = 0; i < db->nwals; i++)
        wal_bytes += db->wals[i]->size;
    fprintf(f, "logs.count: %zu\nlogs.bytes: %" PRIu64 "\n", db->nwals, wal_bytes);
    pthread_mutex_unlock(&db->write_lock);
}

static void stats_session(level_db *ldb, FILE *f)
{
    kv_db *db = &ldb->base;
    uint64_t gets = stat(&db->gets), flushes = stat(&db->flushes);
    fprintf(f, "open.ms: %.3f\n", (double)db->open_us / 1000.0);
    fprintf(f, "open.records_replayed: %" PRIu64 "\n", db->open_records);
    fprintf(f, "open.ops_already_in_tables: %" PRIu64 "\n", db->open_records_skipped);
    fprintf(f, "open.torn_tail_bytes_found: %" PRIu64 "\n", db->open_torn_found);
    fprintf(f, "open.torn_tail_bytes_cut: %" PRIu64 "\n", db->open_torn_cut);
    fprintf(f, "open.garbage_tables_removed: %" PRIu64 "\n", db->open_tables_removed);
    fprintf(f, "open.flushed_logs_removed: %" PRIu64 "\n", db->open_wals_removed);
    fprintf(f, "open.temporary_files_removed: %" PRIu64 "\n", db->open_tmps_removed);
    fprintf(f, "open.old_manifests_removed: %" PRIu64 "\n", ldb->open_garbage_removed);
    fprintf(f, "session.puts: %" PRIu64 "\n", stat(&db->puts));
    fprintf(f, "session.deletes: %" PRIu64 "\n", stat(&db->deletes));
    fprintf(f, "session.batches: %" PRIu64 "\n", stat(&db->batches));
    fprintf(f, "session.gets: %" PRIu64 "\n", gets);
    fprintf(f, "get.table_reads_per_get: %.2f\n", per(stat(&db->get_table_reads), gets));
    fprintf(f, "get.tables_per_get: %.2f\n", per(stat(&db->get_tables_searched), gets));
    fprintf(f, "write.memtable_switches: %" PRIu64 "\n", stat(&db->switches));
    fprintf(f, "write.stalls_for_flush: %" PRIu64 "\n", stat(&db->stalls));
    fprintf(f, "write.stall_ms: %.3f\n", (double)stat(&db->stall_us) / 1000.0);
    fprintf(f, "write.l0_slowdowns: %" PRIu64 "\n", stat(&ldb->slowdowns));
    fprintf(f, "write.l0_slowdown_ms: %.3f\n", (double)stat(&ldb->slowdown_us) / 1000.0);
    fprintf(f, "write.l0_stops: %" PRIu64 "\n", stat(&ldb->stops));
    fprintf(f, "write.l0_stop_ms: %.3f\n", (double)stat(&ldb->stop_us) / 1000.0);
    fprintf(f, "write.failed: %d\n", __atomic_load_n(&db->failed, __ATOMIC_ACQUIRE));
    fprintf(f, "flush.count: %" PRIu64 "\n", flushes);
    fprintf(f, "flush.bytes: %" PRIu64 "\n", stat(&db->flush_bytes));
    fprintf(f, "flush.ms_avg: %.3f\n", per(stat(&db->flush_us), flushes) / 1000.0);
    fprintf(f, "flush.failures: %" PRIu64 "\n", stat(&db->flush_failures));
    fprintf(f, "flush.logs_removed: %" PRIu64 "\n", stat(&db->wals_removed));
    fprintf(f, "compact.count: %" PRIu64 "\n", stat(&db->compactions));
    fprintf(f, "compact.bytes_read: %" PRIu64 "\n", stat(&db->compact_bytes_in));
    fprintf(f, "compact.bytes_written: %" PRIu64 "\n", stat(&db->compact_bytes_out));
    fprintf(f, "compact.entries_dropped: %" PRIu64 "\n", stat(&db->compact_dropped));
    fprintf(f, "compact.ms: %.3f\n", (double)stat(&db->compact_us) / 1000.0);
    fprintf(f, "compact.files_deleted: %" PRIu64 "\n", stat(&ldb->files_deleted));
    fprintf(f, "manifest.edits: %" PRIu64 "\n", stat(&ldb->manifest_edits));
    fprintf(f, "manifest.rolls: %" PRIu64 "\n", stat(&ldb->manifest_rolls));
    fprintf(f, "snapshots.live: %" PRIu64 "\n", atomic_load(&db->live));
    wal_queue_stats q = {0};
    if (db->q != NULL)
        wal_queue_stats_get(db->q, &q);
    fprintf(f, "wal.records: %" PRIu64 "\n", q.records);
    fprintf(f, "wal.groups: %" PRIu64 "\n", q.groups);
    fprintf(f, "wal.syncs: %" PRIu64 "\n", q.syncs);
    fprintf(f, "durability: %s\n",
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
    char *p = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&p, &n);
    if (f == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_stats: out of memory");
    fprintf(f, "stage: %s\ndir: %s\n", kv_stage(), db->dir.path);
    stats_levels(level_db_of(db), f);
    stats_session(level_db_of(db), f);
    table_ctx_stats(db->tctx, stats_line, f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || p == NULL) {
        free(p);
        return kv_error(KV_ERR_NOMEM, "kv_stats: out of memory");
    }
    *text = p;
    return KV_OK;
}
