/*
 * range_check_test.c: exercise range_check, txn_version_range_changed
 * (stages/07-txn/txn_versions/txn_versions.c): under KV_TXN_SERIALIZABLE, the keys a
 * transaction's iterator stepped over, from where it was positioned to
 * where it stopped, count as read, present or not: any version numbered
 * above the snapshot anywhere in that range (a new key, a changed one, a
 * tombstone) is a conflict (no phantom); a write outside it is not.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ex_txn.h"
#include "exercise.h"
#include "kv.h"

static kv_db *rc_open(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "b", "1", "put b");
    ex_put(db, "d", "1", "put d");
    ex_put(db, "f", "1", "put f");
    ex_put(db, "h", "1", "put h");
    return db;
}

/* A transaction that scans [from, to] and writes "out"; another writer
 * puts key `k` (or deletes it); the commit must return want. */
static void rc_case(const char *from, const char *to, const char *k, int del, int want,
                    const char *rule)
{
    kv_db *db = rc_open();
    kv_txn *t = ex_begin(db, KV_TXN_SERIALIZABLE);
    ex_txn_scan(t, from, to);
    if (del)
        ex_delete(db, k);
    else
        ex_put(db, k, "theirs", "another writer's write");
    ex_txn_put(t, "out", "mine");
    ex_commit(t, want, rule);
    kv_close(db);
}

static void range_check_a_phantom_anywhere_in_the_range(void)
{
    rc_case("b", "h", "e", 0, KV_ERR_CONFLICT, EX_RULE(3, "a version above the snapshot in the "
            "range") "the transaction scanned b..h and another "
            "inserted e, a key it stepped over (a phantom): every version in the range "
            "counts, not only the first entry's");
    rc_case("b", "h", "g", 0, KV_ERR_CONFLICT, EX_RULE(3, "a version above the snapshot in the "
            "range") "the transaction scanned b..h and another "
            "inserted g, just before the last key it saw");
    rc_case("b", "h", "h", 0, KV_ERR_CONFLICT, EX_RULE(2, "the walk goes up to the last version "
            "of hi, hi included") "the transaction scanned b..h and another "
            "rewrote h, the key it stopped on (the range's last key is in it)");
    rc_case("b", "h", "d", 1, KV_ERR_CONFLICT, EX_RULE(3, "a version above the snapshot in the "
            "range") "the transaction scanned b..h and another "
            "deleted d: a tombstone is a version too");
    rc_case("b", "h", "b", 0, KV_ERR_CONFLICT, EX_RULE(1, "from (lo, the largest sequence)")
            "the transaction scanned b..h and another rewrote b, the key it started on: the "
            "walk starts at lo's newest version, not at the snapshot's");
    rc_case("d", NULL, "zzz", 0, KV_ERR_CONFLICT, EX_RULE(2, "no upper bound: to the end")
            "the transaction scanned from d on and another inserted zzz after the last key: "
            "a range without an upper bound runs to the end");
    rc_case(NULL, NULL, "zzz", 0, KV_ERR_CONFLICT, EX_RULES("1 and 2", "no lower bound: from "
            "the first entry; no upper bound: to the end") "the transaction scanned "
            "everything and another inserted zzz after the last key: the range ran to the "
            "end");
    rc_case(NULL, "d", "a", 0, KV_ERR_CONFLICT, EX_RULE(1, "no lower bound: from the first entry") "the transaction scanned from the first key "
            "and another inserted a before it: the range has no lower bound");
}

static void range_check_writes_outside_are_not_conflicts(void)
{
    rc_case("c", "f", "g", 0, KV_OK, EX_RULE(2, "the walk ends at the last version of hi") "the "
            "transaction scanned c..f; g is past the last key it "
            "saw");
    rc_case("c", "f", "b", 0, KV_OK, EX_RULE(1, "from (lo, the largest sequence)") "the "
            "transaction scanned c..f; b is before where it was "
            "positioned");
    rc_case("c", "f", "fa", 0, KV_OK, EX_RULE(2, "the walk ends at the last version of hi") "the transaction scanned c..f, and stopped at f; fa is "
            "after f");
    rc_case(NULL, "d", "e", 0, KV_OK, EX_RULE(2, "the walk ends at the last version of hi") "the transaction scanned from the first key to d; e "
            "is past the last key it saw: a range with no lower bound still has its upper one "
            "(r->has_hi)");
    rc_case("ca", NULL, "c", 0, KV_OK, EX_RULE(1, "from (lo, the largest sequence)") "the "
            "transaction scanned from ca to the end; c is "
            "before where it was positioned: the check seeks the whole of lo (r->lo, "
            "r->lo_len bytes) whenever the range has one (r->has_lo), with or without an upper "
            "bound");
}

static void range_check_after_a_flush(void)
{
    kv_db *db = rc_open();
    kv_txn *t = ex_begin(db, KV_TXN_SERIALIZABLE);
    ex_txn_scan(t, "b", "h");
    ex_put(db, "e", "theirs", "another writer's insert of e");
    ex_fill_others(db, 300);
    ex_txn_put(t, "out", "mine");
    ex_commit(t, KV_ERR_CONFLICT, EX_RULE(3, "a version above the snapshot in the range") "the "
              "transaction scanned b..h and another inserted e, which "
              "300 more writes flushed to a table: the range is searched there too");
    kv_close(db);
}

/* A commit's check holds the sources it reads (memtables, the tables'
 * version) only while it runs: once it is over, a compaction that merged
 * every table leaves only the tables it wrote in the directory. */
static void range_check_lets_its_sources_go(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 4096;
    kv_db *db = ex_open(dir, &opt, "open the test's database, memtables of 4 KiB");
    ex_put(db, "a", "1", "put a");
    ex_put(db, "n", "1", "put n");
    for (int i = 0; i < 3; i++) {
        kv_txn *t = ex_begin(db, KV_TXN_SERIALIZABLE);
        ex_txn_scan(t, NULL, "m"); /* a, then n: the range ends at n */
        ex_fill_others(db, 300);   /* after n, and flushed: the check reads the tables */
        ex_txn_put(t, "out", "mine");
        ex_commit(t, KV_OK, EX_RULE(2, "the walk ends at the last version of hi") "the "
                  "transaction scanned from the first key to n, and the only "
                  "writes since were after n");
    }
    ex_fill_others(db, 300);
    uint64_t tables = 0;
    int files = ex_table_files_settled(db, dir, &tables);
    EX_CHECK((uint64_t)files == tables, EX_RULE(1, "the sources positioned, made once") "a "
             "commit's check reads the sources through one "
             "iterator, made once (by the first key checked, or by a range that needs it) and "
             "freed when the check ends; an iterator made again, over the one already there, "
             "is never freed and keeps the tables it read: after kv_compact the directory "
             "holds %d .tbl files, the database %llu tables", files,
             (unsigned long long)tables);
    kv_close(db);
}

/* A scan of the range that fails fails the commit: the range's versions
 * are in a table (kv_compact's, whose blocks no read has cached) damaged
 * past its first block, so the check's scan stops with an error before
 * it reaches the write into the range at its end. */
static void range_check_a_failed_scan_fails_the_commit(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_options opt;
    kv_options_init(&opt);
    kv_db *db = ex_open(dir, &opt, "open the test's database");
    char k[16], v[128];
    uint64_t x = 1;
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof k, "b%03d", i);
        for (int j = 0; j < 100; j++) { /* letters that do not compress */
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            v[j] = (char)('a' + (x >> 59) % 26);
        }
        v[100] = '\0';
        ex_put(db, k, v, "put b000..b299, 100-byte values");
    }
    harness_context("kv_flush");
    EX_CHECK(EX_KV(kv_flush(db)) == KV_OK, "kv_flush returns KV_OK (%s)", ex_kv_errmsg());
    kv_txn *t = ex_begin(db, KV_TXN_SERIALIZABLE);
    ex_txn_scan(t, "b", NULL);
    ex_put(db, "b999", "theirs", "another writer's put of b999, in the range scanned");
    harness_context("kv_compact: old versions kept for the transaction's snapshot");
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "kv_compact returns KV_OK (%s)", ex_kv_errmsg());
    /* The largest table holds b000..b299. */
    DIR *d = opendir(dir);
    EX_CHECK(d != NULL, "test setup: the database's directory opens");
    char largest[512] = "";
    size_t largest_n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        if (l <= 4 || strcmp(e->d_name + l - 4, ".tbl") != 0)
            continue;
        const char *path = harness_join(dir, e->d_name);
        size_t n = 0;
        free(ex_read_file(path, &n));
        if (n > largest_n) {
            largest_n = n;
            snprintf(largest, sizeof largest, "%s", path);
        }
    }
    closedir(d);
    EX_CHECK(largest_n > 16384, "test setup: a table of b000..b299 after kv_compact (the "
             "largest has %zu bytes)", largest_n);
    for (uint64_t at = largest_n / 3; at < largest_n / 3 + 64; at++)
        ex_poke_file(largest, at, 0xa5);
    ex_txn_put(t, "a0", "mine");
    harness_context("kv_txn_commit: the range's versions are in a damaged table");
    int rc = EX_KV(kv_txn_commit(t));
    EX_CHECK(rc != KV_OK && rc != KV_ERR_CONFLICT, EX_RULE(4, "the iterator's status returned")
             "when the scan of the range fails part way "
             "(its table is damaged), txn_version_range_changed returns the iterator's error "
             "and the commit fails with it: it cannot know whether the rest of the range was "
             "written since (got %d%s%s)", rc, rc == KV_OK ? ", committed" : ": ",
             rc == KV_OK ? "" : ex_errmsg(rc));
    kv_close(db);
}

/* range_check_lets_its_sources_go first: the scorecard shows an
 * exercise's first failing test, and an iterator made again over the one
 * already there is never freed, so every test fails on the blocks it
 * left, with no rule; this one fails first, naming its rule. */
static const harness_test range_check_tests[] = {
    HARNESS_TEST(range_check_lets_its_sources_go),
    HARNESS_TEST(range_check_a_phantom_anywhere_in_the_range),
    HARNESS_TEST(range_check_writes_outside_are_not_conflicts),
    HARNESS_TEST(range_check_after_a_flush),
    HARNESS_TEST(range_check_a_failed_scan_fails_the_commit),
};
const harness_suite range_check_suite = HARNESS_SUITE("range_check", range_check_tests);
