/*
 * engine_retry_test.c: a failure that changes nothing durable (no file
 * descriptor left, a full disk) is not final: kv_compact reports it, a
 * background compaction reports it once and is tried again, and writes
 * go on without a reopen once the cause is gone.  Only a failure that
 * leaves the manifest's state unknown (a failed fsync) stops writes until
 * the database is reopened (level_apply.h; the engine's retries:
 * stages/04-lsm/engine/lsm_bg.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../tests/harness.h"
#include "io.h"
#include "kv.h"
#include "../../04-lsm/tests/lsm_test_util.h"

/* Small everything, so that a few hundred writes flush and compact. */
static kv_db *retry_open(const char *dir)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 4096;
    opt.table_bytes = 2048;
    opt.l1_bytes = 8192;
    opt.level_ratio = 2;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    return db;
}

static void retry_key(int i, char *k, char *v)
{
    snprintf(k, 16, "k%05d", i);
    snprintf(v, 64, "value of key %05d, long enough to fill tables", i);
}

/* Puts keys from..to-1; a write may fail once for each failure in the
 * background (it is reported to the next write, which writes nothing):
 * it is tried again, up to a few times.  Returns the writes that failed. */
static int retry_put_range(kv_db *db, int from, int to, int may_fail)
{
    char k[16], v[64];
    int failed = 0;
    for (int i = from; i < to; i++) {
        retry_key(i, k, v);
        int rc = KV_OK;
        for (int attempt = 0; attempt < 20; attempt++) {
            rc = kv_put(db, k, strlen(k), v, strlen(v));
            if (rc == KV_OK)
                break;
            failed++;
            CHECK_MSG(may_fail, "kv_put %s: %s", k, kv_errmsg());
            CHECK_MSG(rc == KV_ERR_IO, "kv_put %s: %d %s", k, rc, kv_errmsg());
            CHECK_MSG(strstr(kv_errmsg(), "refused") == NULL, "a failure became final: %s",
                      kv_errmsg());
        }
        CHECK_KV(rc, KV_OK);
    }
    return failed;
}

static void retry_expect_range(kv_db *db, int from, int to)
{
    char k[16], v[64];
    for (int i = from; i < to; i++) {
        retry_key(i, k, v);
        lt_expect(db, k, v);
    }
}

/* A backend that, while armed, fails the directory syncs the background
 * thread asks for (any thread but the test's own), but the first
 * retry_skip of them, before the directory is even open, as a process out
 * of file descriptors does (EMFILE: no fsync failed).  Installed while no
 * database is open; armed and disarmed with atomics while one is. */
static const io_ops *retry_inner;
static io_ops retry_ops;
static pthread_t retry_main;
static atomic_int retry_armed, retry_skip;

static int retry_sync_dir(const char *dir, int *opened)
{
    if (atomic_load(&retry_armed) && !pthread_equal(pthread_self(), retry_main) &&
        atomic_fetch_sub(&retry_skip, 1) <= 0)
        return -EMFILE;
    return retry_inner->sync_dir(dir, opened);
}

static void retry_install(void)
{
    if (io_get_ops() != &retry_ops) /* (a test that failed left it installed) */
        retry_inner = io_get_ops();
    retry_ops = *retry_inner;
    retry_ops.name = "retry";
    retry_ops.sync_dir = retry_sync_dir;
    retry_main = pthread_self();
    atomic_store(&retry_armed, 0);
    atomic_store(&retry_skip, 0);
    io_set_ops(&retry_ops);
}

/* The state the tests start from: every key written twice, with a level 1
 * large enough that nothing needs compacting, so that the second pass's
 * tables overlap the first's in another level: a merge to do. */
static void retry_state(const char *dir)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 4096;
    opt.table_bytes = 2048;
    opt.l1_bytes = 64u << 20;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    retry_put_range(db, 0, 400, 0);
    retry_put_range(db, 0, 400, 0);
    CHECK_KV(kv_close(db), KV_OK);
}

/* kv_compact whose merge cannot sync the directory (no descriptor left)
 * fails with that error, and the database goes on: writes, then kv_compact
 * again, with no reopen.  (Its flush, first, gets through.) */
static void a_failed_kv_compact_leaves_writes_open(void)
{
    const char *dir = lt_dir();
    retry_state(dir);
    retry_install();
    kv_db *db = retry_open(dir);
    retry_put_range(db, 400, 401, 0); /* something for kv_compact to flush */
    atomic_store(&retry_skip, 1);
    atomic_store(&retry_armed, 1);
    int rc = kv_compact(db);
    atomic_store(&retry_armed, 0);
    CHECK_KV(rc, KV_ERR_IO);
    CHECK_MSG(strstr(kv_errmsg(), strerror(EMFILE)) != NULL, "%s", kv_errmsg());
    CHECK_EQ(lt_stat(db, "write.failed"), 0);
    /* (A background compaction may have failed too before the disarm: the
     * next write hears it, once.) */
    retry_put_range(db, 401, 500, 1);
    CHECK_KV(kv_compact(db), KV_OK);
    retry_expect_range(db, 0, 500);
    CHECK_KV(kv_close(db), KV_OK);
    io_set_ops(retry_inner);
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    db = retry_open(dir);
    retry_expect_range(db, 0, 500);
    CHECK_KV(kv_close(db), KV_OK);
}

/* Every level's score below 1 ("level.N: tables bytes target score"). */
static int retry_levels_within_targets(kv_db *db)
{
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    int within = 1;
    for (const char *p = strstr(text, "\nlevel."); p; p = strstr(p + 1, "\nlevel.")) {
        double score = 0;
        if (sscanf(p, "\nlevel.%*d: %*s %*s %*s %lf", &score) == 1 && score >= 1.0)
            within = 0;
    }
    kv_free(text);
    return within;
}

/* Background compactions that cannot sync their directory (no descriptor
 * left) fail, are counted and reported once each, and are tried again,
 * at longer and longer pauses, while writes go on; once descriptors are
 * back the levels come back within their targets, with no reopen.  The
 * state: every key written twice with a large level 1, reopened with a
 * small one, so that the background thread has merges to do at once. */
static void background_compaction_without_descriptors_is_tried_again(void)
{
    const char *dir = lt_dir();
    retry_state(dir);
    retry_install();
    atomic_store(&retry_armed, 1);
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 4096;
    opt.table_bytes = 2048;
    opt.l1_bytes = 2048;
    opt.level_ratio = 2;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    struct timespec pause = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 1000 && lt_stat(db, "session.compact.failures") < 2; i++)
        nanosleep(&pause, NULL);
    CHECK_MSG(lt_stat(db, "session.compact.failures") >= 2, "no compaction failed, or none was tried "
              "again, in 10 s");
    CHECK_EQ(lt_stat(db, "write.failed"), 0);
    retry_put_range(db, 400, 420, 1); /* writes go on (the first may hear a failure) */

    atomic_store(&retry_armed, 0);
    int within = 0;
    for (int i = 0; i < 3000 && !within; i++) {
        nanosleep(&pause, NULL);
        within = retry_levels_within_targets(db);
    }
    CHECK_MSG(within, "the levels stayed over their targets 30 s after the failures stopped");
    CHECK_EQ(lt_stat(db, "write.failed"), 0);
    retry_put_range(db, 420, 440, 1); /* (a failure not reported yet is, here) */
    retry_expect_range(db, 0, 440);
    CHECK_KV(kv_close(db), KV_OK);
    io_set_ops(retry_inner);
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    db = retry_open(dir);
    retry_expect_range(db, 0, 440);
    CHECK_KV(kv_close(db), KV_OK);
}

static const harness_test engine_retry_tests[] = {
    HARNESS_TEST(a_failed_kv_compact_leaves_writes_open),
    HARNESS_TEST(background_compaction_without_descriptors_is_tried_again),
};
const harness_suite engine_retry_suite = HARNESS_SUITE("engine_retry", engine_retry_tests);
