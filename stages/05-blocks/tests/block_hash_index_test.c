/*
 * block_hash_index_test.c: kv_options.block_hash_index through kv_open.
 * With it 1, every data block of every new table ends in a hash index
 * (kv_dump says so, block by block); with KV_NO_BLOCK_HASH, or by
 * default in this stage, none does; a database whose tables are of both
 * kinds answers every get as the writes left it, whichever the setting it
 * is opened with, and kv_check finds it intact.  A value other than 0, 1
 * and KV_NO_BLOCK_HASH is refused.  (block_hash_test.c holds the block's
 * own rules.)
 */
#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "kv.h"

#define BI_KEYS 1500

/* The database of the running case: a fresh directory for each. */
static const char *bi_db;
static void bi_fresh(void) { bi_db = harness_join(harness_tmpdir(), "db"); }

static void bi_key(char *k, size_t n, int i) { snprintf(k, n, "key%05d", i); }

/* Key i after round r (0, 1, 2) of bi_round: its value's round, or -1
 * if deleted.  Round 0 writes every key; round 1 rewrites every third
 * and deletes every seventh; round 2 rewrites every fifth. */
static int bi_model(int i, int rounds)
{
    int at = 0;
    if (rounds > 1 && i % 7 == 0)
        at = -1;
    if (rounds > 1 && i % 3 == 0)
        at = 1;
    if (rounds > 2 && i % 5 == 0)
        at = 2;
    return at;
}

static kv_db *bi_open(int hash)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.block_hash_index = hash;
    opt.block_bytes = 256;            /* many blocks of a few entries */
    opt.block_restart_interval = 2;   /* several runs a block */
    opt.record_cache_percent = KV_NO_RECORD_CACHE; /* gets reach the blocks */
    return OPEN(bi_db, &opt);
}

/* Round r of the writes, flushed into a table of its own. */
static void bi_round(kv_db *db, int r)
{
    char k[32], v[64];
    for (int i = 0; i < BI_KEYS; i++) {
        bi_key(k, sizeof k, i);
        int vl = snprintf(v, sizeof v, "round %d of key %d", r, i);
        if (r == 0 || (r == 1 && i % 3 == 0) || (r == 2 && i % 5 == 0))
            PUT(db, k, strlen(k), v, (size_t)vl);
        else if (r == 1 && i % 7 == 0)
            DEL(db, k, strlen(k));
    }
    CHECK_KV(kv_flush(db), KV_OK);
}

static void bi_expect_all(kv_db *db, int rounds)
{
    char k[32], v[64];
    for (int i = 0; i < BI_KEYS; i++) {
        bi_key(k, sizeof k, i);
        int r = bi_model(i, rounds);
        harness_context("key %d after %d rounds", i, rounds);
        if (r < 0) {
            ABSENT(db, k, strlen(k));
        } else {
            int vl = snprintf(v, sizeof v, "round %d of key %d", r, i);
            EXPECT(db, k, strlen(k), v, (size_t)vl);
        }
        char gap[40];
        snprintf(gap, sizeof gap, "%s.", k); /* between two keys: absent */
        ABSENT(db, gap, strlen(gap));
    }
}

typedef struct bi_blocks {
    int blocks, hashed;
} bi_blocks;

static void bi_count_line(void *ctx, const char *line)
{
    bi_blocks *c = ctx;
    if (strncmp(line, "block ", 6) == 0) {
        c->blocks++;
        c->hashed += strstr(line, ", a hash index of ") != NULL;
    }
}

static void bi_ignore_line(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

/* Data blocks in the database's tables, and how many have an index. */
static bi_blocks bi_dump(void)
{
    bi_blocks c = {0};
    CHECK_KV(kv_dump(bi_db, bi_count_line, &c), KV_OK);
    return c;
}

static void every_block_of_new_tables_has_an_index_when_asked(void)
{
    int settings[] = {0, 1, KV_NO_BLOCK_HASH};
    for (size_t s = 0; s < 3; s++) {
        harness_context("block_hash_index %d", settings[s]);
        bi_fresh();
        kv_db *db = bi_open(settings[s]);
        bi_round(db, 0);
        bi_expect_all(db, 1);
        CLOSE(db);
        bi_blocks c = bi_dump();
        CHECK(c.blocks > 20);
        CHECK_EQ(c.hashed, settings[s] == 1 ? c.blocks : 0);
    }
}

static void tables_of_both_kinds_answer_alike(void)
{
    for (int first = 0; first < 2; first++) {
        harness_context("first table %s an index", first ? "without" : "with");
        bi_fresh();
        int with = 1, without = KV_NO_BLOCK_HASH;
        kv_db *db = bi_open(first ? without : with);
        bi_round(db, 0);
        CLOSE(db);
        db = bi_open(first ? with : without);
        bi_round(db, 1);
        bi_expect_all(db, 2);
        CLOSE(db);
        db = bi_open(first ? without : with);
        bi_expect_all(db, 2);
        bi_round(db, 2);
        bi_expect_all(db, 3);
        CLOSE(db);
        bi_blocks c = bi_dump();
        CHECK(c.hashed > 0 && c.hashed < c.blocks);
        CHECK_KV(kv_check(bi_db, bi_ignore_line, NULL), KV_OK);
        /* Compacted under either setting: every answer the same. */
        db = bi_open(first ? with : without);
        CHECK_KV(kv_compact(db), KV_OK);
        bi_expect_all(db, 3);
        CLOSE(db);
    }
}

static void other_values_are_refused(void)
{
    int bad[] = {2, -2, 100};
    for (size_t i = 0; i < 3; i++) {
        kv_options opt;
        kv_options_init(&opt);
        opt.block_hash_index = bad[i];
        kv_db *db = NULL;
        bi_fresh();
        CHECK_KV(kv_open(bi_db, &opt, &db), KV_ERR_INVALID);
        CHECK(strstr(kv_errmsg(), "block_hash_index") != NULL);
    }
}

static const harness_test tests[] = {
    HARNESS_TEST(every_block_of_new_tables_has_an_index_when_asked),
    HARNESS_TEST(tables_of_both_kinds_answer_alike),
    HARNESS_TEST(other_values_are_refused),
};
const harness_suite block_hash_index_suite = HARNESS_SUITE("block_hash_index", tests);
