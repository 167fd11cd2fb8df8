/*
 * version_check_test.c: exercise version_check, txn_version_key_changed
 * (stages/07-txn/txn_versions/txn_versions.c): a key the transaction writes (or, under
 * KV_TXN_SERIALIZABLE, reads) conflicts when its newest version is
 * numbered above the transaction's snapshot: any write counts, a value
 * written back, the same value again, a tombstone; a version at or below
 * the snapshot, or a newer version of another key, does not.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ex_txn.h"
#include "exercise.h"
#include "kv.h"

static void version_check_any_write_since_counts(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "x", "A", "put x before the transaction");
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_put(db, "x", "B", "another writer's put");
    ex_put(db, "x", "A", "and the old value written back");
    ex_txn_put(t, "x", "mine");
    ex_commit(t, KV_ERR_CONFLICT, EX_RULE(2, "a version above the snapshot") "x was written "
              "since the snapshot, even though its value is "
              "the same again (A, B, A): stage 07 compares versions, not values");
    t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_put(db, "x", "A", "the same value written again");
    ex_txn_put(t, "x", "mine");
    ex_commit(t, KV_ERR_CONFLICT, EX_RULE(2, "a version above the snapshot") "x was rewritten "
              "with the value it had: a write is a write");
    t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_delete(db, "x");
    ex_txn_put(t, "x", "mine");
    ex_commit(t, KV_ERR_CONFLICT, EX_RULE(1, "a put or a tombstone") "x was deleted since the "
              "snapshot: its newest version is a "
              "tombstone numbered after it");
    t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_put(db, "new", "theirs", "a key that did not exist at the snapshot, put by another");
    ex_txn_put(t, "new", "mine");
    ex_commit(t, KV_ERR_CONFLICT, EX_RULE(2, "a version above the snapshot") "\"new\" was "
              "written since the snapshot (it was absent then)");
    ex_expect(db, "new", "theirs", "the first committer's value");
    kv_close(db);
}

static void version_check_older_versions_are_not_conflicts(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "x", "A", "put x");
    ex_put(db, "x", "B", "put x again: the newest version at the snapshot");
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_txn_put(t, "x", "mine");
    ex_commit(t, KV_OK, EX_RULE(3, "a version at the snapshot never counts") "x's newest "
              "version is the last write before the snapshot (numbered "
              "at the snapshot, not above it): no conflict");
    ex_expect(db, "x", "mine", "the commit's write");
    t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_txn_put(t, "never", "mine");
    ex_commit(t, KV_OK, EX_RULE(3, "no version: 0") "a key no one ever wrote has no version at "
              "all: no conflict");
    kv_close(db);
}

static void version_check_other_keys_are_not_conflicts(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "x", "A", "put x");
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_put(db, "xa", "theirs", "another writer's put of xa, the key right after x");
    ex_put(db, "w", "theirs", "and of w, the key right before x");
    ex_txn_put(t, "x", "mine");
    ex_commit(t, KV_OK, EX_RULE(3, "another key's version never counts") "only x's versions "
              "count: the seek for (x, the largest sequence) may "
              "land on another user key (xa), whose newer version is no conflict");
    t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_put(db, "absent0", "theirs", "another writer's put of absent0, the key right after "
           "\"absent\"");
    ex_txn_put(t, "absent", "mine");
    ex_commit(t, KV_OK, EX_RULE(3, "another key's version never counts") "\"absent\" has no "
              "version; the seek for it lands on absent0, whose "
              "newer version is no conflict: only absent's versions count");
    kv_close(db);
}

static void version_check_reads_under_serializable(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "a", "1", "put a");
    ex_put(db, "b", "1", "put b");
    kv_txn *t = ex_begin(db, KV_TXN_SERIALIZABLE);
    void *v = NULL;
    size_t vl = 0;
    int rc = EX_KV(kv_txn_get(t, "a", 1, &v, &vl));
    EX_CHECK(rc == KV_OK, "test setup: kv_txn_get(a) (%d: %s)", rc, ex_errmsg(rc));
    kv_free(v);
    ex_put(db, "a", "2", "another writer's put of a, which the transaction read");
    ex_txn_put(t, "b", "2");
    ex_commit(t, KV_ERR_CONFLICT, EX_RULE(2, "a version above the snapshot") "under "
              "KV_TXN_SERIALIZABLE a key the transaction read (a) "
              "and another wrote since is a conflict, like a key it writes");
    kv_close(db);
}

/* The key's newer version is not the first write after the snapshot:
 * another key was written in between.  The newest version is found by a
 * seek to (key, the largest sequence), never to (key, snapshot + 1),
 * which lands past every version numbered above snapshot + 1. */
static void version_check_a_write_later_than_the_next(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "x", "A", "put x before the transaction");
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_put(db, "other", "1", "a write to another key: snapshot + 1");
    ex_put(db, "other", "2", "and another: snapshot + 2");
    ex_put(db, "x", "B", "another writer's put of x: snapshot + 3");
    ex_txn_put(t, "x", "mine");
    ex_commit(t, KV_ERR_CONFLICT, EX_RULE(1, "the seek to (key, the largest sequence)") "x's "
              "newest version is numbered snapshot + 3, above the "
              "snapshot: the check seeks (x, the largest sequence) and looks at the first "
              "entry, whatever its number");
    ex_expect(db, "x", "B", "the first committer's value");
    kv_close(db);
}

/* A check that cannot read the versions fails the commit: the first key's
 * newest version is in a table whose data is damaged, so the seek fails
 * (KV_ERR_CORRUPT), and without it the commit cannot say there was no
 * conflict. */
static void version_check_a_failed_read_fails_the_commit(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 4096;
    kv_db *db = ex_open(dir, &opt, "open the test's database, memtables of 4 KiB");
    ex_put(db, "k", "0", "put k before the transaction");
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_put(db, "k", "theirs", "another writer's put of k, right after the snapshot");
    harness_context("kv_flush: k's versions go to a table");
    EX_CHECK(EX_KV(kv_flush(db)) == KV_OK, "kv_flush returns KV_OK (%s)", ex_kv_errmsg());
    ex_put(db, "other", "x", "a write to another key: the memtable starts at snapshot + 2");
    DIR *d = opendir(dir);
    EX_CHECK(d != NULL, "test setup: the database's directory opens");
    int damaged = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        if (l <= 4 || strcmp(e->d_name + l - 4, ".tbl") != 0)
            continue;
        const char *path = harness_join(dir, e->d_name);
        for (uint64_t at = 0; at < 24; at++)
            ex_poke_file(path, at, 0xa5);
        damaged++;
    }
    closedir(d);
    EX_CHECK(damaged == 1, "test setup: one table, damaged (found %d)", damaged);
    ex_txn_put(t, "k", "mine");
    harness_context("kv_txn_commit: k's versions are in a damaged table");
    int rc = EX_KV(kv_txn_commit(t));
    EX_CHECK(rc != KV_OK && rc != KV_ERR_CONFLICT, EX_RULE(4, "an error of the seek returned")
             "when the seek to k's newest version fails "
             "(its table is damaged), txn_version_key_changed returns that error and the "
             "commit fails with it: it cannot know whether k was written since (got %d%s%s)",
             rc, rc == KV_OK ? ", committed" : ": ", rc == KV_OK ? "" : ex_errmsg(rc));
    kv_close(db);
}

static const harness_test version_check_tests[] = {
    HARNESS_TEST(version_check_any_write_since_counts),
    HARNESS_TEST(version_check_older_versions_are_not_conflicts),
    HARNESS_TEST(version_check_other_keys_are_not_conflicts),
    HARNESS_TEST(version_check_reads_under_serializable),
    HARNESS_TEST(version_check_a_write_later_than_the_next),
    HARNESS_TEST(version_check_a_failed_read_fails_the_commit),
};
const harness_suite version_check_suite = HARNESS_SUITE("version_check", version_check_tests);
