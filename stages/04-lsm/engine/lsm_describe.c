/*
 * lsm_describe.c: kv_stats for the LSM stages: what the tree holds
 * (memtables, tables, logs), then where the totals count from
 * (lsm_totals.c) and the counters' lines (lsm_stats.c: the totals, what
 * kv_open found, this session's counts), then the engine's
 * own state (a failure, live snapshots, the log's group commit), the
 * disk's reserve, the caches, how long each call, flush, compaction and
 * stall took (the latency histograms), and the value store's lines.  The
 * tables' own lines come from the table set (table_set_describe).
 */
#include <inttypes.h>
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
    stats_text_add(s, "memtable.limit_bytes: %zu", db->memtables.limit);
    stats_text_add(s, "memtable.bytes: %zu", memtable_memory_usage(v->mem));
    stats_text_add(s, "memtable.entries: %" PRIu64, memtable_entries(v->mem));
    stats_text_add(s, "memtable.frozen_bytes: %zu", v->imm ? memtable_memory_usage(v->imm) : 0);
    table_describe d = {.levels = (const uint64_t (*)[TABLE_LEVEL_COUNTERS])db->count.stats.level,
                        .lock = &db->write_lock};
    int rc = table_set_describe(db->tables.set, v->tables, &d, stats_text_line, s);
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

static void stats_wal(kv_db *db, stats_text *s)
{
    wal_queue_stats q = {0};
    if (db->commit_queue != NULL)
        wal_queue_stats_get(db->commit_queue, &q);
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
    lsm_totals_stats(&db->count.totals, &s);
    lsm_stats_lines(&db->count.stats, &s);
    stats_text_add(&s, "write.failed: %d", __atomic_load_n(&db->fail.failed, __ATOMIC_ACQUIRE));
    stats_text_add(&s, "snapshots.live: %" PRIu64, atomic_load(&db->snaps.live));
    stats_wal(db, &s);
    if (db->room != NULL)
        lsm_room_stats(db->room, &s);
    table_ctx_describe(db->tables.ctx, 0, stats_text_line, &s);
    bg_rate_stats(db->tables.rate, stats_text_line, &s);
    unsigned timed = LATENCY_CALLS | LATENCY_MASK(LATENCY_FLUSH) | LATENCY_MASK(LATENCY_COMPACT) |
                     LATENCY_MASK(LATENCY_STALL_MEMTABLE);
    if (db->count.stats.levels > 0) /* a brake on writers (lsm_admit.c) */
        timed |= LATENCY_MASK(LATENCY_STALL_SLOWDOWN) | LATENCY_MASK(LATENCY_STALL_STOP);
    rc = latency_stats(&db->count.stats.lat, timed, stats_text_line, &s);
    if (rc == KV_OK)
        rc = value_store_describe(db->values.store, 0, stats_text_line, &s);
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
