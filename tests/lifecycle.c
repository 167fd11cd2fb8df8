/*
 * lifecycle.c: kv.h's rules for opening and closing, for every stage: the
 * directory lock (KV_ERR_BUSY in this process and in a child, released when
 * the holder dies), create_if_missing, read-only opens, options, bad
 * arguments (KV_ERR_INVALID with a message), kv_strerror and kv_stage, and
 * the offline tools kv_check and kv_dump.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "harness.h"
#include "kv.h"
#include "testdb.h"

/* ---- opening and the lock --------------------------------------------- */

static void second_open_in_same_process_is_busy(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("k"), S("v"));
    kv_db *again = NULL;
    kv_error_clear();
    CHECK_KV(kv_open(dir, NULL, &again), KV_ERR_BUSY);
    CHECK(kv_errmsg()[0] != '\0');
    kv_options ro;
    kv_options_init(&ro);
    ro.read_only = 1;
    CHECK_KV(kv_open(dir, &ro, &again), KV_ERR_BUSY);
    /* The first handle is unharmed. */
    EXPECT(db, S("k"), S("v"));
    PUT(db, S("k2"), S("v2"));
    CLOSE(db);
    db = OPEN(dir, NULL);
    EXPECT(db, S("k2"), S("v2"));
    CLOSE(db);
}

/* Forks a child that opens dir; returns its exit code: 0 busy, 1 opened,
 * 2 any other status.  With `crash`, the child exits without kv_close. */
static int child_open(const char *dir, int crash)
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        kv_db *db = NULL;
        int s = kv_open(dir, NULL, &db);
        if (s == KV_OK && !crash)
            kv_close(db);
        _exit(s == KV_ERR_BUSY ? 0 : s == KV_OK ? 1 : 2);
    }
    int wstatus = 0;
    CHECK(waitpid(pid, &wstatus, 0) == pid);
    CHECK_MSG(WIFEXITED(wstatus), "child did not exit normally (status 0x%x)", wstatus);
    return WEXITSTATUS(wstatus);
}

static void second_open_in_other_process_is_busy(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    CHECK_EQ(child_open(dir, 0), 0);
    CLOSE(db);
    CHECK_EQ(child_open(dir, 0), 1);
}

/* The lock dies with the process that held it. */
static void lock_is_released_when_holder_dies(void)
{
    const char *dir = testdb_dir();
    CHECK_EQ(child_open(dir, 1), 1);
    kv_db *db = OPEN(dir, NULL);
    CLOSE(db);
}

static void close_then_open_again_works(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    for (int i = 0; i < 5; i++) {
        char k[8];
        int n = snprintf(k, sizeof k, "k%d", i);
        PUT(db, k, (size_t)n, k, (size_t)n);
        CLOSE(db);
        db = OPEN(dir, NULL);
        EXPECT(db, k, (size_t)n, k, (size_t)n);
    }
    CLOSE(db);
}

static void open_missing_dir_without_create_fails(void)
{
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.create_if_missing = 0;
    kv_db *db = NULL;
    kv_error_clear();
    int s = kv_open(dir, &opt, &db);
    CHECK_MSG(s != KV_OK, "kv_open of a missing directory returned KV_OK");
    CHECK(s < 0);
    CHECK_MSG(kv_errmsg()[0] != '\0', "no kv_errmsg after status %d", s);
    struct stat st;
    CHECK_MSG(stat(dir, &st) != 0, "the directory was created anyway");
}

static void open_of_regular_file_fails(void)
{
    const char *path = harness_join(harness_tmpdir(), "plain");
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("not a database\n", f);
    fclose(f);
    kv_db *db = NULL;
    kv_error_clear();
    int s = kv_open(path, NULL, &db);
    CHECK_MSG(s < 0, "kv_open of a regular file returned %d", s);
    CHECK(kv_errmsg()[0] != '\0');
    kv_options opt;
    kv_options_init(&opt);
    opt.create_if_missing = 0;
    s = kv_open(path, &opt, &db);
    CHECK_MSG(s < 0, "kv_open of a regular file returned %d", s);
}

static void options_init_sets_documented_defaults(void)
{
    kv_options opt;
    memset(&opt, 0x5A, sizeof opt);
    kv_options_init(&opt);
    CHECK_EQ(opt.create_if_missing, 1);
    CHECK_EQ(opt.sync, 0);
    CHECK_EQ(opt.read_only, 0);
    CHECK_EQ(opt.strict_recovery, 0);
    CHECK_EQ(opt.segment_bytes, 0);
}

/* sync = 1 changes durability, never results. */
static void sync_option_keeps_semantics(void)
{
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.sync = 1;
    kv_db *db = OPEN(dir, &opt);
    PUT(db, S("a"), S("1"));
    PUT(db, S("b"), S("2"));
    DEL(db, S("a"));
    CLOSE(db);
    db = OPEN(dir, &opt);
    ABSENT(db, S("a"));
    EXPECT(db, S("b"), S("2"));
    CLOSE(db);
}

/* ---- bad arguments -------------------------------------------------------- */

#define EXPECT_INVALID(call)                                                    \
    do {                                                                        \
        kv_error_clear();                                                       \
        CHECK_KV(call, KV_ERR_INVALID);                                         \
        CHECK_MSG(kv_errmsg()[0] != '\0', "%s: KV_ERR_INVALID with no kv_errmsg", #call); \
    } while (0)

static void bad_arguments_are_invalid_with_message(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("k"), S("v"));
    void *v = NULL;
    size_t vl = 0;
    kv_iter *it = NULL;
    char *text = NULL;
    kv_db *other = NULL;
    testdb_lines lines = {0};

    EXPECT_INVALID(kv_open(NULL, NULL, &other));
    EXPECT_INVALID(kv_open(harness_join(harness_tmpdir(), "x"), NULL, NULL));

    EXPECT_INVALID(kv_put(NULL, S("k"), S("v")));
    EXPECT_INVALID(kv_put(db, NULL, 1, S("v")));
    EXPECT_INVALID(kv_put(db, NULL, 0, S("v")));
    EXPECT_INVALID(kv_put(db, S("k"), NULL, 1));

    EXPECT_INVALID(kv_get(NULL, S("k"), &v, &vl));
    EXPECT_INVALID(kv_get(db, NULL, 1, &v, &vl));
    EXPECT_INVALID(kv_get(db, S("k"), NULL, &vl));
    EXPECT_INVALID(kv_get(db, S("k"), &v, NULL));

    EXPECT_INVALID(kv_delete(NULL, S("k")));
    EXPECT_INVALID(kv_delete(db, NULL, 1));

    EXPECT_INVALID(kv_compact(NULL));
    EXPECT_INVALID(kv_iter_new(NULL, &it));
    EXPECT_INVALID(kv_iter_new(db, NULL));
    EXPECT_INVALID(kv_stats(NULL, &text));
    EXPECT_INVALID(kv_stats(db, NULL));

    /* Nothing above changed the database. */
    EXPECT(db, S("k"), S("v"));
    testdb_pair want[] = {P("k", "v")};
    testdb_expect_scan(db, want, NPAIRS(want));
    CLOSE(db);

    EXPECT_INVALID(kv_check(NULL, testdb_lines_add, &lines));
    EXPECT_INVALID(kv_dump(NULL, testdb_lines_add, &lines));
    testdb_lines_free(&lines);
}

static void close_and_free_of_null_are_harmless(void)
{
    CHECK_KV(kv_close(NULL), KV_OK);
    kv_free(NULL);
}

static void strerror_names_every_status(void)
{
    static const int codes[] = {KV_OK, KV_NOT_FOUND, KV_ERR_IO, KV_ERR_CORRUPT,
                                KV_ERR_INVALID, KV_ERR_NOMEM, KV_ERR_BUSY};
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *s = kv_strerror(codes[i]);
        CHECK_MSG(s != NULL && s[0] != '\0', "kv_strerror(%d) is empty", codes[i]);
        for (size_t j = 0; j < i; j++)
            CHECK_MSG(strcmp(s, kv_strerror(codes[j])) != 0,
                      "kv_strerror(%d) == kv_strerror(%d)", codes[i], codes[j]);
    }
    const char *unknown = kv_strerror(12345);
    CHECK(unknown != NULL && unknown[0] != '\0');
    unknown = kv_strerror(-12345);
    CHECK(unknown != NULL && unknown[0] != '\0');
}

static void stage_name_is_not_empty(void)
{
    const char *s = kv_stage();
    CHECK(s != NULL && s[0] != '\0');
}

/* ---- read-only ------------------------------------------------------------ */

static void read_only_open_reads_and_refuses_writes(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("a"), S("1"));
    PUT(db, S("b"), S("2"));
    DEL(db, S("b"));
    CLOSE(db);
    uint64_t bytes = testdb_dir_bytes(dir);

    kv_options ro;
    kv_options_init(&ro);
    ro.read_only = 1;
    db = OPEN(dir, &ro);
    EXPECT(db, S("a"), S("1"));
    ABSENT(db, S("b"));
    testdb_pair want[] = {P("a", "1")};
    testdb_expect_scan(db, want, NPAIRS(want));
    kv_error_clear();
    CHECK_KV(kv_put(db, S("c"), S("3")), KV_ERR_INVALID);
    CHECK(kv_errmsg()[0] != '\0');
    kv_error_clear();
    CHECK_KV(kv_delete(db, S("a")), KV_ERR_INVALID);
    CHECK(kv_errmsg()[0] != '\0');
    EXPECT(db, S("a"), S("1"));
    ABSENT(db, S("c"));
    CLOSE(db);
    CHECK_EQ(testdb_dir_bytes(dir), bytes);

    db = OPEN(dir, NULL);
    EXPECT(db, S("a"), S("1"));
    ABSENT(db, S("c"));
    CLOSE(db);
}

static void read_only_open_of_missing_dir_fails(void)
{
    const char *dir = testdb_dir();
    kv_options ro;
    kv_options_init(&ro);
    ro.read_only = 1;
    kv_db *db = NULL;
    kv_error_clear();
    int s = kv_open(dir, &ro, &db);
    CHECK_MSG(s < 0, "read-only kv_open of a missing directory returned %d", s);
    CHECK(kv_errmsg()[0] != '\0');
    struct stat st;
    CHECK_MSG(stat(dir, &st) != 0, "a read-only open created the directory");
}

/* ---- offline tools -------------------------------------------------------- */

static void check_of_healthy_db_is_ok_with_lines(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    for (int i = 0; i < 20; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "k%02d", i);
        PUT(db, k, (size_t)kl, S("value"));
    }
    DEL(db, S("k05"));
    CLOSE(db);
    testdb_lines lines = {0};
    CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_OK);
    CHECK(lines.count > 0);
    testdb_lines_free(&lines);
    /* kv_check changed nothing. */
    db = OPEN(dir, NULL);
    EXPECT(db, S("k00"), S("value"));
    ABSENT(db, S("k05"));
    CLOSE(db);
}

static void check_of_missing_dir_fails(void)
{
    testdb_lines lines = {0};
    kv_error_clear();
    int s = kv_check(testdb_dir(), testdb_lines_add, &lines);
    CHECK_MSG(s < 0, "kv_check of a missing directory returned %d", s);
    CHECK(kv_errmsg()[0] != '\0');
    testdb_lines_free(&lines);
    s = kv_dump(testdb_dir(), testdb_lines_add, &lines);
    CHECK_MSG(s < 0, "kv_dump of a missing directory returned %d", s);
    testdb_lines_free(&lines);
}

static void dump_emits_a_line_per_record(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    int records = 0;
    for (int i = 0; i < 30; i++, records++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "key-%02d", i % 20);
        PUT(db, k, (size_t)kl, S("v"));
    }
    for (int i = 0; i < 5; i++, records++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "key-%02d", i);
        DEL(db, k, (size_t)kl);
    }
    CLOSE(db);
    testdb_lines lines = {0};
    CHECK_KV(kv_dump(dir, testdb_lines_add, &lines), KV_OK);
    CHECK_MSG(lines.count >= (size_t)records, "%zu lines for %d records", lines.count,
              records);
    testdb_lines_free(&lines);
}

static const harness_test tests[] = {
    HARNESS_TEST(second_open_in_same_process_is_busy),
    HARNESS_TEST(second_open_in_other_process_is_busy),
    HARNESS_TEST(lock_is_released_when_holder_dies),
    HARNESS_TEST(close_then_open_again_works),
    HARNESS_TEST(open_missing_dir_without_create_fails),
    HARNESS_TEST(open_of_regular_file_fails),
    HARNESS_TEST(options_init_sets_documented_defaults),
    HARNESS_TEST(sync_option_keeps_semantics),
    HARNESS_TEST(bad_arguments_are_invalid_with_message),
    HARNESS_TEST(close_and_free_of_null_are_harmless),
    HARNESS_TEST(strerror_names_every_status),
    HARNESS_TEST(stage_name_is_not_empty),
    HARNESS_TEST(read_only_open_reads_and_refuses_writes),
    HARNESS_TEST(read_only_open_of_missing_dir_fails),
    HARNESS_TEST(check_of_healthy_db_is_ok_with_lines),
    HARNESS_TEST(check_of_missing_dir_fails),
    HARNESS_TEST(dump_emits_a_line_per_record),
};
const harness_suite lifecycle_suite = HARNESS_SUITE("lifecycle", tests);
