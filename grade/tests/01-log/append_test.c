/*
 * append_test.c: exercise append, log_db_append (stages/01-log/log/log_db.c):
 * the records of a put, a delete or a batch written with one write, and a
 * failed write undone.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ex_log.h"
#include "exercise.h"
#include "file_header.h"
#include "io_fault.h"
#include "kv.h"

static kv_db *append_open(const char *dir, int strict)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.strict_recovery = strict;
    kv_db *db = NULL;
    int rc = kv_open(dir, &opt, &db);
    EX_CHECK(rc == KV_OK, "kv_open of the test's database: %s", kv_errmsg());
    return db;
}

/* A database with "a" = "1", closed. */
static const char *append_db(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = append_open(dir, 0);
    EX_CHECK(kv_put(db, "a", 1, "1", 1) == KV_OK, "kv_put a: %s", kv_errmsg());
    EX_CHECK(kv_close(db) == KV_OK, "kv_close: %s", kv_errmsg());
    return dir;
}

static uint64_t append_log_size(const char *dir)
{
    struct stat st;
    EX_CHECK(stat(harness_join(dir, "data.log"), &st) == 0, "data.log exists");
    return (uint64_t)st.st_size;
}

static void append_one_write_per_call(void)
{
    const char *dir = append_db();
    io_fault_plan count = {.kinds = IO_FAULT_APPEND};
    io_fault_install(&count);
    kv_db *db = append_open(dir, 0);
    long before = io_fault_calls();
    EX_CHECK(kv_put(db, "b", 1, "22", 2) == KV_OK, "kv_put: %s", kv_errmsg());
    EX_CHECK(io_fault_calls() == before + 1, "a put is one append (one writev of header, key "
             "and value), so that a kill never leaves half of it before a later record "
             "(got %ld appends)", io_fault_calls() - before);
    kv_batch *b = NULL;
    EX_CHECK(kv_batch_new(&b) == KV_OK, "kv_batch_new");
    kv_batch_put(b, "c", 1, "333", 3);
    kv_batch_delete(b, "a", 1);
    kv_batch_put(b, "d", 1, "", 0);
    before = io_fault_calls();
    EX_CHECK(kv_write(db, b) == KV_OK, "kv_write: %s", kv_errmsg());
    EX_CHECK(io_fault_calls() == before + 1, "a batch of 3 ops is written with one append, "
             "all its records together (got %ld appends)", io_fault_calls() - before);
    kv_batch_free(b);
    before = io_fault_calls();
    EX_CHECK(kv_delete(db, "b", 1) == KV_OK, "kv_delete: %s", kv_errmsg());
    EX_CHECK(io_fault_calls() == before + 1, "a delete is one append");
    EX_CHECK(kv_close(db) == KV_OK, "kv_close");
    io_fault_uninstall();

    /* The bytes: the header, then each record as log_record.h lays it out. */
    uint8_t want[256];
    size_t n = 0;
    file_header_encode(want, FILE_MAGIC_LOG01, 1);
    n = 16;
    n += ex_log_record(want + n, "a", 1, "1", 1);
    n += ex_log_record(want + n, "b", 1, "22", 2);
    n += ex_log_record(want + n, "c", 1, "333", 3);
    n += ex_log_record(want + n, "a", 1, NULL, 0);
    n += ex_log_record(want + n, "d", 1, "", 0);
    n += ex_log_record(want + n, "b", 1, NULL, 0);
    size_t got;
    uint8_t *bytes = ex_read_file(harness_join(dir, "data.log"), &got);
    EX_CHECK(got == n && memcmp(bytes, want, n) == 0,
             "data.log holds exactly the header and one record per op, in order, as "
             "log_record.h lays them out (%zu bytes expected, %zu found)", n, got);
    free(bytes);
}

static void append_failed_write_is_cut_off(void)
{
    const char *dir = append_db();
    uint64_t size = append_log_size(dir);
    /* The next append writes half of its bytes, then fails (a full disk). */
    io_fault_plan half = {.kinds = IO_FAULT_APPEND, .fail_at = 1, .persistent = 1, .short_write = 1,
                          .err = 28 /* ENOSPC */};
    io_fault_plan none = {.kinds = IO_FAULT_APPEND};
    io_fault_install(&none);
    kv_db *db = append_open(dir, 0); /* its files go through the fault backend */
    io_fault_install(&half);
    int rc = kv_put(db, "big", 3, "0123456789abcdef", 16);
    EX_CHECK(rc == KV_ERR_IO, "a failed append is reported: KV_ERR_IO (got %d)", rc);
    EX_CHECK(append_log_size(dir) == size,
             "a failed append is undone: the half record it left is cut off (io_truncate back "
             "to the end before it), so the next record does not land after garbage (size %llu, "
             "want %llu)", (unsigned long long)append_log_size(dir), (unsigned long long)size);
    io_fault_install(&none);
    EX_CHECK(kv_put(db, "e", 1, "5", 1) == KV_OK,
             "after a failed append that was undone, writes go on: %s", kv_errmsg());
    EX_CHECK(kv_close(db) == KV_OK, "kv_close");
    io_fault_uninstall();
    db = append_open(dir, 1);
    void *v = NULL;
    size_t vl = 0;
    EX_CHECK(kv_get(db, "e", 1, &v, &vl) == KV_OK && vl == 1 && memcmp(v, "5", 1) == 0,
             "the put after the failure reads back after a strict reopen: the log holds no "
             "damage");
    kv_free(v);
    EX_CHECK(kv_get(db, "big", 3, &v, &vl) == KV_NOT_FOUND, "the failed put left nothing");
    kv_close(db);
}

static void append_refuses_writes_when_it_cannot_undo(void)
{
    const char *dir = append_db();
    uint64_t size = append_log_size(dir);
    /* The append fails half-way, and so does the io_truncate that would
     * undo it. */
    io_fault_plan stuck = {.kinds = IO_FAULT_APPEND | IO_FAULT_TRUNCATE, .fail_at = 1,
                           .persistent = 1, .short_write = 1};
    io_fault_plan none = {.kinds = IO_FAULT_APPEND};
    io_fault_install(&none);
    kv_db *db = append_open(dir, 0);
    io_fault_install(&stuck);
    EX_CHECK(kv_put(db, "big", 3, "0123456789abcdef", 16) == KV_ERR_IO,
             "the failed append is reported");
    io_fault_install(&none);
    int rc = kv_put(db, "e", 1, "5", 1);
    EX_CHECK(rc == KV_ERR_IO,
             "invariant 3 of log_db.h: once a partial record could not be cut off, every "
             "later write is refused until a reopen, or it would land after the partial "
             "record, in the middle of the log (got %d)", rc);
    EX_CHECK(append_log_size(dir) > size, "test setup: the partial record is still there");
    EX_CHECK(kv_close(db) == KV_OK, "kv_close");
    io_fault_uninstall();
    db = append_open(dir, 0);
    EX_CHECK(kv_put(db, "e", 1, "5", 1) == KV_OK,
             "after a reopen (which cuts the partial record off as a torn tail), writes work");
    void *v = NULL;
    size_t vl = 0;
    EX_CHECK(kv_get(db, "a", 1, &v, &vl) == KV_OK && vl == 1, "a = 1 is still there");
    kv_free(v);
    kv_close(db);
}

static void append_read_only_is_refused(void)
{
    const char *dir = append_db();
    kv_options opt;
    kv_options_init(&opt);
    opt.read_only = 1;
    kv_db *db = NULL;
    EX_CHECK(kv_open(dir, &opt, &db) == KV_OK, "a read-only open: %s", kv_errmsg());
    uint64_t size = append_log_size(dir);
    EX_CHECK(kv_put(db, "b", 1, "2", 1) == KV_ERR_INVALID,
             "a put on a read-only database is KV_ERR_INVALID");
    EX_CHECK(append_log_size(dir) == size, "and writes nothing");
    kv_close(db);
}

static const harness_test append_tests[] = {
    HARNESS_TEST(append_one_write_per_call),
    HARNESS_TEST(append_failed_write_is_cut_off),
    HARNESS_TEST(append_refuses_writes_when_it_cannot_undo),
    HARNESS_TEST(append_read_only_is_refused),
};
const harness_suite append_suite = HARNESS_SUITE("append", append_tests);
