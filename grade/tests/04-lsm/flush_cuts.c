/*
 * flush_cuts.c: exercise flush's tests that cut a flush at each of its
 * steps (flush_test.c lists them; the crash rung runs the one named
 * *_kill_*, the power rung the one named *_power_*).  A database whose
 * 200 puts were each synced (sync = 1) is flushed, the flush's file
 * operations recorded in the power-loss simulator's journal, and each
 * state a power cut (what was not synced lost, names too) or a kill
 * (every write kept) could leave after any of them opened: the database
 * opens, and every key reads its value, from the table or from the log.
 */
#define EX_EXERCISE_FILE "flush_test.c"

#include <stdio.h>

#include "exercise.h"
#include "io.h"
#include "io_sim.h"
#include "kv.h"

void flush_power_cut_at_each_step(void);
void flush_kill_at_each_step(void);

static void flush_cut_at_each_step(int power)
{
    const char *root = ex_sim_root();
    kv_options opt;
    kv_options_init(&opt);
    opt.sync = 1;
    opt.create_if_missing = 1;
    const char *dir = harness_join(root, "db");
    kv_db *db = ex_open(dir, &opt, "test setup: a database under the simulator");
    char k[16], v[32];
    for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof k, "k%03d", i);
        snprintf(v, sizeof v, "value-%03d", i);
        ex_put(db, k, v, "test setup: a synced put");
    }
    EX_CHECK(io_sync_dir(root) == KV_OK, "test setup: the root's names synced");
    size_t from = io_sim_position();
    harness_context("kv_flush of 200 synced puts, recorded in the power-loss simulator's journal");
    int rc = EX_KV(kv_flush(db));
    size_t to = io_sim_position();
    kv_close(db);
    io_sim_uninstall();
    EX_CHECK(rc == KV_OK, "test setup: kv_flush returns KV_OK (got %d: %s)", rc, ex_errmsg(rc));
    EX_CHECK(io_sim_untracked() == 0, "test setup: the power-loss simulator followed every "
             "file operation (%ld it could not)", io_sim_untracked());
    kv_options reopen;
    kv_options_init(&reopen);
    char what[256];
    for (size_t at = from; at <= to; at++) {
        const char *state = ex_sim_cut(at, from, power, what, sizeof what);
        harness_context("%s after %zu of the flush's %zu file operations (the last: %s)",
                        power ? "a power cut" : "a kill", at - from, to - from, what);
        kv_db *s = NULL;
        rc = EX_KV(kv_open(harness_join(state, "db"), &reopen, &s));
        EX_CHECK(rc == KV_OK, "%s after %zu of the flush's %zu file operations (the last: %s) "
                 "leaves a database that opens: the table is written under a temporary name, "
                 "synced, renamed and the directory synced before the log it holds goes; kv_open "
                 "returned %d (%s)", power ? "a power cut" : "a kill", at - from, to - from,
                 what, rc, ex_errmsg(rc));
        for (int i = 0; i < 200; i += 7) {
            snprintf(k, sizeof k, "k%03d", i);
            snprintf(v, sizeof v, "value-%03d", i);
            ex_expect(s, k, v, "every synced put survives a cut at any step of a flush: from "
                      "the table once it is durable and installed, else from the log");
        }
        kv_close(s);
    }
    io_sim_reset();
}

void flush_power_cut_at_each_step(void)
{
    flush_cut_at_each_step(1);
}

void flush_kill_at_each_step(void)
{
    flush_cut_at_each_step(0);
}
