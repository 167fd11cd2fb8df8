/*
 * cov_stall_test.c: the level-0 brake on writers (level_set.c answers,
 * stages/04-lsm/engine/lsm_admit.c waits), with
 * thresholds set low through kv_options.
 *
 * With a 4 KiB memtable every few writes freeze it and the background
 * thread flushes a level-0 table.  With l0_slowdown = 1, a write that
 * finds a level-0 table sleeps once first; with l0_stop = 2, a write that
 * finds two waits until compaction has brought level 0 below two.  Both
 * thresholds are below level 0's compaction trigger (4 tables): a writer
 * waiting for a compaction that never comes would hang, so compaction must
 * start no later than writes stop.  Every write lands, kv_stats counts the
 * slowdowns (after a flush, level 0 holds a table until the next one), its
 * latency histogram of slowdowns has one record each, and the levels are
 * ordered (kv_check).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../tests/harness.h"
#include "../../04-lsm/tests/lsm_test_util.h"
#include "kv.h"

#define STALL_KEYS 400

/* The count of kv_stats's histogram line "name: count=N,..." (-1: none). */
static long long stall_hist_count(kv_db *db, const char *name)
{
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    char key[96];
    snprintf(key, sizeof key, "\n%s: count=", name);
    const char *at = strstr(text, key);
    long long n = at ? strtoll(at + strlen(key), NULL, 10) : -1;
    kv_free(text);
    return n;
}

static void writes_past_l0_stop_wait_for_compaction_and_all_land(void)
{
    const char *dir = lt_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 4096;
    opt.l0_slowdown = 1;
    opt.l0_stop = 2;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    alarm(120); /* a writer waiting forever fails the test, not the run */
    char k[16], v[256];
    for (int i = 0; i < STALL_KEYS; i++) {
        snprintf(k, sizeof k, "k%05d", (i * 7919) % STALL_KEYS);
        snprintf(v, sizeof v, "%0200d", i);
        lt_put(db, k, v);
    }
    alarm(0);
    CHECK(lt_stat(db, "session.write.l0_slowdowns") > 0);
    CHECK_EQ(stall_hist_count(db, "session.stall.l0_slowdown.time_us"),
             (long long)lt_stat(db, "session.write.l0_slowdowns"));
    /* (Whether a write found two tables depends on the threads' timing:
     * the compaction starts at once, so session.write.l0_stops is not checked.) */
    CHECK(lt_stat(db, "compact.count") > 0);
    for (int i = 0; i < STALL_KEYS; i++) {
        snprintf(k, sizeof k, "k%05d", (i * 7919) % STALL_KEYS);
        snprintf(v, sizeof v, "%0200d", i);
        lt_expect(db, k, v);
    }
    CHECK_KV(kv_close(db), KV_OK);
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
}

static const harness_test cov_stall_tests[] = {
    HARNESS_TEST(writes_past_l0_stop_wait_for_compaction_and_all_land),
};
const harness_suite cov_stall_suite = HARNESS_SUITE("cov_stall", cov_stall_tests);
