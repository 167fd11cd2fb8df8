/*
 * stage_caps_test.c: the capability table (stage_caps.h) against the stage
 * it describes.  The facts about crashes (atomic batches, durability) are
 * held to by the crash tester (tests/crash/), which fails a stage that
 * claims one and does not keep it; the others are checked here.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kv.h"
#include "stage_caps.h"
#include "testdb.h"

static const stage_caps *caps_required(void)
{
    const stage_caps *caps = stage_caps_find();
    CHECK_MSG(caps != NULL, "tests/stage_caps.c has no row for stage %s: add one", kv_stage());
    return caps;
}

static void stage_caps_has_a_row_for_this_stage(void)
{
    const stage_caps *caps = caps_required();
    CHECK(strcmp(caps->stage, kv_stage()) == 0);
    CHECK(stage_caps_lookup("no-such-stage") == NULL);
}

static void stage_caps_repair_is_there_when_the_table_says(void)
{
    const stage_caps *caps = caps_required();
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("a"), S("1"));
    CLOSE(db);
    int rc = kv_repair(dir, NULL, NULL);
    CHECK_MSG(rc == (caps->has_repair ? KV_OK : KV_ERR_INVALID),
              "kv_repair of an intact database: %s (%s); the table says %s", kv_strerror(rc),
              kv_errmsg(), caps->has_repair ? "it has repair" : "it has none");
}

/* Files in dir other than IDENTITY and LOCK. */
static int caps_data_files(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.' && strcmp(e->d_name, "IDENTITY") != 0 &&
             strcmp(e->d_name, "LOCK") != 0 && !stage_caps_is_meta_file(e->d_name);
    closedir(d);
    return n;
}

static void stage_caps_segments_are_there_when_the_table_says(void)
{
    const stage_caps *caps = caps_required();
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 256;
    kv_db *db = OPEN(dir, &opt);
    char key[16], val[100];
    memset(val, 'v', sizeof val);
    for (int i = 0; i < 20; i++) {
        int kl = snprintf(key, sizeof key, "key%02d", i);
        PUT(db, key, (size_t)kl, val, sizeof val);
    }
    CLOSE(db);
    int files = caps_data_files(dir);
    CHECK_MSG((files > 1) == (caps->has_segments != 0),
              "2000 bytes written with segment_bytes = 256 make %d data file(s); the table "
              "says the stage %s segments", files, caps->has_segments ? "has" : "has no");
}

/* The number after "name: " in kv_stats, or -1 if there is none. */
static double caps_stat(kv_db *db, const char *name)
{
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    char key[64];
    snprintf(key, sizeof key, "\n%s: ", name);
    const char *at = strstr(text, key);
    double v = at ? strtod(at + strlen(key), NULL) : -1;
    kv_free(text);
    return v;
}

/* kv_flush: a stage with a memtable makes it a table (and its data stays
 * as it was); a stage without one has nothing to do.  Both: KV_OK, and
 * KV_ERR_INVALID on a read-only database or NULL. */
static void stage_caps_flush_makes_a_table_when_the_table_says(void)
{
    const stage_caps *caps = caps_required();
    const char *dir = testdb_dir();
    kv_db *db = OPEN(dir, NULL);
    CHECK_KV(kv_flush(db), KV_OK); /* nothing written yet: nothing to do */
    PUT(db, S("a"), S("1"));
    PUT(db, S("b"), S("2"));
    DEL(db, S("a"));
    double flushes = caps_stat(db, "flush.count");
    CHECK_KV(kv_flush(db), KV_OK);
    if (caps->has_memtable) {
        CHECK_EQ(caps_stat(db, "flush.count"), flushes + 1);
        CHECK(caps_stat(db, "tables.count") >= 1);
        CHECK_EQ(caps_stat(db, "memtable.entries"), 0);
    } else {
        /* Nothing to flush: a stage that counts flushes all the same
         * counts none. */
        CHECK_MSG(caps_stat(db, "flush.count") <= 0, "a stage without a memtable flushes "
                  "nothing: flush.count %g", caps_stat(db, "flush.count"));
    }
    ABSENT(db, S("a"));
    EXPECT(db, S("b"), S("2"));
    CLOSE(db);
    CHECK_KV(kv_flush(NULL), KV_ERR_INVALID);
    CHECK_KV(kv_set_background_rate(NULL, 0), KV_ERR_INVALID);
    kv_options opt;
    kv_options_init(&opt);
    opt.read_only = 1;
    db = OPEN(dir, &opt);
    CHECK_KV(kv_flush(db), KV_ERR_INVALID);
    EXPECT(db, S("b"), S("2"));
    CLOSE(db);
}

/* A key written and written back (A, B, A) since a transaction's
 * snapshot: a conflict where commits compare versions, not where they
 * compare values (kv.h, transactions). */
static void stage_caps_txn_versions_when_the_table_says(void)
{
    const stage_caps *caps = caps_required();
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("x"), S("A"));
    kv_txn *t = NULL;
    CHECK_KV(kv_txn_begin(db, KV_TXN_SNAPSHOT, &t), KV_OK);
    PUT(db, S("x"), S("B"));
    PUT(db, S("x"), S("A"));
    CHECK_KV(kv_txn_put(t, S("x"), S("mine")), KV_OK);
    CHECK_KV(kv_txn_commit(t), caps->txn_versions ? KV_ERR_CONFLICT : KV_OK);
    if (caps->txn_versions)
        EXPECT(db, S("x"), S("A"));
    else
        EXPECT(db, S("x"), S("mine"));
    CLOSE(db);
}

/* A stage whose tables are in blocks keeps a block cache, which kv_stats
 * reports (and so the bloom filter and block counts of kv_cost apply). */
static void stage_caps_table_blocks_when_the_table_says(void)
{
    const stage_caps *caps = caps_required();
    kv_db *db = testdb_fresh(NULL);
    double capacity = caps_stat(db, "block_cache.capacity");
    CHECK_MSG((capacity > 0) == (caps->table_blocks != 0),
              "kv_stats's block_cache.capacity is %g; the table says the stage's tables %s",
              capacity, caps->table_blocks ? "are in blocks" : "are not in blocks");
    CLOSE(db);
}

/* kv_set_background_rate: 0 (no limit) every stage takes; another rate a
 * stage that paces its background writes takes (and kv_stats says it),
 * and one that does not refuses, saying the call, the rate and which
 * stage refused it (and no other stage: a stage speaks of itself). */
static void stage_caps_paced_writes_when_the_table_says(void)
{
    const stage_caps *caps = caps_required();
    kv_db *db = testdb_fresh(NULL);
    CHECK_KV(kv_set_background_rate(db, 0), KV_OK);
    if (caps->paced_writes) {
        CHECK_KV(kv_set_background_rate(db, 3 << 20), KV_OK);
        CHECK_EQ(caps_stat(db, "rate_limiter.bytes_per_second"), 3 << 20);
        CHECK_KV(kv_set_background_rate(db, 0), KV_OK);
        CHECK_EQ(caps_stat(db, "rate_limiter.bytes_per_second"), 0);
    } else {
        CHECK_KV(kv_set_background_rate(db, 3 << 20), KV_ERR_INVALID);
        const char *why = kv_errmsg();
        char stage[32];
        snprintf(stage, sizeof stage, "stage %s", kv_stage());
        CHECK_MSG(strstr(why, "kv_set_background_rate") != NULL &&
                  strstr(why, "3145728") != NULL && strstr(why, stage) != NULL &&
                  strstr(why, "stage 09") == NULL, "%s", why);
    }
    PUT(db, S("a"), S("1")); /* the database goes on */
    EXPECT(db, S("a"), S("1"));
    CLOSE(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(stage_caps_paced_writes_when_the_table_says),
    HARNESS_TEST(stage_caps_table_blocks_when_the_table_says),
    HARNESS_TEST(stage_caps_has_a_row_for_this_stage),
    HARNESS_TEST(stage_caps_txn_versions_when_the_table_says),
    HARNESS_TEST(stage_caps_flush_makes_a_table_when_the_table_says),
    HARNESS_TEST(stage_caps_repair_is_there_when_the_table_says),
    HARNESS_TEST(stage_caps_segments_are_there_when_the_table_says),
};
const harness_suite stage_caps_suite = HARNESS_SUITE("stage_caps", tests);
