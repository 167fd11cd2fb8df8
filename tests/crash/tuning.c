/*
 * tuning.c: the options that make an engine's background work happen many
 * times within a short workload, and the count of that work as kv_stats
 * reports it, so that a run shows what its crashes fell into.
 *
 * The work: from stage 04 on, flushes of the memtable (small
 * memtable_bytes); from stage 06 on, compactions, trivial moves and the
 * deletion of the tables they make obsolete (small table_bytes and
 * l1_bytes, level_ratio 2: a level-1 of a few tables, each level only
 * twice the one above), and manifest roll-overs.  The manifest's roll-over
 * size is no kv.h option (nothing but a test needs another one): stage 06
 * keeps it in level_test_manifest_roll_bytes, which the crash tester
 * lowers before any database is open.  The crash tester is linked with
 * every stage, so it declares that variable weak: linked with stage 06 it
 * is the engine's, with any other its address is NULL and nothing is set.
 *
 * The counters are kv_stats lines, each read if the stage prints it:
 * session.flush.count, session.compact.count (compactions and trivial
 * moves), session.compact.moves, session.manifest.rolls and
 * session.compact.files_deleted; the line printed names only those the
 * stage has.  They count since the database was opened (the totals kept
 * across sessions are not used: a crash loses the counts since their last
 * save), so a workload reads them just before each kv_close and adds them
 * up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"

extern uint64_t level_test_manifest_roll_bytes __attribute__((weak));

/* Small enough that the power-loss workload (a few hundred operations)
 * rolls its manifest over several times per open. */
#define CRASH_MANIFEST_ROLL_BYTES 2048

void crash_tune_engine(void)
{
    if (&level_test_manifest_roll_bytes != NULL)
        level_test_manifest_roll_bytes = CRASH_MANIFEST_ROLL_BYTES;
}

void crash_workload_levels(crash_workload *w, size_t table_bytes)
{
    w->table_bytes = table_bytes;
    w->l1_bytes = 4 * table_bytes;
    w->level_ratio = 2;
}

void crash_options(const crash_workload *w, int sync, kv_options *opt)
{
    kv_options_init(opt);
    opt->sync = sync;
    opt->segment_bytes = w->segment_bytes;
    opt->memtable_bytes = w->memtable_bytes;
    opt->table_bytes = w->table_bytes;
    opt->l1_bytes = w->l1_bytes;
    opt->level_ratio = w->level_ratio;
}

/* The number after "name: " on a line of its own (*found = 1), or 0. */
static long crash_stat(const char *text, const char *name, int *found)
{
    size_t n = strlen(name);
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            *found = 1;
            return strtol(p + n + 1, NULL, 10);
        }
    *found = 0;
    return 0;
}

void crash_work_add(kv_db *db, crash_work *w)
{
    char *text = NULL;
    if (kv_stats(db, &text) != KV_OK || text == NULL)
        return;
    int found;
    w->flushes += crash_stat(text, "session.flush.count", &found);
    w->named |= found ? CRASH_WORK_FLUSHES : 0;
    w->compactions += crash_stat(text, "session.compact.count", &found);
    w->named |= found ? CRASH_WORK_COMPACTIONS : 0;
    w->moves += crash_stat(text, "session.compact.moves", &found);
    w->named |= found ? CRASH_WORK_MOVES : 0;
    w->rolls += crash_stat(text, "session.manifest.rolls", &found);
    w->named |= found ? CRASH_WORK_ROLLS : 0;
    w->deleted += crash_stat(text, "session.compact.files_deleted", &found);
    w->named |= found ? CRASH_WORK_DELETED : 0;
    w->gc_jobs += crash_stat(text, "session.values.gc_jobs", &found);
    w->named |= found ? CRASH_WORK_VALUE_GC : 0;
    w->gc_removed += crash_stat(text, "session.values.gc_files_removed", &found);
    kv_free(text);
}

/* Prints only the counters the stage's kv_stats has (a stage before 04 has
 * no background work, stages 04 and 05 no manifest and no moves). */
void crash_work_print(const char *what, const crash_work *w)
{
    char line[256] = "";
    size_t n = 0;
    const char *sep = "";
#define CRASH_PART(...)                                                              \
    do {                                                                             \
        if (n < sizeof line)                                                         \
            n += (size_t)snprintf(line + n, sizeof line - n, __VA_ARGS__);           \
        sep = ", ";                                                                  \
    } while (0)
    if (w->named & CRASH_WORK_FLUSHES)
        CRASH_PART("%s%ld flush%s", sep, w->flushes, w->flushes == 1 ? "" : "es");
    if (w->named & CRASH_WORK_COMPACTIONS)
        CRASH_PART("%s%ld compaction%s", sep, w->compactions, w->compactions == 1 ? "" : "s");
    if (w->named & CRASH_WORK_MOVES)
        CRASH_PART(" (%ld of them trivial moves)", w->moves);
    if (w->named & CRASH_WORK_ROLLS)
        CRASH_PART("%s%ld manifest roll-over%s", sep, w->rolls, w->rolls == 1 ? "" : "s");
    if (w->named & CRASH_WORK_DELETED)
        CRASH_PART("%s%ld obsolete table%s deleted", sep, w->deleted, w->deleted == 1 ? "" : "s");
    if (w->named & CRASH_WORK_VALUE_GC)
        CRASH_PART("%s%ld value-log collection job%s (%ld file%s removed)", sep, w->gc_jobs,
                   w->gc_jobs == 1 ? "" : "s", w->gc_removed, w->gc_removed == 1 ? "" : "s");
#undef CRASH_PART
    if (n > 0)
        printf("  background work %s (kv_stats): %s\n", what, line);
}
