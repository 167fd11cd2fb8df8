/*
 * flush_test.c: exercise flush, lsm_flush_write (stages/04-lsm/engine/lsm_flush.c),
 * through kv.h: a frozen memtable written, tombstones and all, to a table
 * named by the writes it holds, installed, and read back after a reopen;
 * a failed flush leaves no table behind; and a flush, whether it ends well
 * or cannot begin its table, lets go of the memtable it read (many flushes
 * under a cap on the process's memory, where one kept alive each time
 * runs out).
 */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exercise.h"
#include "io.h"
#include "io_fault.h"
#include "io_sim.h"
#include "kv.h"

static kv_db *fl_open(const char *dir)
{
    kv_options opt;
    kv_options_init(&opt);
    return ex_open(dir, &opt, "open the test's database");
}

static void fl_flush(kv_db *db, const char *what)
{
    harness_context("kv_flush (%s): the flush (lsm_flush_imm) runs on the background thread", what);
    int rc = EX_KV(kv_flush(db));
    EX_CHECK(rc == KV_OK, "kv_flush (%s) returns KV_OK: the frozen memtable is written to a "
             "table and installed (got %d: %s)", what, rc, ex_errmsg(rc));
}

/* The names in dir ending in suffix, counted; the last one in *name. */
static int fl_count(const char *dir, const char *suffix, char *name, size_t cap)
{
    DIR *d = opendir(dir);
    EX_CHECK(d != NULL, "the database directory exists");
    int n = 0;
    size_t sl = strlen(suffix);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        if (l >= sl && strcmp(e->d_name + l - sl, suffix) == 0) {
            n++;
            if (name != NULL)
                snprintf(name, cap, "%s", e->d_name);
        }
    }
    closedir(d);
    return n;
}

static void flush_writes_one_table_named_by_its_writes(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = fl_open(dir);
    ex_put(db, "a", "1", "put a (write 1)");
    ex_put(db, "b", "2", "put b (write 2)");
    EX_CHECK(kv_delete(db, "a", 1) == KV_OK, "delete a (write 3)");
    ex_put(db, "c", "3", "put c (write 4)");
    fl_flush(db, "of writes 1 to 4");
    char name[256] = "";
    EX_CHECK(fl_count(dir, ".tbl", name, sizeof name) == 1,
             EX_RULE(1, "the job's table") "after one flush the directory holds one table "
             "(lo-hi.tbl)");
    EX_CHECK(strcmp(name, "000000000001-000000000004.tbl") == 0,
             EX_RULE(1, "the table where the table set says") "the flushed table is named by "
             "the writes it holds, lo-hi.tbl with lo = 1 and "
             "hi = 4 (lsm_files.h: the directory listing alone says what the database is): got "
             "%s", name);
    EX_CHECK(fl_count(dir, ".tmp", NULL, 0) == 0, EX_RULE(1, "the table finished") "no "
             "temporary file is left (lo-hi.tbl.tmp is "
             "renamed)");
    EX_CHECK(ex_stat(db, "tables.count") == 1, EX_RULE(1, "the table finished") "kv_stats: "
             "tables.count is 1 once the flushed "
             "table is installed");
    ex_expect(db, "b", "2", EX_RULE(1, "every entry written") "after the flush, b is read from "
              "the table");
    ex_absent(db, "a", EX_RULE(2, "tombstones included") "after the flush, a's tombstone is in "
              "the table");
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
    db = fl_open(dir);
    ex_expect(db, "c", "3", EX_RULE(1, "every entry written") "after a reopen, c is in the table");
    ex_absent(db, "a", EX_RULE(2, "tombstones included") "after a reopen, a stays deleted");
    kv_close(db);
}

static void flush_keeps_tombstones(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = fl_open(dir);
    for (int i = 0; i < 20; i++) {
        char k[16];
        snprintf(k, sizeof k, "key%02d", i);
        ex_put(db, k, "old", "put the first versions");
    }
    fl_flush(db, "the first table");
    for (int i = 0; i < 20; i += 2) {
        char k[16];
        snprintf(k, sizeof k, "key%02d", i);
        EX_CHECK(kv_delete(db, k, strlen(k)) == KV_OK, "delete %s", k);
    }
    ex_put(db, "key99", "new", "put key99");
    fl_flush(db, "a table of tombstones over the first");
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 20; i++) {
            char k[16];
            snprintf(k, sizeof k, "key%02d", i);
            if (i % 2 == 0)
                ex_absent(db, k, pass ? EX_RULE(2, "tombstones included") "after a reopen: a "
                          "key deleted after the first flush "
                          "stays deleted: the second table holds its tombstone, which hides "
                          "the older version in the first table (a flush writes every entry, "
                          "tombstones included)"
                          : EX_RULE(2, "tombstones included") "a key deleted after the first flush "
                          "stays deleted once the "
                          "memtable holding its tombstone is flushed: the tombstone hides the "
                          "older version in the first table");
            else
                ex_expect(db, k, "old", "a key never deleted keeps its value");
        }
        EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
        db = fl_open(dir);
    }
    kv_close(db);
}

static void flush_failed_leaves_no_partial_table(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = fl_open(dir);
    char v[1001];
    memset(v, 'v', 1000);
    v[1000] = '\0';
    enum { N = 600 }; /* 600 KB: the builder appends while entries are added */
    for (int i = 0; i < N; i++) {
        char k[16];
        snprintf(k, sizeof k, "key%04d", i);
        EX_CHECK(EX_KV(kv_put(db, k, strlen(k), v, 1000)) == KV_OK,
                 "put %s: %s", k, ex_kv_errmsg());
    }
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
    /* Reopened on a disk with 64 KB left (io_fault is installed while no
     * database is open): the writes come back from the log into the
     * memtable, and the table's first append runs out of space while
     * lsm_flush_write adds entries (lsm_out_add fails). */
    io_fault_plan full = {.kinds = IO_FAULT_APPEND, .disk_bytes = 64 * 1024};
    io_fault_install(&full);
    db = fl_open(dir);
    harness_context("kv_flush of 600 KB on a disk with 64 KB left: the table's append fails "
                    "with ENOSPC while its entries are added");
    int rc = kv_flush(db);
    EX_CHECK(rc != KV_OK, EX_RULE(3, "a failure returned") "a flush that ran out of disk space "
             "is reported (got %d)", rc);
    int tmps = fl_count(dir, ".tmp", NULL, 0), tbls = fl_count(dir, ".tbl", NULL, 0);
    EX_CHECK(tmps == 0 && tbls == 0,
             EX_RULE(3, "a failed flush leaves no table") "a flush that fails leaves nothing "
             "behind: the unfinished table is abandoned "
             "(lsm_out_abandon removes its file and frees its builder) whatever step failed "
             "(%d .tmp and %d .tbl files left)", tmps, tbls);
    kv_close(db);
    io_fault_uninstall();
    db = fl_open(dir);
    ex_expect(db, "key0599", v, "after a failed flush and a reopen, the writes are still "
              "there (the failed flush kept imm and its log)");
    kv_close(db);
}

/* Writes round r's 1 MiB (1024 values of 1000 bytes) and flushes it; the
 * failure, if any, with the cap lifted first (the harness needs memory to
 * say it). */
static void fl_round(kv_db *db, int r, int capped, const char *v)
{
    int rc = KV_OK;
    const char *what = "a put";
    for (int i = 0; i < 1024 && rc == KV_OK; i++) {
        char k[24];
        snprintf(k, sizeof k, "r%03d-%04d", r, i);
        rc = kv_put(db, k, strlen(k), v, 1000);
    }
    if (rc == KV_OK) {
        what = "kv_flush";
        rc = EX_KV(kv_flush(db));
    }
    if (rc != KV_OK && capped)
        ex_memory_uncap();
    EX_CHECK(rc == KV_OK, EX_RULE(4, "the iterator freed") "round %d (1 MiB written, then "
             "kv_flush), the process's memory capped "
             "24 MiB above what it mapped after two rounds: %s fails (%d: %s), but a flush "
             "lets go of the memtable it wrote (lsm_flush_write frees its iterator, which "
             "holds a reference to the memtable: one kept alive is 1 MiB a flush, never "
             "given back)", r, what, rc, ex_errmsg(rc));
}

static void flush_frees_the_memtable_it_wrote(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = (size_t)64 << 20; /* no flush but kv_flush's */
    kv_db *db = ex_open(dir, &opt, "open the test's database (64 MiB memtables)");
    char v[1001];
    memset(v, 'v', 1000);
    v[1000] = '\0';
    fl_round(db, 0, 0, v);
    fl_round(db, 1, 0, v);
    if (!ex_memory_cap((size_t)16 << 20)) {
        kv_close(db);
        return; /* a sanitizer's build: no cap, and this rule unchecked */
    }
    enum { ROUNDS = 48 }; /* 48 MiB through memtables of 1 MiB: twice the cap */
    for (int r = 2; r < 2 + ROUNDS; r++)
        fl_round(db, r, 1, v);
    ex_memory_uncap();
    ex_expect(db, "r002-0000", v, "after 48 flushes under the cap, the first round's key reads "
              "back from its table");
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
}

/* One round of flush_failed_to_begin_lets_go: the database reopened (its
 * 1 MiB of writes come back from the log into a memtable), a directory put
 * where the flush's table file is to be created (lo-hi.tbl.tmp, lo = 1,
 * hi = 1024), so that lsm_out_begin fails, a kv_flush, and a close.  The
 * failure, if any, with the cap lifted first. */
static void fl_begin_fails(const char *dir, const kv_options *opt, int r, int capped)
{
    const char *tmp = harness_join(dir, "000000000001-000000001024.tbl.tmp");
    kv_db *db = NULL;
    int rc = EX_KV(kv_open(dir, opt, &db)), frc = KV_OK;
    char said[512]; /* the failing call's message, before kv_close's */
    snprintf(said, sizeof said, "%s", ex_errmsg(rc));
    if (rc == KV_OK) {
        EX_CHECK(mkdir(tmp, 0755) == 0, "make the directory %s", tmp);
        frc = EX_KV(kv_flush(db));
        snprintf(said, sizeof said, "%s", ex_errmsg(frc));
        kv_close(db);
        EX_CHECK(rmdir(tmp) == 0, "remove the directory %s", tmp);
    }
    if ((rc != KV_OK || frc == KV_OK || frc == KV_ERR_NOMEM) && capped)
        ex_memory_uncap();
    EX_CHECK(rc == KV_OK && frc != KV_ERR_NOMEM,
             EX_RULE(4, "the iterator freed on every path") "round %d (the database reopened, "
             "its 1 MiB back from the log, and a flush that "
             "cannot create its table's file), the process's memory capped 24 MiB above what "
             "it mapped after two rounds: %s fails for want of memory (%d: %s), but a flush "
             "that cannot begin its table lets go of the memtable (lsm_flush_write frees its "
             "iterator, which holds a reference to the memtable, before it returns the "
             "failure: one kept alive is 1 MiB a failed flush, never given back)",
             r, rc != KV_OK ? "kv_open" : "kv_flush", rc != KV_OK ? rc : frc, said);
    EX_CHECK(frc != KV_OK, EX_RULE(3, "a failure returned") "round %d: kv_flush fails when the "
             "table's file cannot be created "
             "(a directory stands at its name)", r);
}

static void flush_failed_to_begin_lets_go(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = (size_t)64 << 20; /* no flush but kv_flush's */
    kv_db *db = ex_open(dir, &opt, "open the test's database (64 MiB memtables)");
    char v[1001];
    memset(v, 'v', 1000);
    v[1000] = '\0';
    for (int i = 0; i < 1024; i++) {
        char k[24];
        snprintf(k, sizeof k, "k%04d", i);
        EX_CHECK(EX_KV(kv_put(db, k, strlen(k), v, 1000)) == KV_OK,
                 "put %s: %s", k, ex_kv_errmsg());
    }
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
    fl_begin_fails(dir, &opt, 0, 0);
    fl_begin_fails(dir, &opt, 1, 0);
    if (!ex_memory_cap((size_t)16 << 20))
        return; /* a sanitizer's build: no cap, and this rule unchecked */
    enum { ROUNDS = 48 }; /* 48 failed flushes of 1 MiB: twice the cap */
    for (int r = 2; r < 2 + ROUNDS; r++)
        fl_begin_fails(dir, &opt, r, 1);
    ex_memory_uncap();
    db = ex_open(dir, &opt, "open the test's database after the failed flushes");
    fl_flush(db, "after 48 that failed");
    ex_expect(db, "k1023", v, "after 48 failed flushes and one that ran, the last key reads "
              "back from the table");
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
}

/* A flush cut at each of its file operations (flush_cuts.c). */
void flush_power_cut_at_each_step(void);
void flush_kill_at_each_step(void);

static const harness_test flush_tests[] = {
    HARNESS_TEST(flush_writes_one_table_named_by_its_writes),
    HARNESS_TEST(flush_keeps_tombstones),
    HARNESS_TEST(flush_failed_leaves_no_partial_table),
    HARNESS_TEST(flush_frees_the_memtable_it_wrote),
    HARNESS_TEST(flush_failed_to_begin_lets_go),
    /* The crash rung runs the tests named *_kill_*, the power rung those
     * named *_power_* (grade/grade.sh); the exercises rung, the others. */
    HARNESS_TEST(flush_power_cut_at_each_step),
    HARNESS_TEST(flush_kill_at_each_step),
};
const harness_suite flush_suite = HARNESS_SUITE("flush", flush_tests);
