/*
 * stats_file_test.c: DIR/STATS (stats_file.h): the bytes of the byte table
 * (zeros left out), a round trip, a load that takes all of a file or none
 * of it, names it does not count skipped, and each kind of damage refused
 * with the offset of the first wrong byte; a save leaves no STATS.tmp, and
 * a writable load removes one left behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "coding.h"
#include "crc32c.h"
#include "file_header.h"
#include "io.h"
#include "kv.h"
#include "lsm_test_util.h"
#include "stats_file.h"

static void write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    FILE *f = fopen(harness_join(dir, name), "wb");
    CHECK(f != NULL);
    CHECK_EQ(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void bytes_are_the_byte_table(void)
{
    uint64_t a = 7, zero = 0, b = 0x0102030405060708ull;
    stats_counters s = {0};
    stats_counters_add(&s, &a, "flush.count");
    stats_counters_add(&s, &zero, "compact.count"); /* zero: not written */
    stats_counters_add(&s, &b, "level.%d.us", 3);
    uint8_t *p = NULL;
    size_t n = 0;
    CHECK_KV(stats_file_encode(&s, &p, &n), KV_OK);
    CHECK_EQ(n, 16 + 4 + (1 + 11 + 8) + (1 + 10 + 8) + 4);
    CHECK(memcmp(p, "KVS04STA", 8) == 0);
    CHECK_EQ(coding_get_u32(p + 8), 1);
    CHECK_EQ(coding_get_u32(p + 16), 2);
    CHECK_EQ(p[20], 11);
    CHECK(memcmp(p + 21, "flush.count", 11) == 0);
    CHECK_EQ(coding_get_u64(p + 32), 7);
    CHECK_EQ(p[40], 10);
    CHECK(memcmp(p + 41, "level.3.us", 10) == 0);
    CHECK_EQ(coding_get_u64(p + 51), b);
    CHECK_EQ(coding_get_u32(p + 59), crc32c_value(p + 16, 59 - 16));
    free(p);
}

/* Saves two counters, loads them into others bound to the same names. */
static void saved_counters_load_back(void)
{
    const char *dir = lt_dir();
    CHECK_KV(io_mkdir(dir), KV_OK);
    uint64_t a = 41, b = 1u << 30, c = 5;
    stats_counters s = {0};
    stats_counters_add(&s, &a, "compact.count");
    stats_counters_add(&s, &b, "compact.bytes_written");
    stats_counters_add(&s, &c, "a_counter_a_later_build_dropped");
    CHECK_KV(stats_file_save(dir, &s), KV_OK);
    CHECK(lt_exists(dir, STATS_FILE_NAME) && !lt_exists(dir, STATS_FILE_TMP));
    uint64_t a2 = 0, b2 = 0, d2 = 99;
    stats_counters t = {0};
    stats_counters_add(&t, &b2, "compact.bytes_written");
    stats_counters_add(&t, &a2, "compact.count");
    stats_counters_add(&t, &d2, "a_counter_this_build_added");
    int found = 0;
    CHECK_KV(stats_file_load(dir, &t, 1, &found), KV_OK);
    CHECK_EQ(found, 1);
    CHECK_EQ(a2, 41);
    CHECK_EQ(b2, 1u << 30);
    CHECK_EQ(d2, 0); /* not in the file: zero */
}

static void no_file_is_not_an_error(void)
{
    const char *dir = lt_dir();
    CHECK_KV(io_mkdir(dir), KV_OK);
    uint64_t a = 3;
    stats_counters s = {0};
    stats_counters_add(&s, &a, "flush.count");
    int found = 1;
    CHECK_KV(stats_file_load(dir, &s, 1, &found), KV_OK);
    CHECK_EQ(found, 0);
    CHECK_EQ(a, 3);
}

static void writable_load_removes_an_unfinished_save(void)
{
    const char *dir = lt_dir();
    CHECK_KV(io_mkdir(dir), KV_OK);
    write_file(dir, STATS_FILE_TMP, (const uint8_t *)"half", 4);
    stats_counters s = {0};
    int found = 0;
    CHECK_KV(stats_file_load(dir, &s, 0, &found), KV_OK);
    CHECK(lt_exists(dir, STATS_FILE_TMP)); /* read-only: nothing removed */
    CHECK_KV(stats_file_load(dir, &s, 1, &found), KV_OK);
    CHECK(!lt_exists(dir, STATS_FILE_TMP));
}

static void bad_bindings_are_refused(void)
{
    uint64_t a = 0;
    stats_counters s = {0};
    stats_counters_add(&s, &a, "Upper");
    uint8_t *p = NULL;
    size_t n = 0;
    CHECK_KV(stats_file_encode(&s, &p, &n), KV_ERR_INVALID);
    stats_counters t = {0};
    stats_counters_add(&t, &a, "twice");
    stats_counters_add(&t, &a, "twice");
    CHECK_KV(stats_file_encode(&t, &p, &n), KV_ERR_INVALID);
    CHECK(p == NULL);
}

/* A file of the counters x = 1, y = 2, rewritten by `edit`, checksum made
 * right again unless keep_crc; decoding must fail at `offset` with `why`. */
static void expect_damage(void (*edit)(uint8_t *p, size_t *n), int keep_crc, size_t offset,
                          const char *why)
{
    uint64_t x = 1, y = 2;
    stats_counters s = {0};
    stats_counters_add(&s, &x, "x");
    stats_counters_add(&s, &y, "y");
    uint8_t *p = NULL, buf[256];
    size_t n = 0;
    CHECK_KV(stats_file_encode(&s, &p, &n), KV_OK);
    memcpy(buf, p, n);
    free(p);
    edit(buf, &n);
    if (!keep_crc)
        coding_put_u32(buf + n - 4, crc32c_value(buf + 16, n - 4 - 16));
    const char *dir = lt_dir();
    CHECK_KV(io_mkdir(dir), KV_OK);
    write_file(dir, STATS_FILE_NAME, buf, n);
    x = y = 77;
    int found = 0;
    CHECK_KV(stats_file_load(dir, &s, 1, &found), KV_ERR_CORRUPT);
    char at[32];
    snprintf(at, sizeof at, "offset %zu:", offset);
    CHECK_MSG(strstr(kv_errmsg(), at) != NULL && strstr(kv_errmsg(), why) != NULL &&
                  strstr(kv_errmsg(), STATS_FILE_NAME) != NULL,
              "want \"%s\" and \"%s\" in: %s", at, why, kv_errmsg());
    CHECK_MSG(x == 77 && y == 77, "a damaged file set counters: all or none");
}

/* The layout of x = 1, y = 2: header 0-15, count 16, x at 20 (1 + 1 + 8),
 * y at 30, the checksum at 40, 44 bytes. */
static void flip_value(uint8_t *p, size_t *n) { (void)n, p[25] ^= 1; }
static void cut_short(uint8_t *p, size_t *n) { (void)p, *n = 18; }
static void cut_mid(uint8_t *p, size_t *n) { (void)p, *n = 30; }
static void bad_magic(uint8_t *p, size_t *n) { (void)n, p[3] = 'X'; }
static void count_too_big(uint8_t *p, size_t *n) { (void)n, coding_put_u32(p + 16, 257); }
static void count_one_more(uint8_t *p, size_t *n) { (void)n, coding_put_u32(p + 16, 3); }
static void count_one_less(uint8_t *p, size_t *n) { (void)n, coding_put_u32(p + 16, 1); }
static void empty_name(uint8_t *p, size_t *n) { (void)n, p[30] = 0; }
static void long_name(uint8_t *p, size_t *n) { (void)n, p[30] = 48; }
static void bad_name(uint8_t *p, size_t *n) { (void)n, p[31] = 'Y'; }
static void same_name(uint8_t *p, size_t *n) { (void)n, p[31] = 'x'; }

static void damage_is_refused_where_it_is(void)
{
    expect_damage(flip_value, 1, 40, "checksum");
    expect_damage(cut_short, 1, 18, "too short");
    expect_damage(cut_mid, 1, 26, "checksum");
    expect_damage(bad_magic, 1, 0, "unknown magic");
    expect_damage(count_too_big, 0, 16, "a count of 257");
    expect_damage(count_one_more, 0, 40, "end before the count");
    expect_damage(count_one_less, 0, 30, "after the 1 counters");
    expect_damage(empty_name, 0, 30, "name of 0 bytes");
    expect_damage(long_name, 0, 30, "name of 48 bytes");
    expect_damage(bad_name, 0, 31, "byte 0x59");
    expect_damage(same_name, 0, 30, "\"x\" a second time");
}

static const harness_test stats_file_tests[] = {
    HARNESS_TEST(bytes_are_the_byte_table),
    HARNESS_TEST(saved_counters_load_back),
    HARNESS_TEST(no_file_is_not_an_error),
    HARNESS_TEST(writable_load_removes_an_unfinished_save),
    HARNESS_TEST(bad_bindings_are_refused),
    HARNESS_TEST(damage_is_refused_where_it_is),
};
const harness_suite stats_file_suite = HARNESS_SUITE("stats_file", stats_file_tests);
