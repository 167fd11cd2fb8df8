/*
 * level_stats.c: stage 06's lines of kv_stats (table_set_describe; the
 * engine's kv_stats, stage 04's lsm_stats.c, prints the memtables, the
 * logs, what kv_open found and everything the engine counted, and asks the
 * table set for its tables' lines): here, per level, its tables and bytes
 * against its target and its score, with the engine's counts of the work
 * done into it (the compactions, moves, bytes read and written, kept in
 * STATS across sessions), and the write amplification they add up to
 * (every byte written to a table, by flushes and compactions, over the
 * bytes flushed); then the manifest's own counters.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "level_set.h"

static uint64_t stat(const uint64_t *c) { return __atomic_load_n(c, __ATOMIC_RELAXED); }

static void level_line(kv_line_fn line, void *ctx, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    line(ctx, text);
}

static double per(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

int level_stats_lines(table_set *ts, const version *v, const table_describe *d,
                      kv_line_fn line, void *ctx)
{
    level_line(line, ctx, "tables.count: %zu", version_total_files(v));
    level_line(line, ctx, "tables.bytes: %" PRIu64 "", version_total_bytes(v));
    uint64_t entries = 0, dead = 0; /* dead: hidden in their table (compaction_pick.h) */
    for (int l = 0; l < VERSION_LEVELS; l++)
        for (size_t i = 0; i < v->nfiles[l]; i++) {
            entries += v->files[l][i]->entries;
            dead += v->files[l][i]->dead;
        }
    level_line(line, ctx, "tables.entries: %" PRIu64 "", entries);
    level_line(line, ctx, "tables.dead_entries: %" PRIu64 "", dead);
    uint64_t written = 0;
    for (int l = 0; l < VERSION_LEVELS; l++)
        written += stat(&d->levels[l][TABLE_LEVEL_BYTES_WRITTEN]);
    uint64_t flushed = stat(&d->levels[0][TABLE_LEVEL_BYTES_WRITTEN]);
    level_line(line, ctx, "levels: level tables bytes target score | totals: compactions moves "
               "read_mb written_mb seconds");
    for (int l = 0; l < VERSION_LEVELS; l++) {
        const uint64_t *c = d->levels[l];
        level_line(line, ctx, "level.%d: %zu %" PRIu64 " %" PRIu64 " %.2f | %" PRIu64 " %" PRIu64
                   " %.1f %.1f %.2f", l, v->nfiles[l], v->level_bytes[l],
                   l == 0 ? (uint64_t)ts->copt.l0_trigger : compaction_level_target(&ts->copt, l),
                   compaction_level_score(v, &ts->copt, l), stat(&c[TABLE_LEVEL_COMPACTIONS]),
                   stat(&c[TABLE_LEVEL_MOVES]),
                   (double)stat(&c[TABLE_LEVEL_BYTES_READ]) / 1048576.0,
                   (double)stat(&c[TABLE_LEVEL_BYTES_WRITTEN]) / 1048576.0,
                   (double)stat(&c[TABLE_LEVEL_US]) / 1e6);
    }
    level_line(line, ctx, "compact.write_amplification: %.2f", per(written, flushed));
    level_line(line, ctx, "open.old_manifests_removed: %" PRIu64 "", ts->open_garbage_removed);
    level_line(line, ctx, "session.manifest.edits: %" PRIu64 "", stat(&ts->manifest_edits));
    level_line(line, ctx, "session.manifest.rolls: %" PRIu64 "", stat(&ts->manifest_rolls));
    return KV_OK;
}

int table_set_describe(table_set *ts, const table_set_version *v, const table_describe *d,
                       kv_line_fn line, void *ctx)
{
    return d->inspect ? level_inspect_lines(ts, v, d, line, ctx)
                      : level_stats_lines(ts, v, d, line, ctx);
}
