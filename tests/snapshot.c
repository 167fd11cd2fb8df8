/*
 * snapshot.c: kv.h's rules for snapshots, for every stage: a snapshot sees
 * every write acknowledged before it and nothing after; reads at it
 * (kv_get_at, iterators made with kv_iter_new_at, forward and backward) are
 * unchanged by later puts, deletes, batches, kv_compact and, from stage 04,
 * memtable flushes (the tests set a small kv_options.memtable_bytes so a
 * stage that has a memtable flushes several times); several snapshots live
 * at once; an iterator outlives its snapshot handle; and the misuses:
 * a NULL snapshot, bad arguments, another database's snapshot, kv_close
 * while snapshots or iterators are live.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "harness.h"
#include "kv.h"
#include "testdb.h"

/* Small memtables and segments, so that the stages that have them flush
 * and roll over many times in a few hundred writes. */
static kv_db *snapshot_open_small(const char **dir_out)
{
    const char *dir = testdb_dir();
    if (dir_out)
        *dir_out = dir;
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 4096;
    opt.memtable_bytes = 4096;
    return OPEN(dir, &opt);
}

static int snapshot_key(char *buf, size_t cap, int i)
{
    return snprintf(buf, cap, "key%04d", i);
}

static int snapshot_value(char *buf, size_t cap, int i, int round)
{
    return snprintf(buf, cap, "round %d of key %04d, padded so the tables fill up", round, i);
}

/* Keys 0..n-1 at `round`: each must read so at snap, and scan so both ways. */
static void snapshot_expect_round(kv_db *db, const kv_snapshot *snap, int n, int round)
{
    char k[32], v[96];
    for (int i = 0; i < n; i++) {
        int kl = snapshot_key(k, sizeof k, i);
        int vl = snapshot_value(v, sizeof v, i, round);
        EXPECT_AT(db, snap, k, (size_t)kl, v, (size_t)vl);
    }
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new_at(db, snap, &it), KV_OK);
    int seen = 0;
    for (kv_iter_seek_last(it); kv_iter_valid(it); kv_iter_prev(it), seen++) {
        int i = n - 1 - seen;
        int kl = snapshot_key(k, sizeof k, i);
        int vl = snapshot_value(v, sizeof v, i, round);
        size_t gkl = 0, gvl = 0;
        const void *gk = kv_iter_key(it, &gkl);
        const void *gv = kv_iter_value(it, &gvl);
        CHECK_MSG(gv != NULL, "key %d: kv_iter_value is NULL (status %d)", i,
                  kv_iter_status(it));
        CHECK_MEM(gk, gkl, k, (size_t)kl);
        CHECK_MEM(gv, gvl, v, (size_t)vl);
    }
    CHECK_KV(kv_iter_status(it), KV_OK);
    CHECK_EQ(seen, n);
    kv_iter_free(it);
}

/* ---- what a snapshot sees ------------------------------------------------ */

static void snapshot_reads_are_unchanged_by_later_writes(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("a"), S("1"));
    PUT(db, S("b"), S("2"));
    PUT(db, S("c"), S("3"));
    PUT(db, S("gone"), S("x"));
    DEL(db, S("gone"));
    PUT(db, S("e"), S(""));
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
    CHECK(snap != NULL);

    PUT(db, S("a"), S("changed"));          /* overwrite */
    DEL(db, S("b"));                        /* delete */
    PUT(db, S("d"), S("new"));              /* new key */
    PUT(db, S("gone"), S("back"));          /* a deleted key comes back */
    kv_batch *batch = NULL;
    CHECK_KV(kv_batch_new(&batch), KV_OK);
    CHECK_KV(kv_batch_put(batch, S("c"), S("batched")), KV_OK);
    CHECK_KV(kv_batch_delete(batch, S("e")), KV_OK);
    CHECK_KV(kv_batch_put(batch, S("0"), S("zero")), KV_OK);
    CHECK_KV(kv_write(db, batch), KV_OK);
    kv_batch_free(batch);

    EXPECT_AT(db, snap, S("a"), S("1"));
    EXPECT_AT(db, snap, S("b"), S("2"));
    EXPECT_AT(db, snap, S("c"), S("3"));
    EXPECT_AT(db, snap, S("e"), S(""));
    ABSENT_AT(db, snap, S("d"));
    ABSENT_AT(db, snap, S("gone"));
    ABSENT_AT(db, snap, S("0"));
    ABSENT_AT(db, snap, S("a\0"));
    testdb_pair then[] = {P("a", "1"), P("b", "2"), P("c", "3"), P("e", "")};
    testdb_expect_scan_at(db, snap, then, NPAIRS(then));

    /* The database itself moved on. */
    testdb_pair now[] = {P("0", "zero"), P("a", "changed"), P("c", "batched"), P("d", "new"),
                         P("gone", "back")};
    testdb_expect_scan(db, now, NPAIRS(now));
    kv_snapshot_free(db, snap);
    CLOSE(db);
}

/* Writes acknowledged before kv_snapshot_new are all in it, whatever
 * their kind; a snapshot of an empty database is empty. */
static void snapshot_sees_every_write_before_it(void)
{
    kv_db *db = testdb_fresh(NULL);
    const kv_snapshot *empty = NULL, *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &empty), KV_OK);
    PUT(db, S("k"), S("v1"));
    PUT(db, S("k"), S("v2"));
    PUT(db, S("x"), S("x"));
    DEL(db, S("x"));
    kv_batch *batch = NULL;
    CHECK_KV(kv_batch_new(&batch), KV_OK);
    CHECK_KV(kv_batch_put(batch, S("b1"), S("one")), KV_OK);
    CHECK_KV(kv_batch_put(batch, S("b2"), S("two")), KV_OK);
    CHECK_KV(kv_batch_delete(batch, S("b1")), KV_OK);
    CHECK_KV(kv_write(db, batch), KV_OK);
    kv_batch_free(batch);
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);

    EXPECT_AT(db, snap, S("k"), S("v2"));
    ABSENT_AT(db, snap, S("x"));
    ABSENT_AT(db, snap, S("b1"));
    EXPECT_AT(db, snap, S("b2"), S("two"));
    testdb_pair want[] = {P("b2", "two"), P("k", "v2")};
    testdb_expect_scan_at(db, snap, want, NPAIRS(want));

    ABSENT_AT(db, empty, S("k"));
    ABSENT_AT(db, empty, S("b2"));
    testdb_expect_scan_at(db, empty, NULL, 0);
    kv_snapshot_free(db, snap);
    kv_snapshot_free(db, empty);
    CLOSE(db);
}

/* Space reclaimed by kv_compact, and (stage 04 on) the flushes that
 * hundreds of writes cause with small memtables, must not change what a
 * snapshot reads. */
static void snapshot_survives_compact_and_flushes(void)
{
    kv_db *db = snapshot_open_small(NULL);
    enum { N = 200 };
    char k[32], v[96];
    for (int i = 0; i < N; i++) {
        int kl = snapshot_key(k, sizeof k, i);
        int vl = snapshot_value(v, sizeof v, i, 0);
        PUT(db, k, (size_t)kl, v, (size_t)vl);
    }
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
    for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < N; i++) {
            int kl = snapshot_key(k, sizeof k, i);
            int vl = snapshot_value(v, sizeof v, i, round);
            if (round == 2 && i % 3 == 0)
                DEL(db, k, (size_t)kl);
            else
                PUT(db, k, (size_t)kl, v, (size_t)vl);
        }
        snapshot_expect_round(db, snap, N, 0);
        CHECK_KV(kv_compact(db), KV_OK);
        snapshot_expect_round(db, snap, N, 0);
    }
    /* One more delete of everything, and a compaction that could drop it all. */
    for (int i = 0; i < N; i++) {
        int kl = snapshot_key(k, sizeof k, i);
        DEL(db, k, (size_t)kl);
    }
    CHECK_KV(kv_compact(db), KV_OK);
    testdb_expect_scan(db, NULL, 0);
    snapshot_expect_round(db, snap, N, 0);
    kv_snapshot_free(db, snap);
    CLOSE(db);
}

/* Snapshots taken at different times each keep their own moment, freed
 * in any order. */
static void snapshots_at_different_times_keep_their_own_values(void)
{
    kv_db *db = snapshot_open_small(NULL);
    enum { N = 60, SNAPS = 4 };
    const kv_snapshot *snaps[SNAPS] = {0};
    char k[32], v[96];
    for (int round = 0; round < SNAPS; round++) {
        for (int i = 0; i < N; i++) {
            int kl = snapshot_key(k, sizeof k, i);
            int vl = snapshot_value(v, sizeof v, i, round);
            PUT(db, k, (size_t)kl, v, (size_t)vl);
        }
        CHECK_KV(kv_snapshot_new(db, &snaps[round]), KV_OK);
        if (round % 2)
            CHECK_KV(kv_compact(db), KV_OK);
    }
    for (int round = 0; round < SNAPS; round++)
        snapshot_expect_round(db, snaps[round], N, round);
    kv_snapshot_free(db, snaps[1]);
    kv_snapshot_free(db, snaps[3]);
    CHECK_KV(kv_compact(db), KV_OK);
    snapshot_expect_round(db, snaps[0], N, 0);
    snapshot_expect_round(db, snaps[2], N, 2);
    kv_snapshot_free(db, snaps[0]);
    kv_snapshot_free(db, snaps[2]);
    CLOSE(db);
}

/* An iterator made at a snapshot after the database changed shows the
 * snapshot's moment, and keeps working after the snapshot handle is freed. */
static void iterator_at_snapshot_outlives_the_handle(void)
{
    kv_db *db = snapshot_open_small(NULL);
    PUT(db, S("a"), S("1"));
    PUT(db, S("b"), S("2"));
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
    PUT(db, S("a"), S("10"));
    PUT(db, S("c"), S("3"));
    DEL(db, S("b"));
    kv_iter *early = NULL, *late = NULL;
    CHECK_KV(kv_iter_new_at(db, snap, &early), KV_OK);
    CHECK(!kv_iter_valid(early));          /* not positioned */
    PUT(db, S("0"), S("0"));
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_iter_new_at(db, snap, &late), KV_OK);
    kv_snapshot_free(db, snap);
    CHECK_KV(kv_compact(db), KV_OK);

    testdb_pair then[] = {P("a", "1"), P("b", "2")};
    kv_iter_seek_first(early);
    testdb_iter_expect(early, then, NPAIRS(then));
    kv_iter_seek_last(late);
    testdb_iter_expect_backward(late, then, NPAIRS(then));
    kv_iter_seek(late, S("b"));
    testdb_iter_expect(late, then + 1, 1);
    kv_iter_free(early);
    kv_iter_free(late);
    testdb_pair now[] = {P("0", "0"), P("a", "10"), P("c", "3")};
    testdb_expect_scan(db, now, NPAIRS(now));
    CLOSE(db);
}

/* kv_get_at hands back a private allocation, like kv_get. */
static void get_at_returns_private_copy(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("k"), S("value"));
    PUT(db, S("\0"), NULL, 0);
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
    void *v = NULL;
    size_t vl = 0;
    CHECK_KV(kv_get_at(db, snap, S("k"), &v, &vl), KV_OK);
    memset(v, 'X', vl);
    kv_free(v);
    EXPECT_AT(db, snap, S("k"), S("value"));
    vl = 99;
    CHECK_KV(kv_get_at(db, snap, S("\0"), &v, &vl), KV_OK);
    CHECK(v != NULL);
    CHECK_EQ(vl, 0);
    kv_free(v);
    kv_snapshot_free(db, snap);
    CLOSE(db);
}

/* A read-only open takes snapshots too. */
static void snapshot_of_read_only_db(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("k"), S("v"));
    CLOSE(db);
    kv_options ro;
    kv_options_init(&ro);
    ro.read_only = 1;
    db = OPEN(dir, &ro);
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
    EXPECT_AT(db, snap, S("k"), S("v"));
    testdb_pair want[] = {P("k", "v")};
    testdb_expect_scan_at(db, snap, want, NPAIRS(want));
    kv_snapshot_free(db, snap);
    CLOSE(db);
}

/* ---- misuse -------------------------------------------------------------- */

static void snapshot_free_of_null_is_a_no_op(void)
{
    kv_db *db = testdb_fresh(NULL);
    kv_snapshot_free(db, NULL);
    kv_snapshot_free(NULL, NULL);
    CLOSE(db);
}

static void get_at_checks_arguments_as_get_does(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("k"), S("v"));
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
    void *v = (void *)1;
    size_t vl = 7;
    kv_error_clear();
    CHECK_KV(kv_get_at(db, NULL, S("k"), &v, &vl), KV_ERR_INVALID);
    CHECK(strstr(kv_errmsg(), "kv_get_at") != NULL);
    kv_error_clear();
    CHECK_KV(kv_get_at(NULL, snap, S("k"), &v, &vl), KV_ERR_INVALID);
    CHECK(kv_errmsg()[0] != '\0');
    CHECK_KV(kv_get_at(db, snap, "", 0, &v, &vl), KV_ERR_INVALID);
    CHECK_KV(kv_get_at(db, snap, NULL, 1, &v, &vl), KV_ERR_INVALID);
    char *big = calloc(1, KV_MAX_KEY + 1);
    CHECK(big != NULL);
    CHECK_KV(kv_get_at(db, snap, big, KV_MAX_KEY + 1, &v, &vl), KV_ERR_INVALID);
    free(big);
    CHECK_KV(kv_get_at(db, snap, S("k"), NULL, &vl), KV_ERR_INVALID);
    CHECK_KV(kv_get_at(db, snap, S("k"), &v, NULL), KV_ERR_INVALID);
    CHECK(v == (void *)1);                 /* nothing written on failure */
    CHECK_EQ(vl, 7);
    EXPECT_AT(db, snap, S("k"), S("v"));

    const kv_snapshot *none = (const kv_snapshot *)1;
    CHECK_KV(kv_snapshot_new(NULL, &none), KV_ERR_INVALID);
    CHECK_KV(kv_snapshot_new(db, NULL), KV_ERR_INVALID);
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new_at(NULL, snap, &it), KV_ERR_INVALID);
    CHECK_KV(kv_iter_new_at(db, snap, NULL), KV_ERR_INVALID);
    kv_snapshot_free(db, snap);
    CLOSE(db);
}

/* A snapshot is only good with its own database; freeing it through
 * another does nothing, which that database's kv_close then reports. */
static void snapshot_of_another_database_is_invalid(void)
{
    kv_db *one = testdb_fresh(NULL);
    const char *dir2 = harness_join(harness_tmpdir(), "db2");
    kv_db *two = OPEN(dir2, NULL);
    PUT(one, S("k"), S("one"));
    PUT(two, S("k"), S("two"));
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(one, &snap), KV_OK);
    void *v = NULL;
    size_t vl = 0;
    kv_error_clear();
    CHECK_KV(kv_get_at(two, snap, S("k"), &v, &vl), KV_ERR_INVALID);
    CHECK(kv_errmsg()[0] != '\0');
    CHECK(v == NULL);
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new_at(two, snap, &it), KV_ERR_INVALID);
    CHECK(it == NULL);
    kv_snapshot_free(two, snap);           /* not two's: nothing happens */
    CLOSE(two);                            /* two has nothing live */
    EXPECT_AT(one, snap, S("k"), S("one"));
    CHECK_KV(kv_close(one), KV_ERR_INVALID);
    kv_snapshot_free(one, snap);
    CLOSE(one);
}

/* kv_close with a live snapshot or iterator refuses, closes nothing (the
 * database goes on working), and succeeds once they are freed. */
static void close_with_live_snapshot_or_iterator_is_invalid(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("k"), S("v"));
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
    kv_error_clear();
    CHECK_KV(kv_close(db), KV_ERR_INVALID);
    CHECK(strstr(kv_errmsg(), "snapshot") != NULL);
    PUT(db, S("k"), S("after"));           /* still open */
    EXPECT(db, S("k"), S("after"));
    EXPECT_AT(db, snap, S("k"), S("v"));

    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new_at(db, snap, &it), KV_OK);
    kv_snapshot_free(db, snap);             /* the iterator still holds it */
    CHECK_KV(kv_close(db), KV_ERR_INVALID);
    kv_iter_seek_first(it);
    testdb_pair then[] = {P("k", "v")};
    testdb_iter_expect(it, then, 1);
    kv_iter_free(it);

    CHECK_KV(kv_iter_new(db, &it), KV_OK);  /* a plain iterator counts too */
    CHECK_KV(kv_close(db), KV_ERR_INVALID);
    kv_iter_free(it);
    CLOSE(db);
    db = OPEN(dir, NULL);                   /* and it was really closed */
    EXPECT(db, S("k"), S("after"));
    CLOSE(db);
}

/* An iterator made before kv_compact reads the tables kv_compact replaced,
 * to the end, and so does a get at a snapshot taken with it, even when
 * the stage keeps no more than one table file open (stage 05 on: its
 * tables are closed and opened again as they are read), so that the
 * iterator's tables must still be on disk, or still open, when it comes
 * back to them. */
static void iterator_reads_the_tables_kv_compact_replaced(void)
{
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 4096;
    opt.memtable_bytes = 4096;
    opt.max_open_files = 1;
    kv_db *db = OPEN(dir, &opt);
    enum { N = 200 };
    char k[32], v[96];
    for (int i = 0; i < N; i++) {
        int kl = snapshot_key(k, sizeof k, i), vl = snapshot_value(v, sizeof v, i, 1);
        PUT(db, k, (size_t)kl, v, (size_t)vl);
    }
    CHECK_KV(kv_compact(db), KV_OK);
    for (int i = 0; i < N; i += 2) { /* more tables over the first */
        int kl = snapshot_key(k, sizeof k, i), vl = snapshot_value(v, sizeof v, i, 1);
        PUT(db, k, (size_t)kl, v, (size_t)vl);
    }
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new_at(db, snap, &it), KV_OK);
    kv_iter_seek_first(it);
    CHECK(kv_iter_valid(it));
    for (int round = 2; round <= 3; round++) {
        for (int i = 0; i < N; i++) {
            int kl = snapshot_key(k, sizeof k, i), vl = snapshot_value(v, sizeof v, i, round);
            PUT(db, k, (size_t)kl, v, (size_t)vl);
        }
        CHECK_KV(kv_compact(db), KV_OK); /* the iterator's tables are replaced */
    }
    int seen = 0;
    for (; kv_iter_valid(it); kv_iter_next(it), seen++) {
        int kl = snapshot_key(k, sizeof k, seen), vl = snapshot_value(v, sizeof v, seen, 1);
        size_t gkl = 0, gvl = 0;
        const void *gk = kv_iter_key(it, &gkl);
        const void *gv = kv_iter_value(it, &gvl);
        CHECK_MSG(gv != NULL, "key %d: kv_iter_value is NULL: %s", seen, kv_errmsg());
        CHECK_MEM(gk, gkl, k, (size_t)kl);
        CHECK_MEM(gv, gvl, v, (size_t)vl);
    }
    CHECK_KV(kv_iter_status(it), KV_OK);
    CHECK_EQ(seen, N);
    kv_iter_free(it);
    snapshot_expect_round(db, snap, N, 1);
    kv_snapshot_free(db, snap);
    CLOSE(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(snapshot_reads_are_unchanged_by_later_writes),
    HARNESS_TEST(snapshot_sees_every_write_before_it),
    HARNESS_TEST(snapshot_survives_compact_and_flushes),
    HARNESS_TEST(snapshots_at_different_times_keep_their_own_values),
    HARNESS_TEST(iterator_at_snapshot_outlives_the_handle),
    HARNESS_TEST(iterator_reads_the_tables_kv_compact_replaced),
    HARNESS_TEST(get_at_returns_private_copy),
    HARNESS_TEST(snapshot_of_read_only_db),
    HARNESS_TEST(snapshot_free_of_null_is_a_no_op),
    HARNESS_TEST(get_at_checks_arguments_as_get_does),
    HARNESS_TEST(snapshot_of_another_database_is_invalid),
    HARNESS_TEST(close_with_live_snapshot_or_iterator_is_invalid),
};
const harness_suite snapshot_suite = HARNESS_SUITE("snapshot", tests);
