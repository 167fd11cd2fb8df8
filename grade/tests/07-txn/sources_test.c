/*
 * sources_test.c: exercise sources, txn_versions_sources
 * (stages/07-txn/txn_versions/txn_versions.c): where a commit looks for versions newer
 * than its snapshot.  The memtables alone suffice only while they hold
 * every write after the snapshot (the oldest write they hold is at or
 * before snapshot + 1); once a flush took one of those writes away, the
 * tables must be searched too, or a conflict that went to a table is
 * missed and a lost update commits.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "ex_txn.h"
#include "exercise.h"
#include "io.h"
#include "kv.h"

/* No write at all since the snapshot: nothing can conflict. */
static void sources_nothing_written_since(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "k", "0", "put k before the transaction");
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_txn_put(t, "k", "mine");
    ex_commit(t, KV_OK, EX_RULE(1, "nothing newer: memory alone") "nothing was written since "
              "the transaction began");
    ex_expect(db, "k", "mine", "the commit's write");
    kv_close(db);
}

/* A transaction on db (k put before it) whose snapshot another writer's
 * put of k follows, flushed to a table, then a write to another key, so
 * that the memtable starts at snapshot + 2: its commit must find k's new
 * version in a table and fail with KV_ERR_CONFLICT (why: the rule). */
static void sources_conflict_in_a_table(kv_db *db, const char *why)
{
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_put(db, "k", "theirs", "another writer's put of k, the first write after the snapshot");
    harness_context("kv_flush: k's new version goes to a table");
    EX_CHECK(EX_KV(kv_flush(db)) == KV_OK, "kv_flush returns KV_OK (%s)", ex_kv_errmsg());
    ex_put(db, "other", "x", "a write to another key: the memtable now starts at snapshot + 2");
    ex_txn_put(t, "k", "mine");
    ex_commit(t, KV_ERR_CONFLICT, why);
    ex_expect(db, "k", "theirs", "the other writer's value stays (no lost update)");
}

/* How many of levels 1 to 6 hold a table (kv_stats's level.N). */
static int sources_levels_with_tables(kv_db *db)
{
    int levels = 0;
    for (int l = 1; l <= 6; l++) {
        char name[16];
        snprintf(name, sizeof name, "level.%d", l);
        levels += ex_stat(db, name) > 0;
    }
    return levels;
}

/* The conflicting write is the very next one after the snapshot, and a
 * flush took it to a table; the memtable then holds only later writes. */
static void sources_the_write_right_after_the_snapshot(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "k", "0", "put k before the transaction");
    sources_conflict_in_a_table(db, EX_RULE(2, "a flush took it to a table: the tables too") "k "
                                "was written since the snapshot (write snapshot + 1, now "
                                "in a table: the memtable's oldest write is snapshot + 2, so "
                                "memory alone does not hold every newer version; the tables "
                                "must be searched too)");
    kv_close(db);
}

/* The tables' read counters, summed: a commit that searches a table
 * opens it through the table cache and reads a block of it. */
static uint64_t sources_table_reads(kv_db *db)
{
    return ex_stat(db, "session.table_cache.hits") + ex_stat(db, "session.table_cache.misses") +
           ex_stat(db, "session.block_cache.hits") + ex_stat(db, "session.block_cache.misses") +
           ex_stat(db, "session.table.reads");
}

/* The usual case: the write right after the snapshot is the memtable's
 * oldest (a flush emptied it just before), so the memtables hold every
 * newer version and the check reads memory alone, though a table holds
 * older versions of the key. */
static void sources_memory_alone_from_snapshot_plus_one(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "k", "0", "put k before the transaction");
    harness_context("kv_flush: k's old version goes to a table");
    EX_CHECK(EX_KV(kv_flush(db)) == KV_OK, "kv_flush returns KV_OK (%s)", ex_kv_errmsg());
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_put(db, "k", "theirs", "another writer's put of k, the first write after the snapshot "
           "and the memtable's oldest");
    ex_txn_put(t, "k", "mine");
    uint64_t before = sources_table_reads(db);
    ex_commit(t, KV_ERR_CONFLICT, EX_RULE(1, "the memtables") "k was written since the "
              "snapshot, in the memtable");
    uint64_t after = sources_table_reads(db);
    EX_CHECK(after == before, EX_RULE(1, "memory alone from snapshot + 1") "the memtables' "
             "oldest write is snapshot + 1, so they hold every "
             "version newer than the snapshot: the commit checks memory alone (oldest <= "
             "snapshot + 1), yet it read the tables (%llu table and block cache lookups and "
             "reads)", (unsigned long long)(after - before));
    /* Nothing written since the snapshot, the memtables empty (a flush
     * took everything): nothing newer can be anywhere. */
    harness_context("kv_flush: the memtables are empty");
    EX_CHECK(EX_KV(kv_flush(db)) == KV_OK, "kv_flush returns KV_OK (%s)", ex_kv_errmsg());
    t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_txn_put(t, "k", "mine again");
    before = sources_table_reads(db);
    ex_commit(t, KV_OK, EX_RULE(1, "nothing newer: memory alone") "nothing was written since "
              "the transaction began");
    after = sources_table_reads(db);
    EX_CHECK(after == before, EX_RULE(1, "memory alone when nothing is newer") "nothing was "
             "written since the snapshot (the newest write, "
             "src.last, is at or before it), so no version is newer and the commit checks "
             "memory alone, even with the memtables empty; it read the tables (%llu table and "
             "block cache lookups and reads)", (unsigned long long)(after - before));
    kv_close(db);
}

/* Many flushes while the transaction was open; the conflict is somewhere
 * in the tables. */
static void sources_after_many_flushes(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "k", "0", "put k before the transaction");
    for (int step = 0; step < 3; step++) {
        kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
        ex_put(db, "k", "theirs", "another writer's put of k");
        ex_fill_others(db, 300);
        if (step == 2) {
            harness_context("kv_compact");
            EX_CHECK(EX_KV(kv_compact(db)) == KV_OK,
                     "kv_compact returns KV_OK (%s)", ex_kv_errmsg());
        }
        ex_txn_put(t, "k", "mine");
        char rule[320];
        snprintf(rule, sizeof rule, EX_RULE(2, "a flush took it to a table: the tables too") "k "
                 "was written since the snapshot, then 300 other writes "
                 "flushed it to a table%s", step == 2 ? " and kv_compact merged the tables" : "");
        ex_commit(t, KV_ERR_CONFLICT, rule);
    }
    /* Nothing written to k since this one began: no conflict, even though
     * the tables hold versions of k (older ones). */
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_fill_others(db, 300);
    ex_txn_put(t, "k", "mine");
    ex_commit(t, KV_OK, EX_RULE(2, "the tables, newest first") "k's versions in the tables are "
              "all older than the snapshot");
    kv_close(db);
}

/* A gate on the file system: while it is shut, opening a new table file
 * (the first step of a flush, or of a compaction) waits until it opens.
 * So a memtable frozen while it is shut stays frozen (imm), its writes in
 * memory and in no table, for as long as the test needs, on any machine:
 * no round that hopes to catch the flush before it ends. */
static const io_ops *gate_base;
static io_ops gate_ops;
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_opened = PTHREAD_COND_INITIALIZER;
static int gate_shut;
static int gate_waiting; /* opens waiting at the gate (__atomic) */

static int gate_open(const char *path, int flags, io_file **f)
{
    if ((flags & IO_CREATE) && strstr(path, ".tbl") != NULL) {
        pthread_mutex_lock(&gate_lock);
        __atomic_add_fetch(&gate_waiting, 1, __ATOMIC_SEQ_CST);
        while (gate_shut)
            pthread_cond_wait(&gate_opened, &gate_lock);
        __atomic_sub_fetch(&gate_waiting, 1, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&gate_lock);
    }
    return gate_base->open(path, flags, f);
}

static void gate_shut_now(void)
{
    gate_base = io_get_ops();
    gate_ops = *gate_base;
    gate_ops.open = gate_open;
    gate_shut = 1;
    io_set_ops(&gate_ops);
}

static void gate_open_now(void)
{
    pthread_mutex_lock(&gate_lock);
    gate_shut = 0;
    pthread_cond_broadcast(&gate_opened);
    pthread_mutex_unlock(&gate_lock);
}

/* The memtable that holds the conflicting write was frozen just now and
 * waits for its flush (imm): the memtables still hold every write after
 * the snapshot, but in two memtables, and the check must read both.  The
 * flush is held at the gate (it cannot write its table) from before the
 * freeze until after the commit, so the conflicting write is in the
 * frozen memtable and nowhere else when the commit looks. */
static void sources_a_write_in_the_frozen_memtable(void)
{
    gate_shut_now();
    kv_db *db = ex_txn_open(); /* memtables of 4 KiB */
    ex_put(db, "k", "0", "put k before the transaction");
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_put(db, "k", "theirs", "another writer's put of k, right after the snapshot");
    char k[32], v[80];
    int n = 0;
    while (ex_stat(db, "memtable.frozen_bytes") == 0) { /* until the memtable holding k is frozen */
        EX_CHECK(n < 10000, "test setup: 10,000 writes of 80 bytes fill a memtable of 4 KiB "
                 "and freeze it (memtable.frozen_bytes is still 0)");
        int kl = snprintf(k, sizeof k, "zz-other%07d", n++);
        int vl = snprintf(v, sizeof v, "a value long enough to fill memtables quickly %d", n);
        int rc = EX_KV(kv_put(db, k, (size_t)kl, v, (size_t)vl));
        EX_CHECK(rc == KV_OK, "kv_put(%s) returns KV_OK (got %d: %s)", k, rc, ex_errmsg(rc));
    }
    EX_BOUND(10, "test setup: the flush of the frozen memtable opens its table file, and "
             "waits there at the test's gate");
    while (__atomic_load_n(&gate_waiting, __ATOMIC_SEQ_CST) == 0)
        sched_yield();
    EX_BOUND(EX_TEST_CPU_SECONDS, EX_RULE(1, "mem and imm") "the commit's check, while the "
             "flush of the frozen memtable waits, ends");
    ex_txn_put(t, "k", "mine");
    ex_commit(t, KV_ERR_CONFLICT, EX_RULE(1, "mem and imm") "k was written since the snapshot, "
              "in the memtable frozen since and waiting for its flush (imm): the memtables "
              "hold every newer version, but in two memtables: read the frozen one too");
    gate_open_now();
    ex_expect(db, "k", "theirs", "the other writer's value stays (no lost update)");
    harness_context("kv_close, the flush let through");
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close returns KV_OK (%s)", ex_kv_errmsg());
    io_set_ops(gate_base);
}

/* The one write since the snapshot, flushed to a table: the memtables hold
 * nothing newer than the snapshot, yet a table does. */
static void sources_the_only_write_since_in_a_table(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "k", "0", "put k before the transaction");
    kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
    ex_put(db, "k", "theirs", "another writer's put of k, the only write after the snapshot");
    harness_context("kv_flush: k's new version goes to a table");
    EX_CHECK(EX_KV(kv_flush(db)) == KV_OK, "kv_flush returns KV_OK (%s)", ex_kv_errmsg());
    ex_txn_put(t, "k", "mine");
    ex_commit(t, KV_ERR_CONFLICT, EX_RULE(1, "memory alone only when its oldest write is at or "
              "before snapshot + 1; memory_from 0: it holds none") "k "
              "was written since the snapshot (write snapshot + 1, the "
              "only one, now in a table, the memtables empty): memory alone holds every newer "
              "version only if the memtables' oldest write (src.memory_from, 0 when they hold "
              "none) is at or before snapshot + 1, not whenever the newest write is");
    ex_expect(db, "k", "theirs", "the other writer's value stays (no lost update)");
    kv_close(db);
}

/* A check that worked adds nothing to kv_errmsg(): the note "checking for
 * conflicts" belongs to a failure of the sources only. */
static void sources_a_success_leaves_no_note(void)
{
    kv_db *db = ex_txn_open();
    ex_put(db, "k", "0", "put k before the transaction");
    for (int i = 0; i < 2; i++) {
        kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
        if (i == 1) { /* the second time, the check reads the tables too */
            ex_fill_others(db, 300);
            harness_context("kv_flush");
            EX_CHECK(EX_KV(kv_flush(db)) == KV_OK, "kv_flush returns KV_OK (%s)", ex_kv_errmsg());
        }
        ex_txn_put(t, "k", "mine");
        ex_commit(t, KV_OK, EX_RULE(1, "nothing newer: no conflict") "nothing was written to k "
                  "since the transaction began");
        EX_CHECK(strstr(kv_errmsg(), "checking for conflicts") == NULL,
                 "the sources' note \"(kv_txn_commit: checking for conflicts; nothing was "
                 "written)\" is appended to kv_errmsg() only when finding the sources failed "
                 "(rc != KV_OK); after a commit that succeeded (%s) kv_errmsg() is \"%s\"",
                 i == 0 ? "memory alone" : "memory and tables", kv_errmsg());
    }
    kv_close(db);
}

/* Out of memory while the sources are gathered: a commit that checks the
 * tables (a flush took the write after the snapshot away) made to fail
 * at each of its allocations in turn.  Each failure ends the commit with
 * KV_ERR_NOMEM and writes nothing; what the sources had made so far (the
 * tables' iterators, a memtable's) is freed, every one of them, so the
 * test ends holding no block (exercise_alloc.c counts them). */
static void sources_out_of_memory_frees_what_it_made(void)
{
    int failures = 0;
    /* A database of its own for each n, so that every commit meets the
     * same tables and the nth allocation is a different one each time. */
    for (long n = 1; n < 400; n++) {
        char name[32];
        snprintf(name, sizeof name, "db%ld", n);
        kv_options opt;
        kv_options_init(&opt);
        opt.memtable_bytes = 4096;
        kv_db *db = ex_open(harness_join(harness_tmpdir(), name), &opt, "open a database");
        ex_put(db, "k", "0", "put k before the transaction");
        kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
        ex_put(db, "other", "x", "another writer's put, the first write after the snapshot");
        harness_context("kv_flush: the write after the snapshot goes to a table");
        EX_CHECK(EX_KV(kv_flush(db)) == KV_OK, "kv_flush returns KV_OK (%s)", ex_kv_errmsg());
        ex_put(db, "later", "y", "a later write: the memtable now starts at snapshot + 2");
        ex_txn_put(t, "k", "mine");
        if (!ex_alloc_fail_at(n)) { /* a sanitizer's build: no allocation can be made to fail */
            kv_txn_abort(t);
            kv_close(db);
            break;
        }
        /* A crash here (a block freed twice, one merge_iter_new had taken
         * and freed already) names the rule too. */
        ex_context(EX_RULE(3, "on failure, what was made freed, once") "kv_txn_commit with "
                   "allocation %ld of the commit failing: the sources (memtables and tables) "
                   "made so far are freed, every one, once (merge_iter_new frees the children "
                   "it was given, also when it fails), and the commit returns KV_ERR_NOMEM", n);
        int rc = EX_KV(kv_txn_commit(t));
        int failed = ex_alloc_failed();
        ex_alloc_fail_at(0);
        if (failed) {
            failures++;
            EX_CHECK(rc == KV_OK || rc == KV_ERR_NOMEM, EX_RULE(3, "on failure, the error "
                     "returned, what was made freed") "a commit whose allocation %ld fails "
                     "returns KV_ERR_NOMEM (or KV_OK, if it could do without that block), got "
                     "%d (%s)", n, rc, ex_errmsg(rc));
        } else {
            EX_CHECK(rc == KV_OK, "with every allocation granted the commit succeeds (got %d: "
                     "%s)", rc, ex_errmsg(rc));
        }
        harness_context("kv_close after a commit whose allocation %ld failed", n);
        EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close returns KV_OK (%s)", ex_kv_errmsg());
        if (!failed)
            break;
    }
    EX_CHECK(failures > 0 || !ex_alloc_fail_at(0), "test setup: a commit that checks the "
             "tables allocates");
}

/* Tables at every level: level 1 small and each level only twice the one
 * above, so a few thousand writes fill levels 1 to 5 and more.  The
 * sources then hold the two memtables' iterators, one per level-0 table
 * and one per level, as many as the array table_set_iters makes room for
 * (and the memtables' two slots close the gap before the tables': n - 2
 * of them moved, no more). */
static void sources_every_level_holding_tables(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 4096;
    opt.l1_bytes = 4096;
    opt.level_ratio = 2;
    kv_db *db = ex_open(harness_join(harness_tmpdir(), "db"), &opt,
                        "open a database whose levels are small");
    ex_put(db, "k", "0", "put k before the transaction");
    int levels = 0;
    for (int round = 0; round < 8 && levels < 5; round++) {
        ex_fill_others(db, 4000);
        levels = sources_levels_with_tables(db);
    }
    EX_CHECK(levels >= 5, "test setup: tables at 5 levels or more (got %d)", levels);
    sources_conflict_in_a_table(db, EX_RULE(2, "the tables too, at every level") "k was written "
                                "since the snapshot, in a table: the sources "
                                    "are the memtables and every table, at every level "
                                    "(children + 2 moved down by n - 2, the tables' count)");
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK, "kv_close: %s", ex_kv_errmsg());
}

/* Commits whose checks read the tables (a write since the snapshot went
 * to one), then a compaction that merges every table: the tables a check
 * read are no longer held by it, so their files go. */
static void sources_lets_the_tables_go(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 4096;
    kv_db *db = ex_open(dir, &opt, "open the test's database, memtables of 4 KiB");
    ex_put(db, "k", "0", "put k");
    for (int i = 0; i < 3; i++) {
        kv_txn *t = ex_begin(db, KV_TXN_SNAPSHOT);
        ex_fill_others(db, 300); /* flushed: the check reads the tables */
        ex_txn_put(t, "k", "mine");
        ex_commit(t, KV_OK, EX_RULE(2, "the tables too") "nothing was written to k since the "
                  "snapshot; 300 other writes went to tables, which the check reads");
    }
    ex_fill_others(db, 300);
    uint64_t tables = 0;
    int files = ex_table_files_settled(db, dir, &tables);
    EX_CHECK((uint64_t)files == tables,
             EX_RULE(3, "the sources released") "after the commits' checks and a compaction, the "
             "directory holds the %llu tables the database has, not %d: a check that keeps "
             "its sources (lsm_sources_get without lsm_sources_release) keeps the tables it "
             "read, and their files, for ever", (unsigned long long)tables, files);
    kv_close(db);
}

static const harness_test sources_tests[] = {
    HARNESS_TEST(sources_lets_the_tables_go),
    HARNESS_TEST(sources_nothing_written_since),
    HARNESS_TEST(sources_a_success_leaves_no_note),
    HARNESS_TEST(sources_the_write_right_after_the_snapshot),
    HARNESS_TEST(sources_the_only_write_since_in_a_table),
    HARNESS_TEST(sources_memory_alone_from_snapshot_plus_one),
    HARNESS_TEST(sources_after_many_flushes),
    HARNESS_TEST(sources_a_write_in_the_frozen_memtable),
    HARNESS_TEST(sources_out_of_memory_frees_what_it_made),
    HARNESS_TEST(sources_every_level_holding_tables),
};
const harness_suite sources_suite = HARNESS_SUITE("sources", sources_tests);
