/*
 * engine_flush_test.c: each flushed table goes where
 * compaction_flush_level says (level_apply.c, "Where a flush goes"), and
 * what goes below level 0 reads back, survives a reopen and passes
 * kv_check.
 *
 * The level each table went to is read from kv_stats ("level.N: tables
 * ..."); flushes are made by kv_flush or by a small memtable filling up,
 * and the databases stay far
 * below every level's target, so that no compaction moves a table after
 * its flush placed it.  And a memtable frozen while a compaction runs is
 * flushed before the compaction ends (the engine's merge,
 * stages/04-lsm/engine/lsm_compact.c), to level 0.
 */
#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../04-lsm/tests/lsm_test_util.h"
#include "kv.h"

static void flush_now(kv_db *db)
{
    CHECK_KV(kv_flush(db), KV_OK);
}

static void check_levels(kv_db *db, int l0, int l1, int l2)
{
    CHECK_EQ(lt_stat(db, "level.0"), l0);
    CHECK_EQ(lt_stat(db, "level.1"), l1);
    CHECK_EQ(lt_stat(db, "level.2"), l2);
}

/* Keys in ascending order never overlap an earlier table: every flush
 * goes to level 2, none waits in level 0, and nothing is compacted. */
static void a_sequential_fill_flushes_every_table_to_level_2(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 4096, 0);
    char k[16], v[128];
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof k, "k%05d", i);
        snprintf(v, sizeof v, "%0100d", i);
        lt_put(db, k, v);
    }
    flush_now(db);
    double flushes = lt_stat(db, "flush.count");
    CHECK(flushes >= 3);
    check_levels(db, 0, 0, (int)flushes);
    CHECK_EQ(lt_stat(db, "compact.count"), 0);
    CHECK_KV(kv_close(db), KV_OK);
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    db = lt_open(dir, 4096, 0);
    check_levels(db, 0, 0, (int)flushes);
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof k, "k%05d", i);
        snprintf(v, sizeof v, "%0100d", i);
        lt_expect(db, k, v);
    }
    CHECK_KV(kv_close(db), KV_OK);
}

/* Each overwrite of the same keys stops one level higher, above the table
 * before it; a range beyond them all goes to level 2 again; reads find
 * the newest value wherever it is. */
static void a_flush_stops_above_the_first_level_it_overlaps(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 0, 0);
    const char *values[] = {"first", "second", "third"};
    char k[16];
    for (int round = 0; round < 3; round++) {
        for (char c = 'a'; c <= 'z'; c++) {
            snprintf(k, sizeof k, "%c", c);
            lt_put(db, k, values[round]);
        }
        flush_now(db);
    }
    check_levels(db, 1, 1, 1);
    lt_put(db, "zz", "beyond");
    flush_now(db);
    check_levels(db, 1, 1, 2);
    CHECK_EQ(lt_stat(db, "compact.count"), 0);
    lt_expect(db, "a", "third");
    lt_expect(db, "m", "third");
    lt_expect(db, "zz", "beyond");
    CHECK_KV(kv_close(db), KV_OK);
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    db = lt_open(dir, 0, 0);
    check_levels(db, 1, 1, 2);
    lt_expect(db, "q", "third");
    CHECK_KV(kv_close(db), KV_OK);
}

/* Writes that fill 32 KiB memtables much faster than the compactions of a
 * database with small levels finish: writers freeze memtables in the
 * middle of merges, which flush them (session.flush.during_compaction) to level 0.
 * Every key keeps its last value, before and after a reopen, and kv_check
 * finds levels 1 and up without overlaps.  The first round almost always
 * has such a flush; up to five rounds are written before the test says
 * none came. */
static void a_memtable_frozen_during_a_compaction_is_flushed_inside_it(void)
{
    const char *dir = lt_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 32 << 10;
    opt.table_bytes = 64 << 10;
    opt.l1_bytes = 256 << 10;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    char k[16], v[128];
    enum { KEYS = 20000 };
    int round = 0;
    for (; round < 5 && lt_stat(db, "session.flush.during_compaction") == 0; round++)
        for (int i = 0; i < KEYS; i++) {
            int key = (int)(((unsigned)i * 7919u) % KEYS);
            snprintf(k, sizeof k, "k%06d", key);
            snprintf(v, sizeof v, "%d-%0100d", round, key);
            lt_put(db, k, v);
        }
    CHECK_MSG(lt_stat(db, "session.flush.during_compaction") > 0,
              "no flush during a compaction in %d rounds of %d puts", round, KEYS);
    CHECK(lt_stat(db, "compact.count") > 0);
    for (int pass = 0; pass < 2; pass++) {
        for (int key = 0; key < KEYS; key += 7) {
            snprintf(k, sizeof k, "k%06d", key);
            snprintf(v, sizeof v, "%d-%0100d", round - 1, key);
            lt_expect(db, k, v);
        }
        CHECK_KV(kv_close(db), KV_OK);
        lt_lines out = {0};
        CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
        CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    }
    CHECK_KV(kv_close(db), KV_OK);
}

static const harness_test engine_flush_tests[] = {
    HARNESS_TEST(a_sequential_fill_flushes_every_table_to_level_2),
    HARNESS_TEST(a_flush_stops_above_the_first_level_it_overlaps),
    HARNESS_TEST(a_memtable_frozen_during_a_compaction_is_flushed_inside_it),
};
const harness_suite engine_flush_suite = HARNESS_SUITE("engine_flush", engine_flush_tests);
