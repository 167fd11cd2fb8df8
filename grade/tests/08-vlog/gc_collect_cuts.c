/*
 * gc_collect_cuts.c: exercise gc_collect's tests that cut the collection
 * at each of its steps (gc_collect_test.c lists them; the crash rung runs
 * the one named *_kill_*, the power rung the one named *_power_*).
 */
#define EX_EXERCISE_FILE "gc_collect_test.c"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ex_vlog.h"
#include "exercise.h"
#include "io.h"
#include "io_sim.h"

/* The collection cut at each step: eight values of 3,000 bytes put, six
 * overwritten, the database closed and opened again (sync = 0), then
 * kv_compact (merges, the jobs that move
 * key6's and key7's values out of value-log file 1, the removal of file
 * 1) recorded in the power-loss simulator's journal; each state a power
 * cut (what was not synced lost, names too) or a kill (every write kept)
 * could leave after any of its file operations is opened, and every key
 * must read the value its last put wrote (every one was on stable storage
 * before kv_compact began). */
static void gc_collect_cut_at_each_step(int power)
{
    const char *root = ex_sim_root();
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 64u << 10;
    opt.create_if_missing = 1;
    const char *dir = harness_join(root, "db");
    kv_db *db = ex_open(dir, &opt, "test setup: a database of stage 08 under the simulator");
    ex_vlog_overwrites(db);
    /* Closed (every write on stable storage) and opened again with sync =
     * 0: the moves the jobs write are synced by the collection's own
     * rule, not by each put. */
    EX_CHECK(EX_KV(kv_close(db)) == KV_OK && EX_KV(io_sync_dir(root)) == KV_OK,
             "test setup: kv_flush, kv_close (%s)", ex_kv_errmsg());
    db = ex_open(dir, &opt, "test setup: the database opens again");
    size_t from = io_sim_position();
    ex_bound_work(10);
    int rc = EX_KV(kv_compact(db));
    ex_bound_work(EX_TEST_CPU_SECONDS);
    size_t to = io_sim_position();
    int gone = !ex_vlog_exists(dir, 1);
    kv_close(db);
    io_sim_uninstall();
    EX_CHECK(rc == KV_OK && gone, "test setup: kv_compact empties and removes value-log file 1 "
             "(got %s: %s; file 1 %s)", kv_strerror(rc), ex_errmsg(rc), gone ? "gone" : "there");
    EX_CHECK(io_sim_untracked() == 0, "test setup: the power-loss simulator followed every "
             "file operation (%ld it could not)", io_sim_untracked());
    kv_options reopen;
    kv_options_init(&reopen);
    reopen.memtable_bytes = 64u << 10;
    char what[256];
    for (size_t at = from; at <= to; at++) {
        const char *state = ex_sim_cut(at, from, power, what, sizeof what);
        harness_context("%s after %zu of kv_compact's %zu file operations (the last: %s): "
                        "the database opens, and every key reads its value",
                        power ? "a power cut" : "a kill", at - from, to - from, what);
        EX_RULE_BEGIN(5, "a file is removed only once its moved values are durable");
        kv_db *s = ex_open(harness_join(state, "db"), &reopen, "the database opens after a cut "
                           "inside kv_compact");
        ex_vlog_expect_overwrites(s, "every value still read survives a cut at any step of "
                                  "the collection: a value-log file is removed only once the "
                                  "values moved out of it are on stable storage");
        kv_close(s);
    }
    io_sim_reset();
}

void gc_collect_power_cut_at_each_step(void)
{
    gc_collect_cut_at_each_step(1);
}

void gc_collect_kill_at_each_step(void)
{
    gc_collect_cut_at_each_step(0);
}
