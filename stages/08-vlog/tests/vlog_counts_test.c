/*
 * vlog_counts_test.c: VLOGCOUNTS's bytes (vlog_counts.c): they round-trip;
 * every flipped byte and every cut is refused with the file and an offset;
 * counts that cannot be (live above value bytes, value bytes above the
 * file, files out of order) are refused.
 */
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "coding.h"
#include "crc32c.h"
#include "kv.h"
#include "value_log.h"

static const vlog_count sample[] = {
    {101, 4 << 20, 4000000, 1000000},
    {2000, 1 << 20, 1000000, 1000000},
    {99999, 64 << 20, 0, 0},
};
#define NSAMPLE (sizeof sample / sizeof sample[0])

static void counts_round_trip(void)
{
    uint8_t *p = NULL;
    size_t len = 0;
    CHECK_KV(vlog_counts_encode(777, sample, NSAMPLE, &p, &len), KV_OK);
    CHECK_EQ(len, 32 + 32 * NSAMPLE + 4);
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
        {{{5, 100, 50, 60}, {9, 100, 0, 0}}, "more live bytes"},
        {{{5, 100, 150, 60}, {9, 100, 0, 0}}, "more value bytes"},
        {{{9, 100, 0, 0}, {5, 100, 0, 0}}, "out of order"},
        {{{0, 100, 0, 0}, {5, 100, 0, 0}}, "named 0"},
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
    HARNESS_TEST(every_flip_and_cut_is_refused),
    HARNESS_TEST(impossible_counts_are_refused),
};
const harness_suite vlog_counts_suite = HARNESS_SUITE("vlog_counts", tests);
