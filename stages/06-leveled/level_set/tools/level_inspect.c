/*
 * level_inspect.c: the tables' part of kv_inspect (table_set_describe,
 * stages/04-lsm/engine/table_set.h) for stage 06's levels, from the version the
 * view was made with (version.h), which no one changes:
 *
 *   level n=L tables=N bytes=B target=T score=X
 *   table file=000012.sst level=L bytes=B entries=N smallest="a" largest="k"
 *   next level=L score=X due=D move=M inputs=N bytes=B
 *   next_table file=000012.sst level=L
 *   amp write=W read=R
 *
 * Level 0's tables are listed newest first, as a lookup meets them; a
 * deeper level's in key order.  target is level 0's compaction trigger
 * (in tables) and a deeper level's size target (in bytes); a level with
 * score >= 1 is due for compaction.  write: every byte written to tables
 * (flushes and compactions) over the bytes flushed, as kv_stats's
 * compact.write_amplification; read: how many tables a lookup of a key
 * present in every level would read, level 0's tables and one per
 * non-empty deeper level.
 *
 * next: the compaction the picker would choose from the level with the
 * highest score (compaction_pick_level: its round-robin seed, the tables
 * of the level below it overlaps, and what they grow to), with due=1 if
 * that score is >= 1, so the background thread is about to run it, and
 * due=0 if it is what will go first once the level fills up; move=1 if it
 * would be a trivial move.  Then one next_table line per table it would
 * take, from both levels.  No next line when every level is empty, or
 * every seed is being compacted.
 *
 * kv_inspect_get's lines come from the lookup itself (table_set_get in
 * level_read.c, with the engine's look function): level 0's tables
 * newest first, then at each deeper level the one table whose key range
 * holds the key:
 *
 *   look part=table file=000012.sst level=0 result=skipped_bloom
 *   look part=level level=1 result=skipped_range      (no table holds it)
 *   look part=table file=000009.sst level=2 result=found reads=1 vlen=V
 */
#include <inttypes.h>

#include "inspect_line.h"
#include "level_files.h"
#include "level_set.h"
#include "table_lines.h"

/* The "next" and "next_table" lines.  The pick reads the compact
 * pointers and the being_compacted marks, which the background thread
 * changes under write_lock: so it runs under that lock, which it holds
 * for one pick (no I/O) and a copy of at most a few file numbers. */
static int level_inspect_next(table_set *ts, const version *v, pthread_mutex_t *lock,
                              kv_line_fn line, void *ctx)
{
    int level = 0;
    double score = compaction_score(v, &ts->copt, &level);
    if (score <= 0)
        return KV_OK;
    compaction_pointers p;
    compaction *c = NULL;
    pthread_mutex_lock(lock);
    for (int i = 0; i < VERSION_LEVELS; i++) {
        p.key[i] = ts->pointer[i];
        p.len[i] = ts->pointer_len[i];
    }
    /* (The pick takes a reference on the version, the one change it makes.) */
    int rc = compaction_pick_level((version *)v, &ts->copt, &p, level, &c);
    pthread_mutex_unlock(lock);
    if (rc != KV_OK || c == NULL)
        return rc;
    inspect_line l;
    inspect_begin(&l, "next");
    inspect_u64(&l, "level", (uint64_t)level);
    inspect_double(&l, "score", score);
    inspect_u64(&l, "due", score >= 1);
    inspect_u64(&l, "move", (uint64_t)compaction_is_trivial_move(c));
    inspect_u64(&l, "inputs", c->inputs[0].n + c->inputs[1].n);
    inspect_u64(&l, "bytes", compaction_input_bytes(c, 0) + compaction_input_bytes(c, 1));
    inspect_emit(&l, line, ctx);
    for (int w = 0; w < 2; w++)
        for (size_t i = 0; i < c->inputs[w].n; i++) {
            char name[LEVEL_NAME_MAX];
            level_table_name(name, c->inputs[w].files[i]->number);
            inspect_begin(&l, "next_table");
            inspect_word(&l, "file", name);
            inspect_u64(&l, "level", (uint64_t)(level + w));
            inspect_emit(&l, line, ctx);
        }
    compaction_free(c);
    return KV_OK;
}

static double level_inspect_ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

int level_inspect_lines(table_set *ts, const version *v, const table_describe *d,
                        kv_line_fn line, void *ctx)
{
    inspect_line l;
    int rc = KV_OK;
    size_t read_amp = v->nfiles[0];
    for (int level = 0; rc == KV_OK && level < VERSION_LEVELS; level++) {
        inspect_begin(&l, "level");
        inspect_u64(&l, "n", (uint64_t)level);
        inspect_u64(&l, "tables", v->nfiles[level]);
        inspect_u64(&l, "bytes", v->level_bytes[level]);
        inspect_u64(&l, "target", level == 0 ? (uint64_t)ts->copt.l0_trigger
                                             : compaction_level_target(&ts->copt, level));
        inspect_double(&l, "score", compaction_level_score(v, &ts->copt, level));
        inspect_emit(&l, line, ctx);
        read_amp += level > 0 && v->nfiles[level] > 0;
        for (size_t i = 0; rc == KV_OK && i < v->nfiles[level]; i++)
            rc = table_lines_table(v->files[level][i]->t, level, d->flags, line, ctx);
    }
    if (rc == KV_OK)
        rc = level_inspect_next(ts, v, d->lock, line, ctx);
    uint64_t written = 0;
    for (int level = 0; level < VERSION_LEVELS; level++)
        written += __atomic_load_n(&d->levels[level][TABLE_LEVEL_BYTES_WRITTEN], __ATOMIC_RELAXED);
    uint64_t flushed = __atomic_load_n(&d->levels[0][TABLE_LEVEL_BYTES_WRITTEN], __ATOMIC_RELAXED);
    inspect_begin(&l, "amp");
    inspect_double(&l, "write", level_inspect_ratio(written, flushed));
    inspect_u64(&l, "read", read_amp);
    if (rc == KV_OK)
        inspect_emit(&l, line, ctx);
    return rc;
}
