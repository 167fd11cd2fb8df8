/*
 * txn_versions_test.c: a commit finds a conflict by versions
 * (txn_versions.c): any write since the snapshot counts, even one that
 * wrote the old value back; a write flushed to a table, compacted, or a
 * tombstone, while the transaction was open, is found in the tables; and
 * writes to other keys, wherever they went, are not conflicts.
 */
#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "kv.h"

/* Small memtables, so a few hundred writes flush several times. */
static kv_db *versions_open(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 4096;
    return OPEN(testdb_dir(), &opt);
}

static void fill_other_keys(kv_db *db, int n)
{
    char k[32], v[64];
    for (int i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof k, "other%05d", i);
        int vl = snprintf(v, sizeof v, "a value long enough to fill memtables %05d", i);
        PUT(db, k, (size_t)kl, v, (size_t)vl);
    }
}

static kv_txn *begin(kv_db *db, int level)
{
    kv_txn *t = NULL;
    CHECK_KV(kv_txn_begin(db, level, &t), KV_OK);
    return t;
}

/* A -> B -> A since the snapshot: the value compares equal, the version
 * does not (first committer wins, exactly). */
static void written_back_value_is_a_conflict(void)
{
    kv_db *db = versions_open();
    PUT(db, S("x"), S("A"));
    kv_txn *t = begin(db, KV_TXN_SNAPSHOT);
    PUT(db, S("x"), S("B"));
    PUT(db, S("x"), S("A"));
    CHECK_KV(kv_txn_put(t, S("x"), S("mine")), KV_OK);
    CHECK_KV(kv_txn_commit(t), KV_ERR_CONFLICT);
    EXPECT(db, S("x"), S("A"));
    /* The same value written again is a write too. */
    t = begin(db, KV_TXN_SNAPSHOT);
    PUT(db, S("x"), S("A"));
    CHECK_KV(kv_txn_put(t, S("x"), S("mine")), KV_OK);
    CHECK_KV(kv_txn_commit(t), KV_ERR_CONFLICT);
    CLOSE(db);
}

/* The conflicting write went to a table (flushes, then kv_compact) while
 * the transaction was open: found there. */
static void conflict_in_the_tables_is_found(void)
{
    kv_db *db = versions_open();
    PUT(db, S("k"), S("0"));
    for (int step = 0; step < 3; step++) {
        harness_context("step %d", step);
        kv_txn *t = begin(db, KV_TXN_SNAPSHOT);
        PUT(db, S("k"), S("theirs"));
        fill_other_keys(db, 200);          /* flushes mem more than once */
        if (step >= 1)
            CHECK_KV(kv_flush(db), KV_OK);
        if (step == 2)
            CHECK_KV(kv_compact(db), KV_OK);
        CHECK_KV(kv_txn_put(t, S("k"), S("mine")), KV_OK);
        CHECK_KV(kv_txn_commit(t), KV_ERR_CONFLICT);
        EXPECT(db, S("k"), S("theirs"));
    }
    CLOSE(db);
}

/* Writes to other keys, flushed and compacted, are no conflict. */
static void other_keys_in_the_tables_are_no_conflict(void)
{
    kv_db *db = versions_open();
    PUT(db, S("k"), S("0"));
    kv_txn *t = begin(db, KV_TXN_SERIALIZABLE);
    void *v = NULL;
    size_t vl = 0;
    CHECK_KV(kv_txn_get(t, S("k"), &v, &vl), KV_OK);
    kv_free(v);
    CHECK_KV(kv_txn_get(t, S("absent"), &v, &vl), KV_NOT_FOUND);
    fill_other_keys(db, 300);
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_txn_put(t, S("k"), S("mine")), KV_OK);
    CHECK_KV(kv_txn_commit(t), KV_OK);
    EXPECT(db, S("k"), S("mine"));
    CLOSE(db);
}

/* A delete since the snapshot, compacted to the last level: its tombstone
 * is kept while the transaction may need it, and is a conflict. */
static void tombstone_kept_for_an_open_transaction_is_a_conflict(void)
{
    kv_db *db = versions_open();
    PUT(db, S("k"), S("0"));
    fill_other_keys(db, 100);
    CHECK_KV(kv_compact(db), KV_OK);
    kv_txn *t = begin(db, KV_TXN_SERIALIZABLE);
    void *v = NULL;
    size_t vl = 0;
    CHECK_KV(kv_txn_get(t, S("k"), &v, &vl), KV_OK);
    kv_free(v);
    DEL(db, S("k"));
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_txn_put(t, S("other"), S("v")), KV_OK);
    CHECK_KV(kv_txn_commit(t), KV_ERR_CONFLICT);
    ABSENT(db, S("k"));
    CLOSE(db);
}

/* A serializable scan, then an insert into its range that is flushed and
 * compacted before the commit: found in the tables. */
static void phantom_in_the_tables_is_found(void)
{
    kv_db *db = versions_open();
    PUT(db, S("b"), S("1"));
    PUT(db, S("d"), S("1"));
    kv_txn *t = begin(db, KV_TXN_SERIALIZABLE);
    kv_txn_iter *it = NULL;
    CHECK_KV(kv_txn_iter_new(t, &it), KV_OK);
    int n = 0;
    for (kv_txn_iter_seek(it, S("b")); kv_txn_iter_valid(it); kv_txn_iter_next(it)) {
        size_t kl = 0;
        const char *k = kv_txn_iter_key(it, &kl);
        if (++n == 2) {
            CHECK_MEM(k, kl, "d", (size_t)1);
            break;                         /* stopped at "d": read [b, d] */
        }
    }
    kv_txn_iter_free(it);
    CHECK_EQ(n, 2);
    PUT(db, S("c"), S("phantom"));
    fill_other_keys(db, 200);
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_txn_put(t, S("w"), S("2")), KV_OK);
    CHECK_KV(kv_txn_commit(t), KV_ERR_CONFLICT);
    CLOSE(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(written_back_value_is_a_conflict),
    HARNESS_TEST(conflict_in_the_tables_is_found),
    HARNESS_TEST(other_keys_in_the_tables_are_no_conflict),
    HARNESS_TEST(tombstone_kept_for_an_open_transaction_is_a_conflict),
    HARNESS_TEST(phantom_in_the_tables_is_found),
};
const harness_suite txn_versions_suite = HARNESS_SUITE("txn_versions", tests);
