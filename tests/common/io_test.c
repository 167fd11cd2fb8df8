/*
 * io_test.c: the I/O layer over the POSIX backend (common/io.h): appends of
 * several pieces, positioned reads that stop at the end of the file,
 * truncate, rename, unlink, sorted listing, mkdir of an existing directory,
 * the directory lock's exclusive and shared modes, and write-behind, a hint
 * that changes nothing a read sees.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../harness.h"
#include "error.h"
#include "io.h"
#include "kv.h"

static io_file *file_open(const char *path, int flags)
{
    io_file *f = NULL;
    CHECK_KV(io_open(path, flags, &f), KV_OK);
    CHECK(f != NULL);
    return f;
}

static void file_expect(io_file *f, const void *want, size_t n)
{
    uint64_t size = 0;
    CHECK_KV(io_size(f, &size), KV_OK);
    CHECK_EQ(size, n);
    char *buf = malloc(n + 16);
    CHECK(buf != NULL);
    size_t got = 0;
    CHECK_KV(io_read_at(f, 0, buf, n + 16, &got), KV_OK);
    CHECK_MEM(buf, got, want, n);
    free(buf);
}

static void io_append_writes_every_iovec_in_order(void)
{
    const char *path = harness_join(harness_tmpdir(), "f");
    io_file *f = file_open(path, IO_WRITE | IO_CREATE);
    CHECK_EQ(f->end, 0);
    struct iovec iov[4] = {
        {.iov_base = "hello", .iov_len = 5},
        {.iov_base = "", .iov_len = 0},
        {.iov_base = ", ", .iov_len = 2},
        {.iov_base = "world\0!", .iov_len = 7},
    };
    CHECK_KV(io_append(f, iov, 4), KV_OK);
    CHECK_EQ(f->end, 14);
    CHECK_KV(io_append_bytes(f, "++", 2), KV_OK);
    CHECK_EQ(f->end, 16);
    file_expect(f, "hello, world\0!++", 16);
    CHECK_KV(io_close(f), KV_OK);

    /* Reopened, the handle knows where the file ends. */
    f = file_open(path, IO_WRITE);
    CHECK_EQ(f->end, 16);
    CHECK_KV(io_append_bytes(f, "x", 1), KV_OK);
    file_expect(f, "hello, world\0!++x", 17);
    CHECK_KV(io_close(f), KV_OK);
}

/* More iovecs than io_append keeps on its stack. */
static void io_append_takes_many_iovecs(void)
{
    const char *path = harness_join(harness_tmpdir(), "f");
    io_file *f = file_open(path, IO_WRITE | IO_CREATE);
    struct iovec iov[40];
    char bytes[40];
    for (int i = 0; i < 40; i++) {
        bytes[i] = (char)('A' + i);
        iov[i].iov_base = &bytes[i];
        iov[i].iov_len = 1;
    }
    CHECK_KV(io_append(f, iov, 40), KV_OK);
    file_expect(f, bytes, 40);
    CHECK_KV(io_close(f), KV_OK);
}

static void io_read_past_end_is_short(void)
{
    const char *path = harness_join(harness_tmpdir(), "f");
    io_file *f = file_open(path, IO_WRITE | IO_CREATE);
    CHECK_KV(io_append_bytes(f, "0123456789", 10), KV_OK);
    char buf[32];
    size_t got = 99;
    CHECK_KV(io_read_at(f, 4, buf, 4, &got), KV_OK);
    CHECK_MEM(buf, got, "4567", 4);
    CHECK_KV(io_read_at(f, 6, buf, 10, &got), KV_OK);
    CHECK_MEM(buf, got, "6789", 4);
    CHECK_KV(io_read_at(f, 10, buf, 10, &got), KV_OK);
    CHECK_EQ(got, 0);
    CHECK_KV(io_read_at(f, 1000, buf, 10, &got), KV_OK);
    CHECK_EQ(got, 0);
    CHECK_KV(io_close(f), KV_OK);

    f = file_open(path, IO_READ);
    CHECK_KV(io_read_at(f, 0, buf, sizeof buf, &got), KV_OK);
    CHECK_MEM(buf, got, "0123456789", 10);
    CHECK_KV(io_close(f), KV_OK);
}

static void io_truncate_cuts_and_appends_land_at_new_end(void)
{
    const char *path = harness_join(harness_tmpdir(), "f");
    io_file *f = file_open(path, IO_WRITE | IO_CREATE);
    CHECK_KV(io_append_bytes(f, "0123456789", 10), KV_OK);
    CHECK_KV(io_truncate(f, 4), KV_OK);
    CHECK_EQ(f->end, 4);
    file_expect(f, "0123", 4);
    CHECK_KV(io_append_bytes(f, "ab", 2), KV_OK);
    file_expect(f, "0123ab", 6);
    CHECK_KV(io_truncate(f, 0), KV_OK);
    file_expect(f, "", 0);
    CHECK_KV(io_sync(f), KV_OK);
    CHECK_KV(io_close(f), KV_OK);

    f = file_open(path, IO_WRITE | IO_TRUNC);
    CHECK_EQ(f->end, 0);
    CHECK_KV(io_close(f), KV_OK);
}

static void io_open_missing_file_fails_naming_it(void)
{
    const char *path = harness_join(harness_tmpdir(), "missing-file");
    io_file *f = NULL;
    kv_error_clear();
    CHECK_KV(io_open(path, IO_READ, &f), KV_ERR_IO);
    CHECK_MSG(strstr(kv_errmsg(), path) != NULL, "message \"%s\"", kv_errmsg());

    /* IO_EXCL refuses an existing file. */
    f = file_open(path, IO_WRITE | IO_CREATE);
    CHECK_KV(io_close(f), KV_OK);
    io_file *g = NULL;
    CHECK_KV(io_open(path, IO_WRITE | IO_CREATE | IO_EXCL, &g), KV_ERR_IO);
}

static void io_rename_unlink_and_exists(void)
{
    const char *dir = harness_tmpdir();
    const char *a = harness_join(dir, "a"), *b = harness_join(dir, "b");
    io_file *f = file_open(a, IO_WRITE | IO_CREATE);
    CHECK_KV(io_append_bytes(f, "A", 1), KV_OK);
    CHECK_KV(io_close(f), KV_OK);
    int exists = -1;
    CHECK_KV(io_exists(a, &exists), KV_OK);
    CHECK_EQ(exists, 1);
    CHECK_KV(io_exists(b, &exists), KV_OK);
    CHECK_EQ(exists, 0);

    CHECK_KV(io_rename(a, b), KV_OK);
    CHECK_KV(io_exists(a, &exists), KV_OK);
    CHECK_EQ(exists, 0);
    f = file_open(b, IO_READ);
    file_expect(f, "A", 1);
    CHECK_KV(io_close(f), KV_OK);
    CHECK_KV(io_sync_dir(dir), KV_OK);

    CHECK_KV(io_unlink(b), KV_OK);
    CHECK_KV(io_exists(b, &exists), KV_OK);
    CHECK_EQ(exists, 0);
    kv_error_clear();
    CHECK_KV(io_unlink(b), KV_ERR_IO);
    CHECK(strstr(kv_errmsg(), b) != NULL);
    CHECK_KV(io_rename(a, b), KV_ERR_IO);
}

static void io_list_is_sorted_bytewise(void)
{
    const char *dir = harness_tmpdir();
    static const char *const names[] = {"b", "a", "c10", "c9", "B", "a.log"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        io_file *f = file_open(harness_join(dir, names[i]), IO_WRITE | IO_CREATE);
        CHECK_KV(io_close(f), KV_OK);
    }
    CHECK_KV(io_mkdir(harness_join(dir, "sub")), KV_OK);
    char **list = NULL;
    size_t count = 0;
    CHECK_KV(io_list(dir, &list, &count), KV_OK);
    static const char *const want[] = {"B", "a", "a.log", "b", "c10", "c9", "sub"};
    CHECK_EQ(count, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < count; i++)
        CHECK_MSG(strcmp(list[i], want[i]) == 0, "entry %zu is \"%s\", want \"%s\"", i,
                  list[i], want[i]);
    io_list_free(list, count);

    CHECK_KV(io_list(harness_join(dir, "sub"), &list, &count), KV_OK);
    CHECK_EQ(count, 0);
    io_list_free(list, count);
    CHECK_KV(io_list(harness_join(dir, "nope"), &list, &count), KV_ERR_IO);
}

static void io_mkdir_of_existing_dir_is_ok(void)
{
    const char *dir = harness_join(harness_tmpdir(), "d");
    CHECK_KV(io_mkdir(dir), KV_OK);
    CHECK_KV(io_mkdir(dir), KV_OK);
    int exists = 0;
    CHECK_KV(io_exists(dir, &exists), KV_OK);
    CHECK_EQ(exists, 1);
    CHECK_KV(io_mkdir(harness_join(dir, "x/y")), KV_ERR_IO);
}

static void io_lock_exclusive_twice_is_busy(void)
{
    const char *path = harness_join(harness_tmpdir(), "LOCK");
    io_lock *a = NULL, *b = NULL;
    CHECK_KV(io_lock_acquire(path, 1, &a), KV_OK);
    kv_error_clear();
    CHECK_KV(io_lock_acquire(path, 1, &b), KV_ERR_BUSY);
    CHECK(kv_errmsg()[0] != '\0');
    CHECK_KV(io_lock_acquire(path, 0, &b), KV_ERR_BUSY);
    io_lock_release(a);
    CHECK_KV(io_lock_acquire(path, 1, &b), KV_OK);
    io_lock_release(b);
    io_lock_release(NULL);
}

static void io_lock_shared_twice_is_ok(void)
{
    const char *path = harness_join(harness_tmpdir(), "LOCK");
    io_lock *a = NULL, *b = NULL, *c = NULL;
    CHECK_KV(io_lock_acquire(path, 0, &a), KV_OK);
    CHECK_KV(io_lock_acquire(path, 0, &b), KV_OK);
    CHECK_KV(io_lock_acquire(path, 1, &c), KV_ERR_BUSY);
    io_lock_release(a);
    CHECK_KV(io_lock_acquire(path, 1, &c), KV_ERR_BUSY);
    io_lock_release(b);
    CHECK_KV(io_lock_acquire(path, 1, &c), KV_OK);
    io_lock_release(c);
}

/* Write-behind of all of a file, of a range past its end, and of nothing:
 * no error, and the file reads as before and takes appends as before. */
static void io_write_behind_changes_nothing_readable(void)
{
    const char *path = harness_join(harness_tmpdir(), "f");
    io_file *f = file_open(path, IO_WRITE | IO_CREATE);
    static char data[3 << 16];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 7 + i / 251);
    CHECK_KV(io_append_bytes(f, data, sizeof data - 1), KV_OK);
    io_write_behind(f, 0, sizeof data - 1);
    io_write_behind(f, sizeof data, 1 << 20);
    io_write_behind(f, 5, 0);
    CHECK_EQ(f->end, sizeof data - 1);
    CHECK_KV(io_append_bytes(f, data + sizeof data - 1, 1), KV_OK);
    file_expect(f, data, sizeof data);
    CHECK_KV(io_close(f), KV_OK);
}

static uint64_t file_size_on_disk(const char *path)
{
    struct stat st;
    CHECK(stat(path, &st) == 0);
    return (uint64_t)st.st_size;
}

/* IO_GROW: the first IO_GROW_AFTER bytes are written as usual; past them the
 * file grows a step at a time, zeros beyond what was appended, which
 * neither io_size nor io_read_at shows; io_truncate cuts where it says, and
 * io_close trims the zeros. */
static void io_grow_shows_only_what_was_appended(void)
{
    const char *path = harness_join(harness_tmpdir(), "f");
    io_file *f = file_open(path, IO_WRITE | IO_CREATE | IO_GROW);
    size_t n = 3 * IO_GROW_STEP + 12345;
    char *data = malloc(n);
    CHECK(data != NULL);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(i * 7 + i / 251 + 1);
    size_t at = 0, piece = 1;
    while (at + 4100 < IO_GROW_AFTER) { /* small appends, then some across steps */
        CHECK_KV(io_append_bytes(f, data + at, piece), KV_OK);
        at += piece;
        piece = piece % 4000 + 17;
    }
    CHECK_EQ(file_size_on_disk(path), at); /* not grown yet */
    for (; at < n; at += piece, piece = piece * 3 % 700000 + 1)
        CHECK_KV(io_append_bytes(f, data + at, at + piece > n ? n - at : piece), KV_OK);
    uint64_t size = 0;
    CHECK_KV(io_size(f, &size), KV_OK);
    CHECK_EQ(size, n);
    uint64_t disk = file_size_on_disk(path);
    CHECK_MSG(disk > n && disk <= n + IO_GROW_STEP, "%llu bytes on disk for %zu appended",
              (unsigned long long)disk, n);
    file_expect(f, data, n);
    char past[8];
    size_t got = 1;
    CHECK_KV(io_read_at(f, n, past, sizeof past, &got), KV_OK);
    CHECK_EQ(got, 0);
    CHECK_KV(io_sync(f), KV_OK);
    /* Cut back, then grow again over what was cut. */
    uint64_t cut = 2 * IO_GROW_STEP + 99;
    CHECK_KV(io_truncate(f, cut), KV_OK);
    CHECK_EQ(file_size_on_disk(path), cut);
    CHECK_KV(io_append_bytes(f, data + cut, n - cut), KV_OK);
    file_expect(f, data, n);
    CHECK_KV(io_close(f), KV_OK);
    CHECK_EQ(file_size_on_disk(path), n);
    /* Read back by a plain handle: exactly what was appended. */
    f = file_open(path, IO_READ);
    file_expect(f, data, n);
    CHECK_KV(io_close(f), KV_OK);
    free(data);
}

/* A secret replaced whole is never readable by another user, however
 * permissive the umask and whatever .tmp a crash left behind. */
static void io_replace_private_is_never_readable_by_others(void)
{
    const char *dir = harness_tmpdir();
    const char *tmp = harness_join(dir, "key.tmp");
    FILE *left = fopen(tmp, "w"); /* a crash's leftover, mode 0644 */
    CHECK(left != NULL);
    fputs("old", left);
    fclose(left);
    chmod(tmp, 0644);
    mode_t old = umask(0);
    CHECK_KV(io_replace_private(dir, "key", "secret", 6, NULL), KV_OK);
    umask(old);
    struct stat st;
    CHECK(stat(harness_join(dir, "key"), &st) == 0);
    CHECK_MSG((st.st_mode & 0777) == 0600, "the key is mode 0600 (%o)",
              (unsigned)(st.st_mode & 0777));
    int exists = 1;
    CHECK_KV(io_exists(tmp, &exists), KV_OK);
    CHECK_MSG(!exists, "no .tmp is left");
    io_file *f = file_open(harness_join(dir, "key"), IO_READ);
    file_expect(f, "secret", 6);
    CHECK_KV(io_close(f), KV_OK);
}

static void io_join_puts_a_slash_between(void)
{
    char *p = io_join("dir", "name");
    CHECK(p != NULL);
    CHECK(strcmp(p, "dir/name") == 0);
    free(p);
}

static const harness_test tests[] = {
    HARNESS_TEST(io_append_writes_every_iovec_in_order),
    HARNESS_TEST(io_append_takes_many_iovecs),
    HARNESS_TEST(io_read_past_end_is_short),
    HARNESS_TEST(io_truncate_cuts_and_appends_land_at_new_end),
    HARNESS_TEST(io_open_missing_file_fails_naming_it),
    HARNESS_TEST(io_rename_unlink_and_exists),
    HARNESS_TEST(io_list_is_sorted_bytewise),
    HARNESS_TEST(io_mkdir_of_existing_dir_is_ok),
    HARNESS_TEST(io_lock_exclusive_twice_is_busy),
    HARNESS_TEST(io_lock_shared_twice_is_ok),
    HARNESS_TEST(io_write_behind_changes_nothing_readable),
    HARNESS_TEST(io_grow_shows_only_what_was_appended),
    HARNESS_TEST(io_replace_private_is_never_readable_by_others),
    HARNESS_TEST(io_join_puts_a_slash_between),
};
const harness_suite io_suite = HARNESS_SUITE("io", tests);
