/*
 * lsm_latency_test.c: the engine's latency histograms (lsm_stats.h,
 * common/latency.h) where the shared suite (tests/latency.c) cannot reach:
 *   - a writer that finds the frozen memtable still being flushed waits,
 *     and each wait is one record of session.stall.memtable.time_us, as
 *     long as the wait was (a slow disk makes the flush slow: slow_io.h);
 *   - a job of the value store (stage 08's collection; none in this
 *     stage's store) records into LATENCY_VALUE_GC, and kv_stats prints
 *     session.values.gc.time_us from its first record on.
 * It holds for every LSM stage's table set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../03-wal/tests/slow_io.h"
#include "kv.h"
#include "lsm_db.h"
#include "lsm_test_util.h"

/* The count and max of kv_stats's line "NAME_us: count=N,...,max=M"; 0 if
 * there is no such line. */
static int hist_of(kv_db *db, const char *name, unsigned long long *count, double *max_us)
{
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    char key[96];
    snprintf(key, sizeof key, "\n%s_us: count=", name);
    const char *at = strstr(text, key);
    if (at != NULL) {
        *count = strtoull(at + strlen(key), NULL, 10);
        const char *max = strstr(at, ",max=");
        CHECK(max != NULL);
        *max_us = strtod(max + 5, NULL);
    }
    kv_free(text);
    return at != NULL;
}

static void memtable_stalls_are_timed_one_record_each(void)
{
    slow_io_install(30); /* every fsync 30 ms: a flush takes 60 ms or more */
    kv_db *db = lt_open(lt_dir(), 4096, 0);
    char key[32], val[101];
    memset(val, 'v', 100);
    val[100] = '\0';
    for (int i = 0; i < 150 && lt_stat(db, "session.write.stalls") < 2; i++) {
        snprintf(key, sizeof key, "key%05d", i);
        lt_put(db, key, val);
    }
    slow_io_uninstall();
    CHECK(lt_stat(db, "session.write.stalls") >= 2);
    unsigned long long count = 0;
    double max_us = 0;
    CHECK(hist_of(db, "session.stall.memtable.time", &count, &max_us));
    CHECK_EQ(count, (unsigned long long)lt_stat(db, "session.write.stalls"));
    /* A wait for a flush of a table synced in 30 ms, more than 1 ms. */
    CHECK_MSG(max_us > 1000, "the longest stall took %.3f us", max_us);
    CHECK_KV(kv_close(db), KV_OK);
}

static void value_store_jobs_are_printed_once_timed(void)
{
    kv_db *db = lt_open(lt_dir(), 0, 0);
    unsigned long long count = 0;
    double max_us = 0;
    CHECK(!hist_of(db, "session.values.gc.time", &count, &max_us));
    /* As lsm_values.c would time a job of 5 us. */
    latency_record(&db->count.stats.lat, LATENCY_VALUE_GC, latency_start() - 5000);
    CHECK(hist_of(db, "session.values.gc.time", &count, &max_us));
    CHECK_EQ(count, 1ull);
    CHECK(max_us >= 5.0);
    CHECK_KV(kv_close(db), KV_OK);
}

static const harness_test lsm_latency_tests[] = {
    HARNESS_TEST(memtable_stalls_are_timed_one_record_each),
    HARNESS_TEST(value_store_jobs_are_printed_once_timed),
};
const harness_suite lsm_latency_suite = HARNESS_SUITE("lsm_latency", lsm_latency_tests);
