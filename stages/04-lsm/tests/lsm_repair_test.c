/*
 * lsm_repair_test.c: logs damaged in ways only damage explains, on logs
 * written by hand: what kv_open refuses, what kv_check says, and what
 * kv_repair keeps (every intact record whose numbers follow the ones
 * before it) and drops.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../tests/harness.h"
#include "kv.h"
#include "lsm_test_util.h"
#include "table_test_util.h"

#define WAL1 "000000000001.log"

/* A log before the last is synced and sealed before the next one takes a
 * write, so a crash cannot tear it: a torn tail there (here: log 1 cut in
 * the middle of its second record, the batch) is damage, refused; kv_repair
 * keeps what comes before the cut. */
static void torn_tail_of_a_log_before_the_last_is_damage(void)
{
    const char *dir = lt_empty_db();
    static const lt_op ops1[] = {{"a", "1"}, {"b", "2"}, {"a", NULL}};
    uint64_t size = lt_write_log(dir, 1, ops1, (const size_t[]){0, 1, 3},
                                 (const uint64_t[]){1, 2}, 2, 0);
    static const lt_op ops4[] = {{"c", "3"}};
    lt_write_log(dir, 4, ops4, (const size_t[]){0, 1}, (const uint64_t[]){4}, 1, 0);
    const char *path = harness_join(dir, WAL1);
    uint8_t *bytes = NULL;
    CHECK_EQ(tt_read_file(path, &bytes), size);
    tt_write_file(path, bytes, (size_t)size - 4);
    free(bytes);

    kv_options opt;
    kv_options_init(&opt);
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), WAL1) != NULL &&
                  strstr(kv_errmsg(), "only the last log can end in a torn write") != NULL,
              "%s", kv_errmsg());
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(out.text, "only the last log can end in a torn write") != NULL, "%s",
              out.text);
    out.len = 0;
    CHECK_KV(kv_repair(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(strstr(out.text, "repair: 1 log rewritten") != NULL, "%s", out.text);
    CHECK_MSG(strstr(out.text, "they held sequence numbers 2..3 (2 writes)") != NULL, "%s",
              out.text);
    out.len = 0;
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "a", "1"); /* the batch that deleted it is lost, whole */
    lt_expect(db, "b", NULL);
    lt_expect(db, "c", "3");
    CHECK_EQ(lt_stat(db, "seq.last"), 4);
    CHECK_KV(kv_close(db), KV_OK);
}

/* A whole record (its checksum right) numbered not above the one before it
 * is not one of the engine's writes: kv_open refuses the log, and kv_repair
 * drops that record alone, keeping the ones after it. */
static void repair_drops_a_record_whose_numbers_go_back(void)
{
    const char *dir = lt_empty_db();
    static const lt_op ops1[] = {{"a", "1"}, {"b", "2"}, {"x", "9"}, {"c", "3"}};
    lt_write_log(dir, 1, ops1, (const size_t[]){0, 1, 2, 3, 4},
                 (const uint64_t[]){1, 2, 2, 3}, 4, 1);
    static const lt_op ops4[] = {{"d", "4"}};
    lt_write_log(dir, 4, ops4, (const size_t[]){0, 1}, (const uint64_t[]){4}, 1, 0);
    kv_options opt;
    kv_options_init(&opt);
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "a sequence number not above the one before it") != NULL,
              "%s", kv_errmsg());
    lt_lines out = {0};
    CHECK_KV(kv_repair(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(strstr(out.text, "bytes lost: a record whose sequence numbers do not follow the "
                     "ones before it") != NULL, "%s", out.text);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "a", "1");
    lt_expect(db, "b", "2");
    lt_expect(db, "x", NULL);
    lt_expect(db, "c", "3");
    lt_expect(db, "d", "4");
    CHECK_KV(kv_close(db), KV_OK);
    out.len = 0;
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
}

/* A log before the last that is whole but ends without its seal (cut
 * after it was closed exactly at a record's end, or never sealed) is
 * refused by kv_open, strict or not; kv_repair rewrites it with every
 * record and its seal (it used to leave it, being free of damage), so that
 * kv_open opens the database, strict too, and kv_check finds it intact. */
static void repair_seals_a_whole_log_before_the_last(void)
{
    const char *dir = lt_empty_db();
    static const lt_op ops1[] = {{"a", "1"}, {"b", "2"}};
    lt_write_log(dir, 1, ops1, (const size_t[]){0, 1, 2}, (const uint64_t[]){1, 2}, 2, 0);
    static const lt_op ops3[] = {{"c", "3"}};
    lt_write_log(dir, 3, ops3, (const size_t[]){0, 1}, (const uint64_t[]){3}, 1, 0);
    kv_options opt;
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, NULL, &db), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), WAL1) != NULL &&
                  strstr(kv_errmsg(), "does not end with its seal") != NULL, "%s", kv_errmsg());
    lt_lines out = {0};
    CHECK_KV(kv_repair(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(strstr(out.text, "kept 2 intact records") != NULL &&
                  strstr(out.text, "repair: 1 log rewritten (0 bytes lost)") != NULL, "%s",
              out.text);
    out.len = 0;
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    lt_expect(db, "a", "1");
    lt_expect(db, "b", "2");
    lt_expect(db, "c", "3");
    CHECK_KV(kv_close(db), KV_OK);
}

/* kv_repair names a directory that does not exist, and makes nothing. */
static void repair_of_a_missing_directory_makes_nothing(void)
{
    const char *dir = harness_join(harness_tmpdir(), "none");
    lt_lines out = {0};
    CHECK_KV(kv_repair(dir, lt_collect, &out), KV_ERR_INVALID);
    CHECK_MSG(strstr(kv_errmsg(), dir) != NULL && strstr(kv_errmsg(), "does not exist"), "%s",
              kv_errmsg());
    CHECK_EQ(out.len, 0);
    CHECK(access(dir, F_OK) != 0);
}

static const harness_test lsm_repair_tests[] = {
    HARNESS_TEST(torn_tail_of_a_log_before_the_last_is_damage),
    HARNESS_TEST(repair_drops_a_record_whose_numbers_go_back),
    HARNESS_TEST(repair_seals_a_whole_log_before_the_last),
    HARNESS_TEST(repair_of_a_missing_directory_makes_nothing),
};

const harness_suite lsm_repair_suite = HARNESS_SUITE("lsm_repair", lsm_repair_tests);
