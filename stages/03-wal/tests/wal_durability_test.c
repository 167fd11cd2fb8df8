/*
 * wal_durability_test.c: what stage 03 promises across a power loss does
 * not depend on what earlier opens did.  A synced write is durable even in
 * a file an earlier open with sync = 0 created (its name is synced before
 * the first synced write into it), and a database closed cleanly survives
 * a power loss whole, with either setting (kv_close syncs the log and the
 * directory).  Checked on the power-loss simulator (common/io_sim.h), as
 * the crash tester does (tests/crash/powerloss.c): each crash state is
 * written out and opened with the normal backend.
 *
 * Also here: the directory's fsync, seen from kv.h.  A directory that
 * cannot be opened to sync it fails that write only; a failed fsync of it
 * is final until reopen.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "../../02-hash/tests/stage_util.h"
#include "io.h"
#include "io_fault.h"
#include "io_sim.h"
#include "kv.h"

static kv_options sync_options(int sync, size_t segment_bytes)
{
    kv_options opt = stage_options(segment_bytes);
    opt.sync = sync;
    return opt;
}

/* Starts recording under a fresh root; returns the database's path in it. */
static const char *sim_start(const char **root)
{
    *root = harness_tmpdir();
    CHECK_KV(io_sim_install(*root), KV_OK);
    return harness_join(*root, "db");
}

static void sim_stop(void)
{
    io_sim_uninstall();
    CHECK_EQ(io_sim_untracked(), 0);
}

/* The database as crash state c leaves it, opened with the normal backend. */
static kv_db *sim_open_state(const io_sim_crash *c)
{
    const char *out = harness_tmpdir();
    CHECK_KV(io_sim_materialize(c, out, NULL), KV_OK);
    return OPEN(harness_join(out, "db"), NULL);
}

static const int crash_models[][2] = {
    {IO_SIM_LOSE, IO_SIM_LOSE},     /* nothing unsynced survives */
    {IO_SIM_KEEP, IO_SIM_LOSE},     /* the data, but no unsynced name */
    {IO_SIM_RANDOM, IO_SIM_RANDOM}, /* some of each */
};
#define NMODELS (sizeof crash_models / sizeof crash_models[0])

/* Open with sync = 0 (which creates the segment and never syncs its name),
 * close, reopen with sync = 1, put k1: from the moment kv_put returns, no
 * power loss may lose k1. */
static void synced_put_survives_power_loss_after_an_unsynced_open(void)
{
    const char *root;
    const char *dir = sim_start(&root);
    kv_options unsynced = sync_options(0, 0), synced = sync_options(1, 0);
    kv_db *db = OPEN(dir, &unsynced);
    CLOSE(db);
    db = OPEN(dir, &synced);
    PUT(db, S("k1"), S("v1"));
    size_t acked = io_sim_position();
    PUT(db, S("k2"), S("v2"));
    CLOSE(db);
    size_t end = io_sim_position();
    sim_stop();
    for (size_t at = acked; at <= end; at++)
        for (size_t m = 0; m < NMODELS; m++) {
            harness_context("power lost after journal entry %zu of %zu, model %zu", at, end,
                            m);
            io_sim_crash c = {.at = at, .data = crash_models[m][0],
                              .names = crash_models[m][1], .seed = at * 31 + m};
            db = sim_open_state(&c);
            EXPECT(db, S("k1"), S("v1"));
            CLOSE(db);
        }
    io_sim_reset();
}

/* Writes, overwrites, deletes and roll-overs (small segments), and with
 * sync = 0 nothing synced on the way: after kv_close, a power loss keeps
 * every bit of it. */
static void closed_database_survives_power_loss_whatever_sync(void)
{
    for (int sync = 0; sync <= 1; sync++) {
        const char *root;
        const char *dir = sim_start(&root);
        kv_options opt = sync_options(sync, 512);
        kv_db *db = OPEN(dir, &opt);
        char key[17], val[40];
        for (unsigned i = 0; i < 60; i++) {
            stage_key(key, i % 40);
            stage_value(val, sizeof val, i, 0);
            PUT(db, key, 16, val, sizeof val);
        }
        for (unsigned i = 0; i < 40; i += 3) {
            stage_key(key, i);
            DEL(db, key, 16);
        }
        CHECK(stage_stat(db, "session.rollovers") > 2);
        CLOSE(db);
        size_t end = io_sim_position();
        sim_stop();
        for (size_t m = 0; m < NMODELS; m++) {
            harness_context("sync = %d, power lost after the close, model %zu", sync, m);
            io_sim_crash c = {.at = end, .data = crash_models[m][0],
                              .names = crash_models[m][1], .seed = m + 1};
            db = sim_open_state(&c);
            for (unsigned i = 0; i < 40; i++) {
                stage_key(key, i);
                if (i % 3 == 0) {
                    ABSENT(db, key, 16);
                    continue;
                }
                unsigned last = i + 40 < 60 ? i + 40 : i;
                stage_value(val, sizeof val, last, 0);
                EXPECT(db, key, 16, val, sizeof val);
            }
            CLOSE(db);
        }
        io_sim_reset();
    }
}

/* A directory that cannot be opened to sync it (EMFILE) loses nothing:
 * that write fails, and the next goes through. */
static void directory_that_cannot_be_opened_fails_that_write_only(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = sync_options(1, 0);
    kv_db *db = OPEN(dir, &opt);
    PUT(db, S("before"), S("0"));
    CLOSE(db);
    io_fault_plan plan = {.kinds = IO_FAULT_DIR_OPEN, .fail_at = 1, .err = EMFILE};
    io_fault_install(&plan);
    db = OPEN(dir, &opt);
    /* The first synced write after an open syncs the directory first. */
    CHECK_KV(kv_put(db, S("refused"), S("1")), KV_ERR_IO);
    CHECK_MSG(strstr(kv_errmsg(), "open directory") != NULL, "%s", kv_errmsg());
    CHECK_EQ(stage_stat(db, "write.failed"), 0);
    PUT(db, S("after"), S("2"));
    ABSENT(db, S("refused"));
    CHECK_KV(kv_compact(db), KV_OK);
    CLOSE(db);
    io_fault_uninstall();
    db = OPEN(dir, &opt);
    EXPECT(db, S("before"), S("0"));
    EXPECT(db, S("after"), S("2"));
    ABSENT(db, S("refused"));
    CLOSE(db);
}

/* ... while a failed fsync of the directory is final. */
static void failed_fsync_of_the_directory_is_final(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = sync_options(1, 0);
    kv_db *db = OPEN(dir, &opt);
    PUT(db, S("before"), S("0"));
    CLOSE(db);
    /* Syncs at open: the log as recovered (call 1); then the directory,
     * before the first synced write (call 2). */
    io_fault_plan plan = {.kinds = IO_FAULT_SYNC, .fail_at = 2};
    io_fault_install(&plan);
    db = OPEN(dir, &opt);
    CHECK_KV(kv_put(db, S("lost"), S("1")), KV_ERR_IO);
    CHECK_MSG(strstr(kv_errmsg(), "fsync directory") != NULL, "%s", kv_errmsg());
    CHECK_EQ(stage_stat(db, "write.failed"), 1);
    CHECK_KV(kv_put(db, S("after"), S("2")), KV_ERR_IO);
    CHECK_KV(kv_compact(db), KV_ERR_IO);
    CHECK_MSG(strstr(kv_errmsg(), "reopen") != NULL, "%s", kv_errmsg());
    CHECK_KV(kv_close(db), KV_OK);
    io_fault_uninstall();
    db = OPEN(dir, &opt);
    EXPECT(db, S("before"), S("0"));
    PUT(db, S("after"), S("2"));
    CLOSE(db);
}

static const harness_test wal_durability_tests[] = {
    HARNESS_TEST(synced_put_survives_power_loss_after_an_unsynced_open),
    HARNESS_TEST(closed_database_survives_power_loss_whatever_sync),
    HARNESS_TEST(directory_that_cannot_be_opened_fails_that_write_only),
    HARNESS_TEST(failed_fsync_of_the_directory_is_final),
};
const harness_suite wal_durability_suite = HARNESS_SUITE("wal_durability", wal_durability_tests);
