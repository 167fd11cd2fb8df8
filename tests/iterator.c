/*
 * iterator.c: kv.h's rules for order and iteration, for every stage: keys
 * sort bytewise with a prefix first, a new iterator is not positioned, seek
 * finds the first key at or after its argument, reverse iteration
 * (seek_last, prev, mixed with next and seek), and an iterator shows the
 * database as it was when kv_iter_new returned, whatever happens after
 * (writes, deletes, kv_compact), with several alive at once.  Iterators at
 * a snapshot are in snapshot.c.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "kv.h"
#include "testdb.h"

static void keys_sort_bytewise_with_prefixes_first(void)
{
    kv_db *db = testdb_fresh(NULL);
    /* inserted out of order */
    PUT(db, S("ab"), S("4"));
    PUT(db, S("\xff"), S("7"));
    PUT(db, S("a\0"), S("3"));
    PUT(db, S("b"), S("6"));
    PUT(db, S("a"), S("2"));
    PUT(db, S("a\xff"), S("5"));
    PUT(db, S("\x01"), S("1"));
    testdb_pair want[] = {P("\x01", "1"), P("a", "2"), P("a\0", "3"), P("ab", "4"),
                          P("a\xff", "5"), P("b", "6"), P("\xff", "7")};
    testdb_expect_scan(db, want, NPAIRS(want));
    CLOSE(db);
}

static void iterator_on_empty_db_is_not_valid(void)
{
    kv_db *db = testdb_fresh(NULL);
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    CHECK(!kv_iter_valid(it));
    kv_iter_seek_first(it);
    CHECK(!kv_iter_valid(it));
    kv_iter_seek(it, S("a"));
    CHECK(!kv_iter_valid(it));
    CHECK_KV(kv_iter_status(it), KV_OK);
    kv_iter_free(it);

    /* Everything deleted is empty too. */
    PUT(db, S("a"), S("1"));
    DEL(db, S("a"));
    testdb_expect_scan(db, NULL, 0);
    CLOSE(db);
}

static void iterator_is_not_positioned_until_seek(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("a"), S("1"));
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    CHECK(!kv_iter_valid(it));
    kv_iter_seek_first(it);
    CHECK(kv_iter_valid(it));
    kv_iter_free(it);
    CLOSE(db);
}

static void iterator_scans_live_keys_in_order(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("d"), S("4"));
    PUT(db, S("b"), S("old"));
    PUT(db, S("a"), S("1"));
    PUT(db, S("c"), S("3"));
    PUT(db, S("e"), S("5"));
    PUT(db, S("b"), S("2"));
    DEL(db, S("c"));
    DEL(db, S("zz"));
    PUT(db, S("f"), S(""));
    testdb_pair want[] = {P("a", "1"), P("b", "2"), P("d", "4"), P("e", "5"), P("f", "")};
    testdb_expect_scan(db, want, NPAIRS(want));
    CLOSE(db);
}

static void iterator_seek_finds_first_key_at_or_after(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("b"), S("B"));
    PUT(db, S("d"), S("D"));
    PUT(db, S("f"), S("F"));
    testdb_pair all[] = {P("b", "B"), P("d", "D"), P("f", "F")};
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);

    kv_iter_seek(it, S("d"));              /* an existing key */
    testdb_iter_expect(it, all + 1, 2);
    kv_iter_seek(it, S("c"));              /* between two keys */
    testdb_iter_expect(it, all + 1, 2);
    kv_iter_seek(it, S("d\0"));            /* just after an existing key */
    testdb_iter_expect(it, all + 2, 1);
    kv_iter_seek(it, S("a"));              /* before the first key */
    testdb_iter_expect(it, all, 3);
    kv_iter_seek(it, S("\0"));             /* the smallest key there is */
    testdb_iter_expect(it, all, 3);
    kv_iter_seek(it, S("f"));              /* the last key */
    testdb_iter_expect(it, all + 2, 1);
    kv_iter_seek(it, S("g"));              /* past the end */
    CHECK(!kv_iter_valid(it));
    kv_iter_seek(it, S("f\0"));
    CHECK(!kv_iter_valid(it));
    kv_iter_seek_first(it);                /* and back */
    testdb_iter_expect(it, all, 3);
    CHECK_KV(kv_iter_status(it), KV_OK);
    kv_iter_free(it);
    CLOSE(db);
}

/* ---- reverse iteration ------------------------------------------------- */

/* Keys with NULs and 0xFF bytes, some prefixes of others: the reverse walk
 * is the exact mirror of the forward one. */
static void iterator_walks_backwards_from_last_key(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("a\xff"), S("6"));
    PUT(db, S("\0"), S("1"));
    PUT(db, S("ab"), S("5"));
    PUT(db, S("\xff\xff"), S("8"));
    PUT(db, S("a"), S("3"));
    PUT(db, S("\0\0"), S("2"));
    PUT(db, S("a\0"), S("4"));
    PUT(db, S("\xff"), S("7"));
    PUT(db, S("gone"), S("x"));
    DEL(db, S("gone"));
    testdb_pair want[] = {P("\0", "1"),  P("\0\0", "2"), P("a", "3"),   P("a\0", "4"),
                          P("ab", "5"),  P("a\xff", "6"), P("\xff", "7"), P("\xff\xff", "8")};
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    kv_iter_seek_last(it);
    testdb_iter_expect_backward(it, want, NPAIRS(want));
    kv_iter_free(it);
    testdb_expect_scan(db, want, NPAIRS(want)); /* both ways */
    CLOSE(db);
}

static void iterator_prev_at_first_key_becomes_not_valid(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("a"), S("1"));
    PUT(db, S("b"), S("2"));
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    kv_iter_seek_first(it);
    kv_iter_prev(it);
    CHECK(!kv_iter_valid(it));
    CHECK(kv_iter_key(it, NULL) == NULL);
    /* Not valid stays not valid, whichever way it is moved... */
    kv_iter_next(it);
    CHECK(!kv_iter_valid(it));
    kv_iter_prev(it);
    CHECK(!kv_iter_valid(it));
    CHECK_KV(kv_iter_status(it), KV_OK);
    /* ...until a seek. */
    kv_iter_seek(it, S("b"));
    testdb_pair want[] = {P("a", "1"), P("b", "2")};
    testdb_iter_expect_backward(it, want, 2);
    /* The same past the last key. */
    kv_iter_seek_last(it);
    kv_iter_next(it);
    CHECK(!kv_iter_valid(it));
    kv_iter_prev(it);
    CHECK(!kv_iter_valid(it));
    kv_iter_free(it);

    /* A new iterator is not positioned: prev does not position it. */
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    kv_iter_prev(it);
    CHECK(!kv_iter_valid(it));
    kv_iter_free(it);
    CLOSE(db);
}

static void iterator_next_and_prev_mix(void)
{
    kv_db *db = testdb_fresh(NULL);
    testdb_pair all[] = {P("k1", "v1"), P("k2", "v2"), P("k3", "v3"), P("k4", "v4")};
    for (size_t i = 0; i < NPAIRS(all); i++)
        PUT(db, all[i].k, all[i].kl, all[i].v, all[i].vl);
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    /* A fixed walk: each step's expected key index (-1 = not valid). */
    static const struct {
        char move;  /* f first, l last, n next, p prev */
        int at;
    } walk[] = {{'f', 0}, {'n', 1}, {'p', 0}, {'n', 1}, {'n', 2}, {'n', 3}, {'p', 2},
                {'p', 1}, {'n', 2}, {'p', 1}, {'p', 0}, {'n', 1}, {'l', 3}, {'p', 2},
                {'n', 3}, {'n', -1}, {'l', 3}, {'p', 2}, {'p', 1}, {'p', 0}, {'p', -1}};
    for (size_t i = 0; i < sizeof walk / sizeof walk[0]; i++) {
        switch (walk[i].move) {
        case 'f': kv_iter_seek_first(it); break;
        case 'l': kv_iter_seek_last(it); break;
        case 'n': kv_iter_next(it); break;
        default: kv_iter_prev(it); break;
        }
        harness_context("step %zu ('%c')", i, walk[i].move);
        if (walk[i].at < 0) {
            CHECK(!kv_iter_valid(it));
            continue;
        }
        testdb_iter_expect_backward(it, all, (size_t)walk[i].at + 1);
        /* That walked it off the front; put it back where it was. */
        kv_iter_seek(it, all[walk[i].at].k, all[walk[i].at].kl);
    }
    CHECK_KV(kv_iter_status(it), KV_OK);
    kv_iter_free(it);
    CLOSE(db);
}

/* seek(k) then prev is the last key < k when the seek found a key. */
static void iterator_prev_after_seek_finds_last_key_before(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("b"), S("B"));
    PUT(db, S("d"), S("D"));
    PUT(db, S("d\0"), S("D0"));
    PUT(db, S("f"), S("F"));
    testdb_pair all[] = {P("b", "B"), P("d", "D"), P("d\0", "D0"), P("f", "F")};
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);

    kv_iter_seek(it, S("d"));           /* an existing key: prev is the one before */
    kv_iter_prev(it);
    testdb_iter_expect_backward(it, all, 1);
    kv_iter_seek(it, S("c"));           /* between keys */
    kv_iter_prev(it);
    testdb_iter_expect_backward(it, all, 1);
    kv_iter_seek(it, S("d\0"));         /* a key whose prefix is a key */
    kv_iter_prev(it);
    testdb_iter_expect_backward(it, all, 2);
    kv_iter_seek(it, S("e"));
    kv_iter_prev(it);
    testdb_iter_expect_backward(it, all, 3);
    kv_iter_seek(it, S("a"));           /* before the first key: nothing before */
    kv_iter_prev(it);
    CHECK(!kv_iter_valid(it));
    kv_iter_seek(it, S("g"));           /* past the end: not valid, prev keeps it so */
    CHECK(!kv_iter_valid(it));
    kv_iter_prev(it);
    CHECK(!kv_iter_valid(it));
    kv_iter_seek_last(it);              /* the last key < "g" */
    testdb_iter_expect_backward(it, all, 4);
    CHECK_KV(kv_iter_status(it), KV_OK);
    kv_iter_free(it);
    CLOSE(db);
}

static void iterator_reverse_on_empty_and_one_key_db(void)
{
    kv_db *db = testdb_fresh(NULL);
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    kv_iter_seek_last(it);
    CHECK(!kv_iter_valid(it));
    kv_iter_prev(it);
    CHECK(!kv_iter_valid(it));
    CHECK_KV(kv_iter_status(it), KV_OK);
    kv_iter_free(it);

    PUT(db, S("only"), S("one"));
    testdb_pair want[] = {P("only", "one")};
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    kv_iter_seek_last(it);
    testdb_iter_expect_backward(it, want, 1);
    kv_iter_seek_first(it);             /* first and last are the same key */
    testdb_iter_expect_backward(it, want, 1);
    kv_iter_seek_last(it);
    testdb_iter_expect(it, want, 1);
    kv_iter_free(it);

    /* Deleted again: empty once more. */
    DEL(db, S("only"));
    testdb_expect_scan(db, NULL, 0);
    CLOSE(db);
}

/* Writes after kv_iter_new are invisible to that iterator, even when it
 * seeks again, and visible to the next one; several live at once. */
static void iterator_sees_snapshot_at_creation(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("a"), S("1"));
    PUT(db, S("b"), S("2"));
    PUT(db, S("c"), S("3"));
    kv_iter *first = NULL, *second = NULL, *third = NULL;
    CHECK_KV(kv_iter_new(db, &first), KV_OK);
    kv_iter_seek_first(first);              /* positioned before the writes */

    PUT(db, S("a"), S("10"));
    DEL(db, S("b"));
    PUT(db, S("d"), S("4"));
    PUT(db, S("0"), S("0"));
    CHECK_KV(kv_iter_new(db, &second), KV_OK);
    DEL(db, S("c"));
    CHECK_KV(kv_iter_new(db, &third), KV_OK);

    testdb_pair old[] = {P("a", "1"), P("b", "2"), P("c", "3")};
    testdb_pair mid[] = {P("0", "0"), P("a", "10"), P("c", "3"), P("d", "4")};
    testdb_pair now[] = {P("0", "0"), P("a", "10"), P("d", "4")};

    /* Interleaved: one step of each, then the rest. */
    kv_iter_seek_first(second);
    kv_iter_seek_first(third);
    testdb_iter_expect(first, old, NPAIRS(old));
    testdb_iter_expect(second, mid, NPAIRS(mid));
    testdb_iter_expect(third, now, NPAIRS(now));
    kv_iter_seek(first, S("b"));
    testdb_iter_expect(first, old + 1, 2);
    kv_iter_seek(second, S("b"));
    testdb_iter_expect(second, mid + 2, 2);
    kv_iter_free(first);
    kv_iter_free(second);
    kv_iter_free(third);
    testdb_expect_scan(db, now, NPAIRS(now));
    CLOSE(db);
}

/* Reclaiming space must not take away what a live iterator still shows. */
static void iterator_survives_compact(void)
{
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 256;    /* many segments, for the stages that have them */
    kv_db *db = OPEN(dir, &opt);
    char k[16], v[64];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 40; i++) {
            int kl = snprintf(k, sizeof k, "key%02d", i);
            int vl = snprintf(v, sizeof v, "round %d of key %02d, padded to be long", round, i);
            PUT(db, k, (size_t)kl, v, (size_t)vl);
        }
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    for (int i = 0; i < 40; i++) {
        int kl = snprintf(k, sizeof k, "key%02d", i);
        if (i % 2)
            DEL(db, k, (size_t)kl);
        else
            PUT(db, k, (size_t)kl, S("round 2"));
    }
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_compact(db), KV_OK);
    int n = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it), n++) {
        size_t kl = 0, vl = 0;
        const void *key = kv_iter_key(it, &kl);
        const void *val = kv_iter_value(it, &vl);
        CHECK_MSG(val != NULL, "entry %d: kv_iter_value is NULL after kv_compact (status %d)",
                  n, kv_iter_status(it));
        int wkl = snprintf(k, sizeof k, "key%02d", n);
        int wvl = snprintf(v, sizeof v, "round 1 of key %02d, padded to be long", n);
        CHECK_MEM(key, kl, k, (size_t)wkl);
        CHECK_MEM(val, vl, v, (size_t)wvl);
    }
    CHECK_KV(kv_iter_status(it), KV_OK);
    CHECK_EQ(n, 40);
    kv_iter_free(it);
    for (int i = 0; i < 40; i++) {
        int kl = snprintf(k, sizeof k, "key%02d", i);
        if (i % 2)
            ABSENT(db, k, (size_t)kl);
        else
            EXPECT(db, k, (size_t)kl, S("round 2"));
    }
    CLOSE(db);
}

static void iterator_value_of_empty_value_is_not_null(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("e"), NULL, 0);
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    kv_iter_seek_first(it);
    CHECK(kv_iter_valid(it));
    size_t vl = 99;
    CHECK(kv_iter_value(it, &vl) != NULL);
    CHECK_EQ(vl, 0);
    kv_iter_free(it);
    CLOSE(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(keys_sort_bytewise_with_prefixes_first),
    HARNESS_TEST(iterator_on_empty_db_is_not_valid),
    HARNESS_TEST(iterator_is_not_positioned_until_seek),
    HARNESS_TEST(iterator_scans_live_keys_in_order),
    HARNESS_TEST(iterator_seek_finds_first_key_at_or_after),
    HARNESS_TEST(iterator_walks_backwards_from_last_key),
    HARNESS_TEST(iterator_prev_at_first_key_becomes_not_valid),
    HARNESS_TEST(iterator_next_and_prev_mix),
    HARNESS_TEST(iterator_prev_after_seek_finds_last_key_before),
    HARNESS_TEST(iterator_reverse_on_empty_and_one_key_db),
    HARNESS_TEST(iterator_sees_snapshot_at_creation),
    HARNESS_TEST(iterator_survives_compact),
    HARNESS_TEST(iterator_value_of_empty_value_is_not_null),
};
const harness_suite iterator_suite = HARNESS_SUITE("iterator", tests);
