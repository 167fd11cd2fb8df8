/*
 * engine_flush_test.c: the engine places each flushed table where
 * compaction_flush_level says (level_flush.c), and what it places below
 * level 0 reads back, survives a reopen and passes kv_check.
 *
 * The level each table went to is read from kv_stats ("level.N: tables
 * ..."); flushes are made by lsm_write_flush_all (kv_compact's first
 * step) or by a small memtable filling up, and the databases stay far
 * below every level's target, so that no compaction moves a table after
 * its flush placed it.
 */
#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../04-lsm/tests/lsm_test_util.h"
#include "kv.h"
#include "level_db.h"

static void flush_now(kv_db *db)
{
    CHECK_KV(lsm_write_flush_all(db, "engine_flush_test"), KV_OK);
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

static const harness_test engine_flush_tests[] = {
    HARNESS_TEST(a_sequential_fill_flushes_every_table_to_level_2),
    HARNESS_TEST(a_flush_stops_above_the_first_level_it_overlaps),
};
const harness_suite engine_flush_suite = HARNESS_SUITE("engine_flush", engine_flush_tests);
