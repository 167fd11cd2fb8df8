/*
 * level_stats.c: stage 06's lines of kv_stats.  Stage 04's kv_stats
 * (lsm_stats.c, linked unchanged) prints the memtables, the logs, what
 * kv_open found, the write path, reads, flushes and the WAL queue, and
 * asks the table set for its tables' lines (table_set_stats): here, per
 * level, its tables and bytes against its target, the compactions into
 * it, the bytes they read and wrote, and the write amplification they add
 * up to (every byte written to a table, by flushes and compactions, over
 * the bytes flushed); then what only levels have: the level-0 brake on
 * writes, the tables deleted, the manifest.  The compaction columns and
 * the write amplification are totals, kept in STATS across sessions
 * (table_set_totals binds them; lsm_totals.c); the rest of what is
 * counted is per session (session.*).
 */
#include <inttypes.h>

#include "level_set.h"
#include "stats_text.h"

static uint64_t stat(const uint64_t *c) { return __atomic_load_n(c, __ATOMIC_RELAXED); }

static double per(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

static void stats_levels(table_set *ts, const version *v, stats_text *f)
{
    stats_text_add(f, "tables.count: %zu", version_total_files(v));
    stats_text_add(f, "tables.bytes: %" PRIu64 "", version_total_bytes(v));
    uint64_t entries = 0, dead = 0; /* dead: hidden in their table (compaction_pick.h) */
    for (int l = 0; l < VERSION_LEVELS; l++)
        for (size_t i = 0; i < v->nfiles[l]; i++) {
            entries += v->files[l][i]->entries;
            dead += v->files[l][i]->dead;
        }
    stats_text_add(f, "tables.entries: %" PRIu64 "", entries);
    stats_text_add(f, "tables.dead_entries: %" PRIu64 "", dead);
    uint64_t written = 0;
    for (int l = 0; l < VERSION_LEVELS; l++)
        written += stat(&ts->levels[l].bytes_written);
    uint64_t flushed = stat(&ts->levels[0].bytes_written);
    stats_text_add(f, "levels: level tables bytes target score | totals: compactions moves "
               "read_mb written_mb seconds");
    for (int l = 0; l < VERSION_LEVELS; l++) {
        const level_counters *c = &ts->levels[l];
        stats_text_add(f, "level.%d: %zu %" PRIu64 " %" PRIu64 " %.2f | %" PRIu64 " %" PRIu64
                   " %.1f %.1f %.2f", l, v->nfiles[l], v->level_bytes[l],
                l == 0 ? (uint64_t)ts->copt.l0_trigger
                       : compaction_level_target(&ts->copt, l),
                compaction_level_score(v, &ts->copt, l), stat(&c->compactions),
                stat(&c->moves), (double)stat(&c->bytes_read) / 1048576.0,
                (double)stat(&c->bytes_written) / 1048576.0, (double)stat(&c->us) / 1e6);
    }
    stats_text_add(f, "compact.write_amplification: %.2f", per(written, flushed));
}

static void stats_level_only(table_set *ts, stats_text *f)
{
    stats_text_add(f, "open.old_manifests_removed: %" PRIu64 "", ts->open_garbage_removed);
    stats_text_add(f, "session.write.l0_slowdowns: %" PRIu64 "", stat(&ts->slowdowns));
    stats_text_add(f, "session.write.l0_slowdown_ms: %.3f",
                   (double)stat(&ts->slowdown_us) / 1000.0);
    stats_text_add(f, "session.write.l0_stops: %" PRIu64 "", stat(&ts->stops));
    stats_text_add(f, "session.write.l0_stop_ms: %.3f", (double)stat(&ts->stop_us) / 1000.0);
    uint64_t moves = 0;
    for (int l = 0; l < VERSION_LEVELS; l++)
        moves += lsm_totals_session(ts->db, &ts->levels[l].moves);
    stats_text_add(f, "session.compact.moves: %" PRIu64, moves);
    stats_text_add(f, "session.compact.files_deleted: %" PRIu64 "",
                   stat(&ts->files_deleted));
    stats_text_add(f, "session.compact.failures: %" PRIu64 "", stat(&ts->compact_failures));
    stats_text_add(f, "session.flush.during_compaction: %" PRIu64 "",
                   stat(&ts->flushes_in_compaction));
    stats_text_add(f, "session.compact.garbage: %" PRIu64 "", stat(&ts->garbage_compactions));

    stats_text_add(f, "session.manifest.edits: %" PRIu64 "", stat(&ts->manifest_edits));
    stats_text_add(f, "session.manifest.rolls: %" PRIu64 "", stat(&ts->manifest_rolls));
}

void table_set_totals(table_set *ts, stats_counters *s)
{
    for (int l = 0; l < VERSION_LEVELS; l++) {
        level_counters *c = &ts->levels[l];
        stats_counters_add(s, &c->compactions, "level.%d.compactions", l);
        stats_counters_add(s, &c->moves, "level.%d.moves", l);
        stats_counters_add(s, &c->bytes_read, "level.%d.bytes_read", l);
        stats_counters_add(s, &c->bytes_written, "level.%d.bytes_written", l);
        stats_counters_add(s, &c->us, "level.%d.us", l);
    }
}

void table_set_stats(table_set *ts, const table_set_version *v, stats_text *f)
{
    stats_levels(ts, v, f);
    stats_level_only(ts, f);
}
