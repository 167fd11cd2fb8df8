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
 * flush.count, compact.count (compactions and trivial moves), the "moves"
 * column of the level.N lines, manifest.rolls and compact.files_deleted.
 * They count since the database was opened, so a workload reads them just
 * before each kv_close and adds them up.
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

/* The number after "name: " on a line of its own, or 0. */
static long crash_stat(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ':')
            return strtol(p + n + 1, NULL, 10);
    return 0;
}

/* The sum of the "moves" column of the level.N lines (stage 06:
 * "level.N: tables bytes target score | compactions moves ..."). */
static long crash_stat_moves(const char *text)
{
    long moves = 0;
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, "level.", 6) != 0)
            continue;
        const char *bar = strchr(p, '|'), *eol = strchr(p, '\n');
        if (bar == NULL || (eol != NULL && bar > eol))
            continue;
        char *end = NULL;
        strtol(bar + 1, &end, 10); /* compactions */
        moves += strtol(end, NULL, 10);
    }
    return moves;
}

void crash_work_add(kv_db *db, crash_work *w)
{
    char *text = NULL;
    if (kv_stats(db, &text) != KV_OK || text == NULL)
        return;
    w->flushes += crash_stat(text, "flush.count");
    w->compactions += crash_stat(text, "compact.count");
    w->moves += crash_stat_moves(text);
    w->rolls += crash_stat(text, "manifest.rolls");
    w->deleted += crash_stat(text, "compact.files_deleted");
    kv_free(text);
}

void crash_work_print(const char *what, const crash_work *w)
{
    printf("  background work %s (kv_stats): %ld flushes, %ld compactions (%ld of them "
           "trivial moves), %ld manifest roll-overs, %ld obsolete tables deleted\n",
           what, w->flushes, w->compactions, w->moves, w->rolls, w->deleted);
}
