/*
 * tools.c: kv_check and kv_dump, the offline tools behind `kv check` and
 * `kv dump`, and the iterator calls made in the wrong state.  Stage-neutral:
 * the tests look only at return codes and at whether lines name files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "io_fault.h"
#include "kv.h"
#include "testdb.h"

typedef struct tools_lines {
    int count;
    int mentions_offset;
} tools_lines;

static void tools_collect(void *ctx, const char *line)
{
    tools_lines *l = ctx;
    l->count++;
    if (strstr(line, "offset") != NULL)
        l->mentions_offset = 1;
}

static void check_and_dump_refuse_bad_directories(void)
{
    tools_lines l = {0};
    CHECK(kv_check(NULL, tools_collect, &l) < 0);
    CHECK(strlen(kv_errmsg()) > 0);
    CHECK(kv_dump(NULL, tools_collect, &l) < 0);
    const char *missing = harness_join(harness_tmpdir(), "no-such-db");
    CHECK(kv_check(missing, tools_collect, &l) < 0);
    CHECK(strstr(kv_errmsg(), "no-such-db") != NULL);
    CHECK(kv_dump(missing, tools_collect, &l) < 0);
}

static void check_and_dump_accept_an_empty_directory(void)
{
    const char *dir = harness_join(harness_tmpdir(), "empty");
    CHECK(mkdir(dir, 0755) == 0);
    tools_lines l = {0};
    CHECK_KV(kv_check(dir, tools_collect, &l), KV_OK);
    CHECK(l.count > 0);
    l.count = 0;
    CHECK_KV(kv_dump(dir, tools_collect, &l), KV_OK);
    CHECK(l.count > 0);
    /* A NULL line callback is allowed: the tool just reports nothing. */
    CHECK_KV(kv_check(dir, NULL, NULL), KV_OK);
}

static void check_of_a_fresh_database_is_ok(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("k"), S("v"));
    DEL(db, S("k"));
    CLOSE(db);
    tools_lines l = {0};
    CHECK_KV(kv_check(dir, tools_collect, &l), KV_OK);
    l.count = 0;
    CHECK_KV(kv_dump(dir, tools_collect, &l), KV_OK);
    CHECK(l.count >= 2); /* at least the put and the delete */
}

static void check_and_dump_report_read_errors(void)
{
    const char *dir;
    kv_db *db = testdb_fresh(&dir);
    PUT(db, S("k"), S("v"));
    CLOSE(db);
    for (int fail_open = 0; fail_open < 2; fail_open++) {
        io_fault_plan plan = {.kinds = fail_open ? IO_FAULT_OPEN : IO_FAULT_READ,
                              .fail_at = 1, .persistent = 1};
        tools_lines l = {0};
        io_fault_install(&plan);
        int check_rc = kv_check(dir, tools_collect, &l);
        int dump_rc = kv_dump(dir, tools_collect, &l);
        io_fault_uninstall();
        CHECK_MSG(check_rc < 0 && check_rc != KV_ERR_CORRUPT,
                  "kv_check with failing %s returned %d", fail_open ? "opens" : "reads",
                  check_rc);
        CHECK(dump_rc < 0);
        CHECK(strlen(kv_errmsg()) > 0);
    }
    tools_lines l = {0};
    CHECK_KV(kv_check(dir, tools_collect, &l), KV_OK);
}

static void iterator_calls_in_the_wrong_state_are_harmless(void)
{
    kv_db *db = testdb_fresh(NULL);
    PUT(db, S("a"), S("1"));
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    size_t n = 99;
    CHECK(kv_iter_key(it, &n) == NULL); /* not positioned yet */
    CHECK_EQ(n, 0);
    n = 99;
    CHECK(kv_iter_value(it, &n) == NULL);
    CHECK_EQ(n, 0);
    kv_iter_next(it); /* a no-op */
    CHECK(!kv_iter_valid(it));
    kv_iter_seek(it, NULL, 0); /* an empty key: the first key */
    CHECK(kv_iter_valid(it));
    CHECK_KV(kv_iter_status(it), KV_OK);
    kv_iter_seek(it, NULL, 3); /* NULL with a length is a bad argument */
    CHECK(!kv_iter_valid(it));
    CHECK_KV(kv_iter_status(it), KV_ERR_INVALID);
    kv_iter_free(it);

    CHECK_KV(kv_iter_new(NULL, &it), KV_ERR_INVALID);
    CHECK_KV(kv_iter_new(db, NULL), KV_ERR_INVALID);
    CHECK_KV(kv_iter_status(NULL), KV_ERR_INVALID);
    CHECK(!kv_iter_valid(NULL));
    kv_iter_seek_first(NULL);
    kv_iter_seek(NULL, "a", 1);
    kv_iter_next(NULL);
    CHECK(kv_iter_key(NULL, NULL) == NULL);
    CHECK(kv_iter_value(NULL, NULL) == NULL);
    kv_iter_free(NULL);
    CLOSE(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(check_and_dump_refuse_bad_directories),
    HARNESS_TEST(check_and_dump_accept_an_empty_directory),
    HARNESS_TEST(check_of_a_fresh_database_is_ok),
    HARNESS_TEST(check_and_dump_report_read_errors),
    HARNESS_TEST(iterator_calls_in_the_wrong_state_are_harmless),
};
const harness_suite tools_suite = HARNESS_SUITE("tools", tests);
