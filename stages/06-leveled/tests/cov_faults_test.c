/*
 * cov_faults_test.c: stage 06's background work with each of its I/O
 * calls failing in turn (common/io_fault.h).
 *
 * The state: a database whose level 2 holds a table of keys k000..k059
 * (its first flush, placed there since nothing overlapped it), and whose
 * log holds overwrites and deletes of a third of them, replayed into the
 * memtable at open.  kv_compact then does all of stage 06's background
 * work in a fixed order, on the background thread: it flushes the
 * memtable to a table (table, directory sync, manifest edit) placed in
 * level 1 (above level 2, which it overlaps), merges level 1 into level 2
 * (output table, directory sync, manifest edit) and deletes the inputs.  For n = 1, 2, ... the nth counted call
 * fails, until kv_compact makes fewer than n.  Whatever failed (a table
 * append, a sync, the manifest's append or sync, a directory sync, an
 * open), kv_compact says so with the errno's text, and the next open
 * without failures finds every acknowledged write, no more and no less,
 * and a directory kv_check finds nothing wrong in (the failed work's
 * files removed as garbage).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "io_fault.h"
#include "kv.h"
#include "../../04-lsm/tests/lsm_test_util.h"

#define COV_KEYS 60

/* The value key i has in the final state (NULL: deleted): every third
 * key is overwritten, every fifth deleted (the delete comes last). */
static const char *cov_value(int i, char buf[32])
{
    if (i % 5 == 0)
        return NULL;
    snprintf(buf, 32, i % 3 == 0 ? "new-%03d" : "old-%03d", i);
    return buf;
}

static void cov_key(int i, char buf[16])
{
    snprintf(buf, 16, "k%03d", i);
}

/* The state above, in a closed directory. */
static const char *cov_fault_state(void)
{
    const char *dir = harness_join(harness_tmpdir(), "state");
    kv_db *db = lt_open(dir, 0, 0);
    char k[16], v[32];
    for (int i = 0; i < COV_KEYS; i++) {
        cov_key(i, k);
        snprintf(v, sizeof v, "old-%03d", i);
        lt_put(db, k, v);
    }
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_EQ(lt_stat(db, "level.2"), 1); /* its first figure: 1 table */
    for (int i = 0; i < COV_KEYS; i++) {
        cov_key(i, k);
        if (i % 3 == 0)
            lt_put(db, k, cov_value(i, v) ? v : "new");
        if (i % 5 == 0)
            lt_del(db, k);
    }
    CHECK_KV(kv_close(db), KV_OK);
    return dir;
}

/* Every write of the state there, and nothing else; kv_check clean. */
static void cov_expect_state(const char *dir)
{
    kv_db *db = lt_open(dir, 0, 0);
    char k[16], v[32];
    for (int i = 0; i < COV_KEYS; i++) {
        cov_key(i, k);
        lt_expect(db, k, cov_value(i, v));
    }
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    int n = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it))
        n++;
    CHECK_KV(kv_iter_status(it), KV_OK);
    kv_iter_free(it);
    CHECK_EQ(n, COV_KEYS - COV_KEYS / 5);
    /* And the database works on: a write, then a compaction. */
    lt_put(db, "zz", "after");
    CHECK_KV(kv_compact(db), KV_OK);
    lt_expect(db, "zz", "after");
    CHECK_KV(kv_close(db), KV_OK);
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
}

/* kv_compact over copies of the state with the nth counted call failing,
 * n = 1, 2, ...; returns how many calls failed in turn. */
static long cov_compact_every_call(const char *state, const io_fault_plan *base)
{
    long n = 1;
    for (;; n++) {
        harness_context("I/O call %ld of kv_compact fails (kinds 0x%x, persistent %d, short %d)",
                        n, base->kinds, base->persistent, base->short_write);
        const char *dir = lt_copy_dir(state);
        kv_db *db = lt_open(dir, 0, 0);
        io_fault_plan plan = *base;
        plan.fail_at = n;
        io_fault_install(&plan);
        int rc = kv_compact(db);
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", kv_errmsg());
        long failures = io_fault_failures();
        io_fault_uninstall();
        if (failures == 0) {
            CHECK_KV(rc, KV_OK);
            CHECK_KV(kv_close(db), KV_OK);
            cov_expect_state(dir);
            break;
        }
        if (rc != KV_OK) {
            CHECK_EQ(rc, KV_ERR_IO);
            CHECK_MSG(strstr(msg, strerror(EIO)) != NULL, "no errno text in: %s", msg);
        }
        /* (A failed removal of the inputs is harmless: kv_compact may
         * then succeed, and the next open removes them.) */
        int close_rc = kv_close(db);
        CHECK_MSG(close_rc == KV_OK || close_rc == KV_ERR_IO, "kv_close: %d", close_rc);
        cov_expect_state(dir);
    }
    return n - 1;
}

/* Each call of the flush, the merge and the manifest edits failing once
 * (a transient error), then with the disk gone for good. */
static void compact_failing_at_each_write_call_loses_nothing(void)
{
    const char *state = cov_fault_state();
    io_fault_plan once = {.kinds = IO_FAULT_WRITES | IO_FAULT_OPEN};
    CHECK(cov_compact_every_call(state, &once) >= 8);
    io_fault_plan gone = {.kinds = IO_FAULT_WRITES | IO_FAULT_OPEN, .persistent = 1};
    CHECK(cov_compact_every_call(state, &gone) >= 8);
}

/* An append that writes half its bytes, then fails (a full disk): a torn
 * table or a torn manifest record, never read as part of the database. */
static void compact_with_torn_appends_loses_nothing(void)
{
    const char *state = cov_fault_state();
    io_fault_plan full = {.kinds = IO_FAULT_APPEND, .short_write = 1, .persistent = 1};
    CHECK(cov_compact_every_call(state, &full) >= 2);
}

static const harness_test cov_faults_tests[] = {
    HARNESS_TEST(compact_failing_at_each_write_call_loses_nothing),
    HARNESS_TEST(compact_with_torn_appends_loses_nothing),
};
const harness_suite cov_faults_suite = HARNESS_SUITE("cov_faults", cov_faults_tests);
