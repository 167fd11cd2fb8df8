/*
 * engine_garbage_test.c: space a snapshot pinned comes back by itself
 * (compaction_pick.h, GARBAGE).  While a snapshot is held, every version
 * written meanwhile is kept, and compactions carry them down with their
 * keys; each table counts the versions a newer one of the same key hides.
 * Once the snapshot is freed, with no write and no kv_compact after it,
 * the background thread rewrites those tables and the versions go; the
 * values read back are the newest, and the database checks clean after a
 * reopen.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../../tests/harness.h"
#include "../../04-lsm/tests/lsm_test_util.h"
#include "compaction_pick.h"
#include "kv.h"

#define KEYS 50
#define ROUNDS 40

static void put_round(kv_db *db, int round)
{
    char k[16], v[128];
    for (int i = 0; i < KEYS; i++) {
        snprintf(k, sizeof k, "key%03d", i);
        snprintf(v, sizeof v, "%0100d", round * 1000 + i);
        lt_put(db, k, v);
    }
}

static void expect_round(kv_db *db, int round)
{
    char k[16], v[128];
    for (int i = 0; i < KEYS; i++) {
        snprintf(k, sizeof k, "key%03d", i);
        snprintf(v, sizeof v, "%0100d", round * 1000 + i);
        lt_expect(db, k, v);
    }
}

static void dead_versions_go_once_the_snapshot_that_pinned_them_goes(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 16 * 1024, 0);
    put_round(db, 0);
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
    for (int r = 1; r <= ROUNDS; r++)
        put_round(db, r);
    CHECK_KV(kv_flush(db), KV_OK);
    double dead = lt_stat(db, "tables.dead_entries");
    double before = lt_stat(db, "tables.bytes");
    CHECK_MSG(dead > KEYS * ROUNDS / 2, "%.0f entries dead while the snapshot holds them",
              dead);
    CHECK_EQ(lt_stat(db, "session.compact.garbage"), 0);
    kv_snapshot_free(db, snap);
    /* No write, no kv_compact: the free wakes the background thread, which
     * rewrites every table at least 1/COMPACTION_GARBAGE_SHARE of whose
     * entries are dead.  Usually that is all of them; which versions share
     * a table depends on when the flushes and compactions ran, so a table
     * with fewer may stay (and all of them together then hold fewer than
     * that share).  Up to 30 s: a loaded machine runs the thread late. */
    struct timespec pause = {0, 20 * 1000 * 1000};
    double left = lt_stat(db, "tables.dead_entries");
    for (int i = 0, same = 0; i < 1500 && left > 0 && same < 25; i++) {
        nanosleep(&pause, NULL);
        double now = lt_stat(db, "tables.dead_entries");
        /* Settled: below the share, and no rewrite for half a second. */
        same = now == left && now * COMPACTION_GARBAGE_SHARE < lt_stat(db, "tables.entries")
                   ? same + 1 : 0;
        left = now;
    }
    CHECK_MSG(left * COMPACTION_GARBAGE_SHARE < lt_stat(db, "tables.entries"),
              "%.0f of %.0f entries still dead", left, lt_stat(db, "tables.entries"));
    CHECK(lt_stat(db, "session.compact.garbage") >= 1);
    double after = lt_stat(db, "tables.bytes");
    CHECK_MSG(after * 4 < before, "tables: %.0f bytes before, %.0f after", before, after);
    expect_round(db, ROUNDS);
    CHECK_KV(kv_close(db), KV_OK);
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    db = lt_open(dir, 16 * 1024, 0);
    expect_round(db, ROUNDS);
    CHECK_EQ(lt_stat(db, "tables.dead_entries"), left); /* the manifest keeps the counts */
    CHECK_KV(kv_close(db), KV_OK);
}

/* kv_compact leaves no version no reader can read, even in a table that
 * is already the deepest: a flush alone goes down to level 2 (nothing
 * overlaps it), where no level above is merged into it.  A fifth of its
 * entries are dead, too few for the background thread to rewrite it
 * (COMPACTION_GARBAGE_SHARE), so kv_compact must. */
static void compact_drops_dead_versions_in_the_deepest_table(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 1024 * 1024, 0);
    char k[16], v[128];
    for (int i = 0; i < 4 * KEYS; i++) {
        snprintf(k, sizeof k, "key%03d", i);
        snprintf(v, sizeof v, "%0100d", i);
        lt_put(db, k, v);
    }
    put_round(db, 1); /* KEYS of them again */
    CHECK_KV(kv_flush(db), KV_OK);
    CHECK_EQ(lt_stat(db, "tables.count"), 1);
    CHECK_EQ(lt_stat(db, "tables.dead_entries"), KEYS);
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_EQ(lt_stat(db, "tables.dead_entries"), 0);
    CHECK_EQ(lt_stat(db, "tables.entries"), 4 * KEYS);
    expect_round(db, 1);
    CHECK_KV(kv_close(db), KV_OK);
}

/* While the snapshot lives, nothing it may read is dropped: a read at it
 * answers the first round after every compaction the writes caused. */
static void a_live_snapshot_keeps_what_it_reads(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 16 * 1024, 0);
    put_round(db, 0);
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
    for (int r = 1; r <= ROUNDS; r++)
        put_round(db, r);
    CHECK_KV(kv_flush(db), KV_OK);
    char k[16], v[128];
    for (int i = 0; i < KEYS; i++) {
        snprintf(k, sizeof k, "key%03d", i);
        snprintf(v, sizeof v, "%0100d", i);
        void *got = NULL;
        size_t glen = 0;
        CHECK_KV(kv_get_at(db, snap, k, strlen(k), &got, &glen), KV_OK);
        CHECK_MEM(got, glen, v, strlen(v));
        kv_free(got);
    }
    CHECK_EQ(lt_stat(db, "session.compact.garbage"), 0);
    kv_snapshot_free(db, snap);
    CHECK_KV(kv_close(db), KV_OK);
}

static const harness_test engine_garbage_tests[] = {
    HARNESS_TEST(dead_versions_go_once_the_snapshot_that_pinned_them_goes),
    HARNESS_TEST(compact_drops_dead_versions_in_the_deepest_table),
    HARNESS_TEST(a_live_snapshot_keeps_what_it_reads),
};
const harness_suite engine_garbage_suite = HARNESS_SUITE("engine_garbage", engine_garbage_tests);
