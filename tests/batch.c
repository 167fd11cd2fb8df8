/*
 * batch.c: kv.h's rules for atomic batches, for every stage: kv_write
 * applies a batch's puts and deletes in order (a later op on the same key
 * wins), kv_batch_put and kv_batch_delete check their arguments as kv_put
 * and kv_delete do and copy the bytes, an empty batch writes nothing, a
 * batch holds no more than kv.h's bound, and a batch can be cleared and
 * reused.  That readers never see half a batch is
 * in concurrency.c; batches under failing I/O are in fault.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "harness.h"
#include "kv.h"
#include "testdb.h"

static kv_batch *batch_fresh(void)
{
    kv_batch *b = NULL;
    CHECK_KV(kv_batch_new(&b), KV_OK);
    CHECK(b != NULL);
    return b;
}

static void batch_applies_ops_in_order(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("gone"), S("before"));
    PUT(db, S("kept"), S("before"));
    kv_batch *b = batch_fresh();
    CHECK_KV(kv_batch_put(b, S("a"), S("1")), KV_OK);
    CHECK_KV(kv_batch_put(b, S("b"), S("2")), KV_OK);
    CHECK_KV(kv_batch_delete(b, S("a")), KV_OK);
    CHECK_KV(kv_batch_put(b, S("c"), S("")), KV_OK);
    CHECK_KV(kv_batch_put(b, S("b"), S("22")), KV_OK);
    CHECK_KV(kv_batch_delete(b, S("gone")), KV_OK);
    CHECK_KV(kv_batch_delete(b, S("never")), KV_OK);
    CHECK_KV(kv_batch_delete(b, S("d")), KV_OK);
    CHECK_KV(kv_batch_put(b, S("d"), S("4")), KV_OK);
    CHECK_KV(kv_write(db, b), KV_OK);
    kv_batch_free(b);

    testdb_pair want[] = {P("b", "22"), P("c", ""), P("d", "4"), P("kept", "before")};
    ABSENT(db, S("a"));
    ABSENT(db, S("gone"));
    EXPECT(db, S("b"), S("22"));
    testdb_expect_scan(db, want, NPAIRS(want));
    CLOSE(db);
    db = OPEN(dir, NULL);
    ABSENT(db, S("a"));
    testdb_expect_scan(db, want, NPAIRS(want));
    CLOSE(db);
}

static void empty_batch_is_ok_and_writes_nothing(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("k"), S("v"));
    uint64_t bytes = testdb_dir_bytes(dir);
    kv_batch *b = batch_fresh();
    CHECK_KV(kv_write(db, b), KV_OK);
    CHECK_EQ(testdb_dir_bytes(dir), bytes);
    kv_batch_free(b);
    testdb_pair want[] = {P("k", "v")};
    testdb_expect_scan(db, want, NPAIRS(want));
    CLOSE(db);
}

static void batch_copies_caller_buffers(void)
{
    kv_db *db = testdb_fresh(NULL);
    kv_batch *b = batch_fresh();
    char k[4] = "key", v[6] = "value", dk[4] = "del";
    CHECK_KV(kv_batch_put(b, k, 3, v, 5), KV_OK);
    CHECK_KV(kv_batch_delete(b, dk, 3), KV_OK);
    memset(k, 'Z', 3);
    memset(v, 'Z', 5);
    memset(dk, 'Z', 3);
    PUT(db, S("del"), S("still here"));
    PUT(db, S("ZZZ"), S("still here"));
    CHECK_KV(kv_write(db, b), KV_OK);
    kv_batch_free(b);
    EXPECT(db, S("key"), S("value"));
    ABSENT(db, S("del"));
    EXPECT(db, S("ZZZ"), S("still here"));
    CLOSE(db);
}

static void batch_clear_empties_it_for_reuse(void)
{
    kv_db *db = testdb_fresh(NULL);
    kv_batch *b = batch_fresh();
    CHECK_KV(kv_batch_put(b, S("x"), S("dropped")), KV_OK);
    kv_batch_clear(b);
    CHECK_KV(kv_batch_put(b, S("y"), S("1")), KV_OK);
    CHECK_KV(kv_write(db, b), KV_OK);
    ABSENT(db, S("x"));
    EXPECT(db, S("y"), S("1"));
    /* Written again, unchanged, then cleared and written empty. */
    DEL(db, S("y"));
    CHECK_KV(kv_write(db, b), KV_OK);
    EXPECT(db, S("y"), S("1"));
    kv_batch_clear(b);
    CHECK_KV(kv_write(db, b), KV_OK);
    EXPECT(db, S("y"), S("1"));
    kv_batch_free(b);
    CLOSE(db);
}

/* Many ops, a large value and the largest key in one batch. */
static void large_batch_round_trips(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    kv_batch *b = batch_fresh();
    char k[16], v[32];
    for (int i = 0; i < 1000; i++) {
        int kl = snprintf(k, sizeof k, "k%04d", i);
        int vl = snprintf(v, sizeof v, "v%d", i * 7);
        CHECK_KV(kv_batch_put(b, k, (size_t)kl, v, (size_t)vl), KV_OK);
    }
    size_t big = 1u << 20;
    char *bigval = malloc(big);
    char *bigkey = malloc(KV_MAX_KEY);
    CHECK(bigval != NULL && bigkey != NULL);
    memset(bigval, 'V', big);
    memset(bigkey, 'K', KV_MAX_KEY);
    CHECK_KV(kv_batch_put(b, bigkey, KV_MAX_KEY, bigval, big), KV_OK);
    CHECK_KV(kv_write(db, b), KV_OK);
    kv_batch_free(b);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 1000; i += 37) {
            int kl = snprintf(k, sizeof k, "k%04d", i);
            int vl = snprintf(v, sizeof v, "v%d", i * 7);
            EXPECT(db, k, (size_t)kl, v, (size_t)vl);
        }
        EXPECT(db, bigkey, KV_MAX_KEY, bigval, big);
        CLOSE(db);
        if (pass == 0)
            db = OPEN(dir, NULL);
    }
    free(bigval);
    free(bigkey);
}

#define EXPECT_INVALID(call)                                                    \
    do {                                                                        \
        kv_error_clear();                                                       \
        CHECK_KV(call, KV_ERR_INVALID);                                         \
        CHECK_MSG(kv_errmsg()[0] != '\0', "%s: KV_ERR_INVALID with no kv_errmsg", #call); \
    } while (0)

/* Bad ops are refused when added, leaving the batch as it was. */
static void batch_bad_arguments_are_invalid(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    kv_batch *b = batch_fresh();
    char *key = malloc(KV_MAX_KEY + 1);
    CHECK(key != NULL);
    memset(key, 'k', KV_MAX_KEY + 1);
    EXPECT_INVALID(kv_batch_new(NULL));
    EXPECT_INVALID(kv_batch_put(NULL, S("k"), S("v")));
    EXPECT_INVALID(kv_batch_put(b, NULL, 1, S("v")));
    EXPECT_INVALID(kv_batch_put(b, "", 0, S("v")));
    EXPECT_INVALID(kv_batch_put(b, key, KV_MAX_KEY + 1, S("v")));
    EXPECT_INVALID(kv_batch_put(b, S("k"), NULL, 1));
    EXPECT_INVALID(kv_batch_put(b, S("k"), key, (size_t)KV_MAX_VALUE + 1));
    EXPECT_INVALID(kv_batch_delete(NULL, S("k")));
    EXPECT_INVALID(kv_batch_delete(b, NULL, 1));
    EXPECT_INVALID(kv_batch_delete(b, "", 0));
    EXPECT_INVALID(kv_batch_delete(b, key, KV_MAX_KEY + 1));
    EXPECT_INVALID(kv_write(NULL, b));
    EXPECT_INVALID(kv_write(db, NULL));
    CHECK_KV(kv_batch_put(b, S("null-empty"), NULL, 0), KV_OK);
    CHECK_KV(kv_write(db, b), KV_OK);
    testdb_pair want[] = {P("null-empty", "")};
    testdb_expect_scan(db, want, NPAIRS(want));
    kv_batch_free(b);
    kv_batch_free(NULL);
    free(key);
    CLOSE(db);
    /* A value given as (NULL, 0) is an empty value, and it is kept. */
    db = OPEN(dir, NULL);
    testdb_expect_scan(db, want, NPAIRS(want));
    CLOSE(db);
}

/* A batch holds at most KV_MAX_BATCH_OPS ops and KV_MAX_BATCH_BYTES bytes
 * (kv.h): the largest put fits, one byte more does not, and an op refused
 * leaves the batch as it was, so what was added can still be written. */
static void batch_past_its_bound_is_refused_and_left_as_it_was(void)
{
    kv_db *db = testdb_fresh(NULL);
    kv_batch *b = batch_fresh();
    char *key = malloc(KV_MAX_KEY);
    char *val = malloc(KV_MAX_VALUE);
    CHECK(key != NULL && val != NULL);
    memset(key, 'k', KV_MAX_KEY);
    memset(val, 'v', KV_MAX_VALUE);
    CHECK_KV(kv_batch_put(b, key, KV_MAX_KEY, val, KV_MAX_VALUE), KV_OK);
    CHECK_KV(kv_batch_put(b, S("a"), S("")), KV_ERR_INVALID);
    CHECK(strstr(kv_errmsg(), "KV_MAX_BATCH_BYTES") != NULL);
    CHECK_KV(kv_batch_delete(b, S("a")), KV_ERR_INVALID);
    CHECK_KV(kv_write(db, b), KV_OK);        /* the one put that fits */
    void *got = NULL;
    size_t glen = 0;
    CHECK_KV(kv_get(db, key, KV_MAX_KEY, &got, &glen), KV_OK);
    CHECK(glen == KV_MAX_VALUE);
    kv_free(got);
    ABSENT(db, S("a"));
    /* KV_MAX_BATCH_OPS ops of one byte each fit; one more does not. */
    kv_batch_clear(b);
    for (unsigned i = 0; i < KV_MAX_BATCH_OPS; i++)
        if (kv_batch_delete(b, S("x")) != KV_OK)
            harness_fail(__FILE__, __LINE__, "op %u of %u refused: %s", i, KV_MAX_BATCH_OPS,
                         kv_errmsg());
    CHECK_KV(kv_batch_delete(b, S("x")), KV_ERR_INVALID);
    CHECK(strstr(kv_errmsg(), "KV_MAX_BATCH_OPS") != NULL);
    kv_batch_clear(b);                       /* cleared, it takes ops again */
    CHECK_KV(kv_batch_put(b, S("a"), S("1")), KV_OK);
    CHECK_KV(kv_write(db, b), KV_OK);
    EXPECT(db, S("a"), S("1"));
    free(key);
    free(val);
    kv_batch_free(b);
    CLOSE(db);
}

/* A transaction's writes are one batch at commit, bounded as a batch is
 * (kv.h): the largest put fits, another key does not, a key written again
 * counts once with its last value, and a refused write leaves the
 * transaction as it was.  (Here, not in txn.c: no thread in it, so the
 * ThreadSanitizer run of txn.c need not copy its 64 MiB.) */
static void transaction_past_the_batch_bound_is_refused(void)
{
    kv_db *db = testdb_fresh(NULL);
    char *key = malloc(KV_MAX_KEY), *val = malloc(KV_MAX_VALUE);
    CHECK(key != NULL && val != NULL);
    memset(key, 'k', KV_MAX_KEY);
    memset(val, 'v', KV_MAX_VALUE);
    kv_txn *t = NULL;
    CHECK_KV(kv_txn_begin(db, KV_TXN_SNAPSHOT, &t), KV_OK);
    /* KV_MAX_BATCH_BYTES - 10 bytes, then "other" and 10 bytes: 5 too many. */
    CHECK_KV(kv_txn_put(t, key, KV_MAX_KEY, val, KV_MAX_VALUE - 10), KV_OK);
    CHECK_KV(kv_txn_put(t, S("other"), val, 10), KV_ERR_INVALID);
    CHECK(strstr(kv_errmsg(), "KV_MAX_BATCH_BYTES") != NULL);
    void *got = NULL;
    size_t glen = 0;
    CHECK_KV(kv_txn_get(t, S("other"), &got, &glen), KV_NOT_FOUND); /* nothing kept */
    CHECK_KV(kv_txn_delete(t, S("other")), KV_OK);    /* its 5 bytes fit */
    /* The big key again counts once, with its new value: exactly full. */
    CHECK_KV(kv_txn_put(t, key, KV_MAX_KEY, val, KV_MAX_VALUE - 5), KV_OK);
    CHECK_KV(kv_txn_put(t, S("more"), S("")), KV_ERR_INVALID);
    CHECK_KV(kv_txn_put(t, key, KV_MAX_KEY, S("small")), KV_OK); /* room again */
    CHECK_KV(kv_txn_put(t, S("more"), S("1")), KV_OK);
    CHECK_KV(kv_txn_commit(t), KV_OK);
    EXPECT(db, key, KV_MAX_KEY, S("small"));
    EXPECT(db, S("more"), S("1"));
    free(key);
    free(val);
    CLOSE(db);
}

static void batch_on_read_only_db_is_invalid(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("a"), S("1"));
    CLOSE(db);
    kv_options ro;
    kv_options_init(&ro);
    ro.read_only = 1;
    db = OPEN(dir, &ro);
    kv_batch *b = batch_fresh();
    CHECK_KV(kv_batch_put(b, S("b"), S("2")), KV_OK);
    CHECK_KV(kv_batch_delete(b, S("a")), KV_OK);
    EXPECT_INVALID(kv_write(db, b));
    EXPECT(db, S("a"), S("1"));
    ABSENT(db, S("b"));
    kv_batch_free(b);
    CLOSE(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(batch_applies_ops_in_order),
    HARNESS_TEST(empty_batch_is_ok_and_writes_nothing),
    HARNESS_TEST(batch_copies_caller_buffers),
    HARNESS_TEST(batch_clear_empties_it_for_reuse),
    HARNESS_TEST(large_batch_round_trips),
    HARNESS_TEST(batch_bad_arguments_are_invalid),
    HARNESS_TEST(batch_past_its_bound_is_refused_and_left_as_it_was),
    HARNESS_TEST(transaction_past_the_batch_bound_is_refused),
    HARNESS_TEST(batch_on_read_only_db_is_invalid),
};
const harness_suite batch_suite = HARNESS_SUITE("batch", tests);
