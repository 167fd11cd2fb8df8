/*
 * lsm_open_fault_test.c: kv_open of the LSM engine with each of its I/O calls
 * failing in turn (common/io_fault.h), over states where recovery has
 * work to do: a torn tail to cut, a leftover temporary table to remove, a
 * sealed last log after which a new log must be made.  A failed open
 * returns the error and leaves a state that the next open (without
 * failures) recovers in full: every acknowledged write there, nothing of
 * the torn one, and kv_check finding nothing wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "io_fault.h"
#include "kv.h"
#include "lsm_test_util.h"
#include "table_test_util.h"

/* a and b written, a merged into a table; c torn off the last log by a
 * crash; a temporary table a crashed flush left. */
static const char *open_fault_torn_state(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 0, 0);
    lt_put(db, "a", "1");
    CHECK_KV(kv_compact(db), KV_OK);
    lt_put(db, "b", "2");
    uint64_t before = (uint64_t)lt_stat(db, "logs.bytes");
    lt_put(db, "c", "3");
    CHECK_KV(kv_close(db), KV_OK);
    const char *log = harness_join(dir, "000000000002.log");
    uint8_t *bytes = NULL;
    size_t n = tt_read_file(log, &bytes);
    CHECK((uint64_t)n > before + 4);
    tt_write_file(log, bytes, (size_t)before + 4); /* inside c's record */
    free(bytes);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", lt_first_table(dir));
    lt_copy(dir, lt_first_table(dir), dir, tmp);
    return dir;
}

/* a and b in a log sealed by hand: the open must make a new log. */
static const char *open_fault_sealed_state(void)
{
    const char *dir = lt_empty_db();
    static const lt_op ops[] = {{"a", "1"}, {"b", "2"}};
    lt_write_log(dir, 1, ops, (const size_t[]){0, 1, 2}, (const uint64_t[]){1, 2}, 2, 1);
    return dir;
}

static void open_fault_expect(const char *dir)
{
    kv_db *db = lt_open(dir, 0, 0);
    lt_expect(db, "a", "1");
    lt_expect(db, "b", "2");
    lt_expect(db, "c", NULL);
    CHECK_EQ(lt_stat(db, "seq.last"), 2);
    lt_put(db, "d", "4");
    CHECK_KV(kv_close(db), KV_OK);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "d", "4");
    CHECK_KV(kv_close(db), KV_OK);
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
}

/* Opens a copy of `state` and closes it, with the nth counted call
 * failing, for n = 1, 2, ... until they make fewer calls than n. */
static void open_fault_every_call(const char *state, const io_fault_plan *base)
{
    long n = 1;
    for (;; n++) {
        harness_context("I/O call %ld of kv_open fails (kinds 0x%x, persistent %d)", n,
                        base->kinds, base->persistent);
        const char *dir = lt_copy_dir(state);
        io_fault_plan plan = *base;
        plan.fail_at = n;
        kv_options opt;
        kv_options_init(&opt);
        kv_db *db = NULL;
        io_fault_install(&plan);
        int rc = kv_open(dir, &opt, &db);
        if (rc == KV_OK)
            rc = kv_close(db); /* (with the fault still on: it may be the close's) */
        long failures = io_fault_failures();
        io_fault_uninstall();
        if (failures == 0) {
            CHECK_KV(rc, KV_OK);
            open_fault_expect(dir);
            break;
        }
        CHECK_MSG(rc == KV_OK || rc == KV_ERR_IO, "kv_open or kv_close: %s: %s",
                  kv_strerror(rc), kv_errmsg());
        if (rc != KV_OK)
            CHECK(kv_errmsg()[0] != '\0');
        open_fault_expect(dir);
    }
    CHECK(n > 5);
}

static void open_that_cuts_a_torn_tail_fails_cleanly_at_every_io_call(void)
{
    const char *state = open_fault_torn_state();
    open_fault_every_call(state, &(io_fault_plan){.kinds = IO_FAULT_ALL});
    open_fault_every_call(state, &(io_fault_plan){.kinds = IO_FAULT_WRITES | IO_FAULT_META,
                                                  .persistent = 1, .err = ENOSPC});
}

static void open_that_makes_a_new_log_fails_cleanly_at_every_io_call(void)
{
    const char *state = open_fault_sealed_state();
    open_fault_every_call(state, &(io_fault_plan){.kinds = IO_FAULT_ALL});
    open_fault_every_call(state, &(io_fault_plan){.kinds = IO_FAULT_WRITES | IO_FAULT_META,
                                                  .persistent = 1, .err = ENOSPC});
}

static const harness_test lsm_open_fault_tests[] = {
    HARNESS_TEST(open_that_cuts_a_torn_tail_fails_cleanly_at_every_io_call),
    HARNESS_TEST(open_that_makes_a_new_log_fails_cleanly_at_every_io_call),
};

const harness_suite lsm_open_fault_suite = HARNESS_SUITE("lsm_open_fault", lsm_open_fault_tests);
