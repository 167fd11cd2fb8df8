/*
 * file_cache_test.c: the open-file cache (file_cache.h): files opened on a
 * miss and shared on a hit, never more open than the bound once released,
 * a file in use never closed (FC1), evict, failed opens not cached (FC3),
 * threads, allocation failure, the mapping budget (FC6).  An io_ops
 * wrapper counts the files open.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../03-wal/tests/alloc_fail.h"
#include "cache_test_util.h"
#include "error.h"
#include "file_cache.h"
#include "io.h"
#include "io_fault.h"

/* ---- a backend that counts open files ------------------------------------------------ */

static const io_ops *counted_base;
static io_ops counted_ops;
static long open_now, open_peak, opens;

static int counted_open(const char *path, int flags, io_file **f)
{
    int rc = counted_base->open(path, flags, f);
    if (rc == 0) {
        (*f)->ops = &counted_ops; /* so that its close comes here */
        long now = __atomic_add_fetch(&open_now, 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&opens, 1, __ATOMIC_SEQ_CST);
        long peak = __atomic_load_n(&open_peak, __ATOMIC_SEQ_CST);
        while (now > peak &&
               !__atomic_compare_exchange_n(&open_peak, &peak, now, 0, __ATOMIC_SEQ_CST,
                                            __ATOMIC_SEQ_CST))
            ;
    }
    return rc;
}

static int counted_close(io_file *f)
{
    __atomic_sub_fetch(&open_now, 1, __ATOMIC_SEQ_CST);
    return counted_base->close(f);
}

static const io_ops *counting_install(void)
{
    counted_base = io_get_ops();
    counted_ops = *counted_base;
    counted_ops.name = "counted";
    counted_ops.open = counted_open;
    counted_ops.close = counted_close;
    open_now = open_peak = opens = 0;
    return io_set_ops(&counted_ops);
}

/* ---- files ------------------------------------------------------------------------------ */

/* Table file i of the test: 64 bytes, each i + its offset. */
static const char *table_path(const char *dir, int i)
{
    char name[32];
    snprintf(name, sizeof name, "%06d.tbl", i);
    return harness_join(dir, name);
}

static void make_tables(const char *dir, int n)
{
    for (int i = 0; i < n; i++) {
        uint8_t bytes[64];
        for (int b = 0; b < 64; b++)
            bytes[b] = (uint8_t)(i + b);
        FILE *f = fopen(table_path(dir, i), "wb");
        CHECK(f != NULL);
        CHECK(fwrite(bytes, 1, sizeof bytes, f) == sizeof bytes);
        CHECK(fclose(f) == 0);
    }
}

/* Whether the handle's file is table i (a read at offset 10). */
static int reads_table(file_cache_handle *h, int i)
{
    uint8_t b;
    size_t got;
    return io_read_at(file_cache_file(h), 10, &b, 1, &got) == KV_OK && got == 1 &&
           b == (uint8_t)(i + 10);
}

/* Table i's file through the cache (cache id i + 1), read and released. */
static void use_table(file_cache *fc, const char *dir, int i)
{
    file_cache_handle *h;
    CHECK_KV(file_cache_get(fc, (uint64_t)i + 1, table_path(dir, i), &h), KV_OK);
    CHECK(reads_table(h, i));
    file_cache_release(fc, h);
}

static void file_opened_once_then_shared(void)
{
    const char *dir = harness_tmpdir();
    make_tables(dir, 2);
    const io_ops *prev = counting_install();
    file_cache *fc;
    CHECK_KV(file_cache_new(0, &fc), KV_OK);
    file_cache_handle *a, *b;
    CHECK_KV(file_cache_get(fc, 1, table_path(dir, 0), &a), KV_OK);
    CHECK_KV(file_cache_get(fc, 1, table_path(dir, 0), &b), KV_OK);
    CHECK(a == b && reads_table(a, 0));
    CHECK_EQ(opens, 1);
    file_cache_release(fc, a);
    file_cache_release(fc, b);
    use_table(fc, dir, 1);
    use_table(fc, dir, 0);
    lru_cache_stats st;
    file_cache_stats(fc, &st);
    CHECK_EQ(st.hits, 2);
    CHECK_EQ(st.misses, 2);
    CHECK_EQ(st.entries, 2);
    CHECK_EQ(st.capacity, FILE_CACHE_DEFAULT_FILES);
    CHECK_EQ(open_now, 2);
    file_cache_free(fc);
    CHECK_EQ(open_now, 0);
    io_set_ops(prev);
}

static void open_files_never_pass_the_bound(void)
{
    const char *dir = harness_tmpdir();
    make_tables(dir, 30);
    const io_ops *prev = counting_install();
    file_cache *fc;
    CHECK_KV(file_cache_new(5, &fc), KV_OK);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 30; i++)
            use_table(fc, dir, (i * 7 + round) % 30);
    CHECK_EQ(open_peak, 6); /* five cached, and the one being opened */
    CHECK(open_now <= 5);
    file_cache_free(fc);
    CHECK_EQ(open_now, 0);
    io_set_ops(prev);
}

static void least_recently_used_file_is_closed_first(void)
{
    const char *dir = harness_tmpdir();
    make_tables(dir, 4);
    const io_ops *prev = counting_install();
    file_cache *fc;
    CHECK_KV(file_cache_new_sharded(3, 1, &fc), KV_OK);
    use_table(fc, dir, 0);
    use_table(fc, dir, 1);
    use_table(fc, dir, 2);
    use_table(fc, dir, 0); /* 1 is now the oldest */
    use_table(fc, dir, 3);
    CHECK_EQ(opens, 4);
    use_table(fc, dir, 0);
    use_table(fc, dir, 2);
    CHECK_EQ(opens, 4);
    use_table(fc, dir, 1); /* reopened */
    CHECK_EQ(opens, 5);
    file_cache_free(fc);
    io_set_ops(prev);
}

static void file_in_use_is_not_closed(void)
{
    const char *dir = harness_tmpdir();
    make_tables(dir, 10);
    const io_ops *prev = counting_install();
    file_cache *fc;
    CHECK_KV(file_cache_new_sharded(2, 1, &fc), KV_OK);
    file_cache_handle *held;
    CHECK_KV(file_cache_get(fc, 1, table_path(dir, 0), &held), KV_OK);
    for (int i = 1; i < 10; i++)
        use_table(fc, dir, i);
    CHECK(reads_table(held, 0)); /* FC1 */
    file_cache_evict(fc, 1);     /* closed for good, but held */
    CHECK(reads_table(held, 0));
    long before = open_now;
    file_cache_release(fc, held);
    CHECK_EQ(open_now, before - 1); /* closed on the last release */
    file_cache_evict(fc, 10);       /* table 9: not held: closed now */
    CHECK_EQ(open_now, before - 2);
    file_cache_evict(fc, 77);       /* never opened: nothing */
    file_cache_free(fc);
    CHECK_EQ(open_now, 0);
    io_set_ops(prev);
}

static void failed_open_is_not_cached(void)
{
    const char *dir = harness_tmpdir();
    file_cache *fc;
    CHECK_KV(file_cache_new(10, &fc), KV_OK);
    file_cache_handle *h = (file_cache_handle *)&fc; /* anything not NULL */
    CHECK_KV(file_cache_get(fc, 1, table_path(dir, 0), &h), KV_ERR_IO);
    CHECK(h == NULL);
    CHECK(strstr(kv_errmsg(), "000000.tbl") != NULL);
    make_tables(dir, 1); /* FC3: the next request opens it */
    use_table(fc, dir, 0);
    /* A failure of the open itself, from the I/O layer. */
    io_fault_plan plan = {.kinds = IO_FAULT_OPEN, .fail_at = 1, .err = 24 /* EMFILE */};
    io_fault_install(&plan);
    CHECK_KV(file_cache_get(fc, 2, table_path(dir, 0), &h), KV_ERR_IO);
    CHECK_EQ(io_fault_failures(), 1);
    io_fault_uninstall();
    use_table(fc, dir, 0);
    lru_cache_stats st;
    file_cache_stats(fc, &st);
    CHECK_EQ(st.entries, 1);
    CHECK_EQ(st.misses, 3);
    CHECK_EQ(st.hits, 1);
    file_cache_free(fc);
    file_cache_free(NULL);
}

static void shards_hold_eight_files_each_at_least(void)
{
    static const int bounds[] = {1, 7, 8, 16, 100, 1000};
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
        file_cache *fc;
        CHECK_KV(file_cache_new(bounds[i], &fc), KV_OK);
        lru_cache_stats st;
        file_cache_stats(fc, &st);
        CHECK_EQ(st.capacity, bounds[i]); /* exactly the bound */
        file_cache_free(fc);
    }
}

static void report_lines_say_table_cache(void)
{
    file_cache *fc;
    CHECK_KV(file_cache_new(3, &fc), KV_OK);
    cache_lines lines = {""};
    file_cache_report(fc, cache_lines_add, &lines);
    CHECK(strstr(lines.text, "session.table_cache.misses: 0\n") != NULL);
    CHECK(strstr(lines.text, "table_cache.capacity: 3\n") != NULL);
    file_cache_free(fc);
}

/* ---- threads ------------------------------------------------------------------------ */

typedef struct user {
    file_cache *fc;
    const char *const *paths; /* harness_join is for the test's thread */
    unsigned seed;
    long bad;
} user;

static void *user_run(void *arg)
{
    user *u = arg;
    for (int i = 0; i < 3000; i++) {
        u->seed = u->seed * 1103515245u + 12345u;
        int t = (int)((u->seed >> 12) % 20);
        file_cache_handle *h;
        if (file_cache_get(u->fc, (uint64_t)t + 1, u->paths[t], &h) != KV_OK) {
            u->bad++;
            continue;
        }
        u->bad += !reads_table(h, t);
        if (i % 101 == 0)
            file_cache_evict(u->fc, (uint64_t)t + 1);
        file_cache_release(u->fc, h);
    }
    return NULL;
}

static void threads_share_open_files(void)
{
    const char *dir = harness_tmpdir();
    make_tables(dir, 20);
    const char *paths[20];
    for (int i = 0; i < 20; i++)
        paths[i] = table_path(dir, i);
    const io_ops *prev = counting_install();
    file_cache *fc;
    CHECK_KV(file_cache_new_sharded(6, 2, &fc), KV_OK);
    user u[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        u[i] = (user){fc, paths, (unsigned)i * 31337u + 5u, 0};
        CHECK(pthread_create(&t[i], NULL, user_run, &u[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        CHECK(pthread_join(t[i], NULL) == 0);
        CHECK_EQ(u[i].bad, 0);
    }
    /* The bound, plus at most three per thread at any moment: the file it
     * holds or is opening, and what its last insert or release took out of
     * the cache (a duplicate it replaced, one evicted), which is closed
     * after the shard's lock is dropped (lru_cache.c), so a moment later. */
    CHECK(open_peak <= 6 + 3 * 4);
    CHECK(open_now <= 6);
    file_cache_free(fc);
    CHECK_EQ(open_now, 0);
    io_set_ops(prev);
}

static int make_file_cache(void **out)
{
    return file_cache_new(10, (file_cache **)out);
}

static void free_file_cache(void *fc) { file_cache_free(fc); }

static void failed_allocation_opens_nothing(void)
{
    if (!alloc_fail_available())
        return; /* a sanitizer's allocator: the release build tests this */
    const char *dir = harness_tmpdir();
    make_tables(dir, 1);
    const char *path = table_path(dir, 0); /* the harness allocates */
    const io_ops *prev = counting_install();
    file_cache *fc;
    CHECK_KV(file_cache_new(10, &fc), KV_OK);
    for (long n = 1;; n++) {
        file_cache_handle *h;
        alloc_fail_arm(n);
        int rc = file_cache_get(fc, 1, path, &h);
        long failures = alloc_fail_failures();
        alloc_fail_disarm();
        if (failures == 0) {
            CHECK_KV(rc, KV_OK);
            file_cache_release(fc, h);
            break;
        }
        CHECK_KV(rc, KV_ERR_NOMEM);
        CHECK(h == NULL);
        CHECK_EQ(open_now, 0); /* nothing left open */
    }
    file_cache_free(fc);
    cache_make_fails_cleanly(make_file_cache, free_file_cache);
    io_set_ops(prev);
}

/* FC4: a file is mapped when the backend can map (io_posix), and the
 * mapping shows the file's bytes as they are on disk, damage made after
 * the mapping included (so a block's checksum sees it).  No mapping under
 * a backend that cannot map (io_fault), or once mapping is turned off. */
static void files_are_mapped_where_the_backend_can(void)
{
    const char *dir = harness_tmpdir();
    make_tables(dir, 3);
    file_cache *fc;
    CHECK_KV(file_cache_new(0, &fc), KV_OK);
    file_cache_handle *h;
    CHECK_KV(file_cache_get(fc, 1, table_path(dir, 0), &h), KV_OK);
    uint64_t len = 0;
    const uint8_t *map = file_cache_map(h, &len);
    CHECK(map != NULL);
    CHECK_EQ(len, 64);
    CHECK_EQ(map[10], 10);
    FILE *f = fopen(table_path(dir, 0), "r+b");
    CHECK(f != NULL);
    CHECK(fseek(f, 10, SEEK_SET) == 0 && fputc(0xee, f) == 0xee && fclose(f) == 0);
    CHECK_EQ(map[10], 0xee);
    file_cache_release(fc, h);

    io_fault_plan plan = {0};
    io_fault_install(&plan);
    CHECK_KV(file_cache_get(fc, 2, table_path(dir, 1), &h), KV_OK);
    CHECK(file_cache_map(h, &len) == NULL && len == 0);
    CHECK(reads_table(h, 1));
    file_cache_release(fc, h);
    io_fault_uninstall();

    file_cache_set_map(fc, 0);
    CHECK_KV(file_cache_get(fc, 3, table_path(dir, 2), &h), KV_OK);
    CHECK(file_cache_map(h, &len) == NULL && len == 0);
    CHECK(reads_table(h, 2));
    file_cache_release(fc, h);
    file_cache_free(fc);
}

/* FC6: with a mapping budget of two files' bytes and a bit, the third file
 * open at once comes unmapped (and still reads), the mappings never pass
 * the budget, and a file closed gives its bytes back to the next one. */
static void mappings_stay_within_the_budget(void)
{
    const char *dir = harness_tmpdir();
    make_tables(dir, 4);
    file_cache *fc;
    CHECK_KV(file_cache_new_sharded(8, 1, &fc), KV_OK);
    file_cache_set_map_bytes(fc, 130);
    file_cache_handle *h[4];
    uint64_t len = 0;
    for (int i = 0; i < 3; i++)
        CHECK_KV(file_cache_get(fc, (uint64_t)i + 1, table_path(dir, i), &h[i]), KV_OK);
    CHECK(file_cache_map(h[0], &len) != NULL && len == 64);
    CHECK(file_cache_map(h[1], &len) != NULL && len == 64);
    CHECK(file_cache_map(h[2], &len) == NULL && len == 0);
    CHECK(reads_table(h[2], 2));
    CHECK_EQ(file_cache_mapped_bytes(fc), 128);
    cache_lines lines = {""};
    file_cache_report(fc, cache_lines_add, &lines);
    CHECK(strstr(lines.text, "table_cache.map_bytes_limit: 130\n") != NULL);
    CHECK(strstr(lines.text, "session.table_cache.opened_unmapped: 1\n") != NULL);
    for (int i = 0; i < 3; i++)
        file_cache_release(fc, h[i]);
    file_cache_evict(fc, 1); /* its 64 bytes back */
    CHECK_EQ(file_cache_mapped_bytes(fc), 64);
    CHECK_KV(file_cache_get(fc, 4, table_path(dir, 3), &h[3]), KV_OK);
    CHECK(file_cache_map(h[3], &len) != NULL && len == 64);
    CHECK_EQ(file_cache_mapped_bytes(fc), 128);
    file_cache_release(fc, h[3]);
    file_cache_set_map_bytes(fc, 10); /* smaller than any file: none mapped */
    CHECK_KV(file_cache_get(fc, 1, table_path(dir, 0), &h[0]), KV_OK);
    CHECK(file_cache_map(h[0], &len) == NULL && reads_table(h[0], 0));
    file_cache_release(fc, h[0]);
    file_cache_free(fc);
}

static const harness_test file_cache_tests[] = {
    HARNESS_TEST(files_are_mapped_where_the_backend_can),
    HARNESS_TEST(mappings_stay_within_the_budget),
    HARNESS_TEST(file_opened_once_then_shared),
    HARNESS_TEST(open_files_never_pass_the_bound),
    HARNESS_TEST(least_recently_used_file_is_closed_first),
    HARNESS_TEST(file_in_use_is_not_closed),
    HARNESS_TEST(failed_open_is_not_cached),
    HARNESS_TEST(shards_hold_eight_files_each_at_least),
    HARNESS_TEST(report_lines_say_table_cache),
    HARNESS_TEST(threads_share_open_files),
    HARNESS_TEST(failed_allocation_opens_nothing),
};
const harness_suite file_cache_suite = HARNESS_SUITE("file_cache", file_cache_tests);
