/*
 * record_lookup_test.c: the record cache inside the engine
 * (record_lookup.c): a get answered again from it, a snapshot older than
 * the version it keeps reading its own version (both orders, puts and
 * deletes, values kept in the table and in the value log), the option's
 * range, the lookups asking a sample of the keys while hits are rare
 * (record_sampling.h) and all of them again once hot keys hit, and a
 * seeded run of puts, deletes, transactions, snapshots,
 * flushes and compactions whose every read is compared with a model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "kv.h"

static kv_db *rl_open(const char *dir, size_t memtable_bytes)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = memtable_bytes;
    return OPEN(dir, &opt);
}

/* A value of len bytes that says which write made it. */
static char *rl_value(int key, int round, size_t len)
{
    char *v = malloc(len + 1);
    CHECK(v != NULL);
    int n = snprintf(v, len + 1, "k%d-r%d:", key, round);
    for (size_t i = (size_t)n; i < len; i++)
        v[i] = (char)('a' + (key + round + (int)i) % 26);
    v[len] = '\0';
    return v;
}

static void older_snapshot(size_t vlen, int read_new_first, int delete_last)
{
    const char *dir = NULL;
    kv_db *db = testdb_fresh(&dir);
    CLOSE(db);
    db = rl_open(dir, 0);
    char *v1 = rl_value(1, 1, vlen), *v2 = rl_value(1, 2, vlen);
    PUT(db, S("key"), v1, vlen);
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
    if (delete_last)
        DEL(db, S("key"));
    else
        PUT(db, S("key"), v2, vlen);
    CHECK_KV(kv_flush(db), KV_OK); /* one table, both versions (the snapshot keeps v1) */
    for (int round = 0; round < 3; round++) {
        if (read_new_first) {
            if (delete_last)
                ABSENT(db, S("key"));
            else
                EXPECT(db, S("key"), v2, vlen);
        }
        EXPECT_AT(db, snap, S("key"), v1, vlen);
        if (!read_new_first) {
            if (delete_last)
                ABSENT(db, S("key"));
            else
                EXPECT(db, S("key"), v2, vlen);
        }
    }
    /* The newest version was kept and answered; the snapshot's went past it. */
    CHECK(testdb_stat(db, "session.record_cache.hits") >= 2);
    CHECK(testdb_stat(db, "session.record_cache.bypassed") >= 2);
    kv_snapshot_free(db, snap);
    CLOSE(db);
    free(v1);
    free(v2);
}

static void a_snapshot_older_than_the_kept_version_reads_its_own(void)
{
    for (int order = 0; order < 2; order++)
        for (int del = 0; del < 2; del++) {
            older_snapshot(40, order, del);    /* in the table */
            older_snapshot(2000, order, del);  /* in the value log */
        }
}

static void a_get_again_is_answered_from_the_record_cache(void)
{
    const char *dir = NULL;
    kv_db *db = testdb_fresh(&dir);
    for (int i = 0; i < 300; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%04d", i);
        char *v = rl_value(i, 0, 100);
        PUT(db, k, strlen(k), v, 100);
        free(v);
    }
    CHECK_KV(kv_flush(db), KV_OK);
    char *v = rl_value(7, 0, 100);
    EXPECT(db, S("k0007"), v, 100);
    double before = testdb_stat(db, "session.table.blocks_per_get");
    double hits = testdb_stat(db, "session.record_cache.hits");
    CHECK(before > 0);
    EXPECT(db, S("k0007"), v, 100);
    CHECK_EQ(testdb_stat(db, "session.record_cache.hits"), hits + 1);
    CHECK(testdb_stat(db, "session.record_cache.entries") >= 1);
    CHECK(testdb_stat(db, "session.record_cache.usage") >= 100);
    CHECK(testdb_stat(db, "session.record_cache.capacity") > 0);
    /* A newer write in the memtable answers before any table. */
    PUT(db, S("k0007"), S("newer"));
    EXPECT(db, S("k0007"), S("newer"));
    CHECK_EQ(testdb_stat(db, "session.record_cache.hits"), hits + 1);
    CLOSE(db);
    free(v);
}

/* Key i of rare_hits_...: "k%05d", with rl_value(i, 0, 100); put, or
 * read and checked. */
static void rl_key_io(kv_db *db, int i, int put)
{
    char k[16];
    snprintf(k, sizeof k, "k%05d", i);
    char *v = rl_value(i, 0, 100);
    if (put)
        PUT(db, k, strlen(k), v, 100);
    else
        EXPECT(db, k, strlen(k), v, 100);
    free(v);
}

/* Gets spread over many more keys than the cache holds rarely hit: the
 * lookups then ask the record cache for a sample of the keys only
 * (record_sampling.h), and every answer stays right.  Gets of a few hot
 * keys then hit in the sample, and every key is asked again. */
static void rare_hits_ask_a_sample_and_hot_keys_ask_all_again(void)
{
    const char *dir = NULL;
    kv_db *db = testdb_fresh(&dir);
    CLOSE(db);
    kv_options opt;
    kv_options_init(&opt);
    opt.cache_bytes = 64 * 1024; /* 16 KiB of records: some 60 of them */
    db = OPEN(dir, &opt);
    enum { KEYS = 4000 };
    for (int i = 0; i < KEYS; i++)
        rl_key_io(db, i, 1);
    CHECK_KV(kv_flush(db), KV_OK);
    CHECK_EQ(testdb_stat(db, "record_cache.sampling"), 0);
    uint64_t x = 7;
    for (int n = 0; n < 12000; n++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        rl_key_io(db, (int)((x >> 33) % KEYS), 0);
    }
    CHECK_EQ(testdb_stat(db, "record_cache.sampling"), 1);
    CHECK(testdb_stat(db, "session.record_cache.left_out") > 0);
    double changes = testdb_stat(db, "session.record_cache.sampling_changes");
    CHECK_EQ(changes, 1);
    /* 64 hot keys: about 8 in the sample, each asked again and again. */
    for (int n = 0; n < 40000; n++)
        rl_key_io(db, n % 64, 0);
    CHECK_EQ(testdb_stat(db, "record_cache.sampling"), 0);
    CHECK_EQ(testdb_stat(db, "session.record_cache.sampling_changes"), changes + 1);
    CLOSE(db);
}

static void the_option_is_checked_and_none_means_none(void)
{
    const char *dir = NULL;
    kv_db *db = testdb_fresh(&dir);
    CLOSE(db);
    kv_options opt;
    kv_options_init(&opt);
    kv_db *bad = NULL;
    opt.record_cache_percent = 91;
    CHECK_KV(kv_open(dir, &opt, &bad), KV_ERR_INVALID);
    CHECK(strstr(kv_errmsg(), "record_cache_percent") != NULL);
    opt.record_cache_percent = -2;
    CHECK_KV(kv_open(dir, &opt, &bad), KV_ERR_INVALID);
    opt.record_cache_percent = KV_NO_RECORD_CACHE;
    db = OPEN(dir, &opt);
    PUT(db, S("a"), S("1"));
    CHECK_KV(kv_flush(db), KV_OK);
    EXPECT(db, S("a"), S("1"));
    EXPECT(db, S("a"), S("1"));
    CHECK_EQ(testdb_stat(db, "session.record_cache.hits"), 0);
    CHECK_EQ(testdb_stat(db, "session.record_cache.capacity"), 0);
    CLOSE(db);
}

/* ---- against a model ------------------------------------------------------- */

#define RL_KEYS 48
#define RL_SNAPS 4

typedef struct rl_state {
    char *val[RL_KEYS];     /* NULL: absent */
    size_t len[RL_KEYS];
} rl_state;

static void rl_state_set(rl_state *s, int k, const char *v, size_t len)
{
    free(s->val[k]);
    s->val[k] = NULL;
    if (v != NULL) {
        s->val[k] = malloc(len + 1);
        CHECK(s->val[k] != NULL);
        memcpy(s->val[k], v, len);
        s->len[k] = len;
    }
}

static void rl_state_copy(rl_state *to, const rl_state *from)
{
    for (int k = 0; k < RL_KEYS; k++)
        rl_state_set(to, k, from->val[k], from->len[k]);
}

static void rl_state_free(rl_state *s)
{
    for (int k = 0; k < RL_KEYS; k++)
        rl_state_set(s, k, NULL, 0);
}

static void rl_check(kv_db *db, const kv_snapshot *snap, const rl_state *s, int k, long op)
{
    char key[16];
    snprintf(key, sizeof key, "key%02d", k);
    harness_context("op %ld, %s, %s", op, key, snap ? "at a snapshot" : "now");
    if (s->val[k] == NULL) {
        if (snap)
            ABSENT_AT(db, snap, key, strlen(key));
        else
            ABSENT(db, key, strlen(key));
    } else if (snap) {
        EXPECT_AT(db, snap, key, strlen(key), s->val[k], s->len[k]);
    } else {
        EXPECT(db, key, strlen(key), s->val[k], s->len[k]);
    }
}

static void model_run(uint64_t seed)
{
    const char *dir = NULL;
    kv_db *db = testdb_fresh(&dir);
    CLOSE(db);
    db = rl_open(dir, 32 << 10);
    testdb_rng rng;
    testdb_rng_seed(&rng, seed);
    rl_state now = {0}, at[RL_SNAPS] = {0};
    const kv_snapshot *snaps[RL_SNAPS] = {0};
    for (long op = 0; op < 3000; op++) {
        uint32_t what = testdb_rng_below(&rng, 100);
        int k = (int)testdb_rng_below(&rng, RL_KEYS);
        char key[16];
        snprintf(key, sizeof key, "key%02d", k);
        if (what < 30) {
            size_t len = testdb_rng_below(&rng, 4) == 0 ? 600 + testdb_rng_below(&rng, 400)
                                                        : 1 + testdb_rng_below(&rng, 80);
            char *v = rl_value(k, (int)op, len);
            PUT(db, key, strlen(key), v, len);
            rl_state_set(&now, k, v, len);
            free(v);
        } else if (what < 38) {
            DEL(db, key, strlen(key));
            rl_state_set(&now, k, NULL, 0);
        } else if (what < 44) {
            /* A transaction: read one key, write two. */
            int k2 = (int)testdb_rng_below(&rng, RL_KEYS);
            char key2[16];
            snprintf(key2, sizeof key2, "key%02d", k2);
            kv_txn *txn = NULL;
            CHECK_KV(kv_txn_begin(db, KV_TXN_SNAPSHOT, &txn), KV_OK);
            void *got = NULL;
            size_t glen = 0;
            int rc = kv_txn_get(txn, key, strlen(key), &got, &glen);
            CHECK(rc == (now.val[k] ? KV_OK : KV_NOT_FOUND));
            if (rc == KV_OK)
                CHECK(glen == now.len[k] && memcmp(got, now.val[k], glen) == 0);
            kv_free(got);
            char *v = rl_value(k2, (int)op, 20);
            CHECK_KV(kv_txn_put(txn, key2, strlen(key2), v, 20), KV_OK);
            CHECK_KV(kv_txn_delete(txn, key, strlen(key)), KV_OK);
            CHECK_KV(kv_txn_commit(txn), KV_OK);
            rl_state_set(&now, k2, v, 20); /* in the order written: k2 == k ends deleted */
            rl_state_set(&now, k, NULL, 0);
            free(v);
        } else if (what < 48) {
            int i = (int)testdb_rng_below(&rng, RL_SNAPS);
            if (snaps[i] != NULL)
                kv_snapshot_free(db, snaps[i]);
            CHECK_KV(kv_snapshot_new(db, &snaps[i]), KV_OK);
            rl_state_copy(&at[i], &now);
        } else if (what < 50) {
            CHECK_KV(kv_flush(db), KV_OK);
        } else if (what < 51) {
            CHECK_KV(kv_compact(db), KV_OK);
        } else if (what < 80) {
            rl_check(db, NULL, &now, k, op);
        } else {
            int i = (int)testdb_rng_below(&rng, RL_SNAPS);
            if (snaps[i] != NULL)
                rl_check(db, snaps[i], &at[i], k, op);
        }
    }
    for (int k = 0; k < RL_KEYS; k++) {
        rl_check(db, NULL, &now, k, -1);
        for (int i = 0; i < RL_SNAPS; i++)
            if (snaps[i] != NULL)
                rl_check(db, snaps[i], &at[i], k, -1);
    }
    /* The run went through the record cache both ways. */
    CHECK(testdb_stat(db, "session.record_cache.hits") > 0);
    CHECK(testdb_stat(db, "session.record_cache.bypassed") > 0);
    for (int i = 0; i < RL_SNAPS; i++) {
        kv_snapshot_free(db, snaps[i]);
        rl_state_free(&at[i]);
    }
    rl_state_free(&now);
    CLOSE(db);
}

static void writes_snapshots_and_compactions_read_as_a_model_says(void)
{
    const char *seed = getenv("KV_TEST_SEED");
    uint64_t base = seed ? strtoull(seed, NULL, 10) : 1;
    for (uint64_t s = base; s < base + 8; s++)
        model_run(s);
}

static const harness_test tests[] = {
    HARNESS_TEST(a_get_again_is_answered_from_the_record_cache),
    HARNESS_TEST(a_snapshot_older_than_the_kept_version_reads_its_own),
    HARNESS_TEST(the_option_is_checked_and_none_means_none),
    HARNESS_TEST(rare_hits_ask_a_sample_and_hot_keys_ask_all_again),
    HARNESS_TEST(writes_snapshots_and_compactions_read_as_a_model_says),
};
const harness_suite record_lookup_suite = HARNESS_SUITE("record_lookup", tests);
