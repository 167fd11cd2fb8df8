/*
 * manifest_crash_test.c: the manifest across a power loss at every point.
 *
 * On the power-loss simulator (common/io_sim.h), a database directory
 * lives through: its first manifest_create, appends (one record of many
 * blocks among them), a roll-over (a new manifest and the CURRENT switch),
 * an append to the new manifest, and the deletion of the old one.  Then,
 * for the power failing after every journal entry, with unsynced writes
 * and names lost, kept, torn or garbled (each model of io_sim.h), the
 * crash state is written out and manifest_recover reads it.  It must give
 * the state of the last operation that had returned, or of the one in
 * flight: never an error, never a mix.  Before the first manifest_create
 * has returned, "no CURRENT" (not a database yet) is the old state.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "current_file.h"
#include "io.h"
#include "io_sim.h"
#include "kv.h"
#include "manifest.h"
#include "manifest_test_util.h"

#define OPS 7
/* What each operation leaves: the manifest CURRENT names and the state. */
typedef struct crash_expect {
    size_t acked;        /* journal position when it returned */
    uint64_t number;
    mt_text text;
} crash_expect;

static void crash_history(version_edit h[5])
{
    for (int i = 0; i < 5; i++)
        version_edit_init(&h[i]);
    mt_counters(&h[0], 0, 2, 0);
    mt_add(&h[1], 0, 2, "b", "m");
    mt_counters(&h[1], 10, 3, 10);
    /* Many tables with long keys: a record of several 32 KiB blocks. */
    char lo[300], hi[300];
    for (int i = 0; i < 300; i++) {
        snprintf(lo, sizeof lo, "%0200d", 2 * i);
        snprintf(hi, sizeof hi, "%0200d", 2 * i + 1);
        mt_add(&h[2], 3, (uint64_t)(100 + i), lo, hi);
    }
    version_edit_set_next_file(&h[2], 400);
    CHECK_KV(version_edit_remove_file(&h[3], 0, 2), KV_OK);
    mt_add(&h[3], 1, 2, "b", "m");
    mt_pointer(&h[3], 0, "m");
    mt_add(&h[4], 0, 401, "c", "d");
    version_edit_set_next_file(&h[4], 402);
}

/* The state and manifest of dir now, into *x. */
static void crash_note(const char *dir, crash_expect *x)
{
    manifest_state st;
    CHECK_KV(manifest_recover(dir, 1, &st), KV_OK);
    x->acked = io_sim_position();
    x->number = st.number;
    mt_state_text(&st, &x->text);
    manifest_state_free(&st);
}

/* Runs the operations under the simulator; fills x[0..OPS). */
static void crash_workload(const char *root, crash_expect *x)
{
    const char *dir = harness_join(root, "db");
    version_edit h[5];
    crash_history(h);
    manifest_writer *w = NULL, *w2 = NULL;
    /* The directory and its name in the root, durable before anything. */
    CHECK_KV(io_mkdir(dir), KV_OK);
    CHECK_KV(io_sync_dir(root), KV_OK);
    CHECK_KV(manifest_create(dir, 1, &h[0], &w, NULL), KV_OK);
    crash_note(dir, &x[0]);
    for (int i = 1; i <= 3; i++) {
        CHECK_KV(manifest_append(w, &h[i]), KV_OK);
        crash_note(dir, &x[i]);
    }
    manifest_state st;
    version_edit snap;
    CHECK_KV(manifest_recover(dir, 1, &st), KV_OK);
    CHECK_KV(manifest_state_snapshot(&st, &snap), KV_OK);
    manifest_state_free(&st);
    CHECK_KV(manifest_create(dir, 402, &snap, &w2, NULL), KV_OK);
    version_edit_free(&snap);
    crash_note(dir, &x[4]);
    CHECK(strcmp(x[4].text.s, x[3].text.s) == 0 && x[4].number == 402);
    CHECK_KV(manifest_append(w2, &h[4]), KV_OK);
    crash_note(dir, &x[5]);
    manifest_writer_free(w);
    CHECK_KV(io_unlink(harness_join(dir, "MANIFEST-000001")), KV_OK);
    CHECK_KV(io_sync_dir(dir), KV_OK);
    crash_note(dir, &x[6]);
    manifest_writer_free(w2);
    for (int i = 0; i < 5; i++)
        version_edit_free(&h[i]);
}

/* The workload recorded by the simulator in a fresh root; returns the
 * journal's length. */
static size_t crash_record(crash_expect *x)
{
    const char *root = harness_tmpdir();
    CHECK_KV(io_sim_install(root), KV_OK);
    crash_workload(root, x);
    size_t end = io_sim_position();
    io_sim_uninstall();
    CHECK_EQ(io_sim_untracked(), 0);
    return end;
}

/* The crash state c, recovered: one of the two states allowed at c.at. */
static void crash_check(const io_sim_crash *c, const crash_expect *x, const char *what)
{
    const char *out = harness_tmpdir();
    int rc = io_sim_materialize(c, out, NULL);
    if (rc == IO_SIM_NO_STATE)
        return;
    CHECK_KV(rc, KV_OK);
    const char *dir = harness_join(out, "db");
    int k = -1; /* the last operation that had returned */
    while (k + 1 < OPS && x[k + 1].acked <= c->at)
        k++;
    harness_context("power lost after journal entry %zu (%s), %s; last op returned: %d",
                    c->at, io_sim_describe(c->at ? c->at - 1 : 0, (char[200]){0}, 200), what,
                    k);
    int has_current = 0;
    CHECK_KV(io_exists(harness_join(dir, CURRENT_FILE_NAME), &has_current), KV_OK);
    if (k < 0 && !has_current)
        return; /* not a database yet: the state before the first create */
    manifest_state st;
    CHECK_KV(manifest_recover(dir, 0, &st), KV_OK);
    mt_text t;
    mt_state_text(&st, &t);
    int is_old = k >= 0 && st.number == x[k].number && strcmp(t.s, x[k].text.s) == 0;
    int is_new = k + 1 < OPS && st.number == x[k + 1].number &&
                 strcmp(t.s, x[k + 1].text.s) == 0;
    CHECK_MSG(is_old || is_new, "MANIFEST-%06" PRIu64 " recovered to:\n%s", st.number, t.s);
    manifest_state_free(&st);
}

static void power_loss_anywhere_recovers_the_old_or_the_new_state(void)
{
    static crash_expect x[OPS];
    size_t end = crash_record(x);
    static const struct {
        int data, names, torn;
        const char *what;
    } models[] = {
        {IO_SIM_LOSE, IO_SIM_LOSE, IO_SIM_TORN_NONE, "unsynced writes and names lost"},
        {IO_SIM_KEEP, IO_SIM_LOSE, IO_SIM_TORN_NONE, "unsynced writes kept, names lost"},
        {IO_SIM_LOSE, IO_SIM_KEEP, IO_SIM_TORN_NONE, "unsynced writes lost, names kept"},
        {IO_SIM_KEEP, IO_SIM_KEEP, IO_SIM_TORN_NONE, "everything kept"},
        {IO_SIM_KEEP, IO_SIM_KEEP, IO_SIM_TORN_1B, "the last write torn after 1 byte"},
        {IO_SIM_KEEP, IO_SIM_KEEP, IO_SIM_TORN_THIRD, "the last write torn after a third"},
        {IO_SIM_KEEP, IO_SIM_KEEP, IO_SIM_TORN_4K, "the last write torn at 4 KiB"},
        {IO_SIM_RANDOM, IO_SIM_RANDOM, IO_SIM_TORN_NONE, "random fates (seed 1)"},
        {IO_SIM_RANDOM, IO_SIM_RANDOM, IO_SIM_TORN_NONE, "random fates (seed 2)"},
        {IO_SIM_RANDOM, IO_SIM_KEEP, IO_SIM_TORN_NONE, "random writes, names kept"},
    };
    for (size_t at = 0; at <= end; at++)
        for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
            io_sim_crash c = {.at = at, .data = models[m].data, .names = models[m].names,
                              .torn = models[m].torn, .seed = at * 7919 + m};
            crash_check(&c, x, models[m].what);
        }
    io_sim_reset();
}

/* Every sync boundary of the workload is among the points above; this
 * counts them, so that a change that drops a sync shows. */
static void every_operation_syncs_what_it_needs(void)
{
    static crash_expect x[OPS];
    size_t end = crash_record(x);
    size_t syncs[OPS] = {0}, dir_syncs[OPS] = {0};
    int op = 0;
    for (size_t i = 0; i < end && op < OPS; i++) {
        while (op < OPS && i >= x[op].acked)
            op++;
        if (op >= OPS)
            break;
        syncs[op] += io_sim_kind(i) == IO_SIM_SYNC;
        dir_syncs[op] += io_sim_kind(i) == IO_SIM_SYNC_DIR;
    }
    /* create: the manifest, its name, CURRENT.tmp, the rename (and, before
     * it, the test's sync of the root after making the directory) */
    CHECK(syncs[0] == 2 && dir_syncs[0] == 3);
    for (int i = 1; i <= 3; i++)
        CHECK(syncs[i] == 1 && dir_syncs[i] == 0);
    CHECK(syncs[4] == 2 && dir_syncs[4] == 2);
    CHECK(syncs[5] == 1 && dir_syncs[5] == 0);
    CHECK(syncs[6] == 0 && dir_syncs[6] == 1);
    io_sim_reset();
}

static const harness_test manifest_crash_tests[] = {
    HARNESS_TEST(power_loss_anywhere_recovers_the_old_or_the_new_state),
    HARNESS_TEST(every_operation_syncs_what_it_needs),
};
const harness_suite manifest_crash_suite = HARNESS_SUITE("manifest_crash", manifest_crash_tests);
