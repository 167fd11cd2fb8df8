/*
 * filters_for_hits_test.c: kv_options.filters_for_hits through kv_open.
 * With it 1, the last table a get can reach (no older table can hold its
 * key: stage 04's flat set's oldest table; stage 06's table that no
 * deeper level has a table for: engine_last_table_test.c) is searched
 * without asking its bloom
 * filter (table.h's table_get_last); every other table's filter is asked
 * as before; and every answer is what it is with every filter asked
 * (KV_FILTERS_ALWAYS), present keys, absent ones and deleted ones alike.
 * A value other than 0, 1 and KV_FILTERS_ALWAYS is refused.  (What the
 * default, 0, means is table_v2_test.c's to check.)
 *
 * Three tables, oldest first: round 0 holds every key, rounds 1 and 2 a
 * third of them each and the first and last key, so that each table's
 * range holds every key.  Stage 05 keeps them as three tables newest
 * first; stage 06 flushes them to levels 2, 1 and 0 (each overlaps the
 * one before: engine_flush_test.c).  Either way the round-0 table is the
 * last a get reaches.  Counted by kv_cost (kv.h).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "../../04-lsm/tests/lsm_test_util.h"
#include "kv.h"

#define FH_KEYS 300

static void fh_key(char *k, size_t n, int i) { snprintf(k, n, "key%05d", i); }

/* Key i's newest round: 2, 1 or 0 (every key is in round 0). */
static int fh_round(int i)
{
    if (i == 0 || i == FH_KEYS - 1)
        return 2;
    return i % 3 == 1 ? 1 : i % 3 == 2 ? 2 : 0;
}

static kv_db *fh_open(const char *dir, int hits)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.filters_for_hits = hits;
    /* A later stage's record cache kept out: every get reaches the tables. */
    opt.record_cache_percent = KV_NO_RECORD_CACHE;
    return OPEN(dir, &opt);
}

/* The three tables of the file's comment. */
static kv_db *fh_three_tables(int hits)
{
    kv_db *db = fh_open(testdb_dir(), hits);
    char k[32], v[64];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < FH_KEYS; i++) {
            if (round > 0 && fh_round(i) < round)
                continue;
            fh_key(k, sizeof k, i);
            int vl = snprintf(v, sizeof v, "round %d of key %d", round, i);
            PUT(db, k, strlen(k), v, (size_t)vl);
        }
        CHECK_KV(kv_flush(db), KV_OK);
    }
    return db;
}

static kv_cost fh_get(kv_db *db, const char *key, int found)
{
    kv_cost_reset();
    void *val = NULL;
    size_t vlen = 0;
    harness_context("kv_get(%s)", key);
    CHECK_KV(kv_get(db, key, strlen(key), &val, &vlen), found ? KV_OK : KV_NOT_FOUND);
    kv_free(val);
    kv_cost c;
    kv_cost_get(&c);
    return c;
}

/* A key only the last table holds: the two tables above it ask their
 * filters, the last does not; with every filter asked, all three do. */
static void a_key_in_the_last_table_skips_its_filter(void)
{
    int settings[] = {1, KV_FILTERS_ALWAYS};
    for (size_t s = 0; s < 2; s++) {
        int hits = settings[s];
        kv_db *db = fh_three_tables(hits);
        char k[32];
        for (int i = 0; i < FH_KEYS; i++) {
            if (fh_round(i) != 0)
                continue;
            fh_key(k, sizeof k, i);
            harness_context("filters_for_hits %d, key %s", hits, k);
            kv_cost c = fh_get(db, k, 1);
            CHECK_EQ(c.tables_in_range, 3ull);
            CHECK_EQ(c.bloom_checks, hits == 1 ? 2ull : 3ull);
            CHECK_EQ(c.bloom_skips + c.bloom_false_positives, 2ull);
        }
        /* A key the newest table holds: its filter asked, as before. */
        fh_key(k, sizeof k, 2);
        kv_cost c = fh_get(db, k, 1);
        CHECK_EQ(c.tables_in_range, 1ull);
        CHECK_EQ(c.bloom_checks, 1ull);
        CLOSE(db);
    }
}

/* kv_multi_get takes the path kv_get takes (kv_cost does not count its
 * filters; the tables' counters do): absent keys inside every table's
 * range, each turned away by the filters of the two newer tables, and by
 * the last one's only where it is asked; present keys found, every
 * answer kv_get's. */
static void multi_get_skips_the_same_filter(void)
{
    int settings[] = {1, KV_FILTERS_ALWAYS};
    double useful[2];
    enum { N = 128 };
    for (size_t s = 0; s < 2; s++) {
        int hits = settings[s];
        harness_context("filters_for_hits %d", hits);
        kv_db *db = fh_three_tables(hits);
        char keys[N][40];
        const void *kp[N];
        size_t kl[N], vlens[N];
        void *vals[N];
        int rcs[N];
        for (int i = 0; i < N; i++) {
            fh_key(keys[i], sizeof keys[i], i);
            if (i % 2)
                strcat(keys[i], "x"); /* absent, between two keys */
            kp[i] = keys[i];
            kl[i] = strlen(keys[i]);
        }
        useful[s] = lt_stat(db, "session.table.filter_useful");
        CHECK_KV(kv_multi_get(db, N, kp, kl, vals, vlens, rcs), KV_OK);
        useful[s] = lt_stat(db, "session.table.filter_useful") - useful[s];
        for (int i = 0; i < N; i++) {
            void *v = NULL;
            size_t vl = 0;
            CHECK_KV(rcs[i], i % 2 ? KV_NOT_FOUND : KV_OK);
            CHECK_KV(kv_get(db, keys[i], kl[i], &v, &vl), rcs[i]);
            if (rcs[i] == KV_OK)
                CHECK(vl == vlens[i] && memcmp(v, vals[i], vl) == 0);
            kv_free(v);
            kv_free(vals[i]);
        }
        CLOSE(db);
    }
    /* The last table's filter, asked, turns away the N / 2 absent keys
     * but about 1% of them; skipped, none (the newer tables' filters turn
     * away as many either way). */
    double last = useful[1] - useful[0];
    CHECK_MSG(last <= N / 2 && last >= N / 2 * 0.9, "the last table's filter turned away %.0f "
              "absent keys more with every filter asked than with it skipped", last);
}

/* Absent keys inside every table's range: not found, whether the last
 * table's filter is asked or not; with it skipped, the last table is
 * searched for each of them (its index, one block). */
static void an_absent_key_is_not_found_with_the_last_filter_skipped(void)
{
    kv_db *db = fh_three_tables(1);
    char k[40];
    for (int i = 0; i < FH_KEYS - 1; i++) {
        fh_key(k, sizeof k, i);
        strcat(k, "x"); /* between key i and key i + 1 */
        kv_cost c = fh_get(db, k, 0);
        CHECK_EQ(c.tables_in_range, 3ull);
        CHECK_EQ(c.bloom_checks, 2ull);
        CHECK(c.tables_searched >= 1); /* the last, and the newer ones' false positives */
        CHECK_EQ(c.tables_searched, 1 + c.bloom_false_positives);
    }
    /* Deleted in the newest table: not found there, no older table asked. */
    fh_key(k, sizeof k, 0);
    DEL(db, k, strlen(k));
    CHECK_KV(kv_flush(db), KV_OK);
    fh_get(db, k, 0);
    CLOSE(db);
}

/* A seeded workload (puts, overwrites, deletes, flushes, and in stage 06
 * the compactions they start) on two databases, one with the last
 * table's filter skipped and one with every filter asked: every get of a
 * key written, deleted or never written answers the same, and what a
 * model of the writes says. */
static void answers_match_with_the_filter_skipped_or_asked(void)
{
    enum { KEYS = 2000, OPS = 2000 };
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 16384;
    opt.l1_bytes = 65536;
    opt.table_bytes = 16384;
    opt.record_cache_percent = KV_NO_RECORD_CACHE;
    kv_db *db[2];
    for (int d = 0; d < 2; d++) {
        opt.filters_for_hits = d == 0 ? 1 : KV_FILTERS_ALWAYS;
        db[d] = OPEN(testdb_dir(), &opt);
    }
    /* INT_MIN: deleted; else the number in the key's value. */
    int *model = malloc(KEYS * sizeof *model);
    CHECK(model != NULL);
    uint64_t x = 0x9e3779b97f4a7c15ull; /* xorshift64, a fixed seed */
    char k[32], v[64];
    /* Every key first, so that a third or so are never written again and
     * are found only in the oldest tables (in stage 06, the deepest
     * level's). */
    for (int i = 0; i < KEYS; i++) {
        fh_key(k, sizeof k, i);
        int vl = snprintf(v, sizeof v, "value %d of key %d", -1 - i, i);
        for (int d = 0; d < 2; d++)
            PUT(db[d], k, strlen(k), v, (size_t)vl);
        model[i] = -1 - i;
    }
    for (int d = 0; d < 2; d++)
        CHECK_KV(kv_flush(db[d]), KV_OK);
    for (int op = 0; op < OPS; op++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int i = (int)(x % KEYS);
        int what = (int)((x >> 32) % 10);
        fh_key(k, sizeof k, i);
        for (int d = 0; d < 2; d++) {
            if (what == 0)
                DEL(db[d], k, strlen(k));
            else {
                int vl = snprintf(v, sizeof v, "value %d of key %d", op, i);
                PUT(db[d], k, strlen(k), v, (size_t)vl);
            }
            if (op % 500 == 499)
                CHECK_KV(kv_flush(db[d]), KV_OK);
        }
        model[i] = what == 0 ? INT_MIN : op;
    }
    for (int d = 0; d < 2; d++)
        CHECK_KV(kv_flush(db[d]), KV_OK);
    /* Every key once, in order, then as many drawn at random; half of
     * them one byte past a key (never written). */
    for (int n = 0; n < 4 * KEYS; n++) {
        int i = n < 2 * KEYS ? n / 2 : (int)((x = x * 6364136223846793005ull + 1) >> 33) % KEYS;
        int absent = n % 2;
        fh_key(k, sizeof k, i);
        if (absent)
            strcat(k, "~");
        void *got[2] = {NULL, NULL};
        size_t len[2] = {0, 0};
        int rc[2];
        for (int d = 0; d < 2; d++)
            rc[d] = kv_get(db[d], k, strlen(k), &got[d], &len[d]);
        harness_context("kv_get(%s): %s with the last filter skipped, %s with every filter "
                        "asked", k, kv_strerror(rc[0]), kv_strerror(rc[1]));
        CHECK_KV(rc[0], rc[1]);
        if (absent || model[i] == INT_MIN) {
            CHECK_KV(rc[0], KV_NOT_FOUND);
        } else {
            CHECK_KV(rc[0], KV_OK);
            int vl = snprintf(v, sizeof v, "value %d of key %d", model[i], i);
            CHECK(len[0] == (size_t)vl && memcmp(got[0], v, len[0]) == 0);
            CHECK(len[1] == len[0] && memcmp(got[1], got[0], len[0]) == 0);
        }
        kv_free(got[0]);
        kv_free(got[1]);
    }
    free(model);
    for (int d = 0; d < 2; d++)
        CLOSE(db[d]);
}

/* 0, 1 and KV_FILTERS_ALWAYS are taken; anything else is KV_ERR_INVALID
 * naming the option and its value, before the directory is made. */
static void other_values_are_refused(void)
{
    const char *dir = testdb_dir();
    int bad[] = {2, -2, 100, -100};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kv_options opt;
        kv_options_init(&opt);
        opt.filters_for_hits = bad[i];
        kv_db *db = NULL;
        harness_context("filters_for_hits %d", bad[i]);
        CHECK_KV(kv_open(dir, &opt, &db), KV_ERR_INVALID);
        CHECK(db == NULL);
        char want[48];
        snprintf(want, sizeof want, "filters_for_hits = %d ", bad[i]);
        CHECK_MSG(strstr(kv_errmsg(), want) != NULL, "kv_errmsg: %s", kv_errmsg());
        db = fh_open(dir, 0); /* nothing was made: a fresh open works */
        CLOSE(db);
    }
}

static const harness_test tests[] = {
    HARNESS_TEST(a_key_in_the_last_table_skips_its_filter),
    HARNESS_TEST(an_absent_key_is_not_found_with_the_last_filter_skipped),
    HARNESS_TEST(multi_get_skips_the_same_filter),
    HARNESS_TEST(answers_match_with_the_filter_skipped_or_asked),
    HARNESS_TEST(other_values_are_refused),
};
const harness_suite filters_for_hits_suite = HARNESS_SUITE("filters_for_hits", tests);
