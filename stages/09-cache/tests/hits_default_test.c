/*
 * hits_default_test.c: this stage's default for kv_options.filters_for_hits
 * (table_context.c): the last table a get can reach is searched without
 * asking its filter unless the options say KV_FILTERS_ALWAYS, in tables
 * of version 1 (format v2's whole filter) and of partitions (a filter
 * partition, parted_read.c) alike; with the record cache on, a get it
 * answers asks no filter either way; and every answer is the same.
 * (stages/05-blocks/tests/filters_for_hits_test.c, which this stage runs
 * too, holds the option's rules with three tables.)
 */
#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "kv.h"

#define HD_KEYS 400

static void hd_key(char *k, size_t n, int i) { snprintf(k, n, "key%05d", i); }

/* One table of HD_KEYS keys, every other one (the odd ones absent). */
static kv_db *hd_one_table(int hits, int partitions, int records)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.filters_for_hits = hits;
    opt.table_partitions = partitions ? KV_PARTITIONS : 0;
    opt.record_cache_percent = records ? 0 : KV_NO_RECORD_CACHE;
    opt.block_bytes = 512; /* partitions of a few entries each */
    kv_db *db = OPEN(testdb_dir(), &opt);
    char k[32], v[64];
    for (int i = 0; i < HD_KEYS; i += 2) {
        hd_key(k, sizeof k, i);
        int vl = snprintf(v, sizeof v, "the value of key %d", i);
        PUT(db, k, strlen(k), v, (size_t)vl);
    }
    CHECK_KV(kv_flush(db), KV_OK);
    return db;
}

/* kv_get of key i (present if even) twice; the filters asked, summed. */
static unsigned long long hd_get_twice(kv_db *db, int i)
{
    char k[32], v[64];
    hd_key(k, sizeof k, i);
    int vl = snprintf(v, sizeof v, "the value of key %d", i);
    unsigned long long asked = 0;
    for (int round = 0; round < 2; round++) {
        kv_cost_reset();
        if (i % 2 == 0)
            EXPECT(db, k, strlen(k), v, (size_t)vl);
        else
            ABSENT(db, k, strlen(k));
        kv_cost c;
        kv_cost_get(&c);
        CHECK_EQ(c.tables_in_range, 1ull);
        asked += c.bloom_checks;
    }
    return asked;
}

static void the_last_tables_filter_is_skipped_by_default(void)
{
    for (int partitions = 0; partitions < 2; partitions++) {
        for (int records = 0; records < 2; records++) {
            int settings[] = {0, 1, KV_FILTERS_ALWAYS};
            for (size_t s = 0; s < 3; s++) {
                harness_context("partitions %d, record cache %d, filters_for_hits %d",
                                partitions, records, settings[s]);
                kv_db *db = hd_one_table(settings[s], partitions, records);
                unsigned long long asked = 0;
                for (int i = 0; i < HD_KEYS - 1; i++)
                    asked += hd_get_twice(db, i);
                if (settings[s] != KV_FILTERS_ALWAYS)
                    CHECK_EQ(asked, 0ull);
                else if (!records)
                    CHECK_EQ(asked, 2ull * (HD_KEYS - 1));
                else /* a record-cache hit asks nothing; a miss or an absent key does */
                    CHECK(asked >= HD_KEYS - 1);
                CLOSE(db);
            }
        }
    }
}

static const harness_test tests[] = {
    HARNESS_TEST(the_last_tables_filter_is_skipped_by_default),
};
const harness_suite hits_default_suite = HARNESS_SUITE("hits_default", tests);
