/*
 * partitioned_lookup_test.c: exercise partitioned_lookup, parted_find_block
 * (stages/09-cache/partitioned/parted_read.c): a lookup in a table of
 * partitions finds its partition in the top level, asks that partition's
 * filter, then searches its index partition for the data block.  Through
 * kv.h only: a database that writes tables of partitions
 * (table_partitions = KV_PARTITIONS) in blocks of 256 bytes, so that a
 * table has many partitions, compacted into one level and opened again;
 * then every key put is found, the keys between them and around them are
 * not, and kv_cost says what each get asked and read.
 */
#include <stdio.h>
#include <string.h>

#include "exercise.h"
#include "kv.h"

#define PL_KEYS 4000

static void pl_key(char *buf, size_t cap, int i) { snprintf(buf, cap, "k%05d", i); }

static void pl_value(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "value-%05d-of-a-table-of-partitions", i);
}

static kv_options pl_options(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.create_if_missing = 1;
    opt.table_partitions = KV_PARTITIONS;
    opt.block_bytes = 256;
    return opt;
}

/* Even keys k00000 .. k07998 with their values, compacted, closed: the
 * next open starts with empty caches. */
static const char *pl_build(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = pl_options();
    kv_db *db = ex_open(dir, &opt, "a database of tables of partitions opens");
    char k[32], v[64];
    for (int i = 0; i < PL_KEYS; i++) {
        pl_key(k, sizeof k, 2 * i);
        pl_value(v, sizeof v, 2 * i);
        ex_put(db, k, v, "a put is taken");
    }
    int rc = kv_compact(db);
    EX_CHECK(rc == KV_OK, "kv_compact: %s (%s)", kv_strerror(rc), kv_errmsg());
    rc = kv_close(db);
    EX_CHECK(rc == KV_OK, "kv_close: %s (%s)", kv_strerror(rc), kv_errmsg());
    return dir;
}

static kv_db *pl_reopen(const char *dir)
{
    kv_options opt = pl_options();
    return ex_open(dir, &opt, "the database opens again");
}

/* What one get of k cost; *found whether it found it. */
static kv_cost pl_get(kv_db *db, const char *k, int *found)
{
    kv_cost c;
    void *v = NULL;
    size_t vlen = 0;
    kv_cost_reset();
    int rc = kv_get(db, k, strlen(k), &v, &vlen);
    kv_cost_get(&c);
    EX_CHECK(rc == KV_OK || rc == KV_NOT_FOUND, "kv_get(\"%s\") in a table of partitions "
             "answers found or not found: %s (%s)", k, kv_strerror(rc), kv_errmsg());
    *found = rc == KV_OK;
    kv_free(v);
    return c;
}

static void partitioned_lookup_every_key_is_found(void)
{
    const char *dir = pl_build();
    kv_db *db = pl_reopen(dir);
    char k[32], v[64];
    for (int i = 0; i < PL_KEYS; i++) {
        pl_key(k, sizeof k, 2 * i);
        pl_value(v, sizeof v, 2 * i);
        harness_context("kv_get(\"%s\"), one of %d keys in partitions of about 256 bytes", k,
                        PL_KEYS);
        ex_expect(db, k, v, "every key put is found, with its value: the top level's first "
                  "entry whose separator is >= the key names its partition, and the index "
                  "partition's first entry >= the key its data block");
    }
    for (int i = 0; i < PL_KEYS; i++) {
        pl_key(k, sizeof k, 2 * i + 1);
        harness_context("kv_get(\"%s\"), a key between two keys put", k);
        ex_absent(db, k, "a key never put is not found");
    }
    static const char *const around[] = {"a", "k", "k0", "k07999", "k08000", "k1", "z"};
    for (size_t i = 0; i < sizeof around / sizeof around[0]; i++) {
        harness_context("kv_get(\"%s\"), a key before, between or past the keys put", around[i]);
        ex_absent(db, around[i], "a key before the first or past the last key put is not found");
    }
    kv_close(db);
}

static void partitioned_lookup_asks_the_filter_partition(void)
{
    const char *dir = pl_build();
    kv_db *db = pl_reopen(dir);
    char k[32];
    int found;
    unsigned long long asked = 0, ruled_out = 0, searched = 0;
    for (int i = 0; i < 400; i++) {
        pl_key(k, sizeof k, 20 * i + 1);
        kv_cost c = pl_get(db, k, &found);
        EX_CHECK(!found, "\"%s\" was never put", k);
        asked += c.bloom_checks;
        ruled_out += c.bloom_skips;
        searched += c.tables_searched;
    }
    harness_context("400 absent keys inside the table's range");
    EX_CHECK(asked == 400, "each absent key in range asks its filter partition once, before "
             "any index partition: 400 keys asked it %llu times", asked);
    EX_CHECK(ruled_out >= 360 && searched <= 40, "the filter partition of an absent key rules "
             "most out (10 bits a key: about 1%% pass), so their index partitions are not "
             "searched: %llu of 400 ruled out, %llu searched", ruled_out, searched);
    kv_close(db);
}

static void partitioned_lookup_cold_reads(void)
{
    const char *dir = pl_build();
    kv_db *db = pl_reopen(dir);
    int found;
    kv_cost c = pl_get(db, "k04000", &found);
    harness_context("a get of k04000 right after the database opened: nothing cached");
    EX_CHECK(found, "k04000 is found");
    EX_CHECK(c.reads == 3, "a cold get of a key a table holds reads three blocks: its filter "
             "partition, its index partition and its data block (the top level is kept by "
             "the open table): %llu reads", c.reads);
    c = pl_get(db, "k04002", &found);
    harness_context("a get of k04002 after k04000: its neighbour");
    EX_CHECK(found && c.reads == 0, "its neighbour's partitions and block are in the block "
             "cache: no read (%llu reads)", c.reads);
    kv_close(db);
    /* A cold get of an absent key its filter rules out: one read. */
    char k[32];
    int seen = 0;
    for (int i = 0; i < 20 && !seen; i++) {
        db = pl_reopen(dir);
        pl_key(k, sizeof k, 400 * i + 201);
        c = pl_get(db, k, &found);
        if (c.bloom_skips == 1) {
            seen = 1;
            harness_context("a get of %s, never put, right after the database opened", k);
            EX_CHECK(c.reads == 1, "a cold get of an absent key that its filter partition "
                     "rules out reads that partition and nothing else: %llu reads", c.reads);
        }
        kv_close(db);
    }
    EX_CHECK(seen, "of 20 absent keys, one at least is ruled out by its filter partition");
}

static const harness_test tests[] = {
    HARNESS_TEST(partitioned_lookup_every_key_is_found),
    HARNESS_TEST(partitioned_lookup_asks_the_filter_partition),
    HARNESS_TEST(partitioned_lookup_cold_reads),
};
const harness_suite partitioned_lookup_suite = HARNESS_SUITE("partitioned_lookup", tests);
