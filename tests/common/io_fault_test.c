/*
 * io_fault_test.c: the fault-injecting backend (common/io_fault.h): the Nth
 * counted call fails once or from then on, a failing append can leave half
 * its bytes, only the kinds in the plan are counted, and the failure's
 * message names the file.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "error.h"
#include "io.h"
#include "io_fault.h"
#include "kv.h"

static io_file *file_create(const char *path)
{
    io_file *f = NULL;
    CHECK_KV(io_open(path, IO_WRITE | IO_CREATE, &f), KV_OK);
    return f;
}

static uint64_t file_size(io_file *f)
{
    uint64_t size = 0;
    CHECK_KV(io_size(f, &size), KV_OK);
    return size;
}

static void io_fault_fails_nth_call_once(void)
{
    const char *path = harness_join(harness_tmpdir(), "f");
    io_fault_plan plan = {.kinds = IO_FAULT_APPEND, .fail_at = 2, .err = EIO};
    io_fault_install(&plan);
    io_file *f = file_create(path);
    CHECK_KV(io_append_bytes(f, "1", 1), KV_OK);
    CHECK_KV(io_append_bytes(f, "2", 1), KV_ERR_IO);
    CHECK_KV(io_append_bytes(f, "3", 1), KV_OK);
    CHECK_KV(io_append_bytes(f, "4", 1), KV_OK);
    CHECK_EQ(io_fault_calls(), 4);
    CHECK_EQ(io_fault_failures(), 1);
    io_fault_uninstall();
    char buf[8];
    size_t got = 0;
    CHECK_KV(io_read_at(f, 0, buf, sizeof buf, &got), KV_OK);
    CHECK_MEM(buf, got, "134", 3);
    CHECK_KV(io_close(f), KV_OK);
}

static void io_fault_persistent_fails_every_later_call(void)
{
    const char *path = harness_join(harness_tmpdir(), "f");
    io_fault_plan plan = {.kinds = IO_FAULT_APPEND, .fail_at = 2, .persistent = 1};
    io_fault_install(&plan);
    io_file *f = file_create(path);
    CHECK_KV(io_append_bytes(f, "1", 1), KV_OK);
    CHECK_KV(io_append_bytes(f, "2", 1), KV_ERR_IO);
    CHECK_KV(io_append_bytes(f, "3", 1), KV_ERR_IO);
    CHECK_KV(io_append_bytes(f, "4", 1), KV_ERR_IO);
    CHECK_EQ(io_fault_calls(), 4);
    CHECK_EQ(io_fault_failures(), 3);
    CHECK_EQ(file_size(f), 1);
    io_fault_uninstall();
    CHECK_KV(io_close(f), KV_OK);
}

/* A failing append under short_write leaves half its bytes (across iovec
 * boundaries); with a persistent plan the retry of the rest fails. */
static void io_fault_short_write_leaves_half(void)
{
    const char *path = harness_join(harness_tmpdir(), "f");
    io_fault_plan plan = {.kinds = IO_FAULT_APPEND, .fail_at = 1, .persistent = 1,
                          .err = ENOSPC, .short_write = 1};
    io_fault_install(&plan);
    io_file *f = file_create(path);
    struct iovec iov[3] = {
        {.iov_base = "abc", .iov_len = 3},
        {.iov_base = "defgh", .iov_len = 5},
        {.iov_base = "ijkl", .iov_len = 4},
    };
    kv_error_clear();
    CHECK_KV(io_append(f, iov, 3), KV_ERR_IO);
    CHECK_MSG(strstr(kv_errmsg(), strerror(ENOSPC)) != NULL, "message \"%s\"", kv_errmsg());
    io_fault_uninstall();
    CHECK_EQ(file_size(f), 6);
    char buf[16];
    size_t got = 0;
    CHECK_KV(io_read_at(f, 0, buf, sizeof buf, &got), KV_OK);
    CHECK_MEM(buf, got, "abcdef", 6);
    CHECK_KV(io_close(f), KV_OK);
}

/* Once (not persistent), a short write is only short: io_append retries the
 * rest, which succeeds, so the caller sees every byte written. */
static void io_fault_short_write_once_is_completed_by_retry(void)
{
    const char *path = harness_join(harness_tmpdir(), "f");
    io_fault_plan plan = {.kinds = IO_FAULT_APPEND, .fail_at = 1, .err = ENOSPC,
                          .short_write = 1};
    io_fault_install(&plan);
    io_file *f = file_create(path);
    CHECK_KV(io_append_bytes(f, "0123456789", 10), KV_OK);
    CHECK_EQ(io_fault_failures(), 1);
    io_fault_uninstall();
    char buf[16];
    size_t got = 0;
    CHECK_KV(io_read_at(f, 0, buf, sizeof buf, &got), KV_OK);
    CHECK_MEM(buf, got, "0123456789", 10);
    CHECK_KV(io_close(f), KV_OK);
}

/* Only the kinds named in the plan are counted and failed. */
static void io_fault_counts_only_planned_kinds(void)
{
    const char *dir = harness_tmpdir();
    const char *path = harness_join(dir, "f");
    io_fault_plan plan = {.kinds = IO_FAULT_READ, .fail_at = 2};
    io_fault_install(&plan);
    io_file *f = file_create(path);
    CHECK_KV(io_append_bytes(f, "abc", 3), KV_OK);
    CHECK_KV(io_sync(f), KV_OK);
    CHECK_KV(io_sync_dir(dir), KV_OK);
    CHECK_EQ(io_fault_calls(), 0);
    char buf[4];
    size_t got = 0;
    CHECK_KV(io_read_at(f, 0, buf, 3, &got), KV_OK);
    kv_error_clear();
    CHECK_KV(io_read_at(f, 0, buf, 3, &got), KV_ERR_IO);
    CHECK_MSG(strstr(kv_errmsg(), path) != NULL, "message \"%s\"", kv_errmsg());
    CHECK_EQ(io_fault_calls(), 2);
    CHECK_EQ(io_fault_failures(), 1);
    CHECK_KV(io_close(f), KV_OK);
    io_fault_uninstall();
}

/* One test per kind: the first counted call of that kind fails, with a
 * message that names the file or directory. */
static void io_fault_each_kind_fails_its_calls(void)
{
    const char *dir = harness_tmpdir();
    const char *path = harness_join(dir, "f");
    const char *other = harness_join(dir, "g");
    io_file *f = file_create(path);
    CHECK_KV(io_append_bytes(f, "abc", 3), KV_OK);
    CHECK_KV(io_close(f), KV_OK);
    io_fault_plan plan = {.fail_at = 1, .persistent = 1};
    io_file *g = NULL;
    char buf[4];
    size_t got;

    plan.kinds = IO_FAULT_OPEN;
    io_fault_install(&plan);
    kv_error_clear();
    CHECK_KV(io_open(path, IO_READ, &g), KV_ERR_IO);
    CHECK(strstr(kv_errmsg(), path) != NULL);
    io_fault_uninstall();

    plan.kinds = IO_FAULT_SYNC;
    io_fault_install(&plan);
    f = file_create(path);
    kv_error_clear();
    CHECK_KV(io_sync(f), KV_ERR_IO);
    CHECK(strstr(kv_errmsg(), path) != NULL);
    kv_error_clear();
    CHECK_KV(io_sync_dir(dir), KV_ERR_IO);
    CHECK(strstr(kv_errmsg(), dir) != NULL);
    io_fault_uninstall();
    CHECK_KV(io_close(f), KV_OK);

    plan.kinds = IO_FAULT_TRUNCATE;
    io_fault_install(&plan);
    f = file_create(path);
    kv_error_clear();
    CHECK_KV(io_truncate(f, 1), KV_ERR_IO);
    CHECK(strstr(kv_errmsg(), path) != NULL);
    CHECK_EQ(f->end, 3);
    io_fault_uninstall();
    CHECK_KV(io_close(f), KV_OK);

    plan.kinds = IO_FAULT_META;
    io_fault_install(&plan);
    kv_error_clear();
    CHECK_KV(io_rename(path, other), KV_ERR_IO);
    CHECK(strstr(kv_errmsg(), path) != NULL);
    CHECK_KV(io_unlink(path), KV_ERR_IO);
    CHECK_KV(io_mkdir(harness_join(dir, "sub")), KV_ERR_IO);
    int exists;
    CHECK_KV(io_exists(path, &exists), KV_ERR_IO);
    char **names;
    size_t count;
    CHECK_KV(io_list(dir, &names, &count), KV_ERR_IO);
    io_lock *lock = NULL;
    CHECK_KV(io_lock_acquire(harness_join(dir, "LOCK"), 1, &lock), KV_ERR_IO);
    io_fault_uninstall();

    /* Nothing above happened. */
    f = NULL;
    CHECK_KV(io_open(path, IO_READ, &f), KV_OK);
    CHECK_KV(io_read_at(f, 0, buf, sizeof buf, &got), KV_OK);
    CHECK_MEM(buf, got, "abc", 3);
    CHECK_KV(io_close(f), KV_OK);
}

static void io_fault_default_errno_is_eio(void)
{
    const char *path = harness_join(harness_tmpdir(), "f");
    io_fault_plan plan = {.kinds = IO_FAULT_APPEND, .fail_at = 1};
    io_fault_install(&plan);
    io_file *f = file_create(path);
    kv_error_clear();
    CHECK_KV(io_append_bytes(f, "x", 1), KV_ERR_IO);
    CHECK_MSG(strstr(kv_errmsg(), strerror(EIO)) != NULL, "message \"%s\"", kv_errmsg());
    CHECK_MSG(strstr(kv_errmsg(), path) != NULL, "message \"%s\"", kv_errmsg());
    io_fault_uninstall();
    CHECK_KV(io_close(f), KV_OK);
}

/* io_sync_dir opens the directory, then fsyncs it: io_sync_dir_status says
 * which one failed, since only a failed fsync can have lost anything. */
static void io_fault_dir_open_failure_is_not_a_failed_fsync(void)
{
    const char *dir = harness_tmpdir();
    int fsync_failed = -1;
    io_fault_plan plan = {.kinds = IO_FAULT_DIR_OPEN, .fail_at = 1, .err = EMFILE};
    io_fault_install(&plan);
    kv_error_clear();
    CHECK_KV(io_sync_dir_status(dir, &fsync_failed), KV_ERR_IO);
    CHECK_EQ(fsync_failed, 0);
    CHECK_MSG(strstr(kv_errmsg(), "open directory") != NULL, "message \"%s\"", kv_errmsg());
    CHECK_KV(io_sync_dir_status(dir, &fsync_failed), KV_OK); /* once only */
    CHECK_EQ(fsync_failed, 0);
    io_fault_uninstall();

    plan.kinds = IO_FAULT_SYNC | IO_FAULT_DIR_OPEN;
    plan.fail_at = 2; /* the directory opens (call 1), then its fsync fails */
    io_fault_install(&plan);
    CHECK_KV(io_sync_dir_status(dir, &fsync_failed), KV_ERR_IO);
    CHECK_EQ(fsync_failed, 1);
    CHECK_MSG(strstr(kv_errmsg(), "fsync directory") != NULL, "message \"%s\"", kv_errmsg());
    io_fault_uninstall();
}

/* A plan that never fails still counts; installing again resets the
 * counters; uninstalling puts the previous backend back. */
static void io_fault_counters_reset_and_uninstall_restores(void)
{
    const io_ops *before = io_get_ops();
    const char *path = harness_join(harness_tmpdir(), "f");
    io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = 0};
    io_fault_install(&plan);
    CHECK(io_get_ops() != before);
    io_file *f = file_create(path);                   /* open + size */
    CHECK_KV(io_append_bytes(f, "x", 1), KV_OK);      /* append */
    CHECK_KV(io_close(f), KV_OK);                     /* not counted */
    CHECK_EQ(io_fault_calls(), 3);
    CHECK_EQ(io_fault_failures(), 0);
    io_fault_install(&plan);                          /* again: counters at 0 */
    CHECK_EQ(io_fault_calls(), 0);
    io_fault_uninstall();
    CHECK(io_get_ops() == before);
    io_fault_uninstall();                             /* twice is harmless */
    CHECK(io_get_ops() == before);
}

/* A file remembers the backend it was opened with. */
static void io_fault_spares_files_opened_before(void)
{
    const char *path = harness_join(harness_tmpdir(), "f");
    io_file *f = file_create(path);
    io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = 1, .persistent = 1};
    io_fault_install(&plan);
    CHECK_KV(io_append_bytes(f, "x", 1), KV_OK);
    CHECK_EQ(io_fault_calls(), 0);
    io_fault_uninstall();
    CHECK_KV(io_close(f), KV_OK);
}

static const harness_test tests[] = {
    HARNESS_TEST(io_fault_fails_nth_call_once),
    HARNESS_TEST(io_fault_persistent_fails_every_later_call),
    HARNESS_TEST(io_fault_short_write_leaves_half),
    HARNESS_TEST(io_fault_short_write_once_is_completed_by_retry),
    HARNESS_TEST(io_fault_counts_only_planned_kinds),
    HARNESS_TEST(io_fault_each_kind_fails_its_calls),
    HARNESS_TEST(io_fault_default_errno_is_eio),
    HARNESS_TEST(io_fault_dir_open_failure_is_not_a_failed_fsync),
    HARNESS_TEST(io_fault_counters_reset_and_uninstall_restores),
    HARNESS_TEST(io_fault_spares_files_opened_before),
};
const harness_suite io_fault_suite = HARNESS_SUITE("io_fault", tests);
