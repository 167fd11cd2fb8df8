/*
 * segment_test.c: segment files: names, roll-over at the size limit, and
 * recovery across segments (the torn-tail rule applies to the last
 * non-empty segment only; damage anywhere else is KV_ERR_CORRUPT naming the
 * file), leftovers of a merge, read-only opens, failed writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "io_fault.h"
#include "segment.h"
#include "stage_util.h"

#define VLEN 100

static void put_keys(kv_db *db, unsigned n, unsigned round)
{
    stage_put_keys(db, n, round, VLEN);
}

static void expect_keys(kv_db *db, unsigned n, unsigned round)
{
    stage_expect_keys(db, n, round, VLEN);
}

static void segment_names_sort_by_id_and_parse_strictly(void)
{
    char buf[SEGMENT_NAME_MAX];
    segment_name(buf, 7, SEGMENT_SUFFIX);
    CHECK(strcmp(buf, "0000000007.log") == 0);
    segment_name(buf, 4294967295u, SEGMENT_HINT_SUFFIX SEGMENT_TMP_SUFFIX);
    CHECK(strcmp(buf, "4294967295.hint.tmp") == 0);
    uint32_t id = 0;
    CHECK_EQ(segment_parse_name("0000000007.log", &id), SEGMENT_FILE_LOG);
    CHECK_EQ(id, 7);
    CHECK_EQ(segment_parse_name("4294967295.hint", &id), SEGMENT_FILE_HINT);
    CHECK_EQ(id, 4294967295u);
    CHECK_EQ(segment_parse_name("0000000007.log.tmp", &id), SEGMENT_FILE_TMP);
    CHECK_EQ(segment_parse_name("4294967296.log", &id), SEGMENT_FILE_OTHER);
    CHECK_EQ(segment_parse_name("0000000000.log", &id), SEGMENT_FILE_OTHER);
    CHECK_EQ(segment_parse_name("000000007.log", &id), SEGMENT_FILE_OTHER);
    CHECK_EQ(segment_parse_name("0000000007.logx", &id), SEGMENT_FILE_OTHER);
    CHECK_EQ(segment_parse_name("LOCK", &id), SEGMENT_FILE_OTHER);
    CHECK_EQ(segment_parse_name("data.log", &id), SEGMENT_FILE_OTHER);
}

static void rollover_starts_a_new_segment_at_the_limit(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(1000); /* 7 records of 126 bytes fit */
    kv_db *db = OPEN(dir, &opt);
    CHECK_EQ(stage_count_files(dir, ".log"), 1);
    put_keys(db, 7, 0);
    CHECK_EQ(stage_count_files(dir, ".log"), 1);
    put_keys(db, 1, 1); /* the 8th record would pass 1000 bytes */
    CHECK_EQ(stage_count_files(dir, ".log"), 2);
    put_keys(db, 100, 2);
    CHECK_EQ(stage_stat(db, "segments.count"), (double)stage_count_files(dir, ".log"));
    CHECK_EQ(stage_stat(db, "session.rollovers"), stage_count_files(dir, ".log") - 1);
    size_t n = stage_count_files(dir, ".log");
    CHECK_EQ(n, (108 + 6) / 7);
    for (size_t i = 0; i < n; i++)
        CHECK(stage_file_size(stage_nth_file(dir, ".log", i)) <= 1000);
    expect_keys(db, 100, 2);
    CLOSE(db);

    /* Reopen: the index comes back from every segment, and writes go on in
     * the last one. */
    db = OPEN(dir, &opt);
    expect_keys(db, 100, 2);
    CHECK_EQ(stage_stat(db, "open.segments_scanned"), n);
    CHECK_EQ(stage_stat(db, "live.keys"), 100);
    CHECK_EQ(stage_stat(db, "open.records"), 108);
    long long last = stage_file_size(stage_nth_file(dir, ".log", n - 1));
    PUT(db, S("one"), S("more"));
    CHECK_EQ(stage_count_files(dir, ".log"), n);
    CHECK(stage_file_size(stage_nth_file(dir, ".log", n - 1)) > last);
    CHECK(stage_ends_with_put(stage_nth_file(dir, ".log", n - 1), S("one"), S("more")));
    CLOSE(db);
}

static void record_larger_than_the_limit_gets_a_segment_of_its_own(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(64);
    kv_db *db = OPEN(dir, &opt);
    static char big[5000];
    memset(big, 'b', sizeof big);
    PUT(db, S("small"), S("1"));
    PUT(db, "big", 3, big, sizeof big);
    PUT(db, S("small2"), S("2"));
    CHECK_EQ(stage_count_files(dir, ".log"), 3);
    /* Its header, the record and its seal. */
    uint64_t record = stage_record_bytes(SEGMENT_START, 3, sizeof big);
    CHECK_EQ(stage_file_size(stage_nth_file(dir, ".log", 1)),
             SEGMENT_START + record + stage_seal_size(SEGMENT_START + record));
    EXPECT(db, "big", 3, big, sizeof big);
    CLOSE(db);
    db = OPEN(dir, &opt);
    EXPECT(db, "big", 3, big, sizeof big);
    EXPECT(db, S("small2"), S("2"));
    CLOSE(db);
}

/* Three segments of 7 records each; returns the options used. */
static kv_options three_segments(const char *dir)
{
    kv_options opt = stage_options(1000);
    kv_db *db = OPEN(dir, &opt);
    put_keys(db, 21, 0);
    CLOSE(db);
    CHECK_EQ(stage_count_files(dir, ".log"), 3);
    return opt;
}

static void torn_tail_of_the_last_segment_is_cut(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = three_segments(dir);
    const char *last = stage_nth_file(dir, ".log", 2);
    long long size = stage_file_size(last);
    stage_append(last, "\x01\x02\x03\x04\x05\x00\x09\x00\x00\x00torn", 14);

    kv_options strict = opt;
    strict.strict_recovery = 1;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &strict, &db), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), "0000000003.log") != NULL);

    /* A read-only open reports what it found, and cuts nothing. */
    kv_options ro = opt;
    ro.read_only = 1;
    db = OPEN(dir, &ro);
    expect_keys(db, 21, 0);
    CHECK_EQ(stage_stat(db, "open.torn_tail_bytes_found"), 14);
    CHECK_EQ(stage_stat(db, "open.torn_tail_bytes_cut"), 0);
    CLOSE(db);
    CHECK_EQ(stage_file_size(last), size + 14); /* read-only left it */

    db = OPEN(dir, &opt);
    expect_keys(db, 21, 0);
    CHECK_EQ(stage_stat(db, "open.torn_tail_bytes_found"), 14);
    CHECK_EQ(stage_stat(db, "open.torn_tail_bytes_cut"), 14);
    CHECK_EQ(stage_file_size(last), size);
    PUT(db, S("after"), S("cut"));
    CLOSE(db);
    db = OPEN(dir, &opt);
    EXPECT(db, S("after"), S("cut"));
    CLOSE(db);
}

static void torn_tail_of_a_closed_segment_is_corrupt_naming_it(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = three_segments(dir);
    const char *middle = stage_nth_file(dir, ".log", 1);
    stage_truncate(middle, stage_file_size(middle) - 5);
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_ERR_CORRUPT);
    /* Which file is checked, never the verdict's words (recover_judge is an
     * exercise's). */
    CHECK_MSG(strstr(kv_errmsg(), "0000000002.log") != NULL, "kv_errmsg: %s", kv_errmsg());
    CHECK(db == NULL);

    testdb_lines lines = {0};
    CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_ERR_CORRUPT);
    CHECK(strstr(lines.text, "0000000002.log: CORRUPT") != NULL);
    testdb_lines_free(&lines);
}

/* kv_check and kv_open share one verdict: a closed segment cut exactly
 * before its seal reads as a shorter valid segment, and both say it is
 * damaged. */
static void closed_segment_cut_before_its_seal_fails_check_and_open(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = three_segments(dir);
    const char *middle = stage_nth_file(dir, ".log", 1);
    uint64_t seal = stage_seal_of(middle);
    CHECK(seal > 0);
    stage_truncate(middle, stage_file_size(middle) - (long long)seal);
    testdb_lines lines = {0};
    CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(lines.text, "0000000002.log: CORRUPT: kv_open refuses the database") !=
              NULL, "%s", lines.text);
    testdb_lines_free(&lines);
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "0000000002.log") != NULL, "kv_errmsg: %s", kv_errmsg());
}

static void damage_in_a_closed_segment_is_corrupt_naming_file_and_offset(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = three_segments(dir);
    /* Record 2 of 7, after the file header (stage 02: at 16 + 126). */
    uint64_t second = SEGMENT_START + stage_record_bytes(SEGMENT_START, 16, VLEN);
    stage_flip_byte(stage_nth_file(dir, ".log", 0), (long long)second + 20);
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_ERR_CORRUPT);
    char want[64];
    snprintf(want, sizeof want, "0000000001.log: offset %llu", (unsigned long long)second);
    CHECK_MSG(strstr(kv_errmsg(), want) != NULL, "kv_errmsg: %s", kv_errmsg());
    testdb_lines lines = {0};
    CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_ERR_CORRUPT);
    snprintf(want, sizeof want, "0000000001.log: offset %llu: CORRUPT", (unsigned long long)second);
    CHECK_MSG(strstr(lines.text, want) != NULL, "%s", lines.text);
    testdb_lines_free(&lines);
}

/* A roll-over that created its file and then failed leaves an empty segment
 * after an unsealed one.  Writing to it would make the unsealed segment a
 * closed one without its seal (which kv_open refuses), so it is removed at
 * open and the torn segment stays the last one. */
static void empty_segments_after_an_unsealed_one_are_removed_at_open(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = three_segments(dir);
    const char *last = stage_nth_file(dir, ".log", 2);
    long long size = stage_file_size(last);
    stage_append(last, "\x01\x02\x03", 3);
    stage_write_file(harness_join(dir, "0000000009.log"), "", 0);
    kv_db *db = OPEN(dir, &opt);
    expect_keys(db, 21, 0);
    CHECK_EQ(stage_file_size(last), size);
    CHECK_EQ(stage_file_size(harness_join(dir, "0000000009.log")), -1); /* removed */
    PUT(db, S("x"), S("y")); /* goes to the last segment with records */
    CHECK(stage_file_size(last) > size);
    CHECK(stage_ends_with_put(last, S("x"), S("y")));
    CLOSE(db);
    db = OPEN(dir, &opt);
    EXPECT(db, S("x"), S("y"));
    CLOSE(db);
}

static void leftovers_of_a_merge_are_removed_at_open_but_not_read_only(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = three_segments(dir);
    stage_write_file(harness_join(dir, "0000000005.log.tmp"), "partial", 7);
    stage_write_file(harness_join(dir, "0000000005.hint.tmp"), "partial", 7);
    stage_write_file(harness_join(dir, "0000000006.hint"), "orphan", 6);
    stage_write_file(harness_join(dir, "notes.txt"), "mine", 4);

    testdb_lines lines = {0};
    CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_OK);
    CHECK(strstr(lines.text, "0000000005.log.tmp: an unfinished file") != NULL);
    CHECK(strstr(lines.text, "0000000006.hint: a hint without its segment") != NULL);
    char want[64];
    snprintf(want, sizeof want, "notes.txt: not a file of stage %s", kv_stage());
    CHECK_MSG(strstr(lines.text, want) != NULL, "%s", lines.text);
    testdb_lines_free(&lines);

    kv_options ro = opt;
    ro.read_only = 1;
    kv_db *db = OPEN(dir, &ro);
    expect_keys(db, 21, 0);
    CHECK_KV(kv_put(db, S("a"), S("b")), KV_ERR_INVALID);
    CHECK_KV(kv_compact(db), KV_ERR_INVALID);
    CLOSE(db);
    CHECK_EQ(stage_count_files(dir, ".tmp"), 2);
    CHECK_EQ(stage_count_files(dir, ".hint"), 1);

    db = OPEN(dir, &opt);
    CHECK_EQ(stage_stat(db, "open.leftovers_removed"), 3);
    expect_keys(db, 21, 0);
    /* Ids never go back below a file that was seen: the next segment is
     * above the orphan hint's 6. */
    CHECK_EQ(stage_stat(db, "segments.active_id"), 3);
    put_keys(db, 1, 1); /* segment 3 is full: this one rolls over */
    CHECK_EQ(stage_stat(db, "segments.active_id"), 7);
    CLOSE(db);
    CHECK_EQ(stage_count_files(dir, ".tmp"), 0);
    CHECK_EQ(stage_count_files(dir, ".hint"), 0);
    CHECK(stage_file_size(harness_join(dir, "notes.txt")) == 4);
}

static void read_only_open_of_an_empty_directory_finds_nothing(void)
{
    const char *dir = harness_tmpdir();
    kv_options ro = stage_options(0);
    ro.read_only = 1;
    kv_db *db = OPEN(dir, &ro);
    ABSENT(db, S("a"));
    CHECK_KV(kv_compact(db), KV_ERR_INVALID);
    CHECK_EQ(stage_stat(db, "segments.count"), 0);
    CHECK_EQ(stage_stat(db, "segments.limit_bytes"), 64 * 1024 * 1024);
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    kv_iter_seek_first(it);
    CHECK(!kv_iter_valid(it));
    kv_iter_free(it);
    CLOSE(db);
    CHECK_EQ(stage_count_files(dir, ""), 1); /* just LOCK */
}

static void failed_append_is_cut_off_and_writes_go_on(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(1000);
    kv_db *db = OPEN(dir, &opt);
    put_keys(db, 3, 0);
    CLOSE(db); /* reopen so the files use the fault backend */
    uint64_t before = stage_suffix_bytes(dir, ".log");
    /* Half the record is written, then the disk is full. */
    io_fault_plan plan = {.kinds = IO_FAULT_APPEND, .fail_at = 1, .persistent = 1,
                          .err = ENOSPC, .short_write = 1};
    io_fault_install(&plan);
    db = OPEN(dir, &opt);
    CHECK_KV(kv_put(db, S("k"), S("value")), KV_ERR_IO);
    CHECK(strstr(kv_errmsg(), "No space") != NULL);
    CHECK_EQ(stage_suffix_bytes(dir, ".log"), before);
    io_fault_plan none = {.kinds = IO_FAULT_APPEND};
    io_fault_install(&none);
    PUT(db, S("k"), S("value2"));
    CLOSE(db);
    io_fault_uninstall();
    db = OPEN(dir, &opt);
    EXPECT(db, S("k"), S("value2"));
    expect_keys(db, 3, 0);
    CLOSE(db);
}

static void failed_append_that_cannot_be_cut_refuses_writes_until_reopen(void)
{
    const char *dir = harness_tmpdir();
    kv_db *db = OPEN(dir, NULL);
    PUT(db, S("a"), S("1"));
    CLOSE(db);
    io_fault_plan plan = {.kinds = IO_FAULT_APPEND | IO_FAULT_TRUNCATE, .fail_at = 1,
                          .persistent = 1, .short_write = 1};
    io_fault_install(&plan);
    db = OPEN(dir, NULL);
    CHECK_KV(kv_put(db, S("b"), S("2")), KV_ERR_IO);
    CHECK(strstr(kv_errmsg(), "reopen") != NULL);
    io_fault_plan none = {.kinds = IO_FAULT_ALL};
    io_fault_install(&none);
    CHECK_KV(kv_put(db, S("c"), S("3")), KV_ERR_IO);
    CHECK_KV(kv_delete(db, S("zzz")), KV_ERR_IO);
    CHECK_KV(kv_compact(db), KV_ERR_IO);
    EXPECT(db, S("a"), S("1"));
    CLOSE(db);
    io_fault_uninstall();
    db = OPEN(dir, NULL); /* the half record is a torn tail: cut */
    EXPECT(db, S("a"), S("1"));
    ABSENT(db, S("b"));
    PUT(db, S("c"), S("3"));
    CLOSE(db);
}

static void failed_rollover_leaves_the_database_usable(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt = stage_options(1000);
    kv_db *db = OPEN(dir, &opt);
    put_keys(db, 7, 0);
    io_fault_plan plan = {.kinds = IO_FAULT_OPEN, .fail_at = 1};
    io_fault_install(&plan);
    char key[17], val[VLEN];
    stage_key(key, 7);
    stage_value(val, VLEN, 7, 0);
    CHECK_KV(kv_put(db, key, 16, val, VLEN), KV_ERR_IO);
    CHECK_EQ(stage_count_files(dir, ".log"), 1);
    PUT(db, key, 16, val, VLEN);
    io_fault_uninstall();
    CHECK_EQ(stage_count_files(dir, ".log"), 2);
    expect_keys(db, 8, 0);
    CLOSE(db);
}

static const harness_test segment_tests[] = {
    HARNESS_TEST(segment_names_sort_by_id_and_parse_strictly),
    HARNESS_TEST(rollover_starts_a_new_segment_at_the_limit),
    HARNESS_TEST(record_larger_than_the_limit_gets_a_segment_of_its_own),
    HARNESS_TEST(torn_tail_of_the_last_segment_is_cut),
    HARNESS_TEST(torn_tail_of_a_closed_segment_is_corrupt_naming_it),
    HARNESS_TEST(closed_segment_cut_before_its_seal_fails_check_and_open),
    HARNESS_TEST(damage_in_a_closed_segment_is_corrupt_naming_file_and_offset),
    HARNESS_TEST(empty_segments_after_an_unsealed_one_are_removed_at_open),
    HARNESS_TEST(leftovers_of_a_merge_are_removed_at_open_but_not_read_only),
    HARNESS_TEST(read_only_open_of_an_empty_directory_finds_nothing),
    HARNESS_TEST(failed_append_is_cut_off_and_writes_go_on),
    HARNESS_TEST(failed_append_that_cannot_be_cut_refuses_writes_until_reopen),
    HARNESS_TEST(failed_rollover_leaves_the_database_usable),
};
const harness_suite segment_suite = HARNESS_SUITE("segment", segment_tests);
