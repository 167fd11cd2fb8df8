/*
 * hash_snapshot_test.c: stage 02's snapshots as layers (hash_snapshot.h):
 * taking one copies nothing; each key written while it lives is saved
 * once; several snapshots, freed in any order, across deletes, batches and
 * merges, each read exactly the database as it was when taken (against a
 * model); and every layer is gone once the snapshots are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "stage_util.h"

#define KEYS 48
#define VLEN 40
#define MAX_SNAPS 6

/* A moment of the database: each key's round, or -1 for absent. */
typedef struct state {
    int round[KEYS];
} state;

static void check_at(kv_db *db, const kv_snapshot *snap, const state *want)
{
    char key[17], val[VLEN];
    for (unsigned i = 0; i < KEYS; i++) {
        stage_key(key, i);
        if (want->round[i] < 0) {
            ABSENT_AT(db, snap, key, 16);
        } else {
            stage_value(val, VLEN, i, (unsigned)want->round[i]);
            EXPECT_AT(db, snap, key, 16, val, VLEN);
        }
    }
}

/* An iterator at snap shows exactly the keys present in want, in order. */
static void check_scan_at(kv_db *db, const kv_snapshot *snap, const state *want)
{
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new_at(db, snap, &it), KV_OK);
    kv_iter_seek_first(it);
    char key[17], val[VLEN];
    for (unsigned i = 0; i < KEYS; i++) {
        if (want->round[i] < 0)
            continue;
        stage_key(key, i);
        stage_value(val, VLEN, i, (unsigned)want->round[i]);
        CHECK(kv_iter_valid(it));
        size_t kl = 0, vl = 0;
        const void *k = kv_iter_key(it, &kl);
        const void *v = kv_iter_value(it, &vl);
        CHECK_MEM(k, kl, key, 16);
        CHECK_MEM(v, vl, val, VLEN);
        kv_iter_next(it);
    }
    CHECK(!kv_iter_valid(it));
    CHECK_KV(kv_iter_status(it), KV_OK);
    kv_iter_free(it);
}

/* Taking a snapshot saves nothing; the first write of a key saves it once,
 * later writes of it nothing more; freeing the snapshot gives it back. */
static void snapshot_copies_nothing_and_saves_each_written_key_once(void)
{
    const char *dir = testdb_dir();
    kv_db *db = OPEN(dir, NULL);
    stage_put_keys(db, 1000, 0, VLEN);
    const kv_snapshot *s = NULL;
    CHECK_KV(kv_snapshot_new(db, &s), KV_OK);
    CHECK_EQ(stage_stat(db, "snapshots.layers"), 1);
    CHECK_EQ(stage_stat(db, "snapshots.saved_places"), 0);
    char key[17], val[VLEN];
    for (unsigned r = 1; r <= 3; r++)
        for (unsigned i = 0; i < 10; i++) {
            stage_key(key, i);
            stage_value(val, VLEN, i, r);
            PUT(db, key, 16, val, VLEN);
        }
    stage_key(key, 20);
    DEL(db, key, 16);
    PUT(db, S("new-key"), S("x"));
    CHECK_EQ(stage_stat(db, "snapshots.saved_places"), 12);
    for (unsigned i = 0; i < 30; i++) {
        stage_key(key, i);
        stage_value(val, VLEN, i, 0);
        EXPECT_AT(db, s, key, 16, val, VLEN);
    }
    ABSENT_AT(db, s, S("new-key"));
    kv_snapshot_free(db, s);
    CHECK_EQ(stage_stat(db, "snapshots.layers"), 0);
    CHECK_EQ(stage_stat(db, "snapshots.saved_places"), 0);
    CLOSE(db);
}

/* A key saved by a newer layer only is read there by an older snapshot
 * too; freeing the middle snapshot moves its places down. */
static void older_snapshot_reads_through_newer_layers(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("a"), S("1"));
    const kv_snapshot *s1 = NULL, *s2 = NULL, *s3 = NULL;
    CHECK_KV(kv_snapshot_new(db, &s1), KV_OK);
    PUT(db, S("b"), S("1"));               /* saved in layer 1: absent */
    CHECK_KV(kv_snapshot_new(db, &s2), KV_OK);
    PUT(db, S("a"), S("2"));               /* saved in layer 2 only: a = 1 */
    CHECK_KV(kv_snapshot_new(db, &s3), KV_OK);
    DEL(db, S("a"));                       /* saved in layer 3: a = 2 */
    PUT(db, S("b"), S("3"));
    EXPECT_AT(db, s1, S("a"), S("1"));
    ABSENT_AT(db, s1, S("b"));
    EXPECT_AT(db, s2, S("a"), S("1"));
    EXPECT_AT(db, s2, S("b"), S("1"));
    EXPECT_AT(db, s3, S("a"), S("2"));
    kv_snapshot_free(db, s2);              /* layer 2 moves into layer 1 */
    CHECK_EQ(stage_stat(db, "snapshots.layers"), 2);
    EXPECT_AT(db, s1, S("a"), S("1"));
    ABSENT_AT(db, s1, S("b"));
    static const testdb_pair at1[] = {P("a", "1")};
    testdb_expect_scan_at(db, s1, at1, NPAIRS(at1));
    static const testdb_pair at3[] = {P("a", "2"), P("b", "1")};
    testdb_expect_scan_at(db, s3, at3, NPAIRS(at3));
    kv_snapshot_free(db, s1);              /* the oldest: its layer goes */
    CHECK_EQ(stage_stat(db, "snapshots.layers"), 1);
    EXPECT_AT(db, s3, S("a"), S("2"));
    kv_snapshot_free(db, s3);
    CHECK_EQ(stage_stat(db, "snapshots.layers"), 0);
    static const testdb_pair now[] = {P("b", "3")};
    testdb_expect_scan(db, now, NPAIRS(now));
    CLOSE(db);
}

/* Random puts, deletes, batches and merges, with up to MAX_SNAPS
 * snapshots taken and freed in random order: each reads its moment. */
static void snapshots_match_a_model_across_writes_and_merges(void)
{
    kv_options opt = stage_options(4096); /* many segments, for merges */
    const char *dir = testdb_dir();
    kv_db *db = OPEN(dir, &opt);
    state now;
    for (unsigned i = 0; i < KEYS; i++)
        now.round[i] = -1;
    const kv_snapshot *snap[MAX_SNAPS] = {0};
    state at[MAX_SNAPS];
    unsigned seed = 12345;
    char key[17], val[VLEN];
    kv_batch *b = NULL;
    CHECK_KV(kv_batch_new(&b), KV_OK);
    for (int step = 0; step < 3000; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = (seed >> 8) % 100, i = (seed >> 16) % KEYS;
        if (r < 45) {
            stage_key(key, i);
            stage_value(val, VLEN, i, (unsigned)step);
            PUT(db, key, 16, val, VLEN);
            now.round[i] = step;
        } else if (r < 60) {
            stage_key(key, i);
            DEL(db, key, 16);
            now.round[i] = -1;
        } else if (r < 70) {
            kv_batch_clear(b);
            for (unsigned j = 0; j < 5; j++) {
                unsigned k = (i + j * 7) % KEYS;
                stage_key(key, k);
                if (j % 3 == 2) {
                    CHECK_KV(kv_batch_delete(b, key, 16), KV_OK);
                    now.round[k] = -1;
                } else {
                    stage_value(val, VLEN, k, (unsigned)step + j);
                    CHECK_KV(kv_batch_put(b, key, 16, val, VLEN), KV_OK);
                    now.round[k] = step + (int)j;
                }
            }
            CHECK_KV(kv_write(db, b), KV_OK);
        } else if (r < 80) {
            unsigned k = i % MAX_SNAPS;
            if (snap[k] == NULL) {
                CHECK_KV(kv_snapshot_new(db, &snap[k]), KV_OK);
                at[k] = now;
            }
        } else if (r < 90) {
            unsigned k = i % MAX_SNAPS;
            kv_snapshot_free(db, snap[k]);
            snap[k] = NULL;
        } else if (r < 92) {
            CHECK_KV(kv_compact(db), KV_OK);
        }
        if (step % 50 == 0 || r >= 90)
            for (unsigned k = 0; k < MAX_SNAPS; k++)
                if (snap[k] != NULL) {
                    check_at(db, snap[k], &at[k]);
                    if (step % 500 == 0)
                        check_scan_at(db, snap[k], &at[k]);
                }
    }
    for (unsigned k = 0; k < MAX_SNAPS; k++) {
        if (snap[k] != NULL) {
            check_at(db, snap[k], &at[k]);
            check_scan_at(db, snap[k], &at[k]);
        }
        kv_snapshot_free(db, snap[k]);
    }
    kv_batch_free(b);
    CHECK_EQ(stage_stat(db, "snapshots.layers"), 0);
    CHECK_EQ(stage_stat(db, "snapshots.saved_places"), 0);
    CLOSE(db);
}

static const harness_test hash_snapshot_tests[] = {
    HARNESS_TEST(snapshot_copies_nothing_and_saves_each_written_key_once),
    HARNESS_TEST(older_snapshot_reads_through_newer_layers),
    HARNESS_TEST(snapshots_match_a_model_across_writes_and_merges),
};
const harness_suite hash_snapshot_suite = HARNESS_SUITE("hash_snapshot", hash_snapshot_tests);
