/*
 * file_start_test.c: the rule for the first 16 bytes of a data file
 * (common/file_start.h): empty, a header a crash cut short, the header, or
 * damage.
 */
#include <string.h>

#include "../harness.h"
#include "file_start.h"
#include "io.h"
#include "kv.h"

static file_start start_of(const void *p, size_t n)
{
    const char *path = harness_join(harness_tmpdir(), "f");
    io_file *f = NULL;
    CHECK_KV(io_open(path, IO_WRITE | IO_CREATE | IO_TRUNC, &f), KV_OK);
    if (n > 0)
        CHECK_KV(io_append_bytes(f, p, n), KV_OK);
    file_start fs;
    CHECK_KV(file_start_read(f, n, FILE_MAGIC_SEG02, 1, &fs), KV_OK);
    io_close(f);
    return fs;
}

static void header_written_is_read_back(void)
{
    const char *path = harness_join(harness_tmpdir(), "g");
    io_file *f = NULL;
    CHECK_KV(io_open(path, IO_WRITE | IO_CREATE | IO_TRUNC, &f), KV_OK);
    CHECK_KV(file_start_write(f, FILE_MAGIC_SEG02, 1), KV_OK);
    file_start fs;
    CHECK_KV(file_start_read(f, FILE_HEADER_SIZE, FILE_MAGIC_SEG02, 1, &fs), KV_OK);
    CHECK_EQ(fs.state, FILE_START_OK);
    io_close(f);
    CHECK_EQ(start_of("", 0).state, FILE_START_EMPTY);
}

/* Part of the header, zeros, or garbage, with nothing after them: a crash
 * while the file was being created. */
static void header_cut_short_by_a_crash_is_torn(void)
{
    uint8_t h[FILE_HEADER_SIZE + 4];
    file_header_encode(h, FILE_MAGIC_SEG02, 1);
    for (size_t n = 1; n < FILE_HEADER_SIZE; n++)
        CHECK_MSG(start_of(h, n).state == FILE_START_TORN, "%zu bytes of the header", n);
    uint8_t zeros[FILE_HEADER_SIZE] = {0};
    CHECK_EQ(start_of(zeros, sizeof zeros).state, FILE_START_TORN);
    CHECK_EQ(start_of("garbage garbage!", FILE_HEADER_SIZE).state, FILE_START_TORN);
    file_start fs = start_of(h, 7);
    CHECK(strstr(fs.why, "offset 0") != NULL && strstr(fs.why, "cut short") != NULL);
}

/* A wrong header with bytes after it was not left by a crash: the records
 * after it were written after it. */
static void wrong_header_with_bytes_after_it_is_damage(void)
{
    uint8_t h[FILE_HEADER_SIZE + 4] = {0};
    CHECK_EQ(start_of(h, sizeof h).state, FILE_START_BAD);
    file_header_encode(h, FILE_MAGIC_SEG02, 1);
    h[3] ^= 1;
    CHECK_EQ(start_of(h, sizeof h).state, FILE_START_BAD);
}

/* Another format's whole header is never taken for a torn one: the file
 * says what it is. */
static void another_formats_header_is_damage_naming_it(void)
{
    uint8_t h[FILE_HEADER_SIZE];
    file_header_encode(h, FILE_MAGIC_WAL03, 1);
    file_start fs = start_of(h, sizeof h);
    CHECK_EQ(fs.state, FILE_START_BAD);
    CHECK_MSG(strstr(fs.why, "stage-03") != NULL, "%s", fs.why);
    file_header_encode(h, FILE_MAGIC_SEG02, 2);
    CHECK_EQ(start_of(h, sizeof h).state, FILE_START_BAD);
}

static const harness_test tests[] = {
    HARNESS_TEST(header_written_is_read_back),
    HARNESS_TEST(header_cut_short_by_a_crash_is_torn),
    HARNESS_TEST(wrong_header_with_bytes_after_it_is_damage),
    HARNESS_TEST(another_formats_header_is_damage_naming_it),
};
const harness_suite file_start_suite = HARNESS_SUITE("file_start", tests);
