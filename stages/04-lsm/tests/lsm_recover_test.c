/*
 * lsm_recover_test.c: kv_open of stage 04 finds the database from its
 * directory listing alone (lsm_files.h, F1 to F3): each test builds a state
 * that a crash between two steps of a flush or a compaction leaves (by
 * putting back a file the engine had removed), and checks that the open
 * neither resurrects what was deleted nor loses what was acknowledged; and
 * what kv_check says of such leftovers.  (Stage 04's table set only: stage
 * 06 knows its tables from a manifest.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../tests/harness.h"
#include "internal_key.h"
#include "io_fault.h"
#include "kv.h"
#include "lsm_test_util.h"
#include "table_test_util.h"

#define WAL1 "000000000001.log"

/* A log already flushed to a table, whose removal a crash undid, is not
 * replayed: its put of k would hide the delete that the table (after
 * kv_compact dropped both) no longer holds. */
static void log_already_in_tables_is_removed_unread(void)
{
    const char *dir = lt_dir(), *keep = harness_tmpdir();
    kv_db *db = lt_open(dir, 0, 0);
    lt_put(db, "k", "v1");
    CHECK_KV(kv_close(db), KV_OK);
    lt_copy(dir, WAL1, keep, WAL1);
    db = lt_open(dir, 0, 0);
    lt_del(db, "k");
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_close(db), KV_OK);
    CHECK_MSG(strcmp(lt_files(dir), "000000000001-000000000002.tbl 000000000003.log") == 0,
              "files: %s", lt_files(dir));
    lt_copy(keep, WAL1, dir, WAL1);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "k", NULL);
    CHECK_EQ(lt_stat(db, "open.flushed_logs_removed"), 1);
    CHECK_KV(kv_close(db), KV_OK);
    CHECK(!lt_exists(dir, WAL1));
}

/* A log that holds writes on both sides of the tables' upper bound (no
 * engine writes one, since a log is sealed when its memtable is frozen,
 * but the replay does not count on it): it is read, and its records at or
 * below the bound are skipped (F3); new writes get numbers above. */
static void records_already_in_tables_are_skipped(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 0, 0);
    lt_put(db, "k", "v1");
    lt_del(db, "k");
    CHECK_KV(kv_compact(db), KV_OK); /* 000000000001-000000000002.tbl: k deleted */
    CHECK_KV(kv_close(db), KV_OK);
    CHECK(unlink(harness_join(dir, "000000000003.log")) == 0);
    /* Log 1: put k (1), del k (2), put j (3), sealed; log 4: put m (4). */
    static const lt_op ops1[] = {{"k", "v1"}, {"k", NULL}, {"j", "x"}};
    lt_write_log(dir, 1, ops1, (const size_t[]){0, 1, 2, 3}, (const uint64_t[]){1, 2, 3}, 3, 1);
    static const lt_op ops4[] = {{"m", "y"}};
    lt_write_log(dir, 4, ops4, (const size_t[]){0, 1}, (const uint64_t[]){4}, 1, 0);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "k", NULL);
    lt_expect(db, "j", "x");
    lt_expect(db, "m", "y");
    CHECK_EQ(lt_stat(db, "open.ops_already_in_tables"), 2);
    CHECK_EQ(lt_stat(db, "seq.last"), 4);
    lt_put(db, "n", "z");
    CHECK_EQ(lt_stat(db, "seq.last"), 5);
    CHECK_KV(kv_close(db), KV_OK);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "k", NULL);
    lt_expect(db, "n", "z");
    CHECK_KV(kv_close(db), KV_OK);
}

/* kv_compact's output holds what its inputs held; an input a crash left
 * behind is obsolete (F1) and must not be read: here it holds a put of k
 * whose delete the merge dropped together with it. */
static void input_of_a_finished_compaction_is_removed_unread(void)
{
    const char *dir = lt_dir(), *keep = harness_tmpdir();
    const char *t1 = "000000000001-000000000001.tbl";
    kv_db *db = lt_open(dir, 0, 0);
    lt_put(db, "k", "v1");
    CHECK_KV(kv_compact(db), KV_OK);
    lt_copy(dir, t1, keep, t1);
    lt_put(db, "j", "x");
    lt_del(db, "k");
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_EQ(lt_stat(db, "compact.entries_dropped"), 2);
    CHECK_KV(kv_close(db), KV_OK);
    CHECK_MSG(strcmp(lt_files(dir), "000000000001-000000000003.tbl 000000000004.log") == 0,
              "files: %s", lt_files(dir));
    lt_copy(keep, t1, dir, t1);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "k", NULL);
    lt_expect(db, "j", "x");
    CHECK_EQ(lt_stat(db, "open.obsolete_tables_removed"), 1);
    CHECK_EQ(lt_stat(db, "tables.count"), 1);
    CHECK_KV(kv_close(db), KV_OK);
    CHECK(!lt_exists(dir, t1));
}

/* kv_repair drops a table of which nothing can be read; an obsolete table
 * it covered (an input of the compaction that wrote it, left by a crash)
 * is then live again, and is read whole and mended in turn: here it is
 * damaged too, and after the repair kv_check finds the database intact and
 * a strict open opens it. */
static void repair_mends_a_leftover_a_dropped_table_covered(void)
{
    const char *dir = lt_dir(), *keep = harness_tmpdir();
    const char *t1 = "000000000001-000000000001.tbl", *t3 = "000000000001-000000000003.tbl";
    kv_db *db = lt_open(dir, 0, 0);
    lt_put(db, "k", "v1");
    CHECK_KV(kv_compact(db), KV_OK);
    lt_copy(dir, t1, keep, t1);
    lt_put(db, "j", "x");
    lt_del(db, "k");
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_close(db), KV_OK);
    uint8_t *bytes = NULL;
    size_t n = tt_read_file(harness_join(dir, t3), &bytes);
    CHECK(n > 5);
    tt_write_file(harness_join(dir, t3), bytes, 5); /* not even its header */
    free(bytes);
    n = tt_read_file(harness_join(keep, t1), &bytes);
    tt_write_file(harness_join(dir, t1), bytes, n / 2);
    free(bytes);
    lt_lines out = {0};
    CHECK_KV(kv_repair(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(strstr(out.text, t3) != NULL && strstr(out.text, t1) != NULL, "%s", out.text);
    out.len = 0;
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    kv_options opt;
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    lt_expect(db, "j", NULL);
    CHECK_KV(kv_close(db), KV_OK);
}

/* A read-only open of that state reads the same and changes nothing. */
static void read_only_open_ignores_leftovers_and_removes_nothing(void)
{
    const char *dir = lt_dir(), *keep = harness_tmpdir();
    const char *t1 = "000000000001-000000000001.tbl";
    kv_db *db = lt_open(dir, 0, 0);
    lt_put(db, "k", "v1");
    CHECK_KV(kv_compact(db), KV_OK);
    lt_copy(dir, t1, keep, t1);
    lt_del(db, "k");
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_close(db), KV_OK);
    lt_copy(keep, t1, dir, t1);
    lt_copy(keep, t1, dir, "000000000001-000000000009.tbl.tmp");
    char before[8192];
    snprintf(before, sizeof before, "%s", lt_files(dir));
    db = lt_open(dir, 0, 1);
    lt_expect(db, "k", NULL);
    CHECK_EQ(lt_stat(db, "tables.count"), 1);
    CHECK_KV(kv_close(db), KV_OK);
    CHECK_MSG(strcmp(lt_files(dir), before) == 0, "read-only open changed %s into %s", before,
              lt_files(dir));
}

static void temporary_files_are_removed_at_open(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 0, 0);
    lt_put(db, "a", "1");
    CHECK_KV(kv_close(db), KV_OK);
    lt_copy(dir, WAL1, dir, "000000000001-000000000005.tbl.tmp");
    lt_copy(dir, WAL1, dir, "000000000001.log.tmp");
    db = lt_open(dir, 0, 0);
    CHECK_EQ(lt_stat(db, "open.temporary_files_removed"), 2);
    lt_expect(db, "a", "1");
    CHECK_KV(kv_close(db), KV_OK);
    CHECK_MSG(strcmp(lt_files(dir), WAL1) == 0, "files: %s", lt_files(dir));
}

/* Two tables whose ranges overlap (neither a flush nor kv_compact makes
 * them) cannot be ordered by age: the open refuses, and kv_check says so. */
static void overlapping_tables_are_refused(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 0, 0);
    lt_put(db, "k", "v1");
    lt_put(db, "j", "v2");
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_close(db), KV_OK);
    const char *t = "000000000001-000000000002.tbl";
    lt_copy(dir, t, dir, "000000000002-000000000003.tbl");
    kv_options opt;
    kv_options_init(&opt);
    kv_db *bad = NULL;
    CHECK_KV(kv_open(dir, &opt, &bad), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), "overlapping") != NULL);
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_ERR_CORRUPT);
    CHECK(strstr(out.text, "overlapping") != NULL);
}

/* After everything is flushed and the logs are gone, the last sequence
 * number comes from the tables' names. */
static void sequence_numbers_resume_after_the_tables(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 0, 0);
    lt_put(db, "a", "1");
    lt_put(db, "b", "2");
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_close(db), KV_OK);
    db = lt_open(dir, 0, 0);
    CHECK_EQ(lt_stat(db, "seq.last"), 2);
    CHECK_EQ(lt_stat(db, "open.records_replayed"), 0);
    lt_put(db, "a", "3");
    lt_expect(db, "a", "3");
    CHECK_KV(kv_close(db), KV_OK);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "a", "3");
    lt_expect(db, "b", "2");
    CHECK_EQ(lt_stat(db, "seq.last"), 3);
    CHECK_KV(kv_close(db), KV_OK);
}

/* Sequence numbers end at 2^56 - 1 (internal_key.h), and a log is named
 * after the next one (lsm_files.h), so writes must stop at 2^56 - 2: a
 * write that could take a number past it is refused with KV_ERR_INVALID
 * and writes nothing (the check is conservative, lsm_write.c: a refused
 * write may have fitted).  Here a log written by hand starts 1,000
 * numbers before the end, and puts go on until one is refused: none
 * acknowledged is lost, and none took a number past the last. */
static void writes_stop_before_sequence_numbers_run_out(void)
{
    const char *dir = lt_empty_db();
    const uint64_t start = IKEY_MAX_SEQ - 1000;
    static const lt_op ops[] = {{"a", "1"}};
    lt_write_log(dir, start, ops, (const size_t[]){0, 1}, (const uint64_t[]){start}, 1, 0);
    kv_db *db = lt_open(dir, 0, 0);
    CHECK_EQ(lt_stat(db, "seq.last"), (double)start);
    int acked = 0, rc;
    char key[16];
    while ((rc = kv_put(db, key, (size_t)snprintf(key, sizeof key, "k%04d", acked), "v", 1)) ==
           KV_OK)
        CHECK(++acked < 1000);
    CHECK_KV(rc, KV_ERR_INVALID);
    CHECK_MSG(strstr(kv_errmsg(), "sequence numbers are nearly used up") != NULL, "%s",
              kv_errmsg());
    CHECK(acked > 0);
    CHECK_EQ(lt_stat(db, "seq.last"), (double)(start + (uint64_t)acked));
    CHECK(start + (uint64_t)acked <= IKEY_MAX_SEQ - 1);
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_close(db), KV_OK);
    db = lt_open(dir, 0, 0);
    CHECK_EQ(lt_stat(db, "seq.last"), (double)(start + (uint64_t)acked));
    lt_expect(db, "a", "1");
    for (int i = 0; i <= acked; i++) {
        snprintf(key, sizeof key, "k%04d", i);
        lt_expect(db, key, i < acked ? "v" : NULL);
    }
    CHECK_KV(kv_put(db, "k9999", 5, "v", 1), KV_ERR_INVALID); /* the same size as before */
    CHECK_KV(kv_close(db), KV_OK);
}

/* A flush that fails (here its rename) keeps the memtable and its log; the
 * failure is reported once (by the call waiting for it), the flush is
 * retried, and nothing is lost. */
static void failed_flush_is_reported_once_and_retried(void)
{
    /* The n-th file-system call that is not a read or write fails, for n
     * = 1, 2, ... until it is one the flush makes (the rename, say). */
    for (long n = 1; n < 40; n++) {
        const char *dir = lt_dir();
        kv_db *db = lt_open(dir, 0, 0);
        lt_put(db, "a", "1");
        io_fault_plan plan = {.kinds = IO_FAULT_META, .fail_at = n};
        io_fault_install(&plan);
        int rc = kv_compact(db);
        io_fault_uninstall();
        CHECK(rc == KV_OK || rc == KV_ERR_IO);
        if (rc != KV_OK && strstr(kv_errmsg(), "in the background") != NULL) {
            CHECK_EQ(lt_stat(db, "session.flush.failures"), 1);
            lt_expect(db, "a", "1");
            CHECK_KV(kv_compact(db), KV_OK);
            CHECK_EQ(lt_stat(db, "tables.count"), 1);
            lt_put(db, "b", "2");
            CHECK_KV(kv_close(db), KV_OK);
            db = lt_open(dir, 0, 0);
            lt_expect(db, "a", "1");
            lt_expect(db, "b", "2");
            CHECK_KV(kv_close(db), KV_OK);
            return;
        }
        CHECK_KV(kv_close(db), KV_OK);
    }
    CHECK_MSG(0, "no failed call was the flush's");
}

/* A failure nobody waited for is reported by the next write, which writes
 * nothing, and the write after it goes through. */
static void background_failure_fails_the_next_write_once(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 1024, 0);
    io_fault_plan plan = {.kinds = IO_FAULT_META, .fail_at = 1, .persistent = 1};
    io_fault_install(&plan);
    char key[16];
    int failed = 0;
    for (int i = 0; i < 200 && !failed; i++) {
        snprintf(key, sizeof key, "key%03d", i);
        int rc = kv_put(db, key, strlen(key), "value", 5);
        CHECK(rc == KV_OK || rc == KV_ERR_IO);
        failed = rc != KV_OK;
        if (failed)
            lt_expect(db, key, NULL);
    }
    io_fault_uninstall();
    CHECK(failed);
    /* A retry that failed before the fault went may still be unreported:
     * each failure is reported once, then the write goes through. */
    int rc = KV_ERR_IO;
    for (int tries = 0; tries < 4 && rc != KV_OK; tries++) {
        rc = kv_put(db, "after", 5, "1", 1);
        CHECK(rc == KV_OK || (rc == KV_ERR_IO && strstr(kv_errmsg(), "in the background")));
    }
    CHECK_KV(rc, KV_OK);
    lt_expect(db, "after", "1");
    CHECK_KV(kv_close(db), KV_OK);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "after", "1");
    lt_expect(db, "key000", "value");
    CHECK_KV(kv_close(db), KV_OK);
}

static void dump_shows_tables_and_logs_with_sequence_numbers(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 0, 0);
    lt_put(db, "apple", "red");
    lt_put(db, "fig", "green");
    CHECK_KV(kv_compact(db), KV_OK);
    kv_batch *b = NULL;
    CHECK_KV(kv_batch_new(&b), KV_OK);
    CHECK_KV(kv_batch_put(b, "kiwi", 4, "brown", 5), KV_OK);
    CHECK_KV(kv_batch_delete(b, "fig", 3), KV_OK);
    CHECK_KV(kv_write(db, b), KV_OK);
    kv_batch_free(b);
    CHECK_KV(kv_close(db), KV_OK);
    lt_lines out = {0};
    CHECK_KV(kv_dump(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(strstr(out.text, lt_first_table(dir)) != NULL, "%s", out.text);
    CHECK_MSG(strstr(out.text, "sequence 3..4") != NULL, "%s", out.text);
    CHECK_MSG(strstr(out.text, "seq 4: del key_len=3 key=\"fig\"") != NULL, "%s", out.text);
    CHECK_MSG(strstr(out.text, "sync marker") != NULL, "%s", out.text);
    out.len = 0;
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(strstr(out.text, "total: 1 tables, 1 logs") != NULL, "%s", out.text);
}

/* kv_check names what kv_open removes unread and what is not the stage's. */
static void check_names_leftovers(void)
{
    const char *dir = lt_dir(), *keep = harness_tmpdir();
    kv_db *db = lt_open(dir, 0, 0);
    lt_put(db, "k", "v1");
    CHECK_KV(kv_close(db), KV_OK);
    lt_copy(dir, WAL1, keep, WAL1);
    db = lt_open(dir, 0, 0);
    CHECK_KV(kv_compact(db), KV_OK);
    lt_copy(dir, "000000000001-000000000001.tbl", keep, "t");
    lt_put(db, "j", "v2");
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_close(db), KV_OK);
    lt_copy(keep, WAL1, dir, WAL1);
    lt_copy(keep, "t", dir, "000000000001-000000000001.tbl");
    lt_copy(keep, "t", dir, "000000000001-000000000001.tbl.tmp");
    lt_copy(keep, "t", dir, "notes.txt");
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(strstr(out.text, "obsolete") != NULL, "%s", out.text);
    CHECK_MSG(strstr(out.text, "every write in it is in the tables") != NULL, "%s", out.text);
    CHECK_MSG(strstr(out.text, "unfinished") != NULL, "%s", out.text);
    CHECK_MSG(strstr(out.text, "notes.txt: not a file") != NULL, "%s", out.text);
    out.len = 0;
    CHECK_KV(kv_dump(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(strstr(out.text, "obsolete") != NULL, "%s", out.text);
}

static const harness_test lsm_recover_tests[] = {
    HARNESS_TEST(dump_shows_tables_and_logs_with_sequence_numbers),
    HARNESS_TEST(check_names_leftovers),
    HARNESS_TEST(log_already_in_tables_is_removed_unread),
    HARNESS_TEST(records_already_in_tables_are_skipped),
    HARNESS_TEST(input_of_a_finished_compaction_is_removed_unread),
    HARNESS_TEST(read_only_open_ignores_leftovers_and_removes_nothing),
    HARNESS_TEST(repair_mends_a_leftover_a_dropped_table_covered),
    HARNESS_TEST(temporary_files_are_removed_at_open),
    HARNESS_TEST(overlapping_tables_are_refused),
    HARNESS_TEST(sequence_numbers_resume_after_the_tables),
    HARNESS_TEST(writes_stop_before_sequence_numbers_run_out),
    HARNESS_TEST(failed_flush_is_reported_once_and_retried),
    HARNESS_TEST(background_failure_fails_the_next_write_once),
};

const harness_suite lsm_recover_suite = HARNESS_SUITE("lsm_recover", lsm_recover_tests);
