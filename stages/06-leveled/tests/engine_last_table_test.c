/*
 * engine_last_table_test.c: which table of a version is the last a get
 * can reach (level_read.c): one no deeper level has a table for, whether
 * or not its level is the deepest that has tables.  With
 * kv_options.filters_for_hits = 1 that table is searched without asking
 * its filter (stages/05-blocks/tests/filters_for_hits_test.c has the
 * option's rules); counted by kv_cost.
 *
 * The shape: a table of keys b000 .. b099 flushed to level 2 (it overlaps
 * nothing); then one of a000 .. a099 and b050, which overlaps it, flushed
 * to level 1 (engine_flush_test.c has where a flush goes).  Level 1's
 * table holds [a000, b050], level 2's [b000, b099].
 */
#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../04-lsm/tests/lsm_test_util.h"
#include "kv.h"

static kv_db *last_table_shape(int hits)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.filters_for_hits = hits;
    kv_db *db = NULL;
    CHECK_KV(kv_open(lt_dir(), &opt, &db), KV_OK);
    char k[16];
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof k, "b%03d", i);
        lt_put(db, k, "deep");
    }
    CHECK_KV(kv_flush(db), KV_OK);
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof k, "a%03d", i);
        lt_put(db, k, "upper");
    }
    lt_put(db, "b050", "upper");
    CHECK_KV(kv_flush(db), KV_OK);
    CHECK_EQ(lt_stat(db, "level.1"), 1);
    CHECK_EQ(lt_stat(db, "level.2"), 1);
    return db;
}

/* kv_get of key: its value (NULL: absent), and the filters it asked. */
static unsigned long long last_table_get(kv_db *db, const char *key, const char *want,
                                         unsigned long long in_range)
{
    kv_cost_reset();
    lt_expect(db, key, want);
    kv_cost c;
    kv_cost_get(&c);
    harness_context("kv_get(%s)", key);
    CHECK_EQ(c.tables_in_range, in_range);
    return c.bloom_checks;
}

static void a_table_no_deeper_level_holds_the_key_for_is_the_last(void)
{
    int settings[] = {1, KV_FILTERS_ALWAYS};
    for (int s = 0; s < 2; s++) {
        int hits = settings[s];
        harness_context("filters_for_hits %d", hits);
        kv_db *db = last_table_shape(hits);
        /* a010: level 1's table; no table of level 2 holds a010. */
        CHECK_EQ(last_table_get(db, "a010", "upper", 1), hits == 1 ? 0ull : 1ull);
        /* a010x, absent: level 1's table is its last too; not found. */
        CHECK_EQ(last_table_get(db, "a010x", NULL, 1), hits == 1 ? 0ull : 1ull);
        /* b050: level 1's table, but level 2's holds b050 too: asked. */
        CHECK_EQ(last_table_get(db, "b050", "upper", 1), 1ull);
        /* b010: level 1's table asked (its range holds b010), level 2's
         * is the last. */
        CHECK_EQ(last_table_get(db, "b010", "deep", 2), hits == 1 ? 1ull : 2ull);
        /* b060: past level 1's range; level 2's is the last. */
        CHECK_EQ(last_table_get(db, "b060", "deep", 1), hits == 1 ? 0ull : 1ull);
        CHECK_KV(kv_close(db), KV_OK);
    }
}

static const harness_test tests[] = {
    HARNESS_TEST(a_table_no_deeper_level_holds_the_key_for_is_the_last),
};
const harness_suite engine_last_table_suite = HARNESS_SUITE("engine_last_table", tests);
