/*
 * current_file_test.c: CURRENT (current_file.h): the line's bytes, every
 * malformed or damaged line refused with KV_ERR_CORRUPT naming the file and
 * the offset, the manifests' names, the switch through CURRENT.tmp, and
 * every failing I/O call of the switch leaving CURRENT whole (old or new).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "crc32c.h"
#include "current_file.h"
#include "io.h"
#include "io_fault.h"
#include "kv.h"
#include "manifest_test_util.h"

static void line_is_name_checksum_newline(void)
{
    char line[CURRENT_MAX_BYTES];
    size_t n = current_line_encode(line, 7);
    char want[64];
    snprintf(want, sizeof want, "MANIFEST-000007 crc32c=%08" PRIx32 "\n",
             crc32c_value("MANIFEST-000007", 15));
    CHECK_MEM(line, n, want, strlen(want));
    uint64_t number = 0;
    CHECK_KV(current_line_decode((const uint8_t *)line, n, "CURRENT", &number), KV_OK);
    CHECK_EQ(number, 7);
    /* The largest number fits. */
    n = current_line_encode(line, UINT64_MAX);
    CHECK(n <= CURRENT_MAX_BYTES);
    CHECK_KV(current_line_decode((const uint8_t *)line, n, "CURRENT", &number), KV_OK);
    CHECK(number == UINT64_MAX);
}

static void manifest_names_parse_only_as_written(void)
{
    char name[MANIFEST_NAME_MAX];
    uint64_t n = 0;
    CHECK(strcmp(manifest_file_name(name, 12), "MANIFEST-000012") == 0);
    CHECK(manifest_file_number("MANIFEST-000012", &n) && n == 12);
    CHECK(manifest_file_number("MANIFEST-1234567", &n) && n == 1234567);
    CHECK(manifest_file_number("MANIFEST-18446744073709551615", &n) && n == UINT64_MAX);
    static const char *const not_names[] = {
        "MANIFEST-12", "MANIFEST-0000012", "MANIFEST-000000", "MANIFEST-000012.tmp",
        "MANIFEST-", "MANIFEST-00001a", "manifest-000012", "MANIFEST-18446744073709551616",
        "MANIFEST-99999999999999999999", "000012.tbl", "CURRENT"};
    for (size_t i = 0; i < sizeof not_names / sizeof not_names[0]; i++) {
        harness_context("%s", not_names[i]);
        CHECK(!manifest_file_number(not_names[i], &n));
    }
}

static void expect_line_refused(const char *line, size_t n, const char *says)
{
    uint8_t *p = malloc(n ? n : 1); /* exactly n bytes, for ASan */
    CHECK(p != NULL);
    memcpy(p, line, n);
    uint64_t number = 0;
    harness_context("line \"%.*s\"", (int)n, line);
    CHECK_KV(current_line_decode(p, n, "db/CURRENT", &number), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "db/CURRENT: offset ") != NULL, "%s", kv_errmsg());
    CHECK_MSG(strstr(kv_errmsg(), says) != NULL, "%s (wanted \"%s\")", kv_errmsg(), says);
    free(p);
}

static void malformed_lines_are_refused(void)
{
    char good[CURRENT_MAX_BYTES + 1];
    size_t n = current_line_encode(good, 7);
    good[n] = '\0';
    expect_line_refused("", 0, "offset 0: empty");
    expect_line_refused(good, n - 1, "offset 31: the line should end here with a newline");
    char extra[80];
    snprintf(extra, sizeof extra, "%sX", good);
    expect_line_refused(extra, n + 1, "(2 bytes follow the checksum)");
    expect_line_refused("MANIFEST-7 crc32c=00000000\n", 27, "offset 0: does not start");
    expect_line_refused("MANIFEST-000000 crc32c=00000000\n", 32, "does not start");
    expect_line_refused("MANIFEST-000007\n", 16, "does not start");
    expect_line_refused("MANIFEST-000007 crc32=00000000\n", 31, "offset 15: \" crc32c=\"");
    expect_line_refused("MANIFEST-000007 crc32c=0000\n", 28, "offset 15");
    char upper[80];
    snprintf(upper, sizeof upper, "MANIFEST-000007 crc32c=%08" PRIX32 "\n",
             crc32c_value("MANIFEST-000007", 15));
    if (strcmp(upper, good) != 0)
        expect_line_refused(upper, strlen(upper), "8 lowercase hex digits");
    expect_line_refused("MANIFEST-000007 crc32c=0000000g\n", 32, "offset 30: the checksum");
    expect_line_refused("MANIFEST-000007 crc32c=00000000\n", 32, "offset 23: checksum 00000000, but the name's bytes give");
    char longer[CURRENT_MAX_BYTES + 2];
    memset(longer, '0', sizeof longer);
    expect_line_refused(longer, sizeof longer, "longer than any line naming a manifest");
}

/* Every byte of a good line changed to every other value: refused. */
static void every_changed_byte_is_refused(void)
{
    char good[CURRENT_MAX_BYTES];
    size_t n = current_line_encode(good, 1234567);
    uint8_t p[CURRENT_MAX_BYTES];
    for (size_t i = 0; i < n; i++)
        for (unsigned v = 0; v < 256; v++) {
            if (v == (uint8_t)good[i])
                continue;
            memcpy(p, good, n);
            p[i] = (uint8_t)v;
            uint64_t number = 0;
            harness_context("byte %zu = %02x", i, v);
            CHECK_KV(current_line_decode(p, n, "CURRENT", &number), KV_ERR_CORRUPT);
        }
}

static void switch_writes_current_and_leaves_no_tmp(void)
{
    const char *dir = harness_tmpdir();
    int renamed = 0;
    CHECK_KV(current_file_write(dir, 3, &renamed), KV_OK);
    CHECK(renamed);
    uint64_t number = 0;
    CHECK_KV(current_file_read(dir, &number), KV_OK);
    CHECK_EQ(number, 3);
    CHECK_KV(current_file_write(dir, 1000000, &renamed), KV_OK);
    CHECK_KV(current_file_read(dir, &number), KV_OK);
    CHECK_EQ(number, 1000000);
    int exists = 1;
    CHECK_KV(io_exists(harness_join(dir, CURRENT_FILE_TMP), &exists), KV_OK);
    CHECK(!exists);
    size_t n;
    uint8_t *p = mt_read_file(harness_join(dir, CURRENT_FILE_NAME), &n);
    char want[CURRENT_MAX_BYTES];
    CHECK_MEM(p, n, want, current_line_encode(want, 1000000));
    free(p);
}

static void missing_or_overlong_current_is_corrupt(void)
{
    const char *dir = harness_tmpdir();
    uint64_t number = 0;
    CHECK_KV(current_file_read(dir, &number), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "CURRENT: missing") != NULL, "%s", kv_errmsg());
    uint8_t big[4096];
    memset(big, 'M', sizeof big);
    mt_write_file(harness_join(dir, CURRENT_FILE_NAME), big, sizeof big);
    CHECK_KV(current_file_read(dir, &number), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "4096 bytes, longer than any line") != NULL, "%s",
              kv_errmsg());
    mt_write_file(harness_join(dir, CURRENT_FILE_NAME), (const uint8_t *)"MANIFEST-000001", 15);
    CHECK_KV(current_file_read(dir, &number), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "/CURRENT: offset 15: \" crc32c=\"") != NULL, "%s",
              kv_errmsg());
}

/* The switch from 5 to 6 with I/O call k failing, for every k (once, or
 * from then on after a short write, as a full disk does): an error says
 * which call, CURRENT reads 5 or (once renamed) 6, whole, and CURRENT.tmp
 * is gone unless the failures went on to its removal. */
static void every_failing_call_of_the_switch_leaves_current_whole(void)
{
    const char *dir = harness_tmpdir();
    int renamed = 0;
    CHECK_KV(current_file_write(dir, 5, &renamed), KV_OK);
    for (int persistent = 0; persistent <= 1; persistent++)
        for (long k = 1;; k++) {
            harness_context("I/O call %ld fails%s", k, persistent ? ", and every one after" : "");
            io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = k, .err = EIO,
                                  .persistent = persistent, .short_write = persistent};
            io_fault_install(&plan);
            int rc = current_file_write(dir, 6, &renamed);
            long failures = io_fault_failures();
            io_fault_uninstall();
            uint64_t number = 0;
            CHECK_KV(current_file_read(dir, &number), KV_OK);
            if (failures == 0) {
                CHECK_KV(rc, KV_OK);
                CHECK_EQ(number, 6);
                CHECK_KV(current_file_write(dir, 5, &renamed), KV_OK);
                break;
            }
            CHECK_KV(rc, KV_ERR_IO);
            CHECK_MSG(strstr(kv_errmsg(), "switching ") != NULL &&
                      strstr(kv_errmsg(), "MANIFEST-000006") != NULL, "%s", kv_errmsg());
            CHECK_EQ(number, renamed ? 6 : 5);
            int exists = 0;
            CHECK_KV(io_exists(harness_join(dir, CURRENT_FILE_TMP), &exists), KV_OK);
            CHECK(!exists || persistent);
            if (renamed)
                CHECK_KV(current_file_write(dir, 5, &renamed), KV_OK);
        }
}

static const harness_test current_file_tests[] = {
    HARNESS_TEST(line_is_name_checksum_newline),
    HARNESS_TEST(manifest_names_parse_only_as_written),
    HARNESS_TEST(malformed_lines_are_refused),
    HARNESS_TEST(every_changed_byte_is_refused),
    HARNESS_TEST(switch_writes_current_and_leaves_no_tmp),
    HARNESS_TEST(missing_or_overlong_current_is_corrupt),
    HARNESS_TEST(every_failing_call_of_the_switch_leaves_current_whole),
};
const harness_suite current_file_suite = HARNESS_SUITE("current_file", current_file_tests);
