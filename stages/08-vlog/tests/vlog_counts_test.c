/*
 * vlog_counts_test.c: VLOGCOUNTS's bytes (vlog_counts.c): they round-trip;
 * every flipped byte and every cut is refused with the file and an offset;
 * counts that cannot be (live above value bytes, value bytes above the
 * file, undropped above what is dead, files out of order) are refused; a
 * version 1 file, which older builds wrote, is read with nothing
 * undropped.
 */
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "coding.h"
#include "crc32c.h"
#include "file_header.h"
#include "kv.h"
#include "value_log.h"

static const vlog_count sample[] = {
    {101, 4 << 20, 4000000, 1000000, 2500000, 150},
    {2000, 1 << 20, 1000000, 1000000, 0, 2100},
    {99999, 64 << 20, 0, 0, 0, 0},
};
#define NSAMPLE (sizeof sample / sizeof sample[0])

static void counts_round_trip(void)
{
    uint8_t *p = NULL;
    size_t len = 0;
    CHECK_KV(vlog_counts_encode(777, sample, NSAMPLE, &p, &len), KV_OK);
    CHECK_EQ(len, 32 + 48 * NSAMPLE + 4);
    uint64_t flushed = 0;
    vlog_count *c = NULL;
    size_t n = 0;
    CHECK_KV(vlog_counts_decode("VLOGCOUNTS", p, len, &flushed, &c, &n), KV_OK);
    CHECK_EQ(flushed, 777);
    CHECK_EQ(n, NSAMPLE);
    CHECK(memcmp(c, sample, sizeof sample) == 0);
    free(c);
    /* No files at all is a valid file too. */
    free(p);
    CHECK_KV(vlog_counts_encode(5, NULL, 0, &p, &len), KV_OK);
    CHECK_KV(vlog_counts_decode("VLOGCOUNTS", p, len, &flushed, &c, &n), KV_OK);
    CHECK_EQ(n, 0);
    free(c);
    free(p);
}

/* Version 1: 32-byte lines without undropped and counted_at. */
static void version_one_is_read(void)
{
    uint8_t p[32 + 2 * 32 + 4];
    file_header_encode(p, FILE_MAGIC_VLC08, 1);
    coding_put_u64(p + 16, 42);
    coding_put_u64(p + 24, 2);
    for (int i = 0; i < 2; i++) {
        coding_put_u64(p + 32 + 32 * i, sample[i].start);
        coding_put_u64(p + 40 + 32 * i, sample[i].bytes);
        coding_put_u64(p + 48 + 32 * i, sample[i].value_bytes);
        coding_put_u64(p + 56 + 32 * i, sample[i].live_bytes);
    }
    coding_put_u32(p + sizeof p - 4, crc32c_value(p + 16, sizeof p - 4 - 16));
    uint64_t flushed = 0;
    vlog_count *c = NULL;
    size_t n = 0;
    CHECK_KV(vlog_counts_decode("VLOGCOUNTS", p, sizeof p, &flushed, &c, &n), KV_OK);
    CHECK_EQ(flushed, 42);
    CHECK_EQ(n, 2);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(c[i].start, sample[i].start);
        CHECK_EQ(c[i].live_bytes, sample[i].live_bytes);
        CHECK_EQ(c[i].undropped, 0);
        CHECK_EQ(c[i].counted_at, 0);
    }
    free(c);
    /* A version 1 file of version 2's length is refused. */
    uint8_t *q = NULL;
    size_t len = 0;
    CHECK_KV(vlog_counts_encode(42, sample, 2, &q, &len), KV_OK);
    file_header_encode(q, FILE_MAGIC_VLC08, 1);
    coding_put_u32(q + len - 4, crc32c_value(q + 16, len - 4 - 16));
    CHECK_KV(vlog_counts_decode("VLOGCOUNTS", q, len, &flushed, &c, &n), KV_ERR_CORRUPT);
    free(q);
}

static void every_flip_and_cut_is_refused(void)
{
    uint8_t *p = NULL;
    size_t len = 0;
    CHECK_KV(vlog_counts_encode(777, sample, NSAMPLE, &p, &len), KV_OK);
    uint64_t flushed = 0;
    vlog_count *c = NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        p[i] ^= 0x40;
        harness_context("byte %zu flipped", i);
        CHECK_KV(vlog_counts_decode("VLOGCOUNTS", p, len, &flushed, &c, &n), KV_ERR_CORRUPT);
        CHECK(strstr(kv_errmsg(), "VLOGCOUNTS") != NULL && strstr(kv_errmsg(), "offset") != NULL);
        p[i] ^= 0x40;
    }
    for (size_t k = 0; k < len; k++) {
        uint8_t *cut = malloc(k ? k : 1); /* exactly k bytes, for ASan */
        CHECK(cut != NULL);
        memcpy(cut, p, k);
        harness_context("cut to %zu bytes", k);
        CHECK_KV(vlog_counts_decode("VLOGCOUNTS", cut, k, &flushed, &c, &n), KV_ERR_CORRUPT);
        free(cut);
    }
    free(p);
}

/* Counts re-sealed with a good crc but impossible numbers. */
static void impossible_counts_are_refused(void)
{
    struct {
        vlog_count c[2];
        const char *says;
    } bad[] = {
        {{{5, 100, 50, 60, 0, 0}, {9, 100, 0, 0, 0, 0}}, "more live bytes"},
        {{{5, 100, 150, 60, 0, 0}, {9, 100, 0, 0, 0, 0}}, "more value bytes"},
        {{{5, 100, 80, 60, 21, 0}, {9, 100, 0, 0, 0, 0}}, "more undropped bytes"},
        {{{9, 100, 0, 0, 0, 0}, {5, 100, 0, 0, 0, 0}}, "out of order"},
        {{{0, 100, 0, 0, 0, 0}, {5, 100, 0, 0, 0, 0}}, "named 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *p = NULL;
        size_t len = 0;
        CHECK_KV(vlog_counts_encode(1, bad[i].c, 2, &p, &len), KV_OK);
        uint64_t flushed = 0;
        vlog_count *c = NULL;
        size_t n = 0;
        CHECK_KV(vlog_counts_decode("VLOGCOUNTS", p, len, &flushed, &c, &n), KV_ERR_CORRUPT);
        CHECK_MSG(strstr(kv_errmsg(), bad[i].says) != NULL, "%s (wanted \"%s\")", kv_errmsg(),
                  bad[i].says);
        free(p);
    }
}

static const harness_test tests[] = {
    HARNESS_TEST(counts_round_trip),
    HARNESS_TEST(version_one_is_read),
    HARNESS_TEST(every_flip_and_cut_is_refused),
    HARNESS_TEST(impossible_counts_are_refused),
};
const harness_suite vlog_counts_suite = HARNESS_SUITE("vlog_counts", tests);
