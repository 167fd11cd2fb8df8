/*
 * io_mem_test.c: the in-memory backend (common/io_mem.h) keeps POSIX's
 * rules where the engine can tell: what was appended reads back, a file
 * opens only in a directory and only if it exists (or may be created), an
 * unlinked or renamed-over file stays readable through its open handles,
 * a directory lists its children, locks conflict as flock's do, and a
 * mapping is a copy of exactly the file's bytes.  The fuzz harnesses run
 * every engine on it (fuzz/fuzz_dbfile.c), so its mistakes would be theirs.
 */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "io.h"
#include "io_mem.h"
#include "kv.h"

static void mem_begin(void)
{
    io_set_ops(&io_mem_ops);
    io_mem_reset();
    CHECK_KV(io_mkdir("/db"), KV_OK);
}

static void mem_end(void)
{
    io_mem_reset();
    io_set_ops(NULL);
}

static void mem_appends_read_back_and_truncate(void)
{
    mem_begin();
    io_file *f = NULL;
    CHECK_KV(io_open("/db/a", IO_WRITE | IO_CREATE, &f), KV_OK);
    struct iovec iov[2] = {{"hello ", 6}, {"world", 5}};
    CHECK_KV(io_append(f, iov, 2), KV_OK);
    uint64_t size = 0;
    CHECK_KV(io_size(f, &size), KV_OK);
    CHECK_EQ(size, 11);
    char buf[32];
    size_t got = 0;
    CHECK_KV(io_read_at(f, 6, buf, sizeof buf, &got), KV_OK);
    CHECK_MEM(buf, got, "world", 5);
    CHECK_KV(io_truncate(f, 3), KV_OK);
    CHECK_KV(io_truncate(f, 5), KV_OK); /* grown again: zeros */
    CHECK_KV(io_read_at(f, 0, buf, sizeof buf, &got), KV_OK);
    CHECK_MEM(buf, got, "hel\0\0", 5);
    CHECK_KV(io_close(f), KV_OK);
    CHECK_KV(io_open("/db/a", IO_READ, &f), KV_OK);
    CHECK_EQ(f->end, 5);
    io_close(f);
    CHECK_KV(io_open("/db/a", IO_WRITE | IO_TRUNC, &f), KV_OK);
    CHECK_EQ(f->end, 0);
    io_close(f);
    mem_end();
}

static void mem_open_keeps_posix_rules(void)
{
    mem_begin();
    io_file *f = NULL;
    int exists = 1;
    CHECK_KV(io_open("/db/missing", IO_READ, &f), KV_ERR_IO);      /* no such file */
    CHECK_KV(io_open("/nodir/a", IO_WRITE | IO_CREATE, &f), KV_ERR_IO); /* no directory */
    CHECK_KV(io_open("/db", IO_READ, &f), KV_ERR_IO);              /* a directory */
    CHECK_KV(io_open("/db/a", IO_WRITE | IO_CREATE | IO_EXCL, &f), KV_OK);
    io_close(f);
    CHECK_KV(io_open("/db/a", IO_WRITE | IO_CREATE | IO_EXCL, &f), KV_ERR_IO); /* exists */
    CHECK_KV(io_exists("/db/a", &exists), KV_OK);
    CHECK(exists);
    CHECK_KV(io_exists("/db/b", &exists), KV_OK);
    CHECK(!exists);
    CHECK_KV(io_exists("/db//", &exists), KV_OK); /* repeated and trailing slashes */
    CHECK(exists);
    CHECK_KV(io_mkdir("/db"), KV_OK); /* already there: fine, as io.h says */
    CHECK_KV(io_mkdir("/x/y"), KV_ERR_IO); /* its parent is missing */
    CHECK_KV(io_sync_dir("/db"), KV_OK);
    CHECK_KV(io_sync_dir("/nodir"), KV_ERR_IO);
    mem_end();
}

static void mem_unlinked_file_stays_readable_while_open(void)
{
    mem_begin();
    CHECK(io_mem_put("/db/old", "old", 3) == 0);
    CHECK(io_mem_put("/db/new", "new!", 4) == 0);
    io_file *f = NULL, *g = NULL;
    CHECK_KV(io_open("/db/old", IO_READ, &f), KV_OK);
    CHECK_KV(io_rename("/db/new", "/db/old"), KV_OK); /* replaces old */
    char buf[8];
    size_t got = 0;
    CHECK_KV(io_read_at(f, 0, buf, sizeof buf, &got), KV_OK);
    CHECK_MEM(buf, got, "old", 3); /* the handle keeps the file it opened */
    CHECK_KV(io_open("/db/old", IO_READ, &g), KV_OK);
    CHECK_KV(io_read_at(g, 0, buf, sizeof buf, &got), KV_OK);
    CHECK_MEM(buf, got, "new!", 4);
    CHECK_KV(io_unlink("/db/old"), KV_OK);
    CHECK_KV(io_read_at(g, 0, buf, sizeof buf, &got), KV_OK);
    CHECK_MEM(buf, got, "new!", 4);
    CHECK_KV(io_unlink("/db/old"), KV_ERR_IO); /* gone */
    CHECK_KV(io_rename("/db/gone", "/db/x"), KV_ERR_IO);
    io_close(f);
    io_close(g);
    mem_end();
}

static void mem_lists_a_directory_s_children(void)
{
    mem_begin();
    CHECK(io_mem_put("/db/b", "", 0) == 0);
    CHECK(io_mem_put("/db/a", "", 0) == 0);
    CHECK(io_mem_put("/db/sub/deep", "", 0) == 0); /* makes /db/sub too */
    CHECK(io_mem_put("/other/c", "", 0) == 0);
    char **names = NULL;
    size_t n = 0;
    CHECK_KV(io_list("/db", &names, &n), KV_OK);
    CHECK_EQ(n, 3);
    if (n == 3) {
        CHECK(strcmp(names[0], "a") == 0);
        CHECK(strcmp(names[1], "b") == 0);
        CHECK(strcmp(names[2], "sub") == 0);
    }
    io_list_free(names, n);
    CHECK_KV(io_list("/db/a", &names, &n), KV_ERR_IO); /* a file */
    CHECK_KV(io_list("/none", &names, &n), KV_ERR_IO);
    io_mem_reset();
    int exists = 1;
    CHECK_KV(io_exists("/db", &exists), KV_OK);
    CHECK(!exists); /* io_mem_reset forgets everything */
    mem_end();
}

static void mem_locks_conflict_as_flock_does(void)
{
    mem_begin();
    io_lock *a = NULL, *b = NULL, *c = NULL;
    CHECK_KV(io_lock_acquire("/db/LOCK", 1, &a), KV_OK);
    int exists = 0;
    CHECK_KV(io_exists("/db/LOCK", &exists), KV_OK);
    CHECK(exists); /* the lock file is made */
    CHECK_KV(io_lock_acquire("/db/LOCK", 1, &b), KV_ERR_BUSY);
    CHECK_KV(io_lock_acquire("/db/LOCK", 0, &b), KV_ERR_BUSY);
    io_lock_release(a);
    CHECK_KV(io_lock_acquire("/db/LOCK", 0, &b), KV_OK);
    CHECK_KV(io_lock_acquire("/db/LOCK", 0, &c), KV_OK); /* shared with shared */
    CHECK_KV(io_lock_acquire("/db/LOCK", 1, &a), KV_ERR_BUSY);
    io_lock_release(b);
    io_lock_release(c);
    CHECK_KV(io_lock_acquire("/db/LOCK", 1, &a), KV_OK);
    io_lock_release(a);
    mem_end();
}

static void mem_map_is_an_exact_copy(void)
{
    mem_begin();
    CHECK(io_mem_put("/db/t", "table bytes", 11) == 0);
    io_file *f = NULL;
    CHECK_KV(io_open("/db/t", IO_READ, &f), KV_OK);
    const void *p = NULL;
    uint64_t len = 0;
    CHECK_KV(io_map(f, &p, &len), KV_OK);
    CHECK(p != NULL);
    CHECK_MEM(p, len, "table bytes", 11);
    CHECK(io_mem_put("/db/t", "changed", 7) == 0);
    CHECK_MEM(p, len, "table bytes", 11); /* a copy: what it was when mapped */
    io_unmap(f, p, len);
    io_close(f);
    const uint8_t *bytes = NULL;
    size_t n = 0;
    CHECK(io_mem_get("/db/t", &bytes, &n) == 0);
    CHECK_MEM(bytes, n, "changed", 7);
    CHECK(io_mem_get("/db/none", &bytes, &n) != 0);
    mem_end();
}

static const harness_test io_mem_tests[] = {
    HARNESS_TEST(mem_appends_read_back_and_truncate),
    HARNESS_TEST(mem_open_keeps_posix_rules),
    HARNESS_TEST(mem_unlinked_file_stays_readable_while_open),
    HARNESS_TEST(mem_lists_a_directory_s_children),
    HARNESS_TEST(mem_locks_conflict_as_flock_does),
    HARNESS_TEST(mem_map_is_an_exact_copy),
};

const harness_suite io_mem_suite = HARNESS_SUITE("io_mem", io_mem_tests);
